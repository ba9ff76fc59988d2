//! Slack incoming webhook: the summary line as the message text.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::{Receiver, ReceiverConfig, ReceiverKind, SendError, Shared, send_http, summary};
use crate::checker::fields::{self, Field};
use crate::checker::{Checker, KeyPath};
use crate::store::Notification;

pub struct SlackKind;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// The incoming webhook's URL (it is the credential).
    url: Option<String>,
}

/// A Slack notifier.
#[derive(Debug, Clone)]
pub struct Config {
    /// The webhook URL is the credential.
    pub url: SecretString,
}

impl ReceiverKind for SlackKind {
    fn name(&self) -> &'static str {
        "slack"
    }

    fn fields(&self) -> Vec<Field> {
        fields::of::<Raw>()
    }

    fn parse(
        &self,
        v: &mut Checker,
        path: &KeyPath,
        table: toml::Table,
        foreign: &dyn Fn(&str) -> String,
    ) -> Option<Arc<dyn ReceiverConfig>> {
        let raw: Raw = fields::read(v, path, table, foreign)?;
        let url = v.required(path, "url", &raw.url)?;
        v.url(path.key("url"), url, &["https", "http"])?;
        Some(Arc::new(Config {
            url: SecretString::from(url.clone()),
        }))
    }

    fn example(&self) -> &'static str {
        r#"[[notifiers]]
name = "team-channel"
kind = "slack"
url = "https://hooks.slack.com/services/T000/B000/XXXX"   # better from the environment
"#
    }
}

impl ReceiverConfig for Config {
    fn secrets(&self) -> Vec<&str> {
        vec![self.url.expose_secret()]
    }

    fn build(&self, shared: &Shared<'_>) -> Result<Arc<dyn Receiver>, String> {
        Ok(Arc::new(Slack {
            http: shared.http.clone(),
            url: self.url.clone(),
        }))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

struct Slack {
    http: reqwest::Client,
    url: SecretString,
}

impl Receiver for Slack {
    fn send<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let req = self
                .http
                .post(self.url.expose_secret())
                .json(&json!({ "text": summary(&n.payload) }));
            send_http("slack", req).await
        })
    }
}
