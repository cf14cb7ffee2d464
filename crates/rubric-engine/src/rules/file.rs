//! Rule files: TOML in, a validated [`RuleSet`] out, with every problem listed.
//!
//! ```toml
//! [rule_set]
//! name = "default"
//! version = "2026.11.0"
//! description = "optional"
//! accent_sensitive = false          # optional; default false: accents are ignored
//!
//! [[topics]]
//! id = "diplomacy"                  # lowercase letters, digits, `_`; unique
//! name = "Diplomacy"                # optional; default: the id
//! description = "..."               # optional
//! threshold = 1.0                   # optional; > 0; default 1.0
//! count_overlaps = false            # optional; true: every fired rule adds its weight
//!
//! [[rules]]
//! id = "diplomacy.talks"            # letters, digits, `_` `.` `-`; unique
//! topic = "diplomacy"               # a topic id defined above
//! query = '"peace talks" OR negotiat*'
//! weight = 1.0                      # optional; finite, not 0; default 1.0
//! description = "..."               # optional
//! examples = { match = ["..."], no_match = ["...", { title = "...", body = "..." }] }
//!
//! [lists]                           # optional: named lists, used in queries as @name
//! meet_verbs = ["meet", "met", "talks"]
//! countries = { file = "lists/countries.txt", description = "..." }
//! ```
//!
//! Lists are described in [`super::lists`].
//!
//! Unknown keys are errors. Loading never stops at the first problem: syntax errors, shape errors of
//! each table, validation and query errors are all collected, and the file is rejected whole if any
//! is an error. Positions are 1-based line and column in the file; errors inside a query point at
//! the offending character of the query, also when the TOML string has escapes.
//!
//! Limits: at most [`MAX_TOPICS`] topics (error `too-many-topics`, at the first topic over the
//! limit) and [`MAX_RULES`] rules (`too-many-rules`); ids at most [`MAX_ID_BYTES`] bytes; a rule
//! file read from disk ([`read_rule_file`](super::read_rule_file)) at most
//! [`MAX_RULE_FILE_BYTES`](super::MAX_RULE_FILE_BYTES) bytes. Loading and compiling take time
//! linear in the number of topics and rules.

use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeValue, ValueDeserializer};
use toml::Spanned;

use super::ast::{Expr, QuerySpan};
use super::diagnostic::{closest, quoted, Diagnostic, Location, RuleSetError, Source, Suggester};
use super::lists::{
    file_entries, parse_entry, ListEntry, ListFiles, NamedList, NoListFiles, MAX_LIST_ENTRIES,
};
use super::parse::{is_list_name, parse_query, MAX_LIST_NAME_BYTES};

/// Largest number of rules in one rule set.
pub const MAX_RULES: usize = 200_000;
/// Largest number of topics in one rule set.
pub const MAX_TOPICS: usize = 10_000;
/// Longest topic or rule id, in bytes.
pub const MAX_ID_BYTES: usize = 128;

/// A validated, parsed rule set: the input of [`Engine::new`](crate::engine::Engine::new).
#[derive(Clone, Debug)]
pub struct RuleSet {
    /// `rule_set.name`.
    pub name: String,
    /// `rule_set.version`, reported with every classification.
    pub version: String,
    /// `rule_set.description`, or empty.
    pub description: String,
    /// `rule_set.accent_sensitive`: when `false` (the default), accents are ignored.
    pub accent_sensitive: bool,
    /// Topics in file order.
    pub topics: Vec<Topic>,
    /// Rules in file order.
    pub rules: Vec<Rule>,
    /// Named lists in file order (`[lists]`).
    pub lists: Vec<NamedList>,
    /// The file, for positions in later diagnostics.
    pub source: Source,
    /// The list files read, in the order of `lists` (for positions of their entries).
    pub list_files: Vec<Source>,
    /// SHA-256 of everything loaded, lowercase hex: of the rule file's bytes alone when it names
    /// no list file, else of the rule file followed, for each list file in order, by a NUL, its
    /// path as written, a NUL and its bytes. Equal hashes mean equal rules.
    pub content_sha256: String,
}

