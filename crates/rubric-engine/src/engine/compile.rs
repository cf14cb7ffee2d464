//! Compiling parsed rules: literals are normalized into atoms (one token pattern each) and every
//! atom of every rule goes into one dictionary, the matcher that presearch runs over the text.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::article::Field;
use crate::rules::diagnostic::Suggester;
use crate::rules::{
    Diagnostic, Expr, ExprKind, ListEntry, Literal, LiteralKind, QuerySpan, Rule, RuleSet,
};
use crate::text::{tokenize, NormalizeOptions};

use super::table::{KeyTable, PrefixIndex};

/// Shortest wildcard prefix, in characters of the normalized word (`neg*` is fine, `ne*` is not).
pub const MIN_PREFIX_CHARS: usize = 3;
/// Most words in one phrase.
pub const MAX_PHRASE_WORDS: usize = 32;
/// Most literals (terms, phrases, wildcards) in one rule.
pub const MAX_LITERALS_PER_RULE: usize = 1024;

/// Index of an atom.
pub(crate) type AtomId = u32;
/// No atom (in [`Dictionary::words`]).
pub(crate) const NO_ATOM: AtomId = AtomId::MAX;
/// Index of a literal.
pub(crate) type LitId = u32;

/// A set of fields, as bits (`1 << Field::index()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FieldMask(pub u8);

impl FieldMask {
    pub const ALL: FieldMask = FieldMask(0b11);

    pub fn only(field: Field) -> FieldMask {
        FieldMask(1 << field.index())
    }

    pub fn contains(self, field: Field) -> bool {
        self.0 & (1 << field.index()) != 0
    }
}

/// A single-word pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum AtomKey {
    /// The word's folded key equals this.
    Folded(Box<str>),
    /// The word's exact (case-sensitive) key equals this.
    Exact(Box<str>),
    /// The word's folded key starts with this.
    Prefix(Box<str>),
}

/// A compiled query node.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    Lit {
        lit: LitId,
        fields: FieldMask,
    },
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Near {
        left: Box<[(LitId, FieldMask)]>,
        right: Box<[(LitId, FieldMask)]>,
        distance: u32,
        ordered: bool,
    },
}

impl Node {
    /// The value of the node in a text that contains none of its literals.
    pub fn matches_empty(&self) -> bool {
        match self {
            Node::Lit { .. } | Node::Near { .. } => false,
            Node::And(ops) => ops.iter().all(Node::matches_empty),
            Node::Or(ops) => ops.iter().any(Node::matches_empty),
            Node::Not(op) => !op.matches_empty(),
        }
    }

    /// The same node with every literal scoped to `fields` instead (what the node would be
    /// without its field scopes, for `FieldMask::ALL`).
    pub fn with_fields(&self, fields: FieldMask) -> Node {
        let all = |ops: &[Node]| ops.iter().map(|o| o.with_fields(fields)).collect();
        let scoped = |ops: &[(LitId, FieldMask)]| ops.iter().map(|&(l, _)| (l, fields)).collect();
        match self {
            Node::Lit { lit, .. } => Node::Lit { lit: *lit, fields },
            Node::And(ops) => Node::And(all(ops)),
            Node::Or(ops) => Node::Or(all(ops)),
            Node::Not(op) => Node::Not(Box::new(op.with_fields(fields))),
            Node::Near {
                left,
                right,
                distance,
                ordered,
            } => Node::Near {
                left: scoped(left),
                right: scoped(right),
                distance: *distance,
                ordered: *ordered,
            },
        }
    }

    /// Every literal the node refers to with the fields it is scoped to, including those under
    /// NOT.
    pub fn literal_scopes(&self, out: &mut Vec<(LitId, FieldMask)>) {
        match self {
            Node::Lit { lit, fields } => out.push((*lit, *fields)),
            Node::And(ops) | Node::Or(ops) => ops.iter().for_each(|o| o.literal_scopes(out)),
            Node::Not(op) => op.literal_scopes(out),
            Node::Near { left, right, .. } => out.extend(left.iter().chain(right.iter())),
        }
    }

