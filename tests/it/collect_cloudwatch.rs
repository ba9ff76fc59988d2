//! CloudWatch kinds against moto: datapoints written with PutMetricData come back as samples
//! with the right values and timestamps, in batched calls; a revised datapoint replaces the
//! stored one.

use cachewarden::store::{Resolution, SeriesQuery};
use serde_json::json;
use std::sync::atomic::Ordering;

use crate::harness::TestApp;
use crate::harness::moto::{CLOUDWATCH_TARGETS, Moto, put_metric as put};

/// The shared targets and one more distribution without additional metrics.
fn config() -> String {
    format!(
        "{CLOUDWATCH_TARGETS}\n[[targets]]\nname = \"dark-cdn\"\nkind = \"cloudfront\"\ndistribution_id = \"E1NOADDITIONAL\"\n"
    )
}

async fn points(app: &TestApp, target: &str, series: &str) -> Vec<(i64, f64)> {
    let q = SeriesQuery {
        target: target.into(),
        node: String::new(),
        series: series.into(),
        from: 0,
        to: i64::MAX,
        resolution: Resolution::Raw,
        detail: false,
    };
    app.store
        .read_series(&q)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.ts, p.value))
        .collect()
}

#[tokio::test]
async fn every_cloudwatch_kind_becomes_samples_and_revisions_replace_them() {
    let moto = Moto::start();
    let eu = moto.sdk_config("eu-west-1").await;
    let us = cachewarden::aws::cloudwatch(&eu, Some("us-east-1"));
    let cw = cachewarden::aws::cloudwatch(&eu, None);
    let now = chrono::Utc::now().timestamp();
    let minute = now - now % 60 - 180;
    let ms = minute * 1000;

    put(
        &cw,
        "AWS/ElastiCache",
        "CacheHitRate",
        &[("CacheClusterId", "catalog-0001-001")],
        minute,
        80.0,
    )
    .await;
    put(
        &cw,
        "AWS/ElastiCache",
        "CacheHits",
        &[("CacheClusterId", "catalog-0001-001")],
        minute,
        800.0,
    )
    .await;
    put(
        &cw,
        "AWS/ElastiCache",
        "CacheMisses",
        &[("CacheClusterId", "catalog-0001-001")],
        minute,
        200.0,
    )
    .await;
    put(
        &cw,
        "AWS/ElastiCache",
        "Evictions",
        &[("CacheClusterId", "catalog-0001-001")],
        minute,
        7.0,
    )
    .await;
    // CloudFront metrics live in us-east-1 whatever the configured region.
    let cf = [("DistributionId", "E2QWRUHEXAMPLE"), ("Region", "Global")];
    put(&us, "AWS/CloudFront", "CacheHitRate", &cf, minute, 90.0).await;
    put(&us, "AWS/CloudFront", "Requests", &cf, minute, 1000.0).await;
    put(
        &us,
        "AWS/CloudFront",
        "Requests",
        &[("DistributionId", "E1NOADDITIONAL"), ("Region", "Global")],
        minute,
        50.0,
    )
    .await;
    let api = [("ApiName", "storefront"), ("Stage", "prod")];
    put(&cw, "AWS/ApiGateway", "CacheHitCount", &api, minute, 30.0).await;
    put(&cw, "AWS/ApiGateway", "CacheMissCount", &api, minute, 10.0).await;
    put(&cw, "AWS/ApiGateway", "Count", &api, minute, 40.0).await;
    // DAX: only hits published this minute; absent misses mean zero.
    put(
        &cw,
        "AWS/DAX",
        "ItemCacheHits",
        &[("ClusterId", "orders")],
        minute,
        9.0,
    )
    .await;
    put(
        &cw,
        "AWS/DAX",
        "QueryCacheMisses",
        &[("ClusterId", "orders")],
        minute,
        4.0,
    )
    .await;

    let app = TestApp::with_aws(&config(), eu.clone()).await;
    let reports = app.collector().poll_all_once().await;
    assert_eq!(
        reports.len(),
        2,
        "one batch for eu-west-1 and one for us-east-1: {reports:?}"
    );
    assert!(reports.iter().all(|r| r.error.is_none()), "{reports:?}");
    assert_eq!(
        app.collector()
            .cloudwatch_calls
            .calls
            .load(Ordering::Relaxed),
        2,
        "one GetMetricData call per region"
    );

    assert_eq!(points(&app, "catalog-1", "hit_rate").await, [(ms, 0.8)]);
    assert_eq!(points(&app, "catalog-1", "hits").await, [(ms, 800.0)]);
    assert_eq!(points(&app, "catalog-1", "evictions").await, [(ms, 7.0)]);
    assert_eq!(points(&app, "web", "hit_rate").await, [(ms, 0.9)]);
    assert_eq!(points(&app, "web", "requests").await, [(ms, 1000.0)]);
    assert_eq!(points(&app, "shop-api", "hit_rate").await, [(ms, 0.75)]);
    assert_eq!(points(&app, "shop-api", "requests").await, [(ms, 40.0)]);
    assert_eq!(
        points(&app, "orders-dax", "item_hit_rate").await,
        [(ms, 1.0)]
    );
    assert_eq!(points(&app, "orders-dax", "item_misses").await, [(ms, 0.0)]);
    assert_eq!(
        points(&app, "orders-dax", "query_hit_rate").await,
        [(ms, 0.0)]
    );
    assert_eq!(points(&app, "orders-dax", "query_hits").await, [(ms, 0.0)]);
    // DAX's hit rate, as its kind says, is its item cache's: shown where other kinds show theirs.
    let token = app.token("reader", &["read"], &[]).await;
    let dax = app
        .get_json("/api/v1/targets/orders-dax", Some(&token))
        .await;
    assert_eq!(
        (&dax["hit_rate_series"], &dax["hit_rate"], &dax["state"]),
        (&json!("item_hit_rate"), &json!(1.0), &json!("up"))
    );

    // The distribution without additional metrics is up, with a notice saying what to enable.
    let statuses = app.store.list_target_status().await.unwrap();
    let dark = statuses.iter().find(|s| s.target == "dark-cdn").unwrap();
    assert!(dark.up);
    assert!(
        dark.notice
            .as_deref()
            .unwrap()
            .contains("enable the distribution's additional metrics"),
        "{dark:?}"
    );
    assert!(
        statuses
            .iter()
            .find(|s| s.target == "web")
            .unwrap()
            .notice
            .is_none()
    );

    // CloudWatch revises the minute (a second datapoint: the Average becomes 70 %); the next
    // poll re-reads the window and the stored value is replaced, not duplicated.
    put(
        &cw,
        "AWS/ElastiCache",
        "CacheHitRate",
        &[("CacheClusterId", "catalog-0001-001")],
        minute,
        60.0,
    )
    .await;
    app.collector().poll_all_once().await;
    let revised = points(&app, "catalog-1", "hit_rate").await;
    assert_eq!(revised.len(), 1, "{revised:?}");
    assert_eq!(revised[0].0, ms);
    assert!((revised[0].1 - 0.7).abs() < 1e-9, "{revised:?}");
}

