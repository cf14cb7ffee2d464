//! Text normalization and tokenization with an offset map back to the original text.
//!
//! Rules never see raw article text: each field is turned into a sequence of [`Tokens`], and every
//! token keeps the byte range of the ORIGINAL text it came from, so evidence can quote the article
//! exactly as it was sent (curly apostrophes, soft hyphens and all).
//!
//! # Pipeline
//!
//! 1. **View.** The text is cut into extended grapheme clusters (UAX #29, `unicode-segmentation`).
//!    Each cluster is rewritten independently and the result is appended to a *view* string, with a
//!    segment map from view bytes to original bytes:
//!    - format characters (General_Category Cf, from `unicode-properties`: soft hyphen U+00AD,
//!      zero-width joiners, bidi marks such as LRM/RLM and isolates, word joiner, BOM), zero-width
//!      space (U+200B) and variation selectors are dropped, so a word they split stays one word;
//!    - typographic apostrophes (U+2018, U+2019, U+201B, U+02BC, U+FF07) become `'`, typographic double
//!      quotes (U+201C..U+201F, U+00AB, U+00BB) become `"`;
//!    - Unicode NFKC (`unicode-normalization`): full-width letters, ligatures, no-break spaces
//!      (become plain spaces), NFD accents recomposed;
//!    - unless the rule set is accent-sensitive, accents are removed: the cluster is decomposed
//!      (NFD) and characters of the Combining Diacritical Marks block (U+0300..U+036F) are dropped.
//!
//!    ASCII runs are copied as they are without running the Unicode machinery (they are already in
//!    every normal form); only the last ASCII character before non-ASCII text goes through it, since
//!    a combining mark may follow it.
//! 2. **Words.** The view is split at UAX #29 word boundaries; a word is a segment with at least one
//!    alphanumeric character. Hyphens, slashes and dashes separate words (`state-of-the-art` is four
//!    words); apostrophes and periods between letters do not (`country's`, `U.S`). Two repairs for
//!    news text: a colon always separates (`UPDATE:Ukraine`), and so does a period between two
//!    parts of two or more letters, as in a missing space after a full stop (`Geneva.The`), while
//!    abbreviations (`U.S`, `e.g`, `Ph.D`) and numbers (`3.5`) stay whole. The span of an
//!    abbreviation includes its final period (`U.S.`), and a possessive after it (`U.K.’s`)
//!    belongs to it rather than becoming a word `s`.
//! 3. **Keys.** Each word gets two keys:
//!    - the *exact* key: the view text with periods removed when the word has no digit (`U.S.` and
//!      `US` both give `US`; `3.5` stays `3.5`) and a possessive `'s` or trailing `'` removed
//!      (`Kazakhstan's` gives `Kazakhstan`). Case-sensitive `{Exact}` terms compare against it;
//!    - the *folded* key: the exact key after Unicode full case folding (`caseless`, so `ß` gives
//!      `ss`) and, unless accent-sensitive, accent removal again (`İ` folds to `i` + U+0307, which is
//!      then removed). Ordinary terms compare against it.
//!
//! Query literals go through the very same pipeline, so a rule and a text that look alike to a
//! reader compare equal.
//!
//! # Fast paths
//!
//! The engine runs the pipeline through `Path::Fast`: a non-ASCII region made only of the
//! characters of a table computed from step 1 itself (`fast::FastChars`: curly quotes and
//! apostrophes, no-break spaces, soft hyphens, ellipses, accented Latin letters when accents are
//! ignored, dashes) is mapped by lookup instead of clustering and NFKC; a view of ASCII and
//! boundary characters is segmented by one byte loop; and a plain ASCII word is handed to the
//! `WordSink` without its keys being built (its folded key's hash is computed while it is
//! lowercased, `Word::folded_hash`). `Path::General` runs every step in full and is the
//! reference: property tests check that both give the same view, segments, keys and spans.
//!
//! # Offsets
//!
//! [`Tokens::span`] returns `[start, end)` in UTF-8 bytes of the original text, `end` exclusive,
//! always on `char` boundaries. A word that starts or ends inside a cluster that NFKC expanded
//! (e.g. `½` becomes `1⁄2`) maps to the whole cluster. [`OffsetEncoding`] converts byte offsets to
//! UTF-16 code units or Unicode code points.

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

mod fast;
mod offsets;

pub(crate) use fast::{key_hash, lowercase_key_hash};
pub use offsets::{convert_offsets, OffsetEncoding};

use fast::{Fast, FastChars};

/// How text is normalized; set once per rule set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NormalizeOptions {
    /// When `true`, accents count (`é` differs from `e`). Default `false`: accents are ignored.
    pub accent_sensitive: bool,
}

/// One word of a field: its keys and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TokenRecord {
    /// Range of the folded key in [`Tokens::keys`].
    fold: Range<u32>,
    /// Range of the exact key in [`Tokens::keys`].
    exact: Range<u32>,
    /// Byte range in the original text, `end` exclusive.
    span: Range<usize>,
}

/// The words of one text, in order, with their keys and original byte spans.
///
/// Built by [`tokenize`]. Indexing is by word position (0-based); positions are what `NEAR/n`
/// counts. Cost: one pass over the text; memory about 40 bytes a word plus the keys.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    keys: String,
    records: Vec<TokenRecord>,
    /// Buffers reused by [`Tokens::fill`].
    scratch: WordScratch,
}

