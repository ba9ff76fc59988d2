//! Server-rendered pages. They work without JavaScript.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use super::AppState;
use super::sparkline;
use crate::collector::current::Current;
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

/// One row of the alarms table.
pub struct AlarmRow {
    pub alarm: String,
    pub target: String,
    /// `ok`, `alarm` or `insufficient_data`; also the CSS class.
    pub state: String,
    /// When the state began (UTC, to the minute).
    pub since: String,
    /// Acknowledged, silenced: who holds its messages (never their comments: the page is
    /// read without a token).
    pub held: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct Home {
    version: &'static str,
    backend: &'static str,
    targets: Vec<TargetRow>,
    alarms: Vec<AlarmRow>,
}

/// Alarm states, those in alarm first.
async fn alarm_rows(state: &AppState) -> Vec<AlarmRow> {
    let now = now_ms();
    let states = state.store.list_alarm_states().await.unwrap_or_default();
    let silences = state.store.active_silences(now).await.unwrap_or_default();
    let mut rows: Vec<AlarmRow> = states
        .iter()
        .map(|s| {
            let mut held = Vec::new();
            if let Some(by) = &s.acked_by {
                held.push(format!("acknowledged by {by}"));
            }
            for x in silences.iter().filter(|x| {
                crate::alarms::hold::silence_matches(x, &s.alarm, &s.target, Some(s.id))
            }) {
                held.push(format!("silenced (#{}) by {}", x.id, x.created_by));
            }
            AlarmRow {
                alarm: s.alarm.clone(),
                target: s.target.clone(),
                state: s.state.clone(),
                since: chrono::DateTime::from_timestamp_millis(s.since)
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default(),
                held: held.join(", "),
            }
        })
        .collect();
    rows.sort_by_key(|r| r.state != "alarm");
    rows
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
    for t in &state.settings().targets {
        let status = statuses.iter().find(|s| s.target == t.name.as_str());
        let samples = latest
            .get(t.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let current = Current::new(samples);
        let hit_rate = match current.get("hit_rate") {
            None => String::new(),
            Some(s) if current.is_behind("hit_rate") => {
                let at = chrono::DateTime::from_timestamp_millis(s.ts)
                    .map(|t| t.format("%H:%M UTC").to_string())
                    .unwrap_or_default();
                format!("{:.1} % (at {at}; no traffic since)", s.value * 100.0)
            }
            Some(s) => format!("{:.1} %", s.value * 100.0),
        };
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
        alarms: alarm_rows(&state).await,
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
