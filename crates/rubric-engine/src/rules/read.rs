//! Reading rule files and list files from disk, safely.
//!
//! A rule file or list file path may name anything: a FIFO (opening it blocks until a writer
//! comes), a device such as `/dev/zero` (endless), a directory, a file of gigabytes, bytes that
//! are not UTF-8. [`read_text_file`] refuses what is not a regular file before opening it, reads
//! at most a fixed number of bytes (with [`Read::take`], so a file that grows while it is read
//! cannot exceed it either), and reports invalid UTF-8 with the line and column of the first bad
//! byte. [`read_rule_file`] applies it to rule files with the limit [`MAX_RULE_FILE_BYTES`];
//! [`ListDir`](super::ListDir) to list files with
//! [`MAX_LIST_FILE_BYTES`](super::lists::MAX_LIST_FILE_BYTES).

use std::fs::{File, FileType};
use std::io::Read;
use std::path::Path;

/// Largest rule file, in bytes (64 MiB).
pub const MAX_RULE_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads the rule file at `path` as text: what [`Engine::from_path`](crate::engine::Engine::from_path),
/// `rubric check` and the hot reloader use.
///
/// # Errors
/// One line, ready to show, naming the file and why: `cannot read rule file PATH: REASON`, where
/// REASON is an I/O error (not found, permission denied), `not a regular file (a FIFO)`, `N bytes,
/// more than the limit of 67108864`, or `not UTF-8: invalid byte at line L, column C`. A FIFO or
/// a device is refused without being opened, so this never blocks on one.
pub fn read_rule_file(path: &Path) -> Result<String, String> {
    read_text_file(path, MAX_RULE_FILE_BYTES)
        .map_err(|reason| format!("cannot read rule file {}: {reason}", path.display()))
}

/// Reads the regular file at `path` (symbolic links followed) as UTF-8 text of at most
/// `max_bytes` bytes.
///
/// # Errors
/// The reason alone, without the path (the caller names the file): an I/O error, `not a
/// regular file (a directory)`, `N bytes, more than the limit of M`, or `not UTF-8: invalid byte
/// at line L, column C` (1-based; the column counts code points).
pub fn read_text_file(path: &Path, max_bytes: u64) -> Result<String, String> {
    // The type is checked before opening: opening a FIFO for reading blocks until a writer opens
    // it. It is checked again on the open file, in case the path was replaced in between.
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    check_type(meta.file_type())?;
    let file = File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    check_type(meta.file_type())?;
    let too_large = |len: u64| format!("{len} bytes, more than the limit of {max_bytes}");
    if meta.len() > max_bytes {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max_bytes {
        // The file grew while it was read.
        return Err(format!("more than the limit of {max_bytes} bytes"));
    }
    text_from_bytes(bytes)
}

/// `bytes` as a `String`.
///
/// # Errors
/// `not UTF-8: invalid byte at line L, column C`, the position of the first invalid byte
/// (1-based; the column counts the code points before it on its line, plus one).
pub fn text_from_bytes(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let (line, column) = position(&e.as_bytes()[..at]);
        format!("not UTF-8: invalid byte at line {line}, column {column}")
    })
}

/// The 1-based line and column (in code points) just after `valid`, which is valid UTF-8.
fn position(valid: &[u8]) -> (usize, usize) {
    let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    // Code points are counted by their first bytes (every byte that is not a continuation byte).
    let column = valid[line_start..]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count()
        + 1;
    (line, column)
}

fn check_type(kind: FileType) -> Result<(), String> {
    if kind.is_file() {
        return Ok(());
    }
    Err(format!("not a regular file ({})", describe(kind)))
}

/// `a directory`, `a FIFO`, `a character device`, ...
fn describe(kind: FileType) -> &'static str {
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_errors_give_line_and_column_of_the_first_bad_byte() {
        let err = text_from_bytes(b"France\nCh\xe2teau\n".to_vec()).unwrap_err();
        assert_eq!(err, "not UTF-8: invalid byte at line 2, column 3");
        // Columns count code points, not bytes.
        let err = text_from_bytes("a\n\u{e9}\u{e9}".bytes().chain([0xff]).collect()).unwrap_err();
        assert_eq!(err, "not UTF-8: invalid byte at line 2, column 3");
        let err = text_from_bytes(vec![0xC3]).unwrap_err();
        assert_eq!(err, "not UTF-8: invalid byte at line 1, column 1");
        assert_eq!(text_from_bytes(b"ok".to_vec()).unwrap(), "ok");
    }
}
