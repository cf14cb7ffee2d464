//! Named lists (gazetteers): sets of terms and phrases a query names with `@name`.
//!
//! A rule file defines lists under `[lists]`, inline or in their own files:
//!
//! ```toml
//! [lists]
//! meet_verbs = ["meet", "meets", "met", "talks", "negotiat*"]
//! countries = { file = "lists/countries.txt", description = "PETRARCH2 country names" }
//! g7 = { entries = ["Canada", "France", "{US}"], description = "optional" }
//! ```
//!
//! and uses them wherever a literal can stand: `@countries NEAR/5 @meet_verbs`,
//! `title:@countries`, `(@g7 OR {EU}) AND NOT @sport`. A reference is true where any entry of the
//! list occurs, exactly as an OR of the entries would be, and the evidence names the entry that
//! matched.
//!
//! # Entries
//! One entry is written like a query literal, without the quotes a phrase needs in a query:
//! - words: `United Nations` (several words are a phrase: consecutive words; quotes are allowed
//!   and change nothing, `"United Nations"`);
//! - a prefix wildcard at the end of a word: `negotiat*` (at least
//!   [`MIN_PREFIX_CHARS`](crate::engine::MIN_PREFIX_CHARS) characters before the `*`);
//! - a case-sensitive term or phrase in braces: `{US}`, `{Security Council}`.
//!
//! Entries are normalized like every query literal (NFKC, case folding, accents, apostrophes).
//!
//! # List files
//! UTF-8 text, one entry a line; blank lines and lines whose first non-blank character is `#` are
//! skipped; there are no comments after an entry. A `file` path is relative to the directory of
//! the rule file ([`ListFiles`] reads it). A list file must be a regular file of at most
//! [`MAX_LIST_FILE_BYTES`] bytes; [`ListDir`] reads it as rule files are read, with
//! [`read_text_file`](super::read_text_file) (a FIFO or a device is refused without being opened,
//! invalid UTF-8 is reported at its line and column).
//!
//! # Limits
//! Names are 1 to [`MAX_LIST_NAME_BYTES`](super::parse::MAX_LIST_NAME_BYTES) ASCII letters,
//! digits, `_`, `.` or `-`; a rule set holds at most [`MAX_LIST_ENTRIES`] entries in all its lists.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ast::LiteralKind;

/// Largest list file, in bytes.
pub const MAX_LIST_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Most entries in all the lists of one rule set.
pub const MAX_LIST_ENTRIES: usize = 1_000_000;

/// A named list of a rule set.
#[derive(Clone, Debug)]
pub struct NamedList {
    /// The name queries refer to (`countries` for `@countries`).
    pub name: String,
    /// What the list holds and where it comes from, or empty.
    pub description: String,
    /// The entries in the order written (blank and comment lines skipped).
    pub entries: Vec<ListEntry>,
    /// The list file's path as written in the rule file, for a list kept in its own file.
    pub file: Option<String>,
    /// Byte range of the list's name in the rule file.
    pub name_span: Range<usize>,
}

/// One entry of a [`NamedList`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListEntry {
    /// How it is matched: [`LiteralKind::Exact`] for `{...}`, else [`LiteralKind::Phrase`]
    /// (a one-word phrase is a term).
    pub kind: LiteralKind,
    /// The words, without braces or quotes, `*` wildcards included.
    pub text: String,
    /// The entry as written (trimmed), as evidence reports it.
    pub written: String,
    /// Where it was written: byte range in its source, `end` exclusive.
    pub span: Range<usize>,
    /// Its source: `None` for the rule file, else the index of the list file in
    /// [`RuleSet::list_files`](super::RuleSet::list_files).
    pub source: Option<usize>,
}

