//! Our faults answer 500 with an opaque body and the request id; the daemon's log has the
//! whole cause chain under that id. The store is broken behind a running daemon's back (its
//! jobs table dropped), as a failing disk or a bad migration would.

use serde_json::Value;

use crate::harness::process::wait_until;
use crate::harness::replica::{Replica, admin_token};

#[tokio::test]
async fn a_failure_on_our_side_is_opaque_to_the_caller_and_complete_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cachewarden.db");
    let url = format!("sqlite://{}", db.display());
    let toml = format!("[database]\nurl = \"{url}\"\n");
    let config = dir.path().join("cachewarden.toml");
    std::fs::write(&config, &toml).unwrap();
    let token = admin_token(&toml, &url).await;
    let daemon = Replica::start("daemon", &config, dir.path(), &[]);

    let broken = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DROP TABLE cloudfront_batch_jobs")
        .execute(&broken)
        .await
        .unwrap();
    sqlx::query("DROP TABLE jobs")
        .execute(&broken)
        .await
        .unwrap();
    broken.close().await;

    let res = reqwest::Client::new()
        .get(daemon.url("/api/v1/jobs"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal");
    let text = body.to_string();
    assert!(
        !text.contains("jobs") && !text.contains("table") && !text.contains("sql"),
        "opaque: {text}"
    );
    let id = body["error"]["request_id"]
        .as_str()
        .expect("a request id")
        .to_owned();
    wait_until(
        "the log has the request's failure",
        std::time::Duration::from_secs(5),
        || {
            let log = daemon.log();
            let id = id.clone();
            async move {
                log.lines().any(|l| {
                    l.contains(&id)
                        && l.contains("the store failed")
                        && l.contains("no such table: jobs")
                })
            }
        },
    )
    .await;
}
