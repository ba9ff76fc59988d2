//! Redis purges against real servers (standalone and a 3-primary cluster): patterns leave
//! every other key (also keys written during the purge), exact keys and tags, dry runs that
//! count exactly and delete nothing, guard rails and bad requests as tables, a rate limit
//! that holds, cancel within a second, and Redis stopping mid-purge.

use std::time::{Duration, Instant};

use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::app::expect_error;
use crate::harness::process::wait_until;
use crate::harness::redis::{RedisCluster, RedisServer, TlsRedis};

fn config(url: &str, extra: &str) -> String {
    format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{url}\"\npurge_prefixes = [\"product:\", \"session:\"]\n{extra}\
         [[targets]]\nname = \"frag\"\nkind = \"memcached\"\naddress = \"127.0.0.1:1\"\n"
    )
}

/// Writes `n` keys named `prefix{i}` with pipelined SETs.
async fn fill(c: &mut impl redis::aio::ConnectionLike, prefix: &str, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut pipe = redis::pipe();
        for i in chunk {
            pipe.cmd("SET")
                .arg(format!("{prefix}{i}"))
                .arg("v")
                .ignore();
        }
        let () = pipe.query_async(c).await.expect("SET");
    }
}

/// How many keys match `pattern` on a standalone server.
async fn count(c: &mut redis::aio::MultiplexedConnection, pattern: &str) -> usize {
    let mut n = 0;
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(c)
            .await
            .unwrap();
        n += keys.len();
        cursor = next;
        if cursor == 0 {
            return n;
        }
    }
}

async fn purge(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post("/api/v1/purges", Some(token), &body).await
}

/// Submits a purge, runs it to the end, and returns the final job.
async fn run(app: &TestApp, token: &str, body: Value) -> Value {
    let res = purge(app, token, body).await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    app.jobs
        .run_once(cachewarden::store::now_ms())
        .await
        .unwrap();
    app.get_json(&format!("/api/v1/purges/{id}"), Some(token))
        .await
}

#[tokio::test]
async fn a_pattern_purge_deletes_what_matches_and_nothing_else() {
    let redis = RedisServer::start();
    let mut c = redis.connection().await;
    fill(&mut c, "product:", 5000).await;
    fill(&mut c, "session:", 2000).await;
    fill(&mut c, "productx", 10).await;
    let app = TestApp::sqlite(&config(&redis.url(), "")).await;
    let ops = app.token("ops", &["purge"], &["sessions"]).await;

    // A dry run counts exactly, samples, and deletes nothing.
    let dry = run(&app, &ops, json!({"target": "sessions", "patterns": ["product:*"], "dry_run": true, "rate_limit": 1000})).await;
    assert_eq!(dry["state"], "completed", "{dry}");
    assert_eq!(dry["result"]["matched"], 5000);
    assert_eq!(dry["result"]["deleted"], 0);
    let sample = dry["result"]["sample"].as_array().unwrap();
    assert_eq!(sample.len(), 20);
    assert!(
        sample
            .iter()
            .all(|k| k.as_str().unwrap().starts_with("product:"))
    );
    assert_eq!(
        dry["result"]["estimated_seconds"], 5.0,
        "5000 keys at 1000/s"
    );
    // What share of the keyspace it reaches, and about how much memory the keys hold: the
    // sample's mean MEMORY USAGE times the keys matched.
    assert_eq!(dry["result"]["keyspace"], 7010, "{dry}");
    let mut bytes = 0u64;
    for k in sample {
        let b: u64 = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(k.as_str().unwrap())
            .arg("SAMPLES")
            .arg(0)
            .query_async(&mut c)
            .await
            .unwrap();
        bytes += b;
    }
    let truth = (bytes as f64 / sample.len() as f64 * 5000.0).round() as u64;
    assert_eq!(dry["result"]["estimated_bytes"], truth, "{dry}");
    assert_eq!(count(&mut c, "product:*").await, 5000);

    // The purge, with keys written while it runs.
    let res = purge(
        &app,
        &ops,
        json!({"target": "sessions", "patterns": ["product:*"]}),
    )
    .await;
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let writer = {
        let mut w = redis.connection().await;
        tokio::spawn(async move {
            for i in 0..300 {
                let _: () = w.set(format!("session:new{i}"), "v").await.unwrap();
                let _: () = w.set(format!("fresh:{i}"), "v").await.unwrap();
            }
        })
    };
    app.jobs
        .run_once(cachewarden::store::now_ms())
        .await
        .unwrap();
    writer.await.unwrap();
    let done = app
        .get_json(&format!("/api/v1/purges/{id}"), Some(&ops))
        .await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["result"]["deleted"], 5000);
    assert_eq!(count(&mut c, "product:*").await, 0);
    assert_eq!(
        count(&mut c, "session:*").await,
        2300,
        "other keys and keys written meanwhile stay"
    );
    assert_eq!(count(&mut c, "productx*").await, 10);
    assert_eq!(count(&mut c, "fresh:*").await, 300);
    assert_eq!(done["progress"]["deleted"], 5000);
    // A purge opens the expected-dip window on its target.
    assert_eq!(
        app.store
            .expected_dip("sessions", cachewarden::store::now_ms(), 600_000)
            .await
            .unwrap(),
        Some((id, "redis_purge".to_owned()))
    );
}

