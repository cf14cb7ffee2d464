//! A learned topic as an ordinary rule file (TOML), with a header that records where it came
//! from. The file holds no line of the data: only the vocabulary chosen as rules, counts, and the
//! data files' names, line counts and SHA-256 hashes.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use super::features::{toml_string, FeatureKind};
use super::{LearnOptions, LearnedTopic};
use crate::eval::Counts;
use crate::rules::{RuleSet, MAX_ID_BYTES};

/// A data file a topic was learned from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataFile {
    /// The path as given on the command line.
    pub path: String,
    /// Non-blank lines read.
    pub lines: usize,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// Where the base rule file is, to refer to its list files from the learned file.
#[derive(Clone, Copy, Debug)]
pub struct Base<'a> {
    /// The parsed base rules.
    pub rules: &'a RuleSet,
    /// The base rule file's path (its list files are relative to its directory).
    pub path: &'a Path,
}

/// A query as a TOML string: a literal string (`'"peace talks"'`) when it can be one, else a
/// basic string with escapes.
pub(crate) fn toml_query(query: &str) -> String {
    if query.contains(['\'', '\n', '\r']) || query.chars().any(char::is_control) {
        toml_string(query)
    } else {
        format!("'{query}'")
    }
}

/// A TOML key: bare when it can be, else quoted (a list name may hold `.`).
fn toml_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_owned()
    } else {
        toml_string(name)
    }
}

/// `name` with every character a rule id cannot hold replaced by `_`.
fn id_part(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        s.push('_');
    }
    s
}

/// The path of `target` relative to the directory `from` (`None`: absolute, for a file written to
/// standard output, which may be saved anywhere), when both resolve; else `target` made
/// absolute (or as given).
fn relative_to(from: Option<&Path>, target: &Path) -> PathBuf {
    let Some(from) = from else {
        return std::path::absolute(target).unwrap_or_else(|_| target.to_owned());
    };
    let (Ok(from), Ok(target)) = (from.canonicalize(), target.canonicalize()) else {
        return std::path::absolute(target).unwrap_or_else(|_| target.to_owned());
    };
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = target.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c);
    }
    out
}

fn figures(c: &Counts) -> String {
    format!(
        "P {:.3} R {:.3} F1 {:.3} (TP {} FP {} FN {} TN {})",
        c.precision(),
        c.recall(),
        c.f1(),
        c.tp,
        c.fp,
        c.r#fn,
        c.tn
    )
}

/// The options as `key=value` pairs, for the header.
pub fn describe_options(options: &LearnOptions) -> String {
    format!(
        "max_rules={} min_lines={} max_words={} wildcards={} folds={} l1_ratio={} balanced={} lambdas={}",
        options.max_rules,
        options.mine.min_lines,
        options.mine.max_words,
        options.mine.wildcards,
        options.folds,
        options.l1_ratio,
        options.balanced,
        options.lambdas,
    )
}

