//! Notifications: one module per receiver behind one trait, and the worker that delivers the
//! outbox with retries and backoff (retries live here, in one place).

mod alertmanager;
mod email;
mod message;
mod pagerduty;
mod slack;
mod sns;
mod webhook;

pub use message::{Change, payload, subject, summary, text};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::config::{Receiver as ReceiverSettings, Settings};
use crate::store::{Notification, Store, StoreError, now_ms};

/// Why a delivery failed; every failure is retried until the attempts run out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

/// Something that delivers a notification.
pub trait Receiver: Send + Sync {
    fn send<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), SendError>>;
}

/// Sends a receiver's HTTP request: a failed connection or an answer other than 2xx is the
/// `SendError` the outbox retries, named after the receiver. The URL is left out of messages:
/// for Slack and others it is the credential.
async fn send_http(receiver: &str, req: reqwest::RequestBuilder) -> Result<(), SendError> {
    let res = req
        .send()
        .await
        .map_err(|e| SendError(format!("{receiver}: {}", e.without_url())))?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(SendError(format!(
            "{receiver} answered HTTP {}",
            res.status().as_u16()
        )))
    }
}

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

/// A notifier that cannot work as configured (an unreadable CA file, no AWS configuration):
/// its deliveries fail with the reason, which the outbox API shows.
struct Broken(String);

impl Receiver for Broken {
    fn send<'a>(&'a self, _n: &'a Notification) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move { Err(SendError(self.0.clone())) })
    }
}

/// Builds a receiver for every configured notifier; SNS uses `aws`.
pub fn receivers(
    settings: &Settings,
    aws: Option<&aws_config::SdkConfig>,
) -> HashMap<String, Arc<dyn Receiver>> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("cachewarden/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default();
    settings
        .notifiers
        .iter()
        .map(|n| {
            let r: Arc<dyn Receiver> = match &n.receiver {
                ReceiverSettings::Webhook { url, secret } => Arc::new(webhook::Webhook::new(
                    http.clone(),
                    url.clone(),
                    secret.clone(),
                )),
                ReceiverSettings::Slack { url } => {
                    Arc::new(slack::Slack::new(http.clone(), url.clone()))
                }
                ReceiverSettings::Pagerduty { routing_key, url } => Arc::new(
                    pagerduty::PagerDuty::new(http.clone(), routing_key.clone(), url.clone()),
                ),
                ReceiverSettings::Sns { topic_arn, region } => match aws {
                    Some(sdk) => Arc::new(sns::Sns::new(sdk, topic_arn.clone(), region)),
                    None => Arc::new(Broken("sns: no AWS configuration was loaded".into())),
                },
                ReceiverSettings::Alertmanager { url, basic_auth } => Arc::new(
                    alertmanager::Alertmanager::new(http.clone(), url, basic_auth.clone()),
                ),
                ReceiverSettings::Email(e) => match email::Email::new(e) {
                    Ok(r) => Arc::new(r),
                    Err(why) => {
                        tracing::error!(notifier = %n.name, error = %why, "An e-mail notifier cannot work as configured.");
                        Arc::new(Broken(format!("email: {why}")))
                    }
                },
            };
            (n.name.clone(), r)
        })
        .collect()
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