    /// Every literal the node refers to, including those under NOT.
    pub fn literals(&self, out: &mut Vec<LitId>) {
        match self {
            Node::Lit { lit, .. } => out.push(*lit),
            Node::And(ops) | Node::Or(ops) => ops.iter().for_each(|o| o.literals(out)),
            Node::Not(op) => op.literals(out),
            Node::Near { left, right, .. } => {
                out.extend(left.iter().chain(right.iter()).map(|(l, _)| *l))
            }
        }
    }
}

/// A map from words to `V`, fast for short words: a word of at most 15 bytes is packed into a
/// `u128` key (its bytes, zero-padded, and its length in the last byte), so a lookup hashes two
/// machine words and compares integers instead of chasing a pointer to compare strings; longer
/// words go to an ordinary map.
#[derive(Debug)]
pub(crate) struct StrMap<V> {
    short: FxHashMap<u128, V>,
    long: FxHashMap<Box<str>, V>,
}

impl<V> Default for StrMap<V> {
    fn default() -> Self {
        StrMap {
            short: FxHashMap::default(),
            long: FxHashMap::default(),
        }
    }
}

fn pack(word: &str) -> Option<u128> {
    let bytes = word.as_bytes();
    if bytes.len() > 15 {
        return None;
    }
    let mut buf = [0u8; 16];
    buf[..bytes.len()].copy_from_slice(bytes);
    buf[15] = bytes.len() as u8;
    Some(u128::from_le_bytes(buf))
}

fn unpack(key: u128) -> String {
    let buf = key.to_le_bytes();
    String::from_utf8_lossy(&buf[..buf[15] as usize]).into_owned()
}

impl<V: Copy> StrMap<V> {
    /// The value of `word`.
    #[cfg(test)]
    pub fn get(&self, word: &str) -> Option<&V> {
        match pack(word) {
            Some(key) => self.short.get(&key),
            None => self.long.get(word),
        }
    }

    /// The value of `word`, inserting `value` first if it has none.
    pub fn get_or_insert(&mut self, word: &str, value: V) -> V {
        *self.get_or_insert_mut(word, value)
    }

    /// The value of `word`, mutable, inserting `value` first if it has none.
    pub fn get_or_insert_mut(&mut self, word: &str, value: V) -> &mut V {
        match pack(word) {
            Some(key) => self.short.entry(key).or_insert(value),
            None => self.long.entry(word.into()).or_insert(value),
        }
    }

    /// Every word and its value (the words are copied out).
    pub fn iter(&self) -> impl Iterator<Item = (String, &V)> + '_ {
        self.short
            .iter()
            .map(|(k, v)| (unpack(*k), v))
            .chain(self.long.iter().map(|(k, v)| (k.to_string(), v)))
    }
}

/// A sequence of atoms that must match consecutive words.
#[derive(Clone, Debug)]
pub(crate) struct CompiledLiteral {
    pub atoms: Box<[AtomId]>,
}

/// The dictionary of all atoms plus the literal table: built once per rule set.
#[derive(Debug, Default)]
pub(crate) struct Dictionary {
    /// Folded, exact and prefix keys while building; [`Dictionary::finish`] turns them into the
    /// static tables below.
    building: [StrMap<AtomId>; 3],
    /// Every folded word the dictionary knows: its folded atom ([`NO_ATOM`] if none), and
    /// whether an `{Exact}` key folds to it (then `exact` is looked up too). One lookup per
    /// word in the common case.
    pub words: KeyTable<(AtomId, bool)>,
    pub exact: KeyTable<AtomId>,
    pub prefix: PrefixIndex,
    /// For each atom, the literals that start with it.
    pub starts: Vec<Vec<LitId>>,
    pub literals: Vec<CompiledLiteral>,
    /// The key of each atom, by id (for lints; emptied once the engine is built).
    pub keys: Vec<AtomKey>,
    literal_ids: FxHashMap<Box<[AtomId]>, LitId>,
    atom_count: u32,
    /// For each literal, the named lists it is an entry of (their literal ids); empty for most.
    pub member_of: Vec<Box<[LitId]>>,
    /// The named lists, by name; each is one literal (without atoms) whose occurrences are those
    /// of its entries.
    pub lists: Vec<CompiledList>,
    list_ids: FxHashMap<Box<str>, usize>,
}

