//! The job store on both backends (called from `store_conformance`): idempotent creation,
//! claims with leases (held, renewed, lost, taken over), release, cancel, finish once,
//! filtered paging, parallel claimers, CloudFront batches (parked followers, billed once),
//! and claimed outbox delivery.

use cachewarden::domain::JobState;
use cachewarden::store::{BatchPlan, CancelRecorded, JobFilter, NewJob, Store, StoreError};
use serde_json::json;

const CF: &str = "cloudfront_invalidation";

fn new_job(target: &str, key: Option<&str>, hash: &str, run_after: i64) -> NewJob {
    NewJob {
        dry_run: false,
        kind: CF,
        target: target.into(),
        requester: "ci".into(),
        idempotency_key: key.map(Into::into),
        request_hash: hash.into(),
        request: json!({ "items": ["/a"] }),
        deadline_at: 10_000_000,
        run_after,
        parent_id: None,
    }
}

pub async fn suite(store: &Store) {
    // Jobs the rest of the suite left live would be claimed here too.
    let live = store
        .list_jobs(&JobFilter {
            kinds: vec![CF],
            limit: 100,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    for j in live.iter().filter(|j| !j.state.is_final()) {
        store
            .finish_job(j.id, JobState::Completed, None, None, 1)
            .await
            .unwrap();
    }
    creation(store).await;
    claims(store).await;
    parallel_claims(store).await;
    batches(store).await;
}

async fn creation(store: &Store) {
    let (a, created) = store
        .create_job(&new_job("idem", Some("k1"), "h1", 0), 100)
        .await
        .unwrap();
    assert!(created);
    assert_eq!(a.state, JobState::Queued);
    assert_eq!(a.request["items"][0], "/a");
    let (again, created) = store
        .create_job(&new_job("idem", Some("k1"), "h1", 0), 200)
        .await
        .unwrap();
    assert!(
        !created,
        "the same key and request answers with the stored job"
    );
    assert_eq!(again.id, a.id);
    let conflict = store
        .create_job(&new_job("idem", Some("k1"), "h2", 0), 300)
        .await;
    assert!(matches!(conflict, Err(StoreError::Conflict(m)) if m.contains("k1")));
    let mut other_kind = new_job("idem", Some("k1"), "h1", 0);
    other_kind.kind = "other_kind";
    let (b, created) = store.create_job(&other_kind, 400).await.unwrap();
    assert!(
        created && b.id != a.id,
        "keys are unique per kind and target"
    );
    // Filter first, then page: the one job of kind CF among many of another kind.
    for i in 0..5 {
        let mut j = new_job("idem", None, &format!("x{i}"), 0);
        j.kind = "other_kind";
        store.create_job(&j, 500).await.unwrap();
    }
    let page = store
        .list_jobs(&JobFilter {
            kinds: vec![CF],
            target: Some("idem".into()),
            limit: 2,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(page.iter().map(|j| j.id).collect::<Vec<_>>(), [a.id]);
    let page = store
        .list_jobs(&JobFilter {
            target: Some("idem".into()),
            limit: 3,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 3);
    let rest = store
        .list_jobs(&JobFilter {
            target: Some("idem".into()),
            limit: 10,
            before_id: Some(page[2].id),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len() + rest.len(), 7);
    assert!(rest.iter().all(|j| j.id < page[2].id));
    // Cancel the queued ones so later claims of CF see only their own jobs.
    assert_eq!(
        store.request_cancel(a.id, "alice", 600).await.unwrap(),
        CancelRecorded::Cancelled
    );
    assert_eq!(
        store.request_cancel(a.id, "alice", 601).await.unwrap(),
        CancelRecorded::Unchanged
    );
    let a = store.job(a.id).await.unwrap().unwrap();
    assert_eq!(a.state, JobState::Cancelled);
    assert!(a.error.unwrap().contains("alice"));
}

async fn claims(store: &Store) {
    let kinds = [CF];
    let (j, _) = store
        .create_job(&new_job("lease", None, "h", 1_000), 900)
        .await
        .unwrap();
    assert!(
        store
            .claim_job("w1", &kinds, 999, 10_000)
            .await
            .unwrap()
            .is_none(),
        "not before run_after"
    );
    assert!(
        store
            .claim_job("w1", &["nothing"], 1_000, 10_000)
            .await
            .unwrap()
            .is_none(),
        "only known kinds"
    );
    let c = store
        .claim_job("w1", &kinds, 1_000, 10_000)
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(
        (c.id, c.attempts, c.lease_owner.as_deref()),
        (j.id, 1, Some("w1"))
    );
    assert!(
        store
            .claim_job("w2", &kinds, 5_000, 10_000)
            .await
            .unwrap()
            .is_none(),
        "a live lease holds"
    );
    assert!(store.renew_lease(j.id, "w1", 20_000).await.unwrap());
    assert!(
        !store.renew_lease(j.id, "w2", 30_000).await.unwrap(),
        "only the holder renews"
    );
    assert!(
        store
            .claim_job("w2", &kinds, 15_000, 10_000)
            .await
            .unwrap()
            .is_none(),
        "renewed"
    );
    // w1 dies: its lease runs out and w2 takes the job over.
    let taken = store
        .claim_job("w2", &kinds, 20_001, 10_000)
        .await
        .unwrap()
        .expect("taken over");
    assert_eq!((taken.id, taken.attempts), (j.id, 2));
    assert!(
        !store.renew_lease(j.id, "w1", 40_000).await.unwrap(),
        "w1 learns it lost the lease"
    );
    store.release_job(j.id, "w1", 0, 20_002).await.unwrap();
    assert!(
        store
            .claim_job("w3", &kinds, 20_003, 10_000)
            .await
            .unwrap()
            .is_none(),
        "a stale worker cannot release"
    );
    store.release_job(j.id, "w2", 50_000, 20_004).await.unwrap();
    assert!(
        store
            .claim_job("w3", &kinds, 49_999, 10_000)
            .await
            .unwrap()
            .is_none()
    );
    store.job_started(j.id, 20_005).await.unwrap();
    store
        .save_job_progress(j.id, &json!({"done": 3}), 20_006)
        .await
        .unwrap();
    let running = store.job(j.id).await.unwrap().unwrap();
    assert_eq!(
        (running.state, running.started_at),
        (JobState::Running, Some(20_005))
    );
    assert_eq!(running.progress, Some(json!({"done": 3})));
    assert_eq!(
        store.request_cancel(j.id, "bob", 20_007).await.unwrap(),
        CancelRecorded::Requested
    );
    assert!(store.cancel_requested(j.id).await.unwrap());
    assert_eq!(
        store.job(j.id).await.unwrap().unwrap().state,
        JobState::Running,
        "a running job stops itself"
    );
    assert!(
        store
            .finish_job(j.id, JobState::Cancelled, None, Some("stopped"), 20_008)
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_job(j.id, JobState::Completed, None, None, 20_009)
            .await
            .unwrap(),
        "final once"
    );
    let done = store.job(j.id).await.unwrap().unwrap();
    assert_eq!(
        (done.state, done.completed_at, done.lease_owner),
        (JobState::Cancelled, Some(20_008), None)
    );
    assert!(
        store
            .claim_job("w3", &kinds, i64::MAX / 2, 10_000)
            .await
            .unwrap()
            .is_none(),
        "final jobs are never claimed"
    );
}

/// Four claimers at once over 40 jobs: each job is claimed exactly once.
async fn parallel_claims(store: &Store) {
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(
            store
                .create_job(&new_job("many", None, &format!("p{i}"), 0), 1)
                .await
                .unwrap()
                .0
                .id,
        );
    }
    let claimers = (0..4).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(j) = store
                .claim_job(&format!("p{w}"), &[CF], 2, 60_000)
                .await
                .unwrap()
            {
                got.push(j.id);
            }
            got
        })
    });
    let mut all: Vec<i64> = Vec::new();
    for c in claimers {
        all.extend(c.await.unwrap());
    }
    all.sort();
    assert_eq!(all, ids, "every job claimed once, none twice");
    for id in ids {
        store
            .finish_job(id, JobState::Completed, None, None, 3)
            .await
            .unwrap();
    }
}

async fn batches(store: &Store) {
    let (lead, _) = store
        .create_job(&new_job("cdn", None, "b1", 0), 10)
        .await
        .unwrap();
    let (other, _) = store
        .create_job(&new_job("cdn", None, "b2", 0), 11)
        .await
        .unwrap();
    let claimed = store
        .claim_job("w1", &[CF], 100, 10_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, lead.id);
    let plan = |c: &[cachewarden::store::JobRecord], flight: (i64, i64)| {
        assert_eq!(flight, (0, 0));
        Some(BatchPlan {
            jobs: c.iter().map(|j| j.id).collect(),
            items: vec!["/a".into()],
            files: 1,
            wildcards: 0,
        })
    };
    let batch = store
        .form_batch("cdn", "E1", lead.id, "w1", 50, 100, plan)
        .await
        .unwrap()
        .expect("a batch");
    assert_eq!(store.in_flight("E1").await.unwrap(), (1, 0));
    let b = store.batch_of_job(other.id).await.unwrap().unwrap();
    assert_eq!(
        (b.id, b.state.as_str(), b.maybe_sent),
        (batch, "pending", false)
    );
    assert_eq!(store.batch_jobs(batch).await.unwrap().len(), 2);
    store.release_job(lead.id, "w1", 100, 100).await.unwrap();
    let next = store
        .claim_job("w2", &[CF], 200, 10_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        next.id, lead.id,
        "the follower is parked; only the lead is claimed"
    );
    assert!(
        store
            .claim_job("w3", &[CF], 300, 10_000)
            .await
            .unwrap()
            .is_none(),
        "the lead is held, the follower parked"
    );
    // Accepted twice (a retry after a lost answer): billed once.
    let month = "2031-01";
    store
        .batch_accepted(&b, "I1", false, month, 300, 400)
        .await
        .unwrap();
    store
        .batch_accepted(&b, "I1", false, month, 301, 400)
        .await
        .unwrap();
    assert_eq!(store.billed_paths(month).await.unwrap(), 1);
    store.batch_completed(batch, 500).await.unwrap();
    for id in [lead.id, other.id] {
        let j = store.job(id).await.unwrap().unwrap();
        assert_eq!(j.state, JobState::Completed);
        assert_eq!(j.result.as_ref().unwrap()["invalidation_id"], "I1", "{j:?}");
    }
    assert_eq!(store.in_flight("E1").await.unwrap(), (0, 0));
}

/// Of several replicas, one sends each notification; an expired claim is taken again.
pub async fn outbox_claims(store: &Store) {
    let far = i64::MAX / 2;
    let first = store
        .claim_notifications("r1", far, 60_000, 10)
        .await
        .unwrap();
    assert!(!first.is_empty(), "the suite left pending notifications");
    assert!(
        store
            .claim_notifications("r2", far, 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "claimed by r1"
    );
    let again = store
        .claim_notifications("r2", far + 60_001, 60_000, 10)
        .await
        .unwrap();
    assert_eq!(
        again.len(),
        first.len(),
        "r1 died: r2 takes them after the claim expired"
    );
    store
        .notification_delivered(again[0].id, far)
        .await
        .unwrap();
    let left = store
        .claim_notifications("r3", far + 200_000, 60_000, 10)
        .await
        .unwrap();
    assert_eq!(
        left.len(),
        first.len() - 1,
        "delivered ones are never claimed"
    );
}