impl Tokens {
    /// Number of words.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// `true` when the text had no words.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The case-folded key of word `i` (what ordinary terms compare with).
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn folded(&self, i: usize) -> &str {
        let r = &self.records[i].fold;
        &self.keys[r.start as usize..r.end as usize]
    }

    /// The case-preserving key of word `i` (what `{Exact}` terms compare with).
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn exact(&self, i: usize) -> &str {
        let r = &self.records[i].exact;
        &self.keys[r.start as usize..r.end as usize]
    }

    /// The original byte range of word `i`: `[start, end)`, UTF-8 bytes, `end` exclusive.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn span(&self, i: usize) -> Range<usize> {
        self.records[i].span.clone()
    }
}

/// A piece of the view and the original bytes it came from.
#[derive(Clone, Copy, Debug)]
struct Segment {
    view_start: u32,
    orig_start: u32,
    orig_len: u32,
    /// The view bytes equal the original bytes one for one (ASCII, or a cluster that normalization
    /// left alone), so an offset inside the segment maps by difference.
    identity: bool,
}

/// The normalized view of a text with its map back to the original.
struct View<'a> {
    /// The view: the original itself when it is all ASCII (already in every normal form).
    text: std::borrow::Cow<'a, str>,
    /// The map; empty when the view is the original.
    segments: Vec<Segment>,
    /// The segment found last: words are mapped in text order, so the next one is usually at or
    /// just after it.
    cursor: std::cell::Cell<usize>,
}

