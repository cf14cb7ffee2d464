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
    /// The topic it concerns, if any.
    pub topic: Option<String>,
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
            topic: None,
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

    /// Sets the topic id.
    pub fn topic(mut self, topic: &str) -> Diagnostic {
        self.topic = Some(topic.to_owned());
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
        let rule = match (&self.rule, &self.topic) {
            (Some(r), _) => format!(" (rule {r})"),
            (None, Some(t)) => format!(" (topic {t})"),
            (None, None) => String::new(),
        };
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

/// The name in `known` closest to `name` (case-insensitive edit distance at most a third of its
/// length, and at least 1), for "did you mean" hints.
pub fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let folded = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (strsim::levenshtein(&folded, &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
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
    /// Byte offset of the start of each line, for `O(log n)` lookups.
    line_starts: Arc<[usize]>,
}

impl Source {
    /// Wraps a file's text; indexes its lines once (one pass).
    pub fn new(origin: &str, text: &str) -> Source {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            origin: origin.to_owned(),
            text: Arc::from(text),
            line_starts,
        }
    }

    /// The location of the byte range `range` of the file; `None` if it does not start on a
    /// character boundary. Cost: a binary search over the lines plus the length of one line.
    pub fn locate(&self, range: Range<usize>) -> Option<Location> {
        let text = &*self.text;
        let start = range.start.min(text.len());
        if !text.is_char_boundary(start) {
            return None;
        }
        let line_index = self.line_starts.partition_point(|&s| s <= start) - 1;
        let line_start = self.line_starts[line_index];
        let line_end = self
            .line_starts
            .get(line_index + 1)
            .map_or(text.len(), |&next| next - 1);
        let column = text[line_start..start].chars().count() + 1;
        let end = range.end.clamp(start, line_end);
        let width = text.get(start..end).map_or(1, |s| s.chars().count()).max(1);
        Some(Location {
            file: self.origin.clone(),
            line: line_index + 1,
            column,
            line_text: text[line_start..line_end].trim_end_matches('\r').to_owned(),
            width,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_lines_and_columns() {
        let source = Source::new("f.toml", "a = 1\r\nb = 'é x'\n\nlast");
        let at = |offset: usize| {
            let l = source.locate(offset..offset + 1).unwrap();
            (l.line, l.column, l.line_text)
        };
        assert_eq!(at(0), (1, 1, "a = 1".to_owned()));
        assert_eq!(at(7), (2, 1, "b = 'é x'".to_owned()));
        assert_eq!(at(14), (2, 7, "b = 'é x'".to_owned()));
        assert_eq!(at(18), (3, 1, String::new()));
        assert_eq!(at(19), (4, 1, "last".to_owned()));
        assert!(source.locate(13..14).is_none()); // inside `é`
    }
}
