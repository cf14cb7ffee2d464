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

include!("file_table.rs");
