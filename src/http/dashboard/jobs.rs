//! Jobs of every kind (invalidations, purges, events, and any kind added later: the pages read
//! only what every job has, and show the kind's own fields as they come), with live progress
//! (`app.js` reloads the `#live` part while a job is not final) and cancel.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;
use serde_json::Value;

use super::{Chrome, PageError, Person, see_other, when};
use crate::http::AppState;
use crate::http::middleware::AuditNote;
use crate::impact::{Impact, Measured, Window};
use crate::jobs::{JobView, ListQuery};

pub struct JobRow {
    pub id: i64,
    /// What people call it ("CloudFront invalidation").
    pub title: String,
    /// It only looked: shown as such, since it changed nothing.
    pub dry_run: bool,
    pub target: String,
    pub requester: String,
    pub state: &'static str,
    pub created: String,
    /// A one-line summary of its progress or result.
    pub summary: String,
    /// What it was asked to change.
    pub what: String,
}

/// One line for a job's progress: the counters its kind reports (numbers only).
fn summary(job: &JobView) -> String {
    if let Some(s) = &job.summary {
        return match &job.error {
            Some(e) => format!("{s}; {e}"),
            None => s.clone(),
        };
    }
    let source = job.progress.as_ref().or(job.result.as_ref());
    let Some(Value::Object(m)) = source else {
        return job.error.clone().unwrap_or_default();
    };
    let mut parts: Vec<String> = m
        .iter()
        // Counters, not identifiers or times.
        .filter(|(k, _)| {
            *k != "id" && !k.ends_with("_id") && !k.ends_with("_at") && !k.ends_with("_until")
        })
        .filter_map(|(k, v)| v.as_f64().map(|n| format!("{}: {n}", k.replace('_', " "))))
        .take(4)
        .collect();
    if let Some(e) = &job.error {
        parts.push(e.clone());
    }
    parts.join(", ")
}

pub(super) fn row(job: &JobView) -> JobRow {
    JobRow {
        id: job.id,
        title: crate::registry::title_of(&job.kind),
        dry_run: job.dry_run,
        target: job.target.clone(),
        requester: job.requester.clone(),
        state: job.state.as_str(),
        created: when(job.created_at),
        summary: summary(job),
        what: what(&job.request),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "jobs.html")]
pub struct JobsPage {
    chrome: Chrome,
    jobs: Vec<JobRow>,
    /// Whether a job on the page is still working (the script keeps the list fresh).
    live: bool,
    next_before: Option<i64>,
    /// One tab per action some kind performs: (value, label).
    tabs: Vec<(&'static str, &'static str)>,
    action: String,
    /// The kinds of the tab shown, for the kind filter: (name, what people call it).
    kinds: Vec<(&'static str, &'static str)>,
    states: Vec<&'static str>,
    /// The filters as given.
    kind: String,
    state: String,
    target: String,
    /// The query string of the current filters, for the next page's link.
    query: String,
}

#[derive(Deserialize)]
pub struct ListParams {
    /// An action (`purge`): its kinds' jobs.
    #[serde(default)]
    action: String,
    /// One kind.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    target: String,
    before: Option<i64>,
}

