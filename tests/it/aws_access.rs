//! A daemon without AWS credentials, as on a laptop with the default configuration: what people
//! see is one sentence saying what to do, and the log keeps the SDK's whole chain (issue 14).

use std::time::Duration;

use crate::harness::moto::Moto;
use crate::harness::process::wait_until;
use crate::harness::replica::{Replica, admin_token};

#[tokio::test]
async fn without_credentials_the_error_is_one_sentence_and_the_chain_is_logged() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cw.db").display());
    let toml = format!(
        "[database]\nurl = \"{db}\"\n[aws]\nregion = \"us-east-1\"\nendpoint = \"{}\"\n\
         [[targets]]\nname = \"catalog\"\nkind = \"elasticache\"\ncache_cluster_id = \"catalog-0001-001\"\n\
         engine = \"redis\"\nevery = \"1s\"\n",
        moto.endpoint()
    );
    let config = dir.path().join("cw.toml");
    std::fs::write(&config, &toml).unwrap();
    let admin = admin_token(&toml, &db).await;
    crate::harness::people::add_person_at(&db, "vera", cachewarden::domain::Role::Viewer).await;
    // No AWS variables at all (the harness removes the machine's).
    let daemon = Replica::start("daemon", &config, dir.path(), &[]);
    let http = reqwest::Client::new();

    let error_of = || async {
        let t = daemon
            .get_json(&http, "/api/v1/targets/catalog", &admin)
            .await;
        t["last_error"].as_str().unwrap_or_default().to_owned()
    };
    wait_until(
        "the poll reports its error",
        Duration::from_secs(30),
        || async { !error_of().await.is_empty() },
    )
    .await;
    let error = error_of().await;
    assert_eq!(
        error,
        "GetMetricData failed: no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID \
         and AWS_SECRET_ACCESS_KEY, or run with an instance or task role"
    );

    let web = crate::harness::people::Web {
        base: daemon.url(""),
        from: None,
    };
    let vera = web.sign_in("vera").await;
    let page = web.page(Some(&vera.cookie), "/").await.body;
    assert!(page.contains("no AWS credentials found"), "{page}");
    assert!(!page.contains("dispatch failure"), "{page}");

    let log = daemon.log();
    assert!(
        log.contains("An AWS call failed.") && log.contains("dispatch failure"),
        "the whole chain is in the log: {log}"
    );
}
