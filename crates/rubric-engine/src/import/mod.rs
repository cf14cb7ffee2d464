//! Importers that turn rule sets written for other tools into rubric rule files and list files.
//!
//! Two formats so far, both from the PETRARCH2 political event coder (openeventdata/petrarch2,
//! MIT licence):
//! - the issue-coding dictionary (`Phoenix.IssueCoding.txt`) becomes a rule file, see [`phoenix`];
//! - the actor, agent and verb dictionaries (`Phoenix.Countries.actors.txt`, `Phoenix.agents.txt`,
//!   `CAMEO.2.0.txt`, ...) become list files for `[lists]`, see [`petrarch`].

pub mod petrarch;
pub mod petrarch_words;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::text::{tokenize, NormalizeOptions};

/// Something the importer could not translate exactly, or chose to drop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportNote {
    /// The source file, as the caller named it ([`phoenix`]'s `source_name`; for [`petrarch`], the
    /// dictionary's file name, such as `CAMEO.2.0.txt`).
    pub file: String,
    /// 1-based line of the source file.
    pub line: usize,
    /// What happened, in a sentence.
    pub message: String,
}

/// The result of an import: a rule file and what could not be translated.
#[derive(Clone, Debug)]
pub struct Import {
    /// The rule file (TOML), loadable with [`crate::Engine::from_toml`].
    pub toml: String,
    /// Number of topics written.
    pub topics: usize,
    /// Number of rules written.
    pub rules: usize,
    /// Number of `<ISSUE ...>` tags in the source; 0 means it is not an issue dictionary at all
    /// (then every line is a note, and the rule file has no topic).
    pub blocks: usize,
    /// Lines that were dropped or changed, in line order.
    pub notes: Vec<ImportNote>,
}

/// One `<ISSUE>` block.
struct Category {
    name: String,
    kind: String,
    line: usize,
    phrases: Vec<Phrase>,
    exclusions: Vec<Phrase>,
}

/// One dictionary line and the word sequences it stands for.
struct Phrase {
    line: usize,
    code: String,
    source: String,
    /// Expanded forms: lowercase words separated by one space.
    forms: Vec<String>,
    /// The folded words of each form, as rubric's tokenizer sees them (`e.u.` and `eu` alike).
    keys: Vec<Vec<String>>,
}

impl Phrase {
    fn new(line: usize, code: &str, source: &str, forms: Vec<String>) -> Phrase {
        let mut keys: Vec<Vec<String>> = Vec::with_capacity(forms.len());
        let mut kept = Vec::with_capacity(forms.len());
        for form in forms {
            let tokens = tokenize(&form, NormalizeOptions::default());
            let key: Vec<String> = (0..tokens.len())
                .map(|i| tokens.folded(i).to_owned())
                .collect();
            if !key.is_empty() && !keys.contains(&key) {
                keys.push(key);
                kept.push(form);
            }
        }
        Phrase {
            line,
            code: code.to_owned(),
            source: source.to_owned(),
            forms: kept,
            keys,
        }
    }
}

