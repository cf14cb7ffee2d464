//! Named lists (`[lists]` in a rule file, `@name` in queries) through the public API: every entry
//! form, the three ways to define a list, `@name` in every position of a query, the evidence of a
//! list match, the diagnostics with their file positions (in the rule file and in list files), the
//! content hash, and a large generated list.

use std::path::Path;

use rubric::rules::{EmbeddedLists, ListDir, ListFiles, NoListFiles, RuleSet};
use rubric::{
    Article, Classification, ClassifyOptions, Diagnostic, Engine, EngineLoadError, OffsetEncoding,
    Severity, Span,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A rule file: one `[[topics]]` per topic the rules name (in order), one `[[rules]]` per
/// `(id, topic, query)`, then `[lists]` followed by `lists` (TOML lines).
fn rule_file(rules: &[(&str, &str, &str)], lists: &str) -> String {
    let mut text = "[rule_set]\nname = \"lists\"\nversion = \"1\"\n".to_owned();
    let mut topics: Vec<&str> = Vec::new();
    for (_, topic, _) in rules {
        if !topics.contains(topic) {
            topics.push(topic);
        }
    }
    for topic in topics {
        text += &format!("[[topics]]\nid = \"{topic}\"\n");
    }
    for (id, topic, query) in rules {
        text += &format!(
            "[[rules]]\nid = \"{id}\"\ntopic = \"{topic}\"\nquery = {}\n",
            toml_string(query)
        );
    }
    text += "[lists]\n";
    text += lists;
    text
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// One rule `r` of topic `t`.
fn one_rule(query: &str, lists: &str) -> String {
    rule_file(&[("r", "t", query)], lists)
}

/// Compiles a rule file given as text (inline lists only), panicking with the report on errors.
fn engine(text: &str) -> Engine {
    Engine::from_toml("rules.toml", text).unwrap_or_else(|e| panic!("{text}\n{e}"))
}

/// Compiles a rule file whose list files are `files`, panicking with the report on errors.
fn engine_with(text: &str, files: &'static [(&'static str, &'static str)]) -> Engine {
    match Engine::check_with("rules.toml", text, &EmbeddedLists(files)) {
        (Some(engine), _) => engine,
        (None, diagnostics) => panic!("{text}\n{}", report(&diagnostics)),
    }
}

/// The diagnostics of a rule file given as text with list files `files`.
fn diagnostics_with(
    origin: &str,
    text: &str,
    files: &dyn ListFiles,
) -> (Option<Engine>, Vec<Diagnostic>) {
    Engine::check_with(origin, text, files)
}

fn report(diagnostics: &[Diagnostic]) -> String {
    diagnostics.iter().map(|d| d.to_string()).collect()
}

fn classify(engine: &Engine, title: &str, body: &str, encoding: OffsetEncoding) -> Classification {
    let article = Article {
        id: "a",
        title,
        body,
    };
    let options = ClassifyOptions {
        offset_encoding: encoding,
        ..Default::default()
    };
    engine.classify(&article, &options).expect("classify")
}

/// The spans of every rule that counted: `(rule id, spans)`.
fn evidence(
    engine: &Engine,
    title: &str,
    body: &str,
    encoding: OffsetEncoding,
) -> Vec<(String, Vec<Span>)> {
    classify(engine, title, body, encoding)
        .topics
        .into_iter()
        .flat_map(|t| t.evidence)
        .map(|e| (e.rule_id.to_string(), e.spans))
        .collect()
}

/// A span as `(text, list, entry)`.
type Hit = (String, Option<String>, Option<String>);

fn hit(span: &Span) -> Hit {
    (
        span.text.clone(),
        span.list.as_deref().map(str::to_owned),
        span.list_entry.as_deref().map(str::to_owned),
    )
}

/// The spans of rule `rule` as `(text, list, entry)`, empty when it did not count.
fn hits(engine: &Engine, rule: &str, title: &str, body: &str) -> Vec<Hit> {
    evidence(engine, title, body, OffsetEncoding::Utf8)
        .into_iter()
        .filter(|(r, _)| r == rule)
        .flat_map(|(_, spans)| spans.iter().map(hit).collect::<Vec<_>>())
        .collect()
}

fn listed(text: &str, list: &str, entry: &str) -> Hit {
    (
        text.to_owned(),
        Some(list.to_owned()),
        Some(entry.to_owned()),
    )
}

fn plain(text: &str) -> Hit {
    (text.to_owned(), None, None)
}

/// Whether any rule fired.
fn fires(engine: &Engine, title: &str, body: &str) -> bool {
    !evidence(engine, title, body, OffsetEncoding::Utf8).is_empty()
}

/// The one diagnostic with `code`, panicking with all of them otherwise.
fn only<'a>(diagnostics: &'a [Diagnostic], code: &str) -> &'a Diagnostic {
    let found: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.code == code).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {code}, got:\n{}",
        report(diagnostics)
    );
    found[0]
}

/// `(file, line, column)` of a diagnostic.
fn at(d: &Diagnostic) -> (String, usize, usize) {
    let loc = d
        .location
        .as_ref()
        .unwrap_or_else(|| panic!("no location: {d}"));
    (loc.file.clone(), loc.line, loc.column)
}

/// 1-based line and column (code points) of the first occurrence of `needle` in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in:\n{text}"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..offset].chars().count() + 1)
}

/// Slices `text` by offsets in `encoding`.
fn slice(text: &str, encoding: OffsetEncoding, start: usize, end: usize) -> String {
    let mut out = String::new();
    let mut pos = 0;
    for c in text.chars() {
        if pos >= start && pos < end {
            out.push(c);
        }
        pos += encoding.width(c);
    }
    out
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A rule file and list files in a fresh temporary directory: `(dir, path of rules.toml)`.
fn on_disk(rules: &str, files: &[(&str, &[u8])]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (path, bytes) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, bytes).unwrap();
    }
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, rules).unwrap();
    (dir, path)
}