#[tokio::test]
async fn exact_keys_and_tags_are_deleted_with_the_tag_sets() {
    let redis = RedisServer::start();
    let mut c = redis.connection().await;
    fill(&mut c, "k", 10).await;
    let _: () = c.sadd("tag:product-1", &["k1", "k2", "k3"]).await.unwrap();
    let _: () = c.sadd("t/other", &["k4"]).await.unwrap();
    let app = TestApp::sqlite(&config(&redis.url(), "tag_key = \"t/{tag}\"\n")).await;
    let ops = app.token("ops", &["purge"], &[]).await;
    let done = run(
        &app,
        &ops,
        json!({"target": "sessions", "keys": ["k0", "k9", "missing"], "tags": ["other"]}),
    )
    .await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(
        done["result"]["deleted"], 3,
        "k0, k9 and the tag's member k4"
    );
    let left: Vec<String> = {
        let mut keys: Vec<String> = c.keys("k*").await.unwrap();
        keys.sort();
        keys
    };
    assert_eq!(left, ["k1", "k2", "k3", "k5", "k6", "k7", "k8"]);
    assert!(
        !c.exists::<_, bool>("t/other").await.unwrap(),
        "the tag's set goes too"
    );
    assert!(
        c.exists::<_, bool>("tag:product-1").await.unwrap(),
        "another key format is not this target's"
    );
}