/// Converts a PETRARCH2 issue dictionary (the `Phoenix.IssueCoding.txt` format) into a rubric
/// rule file.
///
/// The format, from the dictionary's documentation and `PETRreader.read_issue_list` of
/// openeventdata/petrarch2:
/// - `<ISSUE CATEGORY="NAME" TYPE="...">` ... `</ISSUE>` blocks become one topic each (id: the
///   category in lowercase with `-` turned into `_`; threshold 1);
/// - a line `phrase [CODE]` becomes one rule of weight 1 whose query is an OR of quoted phrases,
///   one per generated form; the id is `topic.code.l<LINE>`;
/// - `n:word` adds the plural and `v:word` the regular verb forms, by PETRARCH2's rules (`+s`,
///   `y` → `ies`; `+s`, `+d`/`+ed`, `+ing`) corrected by English spelling where those give a
///   word that cannot occur (`crisiss` becomes `crises`, `clashs` `clashes`; reported);
/// - `+` joins words that may be written with a space, a hyphen or nothing (rubric tokenizes a
///   hyphen like a space, so two forms: `a b` and `ab`); `_` inside a phrase is read as a space;
/// - `~phrase` (and `~~phrase`) lines are exclusions: every rule of the same category with a form
///   inside the excluded phrase gets `AND NOT` the excluded phrase (`~a head start` keeps
///   `head start` out); an exclusion that contains no phrase of its category (the acronym
///   expansions under EUROPEAN_UNION, `~blood n:donor` under FOREIGN_AID) goes to every rule of
///   the category, and is reported. rubric's `NOT` holds for the whole article, so an article
///   with both `a head start` and another `head start` is not labelled by that rule, where an
///   exclusion meant for the one occurrence would still label it; PETRARCH2 itself only partly
///   implements exclusions;
/// - `#` starts a comment; matching is case-insensitive and on whole words, as in PETRARCH.
///
/// Lines that cannot be translated exactly are reported in [`Import::notes`]: lines without a
/// `[CODE]` (left out; PETRARCH skips them too), category-wide exclusions, lines that repeat an
/// earlier line of the category once normalized (`south+to+south` and `south-to-south`; left
/// out), and categories left without rules (left out). Characters that are not part of a phrase
/// (`†`, a damaged space in the source) are read as spaces and reported.
pub fn phoenix(source_name: &str, text: &str) -> Import {
    let mut notes = Vec::new();
    let mut categories: Vec<Category> = Vec::new();
    let mut open: Option<Category> = None;
    let mut blocks = 0;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        if let Some(rest) = content.strip_prefix("<ISSUE") {
            blocks += 1;
            if let Some(previous) = open.take() {
                notes.push(note(
                    line,
                    format!("category {} has no </ISSUE>; closed here", previous.name),
                ));
                categories.push(previous);
            }
            let name = attribute(rest, "CATEGORY");
            if name.is_empty() {
                notes.push(note(line, "<ISSUE> without CATEGORY; block skipped".into()));
            }
            open = Some(Category {
                name,
                kind: attribute(rest, "TYPE"),
                line,
                phrases: Vec::new(),
                exclusions: Vec::new(),
            });
            continue;
        }
        if content.starts_with("</ISSUE") {
            match open.take() {
                Some(category) => categories.push(category),
                None => notes.push(note(line, "</ISSUE> without an open block".into())),
            }
            continue;
        }
        let Some(category) = open.as_mut() else {
            notes.push(note(
                line,
                format!("`{content}` is outside any <ISSUE> block; skipped"),
            ));
            continue;
        };
        if let Some(excluded) = content.strip_prefix('~') {
            let excluded = excluded.trim_start_matches('~').trim();
            let phrase = Phrase::new(line, "", content, expand(excluded, line, &mut notes));
            if phrase.forms.is_empty() {
                notes.push(note(
                    line,
                    format!("exclusion `{content}` has no words; skipped"),
                ));
            } else {
                category.exclusions.push(phrase);
            }
            continue;
        }
        let Some(open_bracket) = content.find('[') else {
            notes.push(note(
                line,
                format!("`{content}` has no [CODE]; skipped (PETRARCH2 skips such lines too)"),
            ));
            continue;
        };
        let code = content[open_bracket + 1..]
            .split(']')
            .next()
            .unwrap_or_default()
            .trim();
        let phrase = content[..open_bracket].trim();
        if code.is_empty() || phrase.is_empty() {
            notes.push(note(
                line,
                format!("`{content}` has an empty phrase or code; skipped"),
            ));
            continue;
        }
        let phrase = Phrase::new(line, code, content, expand(phrase, line, &mut notes));
        if phrase.forms.is_empty() {
            notes.push(note(line, format!("`{content}` has no words; skipped")));
            continue;
        }
        category.phrases.push(phrase);
    }
    if let Some(category) = open.take() {
        notes.push(note(
            category.line,
            format!(
                "category {} has no </ISSUE>; closed at the end",
                category.name
            ),
        ));
        categories.push(category);
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Imported by `rubric import phoenix` from {source_name}.\n\
         # One topic per <ISSUE> category, one rule per dictionary line; see `rubric import --help`."
    );
    out.push_str("\n[rule_set]\nname = \"phoenix-issues\"\nversion = \"imported\"\n");
    let _ = writeln!(
        out,
        "description = {}",
        quote(&format!(
            "PETRARCH2 issue coding dictionary ({source_name}), imported"
        ))
    );
    let mut topic_ids = BTreeSet::new();
    let (mut topics, mut rules) = (0, 0);
    let mut body = String::new();
    for category in &categories {
        if category.name.is_empty() {
            continue;
        }
        let topic = topic_id(&category.name);
        if !topic_ids.insert(topic.clone()) {
            notes.push(note(
                category.line,
                format!(
                    "category {} repeats an earlier topic id `{topic}`; block skipped",
                    category.name
                ),
            ));
            continue;
        }
        let mut written = 0;
        let mut seen: BTreeSet<Vec<Vec<String>>> = BTreeSet::new();
        // Exclusions that cover no phrase of the category hold for the whole category (the
        // acronym expansions under EUROPEAN_UNION, `blood donor` under FOREIGN_AID).
        let (specific, general): (Vec<&Phrase>, Vec<&Phrase>) =
            category.exclusions.iter().partition(|e| {
                category.phrases.iter().any(|p| {
                    e.keys
                        .iter()
                        .any(|ek| p.keys.iter().any(|pk| contains_words(ek, pk)))
                })
            });
        for exclusion in &general {
            notes.push(note(
                exclusion.line,
                format!(
                    "exclusion `{}` contains no phrase of {}; it excludes every rule of the category",
                    exclusion.source, category.name
                ),
            ));
        }
        for phrase in &category.phrases {
            let mut key = phrase.keys.clone();
            key.sort();
            if !seen.insert(key) {
                notes.push(note(
                    phrase.line,
                    format!(
                        "`{}` repeats an earlier line of {}; skipped",
                        phrase.source, category.name
                    ),
                ));
                continue;
            }
            let mut not = Vec::new();
            for exclusion in &specific {
                let covers = exclusion
                    .keys
                    .iter()
                    .any(|e| phrase.keys.iter().any(|f| contains_words(e, f)));
                if covers {
                    not.extend(exclusion.forms.iter().cloned());
                }
            }
            for exclusion in &general {
                not.extend(exclusion.forms.iter().cloned());
            }
            let mut seen_not = BTreeSet::new();
            not.retain(|f| seen_not.insert(f.clone()));
            let mut query = or_of(&phrase.forms);
            if !not.is_empty() {
                query = format!("({query}) AND NOT ({})", or_of(&not));
            }
            let _ = write!(
                body,
                "\n[[rules]]\nid = {}\ntopic = {}\nquery = {}\ndescription = {}\n",
                quote(&format!(
                    "{topic}.{}.l{}",
                    phrase.code.to_lowercase(),
                    phrase.line
                )),
                quote(&topic),
                quote(&query),
                quote(&format!("line {}: {}", phrase.line, phrase.source)),
            );
            written += 1;
        }
        if written == 0 {
            notes.push(note(
                category.line,
                format!(
                    "category {} has no codable line; no topic written",
                    category.name
                ),
            ));
            continue;
        }
        let _ = write!(
            out,
            "\n[[topics]]\nid = {}\nname = {}\ndescription = {}\nthreshold = 1.0\n",
            quote(&topic),
            quote(&category.name),
            quote(&format!(
                "PETRARCH2 issue category {} (TYPE={}), from line {}",
                category.name, category.kind, category.line
            )),
        );
        topics += 1;
        rules += written;
    }
    // Rules after all topics, for a file that reads like a hand-written one.
    let mut toml = out;
    toml.push_str(&body);
    notes.sort_by_key(|n| n.line);
    for n in &mut notes {
        n.file = source_name.to_owned();
    }
    Import {
        toml,
        topics,
        rules,
        blocks,
        notes,
    }
}

