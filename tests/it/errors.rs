//! Our faults answer 500 with an opaque body and the request id; the daemon's log has the
//! whole cause chain under that id. The store is broken behind a running daemon's back (its
//! jobs table dropped), as a failing disk or a bad migration would.

use serde_json::Value;

use crate::harness::process::wait_until;
use crate::harness::replica::{Replica, admin_token};

#[tokio::test]
async fn a_failure_on_our_side_is_opaque_to_the_caller_and_complete_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cachewarden.db");
    let url = format!("sqlite://{}", db.display());
    let toml = format!("[database]\nurl = \"{url}\"\n");
    let config = dir.path().join("cachewarden.toml");
    std::fs::write(&config, &toml).unwrap();
    let token = admin_token(&toml, &url).await;
    let daemon = Replica::start("daemon", &config, dir.path(), &[]);

    let broken = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DROP TABLE cloudfront_batch_jobs")
        .execute(&broken)
        .await
        .unwrap();
    sqlx::query("DROP TABLE jobs")
        .execute(&broken)
        .await
        .unwrap();
    broken.close().await;

    let res = reqwest::Client::new()
        .get(daemon.url("/api/v1/jobs"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal");
    let text = body.to_string();
    assert!(
        !text.contains("jobs") && !text.contains("table") && !text.contains("sql"),
        "opaque: {text}"
    );
    let id = body["error"]["request_id"]
        .as_str()
        .expect("a request id")
        .to_owned();
    wait_until(
        "the log has the request's failure",
        std::time::Duration::from_secs(5),
        || {
            let log = daemon.log();
            let id = id.clone();
            async move {
                log.lines().any(|l| {
                    l.contains(&id)
                        && l.contains("the store failed")
                        && l.contains("no such table: jobs")
                })
            }
        },
    )
    .await;
}

/// Every error answer, from every layer, is the JSON error shape with a request id (issue 14).
#[tokio::test]
async fn every_error_answer_is_json_with_a_request_id() {
    let app = crate::harness::TestApp::sqlite("").await;
    let admin = app.token("root", &["admin"], &[]).await;
    let big = "x".repeat(300 * 1024);
    // (what, method, path, token, body, status, code)
    type Case<'a> = (
        &'a str,
        reqwest::Method,
        &'a str,
        Option<&'a str>,
        Option<String>,
        u16,
        &'a str,
    );
    let cases: [Case; 5] = [
        (
            "a method the route lacks",
            reqwest::Method::PUT,
            "/api/v1/tokens",
            Some(&admin),
            None,
            405,
            "method_not_allowed",
        ),
        (
            "a method a plain route lacks",
            reqwest::Method::POST,
            "/healthz",
            None,
            None,
            405,
            "method_not_allowed",
        ),
        (
            "a raw body past the limit",
            reqwest::Method::POST,
            "/api/v1/alarms/1/ack",
            Some(&admin),
            Some(big.clone()),
            413,
            "payload_too_large",
        ),
        (
            "no such route",
            reqwest::Method::GET,
            "/nowhere",
            None,
            None,
            404,
            "not_found",
        ),
        (
            "no token",
            reqwest::Method::GET,
            "/api/v1/jobs",
            None,
            None,
            401,
            "unauthenticated",
        ),
    ];
    for (what, method, path, token, body, status, code) in cases {
        let mut req = app.http.request(method, app.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{what}");
        if status == 405 {
            // What the path takes instead, as RFC 9110 asks.
            let allow = res.headers().get("allow").and_then(|v| v.to_str().ok());
            let expected = if path == "/healthz" {
                "GET"
            } else {
                "GET, POST"
            };
            assert_eq!(allow, Some(expected), "{what}");
        }
        let id = res
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body: Value = res
            .json()
            .await
            .unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
        assert_eq!(body["error"]["code"], code, "{what}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
        assert_eq!(
            body["error"]["request_id"].as_str(),
            id.as_deref(),
            "{what}: {body}"
        );
    }
}
