//! CloudFront invalidation jobs: against moto end to end, and against a scripted stand-in for
//! what moto cannot do (InProgress, TooManyInvalidationsInProgress, throttling, a lost answer,
//! a restart mid-way).

use std::sync::Arc;
use std::time::Duration;

use cachewarden::cloudfront::CloudFrontError;
use cachewarden::store::now_ms;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::app::expect_error;
use crate::harness::cloudfront::ScriptedCloudFront;

const CDN: &str = "[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\ncache_tags = true\n\
    [[targets]]\nname = \"docs\"\nkind = \"cloudfront\"\ndistribution_id = \"E3DOCSEXAMPLE1\"\n\
    [[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1\"\n";

/// POST an invalidation with an optional idempotency key.
async fn invalidate(
    app: &TestApp,
    token: &str,
    key: Option<&str>,
    body: Value,
) -> reqwest::Response {
    app.post_keyed("/api/v1/invalidations", token, key, &body)
        .await
}

async fn job(app: &TestApp, token: &str, id: i64) -> Value {
    app.get(&format!("/api/v1/invalidations/{id}"), Some(token))
        .await
        .json()
        .await
        .unwrap()
}

/// A worker pass as if `ms` milliseconds had passed (past the coalescing window, retries due).
pub(crate) async fn pass(app: &TestApp, ms: i64) {
    app.jobs.run_once(now_ms() + ms).await.unwrap();
}

#[tokio::test]
async fn a_job_is_stored_first_then_batched_sent_and_tracked_to_completed() {
    let cf = Arc::new(ScriptedCloudFront::in_progress_for(2));
    let app = TestApp::with_cloudfront(CDN, cf.clone()).await;
    let ci = app.token("ci", &["invalidate"], &["web"]).await;
    let res = invalidate(
        &app,
        &ci,
        Some("commit-1"),
        json!({"target": "web", "items": ["/index.html", "/assets/*", "#product:42"]}),
    )
    .await;
    assert_eq!(res.status(), 202);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["state"], "queued");
    assert!(
        cf.calls().is_empty(),
        "nothing is sent before the coalescing window passes"
    );

    pass(&app, 0).await;
    assert!(cf.calls().is_empty(), "still inside the 2 s window");
    pass(&app, 2_100).await;
    assert_eq!(cf.calls().len(), 1);
    assert_eq!(cf.calls()[0].1, ["/assets/*", "/index.html", "#product:42"]);
    let running = job(&app, &ci, id).await;
    assert_eq!(running["state"], "running");
    assert_eq!(running["result"]["invalidation_id"], "I0001");
    assert!(
        running["result"]["caller_reference"]
            .as_str()
            .unwrap()
            .starts_with("cachewarden-")
    );

    // InProgress twice, then Completed; checks back off, so each pass is a little later.
    pass(&app, 10_000).await;
    assert_eq!(job(&app, &ci, id).await["state"], "running");
    pass(&app, 20_000).await;
    assert_eq!(job(&app, &ci, id).await["state"], "running");
    pass(&app, 40_000).await;
    let done = job(&app, &ci, id).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert!(done["completed_at"].as_i64().is_some());
    assert_eq!(cf.calls().len(), 1, "tracking does not create again");
}

