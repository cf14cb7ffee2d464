//! Compiles `proto/` with protox (pure Rust, no system `protoc`) and generates the tonic client and
//! server with tonic-prost-build, and the proto3 JSON mapping of the messages with pbjson-build.
//! Also writes the encoded descriptor set used by gRPC reflection, the HTTP routes of the methods
//! read from their `google.api.http` options, and the table of the playground's files
//! (`src/http/playground/`) that the binary embeds. (The engine crate embeds the default rules.)

use std::env;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/rubric/v1/classifier_service.proto"];
    println!("cargo:rerun-if-changed=proto");
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(protos)?;
    let pool = compiler.descriptor_pool();
    let descriptors = compiler.file_descriptor_set();
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let encoded = prost::Message::encode_to_vec(&descriptors);
    std::fs::write(out.join("rubric_descriptor.bin"), &encoded)?;
    tonic_prost_build::configure()
        // google.rpc.Status comes from tonic-types, which also encodes the error details.
        .extern_path(".google.rpc", "::tonic_types::pb")
        // The well-known types with their JSON mapping (Timestamp as RFC 3339).
        // (prost-build maps them to prost-types unless told it compiles them itself.)
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        // Timestamp as proto3 JSON wants it (`Z`), which pbjson-types does not write.
        .extern_path(".google.protobuf.Timestamp", "crate::pb::Timestamp")
        .compile_fds(descriptors)?;
    pbjson_build::Builder::new()
        .register_descriptors(&encoded)?
        .extern_path(".google.protobuf.Timestamp", "crate::pb::Timestamp")
        // Holds a google.rpc.Status (tonic-types', without serde); the stream has no HTTP route.
        .exclude([".rubric.v1.ClassifyStreamResponse"])
        .build(&[".rubric.v1"])?;
    write_http_routes(&pool, &out)?;
    embed_playground(&out)?;
    Ok(())
}

/// Writes `http_routes.rs`: `&[HttpRule { method, verb, path, body }, ...]` for every method of
/// `rubric.v1` with a `google.api.http` option (AIP-127), in proto order. Only the patterns this
/// server serves are accepted: a literal path (custom verbs allowed, no `{variables}`) and a body
/// of `*` or none.
fn write_http_routes(
    pool: &prost_reflect::DescriptorPool,
    out: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let http = pool
        .get_extension_by_name("google.api.http")
        .ok_or("google.api.http is not defined")?;
    let mut table = String::from("&[\n");
    for service in pool.services() {
        if service.package_name() != "rubric.v1" {
            continue;
        }
        for method in service.methods() {
            let options = method.options();
            if !options.has_extension(&http) {
                continue;
            }
            let rule = options.get_extension(&http);
            let rule = rule
                .as_message()
                .ok_or("google.api.http is not a message")?;
            let mut route = None;
            for verb in ["get", "put", "post", "delete", "patch"] {
                if let Some(path) = rule.get_field_by_name(verb) {
                    let path = path.as_str().unwrap_or_default().to_owned();
                    if !path.is_empty() {
                        route = Some((verb.to_uppercase(), path));
                    }
                }
            }
            let (verb, path) =
                route.ok_or_else(|| format!("{}: google.api.http has no path", method.name()))?;
            if path.contains('{') || !path.starts_with('/') {
                return Err(format!("{}: unsupported path template {path}", method.name()).into());
            }
            let body = rule
                .get_field_by_name("body")
                .and_then(|b| b.as_str().map(str::to_owned))
                .unwrap_or_default();
            if !(body.is_empty() || body == "*") {
                return Err(format!("{}: unsupported body {body:?}", method.name()).into());
            }
            table.push_str(&format!(
                "    HttpRule {{ method: {:?}, verb: {verb:?}, path: {path:?}, body: {} }},\n",
                method.name(),
                body == "*"
            ));
        }
    }
    table.push(']');
    std::fs::write(out.join("http_routes.rs"), table)?;
    Ok(())
}

/// Writes `playground_assets.rs`: `&[("NAME", include_bytes!(...)), ...]`, sorted by name, for
/// every file in `src/http/playground/` (the browser playground the HTTP listener serves).
fn embed_playground(out: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let table = file_table(
        "src/http/playground",
        |path| path.is_file(),
        |name, path| format!("({name:?}, include_bytes!({path:?}))"),
    )?;
    std::fs::write(out.join("playground_assets.rs"), table)?;
    Ok(())
}

// `file_table`, shared with the engine's build script.
include!("crates/rubric-engine/file_table.rs");
