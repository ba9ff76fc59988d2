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
    let hit_rate = read("hit_rate").await?;
    let (requests, hits, misses) = (
        read("requests").await?,
        read("hits").await?,
        read("misses").await?,
    );
    // The first of the names a source may use that has data.
    let mut evictions = Vec::new();
    for name in super::EVICTIONS {
        evictions = read(name).await?;
        if !evictions.is_empty() {
            break;
        }
    }
    let (mut memory_label, mut memory_unit, mut memory) =
        ("memory in use", Unit::Ratio, Vec::new());
    for (name, label, unit) in [
        ("memory_usage", "memory in use", Unit::Ratio),
        ("used_memory", "used_memory", Unit::Bytes),
        ("bytes", "bytes in use", Unit::Bytes),
    ] {
        let points = read(name).await?;
        if !points.is_empty() {
            (memory_label, memory_unit, memory) = (label, unit, points);
            break;
        }
    }
    let chart = |id: &str, title: &str, unit: Unit, series: &[Series]| {
        Chart::new(id, title, unit, series, &happenings, from, to, gap)
            .render()
            .map_err(|e| PageError::from(crate::http::ApiError::internal(&e)))
    };
    let mut traffic = Vec::new();
    for (label, points) in [
        ("requests", &requests),
        ("hits", &hits),
        ("misses", &misses),
    ] {
        if !points.is_empty() {
            traffic.push(Series { label, points });
        }
    }
    if traffic.is_empty() {
        traffic.push(Series {
            label: "hits",
            points: &hits,
        });
    }
    let charts = vec![
        chart(
            "chart-hit-rate",
            "Hit rate",
            Unit::Ratio,
            &[Series {
                label: "hit rate",
                points: &hit_rate,
            }],
        )?,
        chart(
            "chart-traffic",
            "Requests, hits and misses",
            Unit::Count,
            &traffic,
        )?,
        chart(
            "chart-evictions",
            "Evictions",
            Unit::Count,
            &[Series {
                label: "evictions",
                points: &evictions,
            }],
        )?,
        chart(
            "chart-memory",
            "Memory",
            memory_unit,
            &[Series {
                label: memory_label,
                points: &memory,
            }],
        )?,
    ];
    Ok(TargetPage {
        chrome: Chrome::new(&state, &person),
        name: target.name.to_string(),
        kind: target.kind().label(),
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
