//! Tokens, scopes, target limits and the audit log over the API.

use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::app::expect_error;

const TWO_TARGETS: &str = r#"
[[targets]]
name = "sessions"
kind = "redis"
url = "redis://127.0.0.1:6379"

[[targets]]
name = "web"
kind = "cloudfront"
distribution_id = "E2QWRUHEXAMPLE"
"#;

async fn audit(app: &TestApp, admin: &str) -> Vec<Value> {
    let res = app.get("/api/v1/audit?limit=100", Some(admin)).await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["entries"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn no_token_is_401_a_read_token_is_403_on_admin_routes_and_admin_is_200() {
    let app = TestApp::sqlite(TWO_TARGETS).await;
    let read = app.token("dashboard", &["read"], &[]).await;
    let admin = app.token("root", &["admin"], &[]).await;

    let none = app.get("/api/v1/audit", None).await;
    assert_eq!(none.status(), 401);
    assert_eq!(
        none.headers()["www-authenticate"],
        "Bearer realm=\"cachewarden\""
    );
    assert_eq!(
        none.json::<Value>().await.unwrap()["error"]["code"],
        "unauthenticated"
    );

    let bad = app.get("/api/v1/audit", Some("cw_not-a-real-token")).await;
    assert_eq!(bad.status(), 401);

    let forbidden = app.get("/api/v1/audit", Some(&read)).await;
    assert_eq!(forbidden.status(), 403);
    let body: Value = forbidden.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(
        body["error"]["message"],
        "token \"dashboard\" lacks the admin scope"
    );

    assert_eq!(app.get("/api/v1/audit", Some(&admin)).await.status(), 200);
    // Read endpoints accept the read token.
    assert_eq!(app.get("/api/v1/targets", Some(&read)).await.status(), 200);
}

#[tokio::test]
async fn every_mutating_call_is_audited_with_who_what_and_outcome() {
    let app = TestApp::sqlite(TWO_TARGETS).await;
    let read = app.token("dashboard", &["read"], &[]).await;
    let admin = app.token("root", &["admin"], &[]).await;
    let body = json!({"name": "ci-deploy", "scopes": ["invalidate"], "targets": ["web"]});

    // Anonymous, then a token without the scope, then the admin: three attempts.
    let anon = app.post("/api/v1/tokens", None, &body).await;
    assert_eq!(anon.status(), 401);
    let denied = app.post("/api/v1/tokens", Some(&read), &body).await;
    assert_eq!(denied.status(), 403);
    let created = app.post("/api/v1/tokens", Some(&admin), &body).await;
    assert_eq!(created.status(), 201);
    let created_id = created.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let created: Value = created.json().await.unwrap();
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("cw_"));
    assert_eq!(created["record"]["scopes"], json!(["invalidate"]));

    // The new token works, and only within its scope.
    assert_eq!(
        app.get("/api/v1/targets/web", Some(&secret)).await.status(),
        200
    );
    assert_eq!(app.get("/api/v1/audit", Some(&secret)).await.status(), 403);

    let revoked = app.delete("/api/v1/tokens/ci-deploy", Some(&admin)).await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        app.get("/api/v1/targets/web", Some(&secret)).await.status(),
        401
    );

    let entries = audit(&app, &admin).await;
    let summary: Vec<(String, String, String)> = entries
        .iter()
        .rev()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
                e["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("anonymous".into(), "token.create".into(), "denied".into()),
            ("dashboard".into(), "token.create".into(), "denied".into()),
            ("root".into(), "token.create".into(), "ok".into()),
            ("root".into(), "token.revoke".into(), "ok".into()),
        ]
    );
    // A refusal says why, in the words of its answer.
    let denied = &entries[3];
    assert_eq!(denied["outcome"], "denied");
    assert_eq!(
        denied["detail"]["error"]["code"], "unauthenticated",
        "{denied}"
    );
    assert!(
        denied["detail"]["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{denied}"
    );
    let create_entry = &entries[1];
    assert_eq!(create_entry["request_id"], created_id.as_str());
    assert_eq!(create_entry["status"], 201);
    assert_eq!(create_entry["detail"]["token"], "ci-deploy");
    assert!(create_entry["at"].as_i64().unwrap() > 1_700_000_000_000);
    // The secret is never written to the audit log.
    assert!(
        !serde_json::to_string(&entries)
            .unwrap()
            .contains(&secret[3..])
    );
}

#[tokio::test]
async fn a_token_limited_to_targets_sees_and_touches_only_those() {
    let app = TestApp::sqlite(TWO_TARGETS).await;
    let limited = app.token("web-only", &["read"], &["web"]).await;
    let all = app.token("everything", &["read"], &[]).await;

    assert_eq!(app.target_names(&limited).await, ["web"]);
    assert_eq!(app.target_names(&all).await.len(), 2);

    assert_eq!(
        app.get("/api/v1/targets/web", Some(&limited))
            .await
            .status(),
        200
    );
    let other = app.get("/api/v1/targets/sessions", Some(&limited)).await;
    assert_eq!(other.status(), 403);
    // A limited token cannot tell a missing target from a forbidden one.
    assert_eq!(
        app.get("/api/v1/targets/nosuch", Some(&limited))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.get("/api/v1/targets/nosuch", Some(&all)).await.status(),
        404
    );
}

/// One bad request: what it breaks, and the error it must give.
struct Case {
    what: &'static str,
    body: Value,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
    message: &'static str,
}