/// A named list as compiled: a literal whose occurrences are its entries' occurrences.
#[derive(Debug)]
pub(crate) struct CompiledList {
    /// The list's name, as evidence reports it.
    pub name: Arc<str>,
    /// The list's own literal id.
    pub lit: LitId,
    /// For each entry's literal, the entry as first written in the list.
    pub entries: FxHashMap<LitId, Arc<str>>,
    /// Whether a rule refers to the list.
    pub used: bool,
}

impl Dictionary {
    fn atom(&mut self, key: AtomKey) -> AtomId {
        let next = self.atom_count;
        let copy = key.clone();
        let (map, text) = match key {
            AtomKey::Folded(t) => (&mut self.building[0], t),
            AtomKey::Exact(t) => (&mut self.building[1], t),
            AtomKey::Prefix(t) => (&mut self.building[2], t),
        };
        let id = map.get_or_insert(&text, next);
        if id == next {
            self.atom_count += 1;
            self.starts.push(Vec::new());
            self.keys.push(copy);
        }
        id
    }

    fn literal(&mut self, atoms: Vec<AtomId>) -> LitId {
        let atoms = atoms.into_boxed_slice();
        if let Some(&id) = self.literal_ids.get(&atoms) {
            return id;
        }
        let id = self.literals.len() as LitId;
        self.starts[atoms[0] as usize].push(id);
        self.literal_ids.insert(atoms.clone(), id);
        self.literals.push(CompiledLiteral { atoms });
        self.member_of.push(Box::default());
        id
    }

    /// A new named list: a literal without atoms; [`Dictionary::add_entry`] gives it entries.
    fn list(&mut self, name: &str) -> usize {
        let lit = self.literals.len() as LitId;
        self.literals.push(CompiledLiteral {
            atoms: Box::default(),
        });
        self.member_of.push(Box::default());
        let index = self.lists.len();
        self.lists.push(CompiledList {
            name: name.into(),
            lit,
            entries: FxHashMap::default(),
            used: false,
        });
        self.list_ids.insert(name.into(), index);
        index
    }

    /// Makes literal `entry` an entry of list `list`; the first entry written for a literal is
    /// the one evidence names.
    fn add_entry(&mut self, list: usize, entry: LitId, written: &str) {
        let list = &mut self.lists[list];
        if list.entries.contains_key(&entry) {
            return;
        }
        list.entries.insert(entry, written.into());
        let member_of = &mut self.member_of[entry as usize];
        let mut grown = member_of.to_vec();
        grown.push(list.lit);
        *member_of = grown.into_boxed_slice();
    }

    /// The list whose literal is `lit`, if `lit` is a list.
    pub fn list_of(&self, lit: LitId) -> Option<&CompiledList> {
        let list = &self.lists;
        let i = list.partition_point(|l| l.lit < lit);
        list.get(i).filter(|l| l.lit == lit)
    }

    /// Drops build-time indexes; builds the static word, exact and prefix tables.
    pub fn finish(&mut self, options: NormalizeOptions) {
        self.literal_ids = FxHashMap::default();
        let [folded, exact, prefix] = std::mem::take(&mut self.building);
        let mut words: StrMap<(AtomId, bool)> = StrMap::default();
        for (key, &atom) in folded.iter() {
            words.get_or_insert(&key, (atom, false));
        }
        let mut key = String::new();
        for (exact, _) in exact.iter() {
            key.clear();
            crate::text::fold_key(&exact, options, &mut key);
            words.get_or_insert_mut(&key, (NO_ATOM, true)).1 = true;
        }
        self.words = KeyTable::new(words.iter().map(|(k, v)| (k, *v)).collect());
        self.exact = KeyTable::new(exact.iter().map(|(k, v)| (k, *v)).collect());
        self.prefix = PrefixIndex::new(prefix.iter().map(|(k, v)| (k, *v)).collect());
    }
}