#[tokio::test]
async fn guard_rails_and_bad_requests_are_refused_naming_the_rule() {
    let redis = RedisServer::start();
    let mut c = redis.connection().await;
    fill(&mut c, "product:", 50).await;
    let app = TestApp::sqlite(&config(&redis.url(), "max_purge_keys = 20\n")).await;
    let ops = app.token("ops", &["purge"], &[]).await;
    let reader = app.token("reader", &["read"], &[]).await;
    let elsewhere = app.token("elsewhere", &["purge"], &["frag"]).await;
    // (what, token, body, status, code, field, message)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Value,
        u16,
        &'a str,
        Option<&'a str>,
        &'a str,
    );
    let table: Vec<Case> = vec![
        (
            "no token",
            None,
            json!({"target": "sessions", "keys": ["a"]}),
            401,
            "unauthenticated",
            None,
            "",
        ),
        (
            "read scope",
            Some(&reader),
            json!({"target": "sessions", "keys": ["a"]}),
            403,
            "forbidden",
            None,
            "purge",
        ),
        (
            "another target's token",
            Some(&elsewhere),
            json!({"target": "sessions", "keys": ["a"]}),
            403,
            "forbidden",
            None,
            "sessions",
        ),
        (
            "nothing to purge",
            Some(&ops),
            json!({"target": "sessions"}),
            400,
            "invalid_request",
            Some("keys"),
            "at least one",
        ),
        (
            "no target",
            Some(&ops),
            json!({"keys": ["a"]}),
            400,
            "invalid_request",
            Some("target"),
            "name the target",
        ),
        (
            "unknown target",
            Some(&ops),
            json!({"target": "nope", "keys": ["a"]}),
            400,
            "invalid_request",
            Some("target"),
            "not a configured target",
        ),
        (
            "tags on memcached",
            Some(&ops),
            json!({"target": "frag", "tags": ["a"]}),
            400,
            "invalid_request",
            Some("tags"),
            "no tags",
        ),
        (
            "flush_all on redis",
            Some(&ops),
            json!({"target": "sessions", "flush_all": true, "confirm": "sessions"}),
            400,
            "invalid_request",
            Some("flush_all"),
            "Memcached",
        ),
        (
            "unknown field",
            Some(&ops),
            json!({"target": "sessions", "key": ["a"]}),
            400,
            "invalid_request",
            Some("key"),
            "unknown field",
        ),
        (
            "keys not a list",
            Some(&ops),
            json!({"target": "sessions", "keys": "a"}),
            400,
            "invalid_request",
            Some("keys"),
            "sequence",
        ),
        (
            "empty pattern",
            Some(&ops),
            json!({"target": "sessions", "patterns": [""]}),
            400,
            "invalid_items",
            Some("patterns[0]"),
            "empty",
        ),
        (
            "rate of zero",
            Some(&ops),
            json!({"target": "sessions", "keys": ["a"], "rate_limit": 0}),
            400,
            "invalid_request",
            Some("rate_limit"),
            "from 1",
        ),
        (
            "confirm names another",
            Some(&ops),
            json!({"target": "sessions", "patterns": ["*"], "confirm": "frag"}),
            400,
            "invalid_request",
            Some("confirm"),
            "repeat",
        ),
        (
            "an unclosed class is not a pattern that matches everything",
            Some(&ops),
            json!({"target": "sessions", "patterns": ["["]}),
            400,
            "invalid_items",
            Some("patterns[0]"),
            "no ] closes",
        ),
        (
            "bare star",
            Some(&ops),
            json!({"target": "sessions", "patterns": ["*"]}),
            422,
            "confirmation_required",
            Some("confirm"),
            "every key",
        ),
        (
            "outside the prefixes",
            Some(&ops),
            json!({"target": "sessions", "patterns": ["user:*"]}),
            422,
            "confirmation_required",
            Some("confirm"),
            "purge_prefixes",
        ),
        (
            "more than max_purge_keys",
            Some(&ops),
            json!({"target": "sessions", "patterns": ["product:*"]}),
            422,
            "confirmation_required",
            Some("confirm"),
            "max_purge_keys",
        ),
    ];
    for (what, token, body, status, code, field, message) in table {
        expect_error(
            what,
            purge(&app, token.unwrap_or(""), body).await,
            status,
            code,
            field,
            message,
        )
        .await;
    }
    assert_eq!(
        count(&mut c, "product:*").await,
        50,
        "nothing refused touched a key"
    );
    let listed = app.get_json("/api/v1/jobs", Some(&ops)).await;
    assert!(
        listed["jobs"].as_array().unwrap().is_empty(),
        "nothing refused was stored: {listed}"
    );
    // A dry run may look, even beyond the guard rails, and says what a purge would need.
    let dry = run(
        &app,
        &ops,
        json!({"target": "sessions", "patterns": ["product:*"], "dry_run": true}),
    )
    .await;
    assert_eq!(dry["state"], "completed", "{dry}");
    assert!(
        dry["result"]["confirmation_needed"]
            .as_str()
            .is_some_and(|m| m.contains("more than the target's max_purge_keys")),
        "{dry}"
    );
    let beyond = run(
        &app,
        &ops,
        json!({"target": "sessions", "patterns": ["user:*"], "dry_run": true}),
    )
    .await;
    assert_eq!(
        beyond["result"]["confirmation_needed"],
        "patterns[0] \"user:*\" is outside the target's purge_prefixes (product:, session:)",
        "{beyond}"
    );
    let within = run(
        &app,
        &ops,
        json!({"target": "sessions", "patterns": ["session:1*"], "dry_run": true}),
    )
    .await;
    assert!(
        within["result"]["confirmation_needed"].is_null(),
        "{within}"
    );
    let ok = purge(
        &app,
        &ops,
        json!({"target": "sessions", "patterns": ["product:*"], "confirm": "sessions"}),
    )
    .await;
    assert_eq!(ok.status(), 202);
    app.jobs
        .run_once(cachewarden::store::now_ms())
        .await
        .unwrap();
    assert_eq!(count(&mut c, "product:*").await, 0);
}

