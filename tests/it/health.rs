//! `/healthz`, `/readyz`, `/metrics`, and the error shape of unknown routes.

use std::process::Command;

use crate::harness::TestApp;
use crate::harness::process::repo_root;

/// Parses Prometheus text with the reference Python parser (prometheus_client, installed by
/// tests/setup.sh) and returns the metric family names it found.
fn parse_prometheus(text: &str) -> Vec<String> {
    let python = repo_root().join(".tools/venv/bin/python");
    let out = Command::new(&python)
        .args([
            "-c",
            "import sys\nfrom prometheus_client.parser import text_string_to_metric_families as p\n\
             for f in p(sys.stdin.read()):\n    print(f.name, f.type, len(f.samples))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())
                .expect("write metrics");
            child.wait_with_output().expect("parser output")
        })
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e} (run bash tests/run.sh once)",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "the Prometheus parser refused /metrics:\n{}\n---\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.to_owned())
        .collect()
}

#[tokio::test]
async fn health_ready_and_metrics_answer_without_a_token() {
    let app = TestApp::sqlite("").await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );

    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["checks"]["database"],
        "ok"
    );

    // One request that fails, so the request counter has a 4xx series too.
    assert_eq!(app.get("/api/v1/audit", None).await.status(), 401);

    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = metrics.text().await.unwrap();
    let families = parse_prometheus(&text);
    for want in [
        "cachewarden_build_info gauge 1",
        "cachewarden_http_requests counter",
        "cachewarden_http_request_duration_seconds histogram",
    ] {
        assert!(
            families.iter().any(|f| f.starts_with(want)),
            "missing {want:?} in {families:?}"
        );
    }
    // Requests are counted by route pattern and status.
    assert!(
        text.contains(
            r#"cachewarden_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"cachewarden_http_requests_total{method="GET",route="/api/v1/audit",status="401"} 1"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::sqlite("").await;
    app.store.close().await;
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), 503);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["checks"]["database"],
        "unreachable"
    );
}

#[tokio::test]
async fn unknown_routes_get_a_json_error_with_a_request_id() {
    let app = TestApp::sqlite("").await;
    let res = app.get("/no/such/page", None).await;
    assert_eq!(res.status(), 404);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["request_id"], id.as_str());
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/no/such/page")
    );
}
