//! Compiles `proto/` with protox (pure Rust, no system `protoc`) and generates the tonic client and
//! server with tonic-prost-build. Also writes the encoded descriptor set used by gRPC reflection,
//! and the table of the default rules' list files (`seeds/lists/*.txt`) that the binary embeds.

use std::env;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/rubric/v1/classifier_service.proto"];
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(protos, ["proto"])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out.join("rubric_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        // google.rpc.Status comes from tonic-types, which also encodes the error details.
        .extern_path(".google.rpc", "::tonic_types::pb")
        .compile_fds(descriptors)?;
    embed_default_lists(&out)?;
    Ok(())
}

/// Writes `default_lists.rs`: `&[("lists/NAME.txt", include_str!(...)), ...]`, sorted by path, for
/// every `.txt` file in `seeds/lists/` (the paths as `seeds/rules.toml` names them).
fn embed_default_lists(out: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=seeds/lists");
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("seeds/lists");
    let mut files = Vec::new();
    if dir.is_dir() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "txt") {
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
            .ok_or("list file name")?;
        table.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            format!("lists/{name}"),
            path.display().to_string()
        ));
    }
    table.push(']');
    std::fs::write(out.join("default_lists.rs"), table)?;
    Ok(())
}
