//! Hot reload of the rule file.
//!
//! A reload reads the file, and when its content (SHA-256) differs from the rules being served,
//! parses, validates (examples included) and compiles it completely, then swaps it in atomically
//! (`arc-swap`). Calls in flight finish on the rules they started with; every response carries
//! the version it was classified with. If anything fails, the old rules keep serving and the
//! failure is logged with the full report.
//!
//! The content compared covers the list files the rule file names (see
//! [`RuleSet::content_sha256`]), and their directories are watched as well.
//!
//! Triggers ([`Reloader::watch`]): SIGHUP, and any change in the file's directory. The directory
//! is watched rather than the file because Kubernetes updates a mounted ConfigMap by swapping a
//! symlink in the directory, which a watch on the file itself would miss; comparing content makes
//! unrelated changes harmless.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info, warn};

use crate::engine::Engine;
use crate::rules::{ListDir, RuleSet, RuleSetError};
use crate::service::{LoadedRules, SharedRules};

/// What a reload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// New rules are being served.
    Reloaded {
        /// `rule_set.version` of the new rules.
        version: String,
        /// SHA-256 of the new file.
        sha256: String,
    },
    /// The file has the content being served already.
    Unchanged,
}

/// Reloads one rule file into the rules a server reads.
#[derive(Clone, Debug)]
pub struct Reloader {
    path: PathBuf,
    rules: SharedRules,
    /// SHA-256 of the last content that failed to load, so an unchanged bad file is reported once.
    last_failure: Arc<std::sync::Mutex<Option<String>>>,
    /// Whether [`Reloader::watch`] watches the directory (else SIGHUP only).
    watch_directory: bool,
    /// The directories of the list files of the last rules read, other than the rule file's: they
    /// are watched too.
    list_dirs: Arc<std::sync::Mutex<Vec<PathBuf>>>,
}

/// The directories that hold the list files of `set`, deduplicated, in order.
fn list_directories(files: &ListDir, set: &RuleSet) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for file in set.lists.iter().filter_map(|l| l.file.as_deref()) {
        if let Some(dir) = files.resolve(file).parent() {
            if !dirs.iter().any(|d| d == dir) {
                dirs.push(dir.to_owned());
            }
        }
    }
    dirs
}

/// How long to wait after a change before reading, so that a burst of events (write, rename,
/// symlink swap) gives one reload.
const DEBOUNCE: Duration = Duration::from_millis(100);

impl Reloader {
    /// A reloader of `path` into `rules`.
    pub fn new(path: &Path, rules: SharedRules) -> Reloader {
        Reloader {
            path: path.to_owned(),
            rules,
            last_failure: Arc::default(),
            watch_directory: true,
            list_dirs: Arc::default(),
        }
    }

    /// Whether to watch the file's directory (default) or reload on SIGHUP only.
    pub fn watch_directory(mut self, watch: bool) -> Reloader {
        self.watch_directory = watch;
        self
    }

    /// Reloads now if the file changed (a file that already failed to load, unchanged, is not
    /// tried again).
    ///
    /// # Errors
    /// The file cannot be read, or the full report of a rule set that does not load; the rules
    /// being served are then unchanged.
    pub fn reload(&self) -> Result<ReloadOutcome, String> {
        let text = std::fs::read_to_string(&self.path)
            .map_err(|e| format!("cannot read rule file {}: {e}", self.path.display()))?;
        // Reading the rule file and its list files is cheap; compiling is not: compare what was
        // read with what is served first.
        let files = ListDir::beside(&self.path);
        let (set, diagnostics) = RuleSet::load(&self.path.display().to_string(), &text, &files);
        let hash = set.as_ref().map_or_else(
            || crate::rules::file::content_sha256(&text, &[], &[]),
            |s| s.content_sha256.clone(),
        );
        if let (Some(set), Ok(mut dirs)) = (&set, self.list_dirs.lock()) {
            *dirs = list_directories(&files, set);
        }
        let failed_before = |hash: &str| {
            self.last_failure
                .lock()
                .map(|f| f.as_deref() == Some(hash))
                .unwrap_or(false)
        };
        let loaded = {
            let current = self.rules.load();
            if hash == current.content_sha256 || failed_before(&hash) {
                return Ok(ReloadOutcome::Unchanged);
            }
            match Engine::check_parsed(set, diagnostics) {
                (Some(engine), _) => LoadedRules::new(&current.source, engine),
                (None, diagnostics) => {
                    if let Ok(mut last) = self.last_failure.lock() {
                        *last = Some(hash);
                    }
                    return Err(RuleSetError::new(diagnostics).to_string());
                }
            }
        };
        let outcome = ReloadOutcome::Reloaded {
            version: loaded.engine.info().version.clone(),
            sha256: loaded.content_sha256.clone(),
        };
        let previous = self.rules.swap(Arc::new(loaded));
        let current = self.rules.load();
        crate::metrics::record_rule_set(current.metric_labels(), Some(previous.metric_labels()));
        Ok(outcome)
    }