fn note(line: usize, message: String) -> ImportNote {
    ImportNote {
        file: String::new(),
        line,
        message,
    }
}

/// The value of `NAME="value"` in an `<ISSUE ...>` tag, or empty.
fn attribute(tag: &str, name: &str) -> String {
    let key = format!("{name}=\"");
    tag.find(&key)
        .and_then(|at| {
            let rest = &tag[at + key.len()..];
            rest.find('"').map(|end| rest[..end].trim().to_owned())
        })
        .unwrap_or_default()
}

fn topic_id(category: &str) -> String {
    category
        .chars()
        .map(|c| match c {
            'A'..='Z' => c.to_ascii_lowercase(),
            'a'..='z' | '0'..='9' => c,
            _ => '_',
        })
        .collect()
}

/// Every form a dictionary phrase stands for, lowercase, words separated by one space.
fn expand(phrase: &str, line: usize, notes: &mut Vec<ImportNote>) -> Vec<String> {
    let mut cleaned = String::with_capacity(phrase.len());
    for c in phrase.chars() {
        if c == '_' || c.is_whitespace() {
            cleaned.push(' ');
        } else if c.is_alphanumeric() || "+:'.-/,&".contains(c) {
            cleaned.push(c);
        } else {
            notes.push(note(
                line,
                format!("`{c}` (U+{:04X}) in `{phrase}` read as a space", c as u32),
            ));
            cleaned.push(' ');
        }
    }
    let mut forms = vec![String::new()];
    for word in cleaned.split_whitespace() {
        let mut replaced = Vec::new();
        let variants = word_forms(&word.to_lowercase(), &mut replaced);
        if !replaced.is_empty() {
            notes.push(note(
                line,
                format!(
                    "`{word}`: English forms instead of PETRARCH2's {}",
                    replaced
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let mut next = Vec::with_capacity(forms.len() * variants.len());
        for form in &forms {
            for variant in &variants {
                next.push(if form.is_empty() {
                    variant.clone()
                } else {
                    format!("{form} {variant}")
                });
            }
        }
        forms = next;
    }
    forms.retain(|f| f.chars().any(char::is_alphanumeric));
    let mut unique = BTreeSet::new();
    forms.retain(|f| unique.insert(f.clone()));
    forms
}

/// The forms of one dictionary word: `+` parts joined by a space or nothing, `n:`/`v:` parts
/// inflected.
fn word_forms(word: &str, replaced: &mut Vec<String>) -> Vec<String> {
    let mut forms = vec![String::new()];
    for (k, part) in word.split('+').enumerate() {
        let (inflected, petrarch_only) = inflect(part);
        replaced.extend(petrarch_only);
        let mut next = Vec::new();
        for form in &forms {
            for variant in &inflected {
                if k == 0 {
                    next.push(variant.clone());
                } else {
                    next.push(format!("{form} {variant}"));
                    next.push(format!("{form}{variant}"));
                }
            }
        }
        forms = next;
    }
    forms
}

/// The inflections of one part (`n:` nouns, `v:` verbs): PETRARCH2's regular rules (`+s`,
/// `y` → `ies`; `+s`, `+ed`/`+d`, `+ing`), corrected by the regular English spelling rules
/// where PETRARCH2's give a word that cannot occur in text (`crisiss`, `boxs`, `clashs`):
/// `is` → `es`, `+es` after `s`/`x`/`z`/`ch`/`sh`, `-man` → `-men`, `y` after a vowel `+s`,
/// `f`/`fe` → `ves` (beside `+s`), and no second plural for a noun already ending in `s`. The
/// second value lists PETRARCH2's forms that were replaced, for the import report.
fn inflect(part: &str) -> (Vec<String>, Vec<String>) {
    let petrarch = petrarch_inflect(part);
    let english = if let Some(noun) = part.strip_prefix("n:") {
        let mut forms = vec![noun.to_owned()];
        forms.extend(noun_plurals(noun));
        forms
    } else if let Some(verb) = part.strip_prefix("v:") {
        verb_forms(verb)
    } else {
        return (petrarch, Vec::new());
    };
    let replaced = petrarch
        .iter()
        .filter(|f| !english.contains(f))
        .cloned()
        .collect();
    (english, replaced)
}

pub(crate) fn sibilant(word: &str) -> bool {
    ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|e| word.ends_with(e))
}

pub(crate) fn consonant_y(word: &str) -> Option<&str> {
    let stem = word.strip_suffix('y')?;
    (!stem.ends_with(['a', 'e', 'i', 'o', 'u'])).then_some(stem)
}

/// English plurals of a lowercase noun (`crisis` → `crises`, `box` → `boxes`, `thief` →
/// `thiefs`, `thieves`); empty for a noun that is plural already (`soldiers`).
pub(crate) fn noun_plurals(noun: &str) -> Vec<String> {
    if let Some(stem) = noun.strip_suffix("is") {
        return vec![format!("{stem}es")];
    }
    if let Some(stem) = noun.strip_suffix("man") {
        return vec![format!("{stem}men")];
    }
    if noun.ends_with('s') && !["ss", "us", "as"].iter().any(|e| noun.ends_with(e)) {
        return Vec::new(); // written in the plural already (`n:soldiers`)
    }
    if sibilant(noun) {
        return vec![format!("{noun}es")];
    }
    if let Some(stem) = consonant_y(noun) {
        return vec![format!("{stem}ies")];
    }
    if let Some(stem) = noun.strip_suffix("fe") {
        return vec![format!("{noun}s"), format!("{stem}ves")];
    }
    if let Some(stem) = noun.strip_suffix('f') {
        return vec![format!("{noun}s"), format!("{stem}ves")];
    }
    vec![format!("{noun}s")]
}

fn verb_forms(verb: &str) -> Vec<String> {
    let mut forms = vec![verb.to_owned()];
    if let Some(stem) = consonant_y(verb) {
        forms.extend([
            format!("{stem}ies"),
            format!("{stem}ied"),
            format!("{verb}ing"),
        ]);
    } else if let Some(stem) = verb.strip_suffix('e') {
        forms.extend([format!("{verb}s"), format!("{verb}d"), format!("{stem}ing")]);
    } else if sibilant(verb) {
        forms.extend([
            format!("{verb}es"),
            format!("{verb}ed"),
            format!("{verb}ing"),
        ]);
    } else {
        forms.extend([
            format!("{verb}s"),
            format!("{verb}ed"),
            format!("{verb}ing"),
        ]);
    }
    forms
}

/// PETRARCH2's own inflections (`PETRreader.read_issue_list`).
fn petrarch_inflect(part: &str) -> Vec<String> {
    if let Some(noun) = part.strip_prefix("n:") {
        let plural = match noun.strip_suffix('y') {
            Some(stem) => format!("{stem}ies"),
            None => format!("{noun}s"),
        };
        vec![noun.to_owned(), plural]
    } else if let Some(verb) = part.strip_prefix("v:") {
        let mut forms = vec![verb.to_owned(), format!("{verb}s")];
        match verb.strip_suffix('e') {
            Some(stem) => {
                forms.push(format!("{verb}d"));
                forms.push(format!("{stem}ing"));
            }
            None => {
                forms.push(format!("{verb}ed"));
                forms.push(format!("{verb}ing"));
            }
        }
        forms
    } else {
        vec![part.to_owned()]
    }
}

/// `true` if the words of `inner` occur consecutively in `outer`.
fn contains_words(outer: &[String], inner: &[String]) -> bool {
    outer.windows(inner.len()).any(|w| w == inner)
}

fn or_of(forms: &[String]) -> String {
    forms
        .iter()
        .map(|f| format!("\"{f}\""))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// A TOML basic string.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflections_follow_petrarch_corrected_by_english_spelling() {
        let forms = |part: &str| inflect(part).0;
        assert_eq!(forms("n:university"), ["university", "universities"]);
        assert_eq!(forms("n:teacher"), ["teacher", "teachers"]);
        // Fresh-user report: PETRARCH2's rules give `crisiss`, `boxs`, `womans`, `clashs`.
        assert_eq!(
            inflect("n:crisis"),
            (
                vec!["crisis".into(), "crises".into()],
                vec!["crisiss".into()]
            )
        );
        assert_eq!(forms("n:box"), ["box", "boxes"]);
        assert_eq!(forms("n:woman"), ["woman", "women"]);
        assert_eq!(forms("n:thief"), ["thief", "thiefs", "thieves"]);
        assert_eq!(forms("n:day"), ["day", "days"]);
        assert_eq!(forms("n:soldiers"), ["soldiers"]);
        assert_eq!(forms("n:apparatus"), ["apparatus", "apparatuses"]);
        assert_eq!(
            forms("v:clash"),
            ["clash", "clashes", "clashed", "clashing"]
        );
        assert_eq!(
            forms("v:carry"),
            ["carry", "carries", "carried", "carrying"]
        );
        assert_eq!(
            forms("v:retaliate"),
            ["retaliate", "retaliates", "retaliated", "retaliating"]
        );
        assert_eq!(forms("v:farm"), ["farm", "farms", "farmed", "farming"]);
        assert_eq!(forms("peace"), ["peace"]);
    }

    #[test]
    fn plus_joins_with_space_or_nothing_and_inflects_parts() {
        let mut notes = Vec::new();
        assert_eq!(
            expand("pre+n:school", 1, &mut notes),
            ["pre school", "preschool", "pre schools", "preschools"]
        );
        assert_eq!(
            expand("early+childhood education", 1, &mut notes),
            ["early childhood education", "earlychildhood education"]
        );
        assert!(notes.is_empty());
    }

    #[test]
    fn damaged_characters_become_spaces_and_are_reported() {
        let mut notes = Vec::new();
        assert_eq!(
            expand("rhinovirus\u{2020}infection", 7, &mut notes),
            ["rhinovirus infection"]
        );
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].line, 7);
        assert!(notes[0].message.contains("U+2020"), "{}", notes[0].message);
    }

    #[test]
    fn exclusions_attach_to_the_phrases_they_contain() {
        let text = "<ISSUE CATEGORY=\"EDUCATION\" TYPE=\"ALL\">\n\
                    head start [EARLY]\n\
                    literacy [LITERACY]\n\
                    ~a head start\n\
                    ~financial literacy\n\
                    ~n:donor\n\
                    v:kidnap\n\
                    e.u. [EU]\n\
                    eu [EU]\n\
                    </ISSUE>\n";
        let import = phoenix("test.txt", text);
        assert_eq!((import.topics, import.rules), (1, 3), "{}", import.toml);
        let queries: Vec<&str> = import
            .toml
            .lines()
            .filter_map(|l| l.strip_prefix("query = "))
            .collect();
        assert_eq!(
            queries,
            [
                r#""(\"head start\") AND NOT (\"a head start\" OR \"donor\" OR \"donors\")""#,
                r#""(\"literacy\") AND NOT (\"financial literacy\" OR \"donor\" OR \"donors\")""#,
                r#""(\"e.u.\") AND NOT (\"donor\" OR \"donors\")""#,
            ]
        );
        // Line 6 is category-wide, 7 has no code, 9 repeats line 8 once normalized.
        let lines: Vec<usize> = import.notes.iter().map(|n| n.line).collect();
        assert_eq!(lines, [6, 7, 9], "{:?}", import.notes);
        crate::Engine::from_toml("imported", &import.toml).expect("the import loads");
        assert_eq!(import.blocks, 1);
    }

    /// Fresh-user review (16): a file that is not an issue dictionary has no `<ISSUE>` tag, and
    /// says so through `blocks`, for the command line to say it in one line.
    #[test]
    fn phoenix_counts_issue_blocks_so_a_wrong_file_is_told_apart() {
        let import = phoenix("actors.txt", "AFGHANISTAN_ [AFG]\nKABUL [AFG]\n");
        assert_eq!((import.blocks, import.topics, import.rules), (0, 0, 0));
        let empty = phoenix(
            "empty.txt",
            "<ISSUE CATEGORY=\"X\" TYPE=\"ALL\">\n</ISSUE>\n",
        );
        assert_eq!((empty.blocks, empty.topics), (1, 0));
    }
}
