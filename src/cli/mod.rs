//! The `rubric` command line, a module per command: [`serve`], [`classify`], [`eval`], [`check`],
//! [`import`] (`import phoenix`, `import petrarch`) and [`health_check`]. This module holds the
//! argument tree (clap), the dispatch, and what several commands share: loading rules, reading
//! input, exit codes (0 success, 1 a check or probe failed, 2 usage or input errors).

use std::fs;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use rayon::prelude::*;
use serde::Deserialize;

use std::time::Duration;

use rubric::eval::LabelledArticle;
use rubric::{Article, ClassifyOptions, Engine, OffsetEncoding};

mod check;
mod classify;
mod eval;
mod health_check;
mod import;
mod learn;
mod serve;

use self::check::check;
use self::classify::{classify, ClassifyArgs};
use self::eval::{eval, EvalArgs};
use self::health_check::{health_check, HealthCheckArgs};
use self::import::{import_petrarch, import_phoenix};
use self::learn::{learn, suggest, LearnArgs, SuggestArgs};
use self::serve::{parse_with_config, read_file, serve, ServeArgs};

/// rubric: a rule-based news topic classifier.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the gRPC API (rubric.v1.ClassifierService, health, reflection).
    ///
    /// The rules are loaded and compiled before the port opens; invalid rules stop startup with
    /// the full error report (exit status 2). SIGINT or SIGTERM starts a graceful shutdown.
    Serve(Box<ServeArgs>),
    /// Classify articles and print one JSON classification per article.
    ///
    /// An INPUT is a plain-text file (the first line is the title when a blank line follows it,
    /// otherwise everything is body), a JSON article {"id","title","body"}, or - for standard
    /// input. Without INPUT, standard input is read. With --jsonl, every INPUT is JSON Lines (one
    /// article per line) and the output is JSON Lines in the same order, computed on all cores;
    /// a line that cannot be classified gives {"error":{"input","line","column","id","message"}}
    /// in its place, the other lines are classified, and the exit status is 1.
    Classify(ClassifyArgs),
    /// Evaluate a rule set on labelled articles: per-topic counts, precision, recall, F1.
    ///
    /// Each DATA line is {"id","title","body","labels":{topic:bool}}; a topic missing from
    /// `labels` is unknown for that line and not scored. Every line that cannot be read is
    /// reported as FILE:LINE:COLUMN (blank lines counted), and then nothing is scored (exit
    /// status 2). Without any label for a topic of the rules, it says nothing was scored.
    Eval(EvalArgs),
    /// Learn weighted rules for topics from labelled lines, as a rule file.
    ///
    /// Candidate words, phrases (up to --max-words) and prefix wildcards are mined from the
    /// lines, plus the rules, named lists and list entries of --rules; an L1-regularised logistic
    /// regression picks at most --max-rules of them per topic and weighs them; the number of
    /// rules and the threshold are chosen by cross-validation (--folds). The file is checked to
    /// load and to give on the lines the counts it reports.
    /// Deterministic: the same data and options give the same file. Exit status: 0, or 2 for
    /// unreadable data, a topic not in the labels, one class only.
    Learn(Box<LearnArgs>),
    /// Suggest changes to a rule file for a topic, judged on labelled lines.
    ///
    /// Mines words, phrases, wildcards and named lists from the rules' false negatives (a new
    /// rule) and false positives (an AND NOT exclusion on the rule that misfired), ranks them by
    /// the F1 the topic would have on a validation part (every --validation-every-th line of each
    /// class), checks the leading ones with the engine, and prints for each the TOML to paste,
    /// the counts it gains and loses, and excerpts with the match in «». A suggestion fixes at
    /// least --min-lines training lines.
    Suggest(Box<SuggestArgs>),
    /// Check rule files: print every error and lint warning.
    ///
    /// Exit status: 0 clean, 1 problems found, 2 usage error (including an unreadable file).
    Check {
        /// Rule files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Ask a server's gRPC health service whether it is SERVING (for container health checks).
    ///
    /// Exit status: 0 SERVING, 1 anything else (NOT_SERVING, unknown service, unreachable,
    /// timeout; the reason on standard error), 2 usage error.
    HealthCheck(HealthCheckArgs),
    /// Convert a rule set written for another tool into a rubric rule file.
    #[command(subcommand)]
    Import(ImportCommand),
}

