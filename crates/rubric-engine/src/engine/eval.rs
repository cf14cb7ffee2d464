//! Matching one article: presearch over the dictionary, then evaluation of the candidate rules.

use std::collections::BTreeMap;

use crate::article::{Article, Field};
use std::ops::Range;

use crate::text::{for_each_word, NormalizeOptions, Path, Word, WordScratch, WordSink};

use super::compile::{AtomId, Dictionary, FieldMask, LitId, Node, MAX_PHRASE_WORDS, NO_ATOM};
use super::table::HEAD_BYTES;

/// An occurrence of a literal: words `[start, end)` of a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Occ {
    pub field: Field,
    pub start: u32,
    pub end: u32,
}

/// One field's words and, for each word, the atoms it matches (CSR layout).
#[derive(Default)]
pub(crate) struct FieldMatches {
    /// Each word's byte range in the original field text, `end` exclusive.
    spans: Vec<Range<usize>>,
    atoms: Vec<AtomId>,
    offsets: Vec<u32>,
    /// The words with at least one atom, ascending.
    hits: Vec<u32>,
    /// Buffers of the tokenizer, and a folded key built for a prefix search.
    scratch: WordScratch,
    folded: String,
}

impl FieldMatches {
    /// Number of words.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// The original byte range of word `i`, `end` exclusive.
    pub fn span(&self, i: usize) -> Range<usize> {
        self.spans[i].clone()
    }

