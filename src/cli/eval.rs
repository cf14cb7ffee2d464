//! `rubric eval`: precision, recall and F1 of the rules on labelled JSON Lines files, with a
//! total over several files, error cases and per-rule counts.

use super::*;

#[derive(clap::Args)]
pub(super) struct EvalArgs {
    /// Rule file (TOML); default: the embedded rule set from seeds/rules.toml.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// List up to N false positives and N false negatives per topic, with the evidence in context.
    #[arg(long, value_name = "N", default_value_t = 0)]
    errors: usize,
    /// Also report each rule: on how many labelled articles it was counted, how many of them are
    /// labelled true (its precision), and how many true and false positives depend on it alone.
    #[arg(long)]
    by_rule: bool,
    /// Labelled JSON Lines files.
    #[arg(required = true)]
    data: Vec<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A table for people.
    Text,
    /// One JSON document for machines.
    Json,
}

/// What a line of the data should be.
const LABELLED: &str = "not a labelled article {\"id\",\"title\",\"body\",\"labels\":{topic:bool}}";

/// The labelled articles of one file, and its lines that could not be read. Lines are counted as
/// in the file, blank lines included; blank lines are skipped. Err only when the file cannot be
/// read at all.
fn read_labelled(path: &Path) -> Result<(Vec<LabelledArticle>, Vec<LineError>)> {
    read_labelled_hashed(path).map(|(articles, errors, _)| (articles, errors))
}

/// Like [`read_labelled`], with the SHA-256 of the file's bytes (lowercase hex).
fn read_labelled_hashed(path: &Path) -> Result<(Vec<LabelledArticle>, Vec<LineError>, String)> {
    use sha2::Digest;
    let name = path.display().to_string();
    let file = fs::File::open(path).with_context(|| format!("cannot read {name}"))?;
    let bytes = read_bounded(file, &name, MAX_DATA_FILE_BYTES)?;
    let sha256: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut articles = Vec::new();
    let mut errors = Vec::new();
    for (index, bytes) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let n = index + 1;
        let line = match jsonl_line(n, bytes) {
            Ok(Some(line)) => line,
            Ok(None) => continue,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match serde_json::from_str::<LabelledArticle>(line) {
            Ok(article) => articles.push(article),
            Err(e) => errors.push(LineError::json(n, line, &e, LABELLED)),
        }
    }
    Ok((articles, errors, sha256))
}

/// Reads every labelled file for `learn` and `suggest`: the articles of all files in order and
/// each file's name, line count and hash. Every line that cannot be read is reported
/// (FILE:LINE:COLUMN) and then nothing is learned: an error already reported.
pub(super) fn read_labelled_files(
    paths: &[PathBuf],
    verb: &str,
) -> Result<(Vec<LabelledArticle>, Vec<rubric::learn::write::DataFile>)> {
    let mut all = Vec::new();
    let mut files = Vec::new();
    let mut bad = 0;
    for path in paths {
        let name = path.display().to_string();
        let (articles, errors, sha256) = read_labelled_hashed(path)?;
        for error in &errors {
            eprintln!("error: {}", error.describe(&name));
        }
        bad += errors.len();
        files.push(rubric::learn::write::DataFile {
            path: name,
            lines: articles.len(),
            sha256,
        });
        all.extend(articles);
    }
    if bad > 0 {
        eprintln!(
            "error: {} could not be read (listed above); nothing {verb}",
            count(bad, "line")
        );
        return Err(Reported.into());
    }
    Ok((all, files))
}