/// Formats `rubric import` reads.
#[derive(Subcommand)]
enum ImportCommand {
    /// A PETRARCH2 issue-coding dictionary (Phoenix.IssueCoding.txt format).
    ///
    /// One topic per <ISSUE CATEGORY>, one rule per line; n:/v: inflections, + joins and ~
    /// exclusions are translated (see the rubric::import::phoenix docs). The rule file goes to
    /// --output or standard output; every line that could not be translated is reported on
    /// standard error with its line number. Exit status: 0, or 2 when FILE cannot be read, has no
    /// <ISSUE> block (it is not an issue dictionary) or no codable line, or the result does not
    /// load.
    Phoenix {
        /// The dictionary file.
        file: PathBuf,
        /// Write the rule file here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// The PETRARCH2 actor, agent and verb dictionaries, as list files for [lists].
    ///
    /// Writes OUTDIR/NAME.txt for each list (countries, leaders_gov, surnames_gov, igos,
    /// armed_groups, agents_gov, cameo_04, ...; see the rubric::import::petrarch docs),
    /// OUTDIR/lists.toml with a [lists] table naming them, and the dictionaries' MIT licence.
    /// Every source line that was left out or changed is reported on standard error as
    /// FILE:LINE: message, then a summary. Exit status: 0, or 2 when a dictionary cannot be read
    /// or OUTDIR cannot be written.
    Petrarch {
        /// Directory holding Phoenix.Countries.actors.txt, Phoenix.International.actors.txt,
        /// Phoenix.MilNonState.actors.txt, Phoenix.agents.txt and CAMEO.2.0.txt.
        #[arg(
            long,
            value_name = "DIR",
            default_value = "../shared/data/dictionaries"
        )]
        dictionaries: PathBuf,
        /// Keep office holders with a role in force on or after this date (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD", default_value = "1990-01-01")]
        cutoff: rubric::import::petrarch::Date,
        /// Directory to write the list files to (created if missing).
        #[arg(long, short, value_name = "OUTDIR")]
        output: PathBuf,
    },
}

/// A duration in seconds, from 0.001 to one day.
fn seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.001..=86_400.0).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "`{text}` is not a number of seconds from 0.001 to 86400"
        )),
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Whether writing to standard output failed because its reader closed the pipe.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
    let cli = match parse_with_config() {
        Ok(cli) => cli,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Classify(args) => classify(args),
        Command::Eval(args) => eval(args),
        Command::Check { files } => check(&files),
        Command::Learn(args) => learn(*args),
        Command::Suggest(args) => suggest(*args),
        Command::HealthCheck(args) => health_check(args),
        Command::Import(ImportCommand::Phoenix { file, output }) => import_phoenix(&file, output),
        Command::Import(ImportCommand::Petrarch {
            dictionaries,
            cutoff,
            output,
        }) => import_petrarch(&dictionaries, cutoff, &output),
    };
    match result {
        Ok(code) => code,
        Err(err) if err.is::<Reported>() => ExitCode::from(2),
        // The reader went away (`rubric classify --jsonl big.jsonl | head`): what it read was
        // complete, so stop quietly, as a Unix filter does.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(e) => {
            if std::env::var_os("RUST_LOG").is_some() {
                eprintln!("warning: RUST_LOG is not a valid filter ({e}); logging at info");
            }
            EnvFilter::new("info")
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .with_writer(io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// An error whose report was already printed; `main` exits 2 without printing it again.
#[derive(Debug)]
struct Reported;

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("reported above")
    }
}

impl std::error::Error for Reported {}

