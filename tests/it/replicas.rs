//! Two daemon processes on one PostgreSQL share the work without doing it twice: every replica
//! serves and accepts jobs, one leads (polls, evaluates alarms). The leader is SIGKILLed with
//! invalidations in flight and an alarm firing: the survivor takes over within 15 s, every job
//! completes, moto holds each batch once (billed once), and the webhook receiver gets the
//! alarm and the resolution once each.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::moto::{Moto, create_distribution};
use crate::harness::postgres::Postgres;
use crate::harness::process::wait_until;
use crate::harness::receiver::TestReceiver;
use crate::harness::redis::{RedisServer, traffic};
use crate::harness::replica::{Replica, admin_token, aws_env, config};

/// Sends Redis traffic of `hits` and `misses` until the receiver got a message of `kind`.
async fn traffic_until(
    c: &redis::aio::MultiplexedConnection,
    hook: &TestReceiver,
    hits: usize,
    misses: usize,
    kind: &str,
) {
    wait_until(
        &format!("a {kind} message arrives"),
        Duration::from_secs(30),
        || {
            let mut c = c.clone();
            async move {
                traffic(&mut c, hits, misses).await;
                hook.kinds().iter().any(|k| k == kind)
            }
        },
    )
    .await;
}

#[tokio::test]
async fn two_replicas_share_the_work_and_the_survivor_finishes_it_after_the_leader_is_killed() {
    let pg = Postgres::start();
    let pg_url = pg.fresh_database_url();
    let redis = RedisServer::start();
    let moto = Moto::start();
    let sdk = moto.sdk_config("us-east-1").await;
    let cf = aws_sdk_cloudfront::Client::new(&sdk);
    let distribution = create_distribution(&cf).await;
    let hook = TestReceiver::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = config(
        &pg_url,
        &moto.endpoint(),
        &distribution,
        &redis.url(),
        &hook.url,
    );
    let config_path = dir.path().join("cachewarden.toml");
    std::fs::write(&config_path, &toml).unwrap();
    let token = admin_token(&toml, &pg_url).await;
    let env = aws_env();

    // The first to start leads; the second follows but serves all the same.
    let mut a = Replica::start("replica-a", &config_path, dir.path(), &env);
    wait_until("replica-a leads", Duration::from_secs(15), || async {
        a.role().as_deref() == Some("leader")
    })
    .await;
    let b = Replica::start("replica-b", &config_path, dir.path(), &env);
    assert_eq!(b.role().as_deref(), Some("follower"));
    let http = reqwest::Client::new();
    let leader_gauge = |r: &Replica| {
        let (http, url) = (http.clone(), r.url("/metrics"));
        async move {
            let text = http.get(url).send().await.unwrap().text().await.unwrap();
            text.lines()
                .find(|l| l.starts_with("cachewarden_leader "))
                .map(str::to_owned)
        }
    };
    assert_eq!(
        leader_gauge(&a).await.as_deref(),
        Some("cachewarden_leader 1")
    );
    assert_eq!(
        leader_gauge(&b).await.as_deref(),
        Some("cachewarden_leader 0")
    );

    // The hit rate falls: the leader polls, evaluates and pages once.
    let c = redis.connection().await;
    traffic_until(&c, &hook, 1, 9, "alarm").await;

    // 50 invalidations through both replicas, then the leader dies with them in flight.
    let mut ids = Vec::new();
    for i in 0..50 {
        let replica = if i % 2 == 0 { &a } else { &b };
        let res = http
            .post(replica.url("/api/v1/invalidations"))
            .bearer_auth(&token)
            .header("Idempotency-Key", format!("deploy-{i}"))
            .json(&json!({ "target": "web", "items": [format!("/p/{i}")] }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202, "replica {} accepts jobs", replica.name);
        ids.push(res.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    a.kill();
    let killed = Instant::now();
    wait_until(
        "replica-b takes the lead",
        Duration::from_secs(15),
        || async { b.role().as_deref() == Some("leader") },
    )
    .await;
    let takeover = killed.elapsed();
    println!("takeover after SIGKILL of the leader: {takeover:?}");
    assert_eq!(
        leader_gauge(&b).await.as_deref(),
        Some("cachewarden_leader 1")
    );

    // The survivor polls and evaluates now: recovery resolves the alarm.
    traffic_until(&c, &hook, 10, 0, "resolved").await;

    // Every job completes (those the dead replica held are taken over when its leases expire).
    let mut batches = BTreeSet::new();
    for id in &ids {
        let job = b
            .get_json(&http, &format!("/api/v1/jobs/{id}?wait=60s"), &token)
            .await;
        assert_eq!(job["state"], "completed", "{job}\n{}", b.log());
        batches.insert(
            job["result"]["caller_reference"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    // moto holds each batch once. moto 5.2.5 does not implement CloudFront's CallerReference
    // idempotency (it appends every CreateInvalidation), so a send the SIGKILL cut short and
    // the survivor repeated shows there as a second entry with the same reference, which real
    // CloudFront answers with the existing invalidation. Counted per reference, then: each
    // batch's reference with its own paths, and no path in two batches.
    let listed = cf
        .list_invalidations()
        .distribution_id(&distribution)
        .max_items(100)
        .send()
        .await
        .unwrap();
    let mut by_reference: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut resent = 0;
    for s in listed.invalidation_list().unwrap().items() {
        let got = cf
            .get_invalidation()
            .distribution_id(&distribution)
            .id(s.id())
            .send()
            .await
            .unwrap();
        let batch = got.invalidation().unwrap().invalidation_batch().unwrap();
        let paths = batch.paths().unwrap().items().to_vec();
        if let Some(before) =
            by_reference.insert(batch.caller_reference().to_owned(), paths.clone())
        {
            assert_eq!(before, paths, "a repeated reference carries the same paths");
            resent += 1;
        }
    }
    println!(
        "batches: {}, repeated after the kill with the same CallerReference: {resent}",
        batches.len()
    );
    assert!(
        resent <= 2,
        "only sends in flight at the kill (two workers) are repeated"
    );
    let references: BTreeSet<String> = by_reference.keys().cloned().collect();
    assert_eq!(references, batches, "one CloudFront invalidation per batch");
    let mut paths: Vec<String> = by_reference.into_values().flatten().collect();
    paths.sort();
    let mut expected: Vec<String> = (0..50).map(|i| format!("/p/{i}")).collect();
    expected.sort();
    assert_eq!(paths, expected, "each path sent in one batch");
    let cost: Value = http
        .get(b.url("/api/v1/invalidations/cost"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cost["billed_paths"], 50, "billed once");

    // Exactly one alarm and one resolved message across the failover.
    let got = hook.accepted();
    assert_eq!(hook.kinds(), ["alarm", "resolved"], "{got:?}");
    let deliveries: BTreeSet<&str> = got
        .iter()
        .filter_map(|m| m.header("x-cachewarden-delivery"))
        .collect();
    assert_eq!(deliveries.len(), 2);
    assert!(takeover < Duration::from_secs(15), "took {takeover:?}");
}