impl<'a> View<'a> {
    /// The view of `original`. With `fast`, a non-ASCII region made only of characters the table
    /// knows is mapped through it; any other region, and every region without `fast`, goes
    /// through grapheme clustering and NFKC (the general path, the reference).
    fn build(original: &'a str, options: NormalizeOptions, fast: Option<&FastChars>) -> View<'a> {
        if original.is_ascii() {
            return View {
                text: std::borrow::Cow::Borrowed(original),
                segments: Vec::new(),
                cursor: std::cell::Cell::new(0),
            };
        }
        let mut view = View {
            text: std::borrow::Cow::Owned(String::with_capacity(original.len())),
            segments: Vec::new(),
            cursor: std::cell::Cell::new(0),
        };
        let bytes = original.as_bytes();
        let mut i = 0;
        let mut scratch = String::new();
        while i < bytes.len() {
            // ASCII run [i, j).
            let mut j = i;
            while j < bytes.len() && bytes[j].is_ascii() {
                j += 1;
            }
            if j == bytes.len() {
                view.push_identity(original, i..j);
                break;
            }
            // The last ASCII character may take combining marks from what follows.
            let unicode_start = if j > i { j - 1 } else { j };
            if unicode_start > i {
                view.push_identity(original, i..unicode_start);
            }
            // Non-ASCII region up to the next ASCII byte that cannot be part of a cluster.
            let mut k = j;
            while k < bytes.len() && !bytes[k].is_ascii() {
                k += 1;
            }
            if let Some(table) = fast {
                if view.push_fast(original, unicode_start..j, j..k, table) {
                    i = k;
                    continue;
                }
            }
            let region = &original[unicode_start..k];
            for (offset, cluster) in region.grapheme_indices(true) {
                let start = unicode_start + offset;
                normalize_cluster(cluster, options, &mut scratch);
                if scratch == cluster {
                    view.push_identity(original, start..start + cluster.len());
                } else if !scratch.is_empty() {
                    view.segments.push(Segment {
                        view_start: view.text.len() as u32,
                        orig_start: start as u32,
                        orig_len: cluster.len() as u32,
                        identity: false,
                    });
                    view.text.to_mut().push_str(&scratch);
                }
            }
            i = k;
        }
        view
    }

    /// Appends the view of `original[rest]` (non-ASCII, after the ASCII character(s) `lead`)
    /// through `table`, when every character of it is in the table; `false`, with nothing
    /// appended, when one is not.
    fn push_fast(
        &mut self,
        original: &str,
        lead: Range<usize>,
        rest: Range<usize>,
        table: &FastChars,
    ) -> bool {
        let region = &original[rest.clone()];
        if !region.chars().all(|c| table.map(c).is_some()) {
            return false;
        }
        self.push_identity(original, lead);
        for (offset, c) in region.char_indices() {
            let start = rest.start + offset;
            match table.map(c) {
                Some(Fast::Ascii(bytes, len)) => {
                    if len > 0 {
                        self.segments.push(Segment {
                            view_start: self.text.len() as u32,
                            orig_start: start as u32,
                            orig_len: c.len_utf8() as u32,
                            identity: false,
                        });
                        let ascii = std::str::from_utf8(&bytes[..len]).expect("ASCII");
                        self.text.to_mut().push_str(ascii);
                    }
                }
                _ => self.push_identity(original, start..start + c.len_utf8()),
            }
        }
        true
    }

    fn push_identity(&mut self, original: &str, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let view_start = self.text.len() as u32;
        match self.segments.last_mut() {
            Some(last)
                if last.identity
                    && (last.orig_start + last.orig_len) as usize == range.start
                    && last.view_start + last.orig_len == view_start =>
            {
                last.orig_len += range.len() as u32;
            }
            _ => self.segments.push(Segment {
                view_start,
                orig_start: range.start as u32,
                orig_len: range.len() as u32,
                identity: true,
            }),
        }
        self.text.to_mut().push_str(&original[range]);
    }

    fn segment_at(&self, view_offset: usize) -> &Segment {
        let starts = |i: usize| self.segments[i].view_start as usize;
        let mut i = self.cursor.get().min(self.segments.len() - 1);
        if starts(i) > view_offset {
            // Behind the cursor: search (not the usual case).
            i = self
                .segments
                .partition_point(|s| s.view_start as usize <= view_offset)
                - 1;
        } else {
            // At or after the cursor: step forward a few segments, then search the rest.
            let mut steps = 0;
            while i + 1 < self.segments.len() && starts(i + 1) <= view_offset {
                i += 1;
                steps += 1;
                if steps == 8 {
                    i += self.segments[i..]
                        .partition_point(|s| s.view_start as usize <= view_offset)
                        - 1;
                    break;
                }
            }
        }
        self.cursor.set(i);
        &self.segments[i]
    }

    /// Maps a view range `[start, end)` to the original.
    fn original_range(&self, range: Range<usize>) -> Range<usize> {
        if matches!(self.text, std::borrow::Cow::Borrowed(_)) {
            return range;
        }
        let first = self.segment_at(range.start);
        let start = if first.identity {
            first.orig_start as usize + (range.start - first.view_start as usize)
        } else {
            first.orig_start as usize
        };
        let last = self.segment_at(range.end - 1);
        let end = if last.identity {
            last.orig_start as usize + (range.end - last.view_start as usize)
        } else {
            (last.orig_start + last.orig_len) as usize
        };
        start..end
    }
}

/// `true` for characters dropped from the view: format characters (General_Category Cf: soft
/// hyphen, zero-width space and joiners, bidi marks and isolates, word joiner, BOM, ...),
/// zero-width space, and variation selectors (U+FE00..U+FE0F, U+E0100..U+E01EF).
pub(crate) fn is_ignorable(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    matches!(c, '\u{200B}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
        || c.general_category() == GeneralCategory::Format
}

/// Maps typographic apostrophes and double quotes to their ASCII forms.
pub(crate) fn plain_punctuation(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{02BC}' | '\u{FF07}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{00AB}' | '\u{00BB}' => '"',
        c => c,
    }
}

fn is_accent(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

fn normalize_cluster(cluster: &str, options: NormalizeOptions, out: &mut String) {
    out.clear();
    let cleaned = cluster
        .chars()
        .filter(|&c| !is_ignorable(c))
        .map(plain_punctuation);
    if options.accent_sensitive {
        out.extend(cleaned.nfkc());
    } else {
        out.extend(cleaned.nfkd().filter(|&c| !is_accent(c)).nfc());
    }
}

/// Splits `text` into words with their keys and original spans. See the module doc for the
/// pipeline. Never panics; an empty or word-less text gives empty [`Tokens`].
pub fn tokenize(text: &str, options: NormalizeOptions) -> Tokens {
    let mut tokens = Tokens::default();
    tokens.fill(text, options);
    tokens
}

impl Tokens {
    /// Replaces the contents with the words of `text`, like [`tokenize`], reusing the buffers.
    pub(crate) fn fill(&mut self, text: &str, options: NormalizeOptions) {
        let mut scratch = std::mem::take(&mut self.scratch);
        self.keys.clear();
        self.records.clear();
        for_each_word(text, options, Path::Fast, &mut scratch, self);
        self.scratch = scratch;
    }
}

impl WordSink for Tokens {
    fn word(&mut self, word: Word<'_>) {
        let exact_start = self.keys.len() as u32;
        self.keys.push_str(word.exact);
        let exact_end = self.keys.len() as u32;
        let fold = match word.folded {
            Some(folded) => {
                self.keys.push_str(folded);
                exact_end..self.keys.len() as u32
            }
            None if word.exact.bytes().any(|b| b.is_ascii_uppercase()) => {
                self.keys.push_str(word.exact);
                self.keys[exact_end as usize..].make_ascii_lowercase();
                exact_end..self.keys.len() as u32
            }
            None => exact_start..exact_end,
        };
        self.records.push(TokenRecord {
            fold,
            exact: exact_start..exact_end,
            span: word.span,
        });
    }

    fn extend_last(&mut self, end: usize) {
        if let Some(last) = self.records.last_mut() {
            last.span.end = end;
        }
    }
}

/// One word as [`for_each_word`] finds it.
#[derive(Clone, Debug)]
pub(crate) struct Word<'k> {
    /// Byte range in the original text, `end` exclusive.
    pub span: Range<usize>,
    /// The exact key (see the module doc).
    pub exact: &'k str,
    /// The folded key; `None` when it is the ASCII lowercase of `exact` (a plain ASCII word,
    /// whose key is then never built: [`Word::folded_hash`] lowercases as it hashes).
    pub folded: Option<&'k str>,
}

impl Word<'_> {
    /// [`key_hash`] of the folded key.
    #[inline]
    pub fn folded_hash(&self) -> u64 {
        match self.folded {
            Some(folded) => key_hash(folded.as_bytes()),
            None => lowercase_key_hash(self.exact.as_bytes()),
        }
    }

