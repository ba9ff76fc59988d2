//! The standard response headers, set once in middleware: a Content-Security-Policy that
//! allows only the daemon's own scripts and styles, no framing, no MIME sniffing, no
//! referrer to other sites, and `no-store` on everything per person (a new token, the setup
//! page). Checked per header over HTTP, and in headless Chromium: every page works under the
//! policy with nothing in the console, and an inline style is refused.

use cachewarden::domain::Role;
use reqwest::header::HeaderMap;
use serde_json::json;

use crate::harness::TestApp;
use crate::harness::browser::{Browser, console_errors, screenshot, wait_for};
use crate::harness::people::sign_in_browser;

const HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
];

fn check(what: &str, headers: &HeaderMap, cache: &str) {
    for (name, value) in HEADERS {
        assert_eq!(
            headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{what}: {name}"
        );
    }
    assert_eq!(
        headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some(cache),
        "{what}: cache-control"
    );
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_secrets_are_not_stored() {
    let app = TestApp::sqlite("").await;
    let setup = app.setup_link.clone().expect("nobody exists yet");
    let admin = app.token("root", &["admin"], &[]).await;
    let raw = |path: &str| {
        let url = app.url(path);
        async move {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .get(url)
                .send()
                .await
                .unwrap()
        }
    };
    // (what, answer, Cache-Control expected)
    let setup_page = raw(&setup).await;
    assert_eq!(setup_page.status(), 200);
    check("the setup page", setup_page.headers(), "no-store");
    check(
        "the sign-in page",
        raw("/sign-in").await.headers(),
        "no-store",
    );
    check(
        "a page before sign-in (303)",
        raw("/").await.headers(),
        "no-store",
    );
    check("healthz", raw("/healthz").await.headers(), "no-store");
    check("a 404", raw("/nowhere").await.headers(), "no-store");
    check(
        "a static file",
        raw("/static/app.css").await.headers(),
        "public, max-age=300",
    );
    check(
        "the API reference",
        raw("/api/docs").await.headers(),
        "no-cache",
    );
    let unauthorised = app.get("/api/v1/targets", None).await;
    assert_eq!(unauthorised.status(), 401);
    check("a 401", unauthorised.headers(), "no-store");
    let read = app.get("/api/v1/targets", Some(&admin)).await;
    assert_eq!(read.status(), 200);
    check("an API answer", read.headers(), "no-store");
    let created = app
        .post(
            "/api/v1/tokens",
            Some(&admin),
            &json!({"name": "ci", "scopes": ["read"]}),
        )
        .await;
    assert_eq!(created.status(), 201);
    check("a new token", created.headers(), "no-store");

    app.person("root-person", Role::Admin, &[]).await;
    let s = app.sign_in("root-person").await;
    let tokens = app
        .submit(&s, "/tokens", &[("name", "deploy"), ("scopes", "read")])
        .await;
    assert!(tokens.status.is_success(), "{}", tokens.body);
    check("the page showing a new token", &tokens.headers, "no-store");
    let page = app.page(Some(&s.cookie), "/").await;
    assert_eq!(page.status, 200);
    check("the overview", &page.headers, "no-store");
}

#[tokio::test]
async fn every_page_works_under_the_policy_and_an_inline_style_is_refused() {
    let redis = crate::harness::redis::RedisServer::start();
    let app = TestApp::sqlite(&format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\npurge_prefixes = [\"product:\"]\n\
         [[alarms]]\nname = \"sessions-hit-rate\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.8\n",
        redis.url()
    ))
    .await;
    app.collector().poll_target_once("sessions").await.unwrap();
    let ops = app.token("ops", &["purge"], &[]).await;
    let job = app
        .post(
            "/api/v1/purges",
            Some(&ops),
            &json!({"target": "sessions", "keys": ["product:1"]}),
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    app.jobs
        .run_once(cachewarden::store::now_ms())
        .await
        .unwrap();
    app.person("root", Role::Admin, &[]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    sign_in_browser(c, &app, "root").await;
    for (path, ready) in [
        ("/".to_owned(), "main h1"),
        ("/targets/sessions".to_owned(), "#target-status"),
        ("/alarms".to_owned(), "main h1"),
        ("/jobs".to_owned(), "#live"),
        (format!("/jobs/{job}"), "#job-state"),
        ("/invalidate".to_owned(), "main h1"),
        ("/purge".to_owned(), "main h1"),
        ("/tokens".to_owned(), "main h1"),
        ("/audit".to_owned(), "main h1"),
        ("/api/docs".to_owned(), ".op"),
    ] {
        c.goto(&app.url(&path)).await.unwrap();
        wait_for(c, ready).await;
        assert_eq!(
            console_errors(c).await,
            Vec::<String>::new(),
            "nothing in the console on {path}"
        );
    }
    screenshot(c, "api-docs-under-csp").await;
    // The policy is enforced: markup that tries to style itself inline is refused.
    c.execute(
        "document.body.insertAdjacentHTML('beforeend', '<p id=\"inline\" style=\"color: rgb(1, 2, 3)\">x</p>'); return null;",
        vec![],
    )
    .await
    .unwrap();
    let colour = wait_for(c, "#inline")
        .await
        .css_value("color")
        .await
        .unwrap();
    assert_ne!(
        colour, "rgba(1, 2, 3, 1)",
        "the inline style was not applied"
    );
    let refused = console_errors(c).await;
    assert!(
        refused
            .iter()
            .any(|m| m.contains("Content Security Policy") && m.contains("style")),
        "the refusal is in the console: {refused:?}"
    );
    browser.close().await;
}