    fn atoms_at(&self, i: usize) -> &[AtomId] {
        &self.atoms[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

/// Everything known about one article after presearch.
///
/// Its buffers can be reused for the next article ([`MatchState::fill`]), so classifying does not
/// allocate them again.
#[derive(Default)]
pub(crate) struct MatchState {
    pub fields: [FieldMatches; 2],
    /// Literal occurrences sorted by (literal, field, start), each with the literal that matched
    /// the words: the same literal, or for a named list's occurrence, the entry's.
    occurrences: Vec<(LitId, Occ, LitId)>,
    /// The literals that occur, ascending, each with its range of `occurrences`.
    present: Vec<(LitId, u32, u32)>,
    /// Left and right occurrences of a proximity operator, and which right ones took part,
    /// reused from one evaluation to the next.
    near_buffers: std::cell::Cell<NearBuffers>,
}

type NearBuffers = (Vec<Occ>, Vec<Occ>, Vec<bool>);

impl MatchState {
    /// Tokenizes the article and finds every literal occurrence.
    pub fn new(article: &Article<'_>, dictionary: &Dictionary, options: NormalizeOptions) -> Self {
        let mut state = MatchState::default();
        state.fill(article, dictionary, options);
        state
    }

    /// Words in both fields: what the buffers hold.
    pub fn word_count(&self) -> usize {
        self.fields.iter().map(FieldMatches::len).sum()
    }

    /// Like [`MatchState::new`], reusing this state's buffers.
    pub fn fill(
        &mut self,
        article: &Article<'_>,
        dictionary: &Dictionary,
        options: NormalizeOptions,
    ) {
        for field in Field::ALL {
            scan(
                article.field(field),
                dictionary,
                options,
                &mut self.fields[field.index()],
            );
        }
        let fields = &self.fields;
        let occurrences = &mut self.occurrences;
        occurrences.clear();
        for field in Field::ALL {
            let fm = &fields[field.index()];
            for &i in &fm.hits {
                let i = i as usize;
                for &atom in fm.atoms_at(i) {
                    for &lit in &dictionary.starts[atom as usize] {
                        let atoms = &dictionary.literals[lit as usize].atoms;
                        let fits = i + atoms.len() <= fm.len()
                            && atoms[1..]
                                .iter()
                                .enumerate()
                                .all(|(k, a)| fm.atoms_at(i + 1 + k).contains(a));
                        if fits {
                            let occ = Occ {
                                field,
                                start: i as u32,
                                end: (i + atoms.len()) as u32,
                            };
                            occurrences.push((lit, occ, lit));
                            // An entry of named lists is an occurrence of each list too.
                            for &list in dictionary.member_of[lit as usize].iter() {
                                occurrences.push((list, occ, lit));
                            }
                        }
                    }
                }
            }
        }
        occurrences.sort_unstable();
        let present = &mut self.present;
        present.clear();
        for (i, &(lit, _, _)) in occurrences.iter().enumerate() {
            match present.last_mut() {
                Some(last) if last.0 == lit => last.2 = i as u32 + 1,
                _ => present.push((lit, i as u32, i as u32 + 1)),
            }
        }
    }

    /// The literals that occur, each once, ascending.
    pub fn literals(&self) -> impl Iterator<Item = LitId> + '_ {
        self.present.iter().map(|&(lit, _, _)| lit)
    }

    /// The occurrences of `lit`: a binary search over the literals that occur (far fewer than
    /// their occurrences).
    fn occurrences_of(&self, lit: LitId) -> &[(LitId, Occ, LitId)] {
        match self.present.binary_search_by_key(&lit, |&(l, _, _)| l) {
            Ok(i) => {
                let (_, start, end) = self.present[i];
                &self.occurrences[start as usize..end as usize]
            }
            Err(_) => &[],
        }
    }

    /// The literal of the entry of list `list` that occurs at `occ`, if one does.
    pub fn entry_at(&self, list: LitId, occ: &Occ) -> Option<LitId> {
        let all = self.occurrences_of(list);
        let i = all.partition_point(|(_, o, _)| o < occ);
        all.get(i).filter(|(_, o, _)| o == occ).map(|(_, _, e)| *e)
    }

    /// Evaluates `node`; when true, the occurrences that made it true are appended to `spans`.
    pub fn eval(&self, node: &Node, spans: &mut Vec<Occ>) -> bool {
        match node {
            Node::Lit { lit, fields } => {
                let before = spans.len();
                spans.extend(
                    self.occurrences_of(*lit)
                        .iter()
                        .filter(|(_, o, _)| fields.contains(o.field))
                        .map(|(_, o, _)| *o),
                );
                spans.len() > before
            }
            Node::And(ops) => {
                let mark = spans.len();
                for op in ops.iter() {
                    if !self.eval(op, spans) {
                        spans.truncate(mark);
                        return false;
                    }
                }
                true
            }
            Node::Or(ops) => {
                let mut any = false;
                for op in ops.iter() {
                    any |= self.eval(op, spans);
                }
                any
            }
            Node::Not(op) => {
                let mark = spans.len();
                let inner = self.eval(op, spans);
                spans.truncate(mark);
                !inner
            }
            Node::Near {
                left,
                right,
                distance,
                ordered,
            } => self.near(left, right, *distance, *ordered, spans),
        }
    }

    /// The occurrences of a proximity operand, sorted and distinct, into `out` (cleared).
    fn gather(&self, operand: &[(LitId, FieldMask)], out: &mut Vec<Occ>) {
        out.clear();
        for &(lit, fields) in operand {
            out.extend(
                self.occurrences_of(lit)
                    .iter()
                    .filter(|(_, o, _)| fields.contains(o.field))
                    .map(|(_, o, _)| *o),
            );
        }
        // One literal's occurrences are already sorted by (field, start) and distinct.
        if operand.len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
    }

    /// `NEAR/n`: some left and right occurrence in one field, not overlapping, with at most `n`
    /// words between them (left first when `ordered`). Appends every occurrence that takes part
    /// in such a pair.
    fn near(
        &self,
        left: &[(LitId, FieldMask)],
        right: &[(LitId, FieldMask)],
        distance: u32,
        ordered: bool,
        spans: &mut Vec<Occ>,
    ) -> bool {
        // The buffers of the last proximity evaluated (operands hold literals only, so this
        // never runs while another proximity holds them).
        let mut buffers = self.near_buffers.take();
        let (lefts, rights, right_used) = &mut buffers;
        self.gather(left, lefts);
        if lefts.is_empty() {
            self.near_buffers.set(buffers);
            return false;
        }
        self.gather(right, rights);
        right_used.clear();
        right_used.resize(rights.len(), false);
        let mut found = false;
        for l in lefts.iter() {
            let mut used = false;
            // Right occurrences that start after `l` ends, within the window.
            let lo = rights.partition_point(|r| (r.field, r.start) < (l.field, l.end));
            for (k, r) in rights.iter().enumerate().skip(lo) {
                if r.field != l.field || r.start > l.end + distance {
                    break;
                }
                used = true;
                right_used[k] = true;
            }
            if !ordered {
                // Right occurrences that end before `l` starts, within the window. A phrase is at
                // most MAX_PHRASE_WORDS long, which bounds where such an occurrence can start.
                let reach = distance + MAX_PHRASE_WORDS as u32;
                let lo = rights.partition_point(|r| {
                    (r.field, r.start) < (l.field, l.start.saturating_sub(reach))
                });
                for (k, r) in rights.iter().enumerate().skip(lo) {
                    if r.field != l.field || r.start >= l.start {
                        break;
                    }
                    if r.end <= l.start && l.start - r.end <= distance {
                        used = true;
                        right_used[k] = true;
                    }
                }
            }
            if used {
                found = true;
                spans.push(*l);
            }
        }
        spans.extend(
            rights
                .iter()
                .zip(right_used.iter())
                .filter(|(_, &u)| u)
                .map(|(r, _)| *r),
        );
        self.near_buffers.set(buffers);
        found
    }
}

/// Tokenizes one field and looks every word up in the dictionary as the tokenizer finds it,
/// into `out`'s buffers.
fn scan(text: &str, dictionary: &Dictionary, options: NormalizeOptions, out: &mut FieldMatches) {
    out.spans.clear();
    out.atoms.clear();
    out.offsets.clear();
    out.hits.clear();
    out.offsets.push(0);
    let mut scratch = std::mem::take(&mut out.scratch);
    for_each_word(
        text,
        options,
        Path::Fast,
        &mut scratch,
        &mut Lookup { dictionary, out },
    );
    out.scratch = scratch;
}

/// The atoms of a word found in the dictionary: its folded atom, and its exact one if any.
#[inline(never)]
fn push_word_atoms(
    (atom, exact): (AtomId, bool),
    word: &Word<'_>,
    dictionary: &Dictionary,
    atoms: &mut Vec<AtomId>,
) {
    if atom != NO_ATOM {
        atoms.push(atom);
    }
    if exact {
        if let Some(&a) = dictionary.exact.get_str(word.exact) {
            atoms.push(a);
        }
    }
}

/// The atoms of the wildcard prefixes of a word.
#[inline(never)]
fn push_prefix_atoms(word: &Word<'_>, dictionary: &Dictionary, out: &mut FieldMatches) {
    let prefix = &dictionary.prefix;
    let folded_len = word.folded.map_or(word.exact.len(), str::len);
    if folded_len < prefix.min_bytes {
        return;
    }
    // Every prefix has at least HEAD_BYTES bytes, so the folded key has them too.
    let may = match word.folded {
        Some(folded) => prefix.may_start(&folded.as_bytes()[..HEAD_BYTES]),
        None => {
            let e = word.exact.as_bytes();
            let head: [u8; HEAD_BYTES] = std::array::from_fn(|i| e[i].to_ascii_lowercase());
            prefix.may_start(&head)
        }
    };
    if may {
        let mut folded = std::mem::take(&mut out.folded);
        prefix.prefixes_of(word.folded_in(&mut folded), &mut out.atoms);
        out.folded = folded;
    }
}

/// Looks each word up as [`for_each_word`] finds it.
struct Lookup<'a> {
    dictionary: &'a Dictionary,
    out: &'a mut FieldMatches,
}

impl WordSink for Lookup<'_> {
    #[inline(always)]
    fn word(&mut self, word: Word<'_>) {
        let dictionary = self.dictionary;
        let out = &mut *self.out;
        out.spans.push(word.span.clone());
        let before = out.atoms.len();
        if let Some(&entry) = dictionary
            .words
            .get(word.folded_hash(), |key| word.folded_is(key))
        {
            push_word_atoms(entry, &word, dictionary, &mut out.atoms);
        }
        if !dictionary.prefix.is_empty() {
            push_prefix_atoms(&word, dictionary, out);
        }
        if out.atoms.len() > before {
            out.hits.push(out.spans.len() as u32 - 1);
        }
        out.offsets.push(out.atoms.len() as u32);
    }

