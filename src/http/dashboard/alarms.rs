//! Alarms: state, recent history, and, for responders, acknowledge and silence.

use std::collections::HashMap;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{Chrome, PageError, Person, see_other, when};
use crate::alarms::respond::{AlarmHistory, SilenceEnd, SilenceRequest};
use crate::domain::AlarmState;
use crate::http::AppState;
use crate::http::middleware::AuditNote;
use crate::service_error::ServiceError;
use crate::store::now_ms;

/// Transitions shown per alarm.
const HISTORY: u32 = 10;

pub struct AlarmRow {
    pub id: i64,
    pub alarm: String,
    pub target: String,
    pub state: AlarmState,
    pub since: String,
    pub reason: String,
    /// "critical", "warning", "info" (also the CSS class).
    pub severity: String,
    /// The condition in words.
    pub watches: String,
    /// "ops, oncall"; empty: nobody is told.
    pub notify: String,
    /// The watched series' latest value ("50.0 %").
    pub current: Option<String>,
    /// The series over the last six hours with the threshold (rendered SVG), if it has one.
    pub chart: String,
    /// "acknowledged by alice: looking".
    pub ack: Option<String>,
    /// The silences holding it: (id, "until 17:50 UTC, by rita: deploy").
    pub silences: Vec<(i64, String)>,
    pub history: Vec<(String, String, String)>,
    /// The silence form: which end is chosen, and what was typed if it came back refused.
    pub form: SilenceFormView,
}

/// The silence form as drawn: the choices, the one selected, and an error with what was typed.
pub struct SilenceFormView {
    /// (value, label); "until resolved" only while the alarm fires (on an alarm that is ok it
    /// would silence the whole next episode).
    pub ends: Vec<(&'static str, &'static str)>,
    pub end: String,
    pub until: String,
    pub comment: String,
    pub error: Option<String>,
}

/// One silence in the list.
pub struct SilenceRow {
    pub id: i64,
    /// "hit-rate on sessions", "every alarm on web-*".
    pub covers: String,
    /// "until 2026-12-02 17:50:00 UTC", "until resolved", "ended … by …".
    pub end: String,
    pub by: String,
    pub why: String,
    pub active: bool,
}

/// One notification in the log.
pub struct NotificationRow {
    pub at: String,
    pub alarm: String,
    pub target: String,
    pub kind: String,
    pub receiver: String,
    /// `pending`, `held`, `delivered`, `failed` (also the CSS class).
    pub state: &'static str,
    /// Attempts, the last error, or what held it.
    pub detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "alarms.html")]