/// One list file at `.0` with the text `.1`.
struct OneFile(&'static str, String);

impl ListFiles for OneFile {
    fn read(&self, path: &str) -> Result<String, String> {
        if path == self.0 {
            Ok(self.1.clone())
        } else {
            Err(format!("{path}: no such list file"))
        }
    }
}

fn load_error(path: &Path) -> Vec<Diagnostic> {
    match Engine::from_path(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(EngineLoadError::Rules(e)) => e.diagnostics().to_vec(),
        Err(e) => panic!("{e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Entries
// ---------------------------------------------------------------------------------------------

/// Each entry form matches as the same query literal would: `(entry as written, body, span text
/// of the match or None)`. Evidence names the entry exactly as written.
#[test]
fn entry_forms_match_like_query_literals() {
    let table: &[(&str, &str, Option<&str>)] = &[
        // A word: the whole word, case-insensitively.
        (
            "Afghanistan",
            "Troops left AFGHANISTAN.",
            Some("AFGHANISTAN"),
        ),
        ("Afghanistan", "Afghan troops left.", None),
        ("nato", "the senator said", None),
        // Several words are a phrase: consecutive words.
        (
            "United Nations",
            "the United Nations said",
            Some("United Nations"),
        ),
        ("United Nations", "united, the nations", None),
        // Operators are plain words in an entry.
        (
            "Trinidad and Tobago",
            "from Trinidad and Tobago.",
            Some("Trinidad and Tobago"),
        ),
        ("Trinidad and Tobago", "from Trinidad or Tobago.", None),
        // Quotes are allowed and change nothing; curly quotes too.
        (
            "\"peace talks\"",
            "Peace talks resumed",
            Some("Peace talks"),
        ),
        (
            "“peace talks”",
            "peace. Talks resumed",
            Some("peace. Talks"),
        ),
        ("“peace talks”", "peace and talks", None),
        // A prefix wildcard at the end of a word, also inside a phrase.
        ("negotiat*", "Negotiations stalled", Some("Negotiations")),
        ("negotiat*", "a renegotiation", None),
        (
            "peace negotiat*",
            "the peace negotiators met",
            Some("peace negotiators"),
        ),
        // {Exact}: case-sensitive term and phrase; dotted acronyms match.
        ("{US}", "U.S. troops", Some("U.S.")),
        ("{US}", "US troops", Some("US")),
        ("{US}", "let us talk", None),
        (
            "{Security Council}",
            "the Security Council voted",
            Some("Security Council"),
        ),
        ("{Security Council}", "the security council voted", None),
        (
            "{\"Security Council\"}",
            "the Security Council voted",
            Some("Security Council"),
        ),
        ("{ WHO }", "the WHO said", Some("WHO")),
        ("{ WHO }", "who said", None),
        // A curly apostrophe in the entry matches a straight one in the text, and back.
        (
            "Côte d’Ivoire",
            "in Cote d'Ivoire today",
            Some("Cote d'Ivoire"),
        ),
        ("O'Brien", "said O’Brien", Some("O’Brien")),
        (
            "country’s leadership",
            "the country's leadership",
            Some("country's leadership"),
        ),
        // Accents are ignored (the rule set is not accent-sensitive), both ways.
        ("Chambéry", "in CHAMBERY", Some("CHAMBERY")),
        ("Sao Paulo", "in São Paulo", Some("São Paulo")),
        ("Straße", "the Strasse", Some("Strasse")),
        // Possessives match the bare word.
        ("Kazakhstan", "Kazakhstan’s leaders", Some("Kazakhstan’s")),
        // A hyphenated entry is a phrase.
        (
            "state-of-the-art",
            "state of the art",
            Some("state of the art"),
        ),
    ];
    for (entry, body, expected) in table {
        let want: Vec<Hit> = expected
            .iter()
            .map(|s| listed(s, "c", entry.trim()))
            .collect();
        // Inline.
        let text = one_rule("@c", &format!("c = [{}]\n", toml_string(entry)));
        let got = hits(&engine(&text), "r", "", body);
        assert_eq!(got, want, "inline entry {entry:?} on {body:?}");
        // A line of a list file.
        let text = one_rule("@c", "c = { file = \"c.txt\" }\n");
        let files = OneFile("c.txt", format!("# one entry\n{entry}\n"));
        let engine = match Engine::check_with("rules.toml", &text, &files) {
            (Some(engine), _) => engine,
            (None, diagnostics) => panic!("{entry:?}: {}", report(&diagnostics)),
        };
        let got = hits(&engine, "r", "", body);
        assert_eq!(got, want, "list file entry {entry:?} on {body:?}");
    }
}

/// `@name` is exactly the OR of its entries: the same spans on every text.
#[test]
fn list_reference_equals_the_or_of_its_entries() {
    let lists = r#"c = ["Afghanistan", "United Nations", "negotiat*", "{US}", "{Security Council}", "Côte d’Ivoire", "peace negotiat*"]
"#;
    let or = r#"Afghanistan OR "United Nations" OR negotiat* OR {US} OR {"Security Council"} OR "Côte d’Ivoire" OR "peace negotiat*""#;
    let with_list = engine(&one_rule("@c", lists));
    let with_or = engine(&one_rule(or, ""));
    let texts = [
        "",
        "Nothing here.",
        "The United Nations Security Council met in Afghanistan.",
        "U.S. negotiators and the us team; peace negotiations in Cote d'Ivoire.",
        "security council, united nations, AFGHANISTAN, Negotiate!",
        "peace. Negotiations. US. u.s.",
    ];
    for body in texts {
        for title in ["", "US talks"] {
            let spans = |e: &Engine| -> Vec<(rubric::Field, usize, usize, String)> {
                evidence(e, title, body, OffsetEncoding::Utf8)
                    .into_iter()
                    .flat_map(|(_, s)| s)
                    .map(|s| (s.field, s.start, s.end, s.text))
                    .collect()
            };
            assert_eq!(spans(&with_list), spans(&with_or), "{title:?} / {body:?}");
        }
    }
}

/// An inline array, an inline table with `entries` (and a description), and a list file with
/// comments, blank lines, indentation, CRLF line ends and no final newline define the same list.
#[test]
fn inline_array_inline_table_and_list_file_define_the_same_list() {
    const FILE: &str = "# Countries, one a line\r\n\r\n  Afghanistan  \r\n# a comment between entries\r\n\tUnited Nations\r\n   # an indented comment\r\n{US}\r\n\r\nnegotiat*";
    static FILES: [(&str, &str); 1] = [("lists/c.txt", FILE)];
    let forms = [
        r#"c = ["Afghanistan", "United Nations", "{US}", "negotiat*"]"#,
        r#"c = { entries = ["Afghanistan", "United Nations", "{US}", "negotiat*"], description = "countries" }"#,
        r#"c = { file = "lists/c.txt", description = "countries" }"#,
    ];
    let body = "U.S. negotiators at the United Nations spoke of Afghanistan.";
    let expected = vec![
        listed("U.S.", "c", "{US}"),
        listed("negotiators", "c", "negotiat*"),
        listed("United Nations", "c", "United Nations"),
        listed("Afghanistan", "c", "Afghanistan"),
    ];
    for form in forms {
        let engine = engine_with(&one_rule("@c", &format!("{form}\n")), &FILES);
        assert_eq!(engine.info().list_count, 1, "{form}");
        assert_eq!(engine.info().list_entry_count, 4, "{form}");
        assert_eq!(hits(&engine, "r", "", body), expected, "{form}");
        assert!(!fires(&engine, "", "A comment between entries."), "{form}");
    }
}

/// A list name may hold `.` and `-` (quoted as a TOML key, since a bare dotted key is a table
/// path), up to 128 bytes.
#[test]
fn list_names_with_dots_dashes_and_128_bytes() {
    let long = "n".repeat(128);
    let lists = format!("\"cameo.04-meet\" = [\"meet*\"]\n{long} = [\"talks\"]\n");
    let engine = engine(&one_rule(&format!("@cameo.04-meet OR @{long}"), &lists));
    assert_eq!(
        hits(&engine, "r", "", "They met for talks."),
        vec![listed("talks", &long, "talks")]
    );
    assert_eq!(
        hits(&engine, "r", "", "A meeting."),
        vec![listed("meeting", "cameo.04-meet", "meet*")]
    );
}

// ---------------------------------------------------------------------------------------------
// @name in every position of a query
// ---------------------------------------------------------------------------------------------

const POSITION_LISTS: &str = r#"c = ["France", "Germany", "{US}", "United Nations"]
m = ["meet*", "met", "talks", "negotiat*"]
sport = ["football", "World Cup"]
"#;

/// `(query, title, body, fires)`.
#[test]
fn list_reference_in_every_position() {
    let table: &[(&str, &str, &str, bool)] = &[
        // Alone.
        ("@c", "", "France said no.", true),
        ("@c", "", "French officials said no.", false),
        ("@c", "", "the us team", false),
        // Inside OR, on either side, and in a group.
        ("@c OR ceasefire", "", "a ceasefire", true),
        ("@c OR ceasefire", "", "Germany said", true),
        ("ceasefire OR @c", "", "Germany said", true),
        ("ceasefire OR @c", "", "nothing", false),
        (
            "(ceasefire OR @c) AND truce",
            "",
            "Germany wants a truce",
            true,
        ),
        (
            "(ceasefire OR @c) AND truce",
            "",
            "Germany wants peace",
            false,
        ),
        ("@c AND @m", "", "France held talks", true),
        ("@c AND @m", "", "France held a vote", false),
        // NEAR: left operand, right operand, both, phrases as entries, in an OR-group.
        ("@c NEAR/3 talks", "", "France held talks", true),
        ("@c NEAR/3 talks", "", "talks were held by France", true),
        (
            "@c NEAR/3 talks",
            "",
            "France and the other delegates held talks",
            false,
        ),
        ("talks NEAR/3 @c", "", "talks with France", true),
        (
            "talks NEAR/3 @c",
            "",
            "talks with the delegates of the French",
            false,
        ),
        ("@c NEAR/2 @m", "", "US officials met", true),
        ("@c NEAR/2 @m", "", "the United Nations held talks", true),
        (
            "@c NEAR/2 @m",
            "",
            "the United Nations, after a long day, held talks",
            false,
        ),
        ("(@c OR {EU}) NEAR/3 @m", "", "EU talks", true),
        ("(@c OR {EU}) NEAR/3 @m", "", "Germany negotiates", true),
        ("(@c OR {EU}) NEAR/3 @m", "", "eu talks", false),
        // The same word cannot be both operands (overlapping words do not count).
        ("@m NEAR/3 @m", "", "They met.", false),
        ("@m NEAR/3 @m", "", "They met for talks.", true),
        // ONEAR keeps the order.
        ("@c ONEAR/3 @m", "", "France met them", true),
        ("@m ONEAR/3 @c", "", "France met them", false),
        ("@m ONEAR/3 @c", "", "they met France", true),
        ("@c ONEAR/3 @m", "", "they met France", false),
        // Field scopes: a title-scoped list does not fire on the body, and back.
        ("title:@c", "France votes", "", true),
        ("title:@c", "", "France votes", false),
        ("title:@c", "Elections", "France votes", false),
        ("body:@c", "France votes", "", false),
        ("body:@c", "", "France votes", true),
        ("title:(@c OR ceasefire)", "Ceasefire", "France", true),
        ("title:(@c OR ceasefire)", "Elections", "France", false),
        ("title:@c AND body:@m", "France", "talks", true),
        ("title:@c AND body:@m", "talks", "France", false),
        ("title:@c NEAR/2 @m", "France holds talks", "", true),
        ("title:@c NEAR/2 @m", "France", "talks", false),
        ("title: @c", "France", "", true),
        // NOT: a list under AND NOT excludes, wherever its entry is.
        ("@m AND NOT @sport", "", "talks on trade", true),
        ("@m AND NOT @sport", "", "talks on the World Cup", false),
        ("@m AND NOT @sport", "Football", "talks", false),
        ("NOT @sport AND @c", "", "France", true),
        ("NOT @sport AND @c", "", "France football", false),
        ("@c AND NOT title:@sport", "Football", "France", false),
        ("@c AND NOT title:@sport", "", "France football", true),
        ("@m AND NOT (@sport OR @c)", "", "talks", true),
        ("@m AND NOT (@sport OR @c)", "", "US talks", false),
    ];
    for (query, title, body, expected) in table {
        let engine = engine(&one_rule(query, POSITION_LISTS));
        assert_eq!(
            fires(&engine, title, body),
            *expected,
            "{query} on title {title:?}, body {body:?}"
        );
    }
}

/// A rule with a list under NOT reports only the positive spans, never the excluded list.
#[test]
fn list_under_not_gives_no_evidence() {
    let engine = engine(&one_rule("@m AND NOT @sport", POSITION_LISTS));
    assert_eq!(
        hits(&engine, "r", "", "talks on trade, not football"),
        Vec::<Hit>::new(),
        "excluded"
    );
    assert_eq!(
        hits(&engine, "r", "", "talks on trade"),
        vec![listed("talks", "m", "talks")]
    );
}

/// Two rules (of two topics) share one list: both fire, and each names the list in its evidence.
#[test]
fn two_rules_share_one_list() {
    let text = rule_file(
        &[
            ("diplomacy.meet", "diplomacy", "@c NEAR/3 @m"),
            ("sport.intl", "sport", "@c AND football"),
        ],
        POSITION_LISTS,
    );
    let engine = engine(&text);
    // `sport` is the only list no rule names.
    let unused: Vec<&str> = engine
        .warnings()
        .iter()
        .filter(|w| w.code == "unused-list")
        .map(|w| w.message.as_str())
        .collect();
    assert_eq!(unused, ["no rule uses list `sport`"]);
    let body = "France met Germany after the football match.";
    assert_eq!(
        hits(&engine, "diplomacy.meet", "", body),
        vec![
            listed("France", "c", "France"),
            listed("met", "m", "met"),
            listed("Germany", "c", "Germany"),
        ]
    );
    assert_eq!(
        hits(&engine, "sport.intl", "", body),
        vec![
            listed("France", "c", "France"),
            listed("Germany", "c", "Germany"),
            plain("football"),
        ]
    );
}

/// A rule's `examples` are checked with its lists, inline and from list files.
#[test]
fn examples_are_checked_with_lists() {
    static FILES: [(&str, &str); 1] = [("c.txt", "France\nGermany\n")];
    let rule = |example: &str| {
        format!(
            "[rule_set]\nname = \"x\"\nversion = \"1\"\n[[topics]]\nid = \"t\"\n\
             [[rules]]\nid = \"r\"\ntopic = \"t\"\nquery = '@c NEAR/3 @m'\n\
             examples = {{ match = [\"{example}\"], no_match = [\"France won.\"] }}\n\
             [lists]\nc = {{ file = \"c.txt\" }}\nm = [\"talks\"]\n"
        )
    };
    engine_with(&rule("Talks in Germany."), &FILES);
    let (engine, diagnostics) = diagnostics_with(
        "rules.toml",
        &rule("Talks in Spain."),
        &EmbeddedLists(&FILES),
    );
    assert!(engine.is_none());
    let d = only(&diagnostics, "example");
    assert_eq!(d.rule.as_deref(), Some("r"));
}

// ---------------------------------------------------------------------------------------------
// Evidence
// ---------------------------------------------------------------------------------------------

/// Span offsets of list matches in UTF-8 bytes, UTF-16 code units and code points, after
/// multi-byte text (a 4-byte emoji, accents, a curly apostrophe), in the title and the body.
#[test]
fn list_spans_have_exact_offsets_in_every_encoding() {
    let engine = engine(&one_rule(
        "@c",
        "c = [\"Côte d’Ivoire\", \"{US}\", \"São Tomé\"]\n",
    ));
    let title = "🎉 Sao Tome";
    let body = "Über 🎉 die Gespräche: Cote d'Ivoire et les U.S.";
    // (field text, span text): offsets computed from the text itself.
    let expected_texts = [
        (rubric::Field::Title, "Sao Tome", "São Tomé"),
        (rubric::Field::Body, "Cote d'Ivoire", "Côte d’Ivoire"),
        (rubric::Field::Body, "U.S.", "{US}"),
    ];
    for encoding in [
        OffsetEncoding::Utf8,
        OffsetEncoding::Utf16,
        OffsetEncoding::CodePoint,
    ] {
        let spans: Vec<Span> = evidence(&engine, title, body, encoding)
            .into_iter()
            .flat_map(|(_, s)| s)
            .collect();
        assert_eq!(spans.len(), 3, "{encoding:?}: {spans:?}");
        for (span, (field, text, entry)) in spans.iter().zip(expected_texts) {
            let field_text = if field == rubric::Field::Title {
                title
            } else {
                body
            };
            let byte = field_text.find(text).unwrap();
            let units = |s: &str| match encoding {
                OffsetEncoding::Utf8 => s.len(),
                OffsetEncoding::Utf16 => s.encode_utf16().count(),
                OffsetEncoding::CodePoint => s.chars().count(),
            };
            let start = units(&field_text[..byte]);
            let end = start + units(text);
            assert_eq!(
                (span.field, span.start, span.end, span.text.as_str()),
                (field, start, end, text),
                "{encoding:?}"
            );
            assert_eq!(slice(field_text, encoding, span.start, span.end), text);
            assert_eq!(span.list.as_deref(), Some("c"));
            assert_eq!(span.list_entry.as_deref(), Some(entry));
        }
    }
    // The numbers themselves, once, for the body's "Cote d'Ivoire": "Über 🎉 die Gespräche: " is
    // 27 bytes, 23 UTF-16 units (the emoji counts 2), 22 code points.
    let spans = |e| evidence(&engine, "", body, e).remove(0).1;
    assert_eq!(
        (
            spans(OffsetEncoding::Utf8)[0].start,
            spans(OffsetEncoding::Utf8)[0].end
        ),
        (27, 40)
    );
    assert_eq!(
        (
            spans(OffsetEncoding::Utf16)[0].start,
            spans(OffsetEncoding::Utf16)[0].end
        ),
        (23, 36)
    );
    assert_eq!(
        (
            spans(OffsetEncoding::CodePoint)[0].start,
            spans(OffsetEncoding::CodePoint)[0].end
        ),
        (22, 35)
    );
}

/// Evidence names the entry as written in the list (trimmed), also when several entries could
/// name a match: the longest match wins, and between entries that normalize alike, the first.
#[test]
fn evidence_names_the_entry_as_written() {
    let table: &[(&str, &str, Vec<Hit>)] = &[
        (
            r#"c = ["{US}"]"#,
            "U.S. troops",
            vec![listed("U.S.", "c", "{US}")],
        ),
        (
            r#"c = ["negotiat*"]"#,
            "Negotiations",
            vec![listed("Negotiations", "c", "negotiat*")],
        ),
        (
            r#"c = ["  “peace talks”  "]"#,
            "Peace talks",
            vec![listed("Peace talks", "c", "“peace talks”")],
        ),
        (
            r#"c = ["{ Security Council }"]"#,
            "Security Council",
            vec![listed("Security Council", "c", "{ Security Council }")],
        ),
        // The longer of two overlapping entries is the match.
        (
            r#"c = ["peace", "peace talks"]"#,
            "peace talks",
            vec![listed("peace talks", "c", "peace talks")],
        ),
        (
            r#"c = ["peace talks", "peace"]"#,
            "peace talks",
            vec![listed("peace talks", "c", "peace talks")],
        ),
        // Entries that normalize to the same literal: the first written is named.
        (
            r#"c = ["Security Council", "security council", "SECURITY COUNCIL"]"#,
            "security council",
            vec![listed("security council", "c", "Security Council")],
        ),
        (
            r#"c = ["Chambéry", "Chambery"]"#,
            "Chambery",
            vec![listed("Chambery", "c", "Chambéry")],
        ),
    ];
    for (lists, body, expected) in table {
        let engine = engine(&one_rule("@c", &format!("{lists}\n")));
        assert_eq!(
            &hits(&engine, "r", "", body),
            expected,
            "{lists} on {body:?}"
        );
    }
}

/// A rule naming two lists that share an entry: the span names the first of them in the file.
#[test]
fn entry_in_two_lists_is_named_by_the_first_list() {
    let engine = engine(&one_rule(
        "@b OR @a",
        "a = [\"France\", \"Paris\"]\nb = [\"France\", \"Berlin\"]\n",
    ));
    assert_eq!(
        hits(&engine, "r", "", "France, Berlin and Paris"),
        vec![
            listed("France", "a", "France"),
            listed("Berlin", "b", "Berlin"),
            listed("Paris", "a", "Paris"),
        ]
    );
}

/// In a NEAR, the list operand's span names the list, the plain operand's span does not.
#[test]
fn near_evidence_names_only_the_list_operand() {
    let engine = engine(&one_rule("@c NEAR/3 talks", POSITION_LISTS));
    assert_eq!(
        hits(&engine, "r", "", "France held talks"),
        vec![listed("France", "c", "France"), plain("talks")]
    );
}

/// Regression: `title:@c AND France` on title "France" and body "France". The body's "France"
/// matched the plain literal `France`, not the title-scoped `@c`, so its span must not name the
/// list (today it does: evidence names a list wherever one of the rule's lists has an entry at the
/// span, whatever field the rule scoped the list to).
#[test]
fn title_scoped_list_does_not_name_a_body_match_of_a_plain_literal() {
    let engine = engine(&one_rule("title:@c AND France", "c = [\"France\"]\n"));
    let spans: Vec<(rubric::Field, Hit)> =
        evidence(&engine, "France", "France", OffsetEncoding::Utf8)
            .into_iter()
            .flat_map(|(_, s)| s)
            .map(|s| (s.field, hit(&s)))
            .collect();
    assert_eq!(
        spans,
        [
            (rubric::Field::Title, listed("France", "c", "France")),
            (rubric::Field::Body, plain("France")),
        ]
    );
}

/// JSON (the CLI's output) carries `list` and `listEntry` on list matches and leaves them out
/// elsewhere.
#[test]
fn json_evidence_has_list_and_list_entry() {
    let engine = engine(&one_rule("@c NEAR/3 talks", POSITION_LISTS));
    let result = classify(&engine, "", "U.S. talks", OffsetEncoding::Utf8);
    let json = serde_json::to_value(&result).unwrap();
    let spans = &json["topics"][0]["evidence"][0]["spans"];
    assert_eq!(spans[0]["text"], "U.S.", "{spans}");
    assert_eq!(
        (&spans[0]["start"], &spans[0]["end"]),
        (&0.into(), &4.into()),
        "{spans}"
    );
    assert_eq!(spans[0]["list"], "c", "{spans}");
    assert_eq!(spans[0]["listEntry"], "{US}", "{spans}");
    assert_eq!(spans[1]["text"], "talks", "{spans}");
    assert!(spans[1].get("list").is_none(), "{spans}");
    assert!(spans[1].get("listEntry").is_none(), "{spans}");
}

/// Overlap between a list entry and a direct literal of another rule.
#[test]
fn entry_that_is_also_a_direct_literal_of_another_rule() {
    let lists = "c = [\"France\", \"Germany\"]\n";
    // Different topics: both fire; only the list rule's span names the list.
    let engine_two_topics = engine(&rule_file(
        &[("by.list", "a", "@c"), ("by.word", "b", "France")],
        lists,
    ));
    assert_eq!(
        hits(&engine_two_topics, "by.list", "", "France"),
        vec![listed("France", "c", "France")]
    );
    assert_eq!(
        hits(&engine_two_topics, "by.word", "", "France"),
        vec![plain("France")]
    );

    // One topic: the overlapping match counts once, for the heavier rule.
    let one_topic = |word_weight: f64| {
        let mut text = rule_file(&[("by.list", "t", "@c"), ("by.word", "t", "France")], lists);
        text = text.replace(
            "query = \"France\"\n",
            &format!("query = \"France\"\nweight = {word_weight:?}\n"),
        );
        engine(&text)
    };
    let heavier_word = one_topic(2.0);
    let result = classify(&heavier_word, "", "France", OffsetEncoding::Utf8);
    assert_eq!(result.topics[0].score, 2.0);
    assert_eq!(
        hits(&heavier_word, "by.word", "", "France"),
        vec![plain("France")]
    );
    assert_eq!(
        hits(&heavier_word, "by.list", "", "France"),
        Vec::<Hit>::new()
    );
    let lighter_word = one_topic(0.5);
    let result = classify(&lighter_word, "", "France", OffsetEncoding::Utf8);
    assert_eq!(result.topics[0].score, 1.0);
    assert_eq!(
        hits(&lighter_word, "by.list", "", "France"),
        vec![listed("France", "c", "France")]
    );
    // Both a list and its entry in one rule: one span.
    let both = engine(&one_rule("@c OR France", lists));
    assert_eq!(
        hits(&both, "r", "", "France"),
        vec![listed("France", "c", "France")]
    );
    // An entry and NOT its list contradict each other.
    let contradiction = engine(&one_rule("France AND NOT @c", lists));
    assert!(!fires(&contradiction, "", "France"));
    assert!(
        contradiction
            .warnings()
            .iter()
            .any(|w| w.code == "unsatisfiable"),
        "{}",
        report(contradiction.warnings())
    );
}

/// A penalty rule (negative weight) with a list: it counts with every match, naming the entries.
#[test]
fn penalty_rule_with_a_list() {
    let text = rule_file(
        &[("r", "t", "@m"), ("penalty", "t", "@sport")],
        POSITION_LISTS,
    )
    .replace(
        "query = \"@sport\"\n",
        "query = \"@sport\"\nweight = -0.5\n",
    );
    let engine = engine(&text);
    let result = classify(&engine, "", "talks on the World Cup", OffsetEncoding::Utf8);
    assert_eq!(result.topics[0].score, 0.5);
    assert_eq!(
        hits(&engine, "penalty", "", "talks on the World Cup"),
        vec![listed("World Cup", "sport", "World Cup")]
    );
}

// ---------------------------------------------------------------------------------------------
// Diagnostics
// ---------------------------------------------------------------------------------------------

/// `@name` of no list: error unknown-list at the `@`, with "did you mean" and the lists there are.
#[test]
fn unknown_list_is_an_error_with_did_you_mean() {
    let text = one_rule(
        "@countrys NEAR/3 talks",
        "countries = [\"France\"]\nmeet = [\"met\"]\n",
    );
    let (engine, diagnostics) = Engine::check("rules.toml", &text);
    assert!(engine.is_none());
    let d = only(&diagnostics, "unknown-list");
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.rule.as_deref(), Some("r"));
    let (line, column) = position(&text, "@countrys");
    assert_eq!(at(d), ("rules.toml".to_owned(), line, column));
    let help = d.help.as_deref().unwrap();
    assert!(help.contains("did you mean @countries?"), "{help}");
    assert!(help.contains("@countries, @meet"), "{help}");
    // A rule naming an unknown list is not also a reason to call the others unused.
    assert!(
        diagnostics.iter().all(|d| d.code != "unused-list"),
        "{}",
        report(&diagnostics)
    );

    // Nothing close: the lists are named; no lists at all: how to define one.
    let (_, diagnostics) = Engine::check(
        "rules.toml",
        &one_rule("@zzz", "countries = [\"France\"]\n"),
    );
    let help = only(&diagnostics, "unknown-list").help.clone().unwrap();
    assert!(!help.contains("did you mean"), "{help}");
    assert!(help.contains("@countries"), "{help}");
    let (_, diagnostics) = Engine::check("rules.toml", &one_rule("@zzz", ""));
    let help = only(&diagnostics, "unknown-list").help.clone().unwrap();
    assert!(help.contains("[lists]"), "{help}");
}

/// A list no rule names: warning unused-list at its name; the set still loads.
#[test]
fn unused_list_is_a_warning_at_its_name() {
    let text = one_rule("@used", "used = [\"France\"]\n  spare = [\"Germany\"]\n");
    let (engine, diagnostics) = Engine::check("rules.toml", &text);
    let engine = engine.expect("warnings only");
    let d = only(&diagnostics, "unused-list");
    assert_eq!(d.severity, Severity::Warning);
    assert!(d.message.contains("spare"), "{}", d.message);
    let (line, column) = position(&text, "spare");
    assert_eq!(at(d), ("rules.toml".to_owned(), line, column));
    assert_eq!(column, 3);
    assert!(engine.warnings().iter().any(|w| w.code == "unused-list"));
}

/// A list without entries (inline, or a list file of comments and blank lines): warning
/// empty-list at its name; `@name` then never matches.
#[test]
fn empty_list_is_a_warning_at_its_name() {
    static FILES: [(&str, &str); 1] = [("empty.txt", "# nothing yet\n\n   \n")];
    for lists in [
        "empty = []\n",
        "empty = { entries = [] }\n",
        "empty = { file = \"empty.txt\" }\n",
    ] {
        let text = one_rule("@empty OR talks", lists);
        let (engine, diagnostics) = diagnostics_with("rules.toml", &text, &EmbeddedLists(&FILES));
        let engine = engine.unwrap_or_else(|| panic!("{}", report(&diagnostics)));
        let d = only(&diagnostics, "empty-list");
        assert_eq!(d.severity, Severity::Warning);
        let (line, column) = position(&text, "empty = ");
        assert_eq!(at(d), ("rules.toml".to_owned(), line, column), "{lists}");
        assert!(diagnostics.iter().all(|d| d.code != "unused-list"));
        assert!(!fires(&engine, "", "nothing yet"));
        assert!(fires(&engine, "", "talks"));
    }
}

/// An entry without letters or digits: warning list-entry-never-matches at the entry, in the list
/// file (line and column) or in the rule file.
#[test]
fn entry_that_never_matches_is_a_warning_at_the_entry() {
    const FILE: &str = "France\n  ...\n";
    static FILES: [(&str, &str); 1] = [("lists/c.txt", FILE)];
    let text = one_rule(
        "@c OR @d",
        "c = { file = \"lists/c.txt\" }\nd = [\"Germany\", \"—\"]\n",
    );
    let (engine, diagnostics) = diagnostics_with("dir/rules.toml", &text, &EmbeddedLists(&FILES));
    let engine = engine.unwrap_or_else(|| panic!("{}", report(&diagnostics)));
    let found: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| d.code == "list-entry-never-matches")
        .collect();
    assert_eq!(found.len(), 2, "{}", report(&diagnostics));
    assert!(found.iter().all(|d| d.severity == Severity::Warning));
    assert_eq!(at(found[0]), ("dir/lists/c.txt".to_owned(), 2, 3));
    assert!(found[0].message.contains("`...`"), "{}", found[0].message);
    let (line, column) = position(&text, "\"—\"");
    assert_eq!(at(found[1]), ("dir/rules.toml".to_owned(), line, column));
    assert!(fires(&engine, "", "France"));
}

/// Entries that cannot be read or compiled: errors at their line and column in the list file,
/// each reported (loading does not stop at the first).
#[test]
fn bad_entries_in_a_list_file_are_errors_at_line_and_column() {
    const FILE: &str =
        "# bad entries\nFrance\n{US\n  @other\nUS}\n{nat*}\n   ne*\nneg*otiate\npeace ne*\n{}\n";
    static FILES: [(&str, &str); 1] = [("lists/c.txt", FILE)];
    let text = one_rule("@c", "c = { file = \"lists/c.txt\" }\nother = [\"x\"]\n");
    let (engine, diagnostics) = diagnostics_with("dir/rules.toml", &text, &EmbeddedLists(&FILES));
    assert!(engine.is_none());
    let file = "dir/lists/c.txt".to_owned();
    let mut got: Vec<(&str, (String, usize, usize))> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.code, at(d)))
        .collect();
    got.sort_by_key(|(_, (_, line, column))| (*line, *column));
    assert_eq!(
        got,
        vec![
            ("list-entry", (file.clone(), 3, 1)),      // {US: unterminated
            ("list-entry", (file.clone(), 4, 3)),      // @other: lists do not nest
            ("list-entry", (file.clone(), 5, 1)),      // US}: unmatched brace
            ("list-entry", (file.clone(), 6, 1)),      // {nat*}: wildcard in an exact term
            ("wildcard-prefix", (file.clone(), 7, 4)), // ne*: at the prefix
            ("wildcard", (file.clone(), 8, 4)),        // neg*otiate: at the `*`
            ("wildcard-prefix", (file.clone(), 9, 7)), // peace ne*: at `ne*`
            ("list-entry", (file.clone(), 10, 1)),     // {}: no words
        ],
        "{}",
        report(&diagnostics)
    );
    let prefix = diagnostics
        .iter()
        .find(|d| d.code == "wildcard-prefix")
        .unwrap();
    assert!(prefix.message.contains("list `c`"), "{}", prefix.message);
    assert_eq!(prefix.location.as_ref().unwrap().width, 3);
    assert_eq!(prefix.location.as_ref().unwrap().line_text, "   ne*");
    let nested = diagnostics
        .iter()
        .find(|d| d.code == "list-entry" && d.message.contains("@other"))
        .unwrap();
    assert!(nested.help.as_deref().unwrap().contains("(@a OR @b)"));
}