/// Loads the rules for `classify`: prints a rejected file's diagnostics, and the lint warnings of
/// an accepted one, on standard error.
fn load_engine(rules: Option<&PathBuf>) -> Result<Engine> {
    let engine = match rules {
        None => Engine::embedded().context("the embedded rule set does not load")?,
        Some(path) => match Engine::from_path(path) {
            Ok(engine) => engine,
            Err(rubric::EngineLoadError::Read(message)) => anyhow::bail!(message),
            Err(rubric::EngineLoadError::Rules(err)) => {
                eprintln!("{err}");
                return Err(Reported.into());
            }
        },
    };
    for warning in engine.warnings() {
        eprintln!("{warning}");
    }
    Ok(engine)
}

fn read_input(input: &str) -> Result<String> {
    let bytes = if input == "-" {
        read_bounded(io::stdin(), "standard input", MAX_ARTICLE_INPUT_BYTES)?
    } else {
        let file = fs::File::open(input).with_context(|| format!("cannot read {input}"))?;
        read_bounded(file, input, MAX_ARTICLE_INPUT_BYTES)?
    };
    String::from_utf8(bytes).with_context(|| format!("cannot read {input}: not UTF-8"))
}

/// Largest article file (or standard input) `classify` reads whole: 64 MiB. A device such as
/// `/dev/zero` is refused at that size instead of filling the memory.
const MAX_ARTICLE_INPUT_BYTES: u64 = 64 << 20;
/// Largest labelled-data file `eval` reads: 256 MiB (split a larger one: eval reads several).
const MAX_DATA_FILE_BYTES: u64 = 256 << 20;
/// Longest line of a JSON Lines input: 64 MiB.
const MAX_JSONL_LINE_BYTES: usize = 64 << 20;

/// Reads all of `reader`, at most `max` bytes; `what` names it in the error.
fn read_bounded(reader: impl Read, what: &str, max: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(max + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what}"))?;
    if bytes.len() as u64 > max {
        bail!("cannot read {what}: more than the limit of {max} bytes");
    }
    Ok(bytes)
}

/// Reads one line (up to and including `\n`), at most [`MAX_JSONL_LINE_BYTES`], and appends it
/// to `buffer`; the number of bytes read, 0 at the end.
fn read_line_bounded(reader: &mut dyn BufRead, buffer: &mut Vec<u8>) -> io::Result<usize> {
    let n = reader
        .take(MAX_JSONL_LINE_BYTES as u64 + 1)
        .read_until(b'\n', buffer)?;
    if n > MAX_JSONL_LINE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the line is longer than the limit of {MAX_JSONL_LINE_BYTES} bytes"),
        ));
    }
    Ok(n)
}

// ---- JSON Lines input, shared by `classify --jsonl` and `eval` ------------------------------
// Both read a file line by line and report a bad line alike: at its physical line (blank lines
// counted, a byte order mark and CRLF line ends read past), the character column in it, the
// article's id when the line has one, and a message that says what is wrong with the line, not
// serde_json's position inside the one-line value.

/// A line of a JSON Lines input that could not be read.
#[derive(Debug)]
struct LineError {
    /// 1-based physical line of the input.
    line: usize,
    /// 1-based column in characters, where known.
    column: Option<usize>,
    /// The article's id, when the line names one (before a truncation, too).
    id: Option<String>,
    message: String,
}

impl LineError {
    /// A message about the whole line.
    fn new(line: usize, text: &str, message: String) -> LineError {
        LineError {
            line,
            column: None,
            id: article_id(text),
            message,
        }
    }

    /// serde_json's error on `text`, the content of physical line `line`. `shape` says what the
    /// line should be, for JSON of the wrong shape.
    fn json(line: usize, text: &str, e: &serde_json::Error, shape: &str) -> LineError {
        let (_, column, message) = json_error(text, e, shape, "line");
        LineError {
            line,
            column: Some(column),
            id: article_id(text),
            message,
        }
    }

    /// `FILE:LINE:COLUMN: article "ID": message`, for standard error.
    fn describe(&self, input: &str) -> String {
        let mut out = format!("{input}:{}", self.line);
        if let Some(column) = self.column {
            out.push_str(&format!(":{column}"));
        }
        if let Some(id) = &self.id {
            out.push_str(&format!(": article {id:?}"));
        }
        format!("{out}: {}", self.message)
    }