/// Compiles rule queries into [`Node`]s over a shared [`Dictionary`].
pub(crate) struct Compiler<'a> {
    pub set: &'a RuleSet,
    pub options: NormalizeOptions,
    pub dictionary: Dictionary,
    pub diagnostics: Vec<Diagnostic>,
    /// "Did you mean" for unknown `@name`s, built at the first one.
    list_suggester: Option<Suggester<'a>>,
}

struct RuleContext<'r> {
    rule: &'r Rule,
    literal_count: usize,
}

impl<'a> Compiler<'a> {
    pub fn new(set: &'a RuleSet) -> Compiler<'a> {
        Compiler {
            set,
            options: NormalizeOptions {
                accent_sensitive: set.accent_sensitive,
            },
            dictionary: Dictionary::default(),
            diagnostics: Vec::new(),
            list_suggester: None,
        }
    }

    fn error(
        &mut self,
        rule: &Rule,
        code: &'static str,
        message: String,
        span: &QuerySpan,
        help: &str,
    ) {
        let location = self.set.query_location(rule, span);
        self.diagnostics.push(
            Diagnostic::error(code, message)
                .at(location)
                .rule(&rule.id)
                .help(help),
        );
    }

    /// Compiles one rule's query; `None` (with diagnostics recorded) if it has errors.
    pub fn compile_rule(&mut self, rule: &Rule) -> Option<Node> {
        let mut cx = RuleContext {
            rule,
            literal_count: 0,
        };
        let before = self.diagnostics.len();
        let node = self.node(&mut cx, &rule.expr, FieldMask::ALL);
        if cx.literal_count > MAX_LITERALS_PER_RULE {
            self.error(
                rule,
                "query-too-large",
                format!(
                    "{} terms and phrases in one rule, more than the limit of {MAX_LITERALS_PER_RULE}",
                    cx.literal_count
                ),
                &rule.expr.span,
                "split it into several rules of the same topic",
            );
        }
        if self.diagnostics.len() > before {
            None
        } else {
            node
        }
    }

    fn node(&mut self, cx: &mut RuleContext<'_>, expr: &Expr, fields: FieldMask) -> Option<Node> {
        let many = |this: &mut Self, cx: &mut RuleContext<'_>, ops: &[Expr]| {
            let nodes: Vec<Option<Node>> = ops.iter().map(|o| this.node(cx, o, fields)).collect();
            nodes.into_iter().collect::<Option<Vec<_>>>()
        };
        match &expr.kind {
            ExprKind::Or(ops) => Some(Node::Or(many(self, cx, ops)?.into())),
            ExprKind::And(ops) => Some(Node::And(many(self, cx, ops)?.into())),
            ExprKind::Not(op) => Some(Node::Not(Box::new(self.node(cx, op, fields)?))),
            ExprKind::Scope { field, expr: inner } => {
                let scope = FieldMask::only(*field);
                if fields != FieldMask::ALL && fields != scope {
                    self.error(
                        cx.rule,
                        "field-scope",
                        format!(
                            "`{}:` inside a different field scope can never match",
                            field.name()
                        ),
                        &expr.span,
                        "remove one of the two field scopes",
                    );
                    return None;
                }
                self.node(cx, inner, scope)
            }
            ExprKind::Literal(literal) => {
                let lit = self.literal(cx, literal, &expr.span)?;
                Some(Node::Lit { lit, fields })
            }
            ExprKind::Near {
                left,
                right,
                distance,
                ordered,
            } => {
                let left = self.proximity_operand(cx, left, fields)?;
                let right = self.proximity_operand(cx, right, fields)?;
                Some(Node::Near {
                    left: left.into(),
                    right: right.into(),
                    distance: *distance,
                    ordered: *ordered,
                })
            }
        }
    }

