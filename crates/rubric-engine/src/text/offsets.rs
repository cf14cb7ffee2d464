//! Offset encodings: UTF-8 bytes, UTF-16 code units, Unicode code points.

use serde::{Deserialize, Serialize};

/// The unit in which span offsets are reported.
///
/// Pick the one your language slices strings with: Rust, Go and C use UTF-8 bytes; Java,
/// JavaScript and C# use UTF-16 code units; Python 3 uses code points. All offsets are into the
/// original text as it was sent, `start` inclusive, `end` exclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OffsetEncoding {
    /// UTF-8 bytes (the engine's native unit).
    #[default]
    Utf8,
    /// UTF-16 code units (a character outside the BMP counts 2).
    Utf16,
    /// Unicode scalar values (code points).
    CodePoint,
}

impl OffsetEncoding {
    /// The name of this encoding in the service contract's enum `rubric.v1.OffsetEncoding`, as
    /// protobuf's JSON mapping prints it (`OFFSET_ENCODING_CODE_POINT`): the `offsetEncoding` of
    /// a classification in JSON ([`ClassificationJson`](crate::engine::ClassificationJson)).
    pub fn contract_name(self) -> &'static str {
        match self {
            OffsetEncoding::Utf8 => "OFFSET_ENCODING_UTF8",
            OffsetEncoding::Utf16 => "OFFSET_ENCODING_UTF16",
            OffsetEncoding::CodePoint => "OFFSET_ENCODING_CODE_POINT",
        }
    }

    /// The width of `c` in this encoding.
    pub fn width(self, c: char) -> usize {
        match self {
            OffsetEncoding::Utf8 => c.len_utf8(),
            OffsetEncoding::Utf16 => c.len_utf16(),
            OffsetEncoding::CodePoint => 1,
        }
    }
}

/// Converts UTF-8 byte offsets into `text` to `encoding`, in place.
///
/// `offsets` may be in any order and may repeat; each must lie on a `char` boundary of `text`
/// (offsets produced by [`tokenize`](super::tokenize) always do). One pass over the text up to the
/// largest offset, plus a sort of the offsets: `O(n + k log k)`.
///
/// # Panics
/// Never; an offset past the end or inside a character is converted as if it were rounded down to
/// the previous character boundary.
pub fn convert_offsets(text: &str, encoding: OffsetEncoding, offsets: &mut [&mut usize]) {
    if encoding == OffsetEncoding::Utf8 || offsets.is_empty() {
        return;
    }
    offsets.sort_unstable_by_key(|o| **o);
    let mut chars = text.char_indices().peekable();
    let mut converted = 0usize;
    for offset in offsets.iter_mut() {
        let target = **offset;
        while let Some(&(byte, c)) = chars.peek() {
            if byte + c.len_utf8() > target {
                break;
            }
            converted += encoding.width(c);
            chars.next();
        }
        **offset = converted;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_encodings() {
        let text = "Zürich: Türkiye schickt Hilfe 🇺🇦 – Waffenruhe hält";
        let start = text.find("Waffenruhe").unwrap();
        let end = start + "Waffenruhe".len();
        for (encoding, expected) in [
            (OffsetEncoding::Utf8, (45, 55)),
            (OffsetEncoding::Utf16, (37, 47)),
            (OffsetEncoding::CodePoint, (35, 45)),
        ] {
            let (mut s, mut e) = (start, end);
            convert_offsets(text, encoding, &mut [&mut e, &mut s]);
            assert_eq!((s, e), expected, "{encoding:?}");
        }
    }
}
