//! SQLite on a disk that fills up and is freed again, on a real (tmpfs) disk (issue 14): a
//! write that cannot be stored is a 503 the CLI retries and then reports as "retry later",
//! reads and authentication keep working, `/readyz` says so, nothing answered as accepted is
//! lost, and once space returns everything works again without a restart.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::process::wait_until;
use crate::harness::replica::{Replica, admin_token};
use crate::harness::tmpfs::Tmpfs;

const CONFIG: &str = "[database]\nurl = \"sqlite://cw.db\"\n\
    [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n";

#[tokio::test]
async fn a_full_disk_is_a_retryable_503_and_space_coming_back_needs_no_restart() {
    let disk = Tmpfs::mount("8m");
    let logs = tempfile::tempdir().unwrap();
    let config = disk.path().join("cw.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let db = format!("sqlite://{}", disk.path().join("cw.db").display());
    let admin = admin_token(CONFIG, &db).await;
    let daemon = Replica::start("daemon", &config, logs.path(), &[]);
    let http = reqwest::Client::new();
    let silence = |comment: String| {
        http.post(daemon.url("/api/v1/silences"))
            .bearer_auth(&admin)
            .json(&json!({"target": "web", "for": "1h", "comment": comment}))
            .send()
    };
    // A reader's token, never used before the disk fills: its first use is due to be recorded.
    let reader = {
        let res = http
            .post(daemon.url("/api/v1/tokens"))
            .bearer_auth(&admin)
            .json(&json!({"name": "reader", "scopes": ["read"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    let mut accepted = BTreeSet::new();
    let filler = disk.fill();
    // Writes go on while the WAL has room; the first that needs more space fails.
    let mut refused = None;
    for i in 0..2_000 {
        let res = silence(format!("{i} {}", "x".repeat(900))).await.unwrap();
        match res.status().as_u16() {
            201 => {
                let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
                assert!(accepted.insert(id), "id {id} answered twice: a lost write");
            }
            503 => {
                refused = Some(res);
                break;
            }
            other => panic!(
                "a write on a full disk answered {other}: {}",
                res.text().await.unwrap()
            ),
        }
    }
    let refused = refused.expect("a write on a full disk is refused");
    assert_eq!(refused.headers()["retry-after"], "30");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("disk is full") && message.contains("try again later"),
        "{message}"
    );

    let ready = http.get(daemon.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["checks"]["database"], "unavailable", "{ready}");

    // Reads and authentication do not depend on a write (the reader's first use included).
    let listed = http
        .get(daemon.url("/api/v1/silences?state=all&limit=1000"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let listed: Value = listed.json().await.unwrap();
    let stored: BTreeSet<i64> = listed["silences"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_i64())
        .collect();
    assert_eq!(stored, accepted, "every silence answered 201 is stored");

    // The CLI retries, then says to retry later with its own exit code (5), not "invalid".
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cachewarden"))
        .args(["invalidate", "--target", "web", "--path", "/index.html"])
        .env("CACHEWARDEN_SERVER", daemon.url(""))
        .env("CACHEWARDEN_TOKEN", &admin)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("disk is full") && stderr.contains("(HTTP 503)"),
        "{stderr}"
    );

    // Space comes back: ready again, and writes work, without a restart.
    std::fs::remove_file(filler).unwrap();
    wait_until("/readyz is 200 again", Duration::from_secs(30), || async {
        http.get(daemon.url("/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let res = silence("after".into()).await.unwrap();
    assert_eq!(res.status(), 201, "{}", daemon.log());
    let res = http
        .post(daemon.url("/api/v1/invalidations"))
        .bearer_auth(&admin)
        .json(&json!({"target": "web", "items": ["/index.html"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
}