#[tokio::test]
async fn waiting_long_polls_until_the_job_is_final() {
    let cf = Arc::new(ScriptedCloudFront::in_progress_for(0));
    let app = TestApp::with_cloudfront(CDN, cf.clone()).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let created: Value = invalidate(&app, &ci, None, json!({"target": "web", "items": ["/a"]}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();
    // One request with ?wait holds until the job is final; one that says what it has seen
    // (as the CLI does) is answered when that changes.
    let waiter = app.spawn_get(&format!("/api/v1/invalidations/{id}?wait=30s"), &ci);
    let progress = app.spawn_get(
        &format!("/api/v1/invalidations/{id}?wait=30s&seen=queued"),
        &ci,
    );
    pass(&app, 2_100).await; // sent: running
    let changed = tokio::time::timeout(Duration::from_secs(10), progress)
        .await
        .expect("answered on the change")
        .unwrap();
    assert_eq!(changed["state"], "running");
    assert!(
        !waiter.is_finished(),
        "a plain wait holds until the job is final"
    );
    pass(&app, 10_000).await; // tracked: completed
    let answered = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the long-poll answered")
        .unwrap();
    assert_eq!(answered["state"], "completed");
    // Without wait, the current state at once; a short wait on a final job returns at once too.
    let quick = app
        .get(&format!("/api/v1/invalidations/{id}?wait=1s"), Some(&ci))
        .await;
    assert_eq!(quick.json::<Value>().await.unwrap()["state"], "completed");
}

#[tokio::test]
async fn requests_within_the_window_are_coalesced_into_one_call() {
    let cf = Arc::new(ScriptedCloudFront::in_progress_for(0));
    let app = TestApp::with_cloudfront(CDN, cf.clone()).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let bodies = [
        json!({"target": "web", "items": ["/a/b.css", "/index.html"]}),
        json!({"target": "web", "items": ["/a/*", "/index.html"]}),
        json!({"target": "web", "items": ["/a/c/*", "/about"]}),
        json!({"target": "docs", "items": ["/guide"]}),
    ];
    let mut ids = Vec::new();
    for b in bodies {
        let r: Value = invalidate(&app, &ci, None, b).await.json().await.unwrap();
        ids.push(r["id"].as_i64().unwrap());
    }
    pass(&app, 2_100).await;
    let mut calls: Vec<Vec<String>> = cf.calls().into_iter().map(|(_, paths)| paths).collect();
    calls.sort();
    assert_eq!(calls.len(), 2, "one call per distribution: {calls:?}");
    assert_eq!(
        calls[0],
        ["/a/*", "/about", "/index.html"],
        "duplicates and covered paths dropped"
    );
    assert_eq!(calls[1], ["/guide"]);
    pass(&app, 10_000).await;
    for id in ids {
        assert_eq!(job(&app, &ci, id).await["state"], "completed");
    }
    let admin = app.token("root", &["admin"], &[]).await;
    let cost: Value = app
        .get("/api/v1/invalidations/cost", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        cost["billed_paths"], 4,
        "billed per path sent, not per path requested"
    );
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("cachewarden_cloudfront_billed_paths 4"),
        "{metrics}"
    );
}

#[tokio::test]
async fn too_many_in_progress_and_throttling_are_retried_never_failed() {
    let cf = Arc::new(ScriptedCloudFront::in_progress_for(0));
    cf.fail_creates([
        CloudFrontError::TooManyInProgress("15 wildcard invalidations in progress".into()),
        CloudFrontError::Retryable("Throttling: Rate exceeded".into()),
        CloudFrontError::TooManyInProgress("still busy".into()),
    ]);
    let app = TestApp::with_cloudfront(CDN, cf.clone()).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let r: Value = invalidate(&app, &ci, None, json!({"target": "web", "items": ["/x"]}))
        .await
        .json()
        .await
        .unwrap();
    let id = r["id"].as_i64().unwrap();
    pass(&app, 2_100).await;
    let waiting = job(&app, &ci, id).await;
    assert_eq!(waiting["state"], "running", "{waiting}");
    assert!(
        waiting["result"]["note"]
            .as_str()
            .unwrap()
            .contains("TooManyInvalidationsInProgress")
    );
    // Retries back off: 1 s, then 2 s, then 4 s.
    pass(&app, 2_100 + 1_100).await;
    pass(&app, 2_100 + 1_100 + 2_100).await;
    assert_eq!(job(&app, &ci, id).await["state"], "running");
    pass(&app, 2_100 + 1_100 + 2_100 + 4_100).await;
    pass(&app, 30_000).await;
    assert_eq!(job(&app, &ci, id).await["state"], "completed");
    let calls = cf.calls();
    assert_eq!(calls.len(), 4);
    assert!(
        calls.iter().all(|(r, _)| r == &calls[0].0),
        "every retry sends the same caller reference"
    );
    assert_eq!(cf.invalidations().len(), 1);
}

#[tokio::test]
async fn a_job_past_its_deadline_fails_with_the_reason() {
    let cf = Arc::new(ScriptedCloudFront::default());
    cf.fail_creates((0..50).map(|_| CloudFrontError::TooManyInProgress("busy".into())));
    let app = TestApp::with_cloudfront(
        &format!("{CDN}[invalidation]\ndeadline = \"1m\"\n"),
        cf.clone(),
    )
    .await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let r: Value = invalidate(&app, &ci, None, json!({"target": "web", "items": ["/x"]}))
        .await
        .json()
        .await
        .unwrap();
    let id = r["id"].as_i64().unwrap();
    pass(&app, 2_100).await;
    pass(&app, 61_000).await;
    let failed = job(&app, &ci, id).await;
    assert_eq!(failed["state"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("gave up at the job's deadline"),
        "{failed}"
    );
}

#[tokio::test]
async fn wildcards_beyond_the_in_progress_limit_wait_for_the_earlier_ones() {
    let cf = Arc::new(ScriptedCloudFront::in_progress_for(1));
    let app = TestApp::with_cloudfront(CDN, cf.clone()).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let fifteen: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
    let first: Value = invalidate(&app, &ci, None, json!({"target": "web", "items": fifteen}))
        .await
        .json()
        .await
        .unwrap();
    pass(&app, 2_100).await;
    let second: Value = invalidate(&app, &ci, None, json!({"target": "web", "items": ["/z/*"]}))
        .await
        .json()
        .await
        .unwrap();
    pass(&app, 4_200).await;
    assert_eq!(
        cf.calls().len(),
        1,
        "the 16th wildcard waits while 15 are in progress"
    );
    assert_eq!(
        job(&app, &ci, second["id"].as_i64().unwrap()).await["state"],
        "queued"
    );
    pass(&app, 10_000).await; // first: InProgress
    pass(&app, 20_000).await; // first: Completed, second: batched
    assert_eq!(
        job(&app, &ci, first["id"].as_i64().unwrap()).await["state"],
        "completed"
    );
    pass(&app, 20_100).await;
    assert_eq!(cf.calls().len(), 2);
    assert_eq!(cf.calls()[1].1, ["/z/*"]);
}

#[tokio::test]
async fn a_restart_between_sending_and_tracking_loses_nothing_and_sends_nothing_twice() {
    let cf = Arc::new(ScriptedCloudFront::in_progress_for(1));
    // The call reaches CloudFront but its answer is lost; then the daemon dies.
    cf.lose_next_answer();
    let app = TestApp::with_cloudfront(CDN, cf.clone()).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let r: Value = invalidate(
        &app,
        &ci,
        Some("deploy-7"),
        json!({"target": "web", "items": ["/p"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = r["id"].as_i64().unwrap();
    pass(&app, 2_100).await;
    assert_eq!(cf.invalidations().len(), 1, "CloudFront created it");
    assert_eq!(job(&app, &ci, id).await["state"], "running");
    let data = app.stop_keeping_data().await;

    let app = TestApp::restart_with_cloudfront(CDN, data, cf.clone()).await;
    // The pipeline retries its request with the same key: the same job answers.
    let replay = invalidate(
        &app,
        &ci,
        Some("deploy-7"),
        json!({"target": "web", "items": ["/p"]}),
    )
    .await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap()["id"], id);
    pass(&app, 5_000).await; // re-sends with the same caller reference: CloudFront answers with the existing one
    pass(&app, 10_000).await; // InProgress
    pass(&app, 30_000).await; // Completed
    assert_eq!(job(&app, &ci, id).await["state"], "completed");
    assert_eq!(cf.calls().len(), 2, "sent twice with one caller reference");
    assert_eq!(cf.invalidations().len(), 1, "but created (and billed) once");
    let admin = app.token("root", &["admin"], &[]).await;
    let cost: Value = app
        .get("/api/v1/invalidations/cost", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cost["billed_paths"], 1);
}

#[tokio::test]
async fn idempotent_retries_and_conflicting_retries() {
    let cf = Arc::new(ScriptedCloudFront::default());
    let app = TestApp::with_cloudfront(CDN, cf).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let first = invalidate(
        &app,
        &ci,
        Some("abc123"),
        json!({"target": "web", "items": ["/a", "/b"]}),
    )
    .await;
    assert_eq!(first.status(), 202);
    let id = first.json::<Value>().await.unwrap()["id"].clone();
    // Same key, same items in another order: the same job.
    let again = invalidate(
        &app,
        &ci,
        Some("abc123"),
        json!({"target": "web", "items": ["/b", "/a", "/a"]}),
    )
    .await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], id);
    // Same key, different items: refused, naming the key and the job.
    let conflict = invalidate(
        &app,
        &ci,
        Some("abc123"),
        json!({"target": "web", "items": ["/c"]}),
    )
    .await;
    assert_eq!(conflict.status(), 409);
    let body: Value = conflict.json().await.unwrap();
    assert_eq!(body["error"]["code"], "conflict");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"abc123\" was already used for a different request"),
        "{body}"
    );
    // The same key on another distribution is another request.
    assert_eq!(
        invalidate(
            &app,
            &ci,
            Some("abc123"),
            json!({"target": "docs", "items": ["/c"]})
        )
        .await
        .status(),
        202
    );
    // Listing shows the jobs, newest first, filtered.
    let list: Value = app
        .get("/api/v1/invalidations?target=web", Some(&ci))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["jobs"].as_array().unwrap().len(), 1);
}

