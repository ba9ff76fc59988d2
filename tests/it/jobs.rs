//! The job service through `/api/v1/jobs`: cancelling in each state (queued at once; running
//! at its next safe point; sent to CloudFront or finished: refused with the reason), listing
//! every kind, and bad requests as a table. CloudFront is the scripted stand-in where the
//! test needs an invalidation that CloudFront keeps refusing for lack of room.

use std::sync::Arc;

use cachewarden::cloudfront::CloudFrontError;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::app::expect_error;
use crate::harness::cloudfront::ScriptedCloudFront;
use crate::invalidations::pass;

const CDN: &str = "[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n\
    [[targets]]\nname = \"docs\"\nkind = \"cloudfront\"\ndistribution_id = \"E3DOCSEXAMPLE1\"\n";

async fn submit(app: &TestApp, token: &str, target: &str, items: &[&str]) -> i64 {
    let res = app
        .post(
            "/api/v1/invalidations",
            Some(token),
            &json!({ "target": target, "items": items }),
        )
        .await;
    assert_eq!(res.status(), 202);
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn cancel(app: &TestApp, token: &str, id: i64) -> reqwest::Response {
    app.post(
        &format!("/api/v1/jobs/{id}/cancel"),
        Some(token),
        &json!({}),
    )
    .await
}

async fn job(app: &TestApp, token: &str, id: i64) -> Value {
    app.get_json(&format!("/api/v1/jobs/{id}"), Some(token))
        .await
}

#[tokio::test]
async fn a_queued_job_is_cancelled_at_once_and_never_sent() {
    let cf = Arc::new(ScriptedCloudFront::default());
    let app = TestApp::with_cloudfront(CDN, cf.clone()).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let id = submit(&app, &ci, "web", &["/a"]).await;
    let res = cancel(&app, &ci, id).await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["outcome"], "cancelled");
    assert_eq!(answer["job"]["state"], "cancelled");
    assert!(
        answer["job"]["error"].as_str().unwrap().contains("ci"),
        "{answer}"
    );
    pass(&app, 60_000).await;
    assert!(cf.calls().is_empty(), "a cancelled job is never sent");
    assert_eq!(job(&app, &ci, id).await["state"], "cancelled");
}

#[tokio::test]
async fn a_running_job_stops_at_its_next_safe_point_and_its_batch_mates_go_on() {
    let cf = Arc::new(ScriptedCloudFront::default());
    // CloudFront has no room for a while: the batch waits, certainly not created.
    cf.fail_creates(
        (0..3).map(|_| CloudFrontError::TooManyInProgress("15 wildcards in progress".into())),
    );
    let app = TestApp::with_cloudfront(CDN, cf.clone()).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let stop = submit(&app, &ci, "web", &["/stop/*"]).await;
    let keep = submit(&app, &ci, "web", &["/keep"]).await;
    pass(&app, 2_100).await;
    assert_eq!(cf.calls().len(), 1);
    assert_eq!(cf.calls()[0].1, ["/keep", "/stop/*"], "one batch for both");
    let running = job(&app, &ci, stop).await;
    assert_eq!(running["state"], "running", "{running}");

    let res = cancel(&app, &ci, stop).await;
    assert_eq!(res.status(), 202);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["outcome"], "cancel_requested");
    assert_eq!(
        answer["job"]["state"], "running",
        "it stops at its next safe point, not now"
    );
    assert_eq!(answer["job"]["cancel_requested"], true);

    pass(&app, 2_100 + 1_100).await; // the next attempt is the safe point
    let stopped = job(&app, &ci, stop).await;
    assert_eq!(stopped["state"], "cancelled", "{stopped}");
    // The other job is batched again without the cancelled paths and goes on.
    pass(&app, 10_000).await;
    pass(&app, 20_000).await;
    pass(&app, 40_000).await;
    let kept = job(&app, &ci, keep).await;
    assert_eq!(kept["state"], "completed", "{kept}");
    assert_eq!(kept["result"]["items"], json!(["/keep"]));
    let sent: Vec<Vec<String>> = cf.invalidations();
    assert_eq!(
        sent,
        [vec!["/keep".to_owned()]],
        "CloudFront made only the kept paths"
    );
}

