//! Scale-out benchmark (issue 9). Prints figures; asserts nothing about time.
//!
//!   cargo bench --bench replicas
//!
//! Real processes on one PostgreSQL, with a real redis-server (polled every second) and moto:
//! - failover: SIGKILL of the leader → the survivor's first poll (the target's `last_poll_at`
//!   passes the kill), 10 runs, median and worst;
//! - job throughput: 400 invalidation jobs submitted through the API by 16 concurrent clients
//!   until every one is completed, with one replica and with two (requests spread over both).

#[path = "../tests/it/harness/mod.rs"]
#[allow(unused_imports)]
mod harness;

use std::time::{Duration, Instant};

use harness::moto::{Moto, create_distribution};
use harness::postgres::Postgres;
use harness::receiver::TestReceiver;
use harness::redis::RedisServer;
use harness::replica::{Replica, admin_token, aws_env, config};
use serde_json::{Value, json};

const FAILOVER_RUNS: usize = 10;
const JOBS: usize = 400;
const CLIENTS: usize = 16;

struct World {
    pg: Postgres,
    redis: RedisServer,
    moto: Moto,
    hook: TestReceiver,
    cf: aws_sdk_cloudfront::Client,
    dir: tempfile::TempDir,
}

impl World {
    /// A fresh database and distribution, the config written, an admin token.
    async fn deployment(&self, name: &str) -> (std::path::PathBuf, String) {
        let pg_url = self.pg.fresh_database_url();
        let distribution = create_distribution(&self.cf).await;
        let toml = config(
            &pg_url,
            &self.moto.endpoint(),
            &distribution,
            &self.redis.url(),
            &self.hook.url,
        );
        let path = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, &toml).unwrap();
        (path, admin_token(&toml, &pg_url).await)
    }
}

fn until(deadline: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

async fn last_poll(http: &reqwest::Client, r: &Replica, token: &str) -> Option<i64> {
    let v: Value = http
        .get(r.url("/api/v1/targets/sessions"))
        .bearer_auth(token)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    v["last_poll_at"].as_i64()
}

async fn failover(world: &World) -> Vec<Duration> {
    let http = reqwest::Client::new();
    let env = aws_env();
    let mut times = Vec::new();
    for run in 0..FAILOVER_RUNS {
        let (path, token) = world.deployment(&format!("failover-{run}")).await;
        let mut a = Replica::start(&format!("a{run}"), &path, world.dir.path(), &env);
        assert!(until(Duration::from_secs(15), || a.role().as_deref()
            == Some("leader")));
        let b = Replica::start(&format!("b{run}"), &path, world.dir.path(), &env);
        // The leader has polled at least once.
        while last_poll(&http, &b, &token).await.is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let killed_ms = chrono::Utc::now().timestamp_millis();
        let killed = Instant::now();
        a.kill();
        loop {
            if last_poll(&http, &b, &token)
                .await
                .is_some_and(|t| t > killed_ms)
            {
                break;
            }
            assert!(
                killed.elapsed() < Duration::from_secs(60),
                "no takeover:\n{}",
                b.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        times.push(killed.elapsed());
        println!(
            "  run {run}: first poll by the survivor {:.2} s after the SIGKILL",
            killed.elapsed().as_secs_f64()
        );
    }
    times
}

/// Jobs per second from the first submission until all are completed.
async fn throughput(world: &World, replicas: usize) -> f64 {
    let (path, token) = world.deployment(&format!("throughput-{replicas}")).await;
    let env = aws_env();
    let nodes: Vec<Replica> = (0..replicas)
        .map(|i| Replica::start(&format!("t{replicas}-{i}"), &path, world.dir.path(), &env))
        .collect();
    let urls: Vec<String> = nodes.iter().map(|r| r.url("")).collect();
    let nodes = std::sync::Arc::new(nodes);
    let http = reqwest::Client::new();
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (http, urls, token, nodes) =
                (http.clone(), urls.clone(), token.clone(), nodes.clone());
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in (c..JOBS).step_by(CLIENTS) {
                    let base = &urls[i % urls.len()];
                    let res = http
                        .post(format!("{base}/api/v1/invalidations"))
                        .bearer_auth(&token)
                        .json(&json!({ "target": "web", "items": [format!("/t/{i}")] }))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 202);
                    ids.push(res.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
                }
                for id in ids {
                    let node = &nodes[id as usize % nodes.len()];
                    let job = node
                        .get_json(&http, &format!("/api/v1/jobs/{id}?wait=120s"), &token)
                        .await;
                    assert_eq!(job["state"], "completed", "{job}");
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    let rate = JOBS as f64 / started.elapsed().as_secs_f64();
    drop(nodes);
    rate
}

#[tokio::main]
async fn main() {
    cachewarden::startup::install_crypto_provider();
    let moto = Moto::start();
    let sdk = moto.sdk_config("us-east-1").await;
    let world = World {
        pg: Postgres::start(),
        redis: RedisServer::start(),
        cf: aws_sdk_cloudfront::Client::new(&sdk),
        moto,
        hook: TestReceiver::start(0).await,
        dir: tempfile::tempdir().unwrap(),
    };
    println!(
        "failover (SIGKILL of the leader → first poll by the survivor), {FAILOVER_RUNS} runs:"
    );
    let mut times = failover(&world).await;
    times.sort();
    let median = (times[times.len() / 2 - 1] + times[times.len() / 2]).as_secs_f64() / 2.0;
    let worst = times.last().unwrap().as_secs_f64();
    println!("failover: median {median:.2} s, worst {worst:.2} s (goal: within 15 s)");
    let one = throughput(&world, 1).await;
    let two = throughput(&world, 2).await;
    println!(
        "job throughput ({JOBS} invalidations, {CLIENTS} clients, submitted → completed, PostgreSQL):"
    );
    println!("  one replica:  {one:.0} jobs/s");
    println!("  two replicas: {two:.0} jobs/s ({:.2}x one)", two / one);
}
