//! Delivering the outbox: claims due notifications a chunk at a time, sends each through its
//! notifier's receiver, and marks it delivered at once or schedules a retry with backoff
//! (retries live here, in one place, whatever the receiver).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;

use super::{Receiver, SendError};
use crate::store::{Notification, Store, StoreError, now_ms};

/// Attempts before a notification is marked failed (about an hour of retries).
const MAX_ATTEMPTS: i64 = 12;
/// Notifications claimed at a time, and how long the claim holds: receivers time out after
/// 10 s each, so a claim outlives the sends of a whole chunk.
const CLAIM_CHUNK: u32 = 10;
const CLAIM_LEASE_MS: i64 = 5 * 60_000;

/// Backoff before retry `attempt`: 5 s doubling to 10 min.
fn backoff(attempt: i64) -> i64 {
    (5_000 * (1_i64 << attempt.clamp(0, 7))).min(600_000)
}

/// What one pass delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Delivers the outbox.
pub struct NotifyWorker {
    store: Store,
    /// Replaced whole by a reload.
    receivers: ArcSwap<HashMap<String, Arc<dyn Receiver>>>,
    /// Woken when a transition wrote notifications, so delivery starts at once.
    wake: Arc<tokio::sync::Notify>,
    /// Attempts by notifier and outcome, for `/metrics`.
    attempts: Option<prometheus::IntCounterVec>,
    /// This process's name on its claims.
    owner: String,
}

impl NotifyWorker {
    pub fn new(store: Store, receivers: HashMap<String, Arc<dyn Receiver>>) -> Self {
        Self {
            store,
            receivers: ArcSwap::from_pointee(receivers),
            wake: Arc::new(tokio::sync::Notify::new()),
            attempts: None,
            owner: format!(
                "pid{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ),
        }
    }

    /// Receivers built from a reloaded configuration. A notification already written for a
    /// notifier that is gone fails with that reason, like any undeliverable one.
    pub fn replace_receivers(&self, receivers: HashMap<String, Arc<dyn Receiver>>) {
        self.receivers.store(Arc::new(receivers));
    }

    /// Counts attempts into `counter` (labels notifier, outcome).
    pub fn with_metrics(mut self, counter: prometheus::IntCounterVec) -> Self {
        self.attempts = Some(counter);
        self
    }

    fn count(&self, notifier: &str, outcome: &str) {
        if let Some(c) = &self.attempts {
            c.with_label_values(&[notifier, outcome]).inc();
        }
    }

    /// Call after writing notifications.
    pub fn waker(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    /// One pass over the notifications due now, claimed a chunk at a time.
    pub async fn run_once(&self, now: i64) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        loop {
            let chunk = self
                .store
                .claim_notifications(&self.owner, now, CLAIM_LEASE_MS, CLAIM_CHUNK)
                .await?;
            if chunk.is_empty() {
                return Ok(report);
            }
            for n in chunk {
                self.deliver(n, now, &mut report).await?;
            }
        }
    }

    async fn deliver(
        &self,
        n: Notification,
        now: i64,
        report: &mut DeliveryReport,
    ) -> Result<(), StoreError> {
        let receiver = self.receivers.load().get(&n.notifier).cloned();
        let outcome = match receiver {
            Some(r) => r.send(&n).await,
            None => Err(SendError(format!(
                "notifier {:?} is no longer configured",
                n.notifier
            ))),
        };
        match outcome {
            Ok(()) => {
                // Marked at once, so a retry never resends what was delivered.
                self.store.notification_delivered(n.id, now_ms()).await?;
                self.count(&n.notifier, "delivered");
                report.delivered += 1;
            }
            Err(e) if n.attempts + 1 >= MAX_ATTEMPTS => {
                tracing::error!(notification = n.id, notifier = %n.notifier, error = %e, "Gave up delivering a notification.");
                self.store
                    .notification_attempt_failed(n.id, &e.0, None)
                    .await?;
                self.count(&n.notifier, "failed");
                report.failed += 1;
            }
            Err(e) => {
                tracing::warn!(notification = n.id, notifier = %n.notifier, error = %e, "A notification could not be delivered; retrying.");
                self.store
                    .notification_attempt_failed(n.id, &e.0, Some(now + backoff(n.attempts)))
                    .await?;
                self.count(&n.notifier, "retried");
                report.retried += 1;
            }
        }
        Ok(())
    }

    /// Runs until cancelled: a pass every second, and at once when woken.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            if let Err(e) = self.run_once(now_ms()).await {
                tracing::error!(error = %e, "The notification worker could not reach the store; retrying.");
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = self.wake.notified() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_to_ten_minutes() {
        assert_eq!(
            [0, 1, 2, 6, 7, 11].map(super::backoff),
            [5_000, 10_000, 20_000, 320_000, 600_000, 600_000]
        );
    }
}
