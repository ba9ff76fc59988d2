//! Alarms: state, recent history, and, for responders, acknowledge and silence.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{Chrome, PageError, Person, see_other, when};
use crate::alarms::respond::{AlarmHistory, SilenceEnd, SilenceRequest};
use crate::domain::AlarmState;
use crate::http::AppState;
use crate::http::middleware::AuditNote;
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
    /// "acknowledged by alice: looking", "silenced (#3)".
    pub held: Vec<String>,
    pub acknowledged: bool,
    pub history: Vec<(String, String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "alarms.html")]
pub struct AlarmsPage {
    chrome: Chrome,
    alarms: Vec<AlarmRow>,
}

pub async fn page(state: web::Data<AppState>, person: Person) -> Result<AlarmsPage, PageError> {
    let who = &person.0.principal;
    let now = now_ms();
    let mut views = state.respond.alarms_with_history(who, HISTORY, now).await?;
    // Those in alarm first, then the newest change.
    views.sort_by_key(|h| (h.alarm.state != AlarmState::Alarm, -h.alarm.since));
    let mut alarms = Vec::with_capacity(views.len());
    for AlarmHistory {
        alarm: a,
        transitions,
    } in views
    {
        let history = transitions
            .into_iter()
            .map(|t| {
                let change = format!("{} → {}", t.from.label(), t.to.label());
                (when(t.at), change, t.reason)
            })
            .collect();
        let mut held = Vec::new();
        if let Some(ack) = &a.acknowledged {
            held.push(match ack.comment.as_deref() {
                None | Some("") => format!("acknowledged by {}", ack.by),
                Some(c) => format!("acknowledged by {}: {c}", ack.by),
            });
        }
        held.extend(a.silenced_by.iter().map(|id| format!("silenced (#{id})")));
        alarms.push(AlarmRow {
            id: a.id,
            acknowledged: a.acknowledged.is_some(),
            alarm: a.alarm,
            target: a.target,
            state: a.state,
            since: when(a.since),
            reason: a.reason,
            held,
            history,
        });
    }
    Ok(AlarmsPage {
        chrome: Chrome::new(&state, &person),
        alarms,
    })
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
    req.extensions_mut().insert(AuditNote {
        target: Some(view.target.clone()),
        detail: serde_json::json!({ "alarm_state": view.id, "alarm": view.alarm }),
    });
    Ok(see_other("/alarms"))
}

#[derive(Deserialize)]
pub struct SilenceForm {
    /// `resolved`, `1h`, `4h`, `24h`, or `at` (then `until`).
    end: String,
    /// `YYYY-MM-DDTHH:MM`, UTC (an `<input type=datetime-local>`).
    #[serde(default)]
    until: String,
    #[serde(default)]
    comment: String,
}

fn silence_end(f: &SilenceForm) -> Result<SilenceEnd, PageError> {
    let bad = |field: &str, m: &str| PageError::from(crate::http::ApiError::invalid(field, m));
    Ok(match f.end.as_str() {
        "resolved" => SilenceEnd::Resolved,
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
    let end = silence_end(&form)?;
    let view = state
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
        .await?;
    req.extensions_mut().insert(AuditNote {
        target: view.confined_to.clone(),
        detail: serde_json::json!({ "silence": view.silence.id, "alarm_state": *id }),
    });
    Ok(see_other("/alarms"))
}