/// One bad request and the answer it must get.
struct Bad {
    what: &'static str,
    token: &'static str,
    key: Option<&'static str>,
    body: Value,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
    message: &'static str,
}

#[tokio::test]
async fn bad_requests_and_bad_items_are_refused_precisely() {
    let cf = Arc::new(ScriptedCloudFront::default());
    let app = TestApp::with_cloudfront(
        &format!("{CDN}[invalidation]\nfree_paths_per_month = 1\nmonthly_budget_usd = 0\n"),
        cf.clone(),
    )
    .await;
    let tokens = [
        ("ci", app.token("ci", &["invalidate"], &[]).await),
        (
            "docs-only",
            app.token("docs-only", &["invalidate"], &["docs"]).await,
        ),
        ("reader", app.token("reader", &["read"], &[]).await),
    ];
    let token = |name: &str| {
        tokens
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    let sixteen: Vec<String> = (0..16).map(|i| format!("/w{i}/*")).collect();
    let cases = vec![
        Bad {
            what: "no items",
            token: "ci",
            key: None,
            body: json!({"target": "web", "items": []}),
            status: 400,
            code: "invalid_request",
            field: Some("items"),
            message: "at least one",
        },
        Bad {
            what: "no prefix",
            token: "ci",
            key: None,
            body: json!({"target": "web", "items": ["/ok", "index.html"]}),
            status: 400,
            code: "invalid_items",
            field: Some("items[1]"),
            message: "must start with / (a path) or # (a cache tag)",
        },
        Bad {
            what: "wildcard in the middle",
            token: "ci",
            key: None,
            body: json!({"target": "web", "items": ["/a*/b"]}),
            status: 400,
            code: "invalid_items",
            field: Some("items[0]"),
            message: "* may only be the last character",
        },
        Bad {
            what: "not encoded",
            token: "ci",
            key: None,
            body: json!({"target": "web", "items": ["/a b"]}),
            status: 400,
            code: "invalid_items",
            field: Some("items[0]"),
            message: "URL-encoded",
        },
        Bad {
            what: "tag with a comma",
            token: "ci",
            key: None,
            body: json!({"target": "web", "items": ["#a,b"]}),
            status: 400,
            code: "invalid_items",
            field: Some("items[0]"),
            message: "except commas",
        },
        Bad {
            what: "tag on a target without tags",
            token: "ci",
            key: None,
            body: json!({"target": "docs", "items": ["#t"]}),
            status: 400,
            code: "invalid_items",
            field: Some("items[0]"),
            message: "has no cache tags",
        },
        Bad {
            what: "too many wildcards",
            token: "ci",
            key: None,
            body: json!({"target": "web", "items": sixteen}),
            status: 400,
            code: "invalid_request",
            field: Some("items"),
            message: "at most 3000 and 15",
        },
        Bad {
            what: "not a cloudfront target",
            token: "ci",
            key: None,
            body: json!({"target": "sessions", "items": ["/a"]}),
            status: 400,
            code: "invalid_request",
            field: Some("target"),
            message: "is a redis target",
        },
        Bad {
            what: "unknown target",
            token: "ci",
            key: None,
            body: json!({"target": "nope", "items": ["/a"]}),
            status: 400,
            code: "invalid_request",
            field: Some("target"),
            message: "not a configured target",
        },
        Bad {
            what: "missing items",
            token: "ci",
            key: None,
            body: json!({"target": "web"}),
            status: 400,
            code: "invalid_request",
            field: Some("items"),
            message: "missing field",
        },
        Bad {
            what: "bad key",
            token: "ci",
            key: Some("has space"),
            body: json!({"target": "web", "items": ["/a"]}),
            status: 400,
            code: "invalid_request",
            field: Some("Idempotency-Key"),
            message: "printable ASCII",
        },
        Bad {
            what: "out of scope target",
            token: "docs-only",
            key: None,
            body: json!({"target": "web", "items": ["/a"]}),
            status: 403,
            code: "forbidden",
            field: None,
            message: "not allowed to act on target \"web\"",
        },
        Bad {
            what: "read-only token",
            token: "reader",
            key: None,
            body: json!({"target": "web", "items": ["/a"]}),
            status: 403,
            code: "forbidden",
            field: None,
            message: "lacks the invalidate scope",
        },
        Bad {
            what: "over budget",
            token: "ci",
            key: None,
            body: json!({"target": "web", "items": ["/a", "/b"]}),
            status: 422,
            code: "budget_exceeded",
            field: None,
            message: "beyond the budget of 0.00 USD",
        },
    ];
    for b in cases {
        let res = invalidate(&app, &token(b.token), b.key, b.body).await;
        expect_error(b.what, res, b.status, b.code, b.field, b.message).await;
    }
    // Several bad items: every one is listed with its index, item and rule.
    let res = invalidate(
        &app,
        &token("ci"),
        None,
        json!({"target": "web", "items": ["/ok", "bad", "/x*y", "#"]}),
    )
    .await;
    let body: Value = res.json().await.unwrap();
    let details = body["error"]["details"].as_array().unwrap();
    let fields: Vec<&str> = details
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["items[1]", "items[2]", "items[3]"]);
    assert_eq!(details[1]["item"], "/x*y");
    assert!(cf.calls().is_empty(), "nothing refused reached CloudFront");
    let none = app
        .send(
            Method::POST,
            "/api/v1/invalidations",
            None,
            Some(&json!({"target": "web", "items": ["/a"]})),
        )
        .await;
    assert_eq!(none.status(), 401);
}