/// A topic: a label the classifier can give.
#[derive(Clone, Debug)]
pub struct Topic {
    /// Stable identifier (`diplomacy`).
    pub id: String,
    /// Display name (`Diplomacy`).
    pub name: String,
    /// What belongs to the topic and where its border is.
    pub description: String,
    /// Score at or above which the topic is labelled; finite and > 0.
    pub threshold: f64,
    /// `count_overlaps`: when `true`, every rule of the topic that fires adds its weight, also
    /// where its matches overlap those of another rule of the topic, so the score is a plain
    /// linear model over the rules (what `rubric learn` writes). Default `false`: overlapping
    /// matches count once, for the longest (then heaviest) match.
    pub count_overlaps: bool,
    /// Byte range of the topic's id in the file.
    pub id_span: Range<usize>,
}

/// One rule: a query that adds `weight` to its topic's score when it fires.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Stable identifier (`diplomacy.talks`), reported in evidence.
    pub id: String,
    /// The topic id.
    pub topic: String,
    /// The query as written.
    pub query: String,
    /// The parsed query.
    pub expr: Expr,
    /// Added to the topic score when the rule fires; finite, not 0, may be negative.
    pub weight: f64,
    /// What the rule is for, or empty.
    pub description: String,
    /// Texts the rule must fire on.
    pub matches: Vec<Example>,
    /// Texts the rule must not fire on.
    pub no_matches: Vec<Example>,
    /// Byte range of the rule's id in the file.
    pub id_span: Range<usize>,
    /// Maps query offsets to file offsets.
    pub query_origin: QueryOrigin,
}

/// An example article of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// Title (empty when the example is written as a plain string).
    pub title: String,
    /// Body.
    pub body: String,
    /// Byte range of the example in the file.
    pub span: Range<usize>,
}

/// Where a query string sits in its file and how it was quoted, to map positions inside the
/// query to positions in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryOrigin {
    /// Byte range of the whole TOML string, delimiters included.
    pub span: Range<usize>,
}

impl QueryOrigin {
    /// The file byte range of the query byte range `query_span`.
    ///
    /// Exact for literal strings (`'...'`, `'''...'''`); for basic strings (`"..."`) escapes are
    /// decoded to find the raw position.
    pub fn file_range(&self, file: &str, query_span: &QuerySpan) -> Range<usize> {
        let Some(raw) = file.get(self.span.clone()) else {
            return self.span.clone();
        };
        let map = |offset: usize| self.span.start + raw_offset(raw, offset);
        let start = map(query_span.start);
        let end = map(query_span.end).max(start);
        start..end
    }
}

/// The raw offset, within a TOML string token `raw` (delimiters included), of decoded offset
/// `decoded`.
fn raw_offset(raw: &str, decoded: usize) -> usize {
    let (delimiter, literal) = if raw.starts_with("'''") {
        (3, true)
    } else if raw.starts_with("\"\"\"") {
        (3, false)
    } else if raw.starts_with('\'') {
        (1, true)
    } else {
        (1, false)
    };
    let mut body_start = delimiter;
    if delimiter == 3 {
        // A newline right after the opening delimiter is trimmed.
        if raw[body_start..].starts_with("\r\n") {
            body_start += 2;
        } else if raw[body_start..].starts_with('\n') {
            body_start += 1;
        }
    }
    if literal {
        return (body_start + decoded).min(raw.len());
    }
    let bytes = raw.as_bytes();
    let mut i = body_start;
    let mut seen = 0;
    while i < bytes.len() && seen < decoded {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let (raw_len, decoded_len) = match bytes[i + 1] {
                b'u' => (6, decoded_char_len(raw.get(i + 2..i + 6))),
                b'U' => (10, decoded_char_len(raw.get(i + 2..i + 10))),
                _ => (2, 1),
            };
            i += raw_len;
            seen += decoded_len;
        } else {
            let len = raw[i..].chars().next().map_or(1, char::len_utf8);
            i += len;
            seen += len;
        }
    }
    i.min(raw.len())
}

