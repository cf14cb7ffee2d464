//! The `rubric` command line: serve the gRPC API, classify articles offline, check rule files.

use std::fs;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use rayon::prelude::*;
use serde::Deserialize;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use rubric::eval::LabelledArticle;
use rubric::reload::Reloader;
use rubric::server::{self, ServerConfig};
use rubric::service::LoadedRules;
use rubric::{Article, ClassifyOptions, Engine, OffsetEncoding, Severity};

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

#[derive(clap::Args)]
struct EvalArgs {
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

#[derive(clap::Args)]
struct ServeArgs {
    /// Configuration file (TOML): keys are these options' long names in snake_case
    /// (`max_message_bytes = 8388608`). Precedence: flag, then environment variable, then this
    /// file, then the default.
    #[arg(long, env = "RUBRIC_CONFIG")]
    config: Option<PathBuf>,
    /// Print the effective configuration (with where each value came from) and exit.
    #[arg(long)]
    print_config: bool,
    /// Address to listen on (use port 0 for any free port; the log says which).
    #[arg(long, default_value = "127.0.0.1:50051", env = "RUBRIC_LISTEN")]
    listen: String,
    /// Rule file (TOML); default: the embedded rule set from seeds/rules.toml.
    #[arg(long, env = "RUBRIC_RULES")]
    rules: Option<PathBuf>,
    /// TLS certificate chain (PEM); with --tls-key, serve TLS instead of plaintext.
    #[arg(long, env = "RUBRIC_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "RUBRIC_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// CA certificates (PEM) for client certificates: requires mutual TLS.
    #[arg(long, env = "RUBRIC_TLS_CLIENT_CA", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// File holding the bearer token every call but health checks must present. The token itself
    /// can also come from the RUBRIC_AUTH_TOKEN variable; it is never taken on the command line,
    /// where `ps` would show it.
    #[arg(long, env = "RUBRIC_AUTH_TOKEN_FILE")]
    auth_token_file: Option<PathBuf>,
    /// Reload the rule file on SIGHUP only, without watching its directory (for file systems
    /// without change notifications).
    #[arg(long, env = "RUBRIC_NO_WATCH_RULES", value_parser = clap::builder::BoolishValueParser::new())]
    no_watch_rules: bool,
    /// Serve Prometheus metrics over HTTP on this address (e.g. 127.0.0.1:9090); off by default.
    #[arg(long, env = "RUBRIC_METRICS_LISTEN")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Log format on standard error; the level comes from RUST_LOG (default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "RUBRIC_LOG_FORMAT")]
    log_format: LogFormat,
    /// Seconds (0 to 3600) to let calls in flight finish after SIGINT/SIGTERM before exiting anyway.
    #[arg(long, default_value_t = 10.0, env = "RUBRIC_DRAIN_TIMEOUT")]
    drain_timeout: f64,
    /// Largest request or response message in bytes, at least 1024: a larger request gets
    /// RESOURCE_EXHAUSTED, a larger response (as encoded on the wire, after compression) OUT_OF_RANGE.
    #[arg(long, default_value_t = 4 * 1024 * 1024, env = "RUBRIC_MAX_MESSAGE_BYTES")]
    max_message_bytes: usize,
    /// Largest article, title + body in bytes (INVALID_ARGUMENT beyond it).
    #[arg(long, default_value_t = 1024 * 1024, env = "RUBRIC_MAX_ARTICLE_BYTES")]
    max_article_bytes: usize,
    /// Most articles in one ClassifyBatch call, 1 to 1000 (INVALID_ARGUMENT beyond it).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=1000), env = "RUBRIC_MAX_BATCH_SIZE")]
    max_batch_size: u16,
    /// Classifier calls handled at once over all connections; more are shed with RESOURCE_EXHAUSTED.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..), env = "RUBRIC_MAX_CONCURRENT_CALLS")]
    max_concurrent_calls: u32,
    /// HTTP/2 streams one connection may have open at once.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..), env = "RUBRIC_MAX_CONCURRENT_STREAMS")]
    max_concurrent_streams: u32,
    /// Longest time a call may take, in seconds (DEADLINE_EXCEEDED beyond it).
    #[arg(long, default_value = "30", value_parser = seconds, env = "RUBRIC_REQUEST_TIMEOUT")]
    request_timeout: Duration,
    /// Seconds between HTTP/2 keepalive pings on idle connections.
    #[arg(long, default_value = "60", value_parser = seconds, env = "RUBRIC_KEEPALIVE_INTERVAL")]
    keepalive_interval: Duration,
    /// Seconds to wait for a keepalive answer before closing the connection.
    #[arg(long, default_value = "20", value_parser = seconds, env = "RUBRIC_KEEPALIVE_TIMEOUT")]
    keepalive_timeout: Duration,
    /// Seconds after which a connection is closed (GOAWAY) so clients re-balance.
    #[arg(long, default_value = "1800", value_parser = seconds, env = "RUBRIC_MAX_CONNECTION_AGE")]
    max_connection_age: Duration,
    /// Seconds of grace after --max-connection-age for calls in flight.
    #[arg(long, default_value = "30", value_parser = seconds, env = "RUBRIC_MAX_CONNECTION_AGE_GRACE")]
    max_connection_age_grace: Duration,
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

#[derive(clap::Args)]
struct ClassifyArgs {
    /// Rule file (TOML); default: the embedded rule set from seeds/rules.toml.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Unit of span offsets in the output.
    #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
    offset_encoding: Encoding,
    /// Read and write JSON Lines.
    #[arg(long)]
    jsonl: bool,
    /// Leave out evidence (scores only; faster).
    #[arg(long)]
    no_evidence: bool,
    /// Score only this topic (repeat for several).
    #[arg(long = "topic")]
    topics: Vec<String>,
    /// Leave out topics scoring below this (a finite number; may be negative).
    #[arg(long, allow_negative_numbers = true, value_parser = finite_f64)]
    min_score: Option<f64>,
    /// Pretty-print the JSON (not with --jsonl).
    #[arg(long, conflicts_with = "jsonl")]
    pretty: bool,
    /// Input files, or - for standard input.
    inputs: Vec<String>,
}

fn finite_f64(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("`{text}` is not a finite number")),
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Encoding {
    /// UTF-8 bytes (Rust, Go, C).
    Utf8,
    /// UTF-16 code units (Java, JavaScript, C#).
    Utf16,
    /// Unicode code points (Python).
    CodePoint,
}

impl From<Encoding> for OffsetEncoding {
    fn from(e: Encoding) -> Self {
        match e {
            Encoding::Utf8 => OffsetEncoding::Utf8,
            Encoding::Utf16 => OffsetEncoding::Utf16,
            Encoding::CodePoint => OffsetEncoding::CodePoint,
        }
    }
}

/// An article as JSON input. Other keys (a corpus's `url`, `date`, `labels`...) are read past
/// and named once on standard error, so a misspelt `titel` is seen; an article with neither a
/// title nor a body is an error that names the keys it had.
#[derive(Deserialize)]
struct JsonArticle {
    #[serde(default)]
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(flatten)]
    other: std::collections::BTreeMap<String, serde_json::Value>,
}

impl JsonArticle {
    fn article<'a>(&'a self, default_id: &'a str) -> Result<Article<'a>, String> {
        let article = Article {
            id: if self.id.is_empty() {
                default_id
            } else {
                &self.id
            },
            title: &self.title,
            body: &self.body,
        };
        if article.is_blank() && !self.other.is_empty() {
            let keys: Vec<&str> = self.other.keys().map(String::as_str).collect();
            return Err(format!(
                "empty article: no title and no body text (other keys: {}; rubric reads id, title, body)",
                keys.join(", ")
            ));
        }
        require_text(&article)?;
        Ok(article)
    }
}

/// Says once per input which keys of its JSON articles were not read.
fn note_ignored_keys(input: &str, keys: &std::collections::BTreeSet<String>) {
    if !keys.is_empty() {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        eprintln!(
            "note: {input}: not read: {} (rubric reads id, title, body)",
            keys.join(", ")
        );
    }
}

/// Whether writing to standard output failed because its reader closed the pipe.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
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

fn serve(args: ServeArgs) -> Result<ExitCode> {
    if args.print_config {
        print_config()?;
        return Ok(ExitCode::SUCCESS);
    }
    init_logging(args.log_format);
    if !(args.drain_timeout.is_finite() && (0.0..=MAX_DRAIN_SECONDS).contains(&args.drain_timeout))
    {
        bail!("--drain-timeout must be a number of seconds from 0 to {MAX_DRAIN_SECONDS}");
    }
    if args.max_message_bytes < MIN_MESSAGE_BYTES {
        bail!("--max-message-bytes must be at least {MIN_MESSAGE_BYTES}");
    }
    let rules = match &args.rules {
        None => LoadedRules::embedded().map_err(|e| e.to_string()),
        Some(path) => LoadedRules::from_file(path),
    };
    let rules = match rules {
        Ok(rules) => rules,
        Err(report) => {
            eprintln!("{report}");
            return Ok(ExitCode::from(2));
        }
    };
    let config = ServerConfig {
        drain_timeout: Duration::from_secs_f64(args.drain_timeout),
        max_message_bytes: args.max_message_bytes,
        limits: rubric::service::Limits {
            max_article_bytes: args.max_article_bytes,
            max_batch_size: usize::from(args.max_batch_size),
        },
        max_concurrent_calls: args.max_concurrent_calls as usize,
        max_concurrent_streams: args.max_concurrent_streams,
        request_timeout: args.request_timeout,
        keepalive_interval: args.keepalive_interval,
        keepalive_timeout: args.keepalive_timeout,
        max_connection_age: args.max_connection_age,
        max_connection_age_grace: args.max_connection_age_grace,
        tls: match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(server::TlsConfig {
                cert_pem: read_file(cert)?,
                key_pem: read_file(key)?,
                client_ca_pem: args.tls_client_ca.as_ref().map(read_file).transpose()?,
            }),
            _ => None,
        },
        auth_token: auth_token(args.auth_token_file.as_ref())?,
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        if let Some(metrics_addr) = args.metrics_listen {
            rubric::metrics::install(metrics_addr).map_err(anyhow::Error::msg)?;
            tracing::info!(addr = %metrics_addr, "serving metrics");
        }
        rubric::metrics::record_rule_set(rules.metric_labels(), None);
        let info = rules.engine.info();
        tracing::info!(
            addr = %addr,
            tls = config.tls.is_some(),
            mutual_tls = config.tls.as_ref().is_some_and(|t| t.client_ca_pem.is_some()),
            auth = config.auth_token.is_some(),
            rules = %rules.source,
            rule_set = %info.name,
            version = %info.version,
            rule_count = info.rule_count,
            "serving"
        );
        for warning in rules.engine.warnings() {
            tracing::warn!(
                code = warning.code,
                rule = warning.rule.as_deref().unwrap_or(""),
                topic = warning.topic.as_deref().unwrap_or(""),
                message = %warning.message,
                "rule lint"
            );
        }
        let shared = Arc::new(ArcSwap::from_pointee(rules));
        let (stop_watching, watching_stopped) = tokio::sync::oneshot::channel::<()>();
        if let Some(path) = &args.rules {
            let reloader =
                Reloader::new(path, shared.clone()).watch_directory(!args.no_watch_rules);
            tokio::spawn(async move {
                let stopped = async {
                    let _ = watching_stopped.await;
                };
                if let Err(e) = reloader.watch(stopped).await {
                    tracing::warn!(error = %e, "hot reload is off");
                }
            });
        }
        server::run(listener, shared, config, shutdown_signal()).await?;
        let _ = stop_watching.send(());
        Ok(ExitCode::SUCCESS)
    });
    // Connections still open after the drain timeout are dropped now, without waiting.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