/// Each bad request, what it breaks, and the error it must give.
#[tokio::test]
async fn bad_token_requests_are_refused_naming_the_field_and_rule() {
    let app = TestApp::sqlite(TWO_TARGETS).await;
    let admin = app.token("root", &["admin"], &[]).await;
    app.token("taken", &["read"], &[]).await;
    let cases = [
        Case {
            what: "missing name",
            body: json!({"scopes": ["read"]}),
            status: 400,
            code: "invalid_json",
            field: Some("name"),
            message: "missing field `name`",
        },
        Case {
            what: "unknown field",
            body: json!({"name": "a", "scopes": ["read"], "admin": true}),
            status: 400,
            code: "invalid_json",
            field: Some("admin"),
            message: "unknown field `admin`",
        },
        Case {
            what: "bad name",
            body: json!({"name": "CI Deploy", "scopes": ["read"]}),
            status: 400,
            code: "invalid_request",
            field: Some("name"),
            message: "may contain only lowercase",
        },
        Case {
            what: "no scopes",
            body: json!({"name": "a", "scopes": []}),
            status: 400,
            code: "invalid_request",
            field: Some("scopes"),
            message: "at least one",
        },
        Case {
            what: "unknown scope",
            body: json!({"name": "a", "scopes": ["read", "root"]}),
            status: 400,
            code: "invalid_request",
            field: Some("scopes[1]"),
            message: "unknown scope \"root\"",
        },
        Case {
            what: "unknown target",
            body: json!({"name": "a", "scopes": ["read"], "targets": ["web", "wbe"]}),
            status: 400,
            code: "invalid_request",
            field: Some("targets[1]"),
            message: "not a configured target",
        },
        Case {
            what: "bad expiry",
            body: json!({"name": "a", "scopes": ["read"], "expires_in": "soon"}),
            status: 400,
            code: "invalid_request",
            field: Some("expires_in"),
            message: "not a duration",
        },
        Case {
            what: "an expiry that overflowed the clock (issue 14)",
            body: json!({"name": "a", "scopes": ["read"], "expires_in": "106751991167d"}),
            status: 400,
            code: "invalid_request",
            field: Some("expires_in"),
            message: "at most 100y",
        },
        Case {
            what: "an expiry that wrapped into the past (issue 14)",
            body: json!({"name": "a", "scopes": ["read"], "expires_in": "300000000y"}),
            status: 400,
            code: "invalid_request",
            field: Some("expires_in"),
            message: "at most 100y",
        },
        Case {
            what: "short expiry",
            body: json!({"name": "a", "scopes": ["read"], "expires_in": "5s"}),
            status: 400,
            code: "invalid_request",
            field: Some("expires_in"),
            message: "at least 1m",
        },
        Case {
            what: "wrong type",
            body: json!({"name": "a", "scopes": "read"}),
            status: 400,
            code: "invalid_json",
            field: None,
            message: "invalid type",
        },
        Case {
            what: "duplicate name",
            body: json!({"name": "taken", "scopes": ["read"]}),
            status: 409,
            code: "conflict",
            field: None,
            message: "already exists",
        },
    ];
    for Case {
        what,
        body,
        status,
        code,
        field,
        message,
    } in cases
    {
        let res = app.post("/api/v1/tokens", Some(&admin), &body).await;
        expect_error(what, res, status, code, field, message).await;
    }
    let not_json = app
        .http
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&admin)
        .body("name=a")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 415);
    let bad_limit = app.get("/api/v1/audit?limit=0", Some(&admin)).await;
    assert_eq!(bad_limit.status(), 400);
    assert_eq!(
        bad_limit.json::<Value>().await.unwrap()["error"]["field"],
        "limit"
    );
    let bad_query = app.get("/api/v1/audit?limit=ten", Some(&admin)).await;
    assert_eq!(bad_query.status(), 400);
    assert_eq!(
        bad_query.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_query"
    );
    let unknown = app.delete("/api/v1/tokens/nobody", Some(&admin)).await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn the_audit_log_filters_by_who_target_action_and_outcome_and_refuses_bad_filters() {
    let app = TestApp::sqlite(TWO_TARGETS).await;
    let admin = app.token("root", &["admin"], &[]).await;
    let read = app.token("reader", &["read"], &[]).await;
    // Two token creations (one refused for a read token), one refused invalidation.
    let body = json!({"name": "ci-deploy", "scopes": ["invalidate"]});
    app.post("/api/v1/tokens", Some(&read), &body).await;
    app.post("/api/v1/tokens", Some(&admin), &body).await;
    app.post(
        "/api/v1/invalidations",
        Some(&read),
        &json!({"target": "web", "items": ["/a"]}),
    )
    .await;
    let actions = |query: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let res = app
                .get(&format!("/api/v1/audit?{query}"), Some(&admin))
                .await;
            assert_eq!(res.status(), 200, "{query}");
            res.json::<Value>().await.unwrap()["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    format!(
                        "{} {} {}",
                        e["actor"].as_str().unwrap(),
                        e["action"].as_str().unwrap(),
                        e["outcome"].as_str().unwrap()
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        actions("action=token.create").await,
        ["root token.create ok", "reader token.create denied"]
    );
    assert_eq!(actions("outcome=denied&actor=reader").await.len(), 2);
    assert_eq!(
        actions("action=token&outcome=ok").await,
        ["root token.create ok"]
    );
    assert!(actions("target=sessions").await.is_empty());
    for (query, field, message) in [
        (
            "outcome=maybe",
            "outcome",
            "\"maybe\" is not an outcome: ok, denied, invalid or error",
        ),
        ("action=%00", "action", ""),
        ("target=a%0Ab", "target", ""),
        ("actor=%1B", "actor", ""),
    ] {
        let res = app
            .get(&format!("/api/v1/audit?{query}"), Some(&admin))
            .await;
        expect_error(query, res, 400, "invalid_request", Some(field), message).await;
    }
}