/// Reads every file and scores them, or, when any line of any file cannot be read, reports every
/// such line (FILE:LINE:COLUMN, with the article's id when the line has one) and exits 2 without
/// a report: precision and recall over the lines that happened to parse would be a different
/// measurement, shown as if it were the asked one. (`classify --jsonl` reports bad lines the same
/// way but classifies the others, since each output line stands on its own.)
pub(super) fn eval(args: EvalArgs) -> Result<ExitCode> {
    let engine = load_engine(args.rules.as_ref())?;
    let mut files = Vec::new();
    let mut bad = 0;
    for path in &args.data {
        let name = path.display().to_string();
        let (articles, errors) = read_labelled(path)?;
        for error in &errors {
            eprintln!("error: {}", error.describe(&name));
        }
        bad += errors.len();
        files.push((name, articles));
    }
    if bad > 0 {
        eprintln!(
            "error: {} could not be read (listed above); nothing scored",
            count(bad, "line")
        );
        return Ok(ExitCode::from(2));
    }
    let total: usize = files.iter().map(|(_, a)| a.len()).sum();
    let progress = if io::IsTerminal::is_terminal(&io::stderr()) {
        indicatif::ProgressBar::new(total as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let tick = || progress.inc(1);
    let mut reports = Vec::new();
    for (name, articles) in &files {
        let options = rubric::eval::EvalOptions {
            max_errors: args.errors,
            by_rule: args.by_rule,
        };
        let report = rubric::eval::evaluate_with_progress(&engine, articles, options, &tick);
        reports.push((name.clone(), report));
    }
    progress.finish_and_clear();
    let info = engine.info();
    let rules = args
        .rules
        .as_ref()
        .map_or("<embedded>".to_owned(), |p| p.display().to_string());
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    // Several files: their pooled counts too.
    let total = (reports.len() > 1)
        .then(|| rubric::eval::Report::total(&reports.iter().map(|(_, r)| r).collect::<Vec<_>>()));
    if args.format == Format::Json {
        let files: Vec<_> = reports
            .iter()
            .map(|(file, report)| serde_json::json!({ "file": file, "report": report }))
            .collect();
        let mut doc = serde_json::json!({
            "rules": { "source": rules, "name": info.name, "version": info.version },
            "files": files,
        });
        if let Some(total) = &total {
            doc["total"] = serde_json::to_value(total)?;
        }
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    } else {
        for (file, report) in &reports {
            write_report(&mut out, file, &rules, &info.version, report)?;
        }
        if let Some(total) = &total {
            let name = format!("total of {} files", reports.len());
            write_report(&mut out, &name, &rules, &info.version, total)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn write_report(
    out: &mut impl Write,
    file: &str,
    rules: &str,
    version: &str,
    report: &rubric::eval::Report,
) -> Result<()> {
    writeln!(
        out,
        "{file}: {}, rules {rules} (version {version})",
        count(report.articles as usize, "article")
    )?;
    if let (Some(micro), Some(macro_)) = (report.micro, report.macro_) {
        write_table(out, report, micro, macro_)?;
    } else {
        // No zeros that read like a measurement.
        writeln!(out, "no labelled lines: nothing to score")?;
    }
    if !report.unknown_labels.is_empty() {
        writeln!(
            out,
            "not scored (no such topic in the rules): {}",
            report.unknown_labels.join(", ")
        )?;
    }
    write_rules_and_errors(out, report)?;
    writeln!(out)?;
    Ok(())
}

/// The per-topic table and the averages.
fn write_table(
    out: &mut impl Write,
    report: &rubric::eval::Report,
    micro: rubric::eval::Scores,
    macro_: rubric::eval::Scores,
) -> Result<()> {
    writeln!(
        out,
        "{:<16} {:>8} {:>6} {:>6} {:>6} {:>6} {:>10} {:>8} {:>8}",
        "topic", "support", "tp", "fp", "fn", "tn", "precision", "recall", "f1"
    )?;
    for t in &report.topics {
        let c = t.counts;
        writeln!(
            out,
            "{:<16} {:>8} {:>6} {:>6} {:>6} {:>6} {:>10.3} {:>8.3} {:>8.3}",
            t.topic,
            t.support,
            c.tp,
            c.fp,
            c.r#fn,
            c.tn,
            t.scores.precision,
            t.scores.recall,
            t.scores.f1
        )?;
    }
    for (name, s) in [("micro avg", micro), ("macro avg", macro_)] {
        writeln!(
            out,
            "{:<16} {:>8} {:>6} {:>6} {:>6} {:>6} {:>10.3} {:>8.3} {:>8.3}",
            name, "", "", "", "", "", s.precision, s.recall, s.f1
        )?;
    }
    Ok(())
}

/// `--by-rule` rows and `--errors` cases.
fn write_rules_and_errors(out: &mut impl Write, report: &rubric::eval::Report) -> Result<()> {
    if !report.rules.is_empty() {
        writeln!(
            out,
            "\n{:<40} {:>6} {:>6} {:>13} {:>14} {:>10} {:>12} {:>12}",
            "rule",
            "weight",
            "fired",
            "labelled-true",
            "labelled-false",
            "precision",
            "decisive-tp",
            "decisive-fp"
        )?;
        for r in &report.rules {
            writeln!(
                out,
                "{:<40} {:>6} {:>6} {:>13} {:>14} {:>10} {:>12} {:>12}",
                r.rule,
                r.weight,
                r.fired,
                r.labelled_true,
                r.labelled_false,
                r.precision.map_or("-".to_owned(), |p| format!("{p:.3}")),
                r.decisive_tp,
                r.decisive_fp
            )?;
        }
    }
    for e in &report.errors {
        let kind = e.kind.replace('_', " ");
        writeln!(out, "\n{} {kind}: {} (score {})", e.topic, e.id, e.score)?;
        if e.rules.is_empty() {
            writeln!(out, "  nothing fired: {}", e.excerpt)?;
        }
        for r in &e.rules {
            writeln!(out, "  rule {}", r.rule)?;
            for c in &r.excerpts {
                writeln!(out, "    {c}")?;
            }
        }
    }
    Ok(())
}
