//! Writes the table of the default rules' list files (`seeds/lists/*.txt`, at the top of the
//! workspace) that the engine embeds beside `seeds/rules.toml`.

use std::env;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(env::var("OUT_DIR")?);
    embed_default_lists(&out)
}

/// Writes `default_lists.rs`: `&[("lists/NAME.txt", include_str!(...)), ...]`, sorted by path, for
/// every `.txt` file in `seeds/lists/` (the paths as `seeds/rules.toml` names them).
fn embed_default_lists(out: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let table = file_table(
        "../../seeds/lists",
        |path| path.extension().is_some_and(|e| e == "txt"),
        |name, path| format!("({:?}, include_str!({path:?}))", format!("lists/{name}")),
    )?;
    std::fs::write(out.join("default_lists.rs"), table)?;
    Ok(())
}

/// A slice expression with one `entry(file name, full path)` per file of `dir` (relative to the
/// package) that `keep` accepts, sorted by path; `dir` is watched for changes.
fn file_table(
    dir: &str,
    keep: impl Fn(&std::path::Path) -> bool,
    entry: impl Fn(&str, &str) -> String,
) -> Result<String, Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={dir}");
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join(dir);
    let mut files = Vec::new();
    if dir.is_dir() {
        for item in std::fs::read_dir(&dir)? {
            let path = item?.path();
            if keep(&path) {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut table = String::from("&[\n");
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("file name is not UTF-8")?;
        table.push_str(&format!(
            "    {},\n",
            entry(name, &path.display().to_string())
        ));
    }
    table.push(']');
    Ok(table)
}
