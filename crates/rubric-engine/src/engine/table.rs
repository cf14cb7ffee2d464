//! The static dictionary that presearch looks every word up in: built once per rule set, read
//! by every classification.
//!
//! - [`KeyTable`]: words (folded or exact keys) to values, an open-addressing table with linear
//!   probing, at most half full, whose slots hold a 32-bit fingerprint of the key's hash and an
//!   index into the keys. A word is looked up by its hash ([`crate::text::key_hash`]), which the
//!   tokenizer computes while it lowercases a plain ASCII word, so no key is built to look one
//!   up; most words of a text are in no rule, and such a miss usually ends at the first slot, an
//!   empty one or a fingerprint that differs, in one cache line.
//! - [`PrefixIndex`]: wildcard prefixes (`negotiat*`) as sorted ranges: the prefixes are kept in
//!   byte order, each with its parent (the longest other prefix that starts it); the prefixes of
//!   a word are found by one binary search inside the range of prefixes sharing its first three
//!   bytes, then a walk up the parents, instead of one lookup per prefix length. A bit set over
//!   those first three bytes turns most words away before any search.

use rustc_hash::FxHashMap;

use crate::text::key_hash;

/// A static map from keys (byte strings) to `V`, looked up by [`key_hash`]; see the module doc.
#[derive(Debug)]
pub(crate) struct KeyTable<V> {
    /// `fingerprint << 32 | (index + 1)`; 0 is an empty slot.
    slots: Box<[u64]>,
    /// `64 - log2(slots.len())`: a hash's slot is `hash >> shift`.
    shift: u32,
    /// The keys, one after another; key `i` is `bytes[ends[i - 1]..ends[i]]`.
    bytes: Box<[u8]>,
    ends: Box<[u32]>,
    values: Box<[V]>,
}

impl<V> Default for KeyTable<V> {
    fn default() -> Self {
        KeyTable::new(Vec::new())
    }
}

impl<V> KeyTable<V> {
    /// A table of `entries` (keys distinct).
    pub fn new(entries: Vec<(String, V)>) -> KeyTable<V> {
        let capacity = (entries.len() * 2).next_power_of_two().max(8);
        let shift = 64 - capacity.trailing_zeros();
        let mut slots = vec![0u64; capacity];
        let mut bytes = Vec::new();
        let mut ends = Vec::with_capacity(entries.len());
        let mut values = Vec::with_capacity(entries.len());
        for (index, (key, value)) in entries.into_iter().enumerate() {
            let hash = key_hash(key.as_bytes());
            let mut slot = (hash >> shift) as usize;
            while slots[slot] != 0 {
                slot = (slot + 1) & (capacity - 1);
            }
            slots[slot] = (hash as u32 as u64) << 32 | (index as u64 + 1);
            bytes.extend_from_slice(key.as_bytes());
            ends.push(bytes.len() as u32);
            values.push(value);
        }
        KeyTable {
            slots: slots.into(),
            shift,
            bytes: bytes.into(),
            ends: ends.into(),
            values: values.into(),
        }
    }

    /// Key `index`.
    fn key(&self, index: usize) -> &[u8] {
        let start = if index == 0 {
            0
        } else {
            self.ends[index - 1] as usize
        };
        &self.bytes[start..self.ends[index] as usize]
    }