    /// Whether the folded key equals `key` (a folded key, as the dictionary stores it).
    #[inline]
    pub fn folded_is(&self, key: &[u8]) -> bool {
        match self.folded {
            Some(folded) => folded.as_bytes() == key,
            None => self.exact.as_bytes().eq_ignore_ascii_case(key),
        }
    }

    /// The folded key, written into `buf` when it is not already at hand.
    pub fn folded_in<'b>(&'b self, buf: &'b mut String) -> &'b str {
        match self.folded {
            Some(folded) => folded,
            None => {
                buf.clear();
                buf.push_str(self.exact);
                buf.make_ascii_lowercase();
                buf
            }
        }
    }
}

/// What receives the words of a text, in order.
pub(crate) trait WordSink {
    /// The next word.
    fn word(&mut self, word: Word<'_>);
    /// The last word's span now ends at `end` (a possessive after an abbreviation, `U.K.’s`).
    fn extend_last(&mut self, end: usize);
}

/// Which implementation [`for_each_word`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// Every fast path: the table-driven view ([`FastChars`]), ASCII word segmentation for
    /// pieces of ASCII and boundary characters, plain words passed on without building keys.
    Fast,
    /// The reference: grapheme clustering and NFKC for all non-ASCII text, `unicode-segmentation`
    /// for every non-ASCII piece, every word through the general key code. Property tests check
    /// that both give the same words.
    #[cfg_attr(not(test), allow(dead_code))]
    General,
}

/// Buffers of [`for_each_word`], reused from call to call.
#[derive(Clone, Debug, Default)]
pub(crate) struct WordScratch {
    exact: String,
    folded: String,
    parts: Vec<Range<usize>>,
}

/// Finds the words of `text` (see the module doc) and gives each to `sink`, in order.
pub(crate) fn for_each_word(
    text: &str,
    options: NormalizeOptions,
    path: Path,
    scratch: &mut WordScratch,
    sink: &mut impl WordSink,
) {
    let table = match path {
        Path::Fast => Some(FastChars::get(options)),
        Path::General => None,
    };
    let view = View::build(text, options, table);
    let v: &str = &view.text;
    let WordScratch {
        exact,
        folded,
        parts,
    } = scratch;
    // View end of the previous word, to attach a possessive `'s` after an abbreviation.
    let mut previous_end = usize::MAX;
    let mut segment_words = |offset: usize, segment: &str, plain: bool| {
        if path == Path::Fast && plain && (segment.len() != 1 || !segment.eq_ignore_ascii_case("s"))
        {
            // The common case: an ASCII word without periods, colons or apostrophes. Its exact
            // key is itself; its folded key is its lowercase.
            let end = offset + segment.len();
            sink.word(Word {
                span: view.original_range(offset..end),
                exact: segment,
                folded: None,
            });
            previous_end = end;
            return;
        }
        if !has_alphanumeric(segment) {
            return;
        }
        split_word(segment, parts);
        for part in parts.iter().cloned() {
            let start = offset + part.start;
            let mut end = offset + part.end;
            let word = &v[start..end];
            if !has_alphanumeric(word) {
                continue;
            }
            if word.eq_ignore_ascii_case("s")
                && previous_end != usize::MAX
                && &v[previous_end..start] == "'"
            {
                sink.extend_last(view.original_range(start..end).end);
                previous_end = end;
                continue;
            }
            exact_key(word, exact);
            if exact.is_empty() {
                continue;
            }
            // An abbreviation's final period belongs to it.
            if word.contains('.')
                && !word.chars().any(char::is_numeric)
                && v[end..].starts_with('.')
            {
                end += 1;
            }
            folded.clear();
            fold_key(exact, options, folded);
            sink.word(Word {
                span: view.original_range(start..end),
                exact,
                folded: Some(folded),
            });
            previous_end = end;
        }
    };
    match table {
        // A view of ASCII and boundary characters only (most news text once the table has mapped
        // it): one tight loop over its bytes.
        Some(table) if ascii_like(v, Some(table)) => {
            let bytes = v.as_bytes();
            let mut at = 0;
            while let Some((start, end, plain)) = next_ascii_segment(bytes, at, bytes.len()) {
                segment_words(start, &v[start..end], plain);
                at = end;
            }
        }
        _ => {
            for (offset, segment, plain) in WordSegments::with_table(v, table) {
                segment_words(offset, segment, plain);
            }
        }
    }
}

/// Whether `text` holds only ASCII and, with a table, [`Fast::Keep`] characters (word boundaries
/// on both sides), so that it can be segmented like ASCII.
fn ascii_like(text: &str, table: Option<&FastChars>) -> bool {
    text.is_ascii()
        || table.is_some_and(|table| {
            text.chars()
                .all(|c| c.is_ascii() || table.map(c) == Some(Fast::Keep))
        })
}

/// `true` for the ASCII characters that always have a UAX #29 word boundary before them (unless
/// they follow one of their own kind): space, tab, line feed, carriage return, vertical tab, form
/// feed. Nothing attaches to the character before them (they are not Extend, Format or ZWJ).
fn is_ascii_separator(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C)
}

/// The UAX #29 word classes of ASCII characters that matter to rules WB5..WB13b.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AsciiClass {
    /// ALetter: `A-Z`, `a-z`.
    Letter,
    /// Numeric: `0-9`.
    Numeric,
    /// ExtendNumLet: `_`.
    ExtendNumLet,
    /// MidLetter `:` (between letters only).
    MidLetter,
    /// MidNumLet `.` and Single_Quote `'` (between letters or between digits).
    MidNumLet,
    /// MidNum `,` `;` (between digits only).
    MidNum,
    /// Anything else: always a boundary.
    Other,
}

