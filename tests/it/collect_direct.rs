//! Polling real redis-server (standalone and cluster) and memcached: exact hit rates from
//! counter deltas, restarts, idle intervals, and a down target beside a working one.

use async_memcached::AsciiProtocol;
use redis::AsyncCommands;
use serde_json::Value;

use crate::harness::TestApp;
use crate::harness::memcached::Memcached;
use crate::harness::process::free_port;
use crate::harness::redis::{RedisCluster, RedisServer, TlsRedis, traffic};

fn redis_target(name: &str, url: &str) -> String {
    format!("[[targets]]\nname = \"{name}\"\nkind = \"redis\"\nurl = \"{url}\"\n")
}

fn memcached_target(name: &str, address: &str) -> String {
    format!("[[targets]]\nname = \"{name}\"\nkind = \"memcached\"\naddress = \"{address}\"\n")
}

async fn redis_traffic(url: &str, hits: usize, misses: usize) {
    let mut c = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    traffic(&mut c, hits, misses).await;
}

async fn memcached_traffic(address: &str, hits: usize, misses: usize) {
    let mut c = async_memcached::Client::new(format!("tcp://{address}"))
        .await
        .unwrap();
    c.set("present", "v", None, None).await.unwrap();
    for _ in 0..hits {
        assert!(c.get("present").await.unwrap().is_some());
    }
    for i in 0..misses {
        assert!(c.get(format!("absent{i}")).await.unwrap().is_none());
    }
}