pub async fn list(
    state: web::Data<AppState>,
    person: Person,
    params: web::Query<ListParams>,
) -> Result<JobsPage, PageError> {
    let kinds = state.jobs.kinds();
    let action = kinds
        .iter()
        .map(|k| k.action)
        .find(|a| a.as_str() == params.action);
    if action.is_none() && !params.action.is_empty() {
        return Err(crate::http::ApiError::invalid(
            "action",
            format!("{:?} is not an action of any job kind", params.action),
        )
        .into());
    }
    let mut q = ListQuery {
        kinds: kinds
            .iter()
            .filter(|k| action.is_none_or(|a| k.action == a))
            .filter(|k| params.kind.is_empty() || k.name == params.kind)
            .map(|k| k.name.to_owned())
            .collect(),
        before: params.before,
        limit: 50,
        ..ListQuery::default()
    };
    if q.kinds.is_empty() {
        return Err(crate::http::ApiError::invalid(
            "kind",
            format!("{:?} is not a job kind", params.kind),
        )
        .into());
    }
    if !params.state.is_empty() {
        q.state = Some(
            params
                .state
                .parse()
                .map_err(|e: crate::domain::UnknownJobState| {
                    crate::http::ApiError::invalid("state", e.to_string())
                })?,
        );
    }
    if !params.target.is_empty() {
        q.target = Some(params.target.clone());
    }
    let page = state.jobs.list(&person.0.principal, &q).await?;
    let mut tabs: Vec<(&'static str, &'static str)> = Vec::new();
    for k in &kinds {
        let tab = (k.action.as_str(), k.action.plural());
        if !tabs.contains(&tab) {
            tabs.push(tab);
        }
    }
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            [
                ("action", &params.action),
                ("kind", &params.kind),
                ("state", &params.state),
                ("target", &params.target),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty()),
        )
        .finish();
    Ok(JobsPage {
        chrome: Chrome::new(&state, &person),
        live: page.jobs.iter().any(|j| !j.state.is_final()),
        jobs: page.jobs.iter().map(row).collect(),
        next_before: page.next_before,
        tabs,
        action: params.action.clone(),
        kinds: kinds
            .iter()
            .filter(|k| action.is_none_or(|a| k.action == a))
            .map(|k| (k.name, k.label))
            .collect(),
        states: crate::domain::JobState::ALL.map(|s| s.as_str()).to_vec(),
        kind: params.kind.clone(),
        state: params.state.clone(),
        target: params.target.clone(),
        query,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "job.html")]
