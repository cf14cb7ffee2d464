//! `rubric serve`: the gRPC server on the embedded or given rules, its options from flags,
//! environment and a configuration file, and `--print-config`.

use super::*;

use std::sync::Arc;

use arc_swap::ArcSwap;
use rubric::reload::Reloader;
use rubric::server::{self, ServerConfig};
use rubric::service::LoadedRules;

#[derive(clap::Args)]
pub(super) struct ServeArgs {
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
    /// Classifier calls handled at once over all connections, each counted once its request has
    /// arrived (a stream's message while it is classified); more unary calls are shed with
    /// RESOURCE_EXHAUSTED, a stream's message waits.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..), env = "RUBRIC_MAX_CONCURRENT_CALLS")]
    max_concurrent_calls: u32,
    /// HTTP/2 streams one connection may have open at once.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..), env = "RUBRIC_MAX_CONCURRENT_STREAMS")]
    max_concurrent_streams: u32,
    /// Longest time a call may take, in seconds (DEADLINE_EXCEEDED beyond it).
    #[arg(long, default_value = "30", value_parser = seconds, env = "RUBRIC_REQUEST_TIMEOUT")]
    request_timeout: Duration,
    /// Longest time, in seconds, a unary call's request may take to arrive after its headers, and
    /// the rest of a ClassifyStream message after its first byte (DEADLINE_EXCEEDED beyond it).
    #[arg(long, default_value = "10", value_parser = seconds, env = "RUBRIC_REQUEST_BODY_TIMEOUT")]
    request_body_timeout: Duration,
    /// Longest time, in seconds, a new connection may take to complete its TLS handshake and send
    /// the HTTP/2 preface; it is closed otherwise.
    #[arg(long, default_value = "10", value_parser = seconds, env = "RUBRIC_HANDSHAKE_TIMEOUT")]
    handshake_timeout: Duration,
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
    /// Serve CheckRules and ClassifyWithRules (rules sent by the client, compiled for one call;
    /// what the browser playground at `/` needs): `auto` turns them on only when --listen is a
    /// loopback address.
    #[arg(long, value_enum, default_value_t = RuleEditingSwitch::Auto, env = "RUBRIC_RULE_EDITING")]
    rule_editing: RuleEditingSwitch,
    /// Largest rule file, and largest sum of list files, a client may send (bytes).
    #[arg(long, default_value_t = 1024 * 1024, value_parser = clap::value_parser!(u32).range(1..), env = "RUBRIC_MAX_RULES_BYTES")]
    max_rules_bytes: u32,
    /// Seconds one compilation of rules sent by a client may take (DEADLINE_EXCEEDED beyond).
    #[arg(long, default_value = "5", value_parser = seconds, env = "RUBRIC_RULE_COMPILE_TIMEOUT")]
    rule_compile_timeout: Duration,
    /// Compilations of rules sent by clients at once; one more gets RESOURCE_EXHAUSTED.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..), env = "RUBRIC_MAX_CONCURRENT_COMPILES")]
    max_concurrent_compiles: u16,
    /// Origins whose browser pages may call the API across origins (CORS), comma-separated
    /// (`https://app.example.com,http://localhost:3000`); default none (same-origin pages, such
    /// as the playground, need none).
    #[arg(long, value_delimiter = ',', env = "RUBRIC_CORS_ALLOW_ORIGIN")]
    cors_allow_origin: Vec<String>,
}

/// `--rule-editing`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RuleEditingSwitch {
    /// On when listening on a loopback address (127.0.0.1, ::1), off otherwise.
    Auto,
    /// On.
    On,
    /// Off: the methods answer UNIMPLEMENTED.
    Off,
}

