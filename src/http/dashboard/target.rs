//! One target over time: hit rate, traffic, evictions and memory over a chosen span, for the
//! whole target or one node of a cluster, with what happened drawn on the same time axis.

use std::collections::BTreeMap;

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::chart::{Chart, Happening, Series, Unit, reading};
use super::{Chrome, PageError, Person, when};
use crate::http::AppState;
use crate::impact::Impact;
use crate::status::{TargetState, resolution};
use crate::store::{Annotation, TargetStatus};
use crate::targets::Role;

/// The charts a target page can show: (id, title, the roles of the series drawn). A kind
/// gets those of its series' roles, in this order.
const CHARTS: &[(&str, &str, &[Role])] = &[
    ("chart-hit-rate", "Hit rate", &[Role::HitRatio]),
    (
        "chart-traffic",
        "Requests, hits and misses",
        &[Role::Requests, Role::Hits, Role::Misses],
    ),
    ("chart-evictions", "Evictions", &[Role::Evictions]),
    (
        "chart-memory",
        "Memory",
        &[Role::MemoryShare, Role::MemoryUsed, Role::MemoryLimit],
    ),
    ("chart-errors", "Errors", &[Role::ErrorRatio]),
    ("chart-latency", "Latency", &[Role::Latency]),
    ("chart-connections", "Connections", &[Role::Connections]),
    ("chart-stored", "Keys stored", &[Role::Stored]),
    ("chart-commands", "Commands", &[Role::Commands]),
];

/// The spans offered, as (query value, label, milliseconds).
const SPANS: [(&str, &str, i64); 6] = [
    ("15m", "15 minutes", 900_000),
    ("1h", "1 hour", 3_600_000),
    ("6h", "6 hours", 6 * 3_600_000),
    ("24h", "24 hours", 24 * 3_600_000),
    ("7d", "7 days", 7 * 86_400_000),
    ("30d", "30 days", 30 * 86_400_000),
];

#[derive(Template, WebTemplate)]
#[template(path = "target.html")]
pub struct TargetPage {
    chrome: Chrome,
    name: String,
    kind: &'static str,
    span: &'static str,
    spans: Vec<(&'static str, &'static str)>,
    /// The range selected on a chart, in words, when one is shown instead of a span.
    custom: Option<String>,
    node: String,
    nodes: Vec<String>,
    /// What one point is ("5-minute averages").
    resolution: &'static str,
    charts: Vec<String>,
    /// The newest value of each series charted: (series, value).
    current: Vec<(String, String)>,
    happenings: Vec<Row>,
    /// `up`, `down` or `pending` (also the CSS class), and what to say about it.
    state: &'static str,
    status: String,
    /// Where it lives and what it is known by: its resource, account, region, group, tags,
    /// and the discovery that found it ("distribution E2QWRUHEXAMPLE", "account 1111…").
    placed: Vec<String>,
}

/// What the page says of where a target lives, in the order people look for it.
fn placed(t: &crate::config::TargetSettings, default_region: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = t
        .config
        .facts()
        .into_iter()
        .map(|(what, value)| format!("{what} {value}"))
        .collect();
    if let Some(a) = &t.labels.account_id {
        out.push(format!("account {a}"));
    }
    if let Some(r) = t.region(default_region) {
        out.push(r);
    }
    if let Some(g) = &t.labels.group {
        out.push(format!("group {g}"));
    }
    if !t.labels.tags.is_empty() {
        let tags: Vec<String> = t
            .labels
            .tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push(tags.join(", "));
    }
    if let Some(d) = &t.labels.discovered_by {
        out.push(format!("found by discovery {d}"));
    }
    out
}

/// One line of the list below the charts (the same facts as the marks, as text).
pub struct Row {
    pub at: String,
    pub label: String,
    pub href: String,
}

#[derive(Deserialize)]
pub struct Params {
    span: Option<String>,
    #[serde(default)]
    node: String,
    /// A range chosen by selecting it on a chart (ms): shown instead of a span.
    from: Option<i64>,
    to: Option<i64>,
}

/// A mark for people; a change says what it cost once that is known.
fn describe(a: &Annotation, impacts: &BTreeMap<i64, Impact>) -> Happening {
    match a {
        Annotation::Job(j) => Happening {
            at: j.at,
            class: "job",
            label: format!(
                "{} #{} by {} ({}){}",
                crate::registry::title_of(&j.kind),
                j.id,
                j.requester,
                j.state,
                impacts
                    .get(&j.id)
                    .map(|i| format!(" · {}", i.brief()))
                    .unwrap_or_default()
            ),
            href: format!("/jobs/{}", j.id),
        },
        Annotation::Alarm(a) => Happening {
            at: a.at,
            class: "alarm",
            label: format!("alarm {}: {} → {}", a.alarm, a.from.label(), a.to.label()),
            href: format!("/alarms#alarm-{}", a.id),
        },
    }
}