#[tokio::test]
async fn more_than_500_metrics_are_split_into_calls_of_500() {
    let moto = Moto::start();
    let eu = moto.sdk_config("eu-west-1").await;
    // 101 API Gateway stages × 4 metrics = 404 queries; 26 DAX clusters × 5 = 130: 534 in all.
    let mut config = String::from("[aws]\nregion = \"eu-west-1\"\n");
    for i in 0..101 {
        config.push_str(&format!("[[targets]]\nname = \"api-{i}\"\nkind = \"apigateway\"\napi_name = \"a{i}\"\nstage = \"prod\"\n"));
    }
    for i in 0..26 {
        config.push_str(&format!(
            "[[targets]]\nname = \"dax-{i}\"\nkind = \"dax\"\ncluster_id = \"c{i}\"\n"
        ));
    }
    let cw = cachewarden::aws::cloudwatch(&eu, None);
    let now = chrono::Utc::now().timestamp();
    let minute = now - now % 60 - 120;
    put(
        &cw,
        "AWS/DAX",
        "ItemCacheHits",
        &[("ClusterId", "c25")],
        minute,
        3.0,
    )
    .await;
    let app = TestApp::with_aws(&config, eu).await;
    let reports = app.collector().poll_all_once().await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].error, None);
    assert_eq!(
        app.collector()
            .cloudwatch_calls
            .calls
            .load(Ordering::Relaxed),
        2
    );
    assert_eq!(
        app.collector()
            .cloudwatch_calls
            .metrics_requested
            .load(Ordering::Relaxed),
        534
    );
    // The last target's answers (in the second call) reach the right target.
    assert_eq!(
        points(&app, "dax-25", "item_hits").await,
        [(minute * 1000, 3.0)]
    );
}
