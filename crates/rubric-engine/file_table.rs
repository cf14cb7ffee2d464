// Shared by the engine's build script and the rubric package's (`include!`d by both): the
// table of files that each embeds.

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
