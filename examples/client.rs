//! A Rust client for several rubric replicas: client-side load balancing, a deadline on every
//! call, retries of UNAVAILABLE with backoff (see `rubric::client`).
//!
//! ```sh
//! cargo run --example client -- --endpoint 127.0.0.1:50051 --endpoint 127.0.0.1:50052 \
//!     --requests 100 seeds/sample-article.txt
//! ```
//!
//! Classifies FILE (the first line is the title when a blank line follows it) `--requests`
//! times, `--concurrency` at once, and prints the topics of the first answer, then one summary
//! line: calls, failures, retries and the endpoints serving at the end. Exit status 1 if any
//! call failed.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use rubric::client::{BalancedClient, ClientConfig};
use rubric::pb;

/// Classify a file through several rubric replicas.
#[derive(Parser)]
struct Args {
    /// A server address, HOST:PORT or http://HOST:PORT; repeat for several replicas.
    #[arg(long = "endpoint", required = true)]
    endpoints: Vec<String>,
    /// Deadline of each attempt, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    deadline_ms: u64,
    /// Attempts per call, the first included (retries only on UNAVAILABLE).
    #[arg(long, default_value_t = 5)]
    attempts: u32,
    /// How many times to classify the file.
    #[arg(long, default_value_t = 1)]
    requests: usize,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// The article: a plain-text file.
    file: std::path::PathBuf,
}

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.file)?;
    let (title, body) = match text.split_once("\n\n") {
        Some((title, body)) if !title.contains('\n') => (title, body),
        _ => ("", text.as_str()),
    };
    let request = pb::ClassifyRequest {
        article: Some(pb::Article {
            id: args.file.display().to_string(),
            title: title.to_owned(),
            body: body.to_owned(),
            ..Default::default()
        }),
        options: None,
    };

    let mut config = ClientConfig::new(args.endpoints.clone());
    config.deadline = Duration::from_millis(args.deadline_ms);
    config.max_attempts = args.attempts;
    let client = BalancedClient::connect(config)?;
    client
        .wait_for_serving(1, Duration::from_secs(10))
        .await
        .map_err(|e| format!("no endpoint is serving: {e}"))?;

    let start = Instant::now();
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(args.concurrency.max(1)));
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..args.requests {
        let permit = semaphore.clone().acquire_owned().await?;
        let (client, request) = (client.clone(), request.clone());
        calls.spawn(async move {
            let result = client.classify(request).await;
            drop(permit);
            result
        });
    }
    let (mut failures, mut first) = (0usize, None);
    while let Some(result) = calls.join_next().await {
        match result? {
            Ok(response) => {
                first = first.or(response.classification);
            }
            Err(status) => {
                failures += 1;
                eprintln!("call failed: {:?}: {}", status.code(), status.message());
            }
        }
    }
    if let Some(c) = first {
        for t in c.topics {
            println!(
                "{}\tscore {}\tconfidence {:.3}\tlabel {}",
                t.topic, t.score, t.confidence, t.label
            );
        }
    }
    println!(
        "{} calls, {failures} failed, {} retries, {:.1?}; serving: {}",
        args.requests,
        client.retries(),
        start.elapsed(),
        client.serving().into_iter().collect::<Vec<_>>().join(" ")
    );
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