    /// Flattens a NEAR operand (literal, scoped operand, or OR of operands) into literals.
    fn proximity_operand(
        &mut self,
        cx: &mut RuleContext<'_>,
        expr: &Expr,
        fields: FieldMask,
    ) -> Option<Vec<(LitId, FieldMask)>> {
        match self.node(cx, expr, fields)? {
            Node::Lit { lit, fields } => Some(vec![(lit, fields)]),
            Node::Or(ops) => {
                let mut out = Vec::new();
                for op in ops.iter() {
                    match op {
                        Node::Lit { lit, fields } => out.push((*lit, *fields)),
                        Node::Or(_) => {
                            // Nested OR-groups were already checked by the parser; flatten them.
                            let mut lits = Vec::new();
                            op.literals(&mut lits);
                            out.extend(lits.into_iter().map(|l| (l, fields)));
                        }
                        _ => return None,
                    }
                }
                Some(out)
            }
            // The parser only lets literals and OR-groups through.
            _ => None,
        }
    }

    /// Normalizes a literal into atoms and registers it; a list reference is the list's literal.
    fn literal(
        &mut self,
        cx: &mut RuleContext<'_>,
        literal: &Literal,
        span: &QuerySpan,
    ) -> Option<LitId> {
        cx.literal_count += 1;
        let rule = cx.rule;
        if literal.kind == LiteralKind::List {
            return self.list_reference(rule, &literal.text, span);
        }
        match self.atoms(literal.kind, &literal.text) {
            Ok(atoms) => Some(self.dictionary.literal(atoms)),
            Err(err) => {
                let at = match &err.at {
                    Some(r) => literal.text_offset + r.start..literal.text_offset + r.end,
                    None => span.clone(),
                };
                self.error(rule, err.code, err.message, &at, err.help);
                None
            }
        }
    }

    /// `@name`: the list's literal, or an error naming the lists there are.
    fn list_reference(&mut self, rule: &Rule, name: &str, span: &QuerySpan) -> Option<LitId> {
        if let Some(&i) = self.dictionary.list_ids.get(name) {
            let list = &mut self.dictionary.lists[i];
            list.used = true;
            return Some(list.lit);
        }
        let set = self.set;
        // Built once, at the first unknown list: a hint per reference in bounded time.
        let suggester = self.list_suggester.get_or_insert_with(|| {
            Suggester::new(set.lists.iter().map(|l| l.name.as_str()).collect())
        });
        let none_defined = suggester.names().is_empty();
        let help = match suggester.suggest(name) {
            _ if none_defined => {
                format!("define it in the rule file: [lists] {name} = [\"entry\", ...] or {name} = {{ file = \"{name}.txt\" }}")
            }
            Some(near) => format!(
                "did you mean @{near}? The lists are: {}",
                show_names(suggester.names())
            ),
            None => format!("the lists are: {}", show_names(suggester.names())),
        };
        self.error(
            rule,
            "unknown-list",
            format!("`@{name}` names no list of this rule set"),
            span,
            &help,
        );
        None
    }

    /// Compiles the named lists of the rule set (before any rule refers to them): each entry's
    /// literal joins the dictionary and becomes a member of its list.
    pub fn compile_lists(&mut self) {
        for list in &self.set.lists {
            let index = self.dictionary.list(&list.name);
            for entry in &list.entries {
                match self.atoms(entry.kind, &entry.text) {
                    Ok(atoms) => {
                        let lit = self.dictionary.literal(atoms);
                        self.dictionary.add_entry(index, lit, &entry.written);
                    }
                    Err(err) => self.entry_error(&list.name, entry, err),
                }
            }
        }
    }

    fn entry_error(&mut self, list: &str, entry: &ListEntry, err: LiteralError) {
        let mut location = self.set.entry_location(entry);
        if let (Some(at), Some(loc), Some(_)) = (&err.at, location.as_mut(), entry.source) {
            // In a list file the entry is raw text: point inside it.
            let before = entry.text.get(..at.start).map_or(0, |t| t.chars().count());
            let width = entry.text.get(at.clone()).map_or(1, |t| t.chars().count());
            loc.column += before;
            loc.width = width.max(1);
        }
        let (diagnostic, help) = if err.code == "empty-literal" {
            (
                Diagnostic::warning(
                    "list-entry-never-matches",
                    format!("entry `{}` of list `{list}` has no letters or digits, so it can never match", entry.written),
                ),
                "remove the line, or write a word".to_owned(),
            )
        } else {
            (
                Diagnostic::error(err.code, format!("list `{list}`: {}", err.message)),
                err.help.to_owned(),
            )
        };
        self.diagnostics.push(diagnostic.at(location).help(help));
    }

