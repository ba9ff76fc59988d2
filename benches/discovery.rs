//! Discovery benchmark (issue 22). Prints figures; asserts nothing about time.
//!
//!   cargo bench --bench discovery
//!
//! moto holds 5,000 caches across 2 accounts (two roles) and 2 regions: in each, 1,000 Redis
//! replication groups and 250 DAX clusters, all tagged (moto gives a replication group one
//! member node, whatever it is asked for: 1,000 nodes). A daemon on SQLite with one
//! `[[discover]]` over all of it (every 5 minutes, targets polled every 60 s). Reported:
//! - discovery time, first run (5,000 added) and a run that finds nothing new, against the
//!   discovery's 5-minute interval;
//! - one poll cycle of the 5,000 targets against their 60 s interval, and the GetMetricData
//!   calls and metrics it took (at most 500 queries a call, per account and region);
//! - the daemon's resident memory before and after (this process: daemon and bench);
//! - the overview at 5,000 targets with a day of hit rates each: the median of 30 requests by
//!   a signed-in person, against `/healthz` in the same process (the goal is 100 ms).

#[path = "../tests/it/harness/mod.rs"]
#[allow(unused_imports)]
mod harness;

use std::sync::atomic::Ordering;
use std::time::Instant;

use cachewarden::domain::Role;
use cachewarden::store::{Sample, now_ms};
use harness::TestApp;
use harness::fleet::{self, assumed, in_region};
use harness::moto::Moto;
use harness::people::Web;

const ROLES: [&str; 2] = [
    "arn:aws:iam::111111111111:role/cachewarden",
    "arn:aws:iam::222222222222:role/cachewarden",
];
const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];
const GROUPS: usize = 1000;
const NODES: i32 = 1;
const DAX: usize = 250;
const RUNS: usize = 30;
const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

/// Resident memory of this process, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Median milliseconds of `RUNS` GETs of `path`.
async fn time(web: &Web, cookie: &str, path: &str) -> f64 {
    let mut ms = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let a = web.page(Some(cookie), path).await;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(a.status, 200, "{path}");
    }
    ms.sort_by(f64::total_cmp);
    ms[RUNS / 2]
}

