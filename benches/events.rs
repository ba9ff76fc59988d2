//! Event rules benchmark (issue 11). Prints figures; asserts nothing about time.
//!
//!   cargo bench --bench events
//!
//! A running daemon on SQLite with a real redis-server and three rules per event type (two
//! purge the item's keys, one broadcasts). Reported:
//! - latency: from sending an event to its Redis keys being gone and its broadcast received
//!   by a SUBSCRIBE client, over 200 events sent one after another (median and worst);
//! - throughput: events per second through the API with 8 concurrent clients, accepted and
//!   run to completion, against the baseline of the same number of plain purge requests
//!   (one job each instead of four) in the same process.

#[path = "../tests/it/harness/mod.rs"]
#[allow(unused_imports)]
mod harness;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use harness::TestApp;
use harness::redis::RedisServer;
use redis::AsyncCommands;
use serde_json::{Value, json};

const LATENCY_EVENTS: usize = 200;
const THROUGHPUT_EVENTS: usize = 400;
const CLIENTS: usize = 8;

fn config(redis: &str) -> String {
    format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{redis}\"\npurge_prefixes = [\"product:\", \"price:\"]\n\
         [[rules]]\nevent = \"product.updated\"\nredis = [{{ target = \"sessions\", keys = [\"product:{{id}}\"] }}]\n\
         [[rules]]\nevent = \"product.updated\"\nredis = [{{ target = \"sessions\", keys = [\"price:{{id}}\"] }}]\n\
         [[rules]]\nevent = \"product.updated\"\nbroadcast = {{ target = \"sessions\", channel = \"drops\" }}\n"
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let redis = RedisServer::start();
    let app = Arc::new(TestApp::sqlite_scheduled(&config(&redis.url())).await);
    let token = app.token("bench", &["invalidate", "purge"], &[]).await;
    let mut c = redis.connection().await;

    // When each broadcast arrived, by event id.
    let heard: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe("drops").await.unwrap();
    let h = heard.clone();
    tokio::spawn(async move {
        let mut messages = pubsub.on_message();
        while let Some(m) = messages.next().await {
            let v: Value = serde_json::from_str(&m.get_payload::<String>().unwrap()).unwrap();
            h.lock()
                .unwrap()
                .insert(v["event_id"].as_i64().unwrap(), Instant::now());
        }
    });

    // Latency, one event at a time.
    let mut latencies = Vec::new();
    for i in 0..LATENCY_EVENTS {
        let keys = [format!("product:{i}"), format!("price:{i}")];
        for k in &keys {
            let _: () = c.set(k, "cached").await.unwrap();
        }
        let sent = Instant::now();
        let res: Value = app
            .post_keyed(
                "/api/v1/events",
                &token,
                None,
                &json!({"type": "product.updated", "data": {"id": i}}),
            )
            .await
            .json()
            .await
            .unwrap();
        let id = res["id"].as_i64().expect("accepted");
        let deadline = Instant::now() + Duration::from_secs(30);
        let gone_at = loop {
            let left: usize = c.exists(&keys[..]).await.unwrap();
            if left == 0 {
                break Instant::now();
            }
            assert!(Instant::now() < deadline, "event {id}: keys still there");
            tokio::time::sleep(Duration::from_micros(500)).await;
        };
        let heard_at = loop {
            if let Some(t) = heard.lock().unwrap().get(&id) {
                break *t;
            }
            assert!(Instant::now() < deadline, "event {id}: no broadcast");
            tokio::time::sleep(Duration::from_micros(500)).await;
        };
        latencies.push(gone_at.max(heard_at).duration_since(sent).as_secs_f64() * 1000.0);
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "event latency (sent -> keys gone and broadcast heard), {LATENCY_EVENTS} events: median {:.1} ms, p90 {:.1} ms, worst {:.1} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        latencies[latencies.len() - 1]
    );

    // Throughput: events (4 jobs each) against plain purges (1 job each).
    let run = |route: &'static str, body: fn(usize) -> Value| {
        let (app, token) = (app.clone(), token.clone());
        async move {
            let started = Instant::now();
            let mut tasks = Vec::new();
            for w in 0..CLIENTS {
                let (app, token) = (app.clone(), token.clone());
                tasks.push(tokio::spawn(async move {
                    let mut ids = Vec::new();
                    for n in (w..THROUGHPUT_EVENTS).step_by(CLIENTS) {
                        let v: Value = app
                            .post_keyed(route, &token, None, &body(n))
                            .await
                            .json()
                            .await
                            .unwrap();
                        ids.push(v["id"].as_i64().expect("accepted"));
                    }
                    ids
                }));
            }
            let mut ids = Vec::new();
            for t in tasks {
                ids.extend(t.await.unwrap());
            }
            let accepted = started.elapsed().as_secs_f64();
            for id in &ids {
                let v = app
                    .get_json(&format!("{route}/{id}?wait=60s"), Some(&token))
                    .await;
                assert_eq!(v["state"], "completed", "{v}");
            }
            (accepted, started.elapsed().as_secs_f64())
        }
    };
    let (p_acc, p_done) = run(
        "/api/v1/purges",
        |n| json!({"target": "sessions", "keys": [format!("product:b{n}")]}),
    )
    .await;
    let (e_acc, e_done) = run(
        "/api/v1/events",
        |n| json!({"type": "product.updated", "data": {"id": format!("b{n}")}}),
    )
    .await;
    let n = THROUGHPUT_EVENTS as f64;
    println!(
        "events through the API ({THROUGHPUT_EVENTS}, {CLIENTS} clients, 3 rules = 3 child jobs each, SQLite): accepted {:.0}/s, completed {:.0}/s",
        n / e_acc,
        n / e_done
    );
    println!(
        "  baseline, plain purges (1 job each): accepted {:.0}/s, completed {:.0}/s; an event costs {:.1}x a purge end to end",
        n / p_acc,
        n / p_done,
        e_done / p_done
    );
}
