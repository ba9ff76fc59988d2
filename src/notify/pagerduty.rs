//! PagerDuty Events v2: `trigger` on alarm, `resolve` on recovery, with a dedup key stable per
//! alarm and target so PagerDuty keeps one incident.

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{Receiver, SendError, send_http, summary};
use crate::store::Notification;

/// The Events API v2 endpoint (the EU service uses events.eu.pagerduty.com; set `url`).
pub const EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

pub struct PagerDuty {
    http: reqwest::Client,
    routing_key: SecretString,
    url: url::Url,
}

impl PagerDuty {
    pub fn new(http: reqwest::Client, routing_key: SecretString, url: Option<url::Url>) -> Self {
        let url = url.unwrap_or_else(|| EVENTS_URL.parse().expect("static URL"));
        Self {
            http,
            routing_key,
            url,
        }
    }
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
                "event_action": if n.kind == "resolved" { "resolve" } else { "trigger" },
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
