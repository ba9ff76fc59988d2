//! Workers: claim a runnable job with a lease, renew the lease while stepping it, store what
//! the step decided, let go. Every replica runs them; the lease makes one worker act on a job
//! at a time, and a lease that expires because its worker died lets another resume the job
//! from what is stored.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Executor, JobContext, Step};
use crate::domain::JobState;
use crate::store::{JobRecord, Store, StoreError, now_ms};

/// How long a claim holds without renewal. A dead worker's jobs are free again after this.
pub const LEASE_MS: i64 = 10_000;
/// Steps one claim may take before the job is let go (so one job cannot hog a worker).
const MAX_STEPS_PER_CLAIM: usize = 20;
/// After a store error in a step, the job is retried this much later.
const ERROR_RETRY_MS: i64 = 2_000;
/// Worker loops per replica.
const WORKERS: usize = 2;

fn by_kind(executors: Vec<Arc<dyn Executor>>) -> HashMap<&'static str, Arc<dyn Executor>> {
    executors.into_iter().map(|e| (e.info().name, e)).collect()
}

/// What one `run_once` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeReport {
    /// Jobs claimed.
    pub claimed: usize,
    /// Jobs that reached a final state.
    pub finished: usize,
}

pub struct Runtime {
    store: Store,
    /// Replaced whole by a reload; a job being stepped keeps the executor it started with.
    executors: ArcSwap<HashMap<&'static str, Arc<dyn Executor>>>,
    kinds: Vec<&'static str>,
    /// This process's name on the leases it holds.
    owner: String,
    /// Woken when a job is submitted.
    wake: Notify,
    /// Signalled after a job changed (wakes `?wait=` long-polls on this replica).
    events: Arc<Notify>,
}

impl Runtime {
    pub fn new(store: Store, executors: Vec<Arc<dyn Executor>>, events: Arc<Notify>) -> Self {
        let kinds: Vec<&'static str> = executors.iter().map(|e| e.info().name).collect();
        let uuid = uuid::Uuid::new_v4().simple().to_string();
        Self {
            store,
            executors: ArcSwap::from_pointee(by_kind(executors)),
            kinds,
            owner: format!("pid{}-{}", std::process::id(), &uuid[..8]),
            wake: Notify::new(),
            events,
        }
    }

    pub fn executor(&self, kind: &str) -> Option<Arc<dyn Executor>> {
        self.executors.load().get(kind).cloned()
    }

    /// Every kind this build runs, in the order they were given.
    pub fn kinds(&self) -> Vec<super::KindInfo> {
        let all = self.executors.load();
        self.kinds
            .iter()
            .filter_map(|k| all.get(k).map(|e| e.info()))
            .collect()
    }

    /// Executors built from a reloaded configuration, for the jobs stepped from now on. The
    /// kinds are this build's, so they do not change.
    pub fn replace_executors(&self, executors: Vec<Arc<dyn Executor>>) {
        self.executors.store(Arc::new(by_kind(executors)));
    }

