//! `rubric classify`: classify files, standard input or JSON Lines offline, with evidence.

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed};

use super::*;

#[derive(clap::Args)]
pub(super) struct ClassifyArgs {
    /// Rule file (TOML); default: the embedded rule set from seeds/rules.toml.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Unit of span offsets in the output (also printed as `offsetEncoding`).
    #[arg(long, visible_alias = "offsets", value_enum, default_value_t = Encoding::Utf8)]
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
    /// Explain why this rule fired or did not fire, operator by operator (repeat for several):
    /// `explanations` in the output.
    #[arg(long = "explain", value_name = "RULE")]
    explain: Vec<String>,
    /// Also explain every rule with a term, phrase or list entry in the article.
    #[arg(long)]
    explain_candidates: bool,
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
    #[value(alias = "codepoint")]
    CodePoint,
}

impl Encoding {}

impl From<Encoding> for OffsetEncoding {
    fn from(e: Encoding) -> Self {
        match e {
            Encoding::Utf8 => OffsetEncoding::Utf8,
            Encoding::Utf16 => OffsetEncoding::Utf16,
            Encoding::CodePoint => OffsetEncoding::CodePoint,
        }
    }
}

/// An article as JSON input, its strings borrowed from the input where they hold no escape (a
/// string with one is unescaped into its own `String`). Other keys (a corpus's `url`, `date`,
/// `labels`...) are read past without building their values, and named once on standard error, so
/// a misspelt `titel` is seen; an article with neither a title nor a body is an error that names
/// the keys it had.
struct JsonArticle<'a> {
    id: Cow<'a, str>,
    title: Cow<'a, str>,
    body: Cow<'a, str>,
    /// The names of the other keys, sorted, each once.
    other: Vec<Cow<'a, str>>,
}

impl JsonArticle<'_> {
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
            return Err(format!(
                "empty article: no title and no body text (other keys: {}; rubric reads id, title, body)",
                self.other.join(", ")
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

/// Reads a JSON article: always for a `.json` file; for other inputs when the text is a JSON
/// object (a plain-text article may start with `{`, e.g. "{Update} ...").
fn json_article<'a>(input: &str, text: &'a str) -> Result<Option<JsonArticle<'a>>> {
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
        Err(ArticleError::Json(e)) if must => {
            let (line, column, message) = json_error(text, &e, NOT_AN_ARTICLE, "file");
            bail!("{input}:{line}:{column}: {message}")
        }
        Err(ArticleError::Shape(e)) if must || is_object => bail!("{input}: {e}"),
        Err(_) => Ok(None),
    }
}

const NOT_AN_ARTICLE: &str = "not a JSON article {\"id\",\"title\",\"body\"}";

/// Why a JSON article could not be read.
enum ArticleError {
    /// Not JSON, or JSON cut short: serde_json's error, with its position in the text.
    Json(serde_json::Error),
    /// JSON, but not an article.
    Shape(String),
}

/// Parses one JSON article: an object `{"id","title","body"}`, or a Classify request
/// `{"article": {...}}` (as in `seeds/classify-request.json`; its `options` are the command's
/// flags here, so a request with options is refused). Other keys are named in `other`.
///
/// The text is read once, straight into the article (see [`Object`]): no JSON tree is built. It
/// reads JSON as `serde_json::Value` does (the same syntax errors, at the same place, before any
/// error of shape) and an article as deserializing that tree did: a key given twice counts once,
/// with its last value, and of several values of the wrong type, the one of the first key in
/// sorted order is reported.
fn parse_json_article(text: &str) -> Result<JsonArticle<'_>, ArticleError> {
    // Whitespace after JSON means nothing; after a cut, a line end would be read as a control
    // character inside a string rather than as the cut it is.
    let text = text.trim_end();
    if !text.trim_start().starts_with('{') {
        return Err(ArticleError::Shape(format!(
            "{NOT_AN_ARTICLE}: expected an object"
        )));
    }
    let shape = |message: String| ArticleError::Shape(format!("{NOT_AN_ARTICLE}: {message}"));
    let TopLevel(object) = serde_json::from_str(text).map_err(ArticleError::Json)?;
    let mut object = object.map_err(shape)?;
    if let Some(article) = object.article.take() {
        if object.has_keys() {
            return Err(ArticleError::Shape(
                "a Classify request with options: give its article, and the options as flags (--topic, --offset-encoding, --no-evidence, --min-score, --explain)"
                    .to_owned(),
            ));
        }
        object = (*article).map_err(shape)?;
    }
    object.into_article().map_err(shape)
}