    /// `{"error":{"input","line","column","id","message"}}`, `column` and `id` where known.
    fn to_json(&self, input: &str) -> String {
        #[derive(serde::Serialize)]
        struct Error<'a> {
            input: &'a str,
            line: usize,
            #[serde(skip_serializing_if = "Option::is_none")]
            column: Option<usize>,
            #[serde(skip_serializing_if = "Option::is_none")]
            id: Option<&'a str>,
            message: &'a str,
        }
        let error = Error {
            input,
            line: self.line,
            column: self.column,
            id: self.id.as_deref(),
            message: &self.message,
        };
        #[derive(serde::Serialize)]
        struct Record<'a> {
            error: Error<'a>,
        }
        serde_json::to_string(&Record { error }).unwrap_or_default()
    }
}

/// Physical line `line` of a JSON Lines input as text: without its line end (so a line cut short
/// is not read as a string holding a newline), without a byte order mark on line 1; `None` for a
/// blank line.
fn jsonl_line(line: usize, bytes: &[u8]) -> Result<Option<&str>, LineError> {
    let mut bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    if line == 1 {
        bytes = bytes.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(bytes);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        let bad = bytes[e.valid_up_to()];
        LineError {
            line,
            column: Some(valid.chars().count() + 1),
            // The id, when it came before the bad byte (as for a line cut short).
            id: article_id(valid),
            message: format!("not UTF-8: byte 0x{bad:02x} is not part of a UTF-8 character"),
        }
    })?;
    Ok((!text.trim().is_empty()).then_some(text))
}

/// serde_json's error on `text` as `(line, column, message)`: the 1-based line in `text`, the
/// 1-based column in characters, and a message without serde_json's own "at line 1 column 26".
/// JSON cut short is said to be truncated (serde_json says "EOF while parsing a string"); JSON of
/// the wrong shape is prefixed with `shape`, what the text should be. `unit` names the text
/// (`line`, `file`).
fn json_error(
    text: &str,
    e: &serde_json::Error,
    shape: &str,
    unit: &str,
) -> (usize, usize, String) {
    use serde_json::error::Category;
    let full = e.to_string();
    let message = full.rsplit_once(" at line ").map_or(&*full, |(m, _)| m);
    let line_text = text
        .split('\n')
        .nth(e.line().saturating_sub(1))
        .unwrap_or("");
    // serde_json's column counts bytes up to the last one it read.
    let mut column = line_text
        .char_indices()
        .take_while(|(i, _)| *i < e.column())
        .count()
        .max(1);
    let message = match e.classify() {
        Category::Eof => {
            column = line_text.trim_end_matches('\r').chars().count() + 1;
            let inside = message.strip_prefix("EOF ").unwrap_or(message);
            format!("truncated JSON: the {unit} ends {inside}, before the JSON is complete")
        }
        Category::Syntax => format!("invalid JSON: {message}"),
        Category::Data | Category::Io => format!("{shape}: {message}"),
    };
    (e.line().max(1), column, message)
}

/// The article id of a JSON object, read up to the first error, so that a line cut short still
/// names its article when `"id"` came before the cut; for a Classify request, `article.id`.
fn article_id(text: &str) -> Option<String> {
    let mut id = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let _ = serde::de::DeserializeSeed::deserialize(IdSeeker(&mut id), &mut de);
    id.filter(|id: &String| !id.is_empty())
}

/// Reads the keys of a JSON object one by one, keeping `id` (and `article.id`) as it goes.
struct IdSeeker<'a>(&'a mut Option<String>);

impl<'de> serde::de::DeserializeSeed<'de> for IdSeeker<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for IdSeeker<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "id" => {
                    if let serde_json::Value::String(id) = map.next_value()? {
                        *self.0 = Some(id);
                    }
                }
                "article" => map.next_value_seed(IdSeeker(&mut *self.0))?,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `1 error`, `2 errors`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
