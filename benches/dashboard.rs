//! Dashboard benchmark (issue 12). Prints figures; asserts nothing about time.
//!
//!   cargo bench --bench dashboard
//!
//! A daemon on SQLite with 10, 100 and 1,000 Redis targets, each with a day of hit rate (5-minute
//! rollups, as the overview reads them) and its newest values. Reported, as the median of 30
//! requests over loopback by a signed-in person:
//! - the overview (`/`, the first page of 100 rows) at each size, and filtered by name at 1,000;
//! - one target's page over 30 days (four charts from hourly rollups, with marks);
//! - the baseline: `/healthz` in the same process, so the ratio says what the page costs
//!   beyond an HTTP round trip;
//! - the weight of each page: its HTML, and the stylesheet and script every page loads.

#[path = "../tests/it/harness/mod.rs"]
#[allow(unused_imports)]
mod harness;

use std::time::Instant;

use cachewarden::domain::Role;
use cachewarden::store::{Sample, now_ms};
use harness::TestApp;
use harness::people::Web;

const RUNS: usize = 30;
const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

fn config(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!("[[targets]]\nname = \"cache-{i:04}\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1\"\n")
        })
        .collect()
}

/// A day of hit rate every 5 minutes and the newest memory and evictions, for `targets`.
async fn fill(app: &TestApp, targets: usize) {
    let now = now_ms();
    let mut batch = Vec::new();
    for i in 0..targets {
        let name = format!("cache-{i:04}");
        for step in 0..(DAY / (5 * MINUTE)) {
            let ts = now - DAY + step * 5 * MINUTE;
            let hits = 80.0 + (step % 20) as f64;
            batch.push(Sample::ratio(&name, "", "hit_rate", ts, hits, 100.0));
        }
        batch.push(Sample::new(&name, "", "used_memory", now - MINUTE, 4.0e8));
        batch.push(Sample::new(&name, "", "maxmemory", now - MINUTE, 1.0e9));
        batch.push(Sample::new(&name, "", "evicted_keys", now - MINUTE, 3.0));
        if batch.len() > 20_000 {
            app.store.upsert_samples(&batch).await.unwrap();
            batch.clear();
        }
    }
    app.store.upsert_samples(&batch).await.unwrap();
    app.store.rollup(now - DAY - 5 * MINUTE, now).await.unwrap();
    // As maintenance leaves them: closed windows in chunks, the last hours in the heads.
    app.store.compact_once(now).await.unwrap();
}

/// Thirty days of every charted series for one target, every 5 minutes, rolled up.
async fn fill_month(app: &TestApp, name: &str) {
    let now = now_ms();
    let mut batch = Vec::new();
    for step in 0..(30 * DAY / (5 * MINUTE)) {
        let ts = now - 30 * DAY + step * 5 * MINUTE;
        let hits = 80.0 + (step % 20) as f64;
        batch.push(Sample::ratio(name, "", "hit_rate", ts, hits, 100.0));
        batch.push(Sample::new(name, "", "hits", ts, hits));
        batch.push(Sample::new(name, "", "misses", ts, 100.0 - hits));
        batch.push(Sample::new(name, "", "evicted_keys", ts, (step % 7) as f64));
        batch.push(Sample::new(name, "", "used_memory", ts, 4.0e8));
        if batch.len() > 20_000 {
            app.store.upsert_samples(&batch).await.unwrap();
            batch.clear();
        }
    }
    app.store.upsert_samples(&batch).await.unwrap();
    app.store.rollup(now - 31 * DAY, now).await.unwrap();
    app.store.compact_once(now).await.unwrap();
}

/// Median milliseconds of `RUNS` GETs of `path`, and the body's size.
async fn time(web: &Web, cookie: &str, path: &str) -> (f64, usize) {
    let mut ms = Vec::new();
    let mut size = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let a = web.page(Some(cookie), path).await;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        size = a.body.len();
    }
    ms.sort_by(f64::total_cmp);
    (ms[RUNS / 2], size)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("dashboard benchmark: median of {RUNS} requests over loopback, SQLite");
    let mut last = None;
    for n in [10, 100, 1000] {
        let app = TestApp::sqlite(&config(n)).await;
        app.person("bench", Role::Admin, &[]).await;
        fill(&app, n).await;
        let web = app.web();
        let s = web.sign_in("bench").await;
        let (base, _) = time(&web, &s.cookie, "/healthz").await;
        let (ms, bytes) = time(&web, &s.cookie, "/").await;
        println!(
            "overview, {n:>4} targets: {ms:6.1} ms ({:5.1}x /healthz at {base:.2} ms), {} KiB HTML",
            ms / base,
            bytes / 1024
        );
        if n == 1000 {
            let (ms, _) = time(&web, &s.cookie, "/?q=cache-09").await;
            println!("overview, 1000 targets filtered to 100 by name: {ms:6.1} ms");
        }
        last = Some((app, s));
    }
    let (app, s) = last.unwrap();
    fill_month(&app, "cache-0000").await;
    // Marks on the charts: a few jobs on the target.
    let token = app.token("ci", &["purge"], &[]).await;
    for i in 0..20 {
        app.post_keyed(
            "/api/v1/purges",
            &token,
            Some(&format!("k{i}")),
            &serde_json::json!({ "target": "cache-0000", "keys": [format!("k{i}")] }),
        )
        .await;
    }
    let web = app.web();
    let (base, _) = time(&web, &s.cookie, "/healthz").await;
    let (ms, bytes) = time(&web, &s.cookie, "/targets/cache-0000?span=30d").await;
    println!(
        "target page, 30 days (every chart of a Redis target, hourly rollups, 20 marks): {ms:.1} ms ({:.1}x /healthz), {} KiB HTML",
        ms / base,
        bytes / 1024
    );
    let (ms, _) = time(&web, &s.cookie, "/targets/cache-0000?span=24h").await;
    println!("target page, 24 hours (5-minute rollups): {ms:.1} ms");

    println!("page weight (HTML; every page also loads app.css and app.js):");
    for path in [
        "/sign-in",
        "/",
        "/targets/cache-0000?span=30d",
        "/alarms",
        "/jobs",
        "/jobs/1",
        "/invalidate",
        "/purge",
        "/tokens",
        "/audit",
    ] {
        let cookie = (path != "/sign-in").then_some(s.cookie.as_str());
        let a = web.page(cookie, path).await;
        println!(
            "  {path:<30} {:>7} bytes (status {})",
            a.body.len(),
            a.status
        );
    }
    for asset in ["/static/app.css", "/static/app.js"] {
        let a = web.page(None, asset).await;
        println!("  {asset:<30} {:>7} bytes", a.body.len());
    }
}