pub(super) fn serve(args: ServeArgs) -> Result<ExitCode> {
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
    let mut config = ServerConfig {
        drain_timeout: Duration::from_secs_f64(args.drain_timeout),
        max_message_bytes: args.max_message_bytes,
        limits: rubric::service::Limits {
            max_article_bytes: args.max_article_bytes,
            max_batch_size: usize::from(args.max_batch_size),
        },
        max_concurrent_calls: args.max_concurrent_calls as usize,
        max_concurrent_streams: args.max_concurrent_streams,
        request_timeout: args.request_timeout,
        request_body_timeout: args.request_body_timeout,
        handshake_timeout: args.handshake_timeout,
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
        rule_editing: rubric::service::RuleEditing {
            enabled: args.rule_editing == RuleEditingSwitch::On,
            max_rules_bytes: args.max_rules_bytes as usize,
            compile_timeout: args.rule_compile_timeout,
            max_concurrent_compiles: usize::from(args.max_concurrent_compiles),
        },
        cors_allow_origins: args.cors_allow_origin.clone(),
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let result = runtime.block_on(async move {
        // Every signal handler is in place before the port opens: a signal that comes once
        // clients can connect must find its handler, not the default action (SIGHUP and SIGTERM
        // would end the process at once, with the calls in flight).
        let signals = Signals::install()?;
        let shared = Arc::new(ArcSwap::from_pointee(rules));
        let (stop_watching, watching_stopped) = tokio::sync::oneshot::channel::<()>();
        let hot_reload = match &args.rules {
            None => HotReload::None,
            Some(path) => {
                let reloader =
                    Reloader::new(path, shared.clone()).watch_directory(!args.no_watch_rules);
                start_watching(reloader, watching_stopped).await
            }
        };
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        if args.rule_editing == RuleEditingSwitch::Auto {
            config.rule_editing.enabled = addr.ip().is_loopback();
        }
        if let Some(metrics_addr) = args.metrics_listen {
            rubric::metrics::install(metrics_addr).map_err(anyhow::Error::msg)?;
            tracing::info!(addr = %metrics_addr, "serving metrics");
        }
        let rules = shared.load_full();
        rubric::metrics::record_rule_set(rules.metric_labels(), None);
        let info = rules.engine.info();
        tracing::info!(
            addr = %addr,
            tls = config.tls.is_some(),
            mutual_tls = config.tls.as_ref().is_some_and(|t| t.client_ca_pem.is_some()),
            auth = config.auth_token.is_some(),
            rule_editing = config.rule_editing.enabled,
            rules = %rules.source,
            rule_set = %info.name,
            version = %info.version,
            rule_count = info.rule_count,
            open_files_limit = server::open_files_limit(),
            "serving"
        );
        for warning in rules.engine.warnings() {
            // A rule's warning names its rule; the log names the rule's topic too.
            let topic = warning.topic.as_deref().or_else(|| {
                let rule = warning.rule.as_deref()?;
                rules
                    .engine
                    .rules()
                    .find(|(id, _, _)| *id == rule)
                    .map(|(_, topic, _)| topic)
            });
            tracing::warn!(
                code = warning.code,
                rule = warning.rule.as_deref().unwrap_or(""),
                topic = topic.unwrap_or(""),
                message = %warning.message,
                "rule lint"
            );
        }
        drop(rules);
        // Starting up read and compiled the rules (and read them again to watch their list
        // directories): what that freed goes back to the system before the first call.
        rubric::memory::release_free_memory();
        let Signals {
            shutdown,
            mut hangup,
        } = signals;
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                hot_reload.hangup();
            }
        });
        server::run(listener, shared, config, shutdown).await?;
        let _ = stop_watching.send(());
        Ok(ExitCode::SUCCESS)
    });
    // Connections still open after the drain timeout are dropped now, without waiting.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