fn decoded_char_len(hex: Option<&str>) -> usize {
    hex.and_then(|h| u32::from_str_radix(h, 16).ok())
        .and_then(char::from_u32)
        .map_or(1, char::len_utf8)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleSet {
    name: Spanned<String>,
    version: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    accent_sensitive: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    id: Spanned<String>,
    name: Option<String>,
    #[serde(default)]
    description: String,
    threshold: Option<Spanned<f64>>,
    #[serde(default)]
    count_overlaps: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    topic: Spanned<String>,
    query: Spanned<String>,
    weight: Option<Spanned<f64>>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    examples: RawExamples,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListTable {
    file: Option<Spanned<String>>,
    entries: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    description: String,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExamples {
    #[serde(default, rename = "match")]
    matches: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    no_match: Vec<Spanned<toml::Value>>,
}

/// Reads an example: a string (the body) or a table with only `title` and `body` strings.
fn example(value: Spanned<toml::Value>) -> Result<Example, (String, Range<usize>)> {
    let span = value.span();
    match value.into_inner() {
        toml::Value::String(body) => Ok(Example {
            title: String::new(),
            body,
            span,
        }),
        toml::Value::Table(table) => {
            let mut example = Example {
                title: String::new(),
                body: String::new(),
                span: span.clone(),
            };
            for (key, value) in table {
                let slot = match key.as_str() {
                    "title" => &mut example.title,
                    "body" => &mut example.body,
                    other => {
                        return Err((format!("unknown key `{other}` in an example; an example table has only `title` and `body`"), span))
                    }
                };
                match value {
                    toml::Value::String(text) => *slot = text,
                    other => {
                        return Err((format!("example `{key}` is a {}, not a string", other.type_str()), span))
                    }
                }
            }
            Ok(example)
        }
        other => Err((
            format!("an example is a {}; write a string (the body) or {{ title = \"...\", body = \"...\" }}", other.type_str()),
            span,
        )),
    }
}

struct Loader {
    source: Source,
    diagnostics: Vec<Diagnostic>,
    /// The path of each list file read, as written in the rule file (for the content hash).
    list_paths: Vec<String>,
}

impl Loader {
    fn error(
        &mut self,
        code: &'static str,
        message: String,
        span: Range<usize>,
    ) -> &mut Diagnostic {
        let location = self.source.locate(span);
        self.diagnostics
            .push(Diagnostic::error(code, message).at(location));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn toml_error(&mut self, err: toml::de::Error, fallback: Range<usize>) {
        let span = err.span().unwrap_or(fallback);
        let message = err.message().trim().trim_end_matches('.').to_owned();
        let help = if message.contains("unknown field") {
            // serde's message: unknown field `treshold`, expected one of `id`, `name`, ...
            let names: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
            match names.split_first() {
                Some((unknown, expected)) => match closest(unknown, expected) {
                    Some(near) => {
                        format!("did you mean `{near}`? (the file format is in the README)")
                    }
                    None => "remove the key or fix its spelling (the file format is in the README)"
                        .to_owned(),
                },
                None => "remove the key or fix its spelling (the file format is in the README)"
                    .to_owned(),
            }
        } else if message.contains("missing field") {
            "add the key (the file format is in the README)".to_owned()
        } else {
            "fix the TOML at this position".to_owned()
        };
        self.error("toml", message, span).help = Some(help);
    }

    /// Reads one table (`[rule_set]`, one of `[[topics]]` or `[[rules]]`, a list table) into `T`.
    ///
    /// A misspelt or mistyped key does not drop the table: the error is reported, the key is left
    /// out, and the table is read again, so that one run reports every wrong key of the table and
    /// the table itself still counts (a topic whose `treshold` is misspelt still exists, so its
    /// rules are checked and are not reported as naming an unknown topic). Only a problem with one
    /// of the `required` keys (`id`, `query`, ...) drops the table.
    fn item<T: for<'de> Deserialize<'de>>(
        &mut self,
        kind: &str,
        value: &Spanned<DeValue<'_>>,
        required: &[&str],
    ) -> Option<T> {
        let span = value.span();
        // Name the rule or topic in each error when its id can be read.
        let id = value
            .get_ref()
            .get("id")
            .and_then(|id| id.get_ref().as_str())
            .map(str::to_owned);
        let mut value = value.clone();
        loop {
            let err = match T::deserialize(ValueDeserializer::from(value.clone())) {
                Ok(v) => return Some(v),
                Err(err) => err,
            };
            let at = err.span();
            self.toml_error(err, span.clone());
            if let (Some(id), Some(d)) = (&id, self.diagnostics.last_mut()) {
                match kind {
                    "rules" => d.rule = Some(id.clone()),
                    "topics" => d.topic = Some(id.clone()),
                    _ => {}
                }
            }
            // The key at fault: the one whose key or value holds the error's position.
            let DeValue::Table(table) = value.get_mut() else {
                return None;
            };
            let holds = |r: Range<usize>, at: &Range<usize>| r.start <= at.start && at.end <= r.end;
            let culprit = at.and_then(|at| {
                table
                    .iter()
                    .find(|(k, v)| holds(k.span(), &at) || holds(v.span(), &at))
                    .map(|(k, _)| k.clone())
            });
            match culprit {
                Some(key) if !required.contains(&key.get_ref().as_ref()) => {
                    table.remove(&key);
                }
                _ => return None,
            }
        }
    }

    fn items<T: for<'de> Deserialize<'de>>(
        &mut self,
        key: &str,
        value: &Spanned<DeValue<'_>>,
        required: &[&str],
    ) -> Vec<T> {
        match value.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .filter_map(|v| self.item(key, v, required))
                .collect(),
            _ => {
                self.error(
                    "toml",
                    format!("`{key}` must be an array of tables"),
                    value.span(),
                )
                .help = Some(format!("write each entry as [[{key}]]"));
                Vec::new()
            }
        }
    }

    /// Reads the `[lists]` table: inline lists and list files (through `files`). Returns the
    /// lists without errors and the list files read.
    fn lists(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        files: &dyn ListFiles,
    ) -> (Vec<NamedList>, Vec<Source>) {
        let mut lists: Vec<NamedList> = Vec::new();
        let mut sources = Vec::new();
        let DeValue::Table(table) = value.get_ref() else {
            self.error("toml", "`lists` must be a table".to_owned(), value.span())
                .help = Some(
                "write [lists] and then name = [\"entry\", ...] or name = { file = \"NAME.txt\" }"
                    .to_owned(),
            );
            return (lists, sources);
        };
        let mut total = 0usize;
        for (key, value) in table.iter() {
            let name = key.get_ref().to_string();
            if !is_list_name(&name) {
                self.error("invalid-id", format!("invalid list name {}", quoted(&name)), key.span())
                    .help = Some(format!(
                    "use 1 to {MAX_LIST_NAME_BYTES} ASCII letters, digits, `_`, `.` or `-`, e.g. countries"
                ));
                continue;
            }
            let (description, file, raw_entries) = match value.get_ref() {
                DeValue::Array(_) => match Vec::<Spanned<String>>::deserialize(
                    ValueDeserializer::from(value.clone()),
                ) {
                    Ok(entries) => (String::new(), None, entries),
                    Err(err) => {
                        self.toml_error(err, value.span());
                        if let Some(d) = self.diagnostics.last_mut() {
                            d.help = Some("write each entry as a string: [\"Afghanistan\", \"{US}\", \"negotiat*\"]".to_owned());
                        }
                        // Kept (empty), so the rules naming it are not reported as well.
                        (String::new(), None, Vec::new())
                    }
                },
                DeValue::Table(_) => {
                    let before = self.diagnostics.len();
                    let Some(raw) = self.item::<RawListTable>("lists", value, &[]) else {
                        continue;
                    };
                    match (raw.file, raw.entries) {
                        (Some(file), None) => (raw.description, Some(file), Vec::new()),
                        (None, Some(entries)) => (raw.description, None, entries),
                        // A misspelt `file` or `entries` was just reported: not twice. Kept
                        // (empty), so the rules naming it are not reported as well.
                        (None, None) if self.diagnostics.len() > before => {
                            (raw.description, None, Vec::new())
                        }
                        (file, entries) => {
                            let both = file.is_some() && entries.is_some();
                            self.error(
                                "toml",
                                format!(
                                    "list `{name}` {}",
                                    if both { "has both `file` and `entries`" } else { "has neither `file` nor `entries`" }
                                ),
                                value.span(),
                            )
                            .help = Some(format!("write {name} = {{ file = \"{name}.txt\" }} or {name} = [\"entry\", ...]"));
                            continue;
                        }
                    }
                }
                other => {
                    self.error(
                        "toml",
                        format!("list `{name}` is {}", with_article(other.type_str())),
                        value.span(),
                    )
                    .help = Some(format!(
                        "write {name} = [\"entry\", ...] or {name} = {{ file = \"{name}.txt\" }}"
                    ));
                    continue;
                }
            };
            let mut list = NamedList {
                name,
                description,
                entries: Vec::new(),
                file: None,
                name_span: key.span(),
            };
            if let Some(file) = file {
                let text = match files.read(file.get_ref()) {
                    Ok(text) => text,
                    Err(reason) => {
                        self.error(
                            "list-file",
                            format!("cannot read list file of `{}`: {reason}", list.name),
                            file.span(),
                        )
                        .help = Some(
                            "the path is relative to the directory of the rule file".to_owned(),
                        );
                        // Kept (empty), so the rules naming it are not reported as well.
                        lists.push(list);
                        continue;
                    }
                };
                // Diagnostics name the list file beside the rule file, as a user finds it.
                let shown = match std::path::Path::new(&self.source.origin).parent() {
                    Some(dir) if !self.source.origin.starts_with('<') => {
                        dir.join(file.get_ref()).display().to_string()
                    }
                    _ => file.get_ref().clone(),
                };
                let source = Source::new(&shown, &text);
                self.list_paths.push(file.get_ref().clone());
                let index = sources.len();
                for (written, span) in file_entries(&text) {
                    match parse_entry(written) {
                        Ok((kind, words, offset)) => list.entries.push(ListEntry {
                            kind,
                            text: words.to_owned(),
                            written: written.to_owned(),
                            span: span.start + offset..span.start + offset + words.len(),
                            source: Some(index),
                        }),
                        Err((message, help)) => {
                            self.diagnostics.push(
                                Diagnostic::error("list-entry", message)
                                    .at(source.locate(span))
                                    .help(help),
                            );
                        }
                    }
                }
                list.file = Some(file.into_inner());
                sources.push(source);
            } else {
                for entry in raw_entries {
                    match parse_entry(entry.get_ref()) {
                        Ok((kind, words, _)) => list.entries.push(ListEntry {
                            kind,
                            text: words.to_owned(),
                            written: entry.get_ref().trim().to_owned(),
                            span: entry.span(),
                            source: None,
                        }),
                        Err((message, help)) => {
                            self.error("list-entry", message, entry.span()).help = Some(help);
                        }
                    }
                }
            }
            total += list.entries.len();
            // Kept with its readable entries even after an entry error (which rejects the set):
            // the rules naming it are checked too, and not reported as naming an unknown list.
            lists.push(list);
        }
        if total > MAX_LIST_ENTRIES {
            self.error(
                "too-many-rules",
                format!("{total} list entries, more than the limit of {MAX_LIST_ENTRIES}"),
                value.span(),
            )
            .help = Some("split the rule set, or keep only the entries the rules need".to_owned());
        }
        (lists, sources)
    }

    fn check_id(&mut self, what: &str, id: &Spanned<String>, topic: bool) -> bool {
        let valid_char = |c: char| {
            if topic {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
            } else {
                c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
            }
        };
        let text = id.get_ref();
        if text.is_empty() || text.len() > MAX_ID_BYTES || !text.chars().all(valid_char) {
            let help = if topic {
                format!("use 1 to {MAX_ID_BYTES} lowercase ASCII letters, digits or `_`, e.g. \"diplomacy\"")
            } else {
                format!("use 1 to {MAX_ID_BYTES} ASCII letters, digits, `_`, `.` or `-`, e.g. \"diplomacy.talks\"")
            };
            self.error(
                "invalid-id",
                format!("invalid {what} id {}", quoted(text)),
                id.span(),
            )
            .help = Some(help);
            return false;
        }
        true
    }
}

impl RuleSet {
    /// Parses and validates a rule file. `origin` names it in diagnostics (a path, or
    /// `<embedded>`).
    ///
    /// Checks: TOML syntax, the shape above (unknown keys are errors), id syntax, unique ids,
    /// known topics, thresholds and weights, and the syntax of every query. Query literals are
    /// normalized and checked when the set is compiled ([`Engine::new`](crate::engine::Engine::new)).
    ///
    /// # Errors
    /// [`RuleSetError`] listing every problem found, each with file, line, column, rule id, and
    /// what to write instead.
    pub fn from_toml(origin: &str, text: &str) -> Result<RuleSet, RuleSetError> {
        match RuleSet::parse(origin, text) {
            (Some(set), diagnostics) if diagnostics.is_empty() => Ok(set),
            (_, diagnostics) => Err(RuleSetError::new(diagnostics)),
        }
    }

    /// Like [`RuleSet::from_toml`], but keeps going: returns the set of what could be read
    /// (`None` when there is no usable `[rule_set]` table or the TOML does not parse) together
    /// with every problem found, so later stages can check the rest and report everything at
    /// once. The rules with errors are left out; the topics are kept even with an error (an
    /// invalid id or threshold, a misspelt or mistyped key, which is then left out), so that the
    /// rules naming them are checked and not reported as naming an undefined topic.
    /// [`Engine::check_parsed`](crate::engine::Engine::check_parsed) compiles such a set only to
    /// report the rest: with any error it makes no engine.
    pub fn parse(origin: &str, text: &str) -> (Option<RuleSet>, Vec<Diagnostic>) {
        RuleSet::load(origin, text, &NoListFiles)
    }

    /// Like [`RuleSet::parse`], reading the list files the rule file names through `files`
    /// (e.g. [`ListDir::beside`](super::lists::ListDir::beside) the rule file). A list file that
    /// cannot be read is an error at its `file` key; an entry that cannot be read, an error at its
    /// line in the list file.
    pub fn load(
        origin: &str,
        text: &str,
        files: &dyn ListFiles,
    ) -> (Option<RuleSet>, Vec<Diagnostic>) {
        let mut loader = Loader {
            source: Source::new(origin, text),
            diagnostics: Vec::new(),
            list_paths: Vec::new(),
        };
        let (document, syntax_errors) = toml::de::DeTable::parse_recoverable(text);
        let whole = 0..text.len();
        if !syntax_errors.is_empty() {
            for err in syntax_errors {
                loader.toml_error(err, whole.clone());
            }
            return (None, loader.diagnostics);
        }
        let document = document.into_inner();

        let mut raw_set = None;
        let mut raw_topics = Vec::new();
        let mut raw_rules = Vec::new();
        let (mut lists, mut list_files) = (Vec::new(), Vec::new());
        for (key, value) in document.iter() {
            match key.get_ref().as_ref() {
                "rule_set" => {
                    raw_set = loader.item::<RawRuleSet>("rule_set", value, &["name", "version"])
                }
                "topics" => raw_topics = loader.items::<RawTopic>("topics", value, &["id"]),
                "rules" => {
                    raw_rules = loader.items::<RawRule>("rules", value, &["id", "topic", "query"])
                }
                "lists" => (lists, list_files) = loader.lists(value, files),
                other => {
                    loader
                        .error("toml", format!("unknown key `{other}`"), key.span())
                        .help = Some(
                        "the top level has [rule_set], [[topics]], [[rules]] and [lists]"
                            .to_owned(),
                    );
                }
            }
        }
        if raw_set.is_none() && !document.iter().any(|(k, _)| k.get_ref() == "rule_set") {
            loader
                .error("toml", "missing [rule_set] table".to_owned(), 0..0)
                .help =
                Some("start the file with [rule_set] name = \"...\" version = \"...\"".to_owned());
        }

        if raw_topics.len() > MAX_TOPICS {
            loader
                .error(
                    "too-many-topics",
                    format!(
                        "{} topics, more than the limit of {MAX_TOPICS}",
                        raw_topics.len()
                    ),
                    raw_topics[MAX_TOPICS].id.span(),
                )
                .help = Some(format!(
                "this is topic {}; merge topics, or split the rule set",
                MAX_TOPICS + 1
            ));
        }
        let mut topics: Vec<Topic> = Vec::new();
        // Topic id -> index in `topics`: every lookup by id is O(1), so loading stays linear in
        // the number of topics and rules.
        let mut topic_index = rustc_hash::FxHashMap::<String, usize>::default();
        // A topic with an error is kept all the same (the set is rejected anyway): the rules
        // naming it are then checked, and not reported as naming an undefined topic.
        for raw in raw_topics {
            loader.check_id("topic", &raw.id, true);
            if let Some(&first) = topic_index.get(raw.id.get_ref()) {
                let line = loader
                    .source
                    .locate(topics[first].id_span.clone())
                    .map_or(0, |l| l.line);
                loader
                    .error(
                        "duplicate-id",
                        format!("topic `{}` is defined twice", raw.id.get_ref()),
                        raw.id.span(),
                    )
                    .help = Some(format!(
                    "the first definition is on line {line}; remove or rename one"
                ));
                continue;
            }
            let threshold = raw.threshold.as_ref().map_or(1.0, |t| *t.get_ref());
            if !(threshold.is_finite() && threshold > 0.0) {
                let span = raw.threshold.as_ref().map_or(raw.id.span(), |t| t.span());
                loader
                    .error(
                        "invalid-threshold",
                        format!(
                            "threshold {threshold} of topic `{}` is not a positive number",
                            raw.id.get_ref()
                        ),
                        span,
                    )
                    .help = Some("write a threshold > 0, e.g. threshold = 1.0".to_owned());
            }
            let threshold = if threshold.is_finite() && threshold > 0.0 {
                threshold
            } else {
                1.0
            };
            topic_index.insert(raw.id.get_ref().clone(), topics.len());
            topics.push(Topic {
                name: raw.name.unwrap_or_else(|| raw.id.get_ref().clone()),
                description: raw.description,
                threshold,
                count_overlaps: raw.count_overlaps,
                id_span: raw.id.span(),
                id: raw.id.into_inner(),
            });
        }
        if topics.is_empty() && loader.diagnostics.is_empty() {
            loader
                .error(
                    "no-topics",
                    "the rule set defines no topics".to_owned(),
                    0..0,
                )
                .help = Some("add a [[topics]] table with id = \"...\"".to_owned());
        }

        if raw_rules.len() > MAX_RULES {
            loader
                .error(
                    "too-many-rules",
                    format!(
                        "{} rules, more than the limit of {MAX_RULES}",
                        raw_rules.len()
                    ),
                    raw_rules[MAX_RULES].id.span(),
                )
                .help = Some(format!(
                "this is rule {}; split the rule set or merge rules with OR",
                MAX_RULES + 1
            ));
        }

        let mut suggester = Suggester::new(topics.iter().map(|t| t.id.as_str()).collect());
        let mut rules: Vec<Rule> = Vec::with_capacity(raw_rules.len());
        let mut seen = rustc_hash::FxHashMap::<String, Range<usize>>::default();
        for raw in raw_rules {
            let id = raw.id.get_ref().clone();
            let mut ok = loader.check_id("rule", &raw.id, false);
            if let Some(first) = seen.get(&id) {
                let line = loader.source.locate(first.clone()).map_or(0, |l| l.line);
                let d = loader.error(
                    "duplicate-id",
                    format!("rule `{id}` is defined twice"),
                    raw.id.span(),
                );
                d.rule = Some(id.clone());
                d.help = Some(format!(
                    "the first definition is on line {line}; rename one, e.g. \"{id}-2\""
                ));
                ok = false;
            } else {
                seen.insert(id.clone(), raw.id.span());
            }
            if !topic_index.contains_key(raw.topic.get_ref()) {
                let topic = raw.topic.get_ref();
                let help = if suggester.names().is_empty() {
                    "define the topic in a [[topics]] table".to_owned()
                } else {
                    let known = suggester.some_names();
                    match suggester.suggest(topic) {
                        Some(near) if near.eq_ignore_ascii_case(topic) => format!(
                            "did you mean `{near}`? Topic ids are lowercase; otherwise use one of: {known}"
                        ),
                        Some(near) => {
                            format!("did you mean `{near}`? Otherwise use one of: {known}")
                        }
                        None => format!("use one of: {known}"),
                    }
                };
                let d = loader.error(
                    "unknown-topic",
                    format!(
                        "rule {} names topic {}, which is not defined",
                        quoted(&id),
                        quoted(topic)
                    ),
                    raw.topic.span(),
                );
                d.rule = Some(id.clone());
                d.help = Some(help);
                ok = false;
            }
            let weight = raw.weight.as_ref().map_or(1.0, |w| *w.get_ref());
            if !weight.is_finite() || weight == 0.0 {
                let span = raw.weight.as_ref().map_or(raw.id.span(), |w| w.span());
                let d = loader.error(
                    "invalid-weight",
                    format!("weight {weight} is not a finite, non-zero number"),
                    span,
                );
                d.rule = Some(id.clone());
                d.help = Some(
                    "write e.g. weight = 1.0 (negative weights lower the topic score)".to_owned(),
                );
                ok = false;
            }
            let query_origin = QueryOrigin {
                span: raw.query.span(),
            };
            let expr = match parse_query(raw.query.get_ref()) {
                Ok(expr) => Some(expr),
                Err(err) => {
                    let span = query_origin.file_range(text, &err.span);
                    let d = loader.error(err.code, err.message, span);
                    d.rule = Some(id.clone());
                    d.help = err.help;
                    None
                }
            };
            let mut examples = |values: Vec<Spanned<toml::Value>>| {
                let mut out = Vec::new();
                for value in values {
                    match example(value) {
                        Ok(e) => out.push(e),
                        Err((message, span)) => {
                            let d = loader.error("toml", message, span);
                            d.rule = Some(id.clone());
                            d.help = Some("write examples = { match = [\"...\"], no_match = [\"...\", { title = \"...\", body = \"...\" }] }".to_owned());
                            ok = false;
                        }
                    }
                }
                out
            };
            let matches = examples(raw.examples.matches);
            let no_matches = examples(raw.examples.no_match);
            let (Some(expr), true) = (expr, ok) else {
                continue;
            };
            rules.push(Rule {
                id,
                topic: raw.topic.into_inner(),
                query: raw.query.into_inner(),
                expr,
                weight,
                description: raw.description,
                matches,
                no_matches,
                id_span: raw.id.span(),
                query_origin,
            });
        }

        if let Some(raw) = &raw_set {
            for (what, value) in [("name", &raw.name), ("version", &raw.version)] {
                if value.get_ref().trim().is_empty() {
                    loader
                        .error("toml", format!("rule_set.{what} is empty"), value.span())
                        .help = Some(format!("write a {what}, e.g. {what} = \"default\""));
                }
            }
        }
        let content_sha256 = content_sha256(text, &loader.list_paths, &list_files);
        let set = raw_set.map(|raw| RuleSet {
            name: raw.name.into_inner(),
            version: raw.version.into_inner(),
            description: raw.description,
            accent_sensitive: raw.accent_sensitive,
            topics,
            rules,
            lists,
            source: loader.source,
            list_files,
            content_sha256,
        });
        (set, loader.diagnostics)
    }

    /// Where a list entry was written (its list file, or the rule file for an inline list).
    pub fn entry_location(&self, entry: &ListEntry) -> Option<Location> {
        match entry.source {
            Some(i) => self.list_files.get(i)?.locate(entry.span.clone()),
            None => self.source.locate(entry.span.clone()),
        }
    }

    /// The file location of `query_span` inside the query of `rule`.
    pub fn query_location(&self, rule: &Rule, query_span: &QuerySpan) -> Option<super::Location> {
        self.source
            .locate(rule.query_origin.file_range(&self.source.text, query_span))
    }
}

/// `a string`, `an integer`.
fn with_article(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {noun}")
}

/// See [`RuleSet::content_sha256`]; with no list files, the SHA-256 of `text` alone.
pub fn content_sha256(text: &str, paths: &[String], list_files: &[Source]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(text.as_bytes());
    for (path, file) in paths.iter().zip(list_files) {
        hasher.update([0]);
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(file.text.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_offsets_through_escapes() {
        assert_eq!(raw_offset("'a b'", 2), 3);
        assert_eq!(raw_offset("'''\na b'''", 2), 6);
        // "\"x\" y": decoded `"x" y`, offset 4 is `y`.
        assert_eq!(raw_offset(r#""\"x\" y""#, 4), 7);
        // "\u00e9 y": decoded `é y` (é is 2 bytes), offset 3 is `y`.
        assert_eq!(raw_offset(r#""\u00e9 y""#, 3), 8);
    }
}
