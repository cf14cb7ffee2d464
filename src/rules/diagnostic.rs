//! Problems found in a rule file, with positions a person can act on.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The rule set cannot be loaded.
    Error,
    /// The rule set loads, but something in it is probably a mistake (a lint).
    Warning,
}

/// A position in a rule file: 1-based line and column (columns count Unicode code points).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file name as given when loading (or `<embedded>` for the built-in rules).
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in code points.
    pub column: usize,
    /// The text of that line, for the caret display.
    pub line_text: String,
    /// How many code points the caret underlines (at least 1).
    pub width: usize,
}

/// One problem in a rule file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable short name of the kind of problem (`duplicate-id`, `query-syntax`, ...), for
    /// scripts and for looking it up in the README.
    pub code: &'static str,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// The rule it concerns, if any.
    pub rule: Option<String>,
    /// Where in the file, when known.
    pub location: Option<Location>,
    /// What to write instead.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A new error without a location.
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            rule: None,
            location: None,
            help: None,
        }
    }

    /// A new warning (lint) without a location.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Sets the location.
    pub fn at(mut self, location: Option<Location>) -> Diagnostic {
        self.location = location;
        self
    }

    /// Sets the rule id.
    pub fn rule(mut self, rule: &str) -> Diagnostic {
        self.rule = Some(rule.to_owned());
        self
    }

    /// Sets the help text.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    /// Renders like a compiler message:
    ///
    /// ```text
    /// error[query-syntax]: expected AND, OR or NOT between two terms
    ///   --> rules.toml:12:19 (rule diplomacy.talks)
    ///    |
    /// 12 | query = 'peace talks'
    ///    |                ^^^^^
    ///    = help: write AND or OR before it, or quote the words as a phrase: "peace talks"
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{level}[{}]: {}", self.code, self.message)?;
        let rule = self
            .rule
            .as_ref()
            .map(|r| format!(" (rule {r})"))
            .unwrap_or_default();
        match &self.location {
            Some(loc) => {
                let gutter = loc.line.to_string().len();
                let pad = " ".repeat(gutter);
                writeln!(f, "{pad}--> {}:{}:{}{rule}", loc.file, loc.line, loc.column)?;
                writeln!(f, "{pad} |")?;
                writeln!(f, "{} | {}", loc.line, loc.line_text)?;
                let lead: String = loc
                    .line_text
                    .chars()
                    .take(loc.column - 1)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                writeln!(f, "{pad} | {lead}{}", "^".repeat(loc.width.max(1)))?;
                if let Some(help) = &self.help {
                    writeln!(f, "{pad} = help: {help}")?;
                }
            }
            None => {
                if !rule.is_empty() {
                    writeln!(f, "  -->{rule}")?;
                }
                if let Some(help) = &self.help {
                    writeln!(f, "   = help: {help}")?;
                }
            }
        }
        Ok(())
    }
}

/// A rule set was rejected; holds every problem found, errors first.
#[derive(Clone, Debug)]
pub struct RuleSetError {
    diagnostics: Vec<Diagnostic>,
}

impl RuleSetError {
    /// Wraps the diagnostics, sorted errors first, then by position in the file.
    pub fn new(mut diagnostics: Vec<Diagnostic>) -> RuleSetError {
        diagnostics.sort_by_key(|d| {
            let position = d.location.as_ref().map(|l| (l.line, l.column));
            (d.severity, position)
        });
        RuleSetError { diagnostics }
    }

    /// Every problem found, errors first.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The number of errors (not warnings).
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
}

impl fmt::Display for RuleSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            writeln!(f, "{d}")?;
        }
        write!(f, "rule set rejected: {} error(s)", self.error_count())
    }
}

impl std::error::Error for RuleSetError {}

/// The text of a rule file and its name, for turning byte offsets into [`Location`]s.
#[derive(Clone, Debug)]
pub struct Source {
    /// The file name as given (or `<embedded>`).
    pub origin: String,
    /// The whole file.
    pub text: Arc<str>,
}

impl Source {
    /// The location of the byte range `range` of the file; `None` if it is out of bounds.
    pub fn locate(&self, range: Range<usize>) -> Option<Location> {
        let text = &*self.text;
        let start = range.start.min(text.len());
        if !text.is_char_boundary(start) {
            return None;
        }
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        let end = range.end.clamp(start, line_end);
        let width = text.get(start..end).map_or(1, |s| s.chars().count()).max(1);
        Some(Location {
            file: self.origin.clone(),
            line,
            column,
            line_text: text[line_start..line_end].trim_end_matches('\r').to_owned(),
            width,
        })
    }
}
