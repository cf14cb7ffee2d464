//! `rubric classify`: classify files, standard input or JSON Lines offline, with evidence.

use super::*;

#[derive(clap::Args)]
pub(super) struct ClassifyArgs {
    /// Rule file (TOML); default: the embedded rule set from seeds/rules.toml.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Unit of span offsets in the output.
    #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
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
    CodePoint,
}

impl From<Encoding> for OffsetEncoding {
    fn from(e: Encoding) -> Self {
        match e {
            Encoding::Utf8 => OffsetEncoding::Utf8,
            Encoding::Utf16 => OffsetEncoding::Utf16,
            Encoding::CodePoint => OffsetEncoding::CodePoint,
        }
    }
}

/// An article as JSON input. Other keys (a corpus's `url`, `date`, `labels`...) are read past
/// and named once on standard error, so a misspelt `titel` is seen; an article with neither a
/// title nor a body is an error that names the keys it had.
#[derive(Deserialize)]
struct JsonArticle {
    #[serde(default)]
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(flatten)]
    other: std::collections::BTreeMap<String, serde_json::Value>,
}

impl JsonArticle {
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
            let keys: Vec<&str> = self.other.keys().map(String::as_str).collect();
            return Err(format!(
                "empty article: no title and no body text (other keys: {}; rubric reads id, title, body)",
                keys.join(", ")
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
fn json_article(input: &str, text: &str) -> Result<Option<JsonArticle>> {
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
        Err(e) if must || is_object => bail!("{input}: {e}"),
        Err(_) => Ok(None),
    }
}

/// Parses one JSON article: an object `{"id","title","body"}`, or a Classify request
/// `{"article": {...}}` (as in `seeds/classify-request.json`; its `options` are the command's
/// flags here, so a request with options is refused). Other keys are kept in `other`.
fn parse_json_article(text: &str) -> Result<JsonArticle, String> {
    const SHAPE: &str = "expected an object {\"id\",\"title\",\"body\"}";
    if !text.trim_start().starts_with('{') {
        return Err(format!("not a JSON article: {SHAPE}"));
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not a JSON article: {e}"))?;
    let value = match value {
        serde_json::Value::Object(mut map) if map.contains_key("article") => {
            if map.len() > 1 {
                return Err(
                    "a Classify request with options: give its article, and the options as flags (--topic, --offset-encoding, --no-evidence, --min-score)"
                        .to_owned(),
                );
            }
            map.remove("article").unwrap_or_default()
        }
        other => other,
    };
    serde_json::from_value(value).map_err(|e| format!("not a JSON article ({SHAPE}): {e}"))
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
    let options = ClassifyOptions {
        topics: args.topics.clone(),
        evidence: !args.no_evidence,
        offset_encoding: args.offset_encoding.into(),
        min_score: args.min_score,
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
            eprintln!("error: {failed} line(s) could not be classified (see above)");
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
                note_ignored_keys(input, &a.other.keys().cloned().collect());
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

/// Classifies one JSON Lines input in parallel batches; returns the number of bad lines.
///
/// Output stays line for line with the input's articles: a line that cannot be classified
/// (invalid UTF-8, not a JSON object, ...) gives `{"error":{"input","line","message"}}` in its
/// place, and the same message on standard error. Blank lines are skipped.
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
    loop {
        let mut batch: Vec<(usize, Vec<u8>)> = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            let mut line = Vec::new();
            let n = reader
                .read_until(b'\n', &mut line)
                .with_context(|| format!("{input}:{}: cannot read", line_number + 1))?;
            if n == 0 {
                break;
            }
            line_number += 1;
            if line_number == 1 && line.starts_with("\u{FEFF}".as_bytes()) {
                line.drain(..3);
            }
            batch.push((line_number, line));
        }
        if batch.is_empty() {
            note_ignored_keys(input, &ignored);
            return Ok(failed);
        }
        type Classified = (String, Vec<String>);
        let results: Vec<Result<Option<Classified>, (usize, String)>> = batch
            .par_iter()
            .map(|(n, bytes)| {
                let line =
                    std::str::from_utf8(bytes).map_err(|e| (*n, format!("not UTF-8: {e}")))?;
                if line.trim().is_empty() {
                    return Ok(None);
                }
                let a = parse_json_article(line).map_err(|e| (*n, e))?;
                let article = a.article("").map_err(|e| (*n, e))?;
                let result = engine
                    .classify(&article, options)
                    .map_err(|e| (*n, e.to_string()))?;
                let json = serde_json::to_string(&result).map_err(|e| (*n, e.to_string()))?;
                Ok(Some((json, a.other.into_keys().collect())))
            })
            .collect();
        for result in results {
            match result {
                Ok(Some((json, keys))) => {
                    ignored.extend(keys);
                    writeln!(out, "{json}")?
                }
                Ok(None) => {}
                Err((line, message)) => {
                    eprintln!("error: {input}:{line}: {message}");
                    let error = serde_json::json!({
                        "error": { "input": input, "line": line, "message": message }
                    });
                    writeln!(out, "{error}")?;
                    failed += 1;
                }
            }
        }
    }
}