/// Writes the rule file of `topics` (learned with `options` from `data`, on top of `base` if
/// given) for the path `output` (`None`: standard output; list files of the base are then
/// referred to by absolute paths). Deterministic: the same inputs give the same
/// text.
pub fn rule_file(
    topics: &[LearnedTopic],
    data: &[DataFile],
    options: &LearnOptions,
    base: Option<Base<'_>>,
    output: Option<&Path>,
) -> String {
    let mut out = String::new();
    let mut hasher = Sha256::new();
    for file in data {
        hasher.update(file.sha256.as_bytes());
    }
    hasher.update(describe_options(options).as_bytes());
    for t in topics {
        hasher.update(t.topic.as_bytes());
    }
    if let Some(base) = base {
        hasher.update(base.rules.content_sha256.as_bytes());
    }
    let digest = hasher.finalize();
    let version: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();

    let _ = writeln!(
        out,
        "# Learned by `rubric learn` (rubric {}) from labelled lines: weighted rules, an ordinary",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str(
        "# rule file to check, edit, serve and hot-reload. It holds no line of the data.\n#\n",
    );
    out.push_str("# Data:\n");
    for file in data {
        let _ = writeln!(
            out,
            "#   {}: {} lines, sha256 {}",
            file.path, file.lines, file.sha256
        );
    }
    if let Some(base) = base {
        let _ = writeln!(
            out,
            "# Base rules: {} (version {}, sha256 {})",
            base.path.display(),
            base.rules.version,
            base.rules.content_sha256
        );
    }
    let _ = writeln!(out, "# Options: {}", describe_options(options));
    for t in topics {
        let _ = writeln!(
            out,
            "# Topic {}: {} rules chosen from {} features ({} candidates), lambda {:.6}, threshold {}",
            t.topic,
            t.rules.len(),
            t.features,
            t.candidates,
            t.lambda,
            t.threshold
        );
        let _ = writeln!(
            out,
            "#   cross-validated ({} folds, {} lines): {}",
            t.folds,
            t.cross_validation.labelled(),
            figures(&t.cross_validation)
        );
        let _ = writeln!(
            out,
            "#   on the lines it was fitted to:        {}",
            figures(&t.training)
        );
    }
    out.push_str(
        "#   (the folds also chose the penalty and the threshold, so the cross-validated figures\n\
         #   are a little optimistic; scripts/crossval.py measures the method on unseen folds)\n\n",
    );

    let accent = base.is_some_and(|b| b.rules.accent_sensitive);
    let _ = writeln!(out, "[rule_set]");
    let _ = writeln!(out, "name = \"learned\"");
    let _ = writeln!(out, "version = \"learned.{version}\"");
    let names: Vec<&str> = topics.iter().map(|t| t.topic.as_str()).collect();
    let _ = writeln!(
        out,
        "description = {}",
        toml_string(&format!(
            "Weighted rules for {} learned by rubric learn from labelled lines",
            names.join(", ")
        ))
    );
    if accent {
        let _ = writeln!(out, "accent_sensitive = true");
    }
    out.push('\n');

    for t in topics {
        let _ = writeln!(out, "[[topics]]");
        let _ = writeln!(out, "id = {}", toml_string(&t.topic));
        let _ = writeln!(out, "threshold = {:?}", t.threshold);
        out.push_str("# Every rule that fires adds its weight: the score is the linear model's.\n");
        let _ = writeln!(out, "count_overlaps = true\n");
    }

    let mut used_lists: BTreeMap<&str, ()> = BTreeMap::new();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for t in topics {
        for rule in &t.rules {
            let f = &rule.feature;
            for list in &f.lists {
                used_lists.insert(list, ());
            }
            let kind = match f.kind {
                FeatureKind::BaseRule => "base",
                FeatureKind::List => "list",
                FeatureKind::ListEntry => "entry",
                FeatureKind::Word => "word",
                FeatureKind::Phrase => "phrase",
                FeatureKind::Wildcard => "wildcard",
            };
            let mut id = format!("{}.{kind}.{}", t.topic, id_part(&f.name));
            if id.len() > MAX_ID_BYTES - 8 {
                let mut cut = MAX_ID_BYTES - 8;
                while !id.is_char_boundary(cut) {
                    cut -= 1;
                }
                id.truncate(cut);
            }
            let n = ids.entry(id.clone()).or_default();
            *n += 1;
            if *n > 1 {
                id = format!("{id}-{n}");
            }
            let _ = writeln!(out, "[[rules]]");
            let _ = writeln!(out, "id = {}", toml_string(&id));
            let _ = writeln!(out, "topic = {}", toml_string(&t.topic));
            let _ = writeln!(out, "query = {}", toml_query(&f.query));
            let _ = writeln!(out, "weight = {:?}", rule.weight);
            let _ = writeln!(
                out,
                "description = \"{} in {} training lines, {} labelled {}\"\n",
                f.kind.name(),
                rule.lines,
                rule.positive_lines,
                t.topic
            );
        }
    }

    if let Some(base) = base.filter(|_| !used_lists.is_empty()) {
        let dir = output.map(|o| match o.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        });
        let base_dir = match base.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let _ = writeln!(out, "[lists]");
        for list in base
            .rules
            .lists
            .iter()
            .filter(|l| used_lists.contains_key(l.name.as_str()))
        {
            match &list.file {
                Some(file) => {
                    let path = relative_to(dir.as_deref(), &base_dir.join(file));
                    let _ = writeln!(
                        out,
                        "{} = {{ file = {} }}",
                        toml_key(&list.name),
                        toml_string(&path.to_string_lossy())
                    );
                }
                None => {
                    let entries: Vec<String> = list
                        .entries
                        .iter()
                        .map(|e| toml_string(&e.written))
                        .collect();
                    let _ = writeln!(out, "{} = [{}]", toml_key(&list.name), entries.join(", "));
                }
            }
        }
    }
    out
}
