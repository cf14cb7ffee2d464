//! Compiles `proto/` with protox (pure Rust, no system `protoc`) and generates the tonic client and
//! server with tonic-prost-build. Also writes the encoded descriptor set used by gRPC reflection.

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
    Ok(())
}