    /// The value of the key whose hash is `hash` and for which `is_key` holds.
    #[inline]
    pub fn get(&self, hash: u64, is_key: impl Fn(&[u8]) -> bool) -> Option<&V> {
        let mask = self.slots.len() - 1;
        let fingerprint = hash as u32;
        let mut slot = (hash >> self.shift) as usize;
        loop {
            let entry = self.slots[slot];
            if entry == 0 {
                return None;
            }
            if (entry >> 32) as u32 == fingerprint {
                let index = (entry as u32 - 1) as usize;
                if is_key(self.key(index)) {
                    return Some(&self.values[index]);
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The value of `key`.
    pub fn get_str(&self, key: &str) -> Option<&V> {
        self.get(key_hash(key.as_bytes()), |k| k == key.as_bytes())
    }
}

/// Bytes of a word that [`PrefixIndex`] files prefixes under (every prefix has at least this
/// many: `MIN_PREFIX_CHARS` characters).
pub(crate) const HEAD_BYTES: usize = super::MIN_PREFIX_CHARS;

/// Bits of the head filter.
const HEAD_BITS: usize = 1 << 16;

/// Wildcard prefixes as sorted ranges; see the module doc.
#[derive(Debug, Default)]
pub(crate) struct PrefixIndex {
    /// One bit per hash of a head (first [`HEAD_BYTES`] bytes): set when some prefix has a head
    /// with that hash.
    filter: Box<[u64]>,
    /// Head -> range of `keys` with that head.
    ranges: FxHashMap<u32, (u32, u32)>,
    /// The prefixes in byte order, with their atoms and parents (`u32::MAX`: none).
    keys: Box<[Box<str>]>,
    atoms: Box<[u32]>,
    parents: Box<[u32]>,
    /// Shortest prefix, in bytes.
    pub min_bytes: usize,
}

fn head_key(head: &[u8]) -> u32 {
    u32::from_le_bytes([head[0], head[1], head[2], 0])
}

fn head_bit(head: u32) -> usize {
    (head.wrapping_mul(0x9e37_79b1) >> 16) as usize & (HEAD_BITS - 1)
}

impl PrefixIndex {
    /// The index of `prefixes` (folded prefix, atom); every prefix has at least [`HEAD_BYTES`]
    /// bytes.
    pub fn new(mut prefixes: Vec<(String, u32)>) -> PrefixIndex {
        prefixes.sort_unstable();
        prefixes.dedup_by(|a, b| a.0 == b.0);
        let mut filter = vec![0u64; HEAD_BITS / 64];
        let mut ranges: FxHashMap<u32, (u32, u32)> = FxHashMap::default();
        let mut parents = Vec::with_capacity(prefixes.len());
        // The prefixes that start the current one, innermost last.
        let mut stack: Vec<usize> = Vec::new();
        for (i, (key, _)) in prefixes.iter().enumerate() {
            let head = head_key(&key.as_bytes()[..HEAD_BYTES]);
            filter[head_bit(head) / 64] |= 1 << (head_bit(head) % 64);
            let range = ranges.entry(head).or_insert((i as u32, i as u32));
            range.1 = i as u32 + 1;
            while stack
                .last()
                .is_some_and(|&p| !key.starts_with(&*prefixes[p].0))
            {
                stack.pop();
            }
            parents.push(stack.last().map_or(u32::MAX, |&p| p as u32));
            stack.push(i);
        }
        PrefixIndex {
            filter: filter.into(),
            ranges,
            min_bytes: prefixes
                .iter()
                .map(|p| p.0.len())
                .min()
                .unwrap_or(usize::MAX),
            keys: prefixes.iter().map(|p| p.0.as_str().into()).collect(),
            atoms: prefixes.iter().map(|p| p.1).collect(),
            parents: parents.into(),
        }
    }

    /// Whether no prefix is indexed.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a prefix may start a word whose folded key starts with `head` (its first
    /// [`HEAD_BYTES`] bytes, folded): a bit test, false for most words.
    #[inline]
    pub fn may_start(&self, head: &[u8]) -> bool {
        let bit = head_bit(head_key(head));
        !self.filter.is_empty() && self.filter[bit / 64] & (1 << (bit % 64)) != 0
    }

    /// Appends the atoms of every prefix of `folded` (a word's folded key), shortest first.
    pub fn prefixes_of(&self, folded: &str, out: &mut Vec<u32>) {
        let Some(head) = folded.as_bytes().get(..HEAD_BYTES) else {
            return;
        };
        let Some(&(start, end)) = self.ranges.get(&head_key(head)) else {
            return;
        };
        let range = &self.keys[start as usize..end as usize];
        // The last prefix at or before the word in byte order; every prefix of the word is it
        // or one of its parents.
        let after = range.partition_point(|k| k.as_bytes() <= folded.as_bytes());
        if after == 0 {
            return;
        }
        let mut at = start + after as u32 - 1;
        while at != u32::MAX && !folded.starts_with(&*self.keys[at as usize]) {
            at = self.parents[at as usize];
        }
        let first = out.len();
        while at != u32::MAX {
            out.push(self.atoms[at as usize]);
            at = self.parents[at as usize];
        }
        out[first..].reverse();
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn key_table_finds_its_keys_only() {
        let table = KeyTable::new(vec![("aid".to_owned(), 1), ("talks".to_owned(), 2)]);
        assert_eq!(table.get_str("aid"), Some(&1));
        assert_eq!(table.get_str("talks"), Some(&2));
        assert_eq!(table.get_str("ai"), None);
        assert_eq!(table.get_str(""), None);
        assert_eq!(KeyTable::<u8>::default().get_str("aid"), None);
    }

    proptest! {
        /// The prefix index finds exactly the prefixes a scan of all of them finds.
        #[test]
        fn prefix_index_equals_scan(
            prefixes in proptest::collection::vec("[ab]{3,6}", 0..30),
            words in proptest::collection::vec("[ab]{0,8}", 0..30),
        ) {
            let entries: Vec<(String, u32)> =
                prefixes.iter().enumerate().map(|(i, p)| (p.clone(), i as u32)).collect();
            let index = PrefixIndex::new(entries.clone());
            for word in &words {
                let mut found = Vec::new();
                index.prefixes_of(word, &mut found);
                found.sort_unstable();
                let mut first_atom = std::collections::BTreeMap::new();
                for (p, a) in &entries {
                    first_atom.entry(p.clone()).or_insert(*a);
                }
                let mut expected: Vec<u32> = first_atom
                    .iter()
                    .filter(|(p, _)| word.starts_with(p.as_str()))
                    .map(|(_, a)| *a)
                    .collect();
                expected.sort_unstable();
                prop_assert_eq!(found, expected, "word {:?}", word);
            }
        }

        /// Every key of a table is found with its value, and no other word is.
        #[test]
        fn key_table_equals_map(
            keys in proptest::collection::btree_set("[a-c]{0,10}", 0..200),
            probes in proptest::collection::vec("[a-c]{0,10}", 0..50),
        ) {
            let entries: Vec<(String, usize)> =
                keys.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect();
            let table = KeyTable::new(entries.clone());
            for (k, v) in &entries {
                prop_assert_eq!(table.get_str(k), Some(v));
            }
            for p in &probes {
                prop_assert_eq!(table.get_str(p).is_some(), keys.contains(p));
            }
        }
    }
}