/// Every point of a series of a target, read through the API.
async fn series(app: &TestApp, admin: &str, target: &str, metric: &str) -> Vec<f64> {
    let res = app
        .get(
            &format!("/api/v1/targets/{target}/series?metric={metric}&resolution=raw"),
            Some(admin),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect()
}

async fn poll(app: &TestApp, target: &str) {
    let report = app
        .collector()
        .poll_target_once(target)
        .await
        .expect("a configured target");
    assert_eq!(report.error, None, "poll of {target} failed");
}

#[tokio::test]
async fn redis_hits_and_misses_give_exactly_that_hit_rate() {
    let redis = RedisServer::start();
    let app = TestApp::sqlite(&redis_target("sessions", &redis.url())).await;
    let admin = app.token("root", &["admin"], &[]).await;
    poll(&app, "sessions").await;
    assert!(
        series(&app, &admin, "sessions", "hit_rate")
            .await
            .is_empty(),
        "the first poll has no interval"
    );
    redis_traffic(&redis.url(), 30, 10).await;
    poll(&app, "sessions").await;
    assert_eq!(series(&app, &admin, "sessions", "hit_rate").await, [0.75]);
    assert_eq!(series(&app, &admin, "sessions", "hits").await, [30.0]);
    assert_eq!(series(&app, &admin, "sessions", "misses").await, [10.0]);
    // Commands run in the interval: the 40 reads and the little around them (a write, the
    // connection's handshake, the poll's own INFO).
    let commands = series(&app, &admin, "sessions", "commands").await;
    assert!(
        commands.len() == 1 && (40.0..=60.0).contains(&commands[0]),
        "{commands:?}"
    );
    assert_eq!(
        series(&app, &admin, "sessions", "keys").await.last(),
        Some(&1.0)
    );
    assert!(
        series(&app, &admin, "sessions", "used_memory")
            .await
            .last()
            .unwrap()
            > &100_000.0
    );

    let targets: Value = app
        .get("/api/v1/targets", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let t = &targets["targets"][0];
    assert_eq!(t["up"], true);
    assert_eq!(t["hit_rate"], 0.75);
    assert_eq!(
        t["current"]["connected_clients"].as_f64().map(|c| c >= 1.0),
        Some(true)
    );
}

#[tokio::test]
async fn a_redis_restart_between_polls_gives_no_negative_or_absurd_value() {
    let mut redis = RedisServer::start();
    let app = TestApp::sqlite(&redis_target("sessions", &redis.url())).await;
    let admin = app.token("root", &["admin"], &[]).await;
    poll(&app, "sessions").await;
    redis_traffic(&redis.url(), 200, 0).await;
    poll(&app, "sessions").await;
    redis.restart();
    redis_traffic(&redis.url(), 5, 5).await;
    poll(&app, "sessions").await;
    assert_eq!(series(&app, &admin, "sessions", "hits").await, [200.0, 5.0]);
    assert_eq!(
        series(&app, &admin, "sessions", "hit_rate").await,
        [1.0, 0.5]
    );
}

#[tokio::test]
async fn an_idle_interval_gives_no_hit_rate_datapoint() {
    let redis = RedisServer::start();
    let app = TestApp::sqlite(&redis_target("sessions", &redis.url())).await;
    let admin = app.token("root", &["admin"], &[]).await;
    poll(&app, "sessions").await;
    redis_traffic(&redis.url(), 1, 1).await;
    poll(&app, "sessions").await;
    poll(&app, "sessions").await;
    assert_eq!(
        series(&app, &admin, "sessions", "hit_rate").await,
        [0.5],
        "no traffic: no datapoint, not 0 and not 1"
    );
    assert_eq!(
        series(&app, &admin, "sessions", "hits").await,
        [1.0, 0.0],
        "the first poll has no interval"
    );

    // The current values say which interval each belongs to: the 0.5 is from before the idle
    // interval, older than `hits 0` beside it (issue 14, item 13).
    let target = app.get_json("/api/v1/targets/sessions", Some(&admin)).await;
    assert_eq!(target["hit_rate"], 0.5);
    assert_eq!(target["hit_rate_behind"], true, "{target}");
    let (rate_at, hits_at) = (
        target["current_at"]["hit_rate"].as_i64().unwrap(),
        target["current_at"]["hits"].as_i64().unwrap(),
    );
    assert_eq!(target["hit_rate_at"].as_i64(), Some(rate_at));
    assert!(rate_at < hits_at, "{target}");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    let stamp = |series: &str| -> f64 {
        let label = format!(
            "cachewarden_target_sample_timestamp_seconds{{node=\"\",series=\"{series}\",target=\"sessions\"}} "
        );
        let line = metrics
            .lines()
            .find(|l| l.starts_with(&label))
            .unwrap_or_else(|| panic!("no {label} in {metrics}"));
        line[label.len()..].parse().unwrap()
    };
    assert_eq!(stamp("hit_rate"), rate_at as f64 / 1000.0);
    assert_eq!(stamp("hits"), hits_at as f64 / 1000.0);

    // Traffic again: the ratio is current once more.
    redis_traffic(&redis.url(), 3, 1).await;
    poll(&app, "sessions").await;
    let target = app.get_json("/api/v1/targets/sessions", Some(&admin)).await;
    assert_eq!(target["hit_rate"], 0.75);
    assert_eq!(target["hit_rate_behind"], false, "{target}");
}

#[tokio::test]
async fn a_closed_port_is_down_with_an_error_while_another_target_keeps_polling() {
    let redis = RedisServer::start();
    let closed = format!("redis://127.0.0.1:{}", free_port());
    let config = format!(
        "{}{}",
        redis_target("good", &redis.url()),
        redis_target("broken", &closed)
    );
    let app = TestApp::sqlite(&config).await;
    let admin = app.token("root", &["admin"], &[]).await;
    for _ in 0..2 {
        let reports = app.collector().poll_all_once().await;
        let broken = reports.iter().find(|r| r.unit == "broken").unwrap();
        assert!(
            broken
                .error
                .as_deref()
                .unwrap()
                .contains("cannot connect to broken"),
            "{broken:?}"
        );
        assert_eq!(
            reports.iter().find(|r| r.unit == "good").unwrap().error,
            None
        );
    }
    assert_eq!(series(&app, &admin, "broken", "up").await, [0.0, 0.0]);
    assert_eq!(series(&app, &admin, "good", "up").await, [1.0, 1.0]);
    let broken: Value = app
        .get("/api/v1/targets/broken", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(broken["up"], false);
    assert!(
        broken["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot connect")
    );
    assert_eq!(broken["last_success_at"], Value::Null);
    // The error never echoes the URL (it may carry a password).
    assert!(!broken["last_error"].as_str().unwrap().contains("redis://"));
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains(r#"cachewarden_target_up{node="",target="broken"} 0"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"cachewarden_target_up{node="",target="good"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn memcached_hits_misses_restart_idle_and_down() {
    let mut mc = Memcached::start();
    let closed = format!("127.0.0.1:{}", free_port());
    let config = format!(
        "{}{}",
        memcached_target("frags", &mc.address()),
        memcached_target("gone", &closed)
    );
    let app = TestApp::sqlite(&config).await;
    let admin = app.token("root", &["admin"], &[]).await;
    poll(&app, "frags").await;
    memcached_traffic(&mc.address(), 6, 2).await;
    poll(&app, "frags").await;
    poll(&app, "frags").await; // idle
    mc.restart();
    memcached_traffic(&mc.address(), 1, 3).await;
    poll(&app, "frags").await;
    assert_eq!(
        series(&app, &admin, "frags", "hit_rate").await,
        [0.75, 0.25]
    );
    assert_eq!(series(&app, &admin, "frags", "hits").await, [6.0, 0.0, 1.0]);
    assert_eq!(
        series(&app, &admin, "frags", "curr_items").await.last(),
        Some(&1.0)
    );
    let gone = app.collector().poll_target_once("gone").await.unwrap();
    assert!(gone.error.unwrap().contains("cannot connect"));
    assert_eq!(series(&app, &admin, "gone", "up").await, [0.0]);
}

#[tokio::test]
async fn a_three_node_cluster_is_polled_per_node_and_in_aggregate() {
    let cluster = RedisCluster::start(3);
    let seed = format!("redis://127.0.0.1:{}", cluster.nodes[0].port);
    let app = TestApp::sqlite(&format!(
        "{}cluster = true\n",
        redis_target("sessions", &seed)
    ))
    .await;
    let admin = app.token("root", &["admin"], &[]).await;
    poll(&app, "sessions").await;
    // Each node gets 4 hits and 1 miss, on its own connection.
    for node in &cluster.nodes {
        let url = format!("redis://127.0.0.1:{}", node.port);
        let mut c = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let key = owned_key(&mut c).await;
        let _: () = c.set(&key, "v").await.unwrap();
        for _ in 0..4 {
            let _: Option<String> = c.get(&key).await.unwrap();
        }
        // The hash tag puts the missing key in the same slot, so this node answers the miss.
        let missing: Option<String> = c.get(format!("{{{key}}}:missing")).await.unwrap();
        assert_eq!(missing, None);
    }
    poll(&app, "sessions").await;
    let mut per_node = Vec::new();
    for node in &cluster.nodes {
        let res: Value = app
            .get(
                &format!(
                    "/api/v1/targets/sessions/series?metric=hits&resolution=raw&node=127.0.0.1:{}",
                    node.port
                ),
                Some(&admin),
            )
            .await
            .json()
            .await
            .unwrap();
        per_node.push(
            res["points"].as_array().unwrap().last().unwrap()["value"]
                .as_f64()
                .unwrap(),
        );
    }
    assert_eq!(per_node, [4.0, 4.0, 4.0]);
    assert_eq!(series(&app, &admin, "sessions", "hits").await, [12.0]);
    assert_eq!(series(&app, &admin, "sessions", "misses").await, [3.0]);
    assert_eq!(series(&app, &admin, "sessions", "hit_rate").await, [0.8]);
    assert_eq!(series(&app, &admin, "sessions", "nodes").await, [3.0, 3.0]);
}

/// A key whose slot this node serves.
async fn owned_key(c: &mut redis::aio::MultiplexedConnection) -> String {
    let slots: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(c)
        .await
        .unwrap();
    let myself: String = redis::cmd("CLUSTER")
        .arg("MYID")
        .query_async(c)
        .await
        .unwrap();
    let (lo, hi) = slots
        .iter()
        .find_map(|range| {
            let lo = match &range[0] {
                redis::Value::Int(n) => *n,
                _ => return None,
            };
            let hi = match &range[1] {
                redis::Value::Int(n) => *n,
                _ => return None,
            };
            let redis::Value::Array(owner) = &range[2] else {
                return None;
            };
            let id = match owner.get(2) {
                Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                _ => return None,
            };
            (id == myself).then_some((lo, hi))
        })
        .expect("this node owns a slot range");
    for i in 0.. {
        let key = format!("k{i}");
        let slot: i64 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(&key)
            .query_async(c)
            .await
            .unwrap();
        if (lo..=hi).contains(&slot) {
            return key;
        }
    }
    unreachable!()
}

#[tokio::test]
async fn redis_over_tls_with_a_private_ca_and_a_password() {
    let tls = TlsRedis::start("s3cret-pw");
    let ca = tls.ca_file();
    let port = tls.port;
    let config = format!(
        "[[targets]]\nname = \"secure\"\nkind = \"redis\"\nurl = \"rediss://:s3cret-pw@127.0.0.1:{port}\"\ntls_ca_file = \"{ca}\"\n\
         [[targets]]\nname = \"wrong-password\"\nkind = \"redis\"\nurl = \"rediss://:not-it@127.0.0.1:{port}\"\ntls_ca_file = \"{ca}\"\n\
         [[targets]]\nname = \"untrusted\"\nkind = \"redis\"\nurl = \"rediss://:s3cret-pw@127.0.0.1:{port}\"\n",
        ca = ca.display()
    );
    let app = TestApp::sqlite(&config).await;
    let secure = app.collector().poll_target_once("secure").await.unwrap();
    assert_eq!(
        secure.error, None,
        "TLS with the private CA and the right password"
    );
    assert_eq!(
        secure.samples, 5,
        "memory, maxmemory, clients, keys and up from the first reading"
    );
    let wrong = app
        .collector()
        .poll_target_once("wrong-password")
        .await
        .unwrap();
    let wrong = wrong.error.expect("a wrong password fails");
    assert!(
        !wrong.contains("not-it") && !wrong.contains("s3cret"),
        "the password is never echoed: {wrong}"
    );
    // Without the CA, the server's certificate is not trusted: TLS verifies, it does not just encrypt.
    let untrusted = app.collector().poll_target_once("untrusted").await.unwrap();
    assert!(untrusted.error.is_some());
    let statuses = app.store.list_target_status().await.unwrap();
    for s in &statuses {
        assert!(
            !s.last_error.clone().unwrap_or_default().contains("s3cret"),
            "{s:?}"
        );
    }
}
