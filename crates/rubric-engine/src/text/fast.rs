//! The fast paths of normalization and key hashing.
//!
//! - [`FastChars`]: the characters outside ASCII that news text is full of (curly quotes and
//!   apostrophes, dashes, no-break spaces, soft hyphens, ellipses, Latin letters with accents when
//!   accents are ignored) and what the view makes of each, so a region made only of them is
//!   mapped by table lookup instead of grapheme clustering and NFKC. The table is not written by
//!   hand: it is computed from the general path itself ([`super::normalize_cluster`] and
//!   `unicode-segmentation`), once per [`NormalizeOptions`], and holds two kinds of characters,
//!   each a grapheme cluster on its own:
//!   - [`Fast::Ascii`]: normalizes to at most three ASCII bytes (`’` to `'`, `é` to `e`, `…` to
//!     `...`, a no-break space to a space, a soft hyphen to nothing);
//!   - [`Fast::Keep`]: stays as it is and is a word boundary on both sides, never part of a word
//!     (`–`, `—`, `•`, `°`, `£`), so word segmentation can treat its bytes like ASCII punctuation.
//!
//!   Property tests check that a view built with the table, and the words found in it, equal
//!   the general path's.
//! - [`key_hash`] and [`lowercase_key_hash`]: one hash of a folded key, computed either from the
//!   key or, for a plain ASCII word, straight from the word's bytes while lowercasing them eight at
//!   a time, so a word is looked up without building its key first.

use std::sync::OnceLock;

use unicode_segmentation::UnicodeSegmentation;

use super::NormalizeOptions;

/// First code point of the table's first block: Latin-1 Supplement, Latin Extended-A and -B,
/// IPA, spacing modifier letters (U+0080..U+02FF).
const LATIN: (u32, u32) = (0x80, 0x300);
/// General Punctuation (U+2000..U+206F): dashes, quotes, spaces, ellipsis, invisible marks.
const PUNCTUATION: (u32, u32) = (0x2000, 0x2070);

/// What the view makes of the characters that can take the fast path; see the module doc.
pub(crate) struct FastChars {
    /// For each character of [`LATIN`] then [`PUNCTUATION`]: [`ASCII`] with the replacement packed
    /// as `len << 24 | bytes` (little-endian, at most 3 bytes), or [`KEEP`]; 0 when it needs the
    /// general path.
    table: Box<[u32]>,
}

/// How a character takes the fast path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fast {
    /// The view holds these ASCII bytes (the first `.1` of `.0`) instead.
    Ascii([u8; 3], usize),
    /// The view keeps the character; it is a word boundary on both sides.
    Keep,
}

const ASCII: u32 = 1 << 31;
const KEEP: u32 = 1 << 30;

impl FastChars {
    /// The table for `options` (computed on first use, then shared).
    pub(crate) fn get(options: NormalizeOptions) -> &'static FastChars {
        static TABLES: [OnceLock<FastChars>; 2] = [OnceLock::new(), OnceLock::new()];
        TABLES[options.accent_sensitive as usize].get_or_init(|| FastChars::compute(options))
    }

    fn compute(options: NormalizeOptions) -> FastChars {
        let mut table = Vec::new();
        let mut out = String::new();
        for (lo, hi) in [LATIN, PUNCTUATION] {
            for cp in lo..hi {
                let entry = char::from_u32(cp).map_or(0, |c| {
                    // On its own: neither attaching to what precedes (Extend, SpacingMark, ZWJ)
                    // nor taking what follows (Prepend).
                    let alone = format!("a{c}a").graphemes(true).count() == 3;
                    let s = c.encode_utf8(&mut [0; 4]).to_owned();
                    super::normalize_cluster(&s, options, &mut out);
                    // A word boundary before and after it, whatever the neighbours.
                    let boundary = !c.is_alphanumeric()
                        && ["a", "1", "_", "'", ".", ":", ","].iter().all(|n| {
                            format!("{n}{c}{n}").split_word_bounds().count() >= 3
                                && format!("a{c}{n}").split_word_bounds().count() >= 3
                                && format!("{n}{c}a").split_word_bounds().count() >= 3
                        });
                    if !alone {
                        0
                    } else if out.is_ascii() && out.len() <= 3 {
                        let mut packed = 0u32;
                        for (i, b) in out.bytes().enumerate() {
                            packed |= (b as u32) << (8 * i);
                        }
                        ASCII | (out.len() as u32) << 24 | packed
                    } else if out == s && boundary {
                        KEEP
                    } else {
                        0
                    }
                });
                table.push(entry);
            }
        }
        FastChars {
            table: table.into(),
        }
    }

    /// How `c` takes the fast path, or `None` when it needs the general one.
    #[inline]
    pub(crate) fn map(&self, c: char) -> Option<Fast> {
        let cp = c as u32;
        let index = if (LATIN.0..LATIN.1).contains(&cp) {
            cp - LATIN.0
        } else if (PUNCTUATION.0..PUNCTUATION.1).contains(&cp) {
            cp - PUNCTUATION.0 + (LATIN.1 - LATIN.0)
        } else {
            return None;
        };
        let entry = self.table[index as usize];
        if entry & ASCII != 0 {
            let bytes = entry.to_le_bytes();
            Some(Fast::Ascii(
                [bytes[0], bytes[1], bytes[2]],
                ((entry >> 24) & 0x3f) as usize,
            ))
        } else if entry & KEEP != 0 {
            Some(Fast::Keep)
        } else {
            None
        }
    }
}