    /// Normalizes a literal's words into atoms (registered in the dictionary).
    ///
    /// # Errors
    /// What can never match or is not allowed: no letters, too many words, a misplaced `*`, a
    /// wildcard prefix shorter than [`MIN_PREFIX_CHARS`]; `at` is a byte range of `text`.
    fn atoms(&mut self, kind: LiteralKind, text: &str) -> Result<Vec<AtomId>, LiteralError> {
        let tokens = tokenize(text, self.options);
        if tokens.is_empty() {
            return Err(LiteralError {
                code: "empty-literal",
                message: format!("`{text}` has no letters or digits, so it can never match"),
                at: None,
                help: "remove it, or write a word",
            });
        }
        if tokens.len() > MAX_PHRASE_WORDS {
            return Err(LiteralError {
                code: "phrase-too-long",
                message: format!(
                    "phrase of {} words, more than the limit of {MAX_PHRASE_WORDS}",
                    tokens.len()
                ),
                at: None,
                help: "shorten the phrase to its distinctive words",
            });
        }
        // Every `*` must end a word.
        let ends: Vec<usize> = (0..tokens.len()).map(|i| tokens.span(i).end).collect();
        for (i, _) in text.match_indices('*') {
            let followed_by_word = text[i + 1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '*');
            if !ends.contains(&i) || followed_by_word {
                return Err(LiteralError {
                    code: "wildcard",
                    message: "a wildcard can only end a word".to_owned(),
                    at: Some(i..i + 1),
                    help: "write the prefix followed by *, as in negotiat*; leading and inner wildcards are not supported",
                });
            }
        }
        let mut atoms = Vec::with_capacity(tokens.len());
        for i in 0..tokens.len() {
            let key = match kind {
                LiteralKind::Exact => AtomKey::Exact(tokens.exact(i).into()),
                _ if text[tokens.span(i).end..].starts_with('*') => {
                    let prefix = tokens.folded(i);
                    if prefix.chars().count() < MIN_PREFIX_CHARS {
                        return Err(LiteralError {
                            code: "wildcard-prefix",
                            message: format!("wildcard prefix `{prefix}*` is shorter than {MIN_PREFIX_CHARS} characters"),
                            at: Some(tokens.span(i).start..tokens.span(i).end + 1),
                            help: "lengthen the prefix, or list the words it should match with OR",
                        });
                    }
                    AtomKey::Prefix(prefix.into())
                }
                _ => AtomKey::Folded(tokens.folded(i).into()),
            };
            atoms.push(self.dictionary.atom(key));
        }
        Ok(atoms)
    }
}

/// Why a literal cannot be compiled.
struct LiteralError {
    code: &'static str,
    message: String,
    /// Where in the literal's text, when narrower than the whole literal.
    at: Option<std::ops::Range<usize>>,
    help: &'static str,
}

/// Up to ten names, `@a, @b, ...`.
fn show_names(names: &[&str]) -> String {
    let mut shown: Vec<String> = names.iter().take(10).map(|n| format!("@{n}")).collect();
    if names.len() > 10 {
        shown.push(format!("and {} more", names.len() - 10));
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::StrMap;

    #[test]
    fn str_map_packs_short_words_and_keeps_long_ones() {
        let mut map = StrMap::default();
        let words = [
            "",
            "a",
            "aid",
            "fifteen_bytes__",
            "sixteen_bytes___",
            "é日本",
            "a\u{0}",
        ];
        for (i, w) in words.iter().enumerate() {
            assert_eq!(map.get_or_insert(w, i), i);
        }
        for (i, w) in words.iter().enumerate() {
            assert_eq!(map.get(w), Some(&i), "{w:?}");
            assert_eq!(map.get_or_insert(w, 99), i);
        }
        assert_eq!(map.get("ai"), None);
        assert_eq!(map.get("sixteen_bytes__"), None);
        let mut back: Vec<String> = map.iter().map(|(k, _)| k).collect();
        back.sort();
        let mut expected: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        expected.sort();
        assert_eq!(back, expected);
    }
}