#[tokio::test]
async fn a_cluster_is_purged_on_every_primary_by_slot() {
    let cluster = RedisCluster::start(3);
    let seed = format!("redis://127.0.0.1:{}", cluster.nodes[0].port);
    let client = redis::cluster::ClusterClient::new(vec![seed.clone()]).unwrap();
    let mut c = client.get_async_connection().await.unwrap();
    for i in 0..3000 {
        let _: () = c.set(format!("product:{i}"), "v").await.unwrap();
    }
    for i in 0..500 {
        let _: () = c.set(format!("session:{i}"), "v").await.unwrap();
    }
    let _: () = c
        .sadd("tag:{t}1", &["session:1", "session:2"])
        .await
        .unwrap();
    let app = TestApp::sqlite(&config(&seed, "cluster = true\n")).await;
    let ops = app.token("ops", &["purge"], &[]).await;
    let done = run(
        &app,
        &ops,
        json!({"target": "sessions", "patterns": ["product:*"], "keys": ["session:10", "session:11", "session:12"], "tags": ["{t}1"]}),
    )
    .await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["result"]["deleted"], 3005);
    assert_eq!(
        done["result"]["nodes"].as_object().unwrap().len(),
        3,
        "every primary scanned: {done}"
    );
    // A progress bar per primary, each full.
    let meters = done["meters"].as_array().expect("meters");
    assert_eq!(meters.len(), 3, "{done}");
    for m in meters {
        assert!(
            m["label"].as_str().unwrap().starts_with("node 127.0.0.1:"),
            "{m}"
        );
        assert_eq!(m["done"], m["of"], "{m}");
        assert!(m["of"].as_f64().unwrap() > 0.0, "{m}");
    }
    let mut left = 0;
    for node in &cluster.nodes {
        let mut n = node.connection().await;
        assert_eq!(count(&mut n, "product:*").await, 0);
        left += count(&mut n, "session:*").await;
    }
    assert_eq!(left, 495);
}

