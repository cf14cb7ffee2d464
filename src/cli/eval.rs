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

fn read_labelled(path: &PathBuf) -> Result<Vec<LabelledArticle>> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let article: LabelledArticle = serde_json::from_str(line).map_err(|e| {
            // serde_json counts lines inside the value ("at line 1 column 59"): give the file's
            // line and the column in it instead.
            let message = e.to_string();
            let message = message.rsplit_once(" at line ").map_or(&*message, |(m, _)| m);
            anyhow::anyhow!(
                "{}:{}:{}: not a labelled article {{\"id\",\"title\",\"body\",\"labels\":{{topic:bool}}}}: {message}",
                path.display(),
                n + 1,
                e.column()
            )
        })?;
        out.push(article);
    }
    Ok(out)
}

pub(super) fn eval(args: EvalArgs) -> Result<ExitCode> {
    let engine = load_engine(args.rules.as_ref())?;
    let mut files = Vec::new();
    for path in &args.data {
        files.push((path.display().to_string(), read_labelled(path)?));
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
    for (name, s) in [("micro avg", report.micro), ("macro avg", report.macro_)] {
        writeln!(
            out,
            "{:<16} {:>8} {:>6} {:>6} {:>6} {:>6} {:>10.3} {:>8.3} {:>8.3}",
            name, "", "", "", "", "", s.precision, s.recall, s.f1
        )?;
    }
    if !report.unknown_labels.is_empty() {
        writeln!(
            out,
            "not scored (no such topic in the rules): {}",
            report.unknown_labels.join(", ")
        )?;
    }
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
    writeln!(out)?;
    Ok(())
}
