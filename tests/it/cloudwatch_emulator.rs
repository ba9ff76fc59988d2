//! The CloudWatch path end to end against moto: proves the SDK pin (see Cargo.toml) speaks a
//! protocol the emulator understands, through the same client construction the daemon uses.

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, StandardUnit,
};

use crate::harness::moto::Moto;

#[tokio::test]
async fn put_then_get_metric_data_round_trips_through_moto() {
    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let cw = cachewarden::aws::cloudwatch(&sdk, None);
    let now = chrono::Utc::now().timestamp();
    let minute = now - now % 60 - 120;
    let dim = Dimension::builder()
        .name("CacheClusterId")
        .value("rg-0001-001")
        .build();
    cw.put_metric_data()
        .namespace("AWS/ElastiCache")
        .metric_data(
            MetricDatum::builder()
                .metric_name("CacheHitRate")
                .dimensions(dim.clone())
                .timestamp(DateTime::from_secs(minute))
                .value(87.5)
                .unit(StandardUnit::Percent)
                .build(),
        )
        .send()
        .await
        .expect("PutMetricData against moto");

    let out = cw
        .get_metric_data()
        .start_time(DateTime::from_secs(minute - 600))
        .end_time(DateTime::from_secs(now + 60))
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("hit")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/ElastiCache")
                                .metric_name("CacheHitRate")
                                .dimensions(dim)
                                .build(),
                        )
                        .period(60)
                        .stat("Average")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("GetMetricData against moto");
    let result = &out.metric_data_results()[0];
    assert_eq!(result.id(), Some("hit"));
    assert_eq!(result.values(), [87.5]);
    assert_eq!(result.timestamps()[0].secs(), minute);
}

#[tokio::test]
async fn the_cloudfront_client_reaches_moto_in_us_east_1() {
    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let cf = cachewarden::aws::cloudfront(&sdk);
    assert_eq!(cf.config().region().map(|r| r.as_ref()), Some("us-east-1"));
    let list = cf
        .list_distributions()
        .send()
        .await
        .expect("ListDistributions against moto");
    assert_eq!(list.distribution_list().map(|l| l.quantity()), Some(0));
}