fn ascii_class(b: u8) -> AsciiClass {
    ASCII_CLASSES[b as usize]
}

/// [`ascii_class`] as a table (bytes 128..=255 are Other: they never occur in an ASCII piece).
static ASCII_CLASSES: [AsciiClass; 256] = {
    let mut table = [AsciiClass::Other; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = ascii_class_of(b as u8);
        b += 1;
    }
    table
};

const fn ascii_class_of(b: u8) -> AsciiClass {
    match b {
        b'a'..=b'z' | b'A'..=b'Z' => AsciiClass::Letter,
        b'0'..=b'9' => AsciiClass::Numeric,
        b'_' => AsciiClass::ExtendNumLet,
        b':' => AsciiClass::MidLetter,
        b'.' | b'\'' => AsciiClass::MidNumLet,
        b',' | b';' => AsciiClass::MidNum,
        _ => AsciiClass::Other,
    }
}

/// The UAX #29 word segments of `text` that may hold a word, with their byte offsets: the same
/// segments as `unicode_segmentation`'s `split_word_bound_indices` wherever a segment contains an
/// alphanumeric character (segments without one may be left out).
///
/// The text is cut before every run of ASCII separators (a boundary UAX #29 always has there);
/// pieces that are all ASCII are segmented by rules WB5..WB13b directly, the others by
/// `unicode-segmentation`. A property test checks the two agree.
pub(crate) struct WordSegments<'a> {
    text: &'a str,
    /// Start of the next piece.
    pos: usize,
    /// The rest of an ASCII piece: `[cursor, end)`.
    ascii: Range<usize>,
    /// The segments of a non-ASCII piece, and the piece's offset.
    unicode: Option<(usize, unicode_segmentation::UWordBoundIndices<'a>)>,
    /// With a table, a piece whose only non-ASCII characters are [`Fast::Keep`] ones (word
    /// boundaries on both sides) is segmented like ASCII, their bytes counting as punctuation.
    table: Option<&'static FastChars>,
}

impl<'a> WordSegments<'a> {
    #[cfg(test)]
    pub(crate) fn new(text: &'a str) -> Self {
        WordSegments::with_table(text, None)
    }

    pub(crate) fn with_table(text: &'a str, table: Option<&'static FastChars>) -> Self {
        // An all-ASCII text is one piece: without Extend characters, separators are plain
        // boundaries.
        let ascii = text.is_ascii();
        WordSegments {
            text,
            pos: if ascii { text.len() } else { 0 },
            ascii: if ascii { 0..text.len() } else { 0..0 },
            unicode: None,
            table,
        }
    }

    /// The next word run of the ASCII piece, if any, and whether it is *plain*: only letters,
    /// digits and `_`, with at least one letter or digit.
    fn next_ascii(&mut self) -> Option<(usize, &'a str, bool)> {
        let end = self.ascii.end;
        match next_ascii_segment(self.text.as_bytes(), self.ascii.start, end) {
            Some((start, stop, plain)) => {
                self.ascii = stop..end;
                Some((start, &self.text[start..stop], plain))
            }
            None => {
                self.ascii = end..end;
                None
            }
        }
    }
}

/// The first word run of `bytes[from..end]` (ASCII, or bytes of characters that are word
/// boundaries on both sides, which count as punctuation): `(start, end, plain)`, where *plain*
/// means only letters, digits and `_`, with at least one letter or digit. UAX #29 rules WB5..WB13b
/// for ASCII.
#[inline(always)]
fn next_ascii_segment(bytes: &[u8], from: usize, end: usize) -> Option<(usize, usize, bool)> {
    use AsciiClass::*;
    let class_at = |i: usize| {
        if i < end {
            ascii_class(bytes[i])
        } else {
            Other
        }
    };
    let mut i = from;
    while i < end && !matches!(ascii_class(bytes[i]), Letter | Numeric | ExtendNumLet) {
        i += 1;
    }
    if i >= end {
        return None;
    }
    let start = i;
    let mut plain = true;
    let mut alphanumeric = ascii_class(bytes[i]) != ExtendNumLet;
    i += 1;
    // Most words are letters and digits only: run through them before looking at pairs.
    if alphanumeric {
        while i < end && bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        // Ended by a space or punctuation that no rule joins across: a plain word.
        if i >= end || ascii_class(bytes[i]) == Other {
            return Some((start, i, true));
        }
    }
    while i < end {
        let (before, here) = (ascii_class(bytes[i - 1]), ascii_class(bytes[i]));
        match (before, here) {
            // WB5, WB8, WB9, WB10, WB13a, WB13b.
            (Letter | Numeric, Letter | Numeric)
            | (Letter | Numeric | ExtendNumLet, ExtendNumLet)
            | (ExtendNumLet, Letter | Numeric) => {
                alphanumeric |= here != ExtendNumLet;
                i += 1
            }
            // WB6, WB7: letter (MidLetter | MidNumLetQ) letter.
            (Letter, MidLetter | MidNumLet) if class_at(i + 1) == Letter => {
                plain = false;
                i += 2
            }
            // WB11, WB12: digit (MidNum | MidNumLetQ) digit.
            (Numeric, MidNum | MidNumLet) if class_at(i + 1) == Numeric => {
                plain = false;
                i += 2
            }
            _ => break,
        }
    }
    Some((start, i, plain && alphanumeric))
}

