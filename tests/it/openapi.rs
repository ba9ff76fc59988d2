//! The OpenAPI document (issue 13): it validates, it has every route the daemon registers
//! (read from the code that registers them), and the reference page renders it in a real
//! headless Chromium without any network beyond the daemon.

use std::collections::BTreeSet;
use std::process::Command;

use fantoccini::Locator;
use serde_json::Value;

use crate::harness::TestApp;
use crate::harness::browser::Browser;
use crate::harness::process::repo_root;

/// Pages that are not API routes: the dashboard, its files, and the document and its page.
const NOT_API: [&str; 4] = ["/", "/static/{file}", "/api/docs", "/api/openapi.json"];

/// (method, path) of every route registered in `file`, under `prefix`: `.route("/p",
/// web::get()…)` and `web::resource("/p").route(web::post()…)…`.
fn registered(file: &str, prefix: &str) -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(repo_root().join(file)).unwrap();
    let methods = |s: &str| -> Vec<String> {
        ["get", "post", "put", "patch", "delete"]
            .into_iter()
            .filter(|m| s.contains(&format!("web::{m}()")))
            .map(str::to_owned)
            .collect()
    };
    let mut routes = BTreeSet::new();
    // Each registration starts at one of these (a path follows, maybe after a line break)
    // and runs to the next.
    let mut starts: Vec<(usize, &str)> = text
        .match_indices("web::resource(")
        .chain(text.match_indices(".route("))
        .filter_map(|(at, marker)| {
            let rest = text[at + marker.len()..].trim_start();
            let path = rest.strip_prefix('"')?;
            Some((at, &path[..path.find('"')?]))
        })
        .collect();
    starts.sort();
    for (n, (at, path)) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(text.len(), |(next, _)| *next);
        for m in methods(&text[*at..end]) {
            routes.insert((m, format!("{prefix}{path}")));
        }
    }
    routes
}

#[tokio::test]
async fn the_document_validates_covers_every_route_and_renders_offline() {
    let app = TestApp::sqlite("").await;
    let res = app.get("/api/openapi.json", None).await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = Command::new(repo_root().join(".tools/venv/bin/openapi-spec-validator"))
        .arg(file.path())
        .output()
        .expect("openapi-spec-validator (tests/setup.sh installs it)");
    let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    // The validator quotes the whole document after its finding: the finding is enough.
    assert!(out.status.success(), "{}", &said[..said.len().min(600)]);

    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let mut routes = registered("src/http/api/mod.rs", "/api/v1");
    routes.extend(
        registered("src/http/mod.rs", "")
            .into_iter()
            .filter(|(_, p)| !NOT_API.contains(&p.as_str())),
    );
    assert!(routes.len() > 30, "the parser found the routes: {routes:?}");
    let missing: Vec<_> = routes.difference(&documented).collect();
    assert!(missing.is_empty(), "routes the document lacks: {missing:?}");
    let stale: Vec<_> = documented.difference(&routes).collect();
    assert!(
        stale.is_empty(),
        "documented routes that do not exist: {stale:?}"
    );

    // Every API operation names its bearer scheme and the error shape.
    let op = &doc["paths"]["/api/v1/invalidations"]["post"];
    assert_eq!(op["security"][0]["bearer"], serde_json::json!([]));
    assert_eq!(
        op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Error"
    );
    assert_eq!(
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/NewInvalidation"
    );
    // A job is one of a view per kind, told apart by `kind`, each with its kind's exact
    // request, progress and result.
    let schemas = &doc["components"]["schemas"];
    let job = &schemas["JobView"];
    assert_eq!(job["discriminator"]["propertyName"], "kind", "{job}");
    let fields = &schemas["Job_cloudfront_invalidation"];
    assert_eq!(
        fields["properties"]["state"]["$ref"], "#/components/schemas/JobState",
        "{fields}"
    );
    assert_eq!(
        fields["properties"]["kind"]["enum"],
        serde_json::json!(["cloudfront_invalidation"])
    );
    assert_eq!(
        fields["properties"]["request"]["$ref"],
        "#/components/schemas/InvalidationRequest"
    );
    assert!(
        fields["properties"]["cancel_requested"].is_object(),
        "{fields}"
    );
    // A purge's body is the target beside the purge's own fields, in one object (no allOf
    // a client generator cannot satisfy).
    let purge = &schemas["NewPurge"];
    assert_eq!(purge["additionalProperties"], false, "{purge}");
    assert!(
        purge["properties"]["target"].is_object() && purge["properties"]["patterns"].is_object(),
        "{purge}"
    );
    assert_eq!(purge["required"], serde_json::json!(["target"]), "{purge}");

    // The reference page, in a real browser: everything it needs comes from the daemon.
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&app.url("/api/docs")).await.unwrap();
    let section = c
        .wait()
        .for_element(Locator::Css("#tag-invalidations"))
        .await
        .expect("the page rendered the document");
    assert_eq!(section.text().await.unwrap(), "invalidations");
    let text = c
        .find(Locator::Css("#reference"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for want in [
        "/api/v1/invalidations/{id}/cancel",
        "Idempotency-Key",
        "NewInvalidation",
        "Needs a bearer token.",
    ] {
        assert!(text.contains(want), "{want} not on the page");
    }
    browser.close().await;
}
