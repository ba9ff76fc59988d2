//! Prometheus Alertmanager (API v2), for teams that already route pages there: an alarm is an
//! alert with the labels Alertmanager groups and routes by, and its resolution ends it.
//!
//! cachewarden sends a message per transition (and per reminder), not every evaluation as
//! Prometheus does, so a firing alert carries an `endsAt` a day ahead: Alertmanager would
//! otherwise resolve it by itself after its `resolve_timeout` (5 minutes). Each reminder moves
//! it again; if cachewarden stops for a day, the alert ends rather than firing forever.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Receiver, ReceiverConfig, ReceiverKind, SendError, Shared, send_http, summary, text};
use crate::checker::fields::{self, Field};
use crate::checker::{Checker, KeyPath};
use crate::store::Notification;

/// How long a firing alert lasts without news from cachewarden.
const FIRING_FOR_MS: i64 = 24 * 3_600_000;

pub struct AlertmanagerKind;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// Where Alertmanager answers; alerts go to its `api/v2/alerts`.
    url: Option<String>,
    /// Basic auth, for an Alertmanager behind a proxy (both or neither).
    username: Option<String>,
    password: Option<String>,
}

/// An Alertmanager notifier.
#[derive(Debug, Clone)]
pub struct Config {
    pub url: url::Url,
    pub basic_auth: Option<(String, SecretString)>,
}

impl ReceiverKind for AlertmanagerKind {
    fn name(&self) -> &'static str {
        "alertmanager"
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
        let basic_auth = match (raw.username, raw.password) {
            (Some(u), Some(p)) => Some(Some((u, SecretString::from(p)))),
            (None, None) => Some(None),
            (Some(_), None) => {
                v.error(path.key("password"), "is required with username");
                None
            }
            (None, Some(_)) => {
                v.error(path.key("username"), "is required with password");
                None
            }
        };
        let url = v.required(path, "url", &raw.url)?;
        let url = v.url(path.key("url"), url, &["http", "https"])?;
        Some(Arc::new(Config {
            url,
            basic_auth: basic_auth?,
        }))
    }

    fn example(&self) -> &'static str {
        r#"[[notifiers]]
name = "alertmanager"
kind = "alertmanager"
url = "http://alertmanager:9093"     # alerts go to its /api/v2/alerts; username/password for basic auth
"#
    }
}

impl ReceiverConfig for Config {
    fn secrets(&self) -> Vec<&str> {
        self.basic_auth
            .iter()
            .map(|(_, p)| p.expose_secret())
            .collect()
    }

    fn build(&self, shared: &Shared<'_>) -> Result<Arc<dyn Receiver>, String> {
        Ok(Arc::new(Alertmanager::new(
            shared.http.clone(),
            &self.url,
            self.basic_auth.clone(),
        )))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

struct Alertmanager {
    http: reqwest::Client,
    alerts_url: url::Url,
    basic_auth: Option<(String, SecretString)>,
}

impl Alertmanager {
    /// `base` is where Alertmanager answers (`http://alertmanager:9093`, or below a path
    /// prefix); alerts go to `api/v2/alerts` under it.
    fn new(
        http: reqwest::Client,
        base: &url::Url,
        basic_auth: Option<(String, SecretString)>,
    ) -> Self {
        let mut base = base.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let alerts_url = base.join("api/v2/alerts").unwrap_or(base);
        Self {
            http,
            alerts_url,
            basic_auth,
        }
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The alert for one notification (pure, for tests).
pub fn alert(n: &Notification) -> Value {
    let p = &n.payload;
    let at = p["at"].as_i64().unwrap_or(n.created_at);
    let since = p["since"].as_i64().unwrap_or(at);
    let (starts, ends) = if super::message::ends(&n.kind) {
        (at, at)
    } else {
        (since.min(at), at + FIRING_FOR_MS)
    };
    let label = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let mut alert = json!({
        // Alertmanager identifies an alert by its labels: these stay the same from the alarm
        // to its resolution, so the resolution ends the alert the alarm began.
        "labels": {
            "alertname": label(&p["alarm"]),
            "target": label(&p["target"]),
            "series": label(&p["series"]),
            "severity": label(&p["severity"]),
            "source": "cachewarden",
        },
        "annotations": {
            "summary": summary(p),
            "description": text(p),
        },
        "startsAt": rfc3339(starts),
        "endsAt": rfc3339(ends),
    });
    if let Some(link) = p["link"].as_str() {
        alert["generatorURL"] = link.into();
    }
    alert
}

impl Receiver for Alertmanager {
    fn send<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let mut req = self
                .http
                .post(self.alerts_url.clone())
                .json(&json!([alert(n)]));
            if let Some((user, password)) = &self.basic_auth {
                req = req.basic_auth(user, Some(password.expose_secret()));
            }
            send_http("alertmanager", req).await
        })
    }
}
