//! Scale-out: three real `rubric serve` replicas on loopback behind one client-side balancing
//! client ([`rubric::client::BalancedClient`]); one replica is stopped with SIGTERM mid-run.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rubric::client::{BalancedClient, ClientConfig};
use rubric::pb;
use support::{classify_ok, free_port, Server};

/// Calls before the stop; at least this many again after the stopped replica has exited.
const PHASE: usize = 900;
/// Calls in all, at least.
const TOTAL: usize = 3000;
/// Calls in flight at once.
const CONCURRENCY: usize = 12;

fn request(n: usize) -> pb::ClassifyRequest {
    pb::ClassifyRequest {
        article: Some(pb::Article {
            id: format!("a{n}"),
            title: "Aid convoys reach the city".to_owned(),
            body: format!("Relief agencies delivered food aid to {n} families."),
            ..Default::default()
        }),
        options: None,
    }
}

/// Bounded load through one balancing client; SIGTERM to one replica mid-run. No call is lost
/// (retries of UNAVAILABLE allowed), all three replicas served before the stop, and both
/// survivors served after the stopped one had exited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_one_stopped_mid_run_loses_nothing() {
    let started = Instant::now();
    let metrics: Vec<SocketAddr> = (0..3).map(|_| free_port()).collect();
    let mut servers: Vec<Server> = metrics
        .iter()
        .map(|m| Server::start(&["--metrics-listen", &m.to_string(), "--drain-timeout", "5"]))
        .collect();
    let mut config = ClientConfig::new(servers.iter().map(|s| s.addr.to_string()));
    config.deadline = Duration::from_secs(10);
    config.max_attempts = 8;
    config.initial_backoff = Duration::from_millis(20);
    config.max_backoff = Duration::from_millis(500);
    let client = BalancedClient::connect(config).unwrap();
    client
        .wait_for_serving(3, Duration::from_secs(20))
        .await
        .expect("all three replicas serving");

    let done = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (client, done, next, stop) =
                (client.clone(), done.clone(), next.clone(), stop.clone());
            tokio::spawn(async move {
                let mut failures = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    match client.classify(request(n)).await {
                        Ok(response) => {
                            let c = response.classification.expect("a classification");
                            assert_eq!(c.article_id, format!("a{n}"));
                            assert!(c.topics.iter().any(|t| t.topic == "aid" && t.label));
                        }
                        Err(status) => failures.push(format!("call {n}: {status:?}")),
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                }
                failures
            })
        })
        .collect();
    let wait_done = |count: usize| {
        let done = done.clone();
        async move {
            while done.load(Ordering::SeqCst) < count {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };

    // Before the stop: every replica takes a share (p2c over three: about a third each).
    tokio::time::timeout(Duration::from_secs(60), wait_done(PHASE))
        .await
        .expect("first phase finishes");
    let before: Vec<u64> = metrics.iter().map(|m| classify_ok(*m)).collect();
    for (i, served) in before.iter().enumerate() {
        assert!(
            *served >= (PHASE / 10) as u64,
            "replica {i} served {served} of the first {PHASE} calls: {before:?}"
        );
    }

    // Stop one replica while the load goes on.
    let victim = &mut servers[1];
    victim.signal("TERM");
    let status = victim.wait(Duration::from_secs(15));
    assert!(status.success(), "{status:?}\n{}", victim.log());
    let at_exit = done.load(Ordering::SeqCst);
    let survivors = [metrics[0], metrics[2]];
    let after_exit: Vec<u64> = survivors.iter().map(|m| classify_ok(*m)).collect();

    // After the stop: the survivors share the rest.
    tokio::time::timeout(
        Duration::from_secs(60),
        wait_done(TOTAL.max(at_exit + PHASE)),
    )
    .await
    .expect("the load finishes");
    stop.store(true, Ordering::SeqCst);
    let mut failures = Vec::new();
    for worker in workers {
        failures.extend(worker.await.expect("worker"));
    }
    let total = done.load(Ordering::SeqCst);
    assert!(
        failures.is_empty(),
        "{} of {total} calls lost: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let end: Vec<u64> = survivors.iter().map(|m| classify_ok(*m)).collect();
    for i in 0..2 {
        let served = end[i] - after_exit[i];
        assert!(
            served >= (PHASE / 5) as u64,
            "survivor {i} served {served} calls after the stop (before {after_exit:?}, end {end:?})"
        );
    }
    assert!(!client
        .serving()
        .contains(&format!("http://{}", servers[1].addr)));
    eprintln!(
        "{total} calls, {} retries, served before the stop {before:?}, survivors after {:?}, {:?}",
        client.retries(),
        [end[0] - after_exit[0], end[1] - after_exit[1]],
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}
