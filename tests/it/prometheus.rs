//! `/metrics` as Prometheus users expect it (issue 13): a daemon polling every source kind
//! (redis-server, memcached, and the four CloudWatch kinds in moto) passes `promtool check
//! metrics`; counts are cumulative `_total` counters that count each interval once (CloudWatch
//! re-reads its lookback window at every poll); units are base units. The example recording
//! rules and scrape configuration pass promtool, and the Grafana dashboard asks only for series
//! that exist.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use async_memcached::AsciiProtocol;

use crate::harness::TestApp;
use crate::harness::memcached::Memcached;
use crate::harness::moto::{CLOUDWATCH_TARGETS, Moto, put_metric as put};
use crate::harness::process::repo_root;
use crate::harness::redis::{RedisServer, traffic};

/// `promtool ARGS` with `stdin`; its exit status and everything it printed.
fn promtool(args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(args)
        .current_dir(repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; tests/setup.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

/// The value of `metric{node="",target="…"}` in Prometheus text.
fn value(text: &str, metric: &str, target: &str) -> f64 {
    let prefix = format!("{metric}{{node=\"\",target=\"{target}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn every_source_kind_passes_promtool_and_counts_each_interval_once() {
    let moto = Moto::start();
    let eu = moto.sdk_config("eu-west-1").await;
    let us = cachewarden::aws::cloudwatch(&eu, Some("us-east-1"));
    let cw = cachewarden::aws::cloudwatch(&eu, None);
    let now = chrono::Utc::now().timestamp();
    let minute = now - now % 60 - 180;
    let cache = [("CacheClusterId", "catalog-0001-001")];
    put(&cw, "AWS/ElastiCache", "CacheHitRate", &cache, minute, 80.0).await;
    put(&cw, "AWS/ElastiCache", "CacheHits", &cache, minute, 800.0).await;
    put(&cw, "AWS/ElastiCache", "CacheMisses", &cache, minute, 200.0).await;
    put(&cw, "AWS/ElastiCache", "Evictions", &cache, minute, 7.0).await;
    let cf = [("DistributionId", "E2QWRUHEXAMPLE"), ("Region", "Global")];
    put(&us, "AWS/CloudFront", "CacheHitRate", &cf, minute, 90.0).await;
    put(&us, "AWS/CloudFront", "Requests", &cf, minute, 1000.0).await;
    put(&us, "AWS/CloudFront", "OriginLatency", &cf, minute, 120.0).await;
    let api = [("ApiName", "storefront"), ("Stage", "prod")];
    put(&cw, "AWS/ApiGateway", "CacheHitCount", &api, minute, 30.0).await;
    put(&cw, "AWS/ApiGateway", "CacheMissCount", &api, minute, 10.0).await;
    put(&cw, "AWS/ApiGateway", "Count", &api, minute, 40.0).await;
    put(&cw, "AWS/ApiGateway", "Latency", &api, minute, 35.0).await;
    let dax = [("ClusterId", "orders")];
    put(&cw, "AWS/DAX", "ItemCacheHits", &dax, minute, 9.0).await;
    put(&cw, "AWS/DAX", "QueryCacheMisses", &dax, minute, 4.0).await;

    let redis = RedisServer::start();
    let memcached = Memcached::start();
    let config = format!(
        "{CLOUDWATCH_TARGETS}\n[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\n\
         [[targets]]\nname = \"fragments\"\nkind = \"memcached\"\naddress = \"{}\"\n",
        redis.url(),
        memcached.address()
    );
    let app = TestApp::with_aws(&config, eu).await;
    app.collector().poll_all_once().await; // the direct sources' first reading
    traffic(&mut redis.connection().await, 3, 1).await;
    let mut mc = async_memcached::Client::new(format!("tcp://{}", memcached.address()))
        .await
        .unwrap();
    mc.set("present", "v", None, None).await.unwrap();
    for key in ["present", "present", "absent-1", "absent-2"] {
        let _ = mc.get(key).await.unwrap();
    }
    // The second poll re-reads the same CloudWatch minute: it must not be counted again.
    app.collector().poll_all_once().await;

    // One request first, so the HTTP histogram has a series to show.
    assert_eq!(app.get("/healthz", None).await.status(), 200);
    let text = app.get("/metrics", None).await.text().await.unwrap();
    let (clean, said) = promtool(&["check", "metrics"], &text);
    assert!(
        clean && said.trim().is_empty(),
        "promtool: {said}\n---\n{text}"
    );

    // Counters: each interval once, whatever the source.
    assert_eq!(
        value(&text, "cachewarden_target_hits_total", "catalog-1"),
        800.0
    );
    assert_eq!(
        value(&text, "cachewarden_target_misses_total", "catalog-1"),
        200.0
    );
    assert_eq!(
        value(&text, "cachewarden_target_evictions_total", "catalog-1"),
        7.0
    );
    assert_eq!(
        value(&text, "cachewarden_target_requests_total", "web"),
        1000.0
    );
    assert_eq!(
        value(&text, "cachewarden_target_requests_total", "shop-api"),
        40.0
    );
    assert_eq!(
        value(&text, "cachewarden_target_item_hits_total", "orders-dax"),
        9.0
    );
    assert_eq!(
        value(&text, "cachewarden_target_hits_total", "sessions"),
        3.0
    );
    assert_eq!(
        value(&text, "cachewarden_target_misses_total", "sessions"),
        1.0
    );
    assert_eq!(
        value(&text, "cachewarden_target_hits_total", "fragments"),
        2.0
    );
    assert_eq!(
        value(&text, "cachewarden_target_misses_total", "fragments"),
        2.0
    );
    // Gauges in base units.
    assert_eq!(
        value(&text, "cachewarden_target_hit_ratio", "sessions"),
        0.75
    );
    assert_eq!(
        value(&text, "cachewarden_target_hit_ratio", "catalog-1"),
        0.8
    );
    assert_eq!(
        value(&text, "cachewarden_target_origin_latency_seconds", "web"),
        0.12
    );
    assert_eq!(
        value(&text, "cachewarden_target_latency_seconds", "shop-api"),
        0.035
    );
    assert!(value(&text, "cachewarden_target_used_memory_bytes", "sessions") > 0.0);
    assert!(value(&text, "cachewarden_target_memory_limit_bytes", "fragments") > 0.0);
    for target in [
        "catalog-1",
        "web",
        "shop-api",
        "orders-dax",
        "sessions",
        "fragments",
    ] {
        assert_eq!(
            value(&text, "cachewarden_target_up", target),
            1.0,
            "{target}"
        );
    }

    // The example Prometheus files pass promtool.
    let (ok, said) = promtool(&["check", "rules", "deploy/prometheus/rules.yml"], "");
    assert!(ok, "{said}");
    let (ok, said) = promtool(&["check", "config", "deploy/prometheus/prometheus.yml"], "");
    assert!(ok, "{said}");

    // The Grafana dashboard asks only for series /metrics has or the rules record.
    let rules = std::fs::read_to_string(repo_root().join("deploy/prometheus/rules.yml")).unwrap();
    let recorded: BTreeSet<String> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record: "))
        .map(str::to_owned)
        .collect();
    let exported: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_owned)
        .collect();
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("deploy/grafana/cachewarden.json")).unwrap(),
    )
    .unwrap();
    let mut asked = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
                if word.contains("cachewarden_") {
                    asked.insert(word.to_owned());
                }
            }
        }
    }
    // So do the example alerts.
    for expr in rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr: "))
        .filter(|e| e.starts_with("cachewarden_"))
    {
        asked.insert(expr.split(' ').next().unwrap().to_owned());
    }
    assert!(asked.contains("cachewarden_config_last_reload_successful"));
    assert!(!asked.is_empty());
    for name in &asked {
        let family = name.strip_suffix("_bucket").unwrap_or(name);
        assert!(
            recorded.contains(name) || exported.contains(family),
            "the dashboard asks for {name}, which neither /metrics nor the rules have"
        );
    }
}
