//! Alert latency benchmark (issue 4). Prints figures; asserts nothing about time.
//!
//!   cargo bench --bench alerts
//!
//! A running daemon (scheduler and delivery worker on their own) polls a real redis-server
//! every second; the benchmark drives the hit rate down (all misses) and back up (all hits)
//! 20 times. For each alarm message, the latency is from the breaching poll (the message's
//! `since`, the poll's time) to its receipt by a webhook receiver in this process.

#[path = "../tests/it/harness/mod.rs"]
#[allow(unused_imports)]
mod harness;

use std::time::{Duration, Instant};

use harness::TestApp;
use harness::receiver::TestReceiver;
use harness::redis::RedisServer;
use redis::AsyncCommands;

const RUNS: usize = 20;
const POLL: Duration = Duration::from_secs(1);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let redis = RedisServer::start();
    let hook = TestReceiver::start(0).await;
    let config = format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\nevery = \"1s\"\n\
         [[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret = \"s\"\n\
         [[alarms]]\nname = \"hit-rate\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.5\nnotify = [\"ops\"]\n",
        redis.url(),
        hook.url
    );
    // Kept alive for the whole run: it polls and notifies on its own.
    let _app = TestApp::sqlite_scheduled(&config).await;
    let mut c = redis.connection().await;
    let _: () = c.set("k", "v").await.unwrap();
    let mut latencies = Vec::new();
    let mut end_to_end = Vec::new();
    for run in 0..RUNS {
        for (hits, misses, kind) in [(0, 50, "alarm"), (50, 0, "resolved")] {
            let turned = chrono::Utc::now().timestamp_millis();
            let want = hook
                .accepted()
                .iter()
                .filter(|r| r.body["kind"] == kind)
                .count()
                + 1;
            // Keep traffic flowing until the message arrives (each poll needs some traffic).
            let deadline = Instant::now() + Duration::from_secs(30);
            while hook
                .accepted()
                .iter()
                .filter(|r| r.body["kind"] == kind)
                .count()
                < want
            {
                for _ in 0..hits {
                    let _: Option<String> = c.get("k").await.unwrap();
                }
                for i in 0..misses {
                    let _: Option<String> = c.get(format!("miss{i}")).await.unwrap();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                assert!(Instant::now() < deadline, "run {run}: no {kind} message");
            }
            if kind == "alarm" {
                let m = hook
                    .accepted()
                    .into_iter()
                    .rev()
                    .find(|r| r.body["kind"] == "alarm")
                    .unwrap();
                latencies.push((m.at_ms - m.body["since"].as_i64().unwrap()) as f64 / 1000.0);
                end_to_end.push((m.at_ms - turned) as f64 / 1000.0);
            }
        }
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let budget = POLL.as_secs_f64() + 1.0;
    println!(
        "alert latency over {RUNS} runs (poll every {:.0} s): breaching poll -> webhook receipt",
        POLL.as_secs_f64()
    );
    println!(
        "  median {:.3} s, worst {:.3} s; budget poll interval + 1 s = {budget:.1} s (worst is {:.1} % of it)",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
        latencies[latencies.len() - 1] / budget * 100.0
    );
    end_to_end.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "  from the moment traffic turned bad (includes waiting for the next poll): median {:.3} s, worst {:.3} s",
        end_to_end[end_to_end.len() / 2],
        end_to_end[end_to_end.len() - 1]
    );
    println!(
        "  messages received: {} (alarm and resolved, one each per run)",
        hook.accepted().len()
    );
}
