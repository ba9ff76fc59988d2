//! PagerDuty Events v2: `trigger` on alarm, `resolve` on recovery, with a dedup key stable per
//! alarm and target so PagerDuty keeps one incident.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::{Receiver, ReceiverConfig, ReceiverKind, SendError, Shared, send_http, summary};
use crate::checker::fields::{self, Field};
use crate::checker::{Checker, KeyPath};
use crate::store::Notification;

/// The Events API v2 endpoint (the EU service uses events.eu.pagerduty.com; set `url`).
pub const EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

pub struct PagerDutyKind;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// The 32-character integration key of an Events API v2 integration.
    routing_key: Option<String>,
    /// Another events endpoint (the EU one).
    url: Option<String>,
}

/// A PagerDuty notifier.
#[derive(Debug, Clone)]
pub struct Config {
    pub routing_key: SecretString,
    pub url: Option<url::Url>,
}

impl ReceiverKind for PagerDutyKind {
    fn name(&self) -> &'static str {
        "pagerduty"
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
        let url = match &raw.url {
            None => Some(None),
            Some(u) => v.url(path.key("url"), u, &["https", "http"]).map(Some),
        };
        let key = v.required(path, "routing_key", &raw.routing_key)?;
        if key.len() != 32 || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            v.error(
                path.key("routing_key"),
                "must be the 32-character integration key of an Events API v2 integration",
            );
            return None;
        }
        Some(Arc::new(Config {
            routing_key: SecretString::from(key.clone()),
            url: url?,
        }))
    }

    fn example(&self) -> &'static str {
        r#"[[notifiers]]
name = "oncall"
kind = "pagerduty"
routing_key = "0123456789abcdef0123456789abcdef"
"#
    }
}

impl ReceiverConfig for Config {
    fn secrets(&self) -> Vec<&str> {
        vec![self.routing_key.expose_secret()]
    }

    fn build(&self, shared: &Shared<'_>) -> Result<Arc<dyn Receiver>, String> {
        Ok(Arc::new(PagerDuty {
            http: shared.http.clone(),
            routing_key: self.routing_key.clone(),
            url: self
                .url
                .clone()
                .unwrap_or_else(|| EVENTS_URL.parse().expect("static URL")),
        }))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

struct PagerDuty {
    http: reqwest::Client,
    routing_key: SecretString,
    url: url::Url,
}

impl Receiver for PagerDuty {
    fn send<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let p = &n.payload;
            let severity = match p["severity"].as_str() {
                Some("critical") => "critical",
                Some("info") => "info",
                _ => "warning",
            };
            let links: Vec<_> = [
                ("link", "the alarm in cachewarden"),
                ("target_link", "the target's charts"),
            ]
            .iter()
            .filter_map(|(field, text)| {
                p[*field]
                    .as_str()
                    .map(|l| json!({ "href": l, "text": text }))
            })
            .collect();
            let event = json!({
                "routing_key": self.routing_key.expose_secret(),
                "event_action": if super::message::ends(&n.kind) { "resolve" } else { "trigger" },
                "dedup_key": format!("cachewarden/{}/{}", p["alarm"].as_str().unwrap_or_default(), p["target"].as_str().unwrap_or_default()),
                "payload": {
                    "summary": summary(p),
                    "source": p["target"],
                    "severity": severity,
                    "custom_details": p,
                },
                "links": links,
            });
            send_http("pagerduty", self.http.post(self.url.clone()).json(&event)).await
        })
    }
}
