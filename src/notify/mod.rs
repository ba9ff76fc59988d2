//! Notifications. A receiver kind is one module: its configuration (a struct that denies
//! unknown keys), its secrets, and how it sends; [`RECEIVERS`] lists them. The
//! [`NotifyWorker`] delivers the outbox through them, with retries and backoff in one place.

mod alertmanager;
mod email;
mod message;
mod pagerduty;
mod slack;
mod sns;
pub mod webhook;
mod worker;

pub use alertmanager::alert;
pub use message::{subject, summary, text};
pub use webhook::signature;
pub use worker::{DeliveryReport, NotifyWorker};

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::checker::fields::Field;
use crate::checker::{Checker, KeyPath};
use crate::store::Notification;

/// Every receiver kind. A new one is a module above and one line here.
pub static RECEIVERS: &[&dyn ReceiverKind] = &[
    &webhook::WebhookKind,
    &slack::SlackKind,
    &pagerduty::PagerDutyKind,
    &sns::SnsKind,
    &email::EmailKind,
    &alertmanager::AlertmanagerKind,
];

/// Why a delivery failed; every failure is retried until the attempts run out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

/// Something that delivers a notification.
pub trait Receiver: Send + Sync {
    fn send<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), SendError>>;
}

/// A kind of receiver, as `kind = "…"` names it in `[[notifiers]]`.
pub trait ReceiverKind: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// The keys of its configuration (beside name and kind).
    fn fields(&self) -> Vec<Field>;

    /// Checks a notifier's own keys, reporting every mistake through `v`.
    fn parse(
        &self,
        v: &mut Checker,
        path: &KeyPath,
        table: toml::Table,
        foreign: &dyn Fn(&str) -> String,
    ) -> Option<Arc<dyn ReceiverConfig>>;

    /// A commented example, for `print-default-config`.
    fn example(&self) -> &'static str;
}

/// What receivers are built with: one HTTP client for all, and the AWS configuration.
pub struct Shared<'a> {
    pub http: reqwest::Client,
    pub aws: Option<&'a aws_config::SdkConfig>,
}

/// A notifier's own configuration, as its kind checked it.
pub trait ReceiverConfig: fmt::Debug + Send + Sync + Any {
    /// The secrets it holds, so that a reload sees them change.
    fn secrets(&self) -> Vec<&str> {
        Vec::new()
    }

    /// Whether it reaches AWS (so the SDK's configuration is loaded).
    fn needs_aws(&self) -> bool {
        false
    }

    /// The receiver that sends, or why it cannot work as configured (a CA file that cannot
    /// be read, no AWS configuration): its deliveries then fail with that reason.
    fn build(&self, shared: &Shared<'_>) -> Result<Arc<dyn Receiver>, String>;

    fn as_any(&self) -> &dyn Any;
}

/// `[[notifiers]]`
#[derive(Debug, Clone)]
pub struct NotifierSettings {
    /// Unique name, referenced by alarms' `notify`.
    pub name: String,
    /// Its kind's name.
    pub kind: &'static str,
    pub config: Arc<dyn ReceiverConfig>,
}

impl NotifierSettings {
    /// Its own configuration, when its kind's configuration is a `T`.
    pub fn config<T: 'static>(&self) -> Option<&T> {
        self.config.as_any().downcast_ref::<T>()
    }
}

/// The receiver kind named `name`.
pub fn kind_named(name: &str) -> Option<&'static dyn ReceiverKind> {
    RECEIVERS.iter().find(|k| k.name() == name).copied()
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

/// A notifier that cannot work as configured: its deliveries fail with the reason, which
/// the outbox API shows.
struct Broken(String);

impl Receiver for Broken {
    fn send<'a>(&'a self, _n: &'a Notification) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move { Err(SendError(self.0.clone())) })
    }
}

/// A receiver for every configured notifier.
pub fn receivers(
    notifiers: &[NotifierSettings],
    aws: Option<&aws_config::SdkConfig>,
) -> HashMap<String, Arc<dyn Receiver>> {
    let shared = Shared {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("cachewarden/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default(),
        aws,
    };
    notifiers
        .iter()
        .map(|n| {
            let r = n.config.build(&shared).unwrap_or_else(|why| {
                tracing::error!(notifier = %n.name, error = %why, "A notifier cannot work as configured.");
                Arc::new(Broken(format!("{}: {why}", n.kind)))
            });
            (n.name.clone(), r)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn receiver_kinds_have_unique_names_and_a_valid_example() {
        let mut names: Vec<&str> = super::RECEIVERS.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), super::RECEIVERS.len());
        for k in super::RECEIVERS {
            assert!(
                k.example().contains(&format!("kind = \"{}\"", k.name())),
                "{}",
                k.name()
            );
        }
    }
}