pub(super) fn read_file(path: &PathBuf) -> Result<Vec<u8>> {
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

/// The signals `serve` handles, installed by [`Signals::install`] before the port opens.
struct Signals {
    /// Completes on SIGINT or SIGTERM (logging which).
    shutdown: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    /// SIGHUP (never on other platforms).
    hangup: Hangup,
}

#[cfg(unix)]
type Hangup = tokio::signal::unix::Signal;

/// A SIGHUP stream where there is none.
#[cfg(not(unix))]
struct Hangup;

#[cfg(not(unix))]
impl Hangup {
    async fn recv(&mut self) -> Option<()> {
        std::future::pending().await
    }
}

impl Signals {
    /// Installs the handlers of SIGINT, SIGTERM and SIGHUP now (tokio replaces the default action
    /// from this moment on, for the life of the process).
    #[cfg(unix)]
    fn install() -> Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        let handler = |kind: SignalKind, name: &str| {
            signal(kind).with_context(|| format!("cannot install the handler of {name}"))
        };
        let mut interrupt = handler(SignalKind::interrupt(), "SIGINT")?;
        let mut terminate = handler(SignalKind::terminate(), "SIGTERM")?;
        let hangup = handler(SignalKind::hangup(), "SIGHUP")?;
        let shutdown = Box::pin(async move {
            tokio::select! {
                _ = interrupt.recv() => tracing::info!(signal = "SIGINT", "signal received"),
                _ = terminate.recv() => tracing::info!(signal = "SIGTERM", "signal received"),
            }
        });
        Ok(Signals { shutdown, hangup })
    }

    #[cfg(not(unix))]
    fn install() -> Result<Signals> {
        let ctrl_c = tokio::signal::ctrl_c();
        Ok(Signals {
            shutdown: Box::pin(async move {
                let _ = ctrl_c.await;
                tracing::info!(signal = "Ctrl-C", "signal received");
            }),
            hangup: Hangup,
        })
    }
}

/// What SIGHUP does.
enum HotReload {
    /// Nothing: no rule file (the embedded rules are served).
    None,
    /// The reloader reloads the rule file (it receives SIGHUP itself); `false` once it stopped.
    Watching(Arc<std::sync::atomic::AtomicBool>),
}

impl HotReload {
    /// Logs a SIGHUP that the reloader does not handle.
    fn hangup(&self) {
        match self {
            HotReload::None => tracing::info!(
                signal = "SIGHUP",
                "signal received; nothing to reload: the embedded rules are served (start with \
                 --rules FILE to serve a rule file that SIGHUP reloads)"
            ),
            HotReload::Watching(on) if on.load(std::sync::atomic::Ordering::Relaxed) => {
                tracing::debug!(
                    signal = "SIGHUP",
                    "signal received; the rule file is reloaded"
                )
            }
            HotReload::Watching(_) => tracing::warn!(
                signal = "SIGHUP",
                "signal received, but hot reload is off (see the warning above); the rules \
                 being served stay"
            ),
        }
    }
}

/// Starts the reloader's watch: polled once here, before the port opens, as the reloader takes
/// SIGHUP (and starts watching the directory) when first polled; then it goes on in a task.
async fn start_watching(
    reloader: Reloader,
    stopped: tokio::sync::oneshot::Receiver<()>,
) -> HotReload {
    use std::future::Future;
    use std::sync::atomic::{AtomicBool, Ordering};
    let on = Arc::new(AtomicBool::new(true));
    let mut watch = Box::pin(reloader.watch(async {
        let _ = stopped.await;
    }));
    let report = {
        let on = on.clone();
        move |result: Result<(), String>| {
            if let Err(e) = result {
                on.store(false, Ordering::Relaxed);
                tracing::warn!(error = %e, "hot reload is off");
            }
        }
    };
    match std::future::poll_fn(|cx| std::task::Poll::Ready(watch.as_mut().poll(cx))).await {
        std::task::Poll::Ready(result) => report(result),
        std::task::Poll::Pending => {
            tokio::spawn(async move { report(watch.await) });
        }
    }
    HotReload::Watching(on)
}

/// Options of `serve` that the configuration file cannot set.
const NOT_IN_CONFIG: &[&str] = &["config", "print_config", "help"];

/// Parses the command line; for `serve --config FILE`, the file's keys fill in every option that
/// neither a flag nor an environment variable set, and the line is parsed again with them.
pub(super) fn parse_with_config() -> Result<Cli> {
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
    let text = rubric::rules::read_text_file(path, 1 << 20).map_err(|why| {
        anyhow::anyhow!(
            "cannot read the configuration file {}: {why}",
            path.display()
        )
    })?;
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
