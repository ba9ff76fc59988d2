//! Server-rendered pages. They work without JavaScript.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use super::AppState;
use crate::collector::units::describe;
use crate::store::{Backend, now_ms};

/// One row of the targets table.
pub struct TargetRow {
    pub name: String,
    pub kind: &'static str,
    pub schedule: String,
    /// `up`, `down` or `pending` (not polled yet); also the CSS class.
    pub state: &'static str,
    /// The latest hit rate as a percentage, or an empty string.
    pub hit_rate: String,
    /// Why it is down, or what to fix while up.
    pub message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct Home {
    version: &'static str,
    backend: &'static str,
    targets: Vec<TargetRow>,
}

/// The home page: every target, or how to add the first one.
pub async fn home(state: web::Data<AppState>) -> Home {
    // The page still renders when the database does not answer; it then shows no status.
    let statuses = state.store.list_target_status().await.unwrap_or_default();
    let since = now_ms() - 30 * 60_000;
    let mut targets = Vec::new();
    for t in &state.settings.targets {
        let status = statuses.iter().find(|s| s.target == t.name.as_str());
        let latest = state
            .store
            .latest_samples(t.name.as_str(), since)
            .await
            .unwrap_or_default();
        let hit_rate = latest
            .iter()
            .find(|s| s.series == "hit_rate")
            .map(|s| format!("{:.1} %", s.value * 100.0))
            .unwrap_or_default();
        targets.push(TargetRow {
            name: t.name.to_string(),
            kind: t.kind().as_str(),
            schedule: describe(&t.schedule),
            state: match status {
                None => "pending",
                Some(s) if s.up => "up",
                Some(_) => "down",
            },
            hit_rate,
            message: status
                .and_then(|s| s.last_error.clone().or_else(|| s.notice.clone()))
                .unwrap_or_default(),
        });
    }
    Home {
        version: env!("CARGO_PKG_VERSION"),
        backend: match state.store.backend() {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        },
        targets,
    }
}
