//! A database written by the schema before the job runtime (migrations up to 6, with queued,
//! in-progress and completed invalidations) upgrades in place on both backends: every job is
//! found with its history, the in-progress batch is still tracked to Completed, a retry with a
//! stored idempotency key finds its job, and new jobs continue the ids.

use std::sync::Arc;

use cachewarden::cloudfront::CloudFrontApi;
use cachewarden::domain::JobState;
use cachewarden::store::{NewJob, Store};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::cloudfront::ScriptedCloudFront;
use crate::harness::postgres::Postgres;
use crate::invalidations::pass;

/// The last migration of the schema before jobs.
const BEFORE_JOBS: i64 = 20261122000006;

/// Writes the old schema and old rows: batch 1 completed (job 1), batch 2 in progress at
/// CloudFront as I0001 (jobs 2 and 3, coalesced), job 4 queued with an idempotency key.
async fn write_old_database(url: &str, backend_dir: &str) {
    let pool = crate::harness::old_schema::migrated_until(url, backend_dir, BEFORE_JOBS).await;
    let statements = [
        "INSERT INTO cloudfront_batches (target, distribution_id, caller_reference, items, files, wildcards, state, invalidation_id, attempts, next_attempt_at, created_at, sent_at, completed_at) \
         VALUES ('web', 'E2QWRUHEXAMPLE', 'cachewarden-1-old', '[\"/done\"]', 1, 0, 'completed', 'I9999', 2, 0, 1000, 1100, 1500)",
        "INSERT INTO cloudfront_batches (target, distribution_id, caller_reference, items, files, wildcards, state, invalidation_id, attempts, next_attempt_at, created_at, sent_at) \
         VALUES ('web', 'E2QWRUHEXAMPLE', 'cachewarden-2-old', '[\"/a\",\"/b/*\"]', 1, 1, 'in_progress', 'I0001', 1, 0, 2000, 2100)",
        "INSERT INTO invalidation_jobs (target, requester, idempotency_key, request_hash, items, state, batch_id, created_at, updated_at, deadline_at, completed_at) \
         VALUES ('web', 'ci', 'deploy-1', 'h1', '[\"/done\"]', 'completed', 1, 900, 1500, 9999999999999, 1500)",
        "INSERT INTO invalidation_jobs (target, requester, idempotency_key, request_hash, items, state, batch_id, created_at, updated_at, deadline_at) \
         VALUES ('web', 'ci', NULL, 'h2', '[\"/a\"]', 'running', 2, 1900, 2000, 9999999999999)",
        "INSERT INTO invalidation_jobs (target, requester, idempotency_key, request_hash, items, state, batch_id, created_at, updated_at, deadline_at) \
         VALUES ('web', 'bob', NULL, 'h3', '[\"/b/*\", \"/a\"]', 'running', 2, 1950, 2000, 9999999999999)",
        "INSERT INTO invalidation_jobs (target, requester, idempotency_key, request_hash, items, state, created_at, updated_at, deadline_at) \
         VALUES ('web', 'ci', 'deploy-9', 'h4', '[\"/queued\"]', 'queued', 3000, 3000, 9999999999999)",
        "INSERT INTO cloudfront_billing (month, paths) VALUES ('2026-11', 3)",
    ];
    for s in statements {
        sqlx::query(s)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    pool.close().await;
}

/// After the upgrade, as the store sees it.
async fn check_upgraded(url: &str) -> Store {
    let store = Store::connect(&SecretString::from(url.to_owned()), 4)
        .await
        .expect("connect");
    store.migrate().await.expect("upgrade in place");
    let done = store.job(1).await.unwrap().expect("job 1");
    assert_eq!(
        (done.kind.as_str(), done.state, done.completed_at),
        ("cloudfront_invalidation", JobState::Completed, Some(1500))
    );
    assert_eq!(done.request, json!({ "items": ["/done"] }));
    let result = done.result.expect("the batch is the job's result");
    assert_eq!(
        (
            result["invalidation_id"].as_str(),
            result["attempts"].as_i64()
        ),
        (Some("I9999"), Some(2))
    );
    for id in [2, 3] {
        let j = store.job(id).await.unwrap().expect("running job");
        assert_eq!(j.state, JobState::Running, "job {id}");
        assert_eq!(j.result.as_ref().unwrap()["invalidation_id"], "I0001");
        assert_eq!(store.batch_of_job(id).await.unwrap().unwrap().id, 2);
    }
    assert_eq!(
        store.job(2).await.unwrap().unwrap().run_after,
        0,
        "the lowest job drives the batch"
    );
    assert_eq!(
        store.job(3).await.unwrap().unwrap().run_after,
        i64::MAX,
        "the other is parked"
    );
    assert_eq!(store.job(3).await.unwrap().unwrap().requester, "bob");
    let queued = store.job(4).await.unwrap().expect("queued job");
    assert_eq!(
        (queued.state, queued.idempotency_key.as_deref()),
        (JobState::Queued, Some("deploy-9"))
    );
    // A pipeline retrying with its key finds the job; a new job continues the ids.
    let retry = NewJob {
        dry_run: false,
        kind: "cloudfront_invalidation",
        target: "web".into(),
        requester: "ci".into(),
        idempotency_key: Some("deploy-9".into()),
        request_hash: "h4".into(),
        request: json!({ "items": ["/queued"] }),
        deadline_at: 9_999_999_999_999,
        run_after: 0,
        parent_id: None,
    };
    let (found, created) = store.create_job(&retry, 4000).await.unwrap();
    assert_eq!((found.id, created), (4, false));
    assert_eq!(store.billed_paths("2026-11").await.unwrap(), 3);
    store
}

#[tokio::test]
async fn a_sqlite_database_from_before_jobs_upgrades_and_its_work_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("cachewarden.db").display()
    );
    write_old_database(&url, "sqlite").await;
    check_upgraded(&url).await.close().await;

    // The daemon on the upgraded file tracks the in-progress batch and sends the queued job.
    let cf = Arc::new(ScriptedCloudFront::in_progress_for(0));
    cf.create_invalidation(
        "E2QWRUHEXAMPLE",
        "cachewarden-2-old",
        &["/a".into(), "/b/*".into()],
    )
    .await
    .expect("CloudFront already has batch 2");
    let cdn = "[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n";
    let app = TestApp::restart_with_cloudfront(cdn, dir, cf.clone()).await;
    pass(&app, 2_100).await;
    pass(&app, 10_000).await;
    let admin = app.token("root", &["admin"], &[]).await;
    let list: Value = app
        .get_json("/api/v1/invalidations?limit=10", Some(&admin))
        .await;
    let states: Vec<(i64, String)> = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["id"].as_i64().unwrap(),
                j["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (4, "completed".into()),
            (3, "completed".into()),
            (2, "completed".into()),
            (1, "completed".into())
        ],
        "{list}"
    );
    assert_eq!(
        cf.calls().len(),
        2,
        "batch 2 was not sent again; only the queued job was sent"
    );
    assert_eq!(cf.calls()[1].1, ["/queued"]);
}

#[tokio::test]
async fn a_postgres_database_from_before_jobs_upgrades_in_place() {
    let pg = Postgres::start();
    let url = pg.fresh_database_url();
    write_old_database(&url, "postgres").await;
    let store = check_upgraded(&url).await;
    // New ids continue after the copied ones.
    let (new, _) = store
        .create_job(
            &NewJob {
                dry_run: false,
                kind: "cloudfront_invalidation",
                target: "web".into(),
                requester: "ci".into(),
                idempotency_key: None,
                request_hash: "h5".into(),
                request: json!({ "items": ["/new"] }),
                deadline_at: 9_999_999_999_999,
                run_after: 0,
                parent_id: None,
            },
            5000,
        )
        .await
        .unwrap();
    assert_eq!(new.id, 5);
}
