//! The invalidation worker: turns queued jobs into CloudFront batches (coalesced, within the
//! in-progress limits), sends them (retrying throttling and TooManyInvalidationsInProgress
//! with backoff until the jobs' deadline), and tracks them to Completed. Everything it does
//! is read from and written to the store first, so a restart picks up where it stopped; each
//! step is in `run_once`, which tests call directly.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::api::{CloudFrontApi, CloudFrontError};
use super::cost::month_of;
use crate::config::{Settings, TargetSource};
use crate::domain::{InvalidationItem, ItemCounts, coalesce};
use crate::store::{Store, StoreError, now_ms};

/// CloudFront's limits on what may be in progress per distribution.
pub const MAX_FILES_IN_FLIGHT: usize = 3000;
pub const MAX_WILDCARDS_IN_FLIGHT: usize = 15;

/// What one `run_once` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerReport {
    pub batches_created: usize,
    pub sent: usize,
    pub retried: usize,
    pub completed: usize,
    pub failed: usize,
}

pub struct InvalidationWorker {
    store: Store,
    settings: Arc<Settings>,
    api: Arc<dyn CloudFrontApi>,
    /// Woken when a job is queued, so the worker does not sleep through a short window.
    wake: Arc<Notify>,
    /// Signalled after a pass that changed jobs (wakes `?wait=` long-polls).
    events: Arc<Notify>,
    metrics: Arc<crate::metrics::Metrics>,
}

/// Backoff before the `attempt`-th retry of a send: 1 s doubling to 60 s.
fn send_backoff(attempt: i64) -> i64 {
    1000 * (1_i64 << attempt.clamp(0, 6)).min(60)
}

/// Time between GetInvalidation checks: 2 s doubling to 30 s.
fn track_backoff(attempt: i64) -> i64 {
    2000 * (1_i64 << attempt.clamp(0, 4)).min(15)
}

impl InvalidationWorker {
    pub fn new(
        store: Store,
        settings: Arc<Settings>,
        api: Arc<dyn CloudFrontApi>,
        events: Arc<Notify>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Self {
        Self {
            store,
            settings,
            api,
            wake: Arc::new(Notify::new()),
            events,
            metrics,
        }
    }

    /// Call after queuing a job.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    fn distribution(&self, target: &str) -> Option<String> {
        self.settings
            .targets
            .iter()
            .find(|t| t.name.as_str() == target)
            .and_then(|t| match &t.source {
                TargetSource::Cloudfront {
                    distribution_id, ..
                } => Some(distribution_id.clone()),
                _ => None,
            })
    }

    /// One pass: expire, batch, send, track.
    pub async fn run_once(&self, now: i64) -> Result<WorkerReport, StoreError> {
        let mut report = WorkerReport::default();
        report.failed += self
            .store
            .expire_queued_jobs(
                now,
                "CloudFront's in-progress limit did not free up before the job's deadline",
            )
            .await? as usize;
        self.batch(now, &mut report).await?;
        self.send(now, &mut report).await?;
        self.track(now, &mut report).await?;
        if report != WorkerReport::default() {
            self.events.notify_waiters();
        }
        if report.sent > 0 {
            let month = month_of(now);
            let billed = self.store.billed_paths(&month).await?;
            let cost = super::cost::monthly(month, billed, &self.settings.invalidation);
            self.metrics.cloudfront_billed_paths.set(billed);
            self.metrics
                .cloudfront_estimated_usd
                .set(cost.estimated_usd);
        }
        Ok(report)
    }

    async fn batch(&self, now: i64, report: &mut WorkerReport) -> Result<(), StoreError> {
        let cutoff = now - self.settings.invalidation.coalesce_window.as_millis() as i64;
        for target in self.store.targets_ready_to_batch(cutoff).await? {
            let jobs = self.store.queued_jobs(&target).await?;
            let Some(distribution) = self.distribution(&target) else {
                // The configuration changed since the job was accepted.
                let error =
                    format!("target {target:?} is no longer a configured CloudFront target");
                for job in jobs {
                    self.store.fail_queued_job(job.id, &error, now).await?;
                    report.failed += 1;
                }
                continue;
            };
            let (files, wildcards) = self.store.in_flight(&distribution).await?;
            let mut chosen = Vec::new();
            let mut items: Vec<InvalidationItem> = Vec::new();
            for job in &jobs {
                let parsed: Vec<InvalidationItem> = job
                    .items
                    .iter()
                    .filter_map(|i| InvalidationItem::parse(i).ok())
                    .collect();
                let candidate = coalesce(items.iter().cloned().chain(parsed));
                let c = ItemCounts::of(&candidate);
                if files as usize + c.files > MAX_FILES_IN_FLIGHT
                    || wildcards as usize + c.wildcards > MAX_WILDCARDS_IN_FLIGHT
                {
                    break; // Order is kept: later jobs wait behind this one.
                }
                items = candidate;
                chosen.push(job.id);
            }
            if chosen.is_empty() {
                tracing::info!(target_name = %target, files, wildcards, "Jobs wait: CloudFront's in-progress limit is reached.");
                continue;
            }
            let c = ItemCounts::of(&items);
            let paths: Vec<String> = items.iter().map(InvalidationItem::to_cloudfront).collect();
            let id = self
                .store
                .create_batch(
                    &target,
                    &distribution,
                    &paths,
                    (c.files as i64, c.wildcards as i64),
                    &chosen,
                    now,
                )
                .await?;
            tracing::info!(batch = id, target_name = %target, jobs = chosen.len(), paths = paths.len(), "Batched invalidation jobs.");
            report.batches_created += 1;
        }
        Ok(())
    }