/// Reads an entry as written (one line of a list file, or one string of an inline list).
///
/// Returns the kind and the words, and the offset of the words in `written`.
///
/// # Errors
/// A message and a hint when the entry is empty, unbalanced (`{US`), a wildcard stands in an
/// exact term, or the entry names another list (`@x`: lists do not nest).
pub fn parse_entry(written: &str) -> Result<(LiteralKind, &str, usize), (String, String)> {
    let lead = written.len() - written.trim_start().len();
    let entry = written.trim();
    let is_quote = |c: char| matches!(c, '"' | '\u{201C}' | '\u{201D}');
    let strip_quotes = |s: &str| -> Option<(usize, usize)> {
        let first = s.chars().next()?;
        let last = s.chars().last()?;
        (is_quote(first) && is_quote(last) && s.chars().nth(1).is_some())
            .then(|| (first.len_utf8(), s.len() - last.len_utf8()))
    };
    if entry.is_empty() {
        return Err((
            "empty list entry".to_owned(),
            "write a term or phrase, or remove the line".to_owned(),
        ));
    }
    if entry.starts_with('@') {
        return Err((
            format!("`{entry}`: a list entry cannot name another list"),
            "copy the other list's entries, or use both lists in the query: (@a OR @b)".to_owned(),
        ));
    }
    let (kind, mut start, mut end) = if let Some(inner) = entry.strip_prefix('{') {
        let Some(inner) = inner.strip_suffix('}') else {
            return Err((
                format!("`{entry}`: unterminated exact term"),
                "close it with `}`, as in {US}".to_owned(),
            ));
        };
        if inner.contains('*') {
            return Err((
                format!("`{entry}`: wildcards are not allowed in exact terms"),
                "exact terms match whole words: write {NATO} or nato*".to_owned(),
            ));
        }
        (LiteralKind::Exact, 1, 1 + inner.len())
    } else {
        (LiteralKind::Phrase, 0, entry.len())
    };
    let inner = &entry[start..end];
    let trimmed_lead = inner.len() - inner.trim_start().len();
    let trimmed = inner.trim();
    start += trimmed_lead;
    end = start + trimmed.len();
    if let Some((open, close)) = strip_quotes(trimmed) {
        end = start + close;
        start += open;
    }
    let words = &entry[start..end];
    if words.trim().is_empty() {
        return Err((
            format!("`{entry}` has no words"),
            "write a term or phrase, or remove the line".to_owned(),
        ));
    }
    if entry.ends_with('}') && kind != LiteralKind::Exact || entry.starts_with('}') {
        return Err((
            format!("`{entry}`: unmatched `}}`"),
            "exact entries are written {US} or {Security Council}".to_owned(),
        ));
    }
    Ok((kind, words, lead + start))
}

/// Reads the list files a rule file names.
pub trait ListFiles {
    /// The text of the list file at `path` (as written in the rule file).
    ///
    /// # Errors
    /// A one-line reason (not found, not a regular file, too large, not UTF-8), shown to the user
    /// with the position of the `file` key.
    fn read(&self, path: &str) -> Result<String, String>;
}

/// List files on disk, relative to a directory (the rule file's).
#[derive(Clone, Debug)]
pub struct ListDir {
    dir: PathBuf,
}

impl ListDir {
    /// Reads list files relative to the directory that holds `rule_file`.
    pub fn beside(rule_file: &Path) -> ListDir {
        let dir = rule_file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        ListDir {
            dir: dir.to_owned(),
        }
    }

    /// The path a list file named `path` in the rule file is read from.
    pub fn resolve(&self, path: &str) -> PathBuf {
        self.dir.join(path)
    }
}

impl ListFiles for ListDir {
    fn read(&self, path: &str) -> Result<String, String> {
        let full = self.resolve(path);
        super::read::read_text_file(&full, MAX_LIST_FILE_BYTES)
            .map_err(|reason| format!("{}: {reason}", full.display()))
    }
}

/// List files compiled into the binary: `(path as written in the rule file, text)`.
#[derive(Clone, Copy, Debug)]
pub struct EmbeddedLists(pub &'static [(&'static str, &'static str)]);

impl ListFiles for EmbeddedLists {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, text)| (*text).to_owned())
            .ok_or_else(|| format!("{path} is not among the embedded list files"))
    }
}

/// List files read through another [`ListFiles`], remembering each file read successfully
/// (path as written in the rule file, text): what a served rule set keeps so that rules sent by a
/// client can name the same list files without the server's disk being read again.
pub struct RecordingLists<'a> {
    inner: &'a dyn ListFiles,
    read: std::cell::RefCell<std::collections::BTreeMap<String, Arc<str>>>,
}

