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

/// Widest source line a diagnostic shows, in columns: a longer line is cut to a window of this
/// many columns around the caret, with `…` where it was cut.
pub const MAX_SHOWN_COLUMNS: usize = 120;
/// Longest message, help or id a diagnostic shows, in characters: a longer one is cut in the
/// middle, with `…` where it was cut.
pub const MAX_SHOWN_MESSAGE_CHARS: usize = 400;

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
    ///
    /// What comes from the file is shown safely: control characters (a bare `\r`, an escape
    /// `\u{1b}`, bidirectional overrides) are written as escapes (`\r`, `\u{1b}`) in the source
    /// line, the message, the help, the ids and the file name, so they cannot move the cursor or
    /// rewrite the terminal; a source line longer than [`MAX_SHOWN_COLUMNS`] is cut to a window
    /// around the caret (the caret stays under the character it points at), and a message longer
    /// than [`MAX_SHOWN_MESSAGE_CHARS`] is cut in the middle. An empty id is shown as `""`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{level}[{}]: {}", self.code, shown(&self.message))?;
        let id = |id: &str| {
            if id.is_empty() {
                "\"\"".to_owned()
            } else {
                shown(id)
            }
        };
        let rule = match (&self.rule, &self.topic) {
            (Some(r), _) => format!(" (rule {})", id(r)),
            (None, Some(t)) => format!(" (topic {})", id(t)),
            (None, None) => String::new(),
        };
        match &self.location {
            Some(loc) => {
                let gutter = loc.line.to_string().len();
                let pad = " ".repeat(gutter);
                writeln!(
                    f,
                    "{pad}--> {}:{}:{}{rule}",
                    shown(&loc.file),
                    loc.line,
                    loc.column
                )?;
                writeln!(f, "{pad} |")?;
                let excerpt = Excerpt::new(&loc.line_text, loc.column, loc.width);
                writeln!(f, "{} | {}", loc.line, excerpt.line)?;
                writeln!(f, "{pad} | {}{}", excerpt.lead, "^".repeat(excerpt.carets))?;
                if let Some(help) = &self.help {
                    writeln!(f, "{pad} = help: {}", shown(help))?;
                }
            }
            None => {
                if !rule.is_empty() {
                    writeln!(f, "  -->{rule}")?;
                }
                if let Some(help) = &self.help {
                    writeln!(f, "   = help: {}", shown(help))?;
                }
            }
        }
        Ok(())
    }
}

