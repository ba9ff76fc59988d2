//! What the runtime and the job service see of a kind: requests and progress as stored JSON.
//! Kinds are written against the typed [`JobKind`](super::JobKind), which `typed` turns into
//! this.

use futures_util::future::BoxFuture;
use serde_json::Value;

use super::kind::KindInfo;
use crate::domain::TargetName;
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

/// A kind of job, as the runtime steps it.
pub trait Executor: Send + Sync {
    /// Its name, label, action, scope and target kinds.
    fn info(&self) -> KindInfo;

    /// The targets a job (or an accepted request) acts on; a caller limited to targets must
    /// be allowed every one of them.
    fn targets(&self, target: &str, request: &Value) -> Vec<String>;

    /// Checks a request on `target` (its name already parsed) and returns what to store.
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
        job: &'a JobRecord,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>>;

    /// What a job has done so far, in one line for people, when the kind says it better than
    /// its counters do.
    fn summary(&self, job: &JobRecord) -> Option<String>;

    /// How far each part of a job has got (a node's scan), for progress bars; empty when the
    /// kind does not say.
    fn meters(&self, job: &JobRecord) -> Vec<super::Meter>;
}