    fn extend_last(&mut self, end: usize) {
        if let Some(last) = self.out.spans.last_mut() {
            last.end = end;
        }
    }
}

/// Buffers of [`resolve_overlaps`], reused from call to call.
#[derive(Default)]
pub(crate) struct Overlaps {
    order: Vec<usize>,
    taken: Vec<Occ>,
    /// For each item of the last call, whether it was kept.
    pub kept: Vec<bool>,
}

/// Keeps, among overlapping occurrences, the longest (then the earliest); sets `out.kept[i]` for
/// each input kept. `items` are `(owner, occurrence)`; ties between identical occurrences go to
/// the owner that comes first in `items`.
pub(crate) fn resolve_overlaps(items: &[(usize, Occ)], out: &mut Overlaps) {
    out.order.clear();
    out.order.extend(0..items.len());
    out.order.sort_by_key(|&i| {
        let o = items[i].1;
        (std::cmp::Reverse(o.end - o.start), o.field, o.start, i)
    });
    out.kept.clear();
    out.kept.resize(items.len(), false);
    if items.len() <= 32 {
        // Few matches (the usual case): a linear scan over the kept ones beats building maps.
        keep_linear(items, out)
    } else {
        keep_ordered(items, out)
    }
}

/// [`resolve_overlaps`] for few items: each is tested against every kept one.
fn keep_linear(items: &[(usize, Occ)], out: &mut Overlaps) {
    out.taken.clear();
    for &i in &out.order {
        let o = items[i].1;
        let overlaps = out
            .taken
            .iter()
            .any(|t| t.field == o.field && t.start < o.end && o.start < t.end);
        if !overlaps {
            out.taken.push(o);
            out.kept[i] = true;
        }
    }
}