#[tokio::test]
async fn a_job_sent_to_cloudfront_or_finished_is_not_cancelled_and_the_answer_says_why() {
    let cf = Arc::new(ScriptedCloudFront::in_progress_for(3));
    let app = TestApp::with_cloudfront(CDN, cf.clone()).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let id = submit(&app, &ci, "web", &["/sent"]).await;
    pass(&app, 2_100).await;
    let body = expect_error(
        "sent",
        cancel(&app, &ci, id).await,
        409,
        "not_cancellable",
        None,
        "cannot be cancelled",
    )
    .await;
    assert!(
        body["error"]["message"].as_str().unwrap().contains("I0001"),
        "{body}"
    );
    assert_eq!(
        job(&app, &ci, id).await["cancel_requested"],
        false,
        "nothing was recorded"
    );
    for later in [10_000, 20_000, 40_000, 80_000] {
        pass(&app, later).await;
    }
    assert_eq!(job(&app, &ci, id).await["state"], "completed");
    expect_error(
        "completed",
        cancel(&app, &ci, id).await,
        409,
        "already_final",
        None,
        "completed",
    )
    .await;
    // The kind's own route cancels too, and names its kind.
    let other = submit(&app, &ci, "docs", &["/x"]).await;
    let res = app
        .post(
            &format!("/api/v1/invalidations/{other}/cancel"),
            Some(&ci),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // Each cancel is audited, refused ones too.
    let admin = app.token("root", &["admin"], &[]).await;
    let audit = app.get_json("/api/v1/audit?limit=50", Some(&admin)).await;
    let cancels: Vec<&Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "job.cancel")
        .collect();
    assert_eq!(cancels.len(), 3, "{audit}");
    assert!(
        cancels
            .iter()
            .any(|e| e["outcome"] == "ok" && e["target"] == "docs"),
        "{cancels:?}"
    );
    // The refused ones say on what and why.
    let refused: Vec<&&Value> = cancels
        .iter()
        .filter(|e| e["outcome"] == "invalid")
        .collect();
    assert_eq!(refused.len(), 2, "{cancels:?}");
    for e in refused {
        assert_eq!(e["target"], "web", "{e}");
        assert!(
            e["detail"]["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("job 1")),
            "{e}"
        );
    }
}

#[tokio::test]
async fn jobs_of_every_kind_are_listed_and_bad_requests_are_refused_precisely() {
    let cf = Arc::new(ScriptedCloudFront::default());
    let app = TestApp::with_cloudfront(CDN, cf.clone()).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let web_only = app.token("web-reader", &["read"], &["web"]).await;
    let reader = app.token("reader", &["read"], &[]).await;
    let a = submit(&app, &ci, "web", &["/a"]).await;
    let b = submit(&app, &ci, "docs", &["/b"]).await;
    let all = app
        .get_json("/api/v1/jobs?kind=cloudfront_invalidation", Some(&ci))
        .await;
    let ids: Vec<i64> = all["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [b, a], "newest first");
    assert_eq!(all["jobs"][0]["kind"], "cloudfront_invalidation");
    assert_eq!(all["jobs"][0]["request"]["items"], json!(["/b"]));
    assert!(
        all["jobs"][0].get("request_hash").is_none(),
        "store details stay inside"
    );
    let limited = app.get_json("/api/v1/jobs", Some(&web_only)).await;
    assert_eq!(
        limited["jobs"].as_array().unwrap().len(),
        1,
        "a limited token sees its targets only"
    );
    let page = app.get_json("/api/v1/jobs?limit=1", Some(&ci)).await;
    assert_eq!(page["next_before"], b);

    // (what, method, path, token, status, code, field)
    type Case<'a> = (
        &'a str,
        &'a str,
        String,
        Option<&'a str>,
        u16,
        &'a str,
        Option<&'a str>,
    );
    let table: [Case; 10] = [
        (
            "no token",
            "POST",
            format!("/api/v1/jobs/{a}/cancel"),
            None,
            401,
            "unauthenticated",
            None,
        ),
        (
            "read scope cannot cancel",
            "POST",
            format!("/api/v1/jobs/{a}/cancel"),
            Some(&reader),
            403,
            "forbidden",
            None,
        ),
        (
            "other target",
            "GET",
            format!("/api/v1/jobs/{b}"),
            Some(&web_only),
            403,
            "forbidden",
            None,
        ),
        (
            "no such job",
            "GET",
            "/api/v1/jobs/999999".into(),
            Some(&ci),
            404,
            "not_found",
            None,
        ),
        (
            "no such job to cancel",
            "POST",
            "/api/v1/jobs/999999/cancel".into(),
            Some(&ci),
            404,
            "not_found",
            None,
        ),
        (
            "bad state filter",
            "GET",
            "/api/v1/jobs?state=done".into(),
            Some(&ci),
            400,
            "invalid_query",
            Some("state"),
        ),
        (
            "bad seen",
            "GET",
            format!("/api/v1/jobs/{a}?wait=1s&seen=later"),
            Some(&ci),
            400,
            "invalid_query",
            Some("seen"),
        ),
        (
            "bad wait",
            "GET",
            format!("/api/v1/jobs/{a}?wait=soon"),
            Some(&ci),
            400,
            "invalid_request",
            Some("wait"),
        ),
        (
            "NUL in a filter",
            "GET",
            "/api/v1/jobs?target=we%00b".into(),
            Some(&ci),
            400,
            "invalid_request",
            Some("target"),
        ),
        (
            "limit out of range",
            "GET",
            "/api/v1/jobs?limit=0".into(),
            Some(&ci),
            400,
            "invalid_request",
            Some("limit"),
        ),
    ];
    for (what, method, path, token, status, code, field) in table {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let body = (method == reqwest::Method::POST).then(|| json!({}));
        let res = app.send(method, &path, token, body.as_ref()).await;
        expect_error(what, res, status, code, field, "").await;
    }
    // An invalidation id is not a job of another kind's route, and vice versa.
    assert_eq!(
        app.get(&format!("/api/v1/invalidations/{a}"), Some(&ci))
            .await
            .status(),
        200
    );
    assert_eq!(
        job(&app, &ci, a).await["state"],
        "queued",
        "nothing above changed it"
    );
}