pub struct AlarmsPage {
    chrome: Chrome,
    /// "1 in alarm · 3 ok · 1 insufficient data · 2 silences".
    summary: Vec<(String, &'static str)>,
    alarms: Vec<AlarmRow>,
    silences: Vec<SilenceRow>,
    notifications: Vec<NotificationRow>,
}

/// A silence form that came back refused: for which alarm, why, and what was typed.
struct Refused {
    alarm_id: i64,
    message: String,
    form: SilenceForm,
}

pub async fn page(state: web::Data<AppState>, person: Person) -> Result<AlarmsPage, PageError> {
    render(&state, &person, None).await
}

/// The span of an alarm's chart.
const CHART_SPAN_MS: i64 = 6 * 3_600_000;

async fn render(
    state: &AppState,
    person: &Person,
    refused: Option<Refused>,
) -> Result<AlarmsPage, PageError> {
    use crate::alarms::respond::SilenceFilter;
    let who = &person.0.principal;
    let now = now_ms();
    let mut views = state.respond.alarms_with_history(who, HISTORY, now).await?;
    // Those in alarm first, then the newest change.
    views.sort_by_key(|h| (h.alarm.state != AlarmState::Alarm, -h.alarm.since));
    let silences = state
        .respond
        .silences(who, SilenceFilter::All, 20, now)
        .await?;
    let named: HashMap<i64, String> = views
        .iter()
        .map(|h| {
            (
                h.alarm.id,
                format!("{} on {}", h.alarm.alarm, h.alarm.target),
            )
        })
        .collect();
    let mut counts = std::collections::BTreeMap::new();
    let mut alarms = Vec::with_capacity(views.len());
    for h in views {
        *counts.entry(h.alarm.state.label()).or_insert(0) += 1;
        let refused_here = refused.as_ref().filter(|r| r.alarm_id == h.alarm.id);
        alarms.push(row(state, person, h, &silences, refused_here, now).await?);
    }
    let mut summary: Vec<(String, &'static str)> = [
        AlarmState::Alarm,
        AlarmState::Ok,
        AlarmState::InsufficientData,
    ]
    .iter()
    .filter_map(|s| {
        counts
            .get(s.label())
            .map(|n| (format!("{n} {}", s.label().to_lowercase()), s.as_str()))
    })
    .collect();
    let active = silences.iter().filter(|s| s.active).count();
    summary.push((
        crate::domain::text::count(active, "active silence", "active silences"),
        "silenced",
    ));
    let notifications = state
        .respond
        .notifications(who, None, 30)
        .await?
        .into_iter()
        .map(|n| NotificationRow {
            at: when(n.created_at),
            alarm: n.payload["alarm"].as_str().unwrap_or_default().to_owned(),
            target: n.payload["target"].as_str().unwrap_or_default().to_owned(),
            kind: n.kind.clone(),
            receiver: n.notifier.clone(),
            state: n.state.as_str(),
            detail: match (&n.held_by, &n.last_error, n.delivered_at) {
                (Some(h), _, _) => format!("held by {h}"),
                (_, _, Some(at)) => format!("delivered {}", when(at)),
                (_, Some(e), None) => format!(
                    "{}; last error: {e}",
                    crate::domain::text::count(n.attempts as usize, "attempt", "attempts")
                ),
                _ => "not sent yet".to_owned(),
            },
        })
        .collect();
    Ok(AlarmsPage {
        chrome: Chrome::new(state, person),
        summary,
        alarms,
        silences: silences.iter().map(|s| silence_row(s, &named)).collect(),
        notifications,
    })
}

/// What a silence covers, in words; `named`: alarm state id → "hit-rate on sessions".
fn covers(s: &crate::store::Silence, named: &HashMap<i64, String>) -> String {
    if let Some(name) = s.alarm_id.and_then(|id| named.get(&id)) {
        return name.clone();
    }
    match (&s.alarm, &s.target) {
        (Some(a), Some(t)) => format!("{a} on {t}"),
        (Some(a), None) => format!("{a} on every target"),
        (None, Some(t)) => format!("every alarm on {t}"),
        (None, None) => "every alarm".to_owned(),
    }
}

fn silence_end_text(s: &crate::alarms::respond::SilenceView) -> String {
    match (s.silence.ended_at, &s.silence.ended_by, s.silence.until) {
        (Some(at), Some(by), _) if by == "resolved" => {
            format!("ended {} (the alarm resolved)", when(at))
        }
        (Some(at), Some(by), _) => format!("ended {} by {by}", when(at)),
        (_, _, Some(until)) if !s.active => format!("expired {}", when(until)),
        (_, _, Some(until)) => format!("until {}", when(until)),
        (_, _, None) => "until the alarm resolves".to_owned(),
    }
}

fn silence_row(
    s: &crate::alarms::respond::SilenceView,
    named: &HashMap<i64, String>,
) -> SilenceRow {
    SilenceRow {
        id: s.silence.id,
        covers: covers(&s.silence, named),
        end: silence_end_text(s),
        by: s.silence.created_by.clone(),
        why: s.silence.comment.clone(),
        active: s.active,
    }
}

async fn row(
    state: &AppState,
    person: &Person,
    h: AlarmHistory,
    silences: &[crate::alarms::respond::SilenceView],
    refused: Option<&Refused>,
    now: i64,
) -> Result<AlarmRow, PageError> {
    let AlarmHistory {
        alarm: a,
        transitions,
    } = h;
    let ack = a
        .acknowledged
        .as_ref()
        .map(|ack| match ack.comment.as_deref() {
            None | Some("") => format!("acknowledged by {}", ack.by),
            Some(c) => format!("acknowledged by {}: {c}", ack.by),
        });
    let held: Vec<(i64, String)> = silences
        .iter()
        .filter(|s| a.silenced_by.contains(&s.silence.id))
        .map(|s| {
            let why = &s.silence.comment;
            (
                s.silence.id,
                format!(
                    "silenced {}, by {}: {why}",
                    silence_end_text(s),
                    s.silence.created_by
                ),
            )
        })
        .collect();
    let (chart, current) = match &a.metric {
        Some(metric) => chart(state, person, &a, metric, &transitions, now).await?,
        None => (String::new(), None),
    };
    let firing = a.state == AlarmState::Alarm;
    let mut ends = vec![
        ("1h", "for 1 hour"),
        ("4h", "for 4 hours"),
        ("24h", "for 24 hours"),
        ("at", "until the time given (UTC)"),
    ];
    if firing {
        ends.insert(0, ("resolved", "until it resolves"));
    }
    let form = match refused {
        Some(r) => SilenceFormView {
            ends,
            end: r.form.end.clone(),
            until: r.form.until.clone(),
            comment: r.form.comment.clone(),
            error: Some(r.message.clone()),
        },
        None => SilenceFormView {
            ends,
            end: if firing { "resolved" } else { "1h" }.to_owned(),
            until: String::new(),
            comment: String::new(),
            error: None,
        },
    };
    let history = transitions
        .into_iter()
        .map(|t| {
            let change = format!("{} → {}", t.from.label(), t.to.label());
            (when(t.at), change, t.reason)
        })
        .collect();
    Ok(AlarmRow {
        id: a.id,
        severity: a.severity.clone().unwrap_or_default(),
        watches: a.watches.clone().unwrap_or_default(),
        notify: a.notify.join(", "),
        current,
        chart,
        ack,
        silences: held,
        history,
        form,
        alarm: a.alarm,
        target: a.target,
        state: a.state,
        since: when(a.since),
        reason: a.reason,
    })
}

/// The alarm's series on its target over the last six hours, its threshold drawn and its
/// transitions marked, and the latest value.
async fn chart(
    state: &AppState,
    person: &Person,
    a: &crate::alarms::respond::AlarmView,
    metric: &str,
    transitions: &[crate::store::Transition],
    now: i64,
) -> Result<(String, Option<String>), PageError> {
    use super::chart::{Chart, Happening, Series, Unit, reading};
    use askama::Template as _;
    let req = crate::status::SeriesRequest {
        metric: Some(metric.to_owned()),
        from: Some(now - CHART_SPAN_MS),
        to: Some(now),
        node: None,
        resolution: None,
        detail: false,
    };
    let view = state
        .targets
        .series(&person.0.principal, &a.target, req)
        .await?;
    let points: Vec<(i64, f64)> = view.points.iter().map(|p| (p.ts, p.value)).collect();
    // The series as its target's kind draws it, and the alarm's threshold, from the
    // configuration in force.
    let settings = state.settings();
    let unit = settings
        .targets
        .iter()
        .find(|t| t.name.as_str() == a.target)
        .and_then(|t| t.kind.series_named(metric))
        .map_or(Unit::Count, Unit::of);
    let threshold = settings
        .alarms
        .iter()
        .find(|s| s.name == a.alarm)
        .and_then(|s| s.condition.threshold());
    let current = points.last().map(|(_, v)| reading(*v, unit));
    let happenings: Vec<Happening> = transitions
        .iter()
        .map(|t| Happening {
            at: t.at,
            class: "alarm",
            label: format!("{} → {}: {}", t.from.label(), t.to.label(), t.reason),
            href: format!("/alarms#alarm-{}", a.id),
        })
        .collect();
    let label = metric.replace('_', " ");
    let series = [Series {
        label: &label,
        points: &points,
        warm: false,
    }];
    let mut c = Chart::new(
        &format!("chart-alarm-{}", a.id),
        &format!("{label} on {}, last 6 hours", a.target),
        unit,
        &series,
        &happenings,
        view.from,
        view.to,
        // A poll missed twice is a gap.
        3 * 60_000,
    );
    if let Some((v, side)) = threshold {
        c = c.with_threshold(v, format!("fires {side} {}", reading(v, unit)));
    }
    let html = c
        .render()
        .map_err(|e| PageError::from(crate::http::ApiError::internal(&e)))?;
    Ok((html, current))
}

#[derive(Deserialize)]
pub struct AckForm {
    #[serde(default)]
    comment: String,
}

pub async fn ack(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    id: web::Path<i64>,
    form: web::Form<AckForm>,
) -> Result<HttpResponse, PageError> {
    let view = state
        .respond
        .ack(&person.0.principal, *id, Some(&form.comment), now_ms())
        .await?;
    note(
        &req,
        Some(view.target.clone()),
        serde_json::json!({ "alarm_state": view.id, "alarm": view.alarm }),
    );
    Ok(see_other("/alarms"))
}

#[derive(Deserialize, Clone)]
pub struct SilenceForm {
    /// `resolved`, `1h`, `4h`, `24h`, or `at` (then `until`).
    end: String,
    /// `YYYY-MM-DDTHH:MM`, UTC (an `<input type=datetime-local>`).
    #[serde(default)]
    until: String,
    #[serde(default)]
    comment: String,
}

fn silence_end(f: &SilenceForm) -> Result<SilenceEnd, ServiceError> {
    let bad = |field: &str, m: &str| ServiceError::invalid(field, m);
    Ok(match f.end.as_str() {
        "resolved" => SilenceEnd::Resolved,
        "at" if f.until.trim().is_empty() => {
            return Err(bad("until", "choose when the silence ends"));
        }
        "at" => {
            let t = chrono::NaiveDateTime::parse_from_str(&f.until, "%Y-%m-%dT%H:%M")
                .map_err(|_| bad("until", "give a time as YYYY-MM-DDTHH:MM (UTC)"))?;
            SilenceEnd::At(t.and_utc().timestamp_millis())
        }
        other => SilenceEnd::For(
            humantime::parse_duration(other)
                .map_err(|_| bad("end", "until resolved, a duration like 4h, or a time"))?,
        ),
    })
}

pub async fn silence(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    id: web::Path<i64>,
    form: web::Form<SilenceForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let outcome = match silence_end(&form) {
        Ok(end) => {
            state
                .respond
                .silence(
                    &person.0.principal,
                    SilenceRequest {
                        alarm_id: Some(*id),
                        alarm: None,
                        target: None,
                        end,
                        comment: Some(form.comment.clone()),
                    },
                    now_ms(),
                )
                .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(view) => {
            note(
                &req,
                view.confined_to.clone(),
                serde_json::json!({ "silence": view.silence.id, "alarm_state": *id }),
            );
            Ok(see_other(&format!("/alarms#alarm-{}", *id)))
        }
        // A form that asks for something wrong comes back with what was typed and why.
        Err(ServiceError::Invalid { message, field, .. }) => {
            let message = match field {
                Some(f) => format!("{}: {message}", field_label(&f)),
                None => message,
            };
            let refused = Refused {
                alarm_id: *id,
                message,
                form,
            };
            let page = render(&state, &person, Some(refused)).await?;
            super::page_with_status(actix_web::http::StatusCode::BAD_REQUEST, &page)
        }
        Err(other) => Err(other.into()),
    }
}

/// What the audit entry of this form adds: the target it concerns and what was acted on.
fn note(req: &HttpRequest, target: Option<String>, detail: serde_json::Value) {
    req.extensions_mut().insert(AuditNote { target, detail });
}

/// The form's name for an input the service names.
fn field_label(field: &str) -> &str {
    match field {
        "until" => "Until",
        "for" | "end" => "Silence",
        "comment" => "Why",
        other => other,
    }
}

/// Withdraws an acknowledgement: reminders resume.
pub async fn unack(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let view = state
        .respond
        .unack(&person.0.principal, *id, now_ms())
        .await?;
    note(
        &req,
        Some(view.target.clone()),
        serde_json::json!({ "alarm_state": view.id, "alarm": view.alarm }),
    );
    Ok(see_other(&format!("/alarms#alarm-{}", view.id)))
}

/// Ends a silence now.
pub async fn end_silence(
    req: HttpRequest,
    state: web::Data<AppState>,
    person: Person,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let view = state
        .respond
        .end_silence(&person.0.principal, *id, now_ms())
        .await?;
    note(
        &req,
        view.confined_to.clone(),
        serde_json::json!({ "silence": view.silence.id }),
    );
    Ok(see_other("/alarms#silences"))
}
