//! Purge benchmark (issue 10). Prints figures; asserts nothing about time.
//!
//!   cargo bench --bench purge
//!
//! 2,000,000 keys, 1,000,000 of them matching `product:*`, on a local redis-server. In one run:
//! - the ops one-liner `redis-cli --scan --pattern 'product:*' | xargs -n 1000 redis-cli unlink`;
//! - `cachewarden` (a daemon process) purging the same at full speed;
//! - the physical limit: Redis's own server time for the purge's SCAN and UNLINK calls
//!   (`INFO commandstats`), as keys per second of server time;
//! - a probe's GET p99 when idle, during the full-speed purge, and during a purge at a rate
//!   limit; the daemon's peak RSS.

#[path = "../tests/it/harness/mod.rs"]
#[allow(unused_imports)]
mod harness;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use harness::redis::RedisServer;
use harness::replica::{Replica, admin_token};
use serde_json::{Value, json};

const TOTAL: usize = 2_000_000;
const MATCHING: usize = 1_000_000;
const RATE: u64 = 20_000;
const RATED_KEYS: usize = 100_000;

async fn fill(c: &mut redis::aio::MultiplexedConnection, prefix: &str, n: usize) {
    let mut i = 0;
    while i < n {
        let mut pipe = redis::pipe();
        for j in i..(i + 10_000).min(n) {
            pipe.cmd("SET")
                .arg(format!("{prefix}{j}"))
                .arg("v")
                .ignore();
        }
        let () = pipe.query_async(c).await.unwrap();
        i += 10_000;
    }
}

async fn dbsize(c: &mut redis::aio::MultiplexedConnection) -> u64 {
    redis::cmd("DBSIZE").query_async(c).await.unwrap()
}

/// Microseconds Redis spent in SCAN and UNLINK since the last reset.
async fn server_usec(c: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(c)
        .await
        .unwrap();
    info.lines()
        .filter(|l| l.starts_with("cmdstat_scan:") || l.starts_with("cmdstat_unlink:"))
        .filter_map(|l| {
            l.split("usec=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// Runs GETs on its own connection until stopped; returns the latencies.
fn probe(url: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<Duration>> {
    tokio::spawn(async move {
        let client = redis::Client::open(url).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let mut times = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            let _: Option<String> = redis::cmd("GET")
                .arg("probe")
                .query_async(&mut c)
                .await
                .unwrap();
            times.push(t.elapsed());
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        times
    })
}

fn p99(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[(v.len() * 99 / 100).min(v.len() - 1)].as_secs_f64() * 1000.0
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Submits a purge and waits for it, while a probe measures GET latency.
async fn purge(
    daemon: &Replica,
    token: &str,
    redis_url: &str,
    body: Value,
) -> (f64, Vec<Duration>, Value) {
    let http = reqwest::Client::new();
    let stop = Arc::new(AtomicBool::new(false));
    let probe = probe(redis_url.to_owned(), stop.clone());
    let started = Instant::now();
    let job: Value = http
        .post(daemon.url("/api/v1/purges"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["id"].as_i64().expect("a job");
    let done = loop {
        let j = daemon
            .get_json(&http, &format!("/api/v1/purges/{id}?wait=60s"), token)
            .await;
        if j["state"] != "running" && j["state"] != "queued" {
            break j;
        }
    };
    let secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    (secs, probe.await.unwrap(), done)
}

#[tokio::main]
async fn main() {
    cachewarden::startup::install_crypto_provider();
    let redis = RedisServer::start();
    let url = redis.url();
    let mut c = redis.connection().await;
    let dir = tempfile::tempdir().unwrap();

    println!("filling {TOTAL} keys ({MATCHING} product:*)…");
    fill(&mut c, "product:", MATCHING).await;
    fill(&mut c, "other:", TOTAL - MATCHING).await;
    let stop = Arc::new(AtomicBool::new(false));
    let idle = probe(url.clone(), stop.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let idle_p99 = p99(idle.await.unwrap());

    // Baseline: the one-liner.
    let port = redis.port.to_string();
    let t = Instant::now();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("redis-cli -p {port} --scan --pattern 'product:*' | xargs -n 1000 redis-cli -p {port} unlink > /dev/null"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let one_liner = t.elapsed().as_secs_f64();
    assert_eq!(
        dbsize(&mut c).await,
        (TOTAL - MATCHING) as u64,
        "the one-liner deleted the matching keys"
    );

    // cachewarden at full speed.
    fill(&mut c, "product:", MATCHING).await;
    let toml = format!(
        "[database]\nurl = \"sqlite://{}\"\n[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{url}\"\npurge_prefixes = [\"product:\"]\n",
        dir.path().join("cachewarden.db").display()
    );
    let config = dir.path().join("cachewarden.toml");
    std::fs::write(&config, &toml).unwrap();
    let token = admin_token(
        &toml,
        &format!("sqlite://{}", dir.path().join("cachewarden.db").display()),
    )
    .await;
    let daemon = Replica::start("daemon", &config, dir.path(), &[]);
    let () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut c)
        .await
        .unwrap();
    let (ours, during, done) = purge(
        &daemon,
        &token,
        &url,
        json!({"target": "sessions", "patterns": ["product:*"], "confirm": "sessions"}),
    )
    .await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["result"]["deleted"], MATCHING as u64);
    assert_eq!(dbsize(&mut c).await, (TOTAL - MATCHING) as u64);
    let server = server_usec(&mut c).await as f64 / 1e6;
    let full_p99 = p99(during);

    // At a rate limit.
    fill(&mut c, "product:", RATED_KEYS).await;
    let (rated, during_rated, done) = purge(
        &daemon,
        &token,
        &url,
        json!({"target": "sessions", "patterns": ["product:*"], "confirm": "sessions", "rate_limit": RATE}),
    )
    .await;
    assert_eq!(done["result"]["deleted"], RATED_KEYS as u64);
    let rated_p99 = p99(during_rated);
    let rss = peak_rss_mib(daemon.pid());

    let m = MATCHING as f64;
    println!("purge of {MATCHING} of {TOTAL} keys (product:*), local redis-server:");
    println!(
        "  one-liner (redis-cli --scan | xargs -n 1000 redis-cli unlink): {one_liner:.2} s, {:.0} keys/s",
        m / one_liner
    );
    println!(
        "  cachewarden, full speed:   {ours:.2} s, {:.0} keys/s ({:.2}x the one-liner; goal 2.4x)",
        m / ours,
        one_liner / ours
    );
    println!(
        "  Redis server time (SCAN + UNLINK usec): {server:.2} s, {:.0} keys/s; cachewarden reaches {:.0} % of it (goal 75 %)",
        m / server,
        100.0 * server / ours
    );
    println!(
        "  probe GET p99: idle {idle_p99:.3} ms, full speed {full_p99:.3} ms, at {RATE} keys/s {rated_p99:.3} ms ({:.2}x idle; goal ≤ 2x)",
        rated_p99 / idle_p99
    );
    println!(
        "  {RATED_KEYS} keys at {RATE}/s: {rated:.2} s ({:.0} keys/s)",
        RATED_KEYS as f64 / rated
    );
    println!("  daemon peak RSS: {rss:.1} MiB");
}