const SEED: u64 = 0x243f_6a88_85a3_08d3;
const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

#[inline]
fn mix(hash: u64, chunk: u64) -> u64 {
    (hash.rotate_left(23) ^ chunk).wrapping_mul(MULTIPLIER)
}

#[inline]
fn finish(hash: u64) -> u64 {
    let h = (hash ^ (hash >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 32)
}

/// Bytes `[at, at + 8)` of `bytes` as a little-endian word, zero-padded past the end. The
/// short tail is read with two overlapping loads (each byte lands in its own place, some twice),
/// not copied byte by byte.
#[inline]
fn chunk(bytes: &[u8], at: usize) -> u64 {
    let rest = &bytes[at..];
    let n = rest.len();
    if n >= 8 {
        u64::from_le_bytes(rest[..8].try_into().expect("eight bytes"))
    } else if n >= 4 {
        let lo = u32::from_le_bytes(rest[..4].try_into().expect("four bytes")) as u64;
        let hi = u32::from_le_bytes(rest[n - 4..n].try_into().expect("four bytes")) as u64;
        lo | hi << (8 * (n - 4))
    } else if n > 0 {
        rest[0] as u64
            | (rest[n / 2] as u64) << (8 * (n / 2))
            | (rest[n - 1] as u64) << (8 * (n - 1))
    } else {
        0
    }
}

/// ASCII `A-Z` to `a-z` in eight bytes at once; every byte must be ASCII (below 0x80), so
/// adding to a byte never carries into the next.
#[inline]
fn lower8(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let at_least_a = x.wrapping_add(ONES * (0x80 - b'A' as u64));
    let past_z = x.wrapping_add(ONES * (0x80 - b'Z' as u64 - 1));
    let upper = at_least_a & !past_z & (ONES * 0x80);
    x | (upper >> 2)
}

/// The hash of a key (a word's folded key, as the dictionary stores it).
#[inline]
pub(crate) fn key_hash(key: &[u8]) -> u64 {
    let mut hash = SEED ^ key.len() as u64;
    let mut at = 0;
    while at < key.len() {
        hash = mix(hash, chunk(key, at));
        at += 8;
    }
    finish(hash)
}

/// `key_hash` of the ASCII lowercase of `ascii`, without building it. `ascii` must be ASCII.
#[inline]
pub(crate) fn lowercase_key_hash(ascii: &[u8]) -> u64 {
    debug_assert!(ascii.is_ascii());
    let mut hash = SEED ^ ascii.len() as u64;
    let mut at = 0;
    while at < ascii.len() {
        hash = mix(hash, lower8(chunk(ascii, at)));
        at += 8;
    }
    finish(hash)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn typographic_punctuation_is_fast() {
        let table = FastChars::get(NormalizeOptions::default());
        let map = |c| match table.map(c) {
            Some(Fast::Ascii(b, n)) => Some(String::from_utf8(b[..n].to_vec()).unwrap()),
            Some(Fast::Keep) => Some("keep".to_owned()),
            None => None,
        };
        assert_eq!(map('\u{2019}').as_deref(), Some("'"));
        assert_eq!(map('\u{201C}').as_deref(), Some("\""));
        assert_eq!(map('\u{00A0}').as_deref(), Some(" "));
        assert_eq!(map('\u{00AD}').as_deref(), Some(""));
        assert_eq!(map('\u{2026}').as_deref(), Some("..."));
        assert_eq!(map('\u{00E9}').as_deref(), Some("e"));
        assert_eq!(map('\u{2013}').as_deref(), Some("keep"));
        assert_eq!(map('\u{2014}').as_deref(), Some("keep"));
        // Not ASCII in the view and not a boundary, or not a cluster alone: the general path.
        assert_eq!(map('\u{00DF}'), None);
        assert_eq!(map('\u{00B7}'), None);
        assert_eq!(map('\u{0301}'), None);
        let sensitive = FastChars::get(NormalizeOptions {
            accent_sensitive: true,
        });
        assert_eq!(sensitive.map('\u{00E9}'), None);
        assert!(sensitive.map('\u{2019}').is_some());
    }

    proptest! {
        /// The overlapping loads read what a zero-padded copy reads.
        #[test]
        fn chunk_equals_padded_copy(bytes in proptest::collection::vec(any::<u8>(), 0..20), at in 0usize..20) {
            let at = at.min(bytes.len());
            let mut buf = [0u8; 8];
            let n = (bytes.len() - at).min(8);
            buf[..n].copy_from_slice(&bytes[at..at + n]);
            prop_assert_eq!(chunk(&bytes, at), u64::from_le_bytes(buf));
        }

        /// Hashing while lowercasing gives the hash of the lowercased key.
        #[test]
        fn lowercase_hash_equals_hash_of_lowercase(word in "[A-Za-z0-9_]{0,40}") {
            prop_assert_eq!(
                lowercase_key_hash(word.as_bytes()),
                key_hash(word.to_ascii_lowercase().as_bytes())
            );
        }
    }
}