/// Whether a character is shown as an escape: control characters other than tab (a tab is kept,
/// so the caret line can repeat it and stay aligned); the line and paragraph separators, which
/// some terminals take for line breaks; and the bidirectional marks, embeddings, overrides and
/// isolates, which reorder what a terminal shows.
fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// How a character is shown: itself, or its escape (`\r`, `\n`, `\u{1b}`).
fn push_shown(c: char, out: &mut String) {
    use fmt::Write as _;
    match c {
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// The number of columns `c` takes when shown (an escape takes its length; every other character,
/// tab included, one).
fn shown_width(c: char) -> usize {
    if needs_escape(c) {
        let mut s = String::new();
        push_shown(c, &mut s);
        s.chars().count()
    } else {
        1
    }
}

/// Text from a rule file as a diagnostic shows it: control characters escaped, and cut in the
/// middle when longer than [`MAX_SHOWN_MESSAGE_CHARS`].
fn shown(text: &str) -> String {
    let count = text.chars().count();
    let mut out = String::new();
    if count <= MAX_SHOWN_MESSAGE_CHARS {
        text.chars().for_each(|c| push_shown(c, &mut out));
        return out;
    }
    let head = MAX_SHOWN_MESSAGE_CHARS * 2 / 3;
    let tail = MAX_SHOWN_MESSAGE_CHARS - head - 1;
    text.chars()
        .take(head)
        .for_each(|c| push_shown(c, &mut out));
    out.push('…');
    text.chars()
        .skip(count - tail)
        .for_each(|c| push_shown(c, &mut out));
    out
}

/// A source line as shown, with the caret line under it.
struct Excerpt {
    /// The line, escaped, cut to at most [`MAX_SHOWN_COLUMNS`] columns.
    line: String,
    /// What goes before the carets: spaces, and tabs where the shown line has tabs.
    lead: String,
    /// How many `^`.
    carets: usize,
}

impl Excerpt {
    /// The excerpt of `line` with the caret at 1-based code point `column`, `width` code points
    /// wide.
    fn new(line: &str, column: usize, width: usize) -> Excerpt {
        // Columns (shown) where the caret starts and ends, and where the line ends.
        let first = column.saturating_sub(1);
        let last = first + width.max(1);
        let (mut caret_start, mut caret_end, mut total) = (None, None, 0);
        for (i, c) in line.chars().enumerate() {
            if i == first {
                caret_start = Some(total);
            }
            if i == last {
                caret_end = Some(total);
            }
            total += shown_width(c);
        }
        // A caret at or past the end of the line points just after it.
        let caret_start = caret_start.unwrap_or(total);
        let caret_end = caret_end.unwrap_or(total).max(caret_start + 1);
        // The window of columns shown: everything, or MAX_SHOWN_COLUMNS less the two `…`, from a
        // third of the width before the caret (less when the caret is near the end).
        let (from, to) = if total <= MAX_SHOWN_COLUMNS {
            (0, total)
        } else {
            let room = MAX_SHOWN_COLUMNS - 2;
            let from = caret_start
                .saturating_sub(MAX_SHOWN_COLUMNS / 3)
                .min(total - room);
            (from, from + room)
        };
        let mut excerpt = Excerpt {
            line: String::new(),
            lead: String::new(),
            carets: 0,
        };
        let (mut column, mut cut_before, mut cut_after) = (0, false, false);
        let (mut shown_from, mut shown_to) = (None, 0);
        for c in line.chars() {
            let w = shown_width(c);
            let at = column;
            column += w;
            if at < from {
                cut_before = true;
                continue;
            }
            if at + w > to {
                cut_after = true;
                break;
            }
            if shown_from.is_none() {
                shown_from = Some(at);
                if cut_before {
                    excerpt.line.push('…');
                    excerpt.lead.push(' ');
                }
            }
            shown_to = at + w;
            push_shown(c, &mut excerpt.line);
            if at < caret_start {
                match c {
                    '\t' => excerpt.lead.push('\t'),
                    _ => excerpt.lead.extend(std::iter::repeat_n(' ', w)),
                }
            }
        }
        if cut_after {
            excerpt.line.push('…');
        }
        let shown_from = shown_from.unwrap_or(from);
        let start = caret_start.max(shown_from);
        // A caret just past the end of the shown part (at the end of the line) still shows.
        let end = caret_end.min(shown_to.max(start + 1));
        excerpt.carets = end.saturating_sub(start).max(1);
        excerpt
    }
}

/// The name in `known` closest to `name` (case-insensitive edit distance at most a third of its
/// length, and at least 1), for "did you mean" hints.
///
/// Cost: one edit distance per known name of about the same length (the distance is at least the
/// difference of the lengths, so the others are skipped without computing it).
pub fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let count = name.chars().count();
    let limit = (count / 3).max(1);
    let near_in_length = |k: &&str| k.chars().count().abs_diff(count) <= limit;
    if !known.iter().any(near_in_length) {
        return None;
    }
    let folded = name.to_lowercase();
    known
        .iter()
        .filter(|k| near_in_length(k))
        .map(|k| (strsim::levenshtein(&folded, &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// `name` in backticks for a message, or `""` when it is empty (so an empty id does not print as
/// nothing).
pub fn quoted(name: &str) -> String {
    if name.is_empty() {
        "\"\"".to_owned()
    } else {
        format!("`{name}`")
    }
}

/// Total work, in edit-distance cells (characters of one name times characters of another, plus
/// a fixed cost per comparison), that one [`Suggester`] spends on "did you mean" hints.
const SUGGESTION_BUDGET: usize = 2_000_000;
/// The fixed cost of one comparison, in cells.
const COMPARISON_COST: usize = 32;

/// "Did you mean" hints for many misspelt names against one set of known names (topic ids, list
/// names), in bounded time whatever the sizes: a name that differs only in case is found through
/// a map; the edit-distance search of [`closest`] is done once per distinct name, only against
/// names of about the same length, and only while the total work stays within a fixed budget
/// (after that, no more hints).
pub struct Suggester<'a> {
    names: Vec<&'a str>,
    /// Each name in lowercase, with its length in characters.
    lowered: Vec<(String, usize)>,
    by_lowercase: rustc_hash::FxHashMap<String, &'a str>,
    budget: usize,
    memo: rustc_hash::FxHashMap<String, Option<&'a str>>,
}

impl<'a> Suggester<'a> {
    /// A suggester over `names` (the first of names equal but for case is suggested).
    pub fn new(names: Vec<&'a str>) -> Suggester<'a> {
        let lowered: Vec<(String, usize)> = names
            .iter()
            .map(|n| {
                let lower = n.to_lowercase();
                let count = lower.chars().count();
                (lower, count)
            })
            .collect();
        let mut by_lowercase = rustc_hash::FxHashMap::default();
        for (name, (lower, _)) in names.iter().zip(&lowered).rev() {
            by_lowercase.insert(lower.clone(), *name);
        }
        Suggester {
            names,
            lowered,
            by_lowercase,
            budget: SUGGESTION_BUDGET,
            memo: rustc_hash::FxHashMap::default(),
        }
    }

    /// The known names.
    pub fn names(&self) -> &[&'a str] {
        &self.names
    }

    /// The known name closest to `name` (as [`closest`] finds it), if one is close and the
    /// budget allows looking.
    pub fn suggest(&mut self, name: &str) -> Option<&'a str> {
        if let Some(found) = self.memo.get(name) {
            return *found;
        }
        let folded = name.to_lowercase();
        let found = match self.by_lowercase.get(&folded) {
            Some(same) => Some(*same),
            None => self.search(&folded),
        };
        if self.memo.len() < 100_000 {
            self.memo.insert(name.to_owned(), found);
        }
        found
    }

    fn search(&mut self, folded: &str) -> Option<&'a str> {
        let count = folded.chars().count();
        let limit = (count / 3).max(1);
        let mut best: Option<(usize, usize)> = None;
        for (i, (lower, length)) in self.lowered.iter().enumerate() {
            if length.abs_diff(count) > limit {
                continue; // the distance is at least the difference of the lengths
            }
            let cost = COMPARISON_COST.saturating_add(count.saturating_mul(*length));
            if cost > self.budget {
                self.budget = 0;
                return None;
            }
            self.budget -= cost;
            let distance = strsim::levenshtein(folded, lower);
            if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
                best = Some((distance, i));
            }
        }
        best.map(|(_, i)| self.names[i])
    }

    /// Up to ten of the known names, `a, b, ..., and 5 more`.
    pub fn some_names(&self) -> String {
        let mut shown: Vec<String> = self.names.iter().take(10).map(|n| n.to_string()).collect();
        if self.names.len() > 10 {
            shown.push(format!("and {} more", self.names.len() - 10));
        }
        shown.join(", ")
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

    /// The caret line of a rendered diagnostic, and the source line above it.
    fn shown_lines(d: &Diagnostic) -> (String, String) {
        let text = d.to_string();
        let lines: Vec<&str> = text.lines().collect();
        let at = lines.iter().position(|l| l.contains('^')).expect("caret");
        let strip = |l: &str| l.split_once(" | ").map_or("", |(_, r)| r).to_owned();
        (strip(lines[at - 1]), strip(lines[at]))
    }

    /// The column (in characters) of each `^` of a caret line, and what the source line shows
    /// there.
    fn under_carets(line: &str, carets: &str) -> String {
        let line: Vec<char> = line.chars().collect();
        carets
            .chars()
            .enumerate()
            .filter(|&(_, c)| c == '^')
            .map(|(i, _)| line[i])
            .collect()
    }

    /// Regression (attacker's review): a 10 MB line was echoed whole, and a 10 MB caret line
    /// under it. Long lines are cut to a window around the caret, which stays under the
    /// character it points at, with `…` on each side that was cut.
    #[test]
    fn long_lines_are_cut_to_a_window_around_the_caret() {
        let source = |line: &str| Source::new("f.toml", &format!("{line}\nnext"));
        // (line, byte range under the caret, text the carets must be under, cut left, cut right)
        let long = format!("{}TARGET{}", "a".repeat(5000), "b".repeat(5000));
        let near_end = format!("{}END", "x".repeat(1000));
        let near_start = format!("GO{}", "y".repeat(1000));
        let wide = format!("{}WIDE{}", "c".repeat(300), "d".repeat(300));
        let table: [(&str, std::ops::Range<usize>, &str, bool, bool); 5] = [
            (&long, 5000..5006, "TARGET", true, true),
            (&near_end, 1000..1003, "END", true, false),
            (&near_start, 0..2, "GO", false, true),
            // The caret underlines at most what is shown.
            (&wide, 300..604, "WIDEdddd", true, true),
            ("short line", 6..10, "line", false, false),
        ];
        for (line, range, under, left, right) in table {
            let d = Diagnostic::error("x", "m").at(source(line).locate(range));
            let (shown, carets) = shown_lines(&d);
            assert!(shown.chars().count() <= MAX_SHOWN_COLUMNS, "{shown}");
            assert!(
                under_carets(&shown, &carets).starts_with(under),
                "{under}: {shown}\n{carets}"
            );
            assert_eq!(shown.starts_with('…'), left, "{shown}");
            assert_eq!(shown.ends_with('…'), right, "{shown}");
            assert!(carets.len() <= MAX_SHOWN_COLUMNS + 2, "{carets}");
        }
        // A whole 10 MB line with a long message prints a few hundred bytes, not megabytes.
        let huge = "k".repeat(10 << 20);
        let d = Diagnostic::error("toml", format!("unknown field `{huge}`"))
            .at(source(&format!("{huge} = 1")).locate(0..huge.len()))
            .help(huge.clone());
        assert!(d.to_string().len() < 2 * 1024, "{}", d.to_string().len());
    }

    /// Regression (attacker's review): a bare CR or an escape sequence in a rule file reached the
    /// terminal raw, where it can rewrite what was printed. Control characters are escaped in the
    /// line, the message, the help and the ids; the caret still points at the right place.
    #[test]
    fn control_characters_are_escaped_in_lines_and_messages() {
        let line = "query = 'a\rb \u{1b}[2J' AND \u{202e}x BAD";
        let at = line.find("BAD").unwrap();
        let d = Diagnostic::error("query-syntax", "bad `\u{1b}[31m` \r here")
            .at(Source::new("f\r.toml", line).locate(at..at + 3))
            .rule("r\u{7}")
            .help("write \r\n");
        let text = d.to_string();
        assert!(
            !text.chars().any(|c| c != '\n' && c.is_control()),
            "{text:?}"
        );
        assert!(!text.contains('\u{202e}'), "{text:?}");
        assert!(text.contains("bad `\\u{1b}[31m` \\r here"), "{text}");
        assert!(text.contains("(rule r\\u{7})"), "{text}");
        assert!(text.contains("help: write \\r\\n"), "{text}");
        assert!(text.contains("f\\r.toml"), "{text}");
        let (shown, carets) = shown_lines(&d);
        assert_eq!(shown, "query = 'a\\rb \\u{1b}[2J' AND \\u{202e}x BAD");
        assert_eq!(under_carets(&shown, &carets), "BAD", "{shown}\n{carets}");
        // A caret on a control character underlines its escape.
        let at = line.find('\r').unwrap();
        let d = Diagnostic::error("x", "m").at(Source::new("f", line).locate(at..at + 1));
        let (shown, carets) = shown_lines(&d);
        assert_eq!(under_carets(&shown, &carets), "\\r");
        // An empty id is shown as "", not as nothing.
        let d = Diagnostic::error("unknown-topic", "m").rule("");
        assert!(d.to_string().contains("(rule \"\")"), "{d}");
    }
}