impl<'a> RecordingLists<'a> {
    /// Reads through `inner`.
    pub fn new(inner: &'a dyn ListFiles) -> RecordingLists<'a> {
        RecordingLists {
            inner,
            read: std::cell::RefCell::default(),
        }
    }

    /// The files read so far, by path as written in the rule file.
    pub fn into_files(self) -> std::collections::BTreeMap<String, Arc<str>> {
        self.read.into_inner()
    }
}

impl ListFiles for RecordingLists<'_> {
    fn read(&self, path: &str) -> Result<String, String> {
        let text = self.inner.read(path)?;
        self.read
            .borrow_mut()
            .insert(path.to_owned(), Arc::from(text.as_str()));
        Ok(text)
    }
}

/// No list files: for rule sets given as text. A `file` list is then an error that says so.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoListFiles;

impl ListFiles for NoListFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        Err(format!(
            "{path}: this rule set was given as text, not as a file, so it has no directory to read list files from"
        ))
    }
}

/// The entries of a list file: `(entry text as written, byte range in the file)` for each line
/// that is neither blank nor a comment.
pub fn file_entries(text: &str) -> impl Iterator<Item = (&str, Range<usize>)> + '_ {
    // A byte order mark (some editors write one) is not part of the first line.
    let bom = if text.starts_with('\u{FEFF}') {
        '\u{FEFF}'.len_utf8()
    } else {
        0
    };
    let mut offset = bom;
    text[bom..].split_inclusive('\n').filter_map(move |line| {
        let start = offset;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return None;
        }
        let lead = content.len() - content.trim_start().len();
        Some((trimmed, start + lead..start + lead + trimmed.len()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_forms() {
        // (written, kind, words)
        let table = [
            ("Afghanistan", LiteralKind::Phrase, "Afghanistan"),
            ("United Nations", LiteralKind::Phrase, "United Nations"),
            ("\"United Nations\"", LiteralKind::Phrase, "United Nations"),
            ("“United Nations”", LiteralKind::Phrase, "United Nations"),
            ("  negotiat*  ", LiteralKind::Phrase, "negotiat*"),
            ("peace negotiat*", LiteralKind::Phrase, "peace negotiat*"),
            ("{US}", LiteralKind::Exact, "US"),
            (
                "{ Security Council }",
                LiteralKind::Exact,
                "Security Council",
            ),
            (
                "{\"Security Council\"}",
                LiteralKind::Exact,
                "Security Council",
            ),
            ("U.S.", LiteralKind::Phrase, "U.S."),
        ];
        for (written, kind, words) in table {
            let (k, w, offset) =
                parse_entry(written).unwrap_or_else(|e| panic!("{written}: {e:?}"));
            assert_eq!((k, w), (kind, words), "{written}");
            assert_eq!(&written[offset..offset + w.len()], words, "{written}");
        }
    }

    #[test]
    fn entry_errors_say_what_to_write() {
        let table = [
            ("", "write a term"),
            ("{US", "close it"),
            ("{nat*}", "{NATO}"),
            ("@countries", "(@a OR @b)"),
            ("{}", "write a term"),
            ("\"\"", "write a term"),
            ("US}", "{US}"),
        ];
        for (written, help) in table {
            let (_, h) = parse_entry(written).expect_err(written);
            assert!(h.contains(help), "{written}: {h}");
        }
    }

    #[test]
    fn file_entries_skip_blanks_and_comments_and_give_spans() {
        let text = "# countries\n\nAfghanistan\r\n  United States \n#x\n{US}";
        let got: Vec<_> = file_entries(text).collect();
        assert_eq!(
            got.iter().map(|(e, _)| *e).collect::<Vec<_>>(),
            ["Afghanistan", "United States", "{US}"]
        );
        for (entry, span) in got {
            assert_eq!(&text[span], entry);
        }
        // A byte order mark does not turn a first comment line into an entry.
        let text = "\u{FEFF}# countries\nFrance";
        assert_eq!(file_entries(text).collect::<Vec<_>>(), [("France", 15..21)]);
        let text = "\u{FEFF}France";
        assert_eq!(file_entries(text).collect::<Vec<_>>(), [("France", 3..9)]);
    }
}
