//! Slack incoming webhook: the summary line as the message text.

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{Receiver, SendError, send_http, summary};
use crate::store::Notification;

pub struct Slack {
    http: reqwest::Client,
    /// The webhook URL is the credential.
    url: SecretString,
}

impl Slack {
    pub fn new(http: reqwest::Client, url: SecretString) -> Self {
        Self { http, url }
    }
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