/// A string value, or why the value is not one (serde_json's "invalid type" message).
type Text<'a> = Result<Cow<'a, str>, String>;

/// A JSON object as read for an article, in one pass over its text.
///
/// A value of the wrong type is kept as its message rather than ending the reading, so that a
/// syntax error later in the text is reported first, as when the text was parsed whole before
/// being read as an article.
#[derive(Default)]
struct Object<'a> {
    /// `id`, `title` and `body` where given (the last value of a key given twice).
    id: Option<Text<'a>>,
    title: Option<Text<'a>>,
    body: Option<Text<'a>>,
    /// The names of the other keys, as given (unsorted, repeated where repeated).
    other: Vec<Cow<'a, str>>,
    /// At the top level, the value of `article` where given: a Classify request.
    article: Option<Box<Result<Object<'a>, String>>>,
}

impl<'a> Object<'a> {
    /// Whether the object has a key other than `article`.
    fn has_keys(&self) -> bool {
        self.id.is_some() || self.title.is_some() || self.body.is_some() || !self.other.is_empty()
    }

    /// The article, or the message of the first value of the wrong type in the keys' sorted
    /// order (`body`, `id`, `title`; the other keys take any value).
    fn into_article(mut self) -> Result<JsonArticle<'a>, String> {
        let text = |value: Option<Text<'a>>| value.unwrap_or(Ok(Cow::Borrowed("")));
        let body = text(self.body)?;
        let id = text(self.id)?;
        let title = text(self.title)?;
        self.other.sort_unstable();
        self.other.dedup();
        Ok(JsonArticle {
            id,
            title,
            body,
            other: self.other,
        })
    }
}

/// serde_json's message for a value of the wrong type, without a position (as `from_value`
/// says it).
fn type_error(unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> String {
    <serde_json::Error as de::Error>::invalid_type(unexpected, expected).to_string()
}

/// The text of a JSON article: an object (checked before reading).
struct TopLevel<'a>(Result<Object<'a>, String>);

impl<'de> Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: de::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(ObjectVisitor { top: true })
            .map(TopLevel)
    }
}

/// Reads an article object; any other value is read whole and kept as a type error.
struct ObjectVisitor {
    /// At the top level, `article` is a Classify request's article; inside it, another key.
    top: bool,
}

impl<'de> DeserializeSeed<'de> for ObjectVisitor {
    type Value = Result<Object<'de>, String>;

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

/// What the article's fields and the objects other than it are when of the wrong type: the
/// `visit_*` methods of a visitor that reads any value whole without failing.
macro_rules! wrong_type_visits {
    () => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Err(type_error(de::Unexpected::Bool(v), &self)))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Err(type_error(de::Unexpected::Signed(v), &self)))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Err(type_error(de::Unexpected::Unsigned(v), &self)))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Err(type_error(de::Unexpected::Float(v), &self)))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Err(type_error(de::Unexpected::Unit, &self)))
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<Skip>()?.is_some() {}
            Ok(Err(type_error(de::Unexpected::Seq, &self)))
        }
    };
}

impl<'de> de::Visitor<'de> for ObjectVisitor {
    type Value = Result<Object<'de>, String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The name the derived reader of the article gave, which its messages said.
        f.write_str("struct JsonArticle")
    }

    wrong_type_visits!();

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Err(type_error(de::Unexpected::Str(v), &self)))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = Object::default();
        while let Some(Key(key)) = map.next_key()? {
            match &*key {
                "id" => object.id = Some(map.next_value_seed(TextVisitor)?),
                "title" => object.title = Some(map.next_value_seed(TextVisitor)?),
                "body" => object.body = Some(map.next_value_seed(TextVisitor)?),
                "article" if self.top => {
                    object.article =
                        Some(Box::new(map.next_value_seed(ObjectVisitor { top: false })?));
                }
                _ => {
                    map.next_value::<Skip>()?;
                    object.other.push(key);
                }
            }
        }
        Ok(Ok(object))
    }
}