pub struct JobPage {
    chrome: Chrome,
    job: JobRow,
    is_final: bool,
    cancellable: bool,
    error: String,
    /// A cancelled job's error is what happened, not a failure: drawn plainly.
    cancelled: bool,
    /// A progress bar for each part (each node's scan): (what, done, of, in words).
    meters: Vec<(String, f64, f64, String)>,
    /// What it was asked to change ("/index.html, /assets/*"), from its request's lists.
    what: String,
    /// How long it waited before starting, and how long it ran ("2s").
    waited: String,
    took: String,
    /// The kind's own fields (items, CloudFront ids, per-node progress), pretty JSON each.
    fields: Vec<(String, String)>,
    children: Vec<JobRow>,
    started: String,
    completed: String,
    /// What it cost the target's hit ratio, as (what, figure) for people.
    impact: Vec<(&'static str, String)>,
    /// The target's hit ratio around the change, the dip shaded (rendered SVG), if measured.
    chart: String,
}

/// The target's hit ratio from the baseline to the end of the measurement, the change marked
/// and its dip (until recovery) shaded.
fn impact_chart(job: &JobView, m: &Measured, w: &Window) -> Result<String, PageError> {
    use super::chart::{Chart, Happening, Series, Unit};
    use askama::Template as _;
    let points: Vec<(i64, f64)> = w.intervals.iter().map(|i| (i.at, i.ratio)).collect();
    let end = w.intervals.last().map_or(w.to, |i| i.at.max(w.at + 1));
    let from = w.intervals.first().map_or(w.from, |i| i.at.min(w.at - 1));
    let dip_end = m.recovered_after_ms.map_or(end, |r| w.at + r);
    let happenings = [Happening {
        at: w.at,
        class: "job",
        label: format!("{} #{}", crate::registry::title_of(&job.kind), job.id),
        href: format!("/jobs/{}", job.id),
    }];
    let series = [Series {
        label: "hit rate",
        points: &points,
        warm: false,
    }];
    Chart::new(
        "chart-impact",
        "Hit rate around this change",
        Unit::Ratio,
        &series,
        &happenings,
        from,
        end,
        end - from,
    )
    .with_band(w.at, dip_end, format!("{:.0} extra misses", m.extra_misses))
    .with_threshold(m.baseline, format!("baseline {:.1} %", m.baseline * 100.0))
    .render()
    .map_err(|e| PageError::from(crate::http::ApiError::internal(&e)))
}

/// A job's impact as the page shows it: ratios in percent, times as durations.
fn impact_facts(impact: &Impact) -> Vec<(&'static str, String)> {
    let pct = |r: f64| format!("{:.1} %", r * 100.0);
    let m = match impact {
        Impact::NotMeasurable { reason } => {
            return vec![("Impact", format!("not measurable: {reason}"))];
        }
        Impact::Measured(m) | Impact::Pending(m) => m,
    };
    let recovered = impact.recovery();
    vec![
        (
            "Hit ratio before",
            format!(
                "{} ({:.0} requests an interval)",
                pct(m.baseline),
                m.baseline_requests
            ),
        ),
        (
            "Lowest after",
            format!("{} ({:.1} points down)", pct(m.dip), m.depth * 100.0),
        ),
        ("Extra misses", format!("{:.0}", m.extra_misses)),
        ("Recovered", recovered),
    ]
}

/// The lists a request names what it changes in (paths, keys, patterns, tags), in one line;
/// past ten entries the rest are counted.
fn what(request: &Value) -> String {
    const SHOWN: usize = 10;
    let mut parts = Vec::new();
    for field in ["items", "paths", "keys", "patterns", "tags"] {
        let Some(list) = request.get(field).and_then(Value::as_array) else {
            continue;
        };
        let entries: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
        if entries.is_empty() {
            continue;
        }
        let mut line = entries[..entries.len().min(SHOWN)].join(", ");
        if entries.len() > SHOWN {
            line.push_str(&format!(" and {} more", entries.len() - SHOWN));
        }
        parts.push(match field {
            "items" | "paths" => line,
            _ => format!("{field} {line}"),
        });
    }
    parts.join("; ")
}

/// Time between two instants for people ("2s"), or empty when one is not known yet.
fn between(from: Option<i64>, to: Option<i64>) -> String {
    match (from, to) {
        (Some(a), Some(b)) => crate::domain::text::duration_text((b - a).max(0)),
        _ => String::new(),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

pub async fn page(
    state: web::Data<AppState>,
    person: Person,
    id: web::Path<i64>,
) -> Result<JobPage, PageError> {
    let who = &person.0.principal;
    let job = state.jobs.get(who, *id, &[]).await?;
    let (impact, window) = state.impact.with_window(&job.change()).await?;
    let chart = match (&impact, &window) {
        (Some(Impact::Measured(m) | Impact::Pending(m)), Some(w)) => impact_chart(&job, m, w)?,
        _ => String::new(),
    };
    let children = state
        .jobs
        .list(
            who,
            &ListQuery {
                parent_id: Some(job.id),
                limit: 200,
                ..ListQuery::default()
            },
        )
        .await?;
    let mut fields = vec![("request".to_owned(), pretty(&job.request))];
    fields.extend(
        job.progress
            .iter()
            .map(|p| ("progress".to_owned(), pretty(p))),
    );
    fields.extend(job.result.iter().map(|r| ("result".to_owned(), pretty(r))));
    Ok(JobPage {
        chrome: Chrome::new(&state, &person),
        is_final: job.state.is_final(),
        cancellable: !job.state.is_final() && !job.cancel_requested,
        error: job.error.clone().unwrap_or_default(),
        cancelled: job.state == crate::domain::JobState::Cancelled,
        meters: job
            .meters
            .iter()
            .map(|m| {
                let share = if m.of > 0.0 { m.done / m.of } else { 1.0 };
                let words = format!(
                    "{} of {} ({:.0} %)",
                    crate::domain::text::thousands(m.done),
                    crate::domain::text::thousands(m.of),
                    share * 100.0
                );
                (m.label.clone(), m.done, m.of.max(1.0), words)
            })
            .collect(),
        what: what(&job.request),
        waited: between(Some(job.created_at), job.started_at),
        took: between(job.started_at, job.completed_at),
        started: job.started_at.map(when).unwrap_or_default(),
        completed: job.completed_at.map(when).unwrap_or_default(),
        job: row(&job),
        fields,
        children: children.jobs.iter().map(row).collect(),
        impact: impact.as_ref().map(impact_facts).unwrap_or_default(),
        chart,
    })
}

pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    // The job's target, for the audit entry whatever the outcome.
    let job = state.jobs.get(&person.0.principal, *id, &[]).await?;
    req.extensions_mut().insert(AuditNote {
        target: Some(job.target),
        detail: serde_json::json!({ "job": *id, "kind": job.kind }),
    });
    let answer = state.jobs.cancel(&person.0.principal, *id, &[]).await?;
    req.extensions_mut().insert(AuditNote {
        target: Some(answer.job.target.clone()),
        detail: serde_json::json!({ "job": *id, "kind": answer.job.kind, "outcome": answer.outcome }),
    });
    Ok(see_other(&format!("/jobs/{}", *id)))
}
