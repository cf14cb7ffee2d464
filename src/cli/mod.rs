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
mod serve;

use self::check::check;
use self::classify::{classify, ClassifyArgs};
use self::eval::{eval, EvalArgs};
use self::health_check::{health_check, HealthCheckArgs};
use self::import::{import_petrarch, import_phoenix};
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
    /// article per line) and the output is JSON Lines in the same order, computed on all cores.
    Classify(ClassifyArgs),
    /// Evaluate a rule set on labelled articles: per-topic counts, precision, recall, F1.
    ///
    /// Each DATA line is {"id","title","body","labels":{topic:bool}}; a topic missing from
    /// `labels` is unknown for that line and not scored.
    Eval(EvalArgs),
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
    /// standard error with its line number. Exit status: 0, or 2 when FILE cannot be read or the
    /// result does not load.
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
    if input == "-" {
        let mut text = String::new();
        io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        Ok(text)
    } else {
        fs::read_to_string(input).with_context(|| format!("cannot read {input}"))
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