    /// Reloads and logs the outcome.
    fn reload_logged(&self, trigger: &str) {
        let result = self.reload();
        if !matches!(result, Ok(ReloadOutcome::Unchanged)) {
            crate::metrics::record_reload(result.is_ok());
        }
        match result {
            Ok(ReloadOutcome::Reloaded { version, sha256 }) => {
                info!(trigger, version = %version, sha256 = %sha256, "rules reloaded")
            }
            Ok(ReloadOutcome::Unchanged) => {}
            Err(report) => {
                let serving = self.rules.load().engine.info().version.clone();
                error!(trigger, serving = %serving, "rules reload failed; still serving the old rules\n{report}")
            }
        }
    }

    /// Reloads on SIGHUP and on changes in the file's directory until `shutdown` completes.
    ///
    /// # Errors
    /// When the directory cannot be watched or SIGHUP cannot be received; the server can go on
    /// without hot reload.
    pub async fn watch(self, shutdown: impl Future<Output = ()>) -> Result<(), String> {
        use notify::Watcher;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(16);
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                // Reading the file (as a reload does) raises access events: only changes count,
                // or a reload would trigger the next one.
                if event.is_ok_and(|e| !matches!(e.kind, notify::EventKind::Access(_))) {
                    let _ = tx.try_send(());
                }
            })
            .map_err(|e| format!("cannot watch for rule file changes: {e}"))?;
        let directory = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if self.watch_directory {
            watcher
                .watch(directory, notify::RecursiveMode::NonRecursive)
                .map_err(|e| format!("cannot watch {}: {e}", directory.display()))?;
        }
        // The directories of the list files are watched too, as the rules being read name them.
        let mut watched: Vec<PathBuf> = vec![directory.to_owned()];
        if let Ok(text) = std::fs::read_to_string(&self.path) {
            let files = ListDir::beside(&self.path);
            if let (Some(set), _) = RuleSet::load("", &text, &files) {
                if let Ok(mut dirs) = self.list_dirs.lock() {
                    *dirs = list_directories(&files, &set);
                }
            }
        }
        let mut watch_list_dirs = |watcher: &mut notify::RecommendedWatcher| {
            let wanted = self.list_dirs.lock().map(|d| d.clone()).unwrap_or_default();
            for dir in wanted {
                if !self.watch_directory || watched.contains(&dir) {
                    continue;
                }
                match watcher.watch(&dir, notify::RecursiveMode::NonRecursive) {
                    Ok(()) => info!(directory = %dir.display(), "watching a list file directory"),
                    Err(e) => {
                        warn!(directory = %dir.display(), "cannot watch a list file directory: {e}")
                    }
                }
                watched.push(dir);
            }
        };
        watch_list_dirs(&mut watcher);
        #[cfg(unix)]
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|e| format!("cannot receive SIGHUP: {e}"))?;
        if self.watch_directory {
            info!(path = %self.path.display(), "watching the rule file; SIGHUP reloads it too");
        } else {
            info!(path = %self.path.display(), "SIGHUP reloads the rule file");
        }
        tokio::pin!(shutdown);
        loop {
            #[cfg(unix)]
            let hup = hangup.recv();
            #[cfg(not(unix))]
            let hup = std::future::pending::<Option<()>>();
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                _ = hup => self.clone().reload_in_background("SIGHUP").await,
                changed = rx.recv() => {
                    if changed.is_none() {
                        warn!("rule file watcher stopped");
                        return Ok(());
                    }
                    tokio::time::sleep(DEBOUNCE).await;
                    while rx.try_recv().is_ok() {}
                    self.clone().reload_in_background("file change").await;
                }
            }
            watch_list_dirs(&mut watcher);
        }
    }

    async fn reload_in_background(self, trigger: &'static str) {
        // Compiling a large rule set takes a while: keep it off the async workers.
        let _ = tokio::task::spawn_blocking(move || self.reload_logged(trigger)).await;
    }
}
