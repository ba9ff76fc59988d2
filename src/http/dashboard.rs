//! Server-rendered pages. They work without JavaScript.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use super::AppState;
use super::sparkline;
use crate::collector::units::describe;
use crate::store::{Backend, Resolution, SeriesQuery, now_ms};

/// The span the dashboard's charts cover.
const CHART_SPAN_MS: i64 = 6 * 3_600_000;

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
    /// The hit rate over the last six hours as inline SVG (our own markup, numbers only).
    pub chart: String,
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
    // Every target's newest values in one query.
    let latest = state
        .store
        .latest_samples_all(now_ms() - 30 * 60_000)
        .await
        .unwrap_or_default();
    let mut targets = Vec::new();
    for t in &state.settings.targets {
        let status = statuses.iter().find(|s| s.target == t.name.as_str());
        let hit_rate = latest
            .get(t.name.as_str())
            .into_iter()
            .flatten()
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
            chart: chart(&state, t.name.as_str(), t.schedule_hint_ms()).await,
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

/// The hit rate of the last six hours of a target as a sparkline (empty without data).
async fn chart(state: &AppState, target: &str, every_ms: i64) -> String {
    let to = now_ms();
    let from = to - CHART_SPAN_MS;
    let q = SeriesQuery {
        target: target.to_owned(),
        node: String::new(),
        series: "hit_rate".into(),
        from,
        to,
        resolution: Resolution::Raw,
        detail: false,
    };
    let points: Vec<(i64, f64)> = state
        .store
        .read_series(&q)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.ts, p.value))
        .collect();
    // A gap of more than two polls is an interval without traffic: the line breaks there.
    sparkline::svg(
        &points,
        from,
        to,
        0.0,
        1.0,
        2 * every_ms.max(60_000),
        &format!("hit rate of {target}, last 6 hours"),
    )
}
