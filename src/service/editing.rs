//! Rules sent by a client (`CheckRules`, `ClassifyWithRules`): checked and compiled under their own
//! limits, used for one call, never served.
//!
//! Compiling is the one thing a client can make expensive, so it is bounded three ways: the size
//! of what is sent ([`RuleEditing::max_rules_bytes`], INVALID_ARGUMENT beyond it), the number of
//! compilations at once ([`RuleEditing::max_concurrent_compiles`], RESOURCE_EXHAUSTED beyond it,
//! never a queue) and the time ([`RuleEditing::compile_timeout`], DEADLINE_EXCEEDED). A
//! compilation runs on the blocking pool; one that times out finishes there and keeps its place
//! among the concurrent ones until then, so timed-out work cannot pile up.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::engine::Engine;
use crate::error::{FieldViolation, ServiceError};
use crate::pb;
use crate::rules::{Diagnostic, ListFiles, RuleSet, Severity};

/// The name rules sent by a client go by in their diagnostics (`RuleDiagnostic.file`).
pub const SENT_RULES_ORIGIN: &str = "rules";

/// Settings of `CheckRules` and `ClassifyWithRules`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleEditing {
    /// Whether the methods are served; UNIMPLEMENTED otherwise. `rubric serve` turns them on by
    /// default only when it listens on loopback (`--rule-editing auto`).
    pub enabled: bool,
    /// Largest rule file, and largest sum of the list files sent with it, in UTF-8 bytes.
    pub max_rules_bytes: usize,
    /// Longest time one compilation may take (DEADLINE_EXCEEDED beyond it).
    pub compile_timeout: Duration,
    /// Compilations running at once, over all calls; one more gets RESOURCE_EXHAUSTED.
    pub max_concurrent_compiles: usize,
}

impl Default for RuleEditing {
    /// Off; when on: 1 MiB, 5 s, 2 at once.
    fn default() -> Self {
        RuleEditing {
            enabled: false,
            max_rules_bytes: 1024 * 1024,
            compile_timeout: Duration::from_secs(5),
            max_concurrent_compiles: 2,
        }
    }
}

/// Rules a client sent, compiled (or not) with every diagnostic.
pub(crate) struct Checked {
    /// The engine, when the rules have no error.
    pub engine: Option<Engine>,
    /// Errors first, then warnings, each in file order (line, column).
    pub diagnostics: Vec<Diagnostic>,
    /// Rules and topics of the file that parsed (a rule whose table is invalid is not counted),
    /// when the file parsed far enough to count them.
    pub rule_count: usize,
    /// See `rule_count`.
    pub topic_count: usize,
}

/// Compiles rules sent by clients within [`RuleEditing`]'s limits. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct RuleCompiler {
    settings: RuleEditing,
    permits: Arc<Semaphore>,
}

impl RuleCompiler {
    pub fn new(settings: RuleEditing) -> RuleCompiler {
        RuleCompiler {
            settings,
            permits: Arc::new(Semaphore::new(settings.max_concurrent_compiles.max(1))),
        }
    }