#[tokio::test]
async fn a_rate_limited_purge_keeps_its_rate_and_stops_within_a_second_when_cancelled() {
    let redis = RedisServer::start();
    let mut c = redis.connection().await;
    fill(&mut c, "product:", 6000).await;
    let app = TestApp::sqlite_scheduled(&config(&redis.url(), "")).await;
    let ops = app.token("ops", &["purge"], &[]).await;
    let res = purge(
        &app,
        &ops,
        json!({"target": "sessions", "patterns": ["product:*"], "rate_limit": 2000}),
    )
    .await;
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    // Progress shows while it runs.
    wait_until("progress is stored", Duration::from_secs(10), || async {
        app.get_json(&format!("/api/v1/purges/{id}"), Some(&ops))
            .await["progress"]["deleted"]
            .as_u64()
            .unwrap_or(0)
            >= 2000
    })
    .await;
    let seen = app
        .get_json(&format!("/api/v1/purges/{id}"), Some(&ops))
        .await;
    assert_eq!(seen["state"], "running");
    let rate = seen["progress"]["rate"].as_f64().unwrap();
    assert!(
        (1600.0..=2400.0).contains(&rate),
        "deleted/s within 20 % of 2000: {rate} ({seen})"
    );
    assert!(seen["progress"]["eta_seconds"].as_f64().is_some(), "{seen}");

    let asked = Instant::now();
    let res = app
        .post(
            &format!("/api/v1/purges/{id}/cancel"),
            Some(&ops),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 202);
    wait_until("the purge stops", Duration::from_secs(5), || async {
        app.get_json(&format!("/api/v1/purges/{id}"), Some(&ops))
            .await["state"]
            == "cancelled"
    })
    .await;
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "stopped after {:?}",
        asked.elapsed()
    );
    let stopped = app
        .get_json(&format!("/api/v1/purges/{id}"), Some(&ops))
        .await;
    let left = count(&mut c, "product:*").await;
    assert!(left > 0, "stopped before the end");
    assert_eq!(
        stopped["progress"]["deleted"].as_u64().unwrap() as usize,
        6000 - left,
        "{stopped}"
    );
}

/// A job's end is when it ended, not when a worker picked it up: a purge paced to about 1.5 s
/// shows started and completed that far apart, both within the wall-clock time it ran in.
#[tokio::test]
async fn a_jobs_times_are_when_it_started_and_when_it_ended() {
    let redis = RedisServer::start();
    let mut c = redis.connection().await;
    fill(&mut c, "product:", 3000).await;
    let app = TestApp::sqlite(&config(&redis.url(), "")).await;
    let ops = app.token("ops", &["purge"], &[]).await;
    let before = cachewarden::store::now_ms();
    let done = run(
        &app,
        &ops,
        json!({"target": "sessions", "keys": (0..3000).map(|i| format!("product:{i}")).collect::<Vec<_>>(), "rate_limit": 2000}),
    )
    .await;
    let after = cachewarden::store::now_ms();
    assert_eq!(done["state"], "completed", "{done}");
    let started = done["started_at"].as_i64().unwrap();
    let ended = done["completed_at"].as_i64().unwrap();
    let seconds = done["result"]["seconds"].as_f64().unwrap();
    assert!(
        seconds >= 1.0,
        "3000 keys at 2000/s take over a second: {done}"
    );
    assert!(
        (before..=after).contains(&started) && (before..=after).contains(&ended),
        "both times within the run ({before}..{after}): {done}"
    );
    assert!(
        ended - started >= (seconds * 1000.0) as i64 - 50,
        "ended {ended} - started {started} covers the {seconds} s it worked: {done}"
    );
}

#[tokio::test]
async fn redis_stopping_mid_purge_fails_the_job_with_the_reason() {
    let mut redis = RedisServer::start();
    let mut c = redis.connection().await;
    fill(&mut c, "product:", 4000).await;
    let app = TestApp::sqlite_scheduled(&config(&redis.url(), "")).await;
    let ops = app.token("ops", &["purge"], &[]).await;
    let res = purge(
        &app,
        &ops,
        json!({"target": "sessions", "patterns": ["product:*"], "rate_limit": 1000}),
    )
    .await;
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    wait_until("the purge runs", Duration::from_secs(10), || async {
        app.get_json(&format!("/api/v1/purges/{id}"), Some(&ops))
            .await["progress"]["deleted"]
            .as_u64()
            .unwrap_or(0)
            > 0
    })
    .await;
    redis.stop();
    wait_until("the purge fails", Duration::from_secs(30), || async {
        app.get_json(&format!("/api/v1/purges/{id}"), Some(&ops))
            .await["state"]
            == "failed"
    })
    .await;
    let failed = app
        .get_json(&format!("/api/v1/purges/{id}"), Some(&ops))
        .await;
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("keys had been deleted") && !error.contains("redis://"),
        "{error}"
    );
}

