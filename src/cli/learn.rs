//! `rubric learn`: weighted rules for topics, learned from labelled lines (see
//! [`rubric::learn`]); and `rubric suggest`: what to add to or exclude from a rule file.

use super::eval::read_labelled_files;
use super::*;

use rubric::learn::features::MineOptions;
use rubric::learn::write::{rule_file, Base};
use rubric::learn::{learn_topic, LearnOptions};
use rubric::rules::{ListDir, RuleSet};

/// Options shared by `learn` and `suggest`: how candidates are mined.
#[derive(clap::Args, Clone, Debug)]
pub(super) struct MineArgs {
    /// A candidate word, phrase or wildcard must occur in at least N training lines.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    min_lines: u32,
    /// Longest mined phrase, in words (1: words only).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=5))]
    max_words: u16,
    /// Do not mine prefix wildcards (`negotiat*`) for word families.
    #[arg(long)]
    no_wildcards: bool,
}

impl MineArgs {
    pub(super) fn mine_options(&self) -> MineOptions {
        MineOptions {
            max_words: self.max_words as usize,
            min_lines: self.min_lines as usize,
            wildcards: !self.no_wildcards,
            ..MineOptions::default()
        }
    }
}

#[derive(clap::Args)]
pub(super) struct LearnArgs {
    /// The topic to learn (repeat for several); a key of the data's `labels`.
    #[arg(long, required = true, value_name = "TOPIC")]
    topic: Vec<String>,
    /// A base rule file: its rules, named lists and list entries become candidate features too.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Write the rule file here (default: standard output).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Most rules per topic.
    #[arg(long, value_name = "N", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_rules: u32,
    #[command(flatten)]
    mine: MineArgs,
    /// Cross-validation folds that choose the number of rules and the threshold (stratified:
    /// the i-th line of each class is in fold i mod N).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(2..=100))]
    folds: u16,
    /// Elastic-net mixing of the penalty: 1 is the lasso (L1); smaller adds an L2 part.
    #[arg(long, value_name = "R", default_value_t = 1.0)]
    l1_ratio: f64,
    /// Weight the classes inversely to their frequency.
    #[arg(long)]
    balanced: bool,
    /// Points on the regularisation path.
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = clap::value_parser!(u16).range(2..=1000))]
    lambdas: u16,
    /// Labelled JSON Lines files ({"id","title","body","labels":{topic:bool}}).
    #[arg(required = true, value_name = "DATA")]
    data: Vec<PathBuf>,
}

/// Reads, validates and compiles a rule file (`None`: the embedded default rules): the parsed
/// rules (which `learn` and `suggest` take apart), the engine, and its warnings; its diagnostics
/// on standard error when it has errors.
pub(super) fn read_base(
    path: Option<&Path>,
) -> Result<(RuleSet, Engine, Vec<rubric::rules::Diagnostic>)> {
    let (set, diagnostics) = match path {
        Some(path) => {
            let text = rubric::rules::read_rule_file(path).map_err(|m| anyhow::anyhow!(m))?;
            RuleSet::load(&path.display().to_string(), &text, &ListDir::beside(path))
        }
        None => RuleSet::load(
            "<embedded seeds/rules.toml>",
            rubric::DEFAULT_RULES,
            &rubric::DEFAULT_LISTS,
        ),
    };
    // Compile it too: an error only the compiler sees (a bad wildcard) is an error of the base.
    let (engine, diagnostics) = Engine::check_parsed(set.clone(), diagnostics);
    match (set, engine) {
        (Some(set), Some(engine)) => Ok((set, engine, diagnostics)),
        _ => {
            eprintln!("{}", rubric::rules::RuleSetError::new(diagnostics));
            Err(Reported.into())
        }
    }
}

