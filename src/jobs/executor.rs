//! The trait every job kind implements, and what a step sees and answers.

use futures_util::future::BoxFuture;
use serde_json::{Map, Value};

use crate::domain::{Scope, TargetName};
use crate::service_error::ServiceError;
use crate::store::{JobRecord, Store, StoreError};

/// A request a kind accepted, as it will be stored.
#[derive(Debug, Clone)]
pub struct Validated {
    /// The request as stored (what the kind's steps read).
    pub request: Value,
    /// The canonical form's hash: equal for requests that mean the same (order, duplicates).
    pub request_hash: String,
    pub deadline_at: i64,
    /// Not run before this time (a coalescing window); `now` to run at once.
    pub run_after: i64,
    /// The job only looks (counts, samples) and changes nothing: it marks no chart, opens no
    /// expected-dip window and is not reported as a change.
    pub dry_run: bool,
}

/// What a step leaves to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// More to do at once.
    Continue,
    /// Nothing to do before this time (ms): CloudFront is busy, a batch is in progress.
    WaitUntil(i64),
    Completed(Option<Value>),
    Failed(String),
    /// Stopped on request at a safe point.
    Cancelled(String),
}

/// What a step works with: the claimed job (as claimed), the time, the store.
pub struct JobContext<'a> {
    pub job: &'a JobRecord,
    pub now: i64,
    /// The worker holding the lease.
    pub owner: &'a str,
    pub store: &'a Store,
}

impl JobContext<'_> {
    /// Whether someone asked to stop this job; read fresh, so call it at safe points.
    pub async fn cancel_requested(&self) -> Result<bool, StoreError> {
        self.store.cancel_requested(self.job.id).await
    }

    /// Stores progress (shown by `GET`), so a restart resumes from it.
    pub async fn save_progress(&self, progress: &Value) -> Result<(), StoreError> {
        self.store
            .save_job_progress(self.job.id, progress, self.now)
            .await
    }

    /// Marks the job running (the first step that does something).
    pub async fn started(&self) -> Result<(), StoreError> {
        self.store.job_started(self.job.id, self.now).await
    }
}

/// A kind of job. Each step must be safe to repeat: a worker may die after doing it and
/// before storing that it did, and another replica then runs it again from stored progress.
pub trait Executor: Send + Sync {
    /// The stored kind name (`cloudfront_invalidation`, …).
    fn kind(&self) -> &'static str;

    /// The scope a caller needs to submit a job of this kind.
    fn scope(&self) -> Scope;

    /// Whether a job of this kind acts on several targets (an event's children): then its
    /// `target` is not a target name to authorise, and [`Executor::targets`] says what is.
    fn spans_targets(&self) -> bool {
        false
    }

    /// The targets a job (or an accepted request) acts on; a caller limited to targets must
    /// be allowed every one of them.
    fn targets(&self, target: &str, _request: &Value) -> Vec<String> {
        vec![target.to_owned()]
    }

    /// Checks a request on `target` (its name already parsed and authorised) and returns
    /// what to store; every rule that can refuse it runs here, before anything is stored.
    fn validate<'a>(
        &'a self,
        target: &'a TargetName,
        request: &'a Value,
        now: i64,
    ) -> BoxFuture<'a, Result<Validated, ServiceError>>;

    /// Advances a claimed job.
    fn step<'a>(&'a self, ctx: &'a JobContext<'a>) -> BoxFuture<'a, Result<Step, StoreError>>;

    /// Why a running job can no longer stop, if it cannot (checked before a cancel request
    /// is recorded, so the caller is told at once).
    fn cannot_stop<'a>(
        &'a self,
        _job: &'a JobRecord,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async { Ok(None) })
    }

    /// Fields this kind adds to a job's view (named for what its own clients read).
    fn describe(&self, _job: &JobRecord) -> Map<String, Value> {
        Map::new()
    }
}