/// What the page says of the target's latest poll.
fn status_line(status: Option<&TargetStatus>) -> String {
    match status {
        None => "Not polled yet.".to_owned(),
        Some(s) if s.up => match &s.notice {
            Some(n) => format!("Up (polled {}). {n}", when(s.last_poll_at)),
            None => format!("Up (polled {}).", when(s.last_poll_at)),
        },
        Some(s) => format!(
            "Down: the poll at {} failed: {}. {}",
            when(s.last_poll_at),
            s.last_error.as_deref().unwrap_or("no reason recorded"),
            match s.last_success_at {
                Some(at) => format!("Last up at {}; the charts end there.", when(at)),
                None => "It has never been up.".to_owned(),
            }
        ),
    }
}

pub async fn page(
    state: web::Data<AppState>,
    person: Person,
    name: web::Path<String>,
    params: web::Query<Params>,
) -> Result<TargetPage, PageError> {
    let (span, _, span_ms) = SPANS
        .iter()
        .find(|(v, _, _)| Some(*v) == params.span.as_deref())
        .copied()
        .unwrap_or(SPANS[1]);
    let now = crate::store::now_ms();
    // A range selected on a chart wins over the span; the span links lead back out of it.
    let (range, custom) = match (params.from, params.to) {
        (Some(from), Some(to)) => ((from, to), Some(format!("{} to {}", when(from), when(to)))),
        _ => ((now - span_ms, now), None),
    };
    let roles: Vec<Role> = CHARTS
        .iter()
        .flat_map(|(_, _, r)| r.iter().copied())
        .collect();
    let h = state
        .targets
        .history(&person.0.principal, &name, range, &params.node, &roles)
        .await?;
    let jobs: Vec<i64> = h
        .annotations
        .iter()
        .filter_map(|a| match a {
            Annotation::Job(j) => Some(j.id),
            Annotation::Alarm(_) => None,
        })
        .collect();
    let impacts = state.impact.stored(&jobs).await?;
    let happenings: Vec<Happening> = h
        .annotations
        .iter()
        .map(|a| describe(a, &impacts))
        .collect();
    let gap = 2 * h
        .target
        .schedule_hint_ms()
        .max(h.resolution.bucket_ms())
        .max(60_000);
    let settings = state.settings();
    let thresholds: Vec<(&crate::config::AlarmSettings, f64, &str)> = settings
        .alarms
        .iter()
        .filter(|a| a.watches(&h.target))
        .filter_map(|a| {
            let (v, side) = a.condition.threshold()?;
            Some((a, v, side))
        })
        .collect();
    // The newest value of each series, in a row above the charts.
    let current: Vec<(String, String)> = h
        .series
        .iter()
        .filter_map(|(s, points)| {
            let (_, v) = points.last()?;
            Some((s.name.replace('_', " "), reading(*v, Unit::of(s))))
        })
        .collect();
    // Each chart draws the kind's series of its roles, so a CloudFront target charts
    // requests, errors and origin latency where a Redis one charts evictions and memory.
    let mut charts = Vec::new();
    for (id, title, roles) in CHARTS {
        let rows: Vec<_> = h
            .series
            .iter()
            .filter(|(s, _)| roles.contains(&s.role))
            .collect();
        let Some((first, _)) = rows.first() else {
            continue;
        };
        let labels: Vec<String> = rows.iter().map(|(s, _)| s.name.replace('_', " ")).collect();
        let series: Vec<Series> = rows
            .iter()
            .zip(&labels)
            .map(|((s, points), label)| Series {
                label,
                points,
                warm: matches!(s.role, Role::Misses | Role::ErrorRatio | Role::Evictions),
            })
            .collect();
        let unit = Unit::of(first);
        let mut chart = Chart::new(id, title, unit, &series, &happenings, h.from, h.to, gap);
        // The thresholds of the alarms on these series, where they would fire.
        for (alarm, value, side) in &thresholds {
            if rows.iter().any(|(s, _)| s.name == alarm.metric) {
                let words = format!("alarm {}: {side} {}", alarm.name, reading(*value, unit));
                chart = chart.with_threshold(*value, words);
            }
        }
        charts.push(
            chart
                .render()
                .map_err(|e| PageError::from(crate::http::ApiError::internal(&e)))?,
        );
    }
    Ok(TargetPage {
        chrome: Chrome::new(&state, &person),
        name: h.target.name.to_string(),
        kind: h.target.kind.label(),
        span: if custom.is_some() { "" } else { span },
        custom,
        spans: SPANS.iter().map(|(v, l, _)| (*v, *l)).collect(),
        node: h.node,
        nodes: h.nodes,
        resolution: resolution::label(h.resolution),
        state: TargetState::of(h.status.as_ref()).as_str(),
        status: status_line(h.status.as_ref()),
        placed: placed(&h.target, settings.aws.region.as_deref()),
        charts,
        current,
        happenings: happenings
            .iter()
            .rev()
            .map(|h| Row {
                at: when(h.at),
                label: h.label.clone(),
                href: h.href.clone(),
            })
            .collect(),
    })
}