#[tokio::test]
async fn a_restarted_daemon_resumes_a_purge_from_its_stored_cursor() {
    let redis = RedisServer::start();
    let mut c = redis.connection().await;
    fill(&mut c, "product:", 16000).await;
    fill(&mut c, "session:", 100).await;
    // A graceful stop waits for idle keep-alive connections up to shutdown_timeout.
    let toml = format!(
        "[server]\nshutdown_timeout = \"1s\"\n{}",
        config(&redis.url(), "")
    );
    let app = TestApp::sqlite_scheduled(&toml).await;
    let ops = app.token("ops", &["purge"], &[]).await;
    // Confirmed, so that no count runs before it: the SCAN calls below are the purge's own.
    let res = purge(&app, &ops, json!({"target": "sessions", "patterns": ["product:*"], "rate_limit": 4000, "confirm": "sessions"})).await;
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    wait_until("a quarter is deleted", Duration::from_secs(10), || async {
        app.get_json(&format!("/api/v1/purges/{id}"), Some(&ops))
            .await["progress"]["deleted"]
            .as_u64()
            .unwrap_or(0)
            >= 2000
    })
    .await;
    let data = app.stop_keeping_data().await;
    let before = count(&mut c, "product:*").await;
    assert!(
        before > 0 && before < 16000,
        "stopped mid-way: {before} left"
    );

    let app = TestApp::restart_sqlite(&toml, data).await;
    let stored = app.store.job(id).await.unwrap().unwrap().progress.unwrap()["nodes"][""]["cursor"]
        .as_u64()
        .unwrap();
    assert_ne!(stored, 0, "a cursor mid-way was stored");
    // Watch what the restarted daemon asks Redis first.
    let monitor = redis::Client::open(redis.url())
        .unwrap()
        .get_async_monitor()
        .await
        .unwrap();
    let mut commands = monitor.into_on_message::<String>();
    app.jobs
        .run_once(cachewarden::store::now_ms())
        .await
        .unwrap();
    let first_scan = loop {
        let line = tokio::time::timeout(
            Duration::from_secs(5),
            futures_util::StreamExt::next(&mut commands),
        )
        .await
        .expect("commands reach the monitor")
        .expect("the monitor is open");
        if line.contains("\"SCAN\"") {
            break line;
        }
    };
    assert!(
        first_scan.contains(&format!("\"SCAN\" \"{stored}\"")),
        "resumed from cursor {stored}: {first_scan}"
    );
    let done = app
        .get_json(&format!("/api/v1/purges/{id}"), Some(&ops))
        .await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(
        done["result"]["deleted"], 16000,
        "counted across the restart, each key once"
    );
    assert_eq!(count(&mut c, "product:*").await, 0);
    assert_eq!(count(&mut c, "session:*").await, 100);
}

