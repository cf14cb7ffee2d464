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
//!
//! Logs: a reload logs the new version and SHA-256 at info, each lint warning of the new rules at
//! warn (with its code, rule and topic, as at startup), and a warning when the new content keeps
//! the old `version` (responses can no longer tell the two apart). A SIGHUP that finds the content
//! being served logs "rules unchanged" at info with the SHA-256 (at debug for a directory change,
//! which is mostly unrelated files). A failure is logged at error with the full report, once per
//! content, and kept with the rules being served ([`LoadedRules::last_reload_failure`]), so
//! `GetRuleSet` shows it until a reload succeeds or the file goes back to the content served.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tracing::{debug, error, info, warn};

use crate::engine::Engine;
use crate::rules::{ListDir, RuleSet, RuleSetError};
use crate::service::{LoadedRules, ReloadFailure, SharedRules};

/// What a reload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// New rules are being served.
    Reloaded {
        /// `rule_set.version` of the new rules.
        version: String,
        /// SHA-256 of the new content.
        sha256: String,
        /// `rule_set.version` of the rules they replaced (equal to `version` when the file changed
        /// without a new version).
        previous_version: String,
    },
    /// The file has the content being served already.
    Unchanged {
        /// SHA-256 of the content (the one being served).
        sha256: String,
    },
    /// The file has the content that failed to load last time; it is not tried again.
    StillFailing {
        /// SHA-256 of that content.
        sha256: String,
    },
}

/// Most lines of a failure report kept for `GetRuleSet`.
const MAX_REPORT_LINES: usize = 20;
/// Most bytes of a failure report kept for `GetRuleSet`.
const MAX_REPORT_BYTES: usize = 4096;

/// Reloads one rule file into the rules a server reads.
#[derive(Clone, Debug)]
pub struct Reloader {
    path: PathBuf,
    rules: SharedRules,
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

/// How often the watched directories are checked for having been removed or replaced (a watch on
/// a removed directory is lost, and inotify says nothing of a new one at the same path).
const WATCH_CHECK: Duration = Duration::from_secs(2);

/// A directory's identity: device and inode on Unix, so a directory removed and created again at
/// the same path is told apart from the old one.
type DirId = (u64, u64);

/// The identity of `dir`, or `None` when there is no directory there.
fn dir_identity(dir: &Path) -> Option<DirId> {
    let meta = std::fs::metadata(dir).ok().filter(|m| m.is_dir())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Some((0, 0))
    }
}

