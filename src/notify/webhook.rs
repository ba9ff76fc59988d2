//! Generic webhook: the payload as JSON, signed with HMAC-SHA256 when a secret is set.
//! `X-Cachewarden-Signature: t=UNIX_SECONDS,v1=HEX(HMAC(secret, "t.body"))` lets a receiver
//! check origin and freshness; `X-Cachewarden-Delivery` lets it drop a duplicate.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;

use super::{Receiver, ReceiverConfig, ReceiverKind, SendError, Shared, send_http};
use crate::checker::fields::{self, Field};
use crate::checker::{Checker, KeyPath};
use crate::store::Notification;

pub struct WebhookKind;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// Where the JSON is POSTed.
    url: Option<String>,
    /// Signs each delivery (HMAC-SHA256); the receiver checks it.
    secret: Option<String>,
}

/// A webhook notifier.
#[derive(Debug, Clone)]
pub struct Config {
    pub url: url::Url,
    pub secret: Option<SecretString>,
}

impl ReceiverKind for WebhookKind {
    fn name(&self) -> &'static str {
        "webhook"
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
        let url = v.url(path.key("url"), url, &["http", "https"])?;
        Some(Arc::new(Config {
            url,
            secret: raw.secret.map(SecretString::from),
        }))
    }

    fn example(&self) -> &'static str {
        r#"[[notifiers]]
name = "ops"
kind = "webhook"
url = "https://hooks.example.com/cache"
secret = "change-me"                  # signs X-Cachewarden-Signature (HMAC-SHA256)
"#
    }
}

impl ReceiverConfig for Config {
    fn secrets(&self) -> Vec<&str> {
        self.secret.iter().map(|s| s.expose_secret()).collect()
    }

    fn build(&self, shared: &Shared<'_>) -> Result<Arc<dyn Receiver>, String> {
        Ok(Arc::new(Webhook {
            http: shared.http.clone(),
            url: self.url.clone(),
            secret: self.secret.clone(),
        }))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

struct Webhook {
    http: reqwest::Client,
    url: url::Url,
    secret: Option<SecretString>,
}

/// The signature header value for `body` at time `t`.
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

impl Receiver for Webhook {
    fn send<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let body = serde_json::to_vec(&n.payload).map_err(|e| SendError(e.to_string()))?;
            let mut req = self
                .http
                .post(self.url.clone())
                .header("Content-Type", "application/json")
                .header("X-Cachewarden-Delivery", n.id.to_string());
            if let Some(secret) = &self.secret {
                req = req.header(
                    "X-Cachewarden-Signature",
                    signature(
                        secret.expose_secret(),
                        chrono::Utc::now().timestamp(),
                        &body,
                    ),
                );
            }
            send_http("webhook", req.body(body)).await
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_matches_a_known_vector() {
        // HMAC-SHA256("key", "1700000000.{}") computed independently with Python's hmac module.
        assert_eq!(
            super::signature("key", 1_700_000_000, b"{}"),
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }
}