/// [`resolve_overlaps`] for many items: the kept ones in an ordered map per field.
fn keep_ordered(items: &[(usize, Occ)], out: &mut Overlaps) {
    let mut taken: [BTreeMap<u32, u32>; 2] = [BTreeMap::new(), BTreeMap::new()];
    for &i in &out.order {
        let o = items[i].1;
        let map = &mut taken[o.field.index()];
        let overlaps = map
            .range(..o.end)
            .next_back()
            .is_some_and(|(_, &end)| end > o.start);
        if !overlaps {
            map.insert(o.start, o.end);
            out.kept[i] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The linear path for few matches keeps exactly what the ordered-map path keeps.
        #[test]
        fn both_overlap_resolutions_agree(
            raw in proptest::collection::vec((0usize..4, any::<bool>(), 0u32..40, 1u32..6), 0..80)
        ) {
            let items: Vec<(usize, Occ)> = raw
                .iter()
                .map(|&(owner, title, start, len)| {
                    let field = if title { Field::Title } else { Field::Body };
                    (owner, Occ { field, start, end: start + len })
                })
                .collect();
            let run = |keep: fn(&[(usize, Occ)], &mut Overlaps)| {
                let mut out = Overlaps::default();
                resolve_overlaps(&items, &mut out); // fills `order`
                out.kept.iter_mut().for_each(|k| *k = false);
                keep(&items, &mut out);
                out.kept
            };
            prop_assert_eq!(run(keep_linear), run(keep_ordered));
        }
    }
}