    /// Starts work on newly submitted jobs without waiting for the next poll.
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }

    /// The notify that long-polls wait on.
    pub fn events(&self) -> Arc<Notify> {
        self.events.clone()
    }

    /// Claims and steps every job due at `now`, one after the other, until none is left.
    /// Tests call this with a `now` in the future instead of waiting.
    pub async fn run_once(&self, now: i64) -> Result<RuntimeReport, StoreError> {
        let mut report = RuntimeReport::default();
        while let Some(job) = self
            .store
            .claim_job(&self.owner, &self.kinds, now, LEASE_MS)
            .await?
        {
            report.claimed += 1;
            if self.drive(job, now, &self.owner, None).await? {
                report.finished += 1;
            }
        }
        Ok(report)
    }

    /// Steps one claimed job until it waits or ends; `true` when it ended. Store errors in a
    /// step let the job go to be retried; only a failure to record that is returned.
    /// `stop`: at shutdown the job is let go between steps, due at once, so another replica
    /// (or this one restarted) resumes it without waiting for the lease to run out.
    async fn drive(
        &self,
        mut job: JobRecord,
        now: i64,
        owner: &str,
        stop: Option<&CancellationToken>,
    ) -> Result<bool, StoreError> {
        let Some(exec) = self.executor(&job.kind) else {
            // Claims only take kinds this build knows.
            return Ok(false);
        };
        // `now` is the time of the claim; a step may work for seconds (a purge, a send), so
        // each step, and the end, sees the time advanced by what the claim has taken so far.
        // Tests that claim at a future `now` keep their offset.
        let claimed = std::time::Instant::now();
        let clock = || now + claimed.elapsed().as_millis() as i64;
        let mut outcome = Step::Continue;
        for _ in 0..MAX_STEPS_PER_CLAIM {
            if stop.is_some_and(CancellationToken::is_cancelled) {
                break;
            }
            let ctx = JobContext {
                job: &job,
                now: clock(),
                owner,
                store: &self.store,
            };
            outcome = match self.with_lease(job.id, owner, exec.step(&ctx)).await {
                Some(Ok(step)) => step,
                Some(Err(e)) => {
                    tracing::warn!(job = job.id, kind = %job.kind, error = %e, "A job step failed on the store; it is retried.");
                    Step::WaitUntil(clock() + ERROR_RETRY_MS)
                }
                None => {
                    tracing::warn!(
                        job = job.id,
                        "Lost the lease on a job; another worker has it."
                    );
                    return Ok(false);
                }
            };
            if outcome != Step::Continue {
                break;
            }
            match self.store.job(job.id).await? {
                Some(fresh) if !fresh.state.is_final() => job = fresh,
                _ => {
                    self.events.notify_waiters();
                    return Ok(true);
                }
            }
        }
        let now = clock();
        let ended = match outcome {
            // Out of steps for this claim: let others have a turn, back at once.
            Step::Continue => {
                self.store.release_job(job.id, owner, now, now).await?;
                false
            }
            // At least a millisecond on, so a `run_once` at a fixed time ends.
            Step::WaitUntil(at) => {
                self.store
                    .release_job(job.id, owner, at.max(now + 1), now)
                    .await?;
                false
            }
            Step::Completed(result) => {
                self.finish(&job, JobState::Completed, result.as_ref(), None, now)
                    .await?
            }
            Step::Failed(e) => {
                self.finish(&job, JobState::Failed, None, Some(&e), now)
                    .await?
            }
            Step::Cancelled(e) => {
                self.finish(&job, JobState::Cancelled, None, Some(&e), now)
                    .await?
            }
        };
        self.events.notify_waiters();
        Ok(ended)
    }

    async fn finish(
        &self,
        job: &JobRecord,
        state: JobState,
        result: Option<&serde_json::Value>,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        // A kind may have ended it already together with others (a CloudFront batch).
        self.store
            .finish_job(job.id, state, result, error, now)
            .await?;
        tracing::info!(job = job.id, kind = %job.kind, target_name = %job.target, state = %state, "A job ended.");
        // A parent (an event) follows its children: it looks again now rather than at its
        // next fallback check.
        if let Some(parent) = job.parent_id {
            self.store.wake_job(parent, now).await?;
        }
        Ok(true)
    }

    /// Runs `step` while renewing the lease; `None` when the lease was lost (the step is
    /// dropped: whatever it did is safe to repeat by the worker that has the job now).
    async fn with_lease<T>(
        &self,
        id: i64,
        owner: &str,
        step: impl Future<Output = T>,
    ) -> Option<T> {
        let mut step = std::pin::pin!(step);
        let mut renew = tokio::time::interval(Duration::from_millis((LEASE_MS / 3) as u64));
        renew.tick().await;
        loop {
            tokio::select! {
                out = &mut step => return Some(out),
                _ = renew.tick() => {
                    match self.store.renew_lease(id, owner, now_ms() + LEASE_MS).await {
                        Ok(true) => {}
                        Ok(false) => return None,
                        Err(e) => tracing::warn!(job = id, error = %e, "Could not renew a job lease; trying again."),
                    }
                }
            }
        }
    }

    /// Runs the workers until cancelled: each claims jobs while any is due, then waits for a
    /// submission or the next poll (500 ms; other replicas' submissions are seen this way).
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        // Each worker holds leases under a name of its own, so that one never takes a job
        // its sibling holds (a CloudFront batch gathers only unheld jobs).
        let workers: Vec<_> = (0..WORKERS)
            .map(|i| {
                let owner = format!("{}-w{i}", self.owner);
                tokio::spawn(self.clone().worker(owner, cancel.clone()))
            })
            .collect();
        for w in workers {
            let _ = w.await;
        }
    }

    async fn worker(self: Arc<Self>, owner: String, cancel: CancellationToken) {
        loop {
            let busy = match self
                .store
                .claim_job(&owner, &self.kinds, now_ms(), LEASE_MS)
                .await
            {
                Ok(Some(job)) => {
                    if let Err(e) = self.drive(job, now_ms(), &owner, Some(&cancel)).await {
                        tracing::error!(error = %e, "A job worker could not record a step; retrying.");
                    }
                    true
                }
                Ok(None) => false,
                Err(e) => {
                    tracing::error!(error = %e, "A job worker could not reach the store; retrying.");
                    false
                }
            };
            if busy && !cancel.is_cancelled() {
                continue;
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                () = self.wake.notified() => {}
            }
        }
    }
}