#[tokio::test]
async fn invalidations_reach_moto_through_the_aws_sdk() {
    let moto = crate::harness::moto::Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let cf = cachewarden::aws::cloudfront(&sdk);
    let id = crate::harness::moto::create_distribution(&cf).await;
    let config = format!(
        "[aws]\nregion = \"eu-west-1\"\n[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"{id}\"\n"
    );
    let app = TestApp::with_aws(&config, sdk).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let r: Value = invalidate(
        &app,
        &ci,
        Some("sha-1"),
        json!({"target": "web", "items": ["/index.html", "/assets/*"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    pass(&app, 2_100).await;
    pass(&app, 10_000).await;
    let done = job(&app, &ci, r["id"].as_i64().unwrap()).await;
    assert_eq!(done["state"], "completed", "{done}");
    let inv_id = done["result"]["invalidation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = cf
        .list_invalidations()
        .distribution_id(&id)
        .send()
        .await
        .unwrap();
    let ids: Vec<String> = listed
        .invalidation_list()
        .map(|l| l.items().iter().map(|i| i.id().to_owned()).collect())
        .unwrap_or_default();
    assert_eq!(ids, std::slice::from_ref(&inv_id));
    let got = cf
        .get_invalidation()
        .distribution_id(&id)
        .id(&inv_id)
        .send()
        .await
        .unwrap();
    let paths = got
        .invalidation()
        .unwrap()
        .invalidation_batch()
        .unwrap()
        .paths()
        .unwrap()
        .items()
        .to_vec();
    assert_eq!(paths, ["/assets/*", "/index.html"]);
}

#[tokio::test]
async fn a_job_whose_target_left_the_configuration_fails_with_the_reason() {
    let cf = Arc::new(ScriptedCloudFront::default());
    let app = TestApp::with_cloudfront(CDN, cf.clone()).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let r: Value = invalidate(&app, &ci, None, json!({"target": "docs", "items": ["/x"]}))
        .await
        .json()
        .await
        .unwrap();
    let data = app.stop_keeping_data().await;
    // Restarted with `docs` removed from the configuration.
    let without_docs = "[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n";
    let app = TestApp::restart_with_cloudfront(without_docs, data, cf.clone()).await;
    pass(&app, 2_100).await;
    let failed = job(&app, &ci, r["id"].as_i64().unwrap()).await;
    assert_eq!(failed["state"], "failed");
    assert_eq!(
        failed["error"],
        "target \"docs\" is no longer a configured CloudFront target"
    );
    assert!(cf.calls().is_empty());
}

/// A dry run works out what would be sent and what it would cost, sends nothing, bills
/// nothing, and is not refused for the budget: it says a real request would be.
#[tokio::test]
async fn a_dry_run_shows_the_plan_and_price_and_sends_nothing() {
    let cf = Arc::new(ScriptedCloudFront::default());
    let toml = format!(
        "{CDN}[invalidation]\nfree_paths_per_month = 2\nprice_per_path = 0.005\nmonthly_budget_usd = 0.004\n"
    );
    let app = TestApp::with_cloudfront(&toml, cf.clone()).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let items = json!([
        "/a.html",
        "/b.html",
        "/assets/*",
        "/assets/app.js",
        "/a.html"
    ]);
    let res = invalidate(
        &app,
        &ci,
        Some("plan-1"),
        json!({"target": "web", "items": items, "dry_run": true}),
    )
    .await;
    assert_eq!(res.status(), 202);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["dry_run"], true);
    let id = created["id"].as_i64().unwrap();
    pass(&app, 0).await;
    let j = job(&app, &ci, id).await;
    assert_eq!(j["state"], "completed", "{j}");
    let plan = &j["result"];
    // Coalesced: the repeat and the path the wildcard covers are gone.
    assert_eq!(plan["paths"], json!(["/a.html", "/assets/*", "/b.html"]));
    assert_eq!(
        (plan["files"].as_u64(), plan["wildcards"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(plan["billed_paths"], 3);
    assert_eq!(plan["free_paths_left"], 2);
    assert!(
        (plan["price_usd"].as_f64().unwrap() - 0.005).abs() < 1e-9,
        "{plan}"
    );
    assert_eq!(plan["exceeds_budget"], true);
    let summary = j["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(
            "dry run: would send 3 paths (3 billed, 0.01 USD; 2 free paths left this month)"
        ),
        "{summary}"
    );
    assert!(
        summary.contains("would pass the monthly budget"),
        "{summary}"
    );
    assert!(cf.calls().is_empty(), "nothing reached CloudFront");
    let admin = app.token("root", &["admin"], &[]).await;
    let cost: Value = app
        .get("/api/v1/invalidations/cost", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cost["billed_paths"], 0, "a plan bills nothing");
    // The real request is what the budget refuses.
    let res = invalidate(&app, &ci, None, json!({"target": "web", "items": items})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "budget_exceeded"
    );
}

/// With `collapse_over`, a directory's many paths go as one wildcard: the dry run shows it,
/// and the real request sends it (stored as what was sent, with what was collapsed).
#[tokio::test]
async fn the_collapse_policy_sends_a_full_directory_as_one_wildcard() {
    let cf = Arc::new(ScriptedCloudFront::default());
    let toml = "[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\ncollapse_over = 3\n";
    let app = TestApp::with_cloudfront(toml, cf.clone()).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let mut items: Vec<String> = (0..5).map(|i| format!("/p/{i}.html")).collect();
    items.extend(["/index.html".to_owned(), "/q/1.html".to_owned()]);
    let res = invalidate(
        &app,
        &ci,
        None,
        json!({"target": "web", "items": items, "dry_run": true}),
    )
    .await;
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    pass(&app, 0).await;
    let j = job(&app, &ci, id).await;
    let plan = &j["result"];
    assert_eq!(
        plan["paths"],
        json!(["/index.html", "/p/*", "/q/1.html"]),
        "{j}"
    );
    assert_eq!(plan["billed_paths"], 3);
    assert_eq!(plan["collapsed"], json!([{"wildcard": "/p/*", "paths": 5}]));
    assert_eq!(
        plan["past_wildcards"],
        Value::Null,
        "no wildcard of this target was measured yet"
    );
    assert!(
        j["summary"]
            .as_str()
            .unwrap()
            .contains("5 paths collapsed into 1 wildcard"),
        "{j}"
    );

    let res = invalidate(&app, &ci, None, json!({"target": "web", "items": items})).await;
    assert_eq!(res.status(), 202);
    let real: Value = res.json().await.unwrap();
    assert_eq!(
        real["request"]["items"],
        json!(["/index.html", "/p/*", "/q/1.html"])
    );
    assert_eq!(real["request"]["collapsed"][0]["paths"], 5);
    pass(&app, 2_100).await;
    let sent = cf.invalidations();
    assert_eq!(sent.len(), 1);
    let mut paths = sent[0].clone();
    paths.sort();
    assert_eq!(paths, ["/index.html", "/p/*", "/q/1.html"]);
}