#[tokio::test]
async fn a_purge_goes_over_tls_with_a_password_and_never_shows_it() {
    cachewarden::startup::install_crypto_provider();
    let tls = TlsRedis::start("s3cret-pw");
    let ca = tls.ca_file();
    let port = tls.port;
    let url = format!("rediss://:s3cret-pw@127.0.0.1:{port}");
    let certs = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(std::fs::read(&ca).unwrap()),
    };
    let client = redis::Client::build_with_tls(url.clone(), certs).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    fill(&mut c, "product:", 500).await;
    fill(&mut c, "session:", 5).await;
    let toml = format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{url}\"\ntls_ca_file = \"{ca}\"\npurge_prefixes = [\"product:\"]\n\
         [[targets]]\nname = \"wrong\"\nkind = \"redis\"\nurl = \"rediss://:not-it@127.0.0.1:{port}\"\ntls_ca_file = \"{ca}\"\npurge_prefixes = [\"product:\"]\n",
        ca = ca.display()
    );
    let app = TestApp::sqlite(&toml).await;
    let ops = app.token("ops", &["purge"], &[]).await;
    let done = run(
        &app,
        &ops,
        json!({"target": "sessions", "patterns": ["product:*"], "keys": ["session:0"]}),
    )
    .await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["result"]["deleted"], 501);
    assert_eq!(count(&mut c, "*").await, 4);
    // A wrong password is refused before anything is stored, without echoing secrets.
    let res = purge(
        &app,
        &ops,
        json!({"target": "wrong", "patterns": ["product:*"]}),
    )
    .await;
    assert_eq!(res.status(), 422);
    let text = res.text().await.unwrap();
    assert!(
        !text.contains("not-it") && !text.contains("s3cret"),
        "{text}"
    );
    let failed = run(
        &app,
        &ops,
        json!({"target": "wrong", "keys": ["product:1"]}),
    )
    .await;
    assert_eq!(failed["state"], "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(
        !error.contains("not-it") && !error.contains("rediss://"),
        "{error}"
    );
}

mod memcached {
    //! Memcached pools: exact keys on every server, a best-effort pattern purge through
    //! metadump, flush_all only with confirmation.

    use async_memcached::AsciiProtocol;
    use serde_json::json;

    use super::{expect_error, purge, run};
    use crate::harness::TestApp;
    use crate::harness::memcached::Memcached;

    async fn client(server: &Memcached) -> async_memcached::Client {
        async_memcached::Client::new(format!("tcp://{}", server.address()))
            .await
            .unwrap()
    }

    async fn present(c: &mut async_memcached::Client, key: &str) -> bool {
        c.get(key).await.unwrap().is_some()
    }

    #[tokio::test]
    async fn keys_go_from_every_server_patterns_by_metadump_and_flush_needs_confirmation() {
        let (one, two) = (Memcached::start(), Memcached::start());
        let (mut a, mut b) = (client(&one).await, client(&two).await);
        // A client sharded these keys with its own hashing: some on each server.
        for i in 0..20 {
            let c = if i % 2 == 0 { &mut a } else { &mut b };
            c.set(format!("frag:{i}"), "v", None, None).await.unwrap();
            c.set(format!("other:{i}"), "v", None, None).await.unwrap();
        }
        let toml = format!(
            "[[targets]]\nname = \"frag\"\nkind = \"memcached\"\naddress = \"{}\"\naddresses = [\"{}\", \"{}\"]\npurge_prefixes = [\"frag:\"]\n",
            one.address(),
            one.address(),
            two.address()
        );
        let app = TestApp::sqlite(&toml).await;
        let ops = app.token("ops", &["purge"], &[]).await;

        let done = run(
            &app,
            &ops,
            json!({"target": "frag", "keys": ["frag:0", "frag:1", "missing"]}),
        )
        .await;
        assert_eq!(done["state"], "completed", "{done}");
        assert_eq!(done["kind"], "memcached_purge");
        assert_eq!(
            done["result"]["deleted"], 2,
            "each key from the server that had it"
        );
        assert!(!present(&mut a, "frag:0").await && !present(&mut b, "frag:1").await);

        let dry = run(
            &app,
            &ops,
            json!({"target": "frag", "patterns": ["frag:*"], "dry_run": true}),
        )
        .await;
        assert_eq!(dry["result"]["matched"], 18, "{dry}");
        assert_eq!(dry["result"]["best_effort"], true);
        assert!(present(&mut a, "frag:2").await, "a dry run deletes nothing");
        let swept = run(
            &app,
            &ops,
            json!({"target": "frag", "patterns": ["frag:*"]}),
        )
        .await;
        assert_eq!(swept["result"]["deleted"], 18, "{swept}");
        assert!(
            swept["result"]["note"]
                .as_str()
                .unwrap()
                .contains("best effort")
        );
        for i in 2..20 {
            let c = if i % 2 == 0 { &mut a } else { &mut b };
            assert!(!present(c, &format!("frag:{i}")).await, "frag:{i}");
            assert!(present(c, &format!("other:{i}")).await, "other:{i} stays");
        }

        for (what, body, status, code, field, message) in [
            (
                "flush without confirm",
                json!({"target": "frag", "flush_all": true}),
                422,
                "confirmation_required",
                Some("confirm"),
                "empties every server",
            ),
            (
                "tags",
                json!({"target": "frag", "tags": ["x"]}),
                400,
                "invalid_request",
                Some("tags"),
                "no tags",
            ),
            (
                "outside the prefixes",
                json!({"target": "frag", "patterns": ["other:*"]}),
                422,
                "confirmation_required",
                Some("confirm"),
                "purge_prefixes",
            ),
        ] {
            expect_error(
                what,
                purge(&app, &ops, body).await,
                status,
                code,
                field,
                message,
            )
            .await;
        }
        assert!(
            present(&mut a, "other:0").await,
            "nothing refused touched a key"
        );
        let flushed = run(
            &app,
            &ops,
            json!({"target": "frag", "flush_all": true, "confirm": "frag"}),
        )
        .await;
        assert_eq!(flushed["result"]["flushed"], true, "{flushed}");
        assert!(!present(&mut a, "other:0").await && !present(&mut b, "other:1").await);
        // The purge routes show both kinds.
        let listed = app.get_json("/api/v1/purges?limit=10", Some(&ops)).await;
        assert_eq!(listed["jobs"].as_array().unwrap().len(), 4, "{listed}");
    }
}