fn read_file(path: &PathBuf) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The bearer token: from `--auth-token-file`, else from `RUBRIC_AUTH_TOKEN`, else none.
fn auth_token(file: Option<&PathBuf>) -> Result<Option<server::Secret>> {
    let value = match file {
        Some(path) => Some(
            fs::read_to_string(path)
                .with_context(|| format!("cannot read the token file {}", path.display()))?,
        ),
        None => std::env::var("RUBRIC_AUTH_TOKEN").ok(),
    };
    match value {
        Some(v) if v.trim().is_empty() => bail!("the bearer token is empty"),
        Some(v) => Ok(Some(server::Secret::new(&v))),
        None => Ok(None),
    }
}

/// Longest accepted `--drain-timeout`: one hour.
const MAX_DRAIN_SECONDS: f64 = 3600.0;
/// Smallest accepted `--max-message-bytes`: 1 KiB (a smaller limit rejects ordinary calls).
const MIN_MESSAGE_BYTES: usize = 1024;

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => tracing::info!(signal = "SIGINT", "signal received"),
                    _ = term.recv() => tracing::info!(signal = "SIGTERM", "signal received"),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the server");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Options of `serve` that the configuration file cannot set.
const NOT_IN_CONFIG: &[&str] = &["config", "print_config", "help"];

