//! Writes the gRPC request bodies `scripts/loadtest.sh` sends with h2load: each file is one
//! length-prefixed gRPC message (1 byte compression flag 0, 4 bytes big-endian length, the
//! protobuf bytes), exactly what a client puts in the HTTP/2 DATA frames of a unary call.
//!
//! ```sh
//! cargo run --release --example loadtest_frames -- OUT_DIR ARTICLE.txt
//! ```
//!
//! Writes `OUT_DIR/health.bin` (`grpc.health.v1.HealthCheckRequest{service:""}`),
//! `OUT_DIR/classify.bin` (`ClassifyRequest` with ARTICLE as the body, default options: UTF-8
//! offsets, evidence on) and `OUT_DIR/batch.bin` (`ClassifyBatchRequest` of 100 such requests,
//! ids `a0`..`a99`).

use std::path::PathBuf;

use prost::Message;
use rubric::pb;

fn frame(message: &impl Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(0);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(article)) = (args.next(), args.next()) else {
        eprintln!("usage: loadtest_frames OUT_DIR ARTICLE.txt");
        std::process::exit(2);
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    let body = std::fs::read_to_string(article)?;
    let request = |id: String| pb::ClassifyRequest {
        article: Some(pb::Article {
            id,
            body: body.clone(),
            ..Default::default()
        }),
        options: None,
    };
    std::fs::write(
        dir.join("health.bin"),
        frame(&tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        }),
    )?;
    std::fs::write(dir.join("classify.bin"), frame(&request("a".into())))?;
    let batch = pb::ClassifyBatchRequest {
        requests: (0..100).map(|i| request(format!("a{i}"))).collect(),
    };
    std::fs::write(dir.join("batch.bin"), frame(&batch))?;
    println!("{} article bytes; frames in {}", body.len(), dir.display());
    Ok(())
}