#[tokio::test]
async fn a_daemon_killed_mid_purge_is_replaced_and_the_purge_finishes_touching_nothing_else() {
    use crate::harness::replica::{Replica, admin_token};
    let redis = RedisServer::start();
    let mut c = redis.connection().await;
    fill(&mut c, "product:", 16000).await;
    fill(&mut c, "session:", 100).await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cachewarden.db").display());
    let toml = format!("[database]\nurl = \"{db}\"\n{}", config(&redis.url(), ""));
    let path = dir.path().join("cachewarden.toml");
    std::fs::write(&path, &toml).unwrap();
    let token = admin_token(&toml, &db).await;
    let http = reqwest::Client::new();

    let mut first = Replica::start("first", &path, dir.path(), &[]);
    let job: Value = http
        .post(first.url("/api/v1/purges"))
        .bearer_auth(&token)
        .json(&json!({"target": "sessions", "patterns": ["product:*"], "rate_limit": 4000, "confirm": "sessions"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["id"].as_i64().expect("a job");
    wait_until("a quarter is deleted", Duration::from_secs(10), || async {
        first
            .get_json(&http, &format!("/api/v1/purges/{id}"), &token)
            .await["progress"]["deleted"]
            .as_u64()
            .unwrap_or(0)
            >= 4000
    })
    .await;
    first.kill();
    let left = count(&mut c, "product:*").await;
    assert!(left > 0 && left < 16000, "killed mid-way: {left} left");

    // The next daemon takes the job over once the dead one's lease runs out (10 s).
    let second = Replica::start("second", &path, dir.path(), &[]);
    let done = second
        .get_json(&http, &format!("/api/v1/purges/{id}?wait=60s"), &token)
        .await;
    assert_eq!(done["state"], "completed", "{done}\n{}", second.log());
    assert_eq!(count(&mut c, "product:*").await, 0);
    assert_eq!(
        count(&mut c, "session:*").await,
        100,
        "nothing else touched"
    );
    let deleted = done["result"]["deleted"].as_u64().unwrap();
    assert!(
        (16000 - 4000..=16000).contains(&deleted),
        "the keys deleted after the last stored progress are counted by whoever deleted them: {deleted}"
    );
}