/// Reads a string value, borrowed where it has no escape; any other value is read whole and
/// kept as a type error.
struct TextVisitor;

impl<'de> DeserializeSeed<'de> for TextVisitor {
    type Value = Text<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> de::Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    wrong_type_visits!();

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Ok(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Ok(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Ok(Cow::Owned(v)))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Err(type_error(de::Unexpected::Map, &self)))
    }
}

/// Any JSON value, read and checked as `serde_json::Value` reads it (numbers out of range and
/// lone surrogates in `\u` escapes are errors, unlike `serde::de::IgnoredAny`), but not kept.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: de::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(Skip)
    }
}

impl<'de> de::Visitor<'de> for Skip {
    type Value = Skip;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

/// An object key, borrowed where it has no escape.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> de::Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        de.deserialize_str(KeyVisitor)
    }
}

/// Checks every `--topic` against the rule set before any input is read: each unknown one is
/// reported with the rule set's topics (and the closest, when one is close), by the flag's name.
fn check_topics(engine: &Engine, topics: &[String]) -> Result<()> {
    let known: Vec<&str> = engine.topics().iter().map(|t| t.id.as_str()).collect();
    let mut unknown = 0;
    for topic in topics.iter().filter(|t| !known.contains(&t.as_str())) {
        let shown = if topic.is_empty() { "\"\"" } else { topic };
        let hint = rubric::rules::diagnostic::closest(topic, &known)
            .map(|k| format!(" (did you mean `{k}`?)"))
            .unwrap_or_default();
        eprintln!(
            "error: --topic {shown}: unknown topic{hint}; the topics are: {}",
            known.join(", ")
        );
        unknown += 1;
    }
    if unknown > 0 {
        return Err(Reported.into());
    }
    Ok(())
}