pub(super) fn learn(args: LearnArgs) -> Result<ExitCode> {
    if !(args.l1_ratio > 0.0 && args.l1_ratio <= 1.0) {
        bail!("--l1-ratio must be in (0, 1], got {}", args.l1_ratio);
    }
    if let Some(out) = &args.output {
        let same = |p: &Path| match (out.canonicalize(), p.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if let Some(input) = args.data.iter().chain(&args.rules).find(|p| same(p)) {
            bail!(
                "-o {} is an input of this command ({}): write the learned rules to another file",
                out.display(),
                input.display()
            );
        }
    }
    let mut topics = args.topic.clone();
    topics.sort();
    topics.dedup();
    let base = match args.rules.as_deref() {
        Some(path) => Some(read_base(Some(path))?.0),
        None => None,
    };
    let (lines, files) = read_labelled_files(&args.data, "learned")?;
    let options = LearnOptions {
        mine: args.mine.mine_options(),
        max_rules: args.max_rules as usize,
        folds: args.folds as usize,
        l1_ratio: args.l1_ratio,
        balanced: args.balanced,
        lambdas: args.lambdas as usize,
    };
    let mut learned = Vec::new();
    for topic in &topics {
        let started = std::time::Instant::now();
        let t = learn_topic(&lines, topic, base.as_ref(), &options)?;
        eprintln!(
            "{topic}: {} rules from {} features ({} candidates); cross-validated P {:.3} R {:.3} F1 {:.3} on {} lines ({} folds), fitted F1 {:.3}; {:.1} s",
            t.rules.len(),
            t.features,
            t.candidates,
            t.cross_validation.precision(),
            t.cross_validation.recall(),
            t.cross_validation.f1(),
            t.cross_validation.labelled(),
            t.folds,
            t.training.f1(),
            started.elapsed().as_secs_f64()
        );
        if t.threshold_clamped {
            eprintln!(
                "warning: {topic}: the model labels a line where no rule fires as {topic} (most labelled lines are); a rule file cannot say that (its threshold is > 0), so the threshold is 0.0001 and such lines are labelled false: the fitted figures show the cost. Learn the opposite topic (labels negated) instead."
            );
        }
        learned.push(t);
    }
    let base_ref = match (&base, &args.rules) {
        (Some(rules), Some(path)) => Some(Base { rules, path }),
        _ => None,
    };
    let text = rule_file(&learned, &files, &options, base_ref, args.output.as_deref());

    // The file must load, and give on the labelled lines exactly the counts of the model: the
    // features were computed by the engine, so anything else is a bug, not noise.
    let origin = args
        .output
        .as_ref()
        .map_or("<learned>".to_owned(), |p| p.display().to_string());
    let list_dir = ListDir::beside(args.output.as_deref().unwrap_or(Path::new("learned.toml")));
    let (engine, diagnostics) = Engine::check_with(&origin, &text, &list_dir);
    let Some(engine) = engine else {
        eprintln!("{}", rubric::rules::RuleSetError::new(diagnostics));
        bail!("the learned rule file does not load (a bug: please report it with the command)");
    };
    let report = rubric::eval::evaluate(&engine, &lines, Default::default());
    for t in &learned {
        let got = report
            .topics
            .iter()
            .find(|r| r.topic == t.topic)
            .map(|r| r.counts);
        if got != Some(t.training) {
            bail!(
                "the learned rules give other counts for `{}` than the model ({:?} against {:?}; a bug: please report it with the command)",
                t.topic,
                got,
                t.training
            );
        }
    }
    match &args.output {
        Some(path) => {
            fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum SuggestFormat {
    /// Ranked suggestions for people.
    Text,
    /// One JSON document for machines.
    Json,
}

#[derive(clap::Args)]
pub(super) struct SuggestArgs {
    /// Rule file (TOML); default: the embedded rule set from seeds/rules.toml.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// The topic to improve.
    #[arg(long, value_name = "TOPIC")]
    topic: String,
    /// Every N-th line of each class (in input order, from the first) is held out for
    /// validation.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(2..=100))]
    validation_every: u16,
    /// How many suggestions to print.
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,
    /// Excerpts per suggestion.
    #[arg(long, value_name = "N", default_value_t = 3)]
    excerpts: usize,
    #[command(flatten)]
    mine: MineArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SuggestFormat::Text)]
    format: SuggestFormat,
    /// Labelled JSON Lines files ({"id","title","body","labels":{topic:bool}}).
    #[arg(required = true, value_name = "DATA")]
    data: Vec<PathBuf>,
}

pub(super) fn suggest(args: SuggestArgs) -> Result<ExitCode> {
    use rubric::learn::suggest::{suggest, Change, SuggestOptions};
    let (set, engine, warnings) = read_base(args.rules.as_deref())?;
    for warning in &warnings {
        eprintln!("{warning}");
    }
    let (lines, _) = read_labelled_files(&args.data, "suggested")?;
    let options = SuggestOptions {
        mine: args.mine.mine_options(),
        validation_every: args.validation_every as usize,
        top: args.top,
        excerpts: args.excerpts,
    };
    let result = suggest(&set, &engine, &lines, &args.topic, &options)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.format == SuggestFormat::Json {
        serde_json::to_writer_pretty(&mut out, &result)?;
        writeln!(out)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let figures = |c: &rubric::eval::Counts| {
        format!(
            "F1 {:.3} (P {:.3} R {:.3}; TP {} FP {} FN {})",
            c.f1(),
            c.precision(),
            c.recall(),
            c.tp,
            c.fp,
            c.r#fn
        )
    };
    writeln!(
        out,
        "topic {}: the rules now give, on {} training lines, {}; on {} validation lines, {}",
        result.topic,
        result.training.labelled(),
        figures(&result.training),
        result.validation.labelled(),
        figures(&result.validation)
    )?;
    if result.suggestions.is_empty() {
        writeln!(
            out,
            "no change found among {} candidates that fixes at least {} training lines and raises training F1",
            result.candidates, options.mine.min_lines
        )?;
    }
    for (n, s) in result.suggestions.iter().enumerate() {
        let what = match &s.change {
            Change::AddRule { .. } => format!("add a rule for {} ({})", s.literal, s.literal_kind),
            Change::Exclude { rule_id, .. } => {
                format!(
                    "exclude {} ({}) from rule {rule_id}",
                    s.literal, s.literal_kind
                )
            }
        };
        let delta = |b: &rubric::learn::suggest::BeforeAfter| {
            format!(
                "F1 {:.3} -> {:.3} (TP {:+}, FP {:+})",
                b.f1_before,
                b.f1_after,
                b.after.tp as i64 - b.before.tp as i64,
                b.after.fp as i64 - b.before.fp as i64
            )
        };
        writeln!(out, "\n{}. {what}", n + 1)?;
        writeln!(
            out,
            "   validation {}; training {}: fixes {} lines, breaks {}",
            delta(&s.validation),
            delta(&s.training),
            s.fixed_lines,
            s.broken_lines
        )?;
        for line in s.toml.lines() {
            writeln!(out, "   {line}")?;
        }
        for e in &s.excerpts {
            writeln!(out, "   - {}: {}", e.id, e.text)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
