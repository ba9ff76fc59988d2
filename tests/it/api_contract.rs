//! The API document is exact: schemathesis generates requests from it (examples, boundary
//! values, then random ones) against a running daemon, on SQLite and on PostgreSQL, and checks
//! every answer against it. It must find no 5xx, no answer that breaks its schema or status
//! list, and no error in the document itself. The one failure it may report is a schema-valid
//! request refused by a rule the document cannot state (a target that is not configured, a
//! `kind` outside the route's action, `until` and `for` together).

use std::collections::BTreeSet;

use tokio::process::Command;

use crate::harness::TestApp;
use crate::harness::memcached::Memcached;
use crate::harness::postgres::Postgres;
use crate::harness::process::repo_root;
use crate::harness::redis::RedisServer;

fn config(redis: &str, memcached: &str) -> String {
    format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{redis}\"\n\
         [[targets]]\nname = \"items\"\nkind = \"memcached\"\naddress = \"{memcached}\"\n\
         [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n\
         [[targets]]\nname = \"shop-api\"\nkind = \"apigateway\"\napi_name = \"storefront\"\nstage = \"prod\"\ncache_key_query = [\"lang\"]\n\
         [[rules]]\nevent = \"product.updated\"\n\
         redis = [{{ target = \"sessions\", keys = [\"product:{{id}}\"] }}]\n"
    )
}

/// Failure codes a run reported (`ST108`…), with the run's whole output for the message.
async fn run(app: &TestApp, token: &str, only: Option<&str>) -> (BTreeSet<String>, String) {
    let mut cmd = Command::new(repo_root().join(".tools/schemathesis/bin/schemathesis"));
    cmd.arg("run")
        .arg(app.url("/api/openapi.json"))
        .args(["--checks", "all", "--max-examples", "8", "--seed", "1"])
        .args(["--phases", "examples,coverage,fuzzing", "--workers", "2"])
        .args([
            "--no-color",
            "--output-truncate",
            "true",
            "--request-timeout",
            "20",
        ])
        .args(["--generation-database", "none"])
        .arg("-H")
        .arg(format!("Authorization: Bearer {token}"));
    // Revoking is tested on its own, last: a run that revoked its own token would test the
    // rest of the API as a stranger.
    match only {
        Some(op) => cmd.args(["--include-operation-id", op]),
        None => cmd.args(["--exclude-operation-id", "tokens_revoke"]),
    };
    let out = cmd
        .current_dir(std::env::temp_dir())
        .output()
        .await
        .expect("schemathesis (tests/setup.sh installs it)");
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("SUMMARY"), "the run did not finish:\n{said}");
    let codes = said
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- ST"))
        .map(|l| format!("ST{}", &l[..3.min(l.len())]))
        .collect();
    (codes, said)
}

async fn conforms(app: TestApp) {
    let token = app
        .token(
            &format!("contract-{}", uuid::Uuid::new_v4().simple()),
            &["admin"],
            &[],
        )
        .await;
    for only in [None, Some("tokens_revoke")] {
        let (codes, said) = run(&app, &token, only).await;
        let unexpected: Vec<&String> = codes.iter().filter(|c| *c != "ST202").collect();
        assert!(
            unexpected.is_empty(),
            "schemathesis found {unexpected:?}:\n{said}"
        );
        for problem in ["Schema Error", "Unresolvable references", "Server error"] {
            assert!(!said.contains(problem), "{problem}:\n{said}");
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn generated_requests_get_answers_the_document_describes_on_sqlite() {
    let (redis, memcached) = (RedisServer::start(), Memcached::start());
    conforms(TestApp::sqlite(&config(&redis.url(), &memcached.address())).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn generated_requests_get_answers_the_document_describes_on_postgres() {
    let (redis, memcached) = (RedisServer::start(), Memcached::start());
    let pg = Postgres::start();
    let app = TestApp::on_database(
        &config(&redis.url(), &memcached.address()),
        &pg.fresh_database_url(),
    )
    .await;
    conforms(app).await;
}
