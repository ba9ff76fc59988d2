//! Invalidation burst benchmark (issue 5). Prints figures; asserts nothing about time.
//!
//!   cargo bench --bench invalidations
//!
//! 20 concurrent pipelines send 10 requests each (200 in all) with overlapping paths to one
//! distribution through the HTTP API of a running daemon, whose CloudFront is the scripted
//! stand-in from the test harness (it records every CreateInvalidation call). Reported: calls
//! and billed paths against the baseline of one CreateInvalidation per request, and the time
//! from a request's answer to the CreateInvalidation that carried it.

#[path = "../tests/it/harness/mod.rs"]
#[allow(unused_imports)]
mod harness;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::TestApp;
use harness::cloudfront::ScriptedCloudFront;
use serde_json::{Value, json};

const PIPELINES: usize = 20;
const REQUESTS_EACH: usize = 10;

/// A small deterministic generator, so every run sends the same burst.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// 2-5 product pages from 8 categories of 25, sometimes a whole category's wildcard, and
/// often the home page: deploys of one shop touch overlapping pages.
fn request_items(rng: &mut Lcg) -> Vec<String> {
    let mut items: BTreeSet<String> = BTreeSet::new();
    for _ in 0..2 + rng.next(4) {
        items.insert(format!("/products/c{}/{}.html", rng.next(8), rng.next(25)));
    }
    if rng.next(20) == 0 {
        items.insert(format!("/products/c{}/*", rng.next(8)));
    }
    if rng.next(5) == 0 {
        items.insert("/index.html".into());
    }
    items.into_iter().collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cf = Arc::new(ScriptedCloudFront::in_progress_for(0));
    let config = "[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n";
    let app = Arc::new(TestApp::with_cloudfront_running(config, cf.clone()).await);
    let token = app.token("ci", &["invalidate"], &[]).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..PIPELINES {
        let (app, token) = (app.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Lcg(p as u64 + 1);
            let mut sent = Vec::new();
            for r in 0..REQUESTS_EACH {
                // Pipelines finish their deploys at different moments over about 5 seconds.
                tokio::time::sleep(Duration::from_millis(rng.next(500))).await;
                let items = request_items(&mut rng);
                let res = app
                    .http
                    .post(app.url("/api/v1/invalidations"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", format!("pipeline-{p}-{r}"))
                    .json(&json!({"target": "web", "items": items}))
                    .send()
                    .await
                    .unwrap();
                let answered = Instant::now();
                let job: Value = res.json().await.unwrap();
                sent.push((job["id"].as_i64().unwrap(), items.len(), answered));
            }
            sent
        }));
    }
    let mut jobs = Vec::new();
    for t in tasks {
        jobs.extend(t.await.unwrap());
    }
    // Wait until every job is completed (the worker runs on its own).
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut latencies = Vec::new();
    for (id, _, answered) in &jobs {
        loop {
            let job: Value = app
                .get(
                    &format!("/api/v1/invalidations/{id}?wait=10s"),
                    Some(&token),
                )
                .await
                .json()
                .await
                .unwrap();
            if job["state"] == "completed" {
                let reference = job["cloudfront"]["caller_reference"].as_str().unwrap();
                let at = cf
                    .first_call_at(reference)
                    .expect("the stand-in saw the batch's call");
                latencies.push(at.saturating_duration_since(*answered).as_secs_f64());
                break;
            }
            assert!(Instant::now() < deadline, "job {id} did not complete");
        }
    }
    let requests = jobs.len();
    let requested_paths: usize = jobs.iter().map(|(_, n, _)| n).sum();
    let calls = cf.calls();
    let billed: usize = calls.iter().map(|(_, p)| p.len()).sum();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "invalidation burst: {requests} requests from {PIPELINES} concurrent pipelines over {:.1} s",
        jobs.iter()
            .map(|j| j.2)
            .max()
            .unwrap()
            .duration_since(started)
            .as_secs_f64()
    );
    println!(
        "  CreateInvalidation calls: {} (baseline one per request: {requests}; {:.1}x fewer)",
        calls.len(),
        requests as f64 / calls.len() as f64
    );
    println!(
        "  billed paths: {billed} (baseline one call per request: {requested_paths}; {:.1}x fewer)",
        requested_paths as f64 / billed as f64
    );
    println!(
        "  request answered -> CreateInvalidation: median {:.2} s, worst {:.2} s (coalescing window 2 s)",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
}