    /// Checks and compiles `rules` with `list_files` (the request's, then the served rule set's).
    ///
    /// # Errors
    /// [`ServiceError::Disabled`] when rule editing is off; `InvalidArgument` naming `rules` or
    /// `list_files` when they are empty or too large; [`ServiceError::Busy`] when all compilation
    /// places are taken; [`ServiceError::CompileTimeout`] past the time limit.
    pub async fn check(
        &self,
        rules: String,
        list_files: HashMap<String, String>,
        served: Arc<BTreeMap<String, Arc<str>>>,
    ) -> Result<Checked, ServiceError> {
        if !self.settings.enabled {
            return Err(ServiceError::Disabled(
                "rule editing (CheckRules, ClassifyWithRules) is off on this server: start it with `--rule-editing on` (it is on by default only when the server listens on loopback)".to_owned(),
            ));
        }
        let max = self.settings.max_rules_bytes;
        let mut violations = Vec::new();
        if rules.trim().is_empty() {
            violations.push(FieldViolation::new(
                "rules",
                "required: send the text of a rule file (TOML)",
            ));
        } else if rules.len() > max {
            violations.push(FieldViolation::new(
                "rules",
                format!(
                    "{} bytes; the server accepts rule files of up to {max} bytes",
                    rules.len()
                ),
            ));
        }
        let list_bytes: usize = list_files.iter().map(|(k, v)| k.len() + v.len()).sum();
        if list_bytes > max {
            violations.push(FieldViolation::new(
                "list_files",
                format!(
                    "{list_bytes} bytes in all; the server accepts up to {max} bytes of list files"
                ),
            ));
        }
        if !violations.is_empty() {
            return Err(ServiceError::InvalidArgument(violations));
        }
        let permit = self.permits.clone().try_acquire_owned().map_err(|_| {
            ServiceError::Busy(format!(
                "the server is compiling as many rule files as it allows at once ({}); retry shortly",
                self.settings.max_concurrent_compiles.max(1)
            ))
        })?;
        let work = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let files = SentLists {
                sent: list_files,
                served,
            };
            let (set, diagnostics) = RuleSet::load(SENT_RULES_ORIGIN, &rules, &files);
            let (rule_count, topic_count) = set
                .as_ref()
                .map_or((0, 0), |s| (s.rules.len(), s.topics.len()));
            let (engine, mut diagnostics) = Engine::check_parsed(set, diagnostics);
            // Errors first, each kind in file order (an editor lists them top to bottom; the
            // review case: line 19 came before line 7), those without a position first.
            diagnostics.sort_by(|a, b| {
                let place = |d: &Diagnostic| d.location.as_ref().map(|l| (l.line, l.column));
                (a.severity, place(a)).cmp(&(b.severity, place(b)))
            });
            Checked {
                engine,
                diagnostics,
                rule_count,
                topic_count,
            }
        });
        match tokio::time::timeout(self.settings.compile_timeout, work).await {
            Ok(Ok(checked)) => Ok(checked),
            Ok(Err(e)) => Err(ServiceError::Internal(format!(
                "rule compilation task failed: {e}"
            ))),
            Err(_) => Err(ServiceError::CompileTimeout(self.settings.compile_timeout)),
        }
    }
}

/// The list files of a request, then those of the served rule set; nothing from disk.
struct SentLists {
    sent: HashMap<String, String>,
    served: Arc<BTreeMap<String, Arc<str>>>,
}

impl ListFiles for SentLists {
    fn read(&self, path: &str) -> Result<String, String> {
        if let Some(text) = self.sent.get(path) {
            return Ok(text.clone());
        }
        self.served.get(path).map(|t| t.to_string()).ok_or_else(|| {
            format!(
                "{path} was not sent with the rules (`list_files`) and is not a list file of the served rule set"
            )
        })
    }
}

/// A diagnostic as the contract sends it.
pub(crate) fn diagnostic(d: &Diagnostic) -> pb::RuleDiagnostic {
    let location = d.location.as_ref();
    let number = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    pb::RuleDiagnostic {
        severity: match d.severity {
            Severity::Error => pb::DiagnosticSeverity::Error,
            Severity::Warning => pb::DiagnosticSeverity::Warning,
        } as i32,
        code: d.code.to_owned(),
        message: d.message.clone(),
        rule_id: d.rule.clone().unwrap_or_default(),
        topic: d.topic.clone().unwrap_or_default(),
        file: location.map(|l| l.file.clone()).unwrap_or_default(),
        line: location.map_or(0, |l| number(l.line)),
        column: location.map_or(0, |l| number(l.column)),
        width: location.map_or(0, |l| number(l.width)),
        help: d.help.clone().unwrap_or_default(),
        rendered: d.to_string(),
    }
}

/// The INVALID_ARGUMENT of rules with errors: one violation of `rules` per error, with its line
/// and column, code, message and help.
pub(crate) fn rule_errors(diagnostics: &[Diagnostic]) -> ServiceError {
    let violations = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            let at = d.location.as_ref().map_or_else(String::new, |l| {
                format!("{}:{}:{}: ", l.file, l.line, l.column)
            });
            let help = d
                .help
                .as_ref()
                .map_or_else(String::new, |h| format!(" (help: {h})"));
            FieldViolation::new(
                "rules",
                format!("{at}error[{}]: {}{help}", d.code, d.message),
            )
        })
        .collect();
    ServiceError::InvalidArgument(violations)
}
