//! The series and cost endpoints: choices, limits and bad input.

use serde_json::Value;

use crate::harness::TestApp;
use crate::harness::app::expect_error;

const CONFIG: &str = "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1\"\n\
    [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\nevery = \"1m\"\n";

#[tokio::test]
async fn the_resolution_follows_the_range() {
    let app = TestApp::sqlite(CONFIG).await;
    let token = app.token("viewer", &["read"], &[]).await;
    let now = cachewarden::store::now_ms();
    for (from_ago_hours, want) in [(1, "raw"), (72, "5m"), (24 * 20, "1h")] {
        let from = now - from_ago_hours * 3_600_000;
        let body: Value = app
            .get(
                &format!("/api/v1/targets/sessions/series?metric=hit_rate&from={from}&to={now}"),
                Some(&token),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["resolution"], want, "{from_ago_hours} h");
        assert_eq!(body["points"], Value::Array(vec![]));
    }
    let rfc: Value = app
        .get("/api/v1/targets/sessions/series?metric=up&from=2026-11-01T00:00:00Z&to=2026-11-01T01:00:00Z", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rfc["from"], 1_793_491_200_000_i64);
}

#[tokio::test]
async fn bad_series_requests_name_the_field() {
    let app = TestApp::sqlite(CONFIG).await;
    let token = app.token("viewer", &["read"], &[]).await;
    let limited = app.token("web-only", &["read"], &["web"]).await;
    let cases: [(&str, u16, &str, Option<&str>); 12] = [
        (
            "/api/v1/targets/sessions/series",
            400,
            "invalid_request",
            Some("metric"),
        ),
        (
            "/api/v1/targets/sessions/series?metric=Hit-Rate",
            400,
            "invalid_request",
            Some("metric"),
        ),
        // A series another kind records: CloudFront has no evictions.
        (
            "/api/v1/targets/web/series?metric=evictions",
            400,
            "invalid_request",
            Some("metric"),
        ),
        (
            "/api/v1/targets/sessions/series?metric=up&from=yesterday",
            400,
            "invalid_request",
            Some("from"),
        ),
        (
            "/api/v1/targets/sessions/series?metric=up&from=2000&to=1000",
            400,
            "invalid_request",
            Some("from"),
        ),
        // Times at the ends of i64 once panicked the handler (issue 14): refused, not computed.
        (
            "/api/v1/targets/sessions/series?metric=up&from=-9223372036854775808",
            400,
            "invalid_request",
            Some("from"),
        ),
        (
            "/api/v1/targets/sessions/series?metric=up&to=9223372036854775807",
            400,
            "invalid_request",
            Some("to"),
        ),
        (
            "/api/v1/targets/sessions/series?metric=up&to=-1",
            400,
            "invalid_request",
            Some("to"),
        ),
        (
            "/api/v1/targets/sessions/series?metric=up&resolution=10s",
            400,
            "invalid_query",
            Some("resolution"),
        ),
        (
            "/api/v1/targets/sessions/series?metric=up&colour=red",
            400,
            "invalid_query",
            Some("colour"),
        ),
        (
            "/api/v1/targets/nosuch/series?metric=up",
            404,
            "not_found",
            None,
        ),
        (
            "/api/v1/targets/Bad%20Name/series?metric=up",
            400,
            "invalid_request",
            Some("name"),
        ),
    ];
    for (path, status, code, field) in cases {
        let res = app.get(path, Some(&token)).await;
        expect_error(path, res, status, code, field, "").await;
    }
    assert_eq!(
        app.get("/api/v1/targets/sessions/series?metric=up", Some(&limited))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.get("/api/v1/targets/web/series?metric=up", Some(&limited))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_cloudwatch_cost_of_the_configured_polling() {
    let app = TestApp::sqlite(CONFIG).await;
    let token = app.token("viewer", &["read"], &[]).await;
    let body: Value = app
        .get("/api/v1/cloudwatch/cost", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["metrics_per_month"], 259_200.0);
    assert!((body["usd_per_month"].as_f64().unwrap() - 2.592).abs() < 1e-9);
    assert_eq!(body["targets"][0]["target"], "web");
    assert_eq!(body["targets"][0]["metrics_per_poll"], 6);
    assert_eq!(app.get("/api/v1/cloudwatch/cost", None).await.status(), 401);
}
