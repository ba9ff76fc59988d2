//! Polling on a schedule, per-poll timeouts, and rollups through the collector.

use std::time::Duration;

use redis::AsyncCommands;
use serde_json::Value;

use crate::harness::TestApp;
use crate::harness::process::wait_until;
use crate::harness::redis::RedisServer;

#[tokio::test]
async fn targets_are_polled_on_their_schedule_without_being_asked() {
    let redis = RedisServer::start();
    let app = TestApp::sqlite_scheduled(&format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\nevery = \"1s\"\n",
        redis.url()
    ))
    .await;
    let store = app.store.clone();
    wait_until(
        "three scheduled polls are stored",
        Duration::from_secs(15),
        || {
            let store = store.clone();
            async move {
                let q = cachewarden::store::SeriesQuery {
                    target: "sessions".into(),
                    node: String::new(),
                    series: "up".into(),
                    from: 0,
                    to: i64::MAX,
                    resolution: cachewarden::store::Resolution::Raw,
                    detail: false,
                };
                store
                    .read_series(&q)
                    .await
                    .map(|p| p.len() >= 3 && p.iter().all(|p| p.value == 1.0))
                    .unwrap_or(false)
            }
        },
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_target_that_never_answers_times_out_without_delaying_the_others() {
    let redis = RedisServer::start();
    // Accepts connections (the kernel completes them) but never answers a command.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let app = TestApp::sqlite(&format!(
        "[[targets]]\nname = \"good\"\nkind = \"redis\"\nurl = \"{}\"\n\
         [[targets]]\nname = \"silent\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:{silent_port}\"\ntimeout = \"1s\"\n",
        redis.url()
    ))
    .await;
    let collector = app.collector().clone();
    let slow = tokio::spawn(async move { collector.poll_target_once("silent").await.unwrap() });
    let good = app.collector().poll_target_once("good").await.unwrap();
    assert_eq!(good.error, None);
    assert!(
        !slow.is_finished(),
        "the good target finished while the silent one still waits"
    );
    let slow = slow.await.unwrap();
    assert_eq!(slow.error.as_deref(), Some("timed out after 1s"));
    let statuses = app.store.list_target_status().await.unwrap();
    let silent_status = statuses.iter().find(|s| s.target == "silent").unwrap();
    assert!(!silent_status.up);
    assert_eq!(
        silent_status.last_error.as_deref(),
        Some("timed out after 1s")
    );
    drop(silent);
}

#[tokio::test]
async fn rollups_of_polled_hit_rates_are_ratios_of_sums() {
    let redis = RedisServer::start();
    let app = TestApp::sqlite(&format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\n",
        redis.url()
    ))
    .await;
    let admin = app.token("root", &["admin"], &[]).await;
    let mut c = redis.connection().await;
    let _: () = c.set("k", "v").await.unwrap();
    app.collector().poll_target_once("sessions").await.unwrap();
    // Interval 1: 1 hit of 1. Interval 2: 1 hit of 9. Mean of ratios 0.556; ratio of sums 0.2.
    let _: Option<String> = c.get("k").await.unwrap();
    app.collector().poll_target_once("sessions").await.unwrap();
    let _: Option<String> = c.get("k").await.unwrap();
    for i in 0..8 {
        let _: Option<String> = c.get(format!("missing{i}")).await.unwrap();
    }
    app.collector().poll_target_once("sessions").await.unwrap();
    app.collector()
        .maintain_once(&app.settings, cachewarden::store::now_ms())
        .await
        .unwrap();
    let from = cachewarden::store::now_ms() - 3_600_000;
    let body: Value = app
        .get(
            &format!("/api/v1/targets/sessions/series?metric=hit_rate&resolution=5m&detail=true&from={from}"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    let points: Vec<(f64, i64)> = body["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["value"].as_f64().unwrap(), p["count"].as_i64().unwrap()))
        .collect();
    // Both intervals usually share a 5-minute bucket; across a boundary each has its own.
    match points.as_slice() {
        [(v, 2)] => assert!(
            (v - 0.2).abs() < 1e-9,
            "ratio of sums, not mean of ratios: {body}"
        ),
        [(a, 1), (b, 1)] => assert!(
            (a - 1.0).abs() < 1e-9 && (b - 1.0 / 9.0).abs() < 1e-9,
            "{body}"
        ),
        other => panic!("unexpected buckets {other:?}"),
    }
}
