//! One target over time: hit rate, traffic, evictions and memory over a chosen span, for the
//! whole target or one node of a cluster, with what happened drawn on the same time axis.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::chart::{Chart, Happening, Series, Unit};
use super::{Chrome, PageError, Person, when};
use crate::domain::{Scope, TargetName};
use crate::http::AppState;
use crate::http::api::series::choose_resolution;
use crate::store::{Annotation, SeriesQuery, now_ms};
use crate::targets::{Role, Series as TargetSeries};

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
];

/// How a series' unit is drawn.
fn unit_of(unit: crate::targets::Unit) -> Unit {
    match unit {
        crate::targets::Unit::Ratio => Unit::Ratio,
        crate::targets::Unit::Count => Unit::Count,
        crate::targets::Unit::Bytes => Unit::Bytes,
        crate::targets::Unit::Milliseconds => Unit::Milliseconds,
    }
}

/// The spans offered, as (query value, label, milliseconds).
const SPANS: [(&str, &str, i64); 5] = [
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
    node: String,
    nodes: Vec<String>,
    resolution: String,
    charts: Vec<String>,
    happenings: Vec<Row>,
    /// `up`, `down` or `pending` (also the CSS class), and what to say about it.
    state: &'static str,
    status: String,
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
}

fn describe(a: &Annotation) -> Happening {
    match a.source {
        "job" => Happening {
            at: a.at,
            class: "job",
            label: format!("{} #{} by {} ({})", a.what, a.id, a.who, a.detail),
            href: format!("/jobs/{}", a.id),
        },
        _ => Happening {
            at: a.at,
            class: "alarm",
            label: format!("alarm {}: {}", a.what, a.detail),
            href: "/alarms".into(),
        },
    }
}

pub async fn page(
    state: web::Data<AppState>,
    person: Person,
    name: web::Path<String>,
    params: web::Query<Params>,
) -> Result<TargetPage, PageError> {
    let settings = state.settings();
    let target = TargetName::parse(&name)
        .ok()
        .and_then(|n| settings.target(&n))
        .ok_or_else(|| {
            PageError::from(crate::http::ApiError::not_found(format!(
                "no target named {:?}",
                name.as_str()
            )))
        })?;
    let who = &person.0.principal;
    who.require_target(Scope::Read, &target.name)
        .map_err(crate::http::ApiError::from)?;
    let (span, _, span_ms) = SPANS
        .iter()
        .find(|(v, _, _)| Some(*v) == params.span.as_deref())
        .copied()
        .unwrap_or(SPANS[2]);
    let to = now_ms();
    let from = to - span_ms;
    let resolution = choose_resolution(from, to, to, &settings.retention);
    let nodes = state.store.target_nodes(target.name.as_str(), from).await?;
    let node = if nodes.contains(&params.node) {
        params.node.clone()
    } else {
        String::new()
    };
    let (target_state, status) = match state.store.target_status(target.name.as_str()).await? {
        None => ("pending", "Not polled yet.".to_owned()),
        Some(s) if s.up => (
            "up",
            match &s.notice {
                Some(n) => format!("Up (polled {}). {n}", when(s.last_poll_at)),
                None => format!("Up (polled {}).", when(s.last_poll_at)),
            },
        ),
        Some(s) => (
            "down",
            format!(
                "Down: the poll at {} failed: {}. {}",
                when(s.last_poll_at),
                s.last_error.as_deref().unwrap_or("no reason recorded"),
                match s.last_success_at {
                    Some(at) => format!("Last up at {}; the charts end there.", when(at)),
                    None => "It has never been up.".to_owned(),
                }
            ),
        ),
    };
    let annotations = state
        .store
        .annotations(target.name.as_str(), from, to, 200)
        .await?;
    let happenings: Vec<Happening> = annotations.iter().map(describe).collect();
    let gap = 2 * target
        .schedule_hint_ms()
        .max(resolution.bucket_ms())
        .max(60_000);
    let read = |series: &'static str| {
        let q = SeriesQuery {
            target: target.name.to_string(),
            node: node.clone(),
            series: series.into(),
            from,
            to,
            resolution,
            detail: false,
        };
        let store = state.store.clone();
        async move {
            store
                .read_series(&q)
                .await
                .map(|p| p.into_iter().map(|p| (p.ts, p.value)).collect::<Vec<_>>())
        }
    };
    // Each chart draws the kind's series of its roles, so a CloudFront target charts
    // requests, errors and origin latency where a Redis one charts evictions and memory.
    let mut charts = Vec::new();
    for (id, title, roles) in CHARTS {
        let rows: Vec<&'static TargetSeries> = target
            .kind
            .series()
            .iter()
            .filter(|s| roles.contains(&s.role))
            .collect();
        let Some(first) = rows.first() else {
            continue;
        };
        let mut points = Vec::with_capacity(rows.len());
        for row in &rows {
            points.push((row.name.replace('_', " "), read(row.name).await?));
        }
        let series: Vec<Series> = points
            .iter()
            .map(|(label, points)| Series { label, points })
            .collect();
        charts.push(
            Chart::new(
                id,
                title,
                unit_of(first.unit),
                &series,
                &happenings,
                from,
                to,
                gap,
            )
            .render()
            .map_err(|e| PageError::from(crate::http::ApiError::internal(&e)))?,
        );
    }
    Ok(TargetPage {
        chrome: Chrome::new(&state, &person),
        name: target.name.to_string(),
        kind: target.kind.label(),
        span,
        spans: SPANS.iter().map(|(v, l, _)| (*v, *l)).collect(),
        node,
        nodes,
        resolution: format!("{resolution:?}"),
        state: target_state,
        status,
        charts,
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