/// A day of the hit ratio each target's kind shows first, every 5 minutes, rolled up.
async fn fill(app: &TestApp) {
    let now = now_ms();
    let targets: Vec<(String, &'static str)> = app
        .live
        .settings()
        .targets
        .iter()
        .map(|t| {
            let series = t
                .kind
                .series_with(cachewarden::targets::Role::HitRatio)
                .map_or("hit_rate", |s| s.name);
            (t.name.to_string(), series)
        })
        .collect();
    let mut batch = Vec::new();
    for (name, series) in &targets {
        for step in 0..(DAY / (5 * MINUTE)) {
            let ts = now - DAY + step * 5 * MINUTE;
            let hits = 80.0 + (step % 20) as f64;
            batch.push(Sample::ratio(name, "", series, ts, hits, 100.0));
        }
        if batch.len() > 50_000 {
            app.store.upsert_samples(&batch).await.unwrap();
            batch.clear();
        }
    }
    app.store.upsert_samples(&batch).await.unwrap();
    app.store.rollup(now - DAY - 5 * MINUTE, now).await.unwrap();
    app.store.compact_once(now).await.unwrap();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let started = Instant::now();
    let mut scopes = Vec::new();
    for role in ROLES {
        let account = assumed(&sdk, role).await;
        for region in REGIONS {
            let there = in_region(&account, region);
            scopes.push(tokio::spawn(async move {
                for g in 0..GROUPS {
                    let team = if g % 2 == 0 { "catalog" } else { "search" };
                    fleet::replication_group(
                        &there,
                        &format!("cache-{g:04}"),
                        NODES,
                        &[("env", "prod"), ("team", team)],
                    )
                    .await;
                }
                for d in 0..DAX {
                    fleet::dax_cluster(&there, &format!("dax-{d:04}"), &[("env", "prod")]).await;
                }
            }));
        }
    }
    for s in scopes {
        s.await.unwrap();
    }
    let total = ROLES.len() * REGIONS.len() * (GROUPS * NODES as usize + DAX);
    println!(
        "discovery benchmark: {total} caches in moto across {} accounts and {} regions (made in {:.0} s)",
        ROLES.len(),
        REGIONS.len(),
        started.elapsed().as_secs_f64()
    );

    let config = format!(
        "[aws]\nregion = \"eu-west-1\"\n\
         [[discover]]\nname = \"fleet\"\nkinds = [\"elasticache\", \"dax\"]\n\
         regions = [\"eu-west-1\", \"us-east-1\"]\n\
         accounts = [{{ role_arn = \"{}\" }}, {{ role_arn = \"{}\" }}]\n\
         tags = {{ env = \"prod\" }}\nevery = \"5m\"\n[discover.targets]\nevery = \"60s\"\n",
        ROLES[0], ROLES[1]
    );
    let rss_before = rss_mib();
    let app = TestApp::with_aws(&config, sdk).await;
    let t = Instant::now();
    let first = app.discover_once("fleet").await;
    let first_s = t.elapsed().as_secs_f64();
    assert_eq!(first.targets, total, "{:?}", first.diff.errors);
    let t = Instant::now();
    let again = app.discover_once("fleet").await;
    let again_s = t.elapsed().as_secs_f64();
    assert!(again.diff.added.is_empty() && again.diff.removed.is_empty());
    println!(
        "discovery: first run {first_s:.2} s ({} targets added), next run {again_s:.2} s; \
         {:.3} and {:.3} of its 5-minute interval",
        first.diff.added.len(),
        first_s / 300.0,
        again_s / 300.0
    );

    // The baseline: what the emulator takes for one call of 500 queries, asked directly.
    let per_call = moto_call_seconds(&moto).await;
    let collector = app.collector();
    let calls = &collector.cloudwatch_calls;
    let (c0, m0) = (
        calls.calls.load(Ordering::Relaxed),
        calls.metrics_requested.load(Ordering::Relaxed),
    );
    let t = Instant::now();
    let reports = collector.poll_all_once().await;
    let cycle = t.elapsed().as_secs_f64();
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    let (c1, m1) = (
        calls.calls.load(Ordering::Relaxed),
        calls.metrics_requested.load(Ordering::Relaxed),
    );
    println!(
        "poll cycle of {total} targets: {cycle:.2} s, {:.3} of their 60 s interval; \
         {} GetMetricData calls for {} metrics ({} units, {failed} failed)",
        cycle / 60.0,
        c1 - c0,
        m1 - m0,
        reports.len()
    );
    println!(
        "baseline: moto answers one 500-query GetMetricData in {per_call:.2} s; the cycle is {:.2}x \
         its calls made one after another ({:.1} s)",
        cycle / (per_call * (c1 - c0) as f64),
        per_call * (c1 - c0) as f64
    );
    println!(
        "resident memory: {rss_before:.0} MiB before the daemon, {:.0} MiB with {total} targets discovered and polled",
        rss_mib()
    );

    fill(&app).await;
    app.person("bench", Role::Admin, &[]).await;
    let web = app.web();
    let s = web.sign_in("bench").await;
    let base = time(&web, &s.cookie, "/healthz").await;
    let ms = time(&web, &s.cookie, "/").await;
    println!(
        "overview, {total} targets (first page of 100): {ms:.1} ms ({:.1}x /healthz at {base:.2} ms; goal 100 ms)",
        ms / base
    );
    let ms = time(&web, &s.cookie, "/?by=account&tag=team%3Dcatalog").await;
    println!("overview, {total} targets, by account, filtered by a tag: {ms:.1} ms");
    app.stop().await;
}

/// Median seconds of three GetMetricData calls of 500 queries made straight to moto.
async fn moto_call_seconds(moto: &Moto) -> f64 {
    use aws_sdk_cloudwatch::primitives::DateTime;
    use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
    let sdk = moto.sdk_config("eu-west-1").await;
    let cw = cachewarden::aws::cloudwatch(&sdk, Some("eu-west-1"));
    let queries: Vec<MetricDataQuery> = (0..500)
        .map(|i| {
            let metric = Metric::builder()
                .namespace("AWS/ElastiCache")
                .metric_name("CacheHits")
                .dimensions(
                    Dimension::builder()
                        .name("CacheClusterId")
                        .value(format!("cache-{i:04}-001"))
                        .build(),
                )
                .build();
            MetricDataQuery::builder()
                .id(format!("q{i}"))
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(60)
                        .stat("Sum")
                        .build(),
                )
                .build()
        })
        .collect();
    let end = now_ms() / 60_000 * 60_000;
    let mut secs = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        cw.get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time(DateTime::from_millis(end - 15 * MINUTE))
            .end_time(DateTime::from_millis(end))
            .send()
            .await
            .expect("GetMetricData against moto");
        secs.push(t.elapsed().as_secs_f64());
    }
    secs.sort_by(f64::total_cmp);
    secs[1]
}