/// Checks every `--explain` against the rule set before any input is read, as [`check_topics`]
/// does the topics: each unknown rule id is reported with the closest one, when one is close.
fn check_rules(engine: &Engine, rules: &[String]) -> Result<()> {
    let mut unknown = 0;
    let mut known: Option<Vec<&str>> = None;
    for rule in rules.iter().filter(|r| engine.rule_index(r).is_none()) {
        let known = known.get_or_insert_with(|| engine.rules().map(|r| r.0).collect());
        let shown = if rule.is_empty() { "\"\"" } else { rule };
        let hint = rubric::rules::diagnostic::closest(rule, known)
            .map(|k| format!(" (did you mean `{k}`?)"))
            .unwrap_or_default();
        eprintln!(
            "error: --explain {shown}: unknown rule id{hint}; the rule ids are those of the rule file ({} rules)",
            known.len()
        );
        unknown += 1;
    }
    if unknown > 0 {
        return Err(Reported.into());
    }
    Ok(())
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

pub(super) fn classify(args: ClassifyArgs) -> Result<ExitCode> {
    let engine = load_engine(args.rules.as_ref())?;
    check_topics(&engine, &args.topics)?;
    check_rules(&engine, &args.explain)?;
    let options = ClassifyOptions {
        topics: args.topics.clone(),
        evidence: !args.no_evidence,
        offset_encoding: args.offset_encoding.into(),
        min_score: args.min_score,
        explain_rules: args.explain.clone(),
        explain_candidates: args.explain_candidates,
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
            eprintln!(
                "error: {} could not be classified (listed above; the other lines were)",
                count(failed, "line")
            );
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
                note_ignored_keys(input, &a.other.iter().map(|k| k.to_string()).collect());
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
        let result = rubric::ClassificationJson::new(&result, options.offset_encoding);
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

/// Lines of a JSON Lines input classified by one task.
const CHUNK: usize = 64;

/// What the lines of a chunk gave, in line order.
#[derive(Default)]
struct Chunk {
    /// The output lines: classifications and error records.
    out: Vec<u8>,
    /// The bad lines' errors.
    errors: Vec<LineError>,
    /// The keys of the classified lines' articles that were not read.
    ignored: std::collections::BTreeSet<String>,
}

/// Classifies the JSON article on line `n` and writes its classification, one line, to `chunk`.
fn classify_line(
    engine: &Engine,
    options: &ClassifyOptions,
    n: usize,
    line: &str,
    chunk: &mut Chunk,
) -> Result<(), LineError> {
    let a = parse_json_article(line).map_err(|e| match e {
        ArticleError::Json(e) => LineError::json(n, line, &e, NOT_AN_ARTICLE),
        ArticleError::Shape(message) => LineError::new(n, line, message),
    })?;
    let article = a
        .article("")
        .map_err(|message| LineError::new(n, line, message))?;
    let result = engine
        .classify(&article, options)
        .map_err(|e| LineError::new(n, line, e.to_string()))?;
    serde_json::to_writer(
        &mut chunk.out,
        &rubric::ClassificationJson::new(&result, options.offset_encoding),
    )
    .map_err(|e| LineError::new(n, line, e.to_string()))?;
    chunk.out.push(b'\n');
    for key in a.other {
        if !chunk.ignored.contains(&*key) {
            chunk.ignored.insert(key.into_owned());
        }
    }
    Ok(())
}

/// Classifies one JSON Lines input in parallel batches; returns the number of bad lines.
///
/// Output stays line for line with the input's articles: a line that cannot be classified
/// (invalid UTF-8, truncated or invalid JSON, not an article, ...) gives
/// `{"error":{"input","line","column","id","message"}}` in its place (`column` and `id` where
/// known), and the same on standard error. Lines are counted as in the file, blank lines
/// included; blank lines are skipped.
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
    // One buffer for the lines of a batch, reused from batch to batch: each line is its range.
    let mut text = Vec::new();
    let mut batch: Vec<(usize, std::ops::Range<usize>)> = Vec::with_capacity(BATCH);
    loop {
        text.clear();
        batch.clear();
        while batch.len() < BATCH {
            let start = text.len();
            let n = read_line_bounded(&mut *reader, &mut text)
                .with_context(|| format!("{input}:{}: cannot read", line_number + 1))?;
            if n == 0 {
                break;
            }
            line_number += 1;
            batch.push((line_number, start..text.len()));
        }
        if batch.is_empty() {
            note_ignored_keys(input, &ignored);
            return Ok(failed);
        }
        // Lines are classified in chunks, each written into its own buffer in line order, bad
        // lines' error records included; the chunks are then written out in order.
        let chunks: Vec<Chunk> = batch
            .par_chunks(CHUNK)
            .map(|lines| {
                let mut chunk = Chunk::default();
                for (n, range) in lines {
                    let start = chunk.out.len();
                    let line = jsonl_line(*n, &text[range.clone()]).and_then(|line| match line {
                        Some(line) => classify_line(engine, options, *n, line, &mut chunk),
                        None => Ok(()),
                    });
                    if let Err(error) = line {
                        chunk.out.truncate(start);
                        chunk.out.extend_from_slice(error.to_json(input).as_bytes());
                        chunk.out.push(b'\n');
                        chunk.errors.push(error);
                    }
                }
                chunk
            })
            .collect();
        for chunk in chunks {
            for error in &chunk.errors {
                eprintln!("error: {}", error.describe(input));
            }
            failed += chunk.errors.len();
            out.write_all(&chunk.out)?;
            for key in chunk.ignored {
                ignored.insert(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `offsetEncoding` the CLI prints (the engine's name of the encoding) is the name of the
    /// contract's enum value, as the service prints it.
    #[test]
    fn offset_encoding_names_are_the_contracts() {
        for (encoding, proto) in [
            (Encoding::Utf8, rubric::pb::OffsetEncoding::Utf8),
            (Encoding::Utf16, rubric::pb::OffsetEncoding::Utf16),
            (Encoding::CodePoint, rubric::pb::OffsetEncoding::CodePoint),
        ] {
            assert_eq!(
                OffsetEncoding::from(encoding).contract_name(),
                proto.as_str_name()
            );
        }
    }
}