/// Bad inline entries: errors at the entry's string in the rule file.
#[test]
fn bad_inline_entries_are_errors_in_the_rule_file() {
    let text = one_rule("@c", "c = [\"France\", \"ne*\", \"{US\"]\n");
    let (engine, diagnostics) = Engine::check("rules.toml", &text);
    assert!(engine.is_none());
    let d = only(&diagnostics, "wildcard-prefix");
    let (line, column) = position(&text, "\"ne*\"");
    assert_eq!(at(d), ("rules.toml".to_owned(), line, column));
    let d = only(&diagnostics, "list-entry");
    let (line, column) = position(&text, "\"{US\"");
    assert_eq!(at(d), ("rules.toml".to_owned(), line, column));
}

/// Bad list definitions: each is a clear error at its place in the rule file.
#[test]
fn bad_list_definitions_are_errors() {
    let long = "n".repeat(129);
    // (lists, code, text at the location, message contains)
    let table: Vec<(String, &str, String, &str)> = vec![
        (
            "\"my list\" = [\"x\"]\n".into(),
            "invalid-id",
            "\"my list\"".into(),
            "invalid list name",
        ),
        (
            format!("{long} = [\"x\"]\n"),
            "invalid-id",
            long.clone(),
            "invalid list name",
        ),
        (
            "c = { file = \"c.txt\", entries = [\"x\"] }\n".into(),
            "toml",
            "{ file".into(),
            "both `file` and `entries`",
        ),
        (
            "c = { description = \"x\" }\n".into(),
            "toml",
            "{ description".into(),
            "neither `file` nor `entries`",
        ),
        (
            "c = { entrys = [\"x\"] }\n".into(),
            "toml",
            "entrys".into(),
            "unknown field",
        ),
        ("c = 3\n".into(), "toml", "3".into(), "list `c` is a"),
        ("c = [\"x\", 3]\n".into(), "toml", "".into(), ""),
    ];
    for (lists, code, there, message) in table {
        let text = one_rule("talks", &lists);
        let (engine, diagnostics) = Engine::check("rules.toml", &text);
        assert!(engine.is_none(), "{lists}");
        let d = only(&diagnostics, code);
        assert!(d.message.contains(message), "{lists}: {}", d.message);
        if !there.is_empty() {
            let (line, column) = position(&text, &there);
            assert_eq!(at(d), ("rules.toml".to_owned(), line, column), "{lists}");
        }
    }
    // `[lists]` that is not a table.
    let text = "lists = 3\n[rule_set]\nname = \"x\"\nversion = \"1\"\n[[topics]]\nid = \"t\"\n[[rules]]\nid = \"r\"\ntopic = \"t\"\nquery = 'x'\n";
    let (_, diagnostics) = Engine::check("rules.toml", text);
    assert!(
        diagnostics.iter().any(|d| d.code == "toml"),
        "{}",
        report(&diagnostics)
    );
}

