//! A target in another AWS account (issue 22, item 1): with `role_arn` it is polled and
//! invalidated in the account that owns it, through STS AssumeRole in moto (the account in
//! the role's ARN is its own isolated backend), and no credential reaches the log.

use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use cachewarden::store::{Resolution, SeriesQuery};

use crate::harness::TestApp;
use crate::harness::moto::{Moto, create_distribution, put_metric};
use crate::harness::process::wait_until;
use crate::harness::replica::{Replica, admin_token, aws_env};

const ROLE: &str = "arn:aws:iam::111111111111:role/cachewarden";

/// The configuration as the account's owner reaches it: the role assumed by the SDK itself.
async fn their_account(sdk: &aws_config::SdkConfig) -> aws_config::SdkConfig {
    crate::harness::fleet::assumed(sdk, ROLE).await
}

/// A distribution in account 111111111111 with a minute of metrics; its id and that minute.
async fn distribution_in_their_account(theirs: &aws_config::SdkConfig) -> (String, i64) {
    let id = create_distribution(&cachewarden::aws::cloudfront(theirs)).await;
    let cw = cachewarden::aws::cloudwatch(theirs, Some("us-east-1"));
    let now = chrono::Utc::now().timestamp();
    let minute = now - now % 60 - 180;
    let dims = [("DistributionId", id.as_str()), ("Region", "Global")];
    put_metric(&cw, "AWS/CloudFront", "CacheHitRate", &dims, minute, 90.0).await;
    put_metric(&cw, "AWS/CloudFront", "Requests", &dims, minute, 1000.0).await;
    (id, minute)
}

#[tokio::test]
async fn a_target_with_a_role_is_polled_and_invalidated_in_its_own_account() {
    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let theirs = their_account(&sdk).await;
    let (id, _) = distribution_in_their_account(&theirs).await;
    let ours = cachewarden::aws::cloudfront(&sdk);
    assert!(
        ours.get_distribution().id(&id).send().await.is_err(),
        "the default account does not have the distribution"
    );

    let config = format!(
        "[aws]\nregion = \"eu-west-1\"\n[invalidation]\ncoalesce_window = \"10ms\"\n\
         [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"{id}\"\n\
         role_arn = \"{ROLE}\"\nexternal_id = \"ext-4242\"\n"
    );
    let app = TestApp::with_aws_running(&config, sdk.clone()).await;
    let reports = app.collector().poll_all_once().await;
    assert!(reports.iter().all(|r| r.error.is_none()), "{reports:?}");
    let q = |series: &str| SeriesQuery {
        target: "web".into(),
        node: String::new(),
        series: series.into(),
        from: 0,
        to: i64::MAX,
        resolution: Resolution::Raw,
        detail: false,
    };
    let reader = app.token("reader", &["read"], &[]).await;
    let view = app.get_json("/api/v1/targets/web", Some(&reader)).await;
    assert_eq!(
        (view["account"].as_str(), view["role_arn"].as_str()),
        (Some("111111111111"), Some(ROLE)),
        "the API says which account: {view}"
    );
    assert!(
        !view.to_string().contains("ext-4242"),
        "the external id is not shown"
    );
    let requests: Vec<f64> = app
        .store
        .read_series(&q("requests"))
        .await
        .unwrap()
        .iter()
        .map(|p| p.value)
        .collect();
    assert_eq!(requests, [1000.0], "read from the account's CloudWatch");

    let token = app.token("ci", &["invalidate"], &[]).await;
    let run = app
        .cli(
            Some(&token),
            &[
                "invalidate",
                "--target",
                "web",
                "--path",
                "/theirs/*",
                "--wait",
                "--timeout",
                "60s",
                "--json",
            ],
        )
        .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let listed = cachewarden::aws::cloudfront(&theirs)
        .list_invalidations()
        .distribution_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.invalidation_list().map(|l| l.quantity()),
        Some(1),
        "the invalidation was made in the account that owns the distribution"
    );
    app.stop().await;
}

/// A daemon assuming a role, polling and discovering with it at debug level: neither the static
/// credentials it starts from, nor the role's (moto's start with ASIA), nor the external id
/// appear in its log.
#[tokio::test]
async fn assumed_credentials_never_reach_the_log() {
    let moto = Moto::start();
    let sdk = moto.sdk_config("us-east-1").await;
    let theirs = their_account(&sdk).await;
    let (id, _) = distribution_in_their_account(&theirs).await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cw.db").display());
    let toml = format!(
        "[database]\nurl = \"{db}\"\n[aws]\nregion = \"us-east-1\"\nendpoint = \"{}\"\n\
         [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"{id}\"\n\
         role_arn = \"{ROLE}\"\nexternal_id = \"ext-4242-secret\"\nevery = \"1s\"\n\
         [[discover]]\nname = \"theirs\"\nkinds = [\"cloudfront\"]\n\
         accounts = [{{ role_arn = \"{ROLE}\", external_id = \"ext-4242-secret\" }}]\n",
        moto.endpoint()
    );
    let config = dir.path().join("cw.toml");
    std::fs::write(&config, &toml).unwrap();
    let admin = admin_token(&toml, &db).await;
    let mut env = aws_env();
    env.push(("RUST_LOG", "debug".into()));
    let daemon = Replica::start("daemon", &config, dir.path(), &env);
    let http = reqwest::Client::new();
    wait_until(
        "the target is polled with the role",
        Duration::from_secs(30),
        || async {
            let t = daemon.get_json(&http, "/api/v1/targets/web", &admin).await;
            t["up"] == true
        },
    )
    .await;
    // Discovery, through the same role, finds the distribution too.
    let found = format!(
        "/api/v1/targets/111111111111-us-east-1-{}",
        id.to_lowercase()
    );
    wait_until(
        "the distribution is discovered with the role",
        Duration::from_secs(30),
        || async { daemon.get_json(&http, &found, &admin).await["discovered_by"] == "theirs" },
    )
    .await;
    let log = daemon.log();
    assert!(
        log.contains("GetMetricData") || log.contains("Polled"),
        "the log has the polls: {log}"
    );
    for secret in ["ext-4242-secret", "SessionToken"] {
        assert!(!log.contains(secret), "{secret:?} is in the log:\n{log}");
    }
    let keys: Vec<&str> = log
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() == 20 && w.starts_with("ASIA"))
        .collect();
    assert!(keys.is_empty(), "assumed access keys in the log: {keys:?}");
}

/// A role that cannot be assumed is named on the target, with the action, in one sentence.
#[tokio::test]
async fn a_role_that_cannot_be_assumed_is_named_on_the_target() {
    use aws_credential_types::credential_fn::provide_credentials_fn;
    use aws_credential_types::provider::error::CredentialsError;
    let moto = Moto::start();
    // cachewarden's own identity has no credentials, so STS refuses before anything else.
    let none = moto
        .sdk_config("eu-west-1")
        .await
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provide_credentials_fn(
            || async { Err(CredentialsError::not_loaded("no identity in this test")) },
        )))
        .build();
    let config = format!(
        "[aws]\nregion = \"eu-west-1\"\n\
         [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n\
         role_arn = \"{ROLE}\"\n"
    );
    let app = TestApp::with_aws(&config, none).await;
    let reports = app.collector().poll_all_once().await;
    let error = reports[0].error.clone().unwrap_or_default();
    assert!(
        error.starts_with("GetMetricData failed: ")
            && error.contains(&format!("cannot assume role {ROLE} (sts:AssumeRole)")),
        "{error}"
    );
    app.stop().await;
}
