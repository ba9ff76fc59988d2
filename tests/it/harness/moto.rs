//! moto_server, the AWS emulator, reached through the SDKs' endpoint override.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use super::process::{Proc, free_port, http_get, repo_root};

/// One target of each CloudWatch kind (eu-west-1; CloudFront reads us-east-1), matching the
/// dimensions the tests publish with `put_metric`.
pub const CLOUDWATCH_TARGETS: &str = r#"
[aws]
region = "eu-west-1"

[[targets]]
name = "catalog-1"
kind = "elasticache"
cache_cluster_id = "catalog-0001-001"

[[targets]]
name = "web"
kind = "cloudfront"
distribution_id = "E2QWRUHEXAMPLE"

[[targets]]
name = "shop-api"
kind = "apigateway"
api_name = "storefront"
stage = "prod"

[[targets]]
name = "orders-dax"
kind = "dax"
cluster_id = "orders"
"#;

pub struct Moto {
    pub port: u16,
    proc: Proc,
    _dir: TempDir,
}

/// `CACHEWARDEN_MOTO_SERVER`, else the virtual environment that `tests/setup.sh` makes.
fn binary() -> PathBuf {
    std::env::var_os("CACHEWARDEN_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools/venv/bin/moto_server"))
}

impl Moto {
    pub fn start() -> Moto {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut cmd = Command::new(binary());
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let mut proc = Proc::spawn(
            "moto_server",
            cmd,
            libc::SIGTERM,
            &dir.path().join("moto.log"),
        );
        proc.wait_ready(Duration::from_secs(30), || {
            http_get(port, "/moto-api/")
                .is_some_and(|r| r.starts_with("HTTP/1.1 200") || r.starts_with("HTTP/1.0 200"))
        });
        Moto {
            port,
            proc,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SDK settings pointing at this emulator, with static test credentials.
    pub async fn sdk_config(&self, region: &str) -> aws_config::SdkConfig {
        sdk_config_at(&self.endpoint(), region).await
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }
}

/// SDK settings whose every call goes to `endpoint`, with static test credentials.
pub async fn sdk_config_at(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    let settings = cachewarden::config::AwsSettings {
        region: Some(region.to_owned()),
        endpoint: Some(endpoint.parse().expect("valid URL")),
        profile: None,
    };
    cachewarden::aws::loader(&settings)
        .credentials_provider(aws_credential_types::Credentials::for_tests())
        .load()
        .await
}

/// Creates a distribution in the emulator and returns its id.
pub async fn create_distribution(cf: &aws_sdk_cloudfront::Client) -> String {
    use aws_sdk_cloudfront::types::{
        CustomOriginConfig, DefaultCacheBehavior, DistributionConfig, Origin, OriginProtocolPolicy,
        Origins, ViewerProtocolPolicy,
    };
    let origin = Origin::builder()
        .id("origin-1")
        .domain_name("origin.example.com")
        .custom_origin_config(
            CustomOriginConfig::builder()
                .http_port(80)
                .https_port(443)
                .origin_protocol_policy(OriginProtocolPolicy::HttpsOnly)
                .build()
                .expect("origin config"),
        )
        .build()
        .expect("origin");
    let config = DistributionConfig::builder()
        .caller_reference(uuid::Uuid::new_v4().to_string())
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .expect("origins"),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("origin-1")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .cache_policy_id("658327ea-f89d-4fab-a63d-7e88639e58f6")
                .build()
                .expect("cache behavior"),
        )
        .comment("cachewarden test")
        .enabled(true)
        .build()
        .expect("distribution config");
    let out = cf
        .create_distribution()
        .distribution_config(config)
        .send()
        .await
        .expect("CreateDistribution against moto");
    out.distribution().expect("a distribution").id().to_owned()
}

/// Writes one datapoint (`ts` in epoch seconds) into the emulator's CloudWatch.
pub async fn put_metric(
    cw: &aws_sdk_cloudwatch::Client,
    ns: &str,
    metric: &str,
    dims: &[(&str, &str)],
    ts: i64,
    value: f64,
) {
    let dims: Vec<aws_sdk_cloudwatch::types::Dimension> = dims
        .iter()
        .map(|(k, v)| {
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name(*k)
                .value(*v)
                .build()
        })
        .collect();
    cw.put_metric_data()
        .namespace(ns)
        .metric_data(
            aws_sdk_cloudwatch::types::MetricDatum::builder()
                .metric_name(metric)
                .set_dimensions(Some(dims))
                .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_secs(ts))
                .value(value)
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {metric}: {e}"));
}