/// A list file that does not exist: error list-file at the `file` value, naming the path.
#[test]
fn missing_list_file_is_an_error_at_the_file_key() {
    let (_dir, path) = on_disk(
        &one_rule("@c", "c = { file = \"lists/missing.txt\" }\n"),
        &[],
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let diagnostics = load_error(&path);
    let d = only(&diagnostics, "list-file");
    assert_eq!(d.severity, Severity::Error);
    let (line, column) = position(&text, "\"lists/missing.txt\"");
    assert_eq!(at(d), (path.display().to_string(), line, column));
    assert!(d.message.contains("missing.txt"), "{}", d.message);
    assert!(d
        .help
        .as_deref()
        .unwrap()
        .contains("relative to the directory of the rule file"));
    // The rule naming it is not reported as naming an unknown list too.
    assert!(
        diagnostics.iter().all(|d| d.code != "unknown-list"),
        "{}",
        report(&diagnostics)
    );
}

/// A list file given with a rule set that is text (NoListFiles, `Engine::from_toml`): a clear
/// error that says why.
#[test]
fn list_file_with_rules_given_as_text_is_a_clear_error() {
    let text = one_rule("@c", "c = { file = \"lists/c.txt\" }\n");
    for (engine, diagnostics) in [
        Engine::check("rules.toml", &text),
        Engine::check_with("rules.toml", &text, &NoListFiles),
    ] {
        assert!(engine.is_none());
        let d = only(&diagnostics, "list-file");
        assert!(d.message.contains("given as text"), "{}", d.message);
        let (line, column) = position(&text, "\"lists/c.txt\"");
        assert_eq!(at(d), ("rules.toml".to_owned(), line, column));
    }
    let err = Engine::from_toml("rules.toml", &text).unwrap_err();
    assert!(err.to_string().contains("list-file"), "{err}");
    // An embedded table without the file says so too.
    let (_, diagnostics) = Engine::check_with("rules.toml", &text, &EmbeddedLists(&[]));
    assert!(only(&diagnostics, "list-file")
        .message
        .contains("not among the embedded list files"));
}

/// List files that exist but cannot be used: not UTF-8 (with line and column of the bad byte), a
/// directory, larger than 64 MiB.
#[test]
fn unreadable_list_files_are_errors_that_say_why() {
    let big = tempfile::tempdir().unwrap();
    /// Makes the list file at the path.
    type Make = fn(&Path);
    // (list file name, how to make it, what the error says)
    let cases: [(&str, Make, &str); 3] = [
        (
            "latin1.txt",
            |p| std::fs::write(p, b"France\nCh\xe2teau\n").unwrap(),
            "not UTF-8: invalid byte at line 2, column 3",
        ),
        (
            "a_directory",
            |p| std::fs::create_dir(p).unwrap(),
            "not a regular file",
        ),
        (
            "huge.txt",
            |p| {
                let f = std::fs::File::create(p).unwrap();
                f.set_len(64 * 1024 * 1024 + 1).unwrap(); // sparse
            },
            "more than the limit of 67108864",
        ),
    ];
    for (name, make, message) in cases {
        let dir = big.path().join(name.replace('.', "_"));
        std::fs::create_dir(&dir).unwrap();
        make(&dir.join(name));
        let path = dir.join("rules.toml");
        std::fs::write(
            &path,
            one_rule("@c", &format!("c = {{ file = \"{name}\" }}\n")),
        )
        .unwrap();
        let diagnostics = load_error(&path);
        let d = only(&diagnostics, "list-file");
        assert!(d.message.contains(message), "{name}: {}", d.message);
    }
}

/// At most 1,000,000 entries in all the lists of a rule set.
#[test]
fn more_than_a_million_entries_is_an_error() {
    struct Generated;
    impl ListFiles for Generated {
        fn read(&self, path: &str) -> Result<String, String> {
            let n: usize = path.trim_end_matches(".txt").parse().unwrap();
            Ok((0..n).map(|i| format!("w{i}\n")).collect())
        }
    }
    let text = one_rule(
        "@a OR @b",
        "a = { file = \"500000.txt\" }\nb = { file = \"500001.txt\" }\n",
    );
    let (_, diagnostics) = RuleSet::load("rules.toml", &text, &Generated);
    let d = only(&diagnostics, "too-many-rules");
    assert!(d.message.contains("1000001 list entries"), "{}", d.message);
    let text = one_rule(
        "@a OR @b",
        "a = { file = \"500000.txt\" }\nb = { file = \"500000.txt\" }\n",
    );
    let (set, diagnostics) = RuleSet::load("rules.toml", &text, &Generated);
    assert!(diagnostics.is_empty(), "{}", report(&diagnostics));
    assert_eq!(
        set.unwrap()
            .lists
            .iter()
            .map(|l| l.entries.len())
            .sum::<usize>(),
        1_000_000
    );
}

/// Regression: a list file saved with a UTF-8 byte order mark (as Windows Notepad does) whose first
/// line is a comment: the comment must stay a comment, not become an entry.
#[test]
fn list_file_with_byte_order_mark_keeps_its_first_comment() {
    static FILES: [(&str, &str); 1] = [("c.txt", "\u{FEFF}# countries\nFrance\n")];
    let engine = engine_with(&one_rule("@c", "c = { file = \"c.txt\" }\n"), &FILES);
    assert_eq!(engine.info().list_entry_count, 1);
    assert!(!fires(&engine, "", "The countries met."));
    assert!(fires(&engine, "", "France"));
}

/// Regression: a list file with a byte order mark before its first entry: the entry still matches
/// and is named without the mark.
#[test]
fn list_file_with_byte_order_mark_before_an_entry() {
    static FILES: [(&str, &str); 1] = [("c.txt", "\u{FEFF}France\nGermany\n")];
    let engine = engine_with(&one_rule("@c", "c = { file = \"c.txt\" }\n"), &FILES);
    assert_eq!(
        hits(&engine, "r", "", "France"),
        vec![listed("France", "c", "France")]
    );
}

// ---------------------------------------------------------------------------------------------
// Files on disk, content hash, scale
// ---------------------------------------------------------------------------------------------

/// `Engine::from_path` reads list files relative to the rule file, wherever the process runs.
#[test]
fn from_path_reads_list_files_beside_the_rule_file() {
    let (_dir, path) = on_disk(
        &one_rule(
            "@c NEAR/3 @m",
            "c = { file = \"lists/countries.txt\" }\nm = { file = \"meet.txt\" }\n",
        ),
        &[
            ("lists/countries.txt", b"# countries\nFrance\n{US}\n"),
            ("meet.txt", b"meet*\ntalks\n"),
        ],
    );
    let engine = Engine::from_path(&path).unwrap();
    assert_eq!(engine.info().list_count, 2);
    assert_eq!(engine.info().list_entry_count, 4);
    assert_eq!(
        hits(&engine, "r", "", "U.S. officials meeting"),
        vec![listed("U.S.", "c", "{US}"), listed("meeting", "m", "meet*")]
    );
}

/// The content hash: of the rule file alone without list files; with them, of the rule file and,
/// per list file, NUL, its path as written, NUL, its bytes. It changes when only a list file
/// changes, and not when nothing does.
#[test]
fn content_hash_covers_list_files() {
    let plain_rules = one_rule("talks", "");
    let (_d, path) = on_disk(&plain_rules, &[]);
    assert_eq!(
        Engine::from_path(&path).unwrap().info().content_sha256,
        sha256_hex(&[plain_rules.as_bytes()])
    );

    let rules = one_rule(
        "@c OR @m",
        "c = { file = \"lists/c.txt\" }\nm = [\"talks\"]\n",
    );
    let (dir, path) = on_disk(&rules, &[("lists/c.txt", b"France\n")]);
    let first = Engine::from_path(&path)
        .unwrap()
        .info()
        .content_sha256
        .clone();
    assert_eq!(
        first,
        sha256_hex(&[rules.as_bytes(), b"\0", b"lists/c.txt", b"\0", b"France\n"])
    );
    // Nothing changed: the same hash.
    assert_eq!(
        Engine::from_path(&path).unwrap().info().content_sha256,
        first
    );
    // Only the list file changed: another hash, and the new entry matches.
    std::fs::write(dir.path().join("lists/c.txt"), "France\nGermany\n").unwrap();
    let engine = Engine::from_path(&path).unwrap();
    assert_ne!(engine.info().content_sha256, first);
    assert!(fires(&engine, "", "Germany"));
    // Back as it was: the first hash again.
    std::fs::write(dir.path().join("lists/c.txt"), "France\n").unwrap();
    assert_eq!(
        Engine::from_path(&path).unwrap().info().content_sha256,
        first
    );
    // RuleSet and Engine agree.
    let (set, _) = RuleSet::load(&path.display().to_string(), &rules, &ListDir::beside(&path));
    assert_eq!(set.unwrap().content_sha256, first);
}

/// A generated list file of 50,000 entries loads and matches its last entry, naming it.
#[test]
fn fifty_thousand_entry_list_file_loads_and_matches_its_last_entry() {
    let mut list = String::from("# generated\n");
    for i in 0..50_000 {
        match i % 4 {
            0 => list += &format!("Town{i:05}\n"),
            1 => list += &format!("Port of Town{i:05}\n"),
            2 => list += &format!("{{TWN{i:05}}}\n"),
            _ => list += &format!("Townprefix{i:05}*\n"),
        }
    }
    list += "Last Place On The List\n";
    let rules = one_rule(
        "@places NEAR/3 talks",
        "places = { file = \"places.txt\" }\n",
    );
    let (_dir, path) = on_disk(&rules, &[("places.txt", list.as_bytes())]);
    let started = std::time::Instant::now();
    let engine = Engine::from_path(&path).unwrap();
    eprintln!("50,001 entries compiled in {:?}", started.elapsed());
    assert_eq!(engine.info().list_entry_count, 50_001);
    let body = "Talks at the last place on the list.";
    assert_eq!(
        hits(&engine, "r", "", body),
        vec![
            plain("Talks"),
            listed("last place on the list", "places", "Last Place On The List"),
        ]
    );
    assert_eq!(
        hits(&engine, "r", "", "TWN49998 talks; townprefix49999ville"),
        vec![
            listed("TWN49998", "places", "{TWN49998}"),
            plain("talks"),
            listed("townprefix49999ville", "places", "Townprefix49999*"),
        ]
    );
    assert!(!fires(&engine, "", "twn49998 talks"));
}

/// Regression (attacker's review, 2026-12, with rule files): a list file that is a FIFO blocked
/// the load for ever (it was opened before its type was checked), and one that is a device was
/// refused only after opening it. List files and rule files share one reader
/// (`rubric::rules::read_text_file`): what is not a regular file is refused without being
/// opened, with its kind.
#[cfg(unix)]
#[test]
fn list_files_that_are_fifos_or_devices_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.txt");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    let mut cases = vec![("/dev/zero", "not a regular file (a character device)")];
    if made.is_ok_and(|s| s.success()) {
        cases.push(("fifo.txt", "not a regular file (a FIFO)"));
    } else {
        eprintln!("NOTICE: mkfifo failed; the FIFO case is skipped");
    }
    let path = dir.path().join("rules.toml");
    for (file, message) in cases {
        std::fs::write(
            &path,
            one_rule("@c", &format!("c = {{ file = \"{file}\" }}\n")),
        )
        .unwrap();
        // On a thread, so that a regression (a read that blocks) fails instead of hanging.
        let (send, receive) = std::sync::mpsc::channel();
        let p = path.clone();
        std::thread::spawn(move || {
            let _ = send.send(load_error(&p));
        });
        let diagnostics = receive
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{file}: still reading after 30 s"));
        let d = only(&diagnostics, "list-file");
        assert!(d.message.contains(message), "{file}: {}", d.message);
        // Not reported a second time as an unknown list.
        assert!(diagnostics.iter().all(|d| d.code != "unknown-list"));
    }
}