impl<'a> Iterator for WordSegments<'a> {
    /// Byte offset, segment, and whether the segment is plain ASCII (letters, digits, `_`, at
    /// least one letter or digit).
    type Item = (usize, &'a str, bool);

    fn next(&mut self) -> Option<(usize, &'a str, bool)> {
        loop {
            if let Some((base, segments)) = &mut self.unicode {
                match segments.next() {
                    Some((offset, segment)) => return Some((*base + offset, segment, false)),
                    None => self.unicode = None,
                }
            }
            if !self.ascii.is_empty() {
                if let Some(word) = self.next_ascii() {
                    return Some(word);
                }
            }
            let bytes = self.text.as_bytes();
            if self.pos >= bytes.len() {
                return None;
            }
            // A piece: a run of separators, then a run of anything else.
            let start = self.pos;
            let mut i = start;
            while i < bytes.len() && is_ascii_separator(bytes[i]) {
                i += 1;
            }
            let content = i;
            while i < bytes.len() && !is_ascii_separator(bytes[i]) {
                i += 1;
            }
            self.pos = i;
            if ascii_like(&self.text[content..i], self.table) {
                self.ascii = content..i;
            } else {
                let piece = &self.text[start..i];
                self.unicode = Some((start, piece.split_word_bound_indices()));
            }
        }
    }
}

fn has_alphanumeric(text: &str) -> bool {
    if text.is_ascii() {
        text.bytes().any(|b| b.is_ascii_alphanumeric())
    } else {
        text.chars().any(char::is_alphanumeric)
    }
}

/// Splits a UAX #29 word at colons, and at periods between two parts of two or more letters
/// (`Geneva.The`), keeping abbreviations and numbers whole. Ranges are relative to `word`.
/// `parts` is cleared first (a buffer the caller reuses).
fn split_word(word: &str, parts: &mut Vec<Range<usize>>) {
    parts.clear();
    if !word.bytes().any(|b| b == b':' || b == b'.') {
        parts.push(0..word.len());
        return;
    }
    let numeric = word.chars().any(char::is_numeric);
    let mut start = 0;
    let separators: Vec<(usize, char)> = word
        .char_indices()
        .filter(|&(_, c)| c == ':' || (c == '.' && !numeric))
        .collect();
    for (k, &(at, c)) in separators.iter().enumerate() {
        let split = c == ':' || {
            let left_start = if k == 0 { 0 } else { separators[k - 1].0 + 1 };
            let right_end = separators.get(k + 1).map_or(word.len(), |&(i, _)| i);
            word[left_start..at].chars().count() >= 2
                && word[at + 1..right_end].chars().count() >= 2
        };
        if split {
            parts.push(start..at);
            start = at + c.len_utf8();
        }
    }
    parts.push(start..word.len());
}

/// The exact key of a word: periods removed from words without digits, possessive removed.
fn exact_key(word: &str, out: &mut String) {
    out.clear();
    if !word.contains('.') {
        out.push_str(word);
    } else {
        let has_digit = word.chars().any(|c| c.is_numeric());
        out.extend(word.chars().filter(|&c| has_digit || c != '.'));
    }
    if let Some(stem) = out.strip_suffix("'s").or_else(|| out.strip_suffix("'S")) {
        if !stem.is_empty() {
            let len = stem.len();
            out.truncate(len);
        }
    }
    while out.ends_with('\'') {
        out.pop();
    }
}

/// Appends the folded form of an exact key to `out`.
pub(crate) fn fold_key(exact: &str, options: NormalizeOptions, out: &mut String) {
    if exact.is_ascii() {
        let start = out.len();
        out.push_str(exact);
        out[start..].make_ascii_lowercase();
        return;
    }
    let folded = caseless::default_case_fold_str(exact);
    if options.accent_sensitive {
        out.extend(folded.nfkc());
    } else {
        out.extend(folded.nfkd().filter(|&c| !is_accent(c)).nfc());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<(String, String, String)> {
        let t = tokenize(text, NormalizeOptions::default());
        (0..t.len())
            .map(|i| {
                (
                    t.folded(i).to_owned(),
                    t.exact(i).to_owned(),
                    text[t.span(i)].to_owned(),
                )
            })
            .collect()
    }

    fn folded(text: &str) -> Vec<String> {
        words(text).into_iter().map(|w| w.0).collect()
    }

    #[test]
    fn normalization_table() {
        // (name, input, folded keys)
        let table: &[(&str, &str, &[&str])] = &[
            (
                "soft hyphen inside a word",
                "cease\u{AD}fire",
                &["ceasefire"],
            ),
            (
                "zero-width space inside a word",
                "cease\u{200B}fire",
                &["ceasefire"],
            ),
            ("zero-width joiner", "cease\u{200D}fire", &["ceasefire"]),
            (
                "no-break space separates",
                "foreign\u{A0}minister",
                &["foreign", "minister"],
            ),
            (
                "narrow no-break space",
                "foreign\u{202F}minister",
                &["foreign", "minister"],
            ),
            (
                "line break separates",
                "foreign\r\nminister",
                &["foreign", "minister"],
            ),
            ("full-width letters (NFKC)", "ＮＡＴＯ", &["nato"]),
            ("ligature (NFKC)", "\u{FB01}nance", &["finance"]),
            ("NFD accent", "Chambe\u{301}ry", &["chambery"]),
            ("NFC accent", "Chambéry", &["chambery"]),
            ("full case folding sharp s", "Straße", &["strasse"]),
            ("dotted capital I", "İstanbul", &["istanbul"]),
            (
                "curly apostrophe possessive",
                "country\u{2019}s",
                &["country"],
            ),
            ("straight apostrophe possessive", "country's", &["country"]),
            (
                "plural possessive",
                "students' union",
                &["students", "union"],
            ),
            (
                "hyphen separates",
                "state-of-the-art",
                &["state", "of", "the", "art"],
            ),
            ("en dash separates", "Kyiv–Moscow", &["kyiv", "moscow"]),
            ("dotted acronym", "U.S. troops", &["us", "troops"]),
            (
                "possessive after an abbreviation",
                "the U.K.\u{2019}s decision",
                &["the", "uk", "decision"],
            ),
            (
                "missing space after a full stop",
                "in Geneva.The minister",
                &["in", "geneva", "the", "minister"],
            ),
            ("abbreviations stay whole", "e.g. Ph.D", &["eg", "phd"]),
            ("colon separates", "UPDATE:Ukraine", &["update", "ukraine"]),
            (
                "bidi marks are ignored",
                "pea\u{200E}ce \u{2066}talks\u{2069} \u{200F}now\u{200F}",
                &["peace", "talks", "now"],
            ),
            ("variation selector is ignored", "peace\u{FE0F}", &["peace"]),
            (
                "decimal number keeps its point",
                "3.5 million",
                &["3.5", "million"],
            ),
            (
                "punctuation is not a word",
                "aid! — (food)",
                &["aid", "food"],
            ),
            ("emoji are not words", "Hilfe 🇺🇦 hält", &["hilfe", "halt"]),
        ];
        for (name, input, expected) in table {
            assert_eq!(folded(input), *expected, "{name}");
        }
    }

    #[test]
    fn accent_sensitive_keeps_accents() {
        let t = tokenize(
            "Chambe\u{301}ry",
            NormalizeOptions {
                accent_sensitive: true,
            },
        );
        assert_eq!(t.folded(0), "chambéry");
    }

    #[test]
    fn exact_keys_keep_case() {
        let w = words("U.S. us US Who WHO");
        let exact: Vec<_> = w.iter().map(|w| w.1.as_str()).collect();
        assert_eq!(exact, ["US", "us", "US", "Who", "WHO"]);
    }

    #[test]
    fn spans_point_into_the_original() {
        let text = "The cease\u{AD}fire in Chambe\u{301}ry, the country\u{2019}s ＮＡＴＯ.";
        let w = words(text);
        let spans: Vec<_> = w.iter().map(|w| w.2.as_str()).collect();
        assert_eq!(
            spans,
            [
                "The",
                "cease\u{AD}fire",
                "in",
                "Chambe\u{301}ry",
                "the",
                "country\u{2019}s",
                "ＮＡＴＯ"
            ]
        );
    }

    #[test]
    fn abbreviation_spans_take_their_period_and_possessive() {
        let text = "U.S. and the U.K.\u{2019}s NATO\u{2019}s";
        let spans: Vec<String> = words(text).into_iter().map(|w| w.2).collect();
        assert_eq!(
            spans,
            ["U.S.", "and", "the", "U.K.\u{2019}s", "NATO\u{2019}s"]
        );
    }

    #[test]
    fn ignorable_between_words_is_not_in_the_span() {
        let text = "aid\u{200B} now";
        let t = tokenize(text, NormalizeOptions::default());
        assert_eq!(&text[t.span(0)], "aid");
    }

    #[test]
    fn empty_and_wordless_texts() {
        assert!(tokenize("", NormalizeOptions::default()).is_empty());
        assert!(tokenize(" -- \u{AD} … ", NormalizeOptions::default()).is_empty());
    }
}

#[cfg(test)]
mod segmentation_properties {
    use proptest::prelude::*;
    use unicode_segmentation::UnicodeSegmentation;

    use super::WordSegments;

    /// Pieces that exercise WB3..WB13b and the ASCII/Unicode hand-over: letters, digits, the mid
    /// characters, separators, combining marks after a separator, ZWJ, CJK, emoji, NBSP, U+3000.
    const PIECES: &[&str] = &[
        "a",
        "Bc",
        "7",
        "_",
        ".",
        ":",
        "'",
        ",",
        ";",
        "-",
        "/",
        " ",
        "  ",
        "\t",
        "\n",
        "\r\n",
        "\r",
        "\u{b}",
        "\u{c}",
        "é",
        "e\u{301}",
        "\u{301}",
        "日本",
        "😀",
        "\u{200d}",
        "ß",
        "\u{a0}",
        "\u{3000}",
        "U.S.",
        "3.5",
        "1,000",
        "s",
        "S",
        "'s",
        "Geneva.The",
        "UPDATE:",
        "Ab",
        "don't",
        "\"",
        "(",
        "\u{5d0}",
        "\u{ff21}",
        // What the fast path maps by table (issue #15): curly quotes and apostrophes, dashes,
        // no-break and thin spaces, soft hyphen, ellipsis, accented Latin, other punctuation.
        "\u{2019}",
        "\u{2018}",
        "\u{201C}",
        "\u{201D}",
        "\u{2013}",
        "\u{2014}",
        "\u{2009}",
        "\u{202F}",
        "\u{AD}",
        "\u{2026}",
        "\u{200B}",
        "é",
        "É",
        "ñ",
        "\u{2022}",
        "°",
        "£",
        "\u{B7}",
        "\u{2027}",
        "\u{2024}",
        "\u{2bc}",
        "™",
    ];

    /// The segments with a letter or digit, as [`WordSegments`] gives them; checks that `plain`
    /// is right whenever it is claimed.
    fn fast(text: &str) -> Vec<(usize, &str)> {
        WordSegments::new(text)
            .filter(|(_, s, _)| s.chars().any(char::is_alphanumeric))
            .map(|(o, s, plain)| {
                assert!(!plain || s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
                (o, s)
            })
            .collect()
    }

    fn reference(text: &str) -> Vec<(usize, &str)> {
        text.split_word_bound_indices()
            .filter(|(_, s)| s.chars().any(char::is_alphanumeric))
            .collect()
    }

    fn words(text: &str, fast: bool) -> Vec<(String, String, std::ops::Range<usize>)> {
        let path = if fast {
            super::Path::Fast
        } else {
            super::Path::General
        };
        words_with(text, path, super::NormalizeOptions::default())
    }

    fn words_with(
        text: &str,
        path: super::Path,
        options: super::NormalizeOptions,
    ) -> Vec<(String, String, std::ops::Range<usize>)> {
        let mut tokens = super::Tokens::default();
        super::for_each_word(text, options, path, &mut Default::default(), &mut tokens);
        (0..tokens.len())
            .map(|i| {
                (
                    tokens.folded(i).into(),
                    tokens.exact(i).into(),
                    tokens.span(i),
                )
            })
            .collect()
    }

    /// The view's text and segments, as comparable values.
    fn view(text: &str, fast: bool, options: super::NormalizeOptions) -> (String, String) {
        let table = fast.then(|| super::FastChars::get(options));
        let view = super::View::build(text, options, table);
        (view.text.to_string(), format!("{:?}", view.segments))
    }

    const SENSITIVE: super::NormalizeOptions = super::NormalizeOptions {
        accent_sensitive: true,
    };

    /// The fast and the general path find the same words in `text`, in both accent modes.
    fn same_words_on_both_paths(text: &str) -> Result<(), TestCaseError> {
        for options in [super::NormalizeOptions::default(), SENSITIVE] {
            prop_assert_eq!(
                words_with(text, super::Path::Fast, options),
                words_with(text, super::Path::General, options),
                "text {:?}",
                text
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

        /// The table-driven view equals the general one, segment for segment (issue #15).
        #[test]
        fn fast_view_equals_general_view(
            parts in proptest::collection::vec(proptest::sample::select(PIECES), 0..24)
        ) {
            let text: String = parts.concat();
            for options in [super::NormalizeOptions::default(), SENSITIVE] {
                prop_assert_eq!(view(&text, true, options), view(&text, false, options), "text {:?}", text);
            }
        }

        /// Every fast path together (view, segmentation, plain words) finds the same words, keys
        /// and spans as the general path, in both normalization modes (issue #15).
        #[test]
        fn fast_words_equal_general_words(
            parts in proptest::collection::vec(proptest::sample::select(PIECES), 0..24)
        ) {
            same_words_on_both_paths(&parts.concat())?;
        }

        #[test]
        fn fast_words_equal_general_words_on_any_text(text in "\\PC{0,40}") {
            same_words_on_both_paths(&text)?;
        }

        /// Segmenting a view with boundary characters like ASCII gives unicode-segmentation's
        /// word segments.
        #[test]
        fn table_segments_equal_unicode_segmentation(
            parts in proptest::collection::vec(proptest::sample::select(PIECES), 0..24)
        ) {
            let text: String = parts.concat();
            let table = super::FastChars::get(super::NormalizeOptions::default());
            let fast: Vec<(usize, &str)> = WordSegments::with_table(&text, Some(table))
                .filter(|(_, s, _)| s.chars().any(char::is_alphanumeric))
                .map(|(o, s, _)| (o, s))
                .collect();
            prop_assert_eq!(fast, reference(&text), "text {:?}", text);
        }

        /// The plain-word fast path of tokenization gives the same keys and spans as the general
        /// path.
        #[test]
        fn plain_word_fast_path_equals_general_path(
            parts in proptest::collection::vec(proptest::sample::select(PIECES), 0..24)
        ) {
            let text: String = parts.concat();
            prop_assert_eq!(words(&text, true), words(&text, false), "text {:?}", text);
        }

        /// The ASCII fast path gives the same word segments as unicode-segmentation (issue #6).
        #[test]
        fn word_segments_equal_unicode_segmentation(
            parts in proptest::collection::vec(proptest::sample::select(PIECES), 0..24)
        ) {
            let text: String = parts.concat();
            prop_assert_eq!(fast(&text), reference(&text), "text {:?}", text);
        }

        #[test]
        fn word_segments_equal_unicode_segmentation_on_any_text(text in "\\PC{0,40}") {
            prop_assert_eq!(fast(&text), reference(&text), "text {:?}", text);
        }
    }
}