    async fn send(&self, now: i64, report: &mut WorkerReport) -> Result<(), StoreError> {
        for b in self.store.due_batches("pending", now).await? {
            match self
                .api
                .create_invalidation(&b.distribution_id, &b.caller_reference, &b.items)
                .await
            {
                Ok(created) => {
                    self.store
                        .batch_accepted(
                            &b,
                            &created.id,
                            created.completed,
                            &month_of(now),
                            now,
                            now + track_backoff(0),
                        )
                        .await?;
                    tracing::info!(batch = b.id, invalidation = %created.id, "CloudFront accepted an invalidation.");
                    report.sent += 1;
                    if created.completed {
                        report.completed += 1;
                    }
                }
                Err(CloudFrontError::Permanent(e)) => {
                    tracing::warn!(batch = b.id, error = %e, "CloudFront refused an invalidation.");
                    self.store.batch_failed(b.id, &e, now).await?;
                    report.failed += 1;
                }
                Err(e) => {
                    let deadline = self.store.batch_deadline(b.id).await?.unwrap_or(now);
                    if deadline <= now {
                        self.store
                            .batch_failed(
                                b.id,
                                &format!(
                                    "gave up at the job's deadline after {} attempts; last: {e}",
                                    b.attempts + 1
                                ),
                                now,
                            )
                            .await?;
                        report.failed += 1;
                    } else {
                        let next = (now + send_backoff(b.attempts)).min(deadline);
                        tracing::info!(batch = b.id, error = %e, retry_in_ms = next - now, "CloudFront asked us to wait; retrying.");
                        self.store.batch_retry(b.id, &e.to_string(), next).await?;
                        report.retried += 1;
                    }
                }
            }
        }
        Ok(())
    }

    async fn track(&self, now: i64, report: &mut WorkerReport) -> Result<(), StoreError> {
        for b in self.store.due_batches("in_progress", now).await? {
            let Some(id) = &b.invalidation_id else {
                continue;
            };
            match self
                .api
                .invalidation_completed(&b.distribution_id, id)
                .await
            {
                Ok(true) => {
                    self.store.batch_completed(b.id, now).await?;
                    tracing::info!(batch = b.id, invalidation = %id, "An invalidation completed.");
                    report.completed += 1;
                }
                Ok(false) => {
                    self.store
                        .batch_retry(b.id, "InProgress", now + track_backoff(b.attempts))
                        .await?
                }
                Err(CloudFrontError::Permanent(e)) => {
                    self.store.batch_failed(b.id, &e, now).await?;
                    report.failed += 1;
                }
                Err(e) => {
                    self.store
                        .batch_retry(b.id, &e.to_string(), now + track_backoff(b.attempts))
                        .await?
                }
            }
        }
        Ok(())
    }

    /// Runs until cancelled: a pass at least every 500 ms, and soon after a job is queued
    /// (once its coalescing window has passed).
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let window = self.settings.invalidation.coalesce_window;
        loop {
            if let Err(e) = self.run_once(now_ms()).await {
                tracing::error!(error = %e, "The invalidation worker could not reach the store; retrying.");
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                () = self.wake.notified() => {
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        () = tokio::time::sleep(window + Duration::from_millis(10)) => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoffs_grow_and_are_capped() {
        assert_eq!(
            [0, 1, 2, 5, 6, 30].map(send_backoff),
            [1000, 2000, 4000, 32000, 60000, 60000]
        );
        assert_eq!(
            [0, 1, 2, 3, 4, 9].map(track_backoff),
            [2000, 4000, 8000, 16000, 30000, 30000]
        );
    }
}