/// Parses the command line; for `serve --config FILE`, the file's keys fill in every option that
/// neither a flag nor an environment variable set, and the line is parsed again with them.
fn parse_with_config() -> Result<Cli> {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let (args, _) = with_config_file(&matches)?;
    Ok(Cli::from_arg_matches(
        &Cli::command().get_matches_from(args),
    )?)
}

/// The command line with the configuration file's values appended as flags (only for options
/// that no flag or environment variable set), and the keys the file gave.
fn with_config_file(matches: &clap::ArgMatches) -> Result<(Vec<std::ffi::OsString>, Vec<String>)> {
    use clap::parser::ValueSource;
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let Some(("serve", serve)) = matches.subcommand() else {
        return Ok((args, Vec::new()));
    };
    let Some(path) = serve.get_one::<PathBuf>("config") else {
        return Ok((args, Vec::new()));
    };
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let ids = serve_option_ids();
    let switches = serve_switch_ids();
    for (key, value) in &table {
        if !ids.contains(key) {
            bail!(
                "{}: unknown key `{key}`; the keys are the long options of `rubric serve --help` in snake_case",
                path.display()
            );
        }
        let explicit = matches!(
            serve.value_source(key),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        if explicit {
            continue;
        }
        if let toml::Value::Boolean(on) = value {
            if !switches.contains(key) {
                bail!(
                    "{}: `{key}` takes a value, not true or false",
                    path.display()
                );
            }
            if *on {
                args.push(format!("--{}", key.replace('_', "-")).into());
            }
            continue;
        }
        if switches.contains(key) {
            bail!(
                "{}: `{key}` is a switch; write `{key} = true` or `{key} = false`",
                path.display()
            );
        }
        let value = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            other => bail!(
                "{}: `{key}` is a {}; write a string, a number, or true/false for a switch",
                path.display(),
                other.type_str()
            ),
        };
        args.push(format!("--{}", key.replace('_', "-")).into());
        args.push(value.into());
    }
    Ok((args, table.keys().cloned().collect()))
}