impl Reloader {
    /// A reloader of `path` into `rules`.
    pub fn new(path: &Path, rules: SharedRules) -> Reloader {
        Reloader {
            path: path.to_owned(),
            rules,
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
    /// A failure is also kept with the rules being served (see
    /// [`LoadedRules::last_reload_failure`]); new rules start without one, and a file back at the
    /// content being served clears it.
    ///
    /// # Errors
    /// The file cannot be read, or the full report of a rule set that does not load; the rules
    /// being served are then unchanged.
    pub fn reload(&self) -> Result<ReloadOutcome, String> {
        let outcome = self.reload_rules();
        // Whatever the outcome, reading and compiling freed memory (the old rules too, unless a
        // call still uses them): it goes back to the system (issue #15).
        crate::memory::release_free_memory();
        outcome
    }

    /// [`Reloader::reload`] without giving freed memory back.
    fn reload_rules(&self) -> Result<ReloadOutcome, String> {
        let text = match crate::rules::read_rule_file(&self.path) {
            Ok(text) => text,
            Err(report) => {
                // Already "cannot read rule file PATH: why" (not a regular file, too large, not
                // UTF-8 at line:column, ...).
                self.record_failure(&report, String::new());
                return Err(report);
            }
        };
        // Reading the rule file and its list files is cheap; compiling is not: compare what was
        // read with what is served first.
        let files = ListDir::beside(&self.path);
        let recorded = crate::rules::RecordingLists::new(&files);
        let (set, diagnostics) = RuleSet::load(&self.path.display().to_string(), &text, &recorded);
        let hash = set.as_ref().map_or_else(
            || crate::rules::file::content_sha256(&text, &[], &[]),
            |s| s.content_sha256.clone(),
        );
        if let (Some(set), Ok(mut dirs)) = (&set, self.list_dirs.lock()) {
            *dirs = list_directories(&files, set);
        }
        let (loaded, previous_version) = {
            let current = self.rules.load();
            if hash == current.content_sha256 {
                // Back at the content being served: an earlier failure is over.
                current.set_reload_failure(None);
                return Ok(ReloadOutcome::Unchanged { sha256: hash });
            }
            if current
                .last_reload_failure()
                .is_some_and(|f| f.content_sha256 == hash)
            {
                return Ok(ReloadOutcome::StillFailing { sha256: hash });
            }
            match Engine::check_parsed(set, diagnostics) {
                (Some(engine), _) => (
                    LoadedRules::new(&current.source, engine)
                        .with_sources(&text, recorded.into_files()),
                    current.engine.info().version.clone(),
                ),
                (None, diagnostics) => {
                    let report = RuleSetError::new(diagnostics).to_string();
                    self.record_failure(&report, hash);
                    return Err(report);
                }
            }
        };
        let outcome = ReloadOutcome::Reloaded {
            version: loaded.engine.info().version.clone(),
            sha256: loaded.content_sha256.clone(),
            previous_version,
        };
        let previous = self.rules.swap(Arc::new(loaded));
        let current = self.rules.load();
        crate::metrics::record_rule_set(current.metric_labels(), Some(previous.metric_labels()));
        Ok(outcome)
    }

    /// Keeps a failure with the rules being served, for `GetRuleSet`: the report's first lines,
    /// with the rule file and the list files named without their directory (any client may call
    /// `GetRuleSet`; the server's layout is not its business).
    fn record_failure(&self, report: &str, content_sha256: String) {
        let mut report = report.to_owned();
        let full = self.path.display().to_string();
        if let Some(name) = self.path.file_name() {
            report = report.replace(&full, &name.to_string_lossy());
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            report = report.replace(
                &format!("{}{}", dir.display(), std::path::MAIN_SEPARATOR),
                "",
            );
        }
        self.rules.load().set_reload_failure(Some(ReloadFailure {
            time: SystemTime::now(),
            report: first_lines(&report),
            content_sha256,
        }));
    }

    /// Reloads and logs the outcome.
    fn reload_logged(&self, trigger: &str) {
        let result = self.reload();
        if matches!(result, Ok(ReloadOutcome::Reloaded { .. }) | Err(_)) {
            crate::metrics::record_reload(result.is_ok());
        }
        match result {
            Ok(ReloadOutcome::Reloaded {
                version,
                sha256,
                previous_version,
            }) => {
                info!(trigger, version = %version, sha256 = %sha256, "rules reloaded");
                let current = self.rules.load();
                for warning in current.engine.warnings() {
                    warn!(
                        code = warning.code,
                        rule = warning.rule.as_deref().unwrap_or(""),
                        topic = warning.topic.as_deref().unwrap_or(""),
                        // Not `message`: that key is the event's own in JSON logs.
                        description = %warning.message,
                        "rule lint"
                    );
                }
                if version == previous_version {
                    warn!(
                        trigger,
                        version = %version,
                        sha256 = %sha256,
                        "the rules changed but kept their version: responses classified before and after the reload carry the same rule_set_version and can no longer be told apart; give every change a new version"
                    );
                }
            }
            Ok(ReloadOutcome::Unchanged { sha256 }) if trigger == "SIGHUP" => {
                info!(trigger, sha256 = %sha256, "rules unchanged")
            }
            Ok(ReloadOutcome::Unchanged { sha256 }) => {
                debug!(trigger, sha256 = %sha256, "rules unchanged")
            }
            Ok(ReloadOutcome::StillFailing { sha256 }) if trigger == "SIGHUP" => {
                let serving = self.rules.load().engine.info().version.clone();
                warn!(trigger, sha256 = %sha256, serving = %serving, "rule file unchanged since its reload failed (the report was logged then); still serving the old rules")
            }
            Ok(ReloadOutcome::StillFailing { sha256 }) => {
                debug!(trigger, sha256 = %sha256, "rule file unchanged since its reload failed")
            }
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
        // Each watched directory with its identity, to notice it being removed or replaced.
        let mut watched: Vec<(PathBuf, Option<DirId>)> =
            vec![(directory.to_owned(), dir_identity(directory))];
        if let Ok(text) = crate::rules::read_rule_file(&self.path) {
            let files = ListDir::beside(&self.path);
            if let (Some(set), _) = RuleSet::load("", &text, &files) {
                if let Ok(mut dirs) = self.list_dirs.lock() {
                    *dirs = list_directories(&files, &set);
                }
            }
        }
        let watch_list_dirs =
            |watcher: &mut notify::RecommendedWatcher,
             watched: &mut Vec<(PathBuf, Option<DirId>)>| {
                let wanted = self.list_dirs.lock().map(|d| d.clone()).unwrap_or_default();
                for dir in wanted {
                    if !self.watch_directory || watched.iter().any(|(d, _)| *d == dir) {
                        continue;
                    }
                    match watcher.watch(&dir, notify::RecursiveMode::NonRecursive) {
                        Ok(()) => {
                            info!(directory = %dir.display(), "watching a list file directory")
                        }
                        Err(e) => {
                            warn!(directory = %dir.display(), "cannot watch a list file directory: {e}")
                        }
                    }
                    let id = dir_identity(&dir);
                    watched.push((dir, id));
                }
            };
        watch_list_dirs(&mut watcher, &mut watched);
        let mut check = tokio::time::interval(WATCH_CHECK);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
                _ = check.tick(), if self.watch_directory => {
                    if self.rewatch_replaced_directories(&mut watcher, &mut watched) {
                        self.clone().reload_in_background("directory recreated").await;
                    }
                }
            }
            watch_list_dirs(&mut watcher, &mut watched);
        }
    }

    /// A directory's watch is lost when the directory is removed, and a new directory at the
    /// same path is not watched: checks each watched directory's identity, logs a removal once,
    /// and watches a directory that came back (or was replaced). Returns whether one came back,
    /// so its files are read again.
    fn rewatch_replaced_directories(
        &self,
        watcher: &mut notify::RecommendedWatcher,
        watched: &mut [(PathBuf, Option<DirId>)],
    ) -> bool {
        use notify::Watcher;
        let mut back = false;
        for (dir, known) in watched.iter_mut() {
            let now = dir_identity(dir);
            if now == *known {
                continue;
            }
            // A removed directory's watch is gone with it (unwatching it again only makes the
            // watcher library log errors); a directory replaced between two checks still has one.
            if known.is_some() && now.is_some() {
                let _ = watcher.unwatch(dir);
            }
            match now {
                None => warn!(
                    directory = %dir.display(),
                    "a watched rule directory was removed; its watch is lost until it is back (checked every {} s; SIGHUP still reloads)",
                    WATCH_CHECK.as_secs()
                ),
                Some(_) => match watcher.watch(dir, notify::RecursiveMode::NonRecursive) {
                    Ok(()) => {
                        info!(directory = %dir.display(), "a watched rule directory was recreated; watching it again");
                        back = true;
                    }
                    Err(e) => {
                        warn!(directory = %dir.display(), "a watched rule directory was recreated but cannot be watched: {e}; SIGHUP still reloads");
                        continue; // try again at the next check
                    }
                },
            }
            *known = now;
        }
        back
    }

    async fn reload_in_background(self, trigger: &'static str) {
        // Compiling a large rule set takes a while: keep it off the async workers.
        let _ = tokio::task::spawn_blocking(move || self.reload_logged(trigger)).await;
    }
}

/// The first [`MAX_REPORT_LINES`] lines of `report`, at most [`MAX_REPORT_BYTES`], with a note of
/// what was left out.
fn first_lines(report: &str) -> String {
    let lines: Vec<&str> = report.lines().collect();
    let mut out = lines
        .iter()
        .take(MAX_REPORT_LINES)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    if out.len() > MAX_REPORT_BYTES {
        out = crate::error::truncate(&out, MAX_REPORT_BYTES).into_owned();
    }
    if lines.len() > MAX_REPORT_LINES {
        out.push_str(&format!(
            "\n… ({} more lines in the server log)",
            lines.len() - MAX_REPORT_LINES
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_cut_to_their_first_lines() {
        let report: String = (0..50).map(|i| format!("line {i}\n")).collect();
        let kept = first_lines(&report);
        assert_eq!(kept.lines().count(), MAX_REPORT_LINES + 1);
        assert!(
            kept.ends_with("(30 more lines in the server log)"),
            "{kept}"
        );
        let long = "x".repeat(10_000);
        assert!(first_lines(&long).len() < MAX_REPORT_BYTES + 40);
        assert_eq!(first_lines("one\ntwo"), "one\ntwo");
    }
}