/// The ids (snake_case long names) of `serve`'s options that a configuration file may set.
fn serve_option_ids() -> Vec<String> {
    use clap::CommandFactory;
    Cli::command()
        .find_subcommand("serve")
        .map(|c| {
            c.get_arguments()
                .filter(|a| a.get_long().is_some())
                .map(|a| a.get_id().as_str().to_owned())
                .filter(|id| !NOT_IN_CONFIG.contains(&id.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

/// The ids of `serve`'s switches (options without a value, such as `no_watch_rules`).
fn serve_switch_ids() -> Vec<String> {
    use clap::CommandFactory;
    Cli::command()
        .find_subcommand("serve")
        .map(|c| {
            c.get_arguments()
                .filter(|a| matches!(a.get_action(), clap::ArgAction::SetTrue))
                .map(|a| a.get_id().as_str().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The effective `serve` configuration as TOML, each value with where it came from.
fn print_config() -> Result<()> {
    use clap::parser::ValueSource;
    use clap::CommandFactory;
    let matches = Cli::command().get_matches();
    let (args, config_file_keys) = with_config_file(&matches)?;
    let effective = Cli::command().get_matches_from(args);
    let Some(("serve", serve)) = effective.subcommand() else {
        return Ok(());
    };
    let original = matches.subcommand().map(|(_, m)| m);
    let switches = serve_switch_ids();
    for key in serve_option_ids() {
        let key = key.as_str();
        let source = match original.and_then(|m| m.value_source(key)) {
            Some(ValueSource::CommandLine) => "flag",
            Some(ValueSource::EnvVariable) => "environment",
            _ if config_file_keys.iter().any(|k| k == key) => "config file",
            _ => "default",
        };
        let value: Vec<String> = serve
            .get_raw(key)
            .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let line = match value.first() {
            Some(v) if switches.iter().any(|k| k == key) => {
                let on = matches!(v.as_str(), "true" | "1" | "yes" | "on" | "y");
                format!("{key} = {on}  # {source}")
            }
            Some(v) if v.parse::<f64>().is_ok() => format!("{key} = {v}  # {source}"),
            Some(v) => format!("{key} = {}  # {source}", toml::Value::String(v.clone())),
            None => format!("# {key}: not set"),
        };
        // A closed pipe (`--print-config | head`) ends the listing quietly.
        if let Err(e) = writeln!(io::stdout(), "{line}") {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(e.into());
        }
    }
    Ok(())
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

/// Reads a JSON article: always for a `.json` file; for other inputs when the text is a JSON
/// object (a plain-text article may start with `{`, e.g. "{Update} ...").
fn json_article(input: &str, text: &str) -> Result<Option<JsonArticle>> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let must = input.ends_with(".json");
    if !must && !text.trim_start().starts_with('{') {
        return Ok(None);
    }
    // Text that is a JSON object must be a valid article; anything else is plain text.
    let is_object = matches!(
        serde_json::from_str::<serde_json::Value>(text),
        Ok(serde_json::Value::Object(_))
    );
    match parse_json_article(text) {
        Ok(article) => Ok(Some(article)),
        Err(e) if must || is_object => bail!("{input}: {e}"),
        Err(_) => Ok(None),
    }
}

/// Parses one JSON article: an object `{"id","title","body"}`, or a Classify request
/// `{"article": {...}}` (as in `seeds/classify-request.json`; its `options` are the command's
/// flags here, so a request with options is refused). Other keys are kept in `other`.
fn parse_json_article(text: &str) -> Result<JsonArticle, String> {
    const SHAPE: &str = "expected an object {\"id\",\"title\",\"body\"}";
    if !text.trim_start().starts_with('{') {
        return Err(format!("not a JSON article: {SHAPE}"));
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not a JSON article: {e}"))?;
    let value = match value {
        serde_json::Value::Object(mut map) if map.contains_key("article") => {
            if map.len() > 1 {
                return Err(
                    "a Classify request with options: give its article, and the options as flags (--topic, --offset-encoding, --no-evidence, --min-score)"
                        .to_owned(),
                );
            }
            map.remove("article").unwrap_or_default()
        }
        other => other,
    };
    serde_json::from_value(value).map_err(|e| format!("not a JSON article ({SHAPE}): {e}"))
}

/// An article with neither title nor body text is a mistake (an empty file, a misnamed field),
/// as the service says too (INVALID_ARGUMENT on `article.body`).
fn require_text(article: &Article<'_>) -> Result<(), String> {
    if article.is_blank() {
        Err("empty article: no title and no body text".to_owned())
    } else {
        Ok(())
    }
}

/// Splits a plain-text article: the first line is the title when a blank line follows it.
fn plain_article(text: &str) -> (&str, &str) {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    if let Some((first, rest)) = text.split_once('\n') {
        let rest_trimmed = rest.strip_prefix('\r').unwrap_or(rest);
        if let Some((blank, body)) = rest_trimmed.split_once('\n') {
            if blank.trim().is_empty() && !first.trim().is_empty() {
                return (first.trim_end_matches('\r'), body);
            }
        }
    }
    ("", text)
}

fn classify(args: ClassifyArgs) -> Result<ExitCode> {
    let engine = load_engine(args.rules.as_ref())?;
    let options = ClassifyOptions {
        topics: args.topics.clone(),
        evidence: !args.no_evidence,
        offset_encoding: args.offset_encoding.into(),
        min_score: args.min_score,
    };
    let inputs = if args.inputs.is_empty() {
        vec!["-".to_owned()]
    } else {
        args.inputs.clone()
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.jsonl {
        let mut failed = 0usize;
        for input in &inputs {
            failed += classify_jsonl(&engine, &options, input, &mut out)?;
        }
        out.flush()?;
        if failed > 0 {
            eprintln!("error: {failed} line(s) could not be classified (see above)");
            return Ok(ExitCode::FAILURE);
        }
        return Ok(ExitCode::SUCCESS);
    }
    for input in &inputs {
        let text = read_input(input)?;
        let json = json_article(input, &text)?;
        let article = match &json {
            Some(a) => {
                let article = a
                    .article(input)
                    .map_err(|e| anyhow::anyhow!("{input}: {e}"))?;
                note_ignored_keys(input, &a.other.keys().cloned().collect());
                article
            }
            None => {
                let (title, body) = plain_article(&text);
                let article = Article {
                    id: input,
                    title,
                    body,
                };
                // A JSON article was checked by `JsonArticle::article`; plain text is here.
                if let Err(e) = require_text(&article) {
                    bail!("{input}: {e}");
                }
                article
            }
        };
        let result = engine.classify(&article, &options)?;
        if args.pretty {
            serde_json::to_writer_pretty(&mut out, &result)?;
        } else {
            serde_json::to_writer(&mut out, &result)?;
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Classifies one JSON Lines input in parallel batches; returns the number of bad lines.
///
/// Output stays line for line with the input's articles: a line that cannot be classified
/// (invalid UTF-8, not a JSON object, ...) gives `{"error":{"input","line","message"}}` in its
/// place, and the same message on standard error. Blank lines are skipped.
fn classify_jsonl(
    engine: &Engine,
    options: &ClassifyOptions,
    input: &str,
    out: &mut impl Write,
) -> Result<usize> {
    const BATCH: usize = 4096;
    let mut reader: Box<dyn BufRead> = if input == "-" {
        Box::new(io::BufReader::new(io::stdin()))
    } else {
        Box::new(io::BufReader::new(
            fs::File::open(input).with_context(|| format!("cannot read {input}"))?,
        ))
    };
    let mut failed = 0;
    let mut line_number = 0usize;
    let mut ignored = std::collections::BTreeSet::new();
    loop {
        let mut batch: Vec<(usize, Vec<u8>)> = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            let mut line = Vec::new();
            let n = reader
                .read_until(b'\n', &mut line)
                .with_context(|| format!("{input}:{}: cannot read", line_number + 1))?;
            if n == 0 {
                break;
            }
            line_number += 1;
            if line_number == 1 && line.starts_with("\u{FEFF}".as_bytes()) {
                line.drain(..3);
            }
            batch.push((line_number, line));
        }
        if batch.is_empty() {
            note_ignored_keys(input, &ignored);
            return Ok(failed);
        }
        type Classified = (String, Vec<String>);
        let results: Vec<Result<Option<Classified>, (usize, String)>> = batch
            .par_iter()
            .map(|(n, bytes)| {
                let line =
                    std::str::from_utf8(bytes).map_err(|e| (*n, format!("not UTF-8: {e}")))?;
                if line.trim().is_empty() {
                    return Ok(None);
                }
                let a = parse_json_article(line).map_err(|e| (*n, e))?;
                let article = a.article("").map_err(|e| (*n, e))?;
                let result = engine
                    .classify(&article, options)
                    .map_err(|e| (*n, e.to_string()))?;
                let json = serde_json::to_string(&result).map_err(|e| (*n, e.to_string()))?;
                Ok(Some((json, a.other.into_keys().collect())))
            })
            .collect();
        for result in results {
            match result {
                Ok(Some((json, keys))) => {
                    ignored.extend(keys);
                    writeln!(out, "{json}")?
                }
                Ok(None) => {}
                Err((line, message)) => {
                    eprintln!("error: {input}:{line}: {message}");
                    let error = serde_json::json!({
                        "error": { "input": input, "line": line, "message": message }
                    });
                    writeln!(out, "{error}")?;
                    failed += 1;
                }
            }
        }
    }
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

fn eval(args: EvalArgs) -> Result<ExitCode> {
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

fn import_phoenix(file: &Path, output: Option<PathBuf>) -> Result<ExitCode> {
    let text = fs::read_to_string(file)
        .with_context(|| format!("cannot read dictionary {}", file.display()))?;
    let name = file.display().to_string();
    let import = rubric::import::phoenix(&name, &text);
    for note in &import.notes {
        eprintln!("{name}:{}: {}", note.line, note.message);
    }
    // The result must load: a converter that writes an unloadable file is a bug worth stopping on.
    let engine = Engine::from_toml("<imported>", &import.toml)
        .map_err(|e| anyhow::anyhow!("the imported rule set does not load (a bug):\n{e}"))?;
    match &output {
        Some(path) => fs::write(path, &import.toml)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => io::stdout().write_all(import.toml.as_bytes())?,
    }
    eprintln!(
        "{name}: {} in {}, {} not translated exactly (listed above), {}",
        count(import.rules, "rule"),
        count(import.topics, "topic"),
        count(import.notes.len(), "line"),
        count(engine.warnings().len(), "lint warning"),
    );
    Ok(ExitCode::SUCCESS)
}

fn import_petrarch(
    dir: &Path,
    cutoff: rubric::import::petrarch::Date,
    output: &Path,
) -> Result<ExitCode> {
    use rubric::import::petrarch;
    let dictionaries = petrarch::Dictionaries::read(dir)?;
    let options = petrarch::Options { cutoff };
    let import = petrarch::petrarch(&dictionaries, &options);
    for note in &import.notes {
        eprintln!(
            "{}:{}: {}",
            dir.join(&note.file).display(),
            note.line,
            note.message
        );
    }
    fs::create_dir_all(output)
        .with_context(|| format!("cannot create directory {}", output.display()))?;
    let write = |name: &str, text: &str| {
        let path = output.join(name);
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    for list in &import.lists {
        write(
            &format!("{}.txt", list.name),
            &petrarch::list_file_text(list, &options),
        )?;
    }
    write("lists.toml", &petrarch::lists_toml(&import.lists, &options))?;
    // The lists are a substantial portion of the dictionaries: their licence goes with them.
    if let Ok(licence) = fs::read_to_string(dir.join(petrarch::LICENSE_FILE)) {
        write(petrarch::LICENSE_FILE, &licence)?;
    }
    eprintln!(
        "{}: {} with {} written to {}; {} not translated (listed above); {} whose codes all ended before {cutoff} left out",
        dir.display(),
        count(import.lists.len(), "list"),
        count(import.entries(), "entry").replace("entrys", "entries"),
        output.display(),
        count(import.noted_lines(), "source line"),
        count(import.before_cutoff, "actor"),
    );
    Ok(ExitCode::SUCCESS)
}

fn check(files: &[PathBuf]) -> Result<ExitCode> {
    let mut problems = 0usize;
    for path in files {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read rule file {}", path.display()))?;
        let name = path.display().to_string();
        match Engine::check_with(&name, &text, &rubric::rules::ListDir::beside(path)) {
            (Some(engine), _) => {
                for warning in engine.warnings() {
                    println!("{warning}");
                }
                let info = engine.info();
                let lists = if info.list_count > 0 {
                    format!(
                        ", {} ({})",
                        count(info.list_count, "list"),
                        count(info.list_entry_count, "entry").replace("entrys", "entries")
                    )
                } else {
                    String::new()
                };
                println!(
                    "{name}: {} in {}{lists}, 0 errors, {}",
                    count(info.rule_count, "rule"),
                    count(info.topic_count, "topic"),
                    count(engine.warnings().len(), "warning")
                );
                problems += engine.warnings().len();
            }
            (None, diagnostics) => {
                let err = rubric::RuleSetError::new(diagnostics);
                for d in err.diagnostics() {
                    println!("{d}");
                }
                let errors = err.error_count();
                let warnings = err
                    .diagnostics()
                    .iter()
                    .filter(|d| d.severity == Severity::Warning)
                    .count();
                println!(
                    "{name}: rejected, {}, {}",
                    count(errors, "error"),
                    count(warnings, "warning")
                );
                problems += err.diagnostics().len();
            }
        }
    }
    Ok(if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `1 error`, `2 errors`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

// ---- rubric health-check --------------------------------------------------------------------
// A probe for images without a shell (distroless): the server's own health client.

#[derive(clap::Args)]
struct HealthCheckArgs {
    /// Server address: http://HOST:PORT, https://HOST:PORT or HOST:PORT (https with --tls-ca).
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// Service to ask about; "" is the whole server.
    #[arg(long, default_value = "")]
    service: String,
    /// Seconds to wait for the answer, connection included.
    #[arg(long, default_value = "5", value_parser = seconds)]
    timeout: Duration,
    /// CA certificates (PEM) to verify the server with: use TLS.
    #[arg(long)]
    tls_ca: Option<PathBuf>,
    /// Client certificate chain (PEM), for a server that requires mutual TLS.
    #[arg(long, requires_all = ["tls_key", "tls_ca"])]
    tls_cert: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Name to verify in the server's certificate; default: the host of --addr.
    #[arg(long, requires = "tls_ca")]
    tls_domain: Option<String>,
}

fn health_check(args: HealthCheckArgs) -> Result<ExitCode> {
    use rubric::client::{endpoint_uri, health_status};
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
    use tonic_health::pb::health_check_response::ServingStatus;
    let uri = endpoint_uri(&args.addr, args.tls_ca.is_some());
    let mut endpoint = Endpoint::from_shared(uri.clone())
        .with_context(|| format!("--addr {}: not an address", args.addr))?;
    if let Some(ca) = &args.tls_ca {
        let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read_file(ca)?));
        if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
            tls = tls.identity(Identity::from_pem(read_file(cert)?, read_file(key)?));
        }
        if let Some(domain) = &args.tls_domain {
            tls = tls.domain_name(domain.clone());
        }
        endpoint = endpoint
            .tls_config(tls)
            .context("invalid TLS configuration")?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let service = &args.service;
    match runtime.block_on(health_status(endpoint, service, args.timeout)) {
        Ok(ServingStatus::Serving) => {
            println!("SERVING");
            Ok(ExitCode::SUCCESS)
        }
        Ok(status) => {
            eprintln!("{uri}: service `{service}` is {}", status.as_str_name());
            Ok(ExitCode::FAILURE)
        }
        Err(reason) => {
            eprintln!("{reason}");
            Ok(ExitCode::FAILURE)
        }
    }
}
