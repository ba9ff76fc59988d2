//! Silences (`/api/v1/silences`, scope `respond` to change, `read` to look): hold the
//! notifications of one alarm (`alarm_id`), or of an alarm name and/or a target glob, until a
//! time, for a duration, or (one alarm) until it resolves. States are still evaluated and
//! recorded; only messages are held. Ending a silence keeps it for the record.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::params::{comment, parse_time};
use crate::alarms::hold::silence_matches;
use crate::auth::Principal;
use crate::domain::{Scope, TargetName};
use crate::http::middleware::AuditNote;
use crate::http::{ApiError, AppState};
use crate::store::{AlarmStateRecord, NewSilence, Silence, now_ms};

/// The longest a silence may last: longer is a configuration change, not a silence.
const MAX_SPAN_MS: i64 = 90 * 24 * 3600 * 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    alarm_id: Option<i64>,
    alarm: Option<String>,
    target: Option<String>,
    until: Option<Value>,
    #[serde(rename = "for")]
    duration: Option<String>,
    comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    until: Option<Value>,
    #[serde(rename = "for")]
    duration: Option<String>,
    comment: Option<String>,
}

/// When a silence ends: `until` (a time, or `"resolved"`) or `for` (a duration), exactly one.
/// `Ok(None)` means until resolved.
fn end_time(
    until: &Option<Value>,
    duration: &Option<String>,
    now: i64,
) -> Result<Option<i64>, ApiError> {
    let at = match (until, duration) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ApiError::invalid(
                "until",
                "give exactly one of until (a time, or \"resolved\") and for (a duration like \"2h\")",
            ));
        }
        (Some(Value::String(s)), None) if s == "resolved" => return Ok(None),
        (Some(Value::String(s)), None) => parse_time("until", s)?,
        (Some(Value::Number(n)), None) => n.as_i64().ok_or_else(|| {
            ApiError::invalid("until", "must be whole milliseconds since the epoch")
        })?,
        (Some(_), None) => {
            return Err(ApiError::invalid(
                "until",
                "must be RFC 3339, milliseconds since the epoch, or \"resolved\"",
            ));
        }
        (None, Some(d)) => {
            let d = humantime::parse_duration(d).map_err(|_| {
                ApiError::invalid(
                    "for",
                    format!("{d:?} is not a duration like \"30m\" or \"2h\""),
                )
            })?;
            now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        }
    };
    let field = if until.is_some() { "until" } else { "for" };
    if at <= now {
        return Err(ApiError::invalid(field, "must end in the future"));
    }
    if at - now > MAX_SPAN_MS {
        return Err(ApiError::invalid(
            field,
            "must end within 90 days (change the alarm's configuration instead)",
        ));
    }
    Ok(Some(at))
}

/// The one target a silence is confined to, if it is: its alarm's target, or an exact name.
/// `states`: every alarm state, read once per request.
fn single_target(states: &[AlarmStateRecord], s: &Silence) -> Option<String> {
    match s.alarm_id {
        Some(id) => states.iter().find(|a| a.id == id).map(|a| a.target.clone()),
        None => s.target.clone().filter(|t| TargetName::parse(t).is_ok()),
    }
}

/// Limited tokens see and change only silences confined to one of their targets.
fn may_touch(states: &[AlarmStateRecord], who: &Principal, s: &Silence) -> bool {
    who.targets.is_empty()
        || single_target(states, s)
            .and_then(|t| TargetName::parse(&t).ok())
            .is_some_and(|t| who.may_access(&t))
}

/// The silence as answered: with whether it is active and which alarm states it covers now.
fn describe(states: &[AlarmStateRecord], s: &Silence, now: i64) -> Result<Value, ApiError> {
    let covers: Vec<i64> = states
        .iter()
        .filter(|a| silence_matches(s, &a.alarm, &a.target, Some(a.id)))
        .map(|a| a.id)
        .collect();
    let mut v = serde_json::to_value(s).map_err(|e| ApiError::internal(&e))?;
    v["active"] = json!(s.is_active(now));
    v["until_resolved"] = json!(s.until.is_none());
    v["covers"] = json!(covers);
    Ok(v)
}

fn note(req: &HttpRequest, s: &Silence, target: Option<String>) {
    req.extensions_mut().insert(AuditNote {
        target,
        detail: json!({ "silence": s.id, "alarm_id": s.alarm_id, "alarm": s.alarm, "target": s.target, "until": s.until, "comment": s.comment }),
    });
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Respond)?;
    let now = now_ms();
    let b = body.into_inner();
    let mut confined_to: Option<TargetName> = None;
    match (b.alarm_id, &b.alarm, &b.target) {
        (None, None, None) => {
            return Err(ApiError::invalid(
                "alarm_id",
                "name what to silence: alarm_id (one alarm on one target), or alarm and/or target",
            ));
        }
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(ApiError::invalid(
                "alarm_id",
                "already names one alarm on one target; leave alarm and target out",
            ));
        }
        (Some(id), None, None) => {
            let a = state.store.alarm_state_by_id(id).await?.ok_or_else(|| {
                ApiError::invalid("alarm_id", format!("there is no alarm state {id}"))
            })?;
            confined_to = TargetName::parse(&a.target).ok();
        }
        (None, alarm, target) => {
            if let Some(name) = alarm
                && !state.settings.alarms.iter().any(|a| &a.name == name)
            {
                return Err(ApiError::invalid(
                    "alarm",
                    format!("{name:?} is not a configured alarm"),
                ));
            }
            if let Some(pattern) = target {
                let glob = globset::Glob::new(pattern).map_err(|e| {
                    ApiError::invalid("target", format!("{pattern:?} is not a valid glob ({e})"))
                })?;
                let m = glob.compile_matcher();
                if !state
                    .settings
                    .targets
                    .iter()
                    .any(|t| m.is_match(t.name.as_str()))
                {
                    return Err(ApiError::invalid(
                        "target",
                        format!("{pattern:?} matches no configured target"),
                    ));
                }
                confined_to = TargetName::parse(pattern).ok();
            }
        }
    }
    // Least privilege: a token limited to some targets may only silence one of them.
    if !who.targets.is_empty() {
        match &confined_to {
            Some(t) => who.require_target(Scope::Respond, t)?,
            None => {
                return Err(ApiError::new(
                    actix_web::http::StatusCode::FORBIDDEN,
                    "forbidden",
                    format!(
                        "token {:?} is limited to some targets; silence one alarm or one of its targets by name",
                        who.name.as_str()
                    ),
                ));
            }
        }
    }
    let until = end_time(&b.until, &b.duration, now)?;
    if until.is_none() && b.alarm_id.is_none() {
        return Err(ApiError::invalid(
            "until",
            "\"resolved\" needs alarm_id: only one alarm resolves; give a time or a duration",
        ));
    }
    let silence = state
        .store
        .create_silence(
            &NewSilence {
                alarm_id: b.alarm_id,
                alarm: b.alarm,
                target: b.target,
                until,
                comment: comment(b.comment.as_deref(), true)?,
                created_by: who.name.to_string(),
            },
            now,
        )
        .await?;
    note(&req, &silence, confined_to.map(|t| t.to_string()));
    let states = state.store.list_alarm_states().await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/silences/{}", silence.id)))
        .json(describe(&states, &silence, now)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    state: Option<String>,
    limit: Option<u32>,
}

pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Read)?;
    let which = params.state.as_deref().unwrap_or("active");
    if !["active", "ended", "all"].contains(&which) {
        return Err(ApiError::invalid(
            "state",
            "must be one of active, ended, all",
        ));
    }
    let limit = super::params::limit(params.limit, 100, 1000)?;
    let now = now_ms();
    let states = state.store.list_alarm_states().await?;
    let mut out = Vec::new();
    for s in state.store.list_silences(limit).await? {
        let keep = match which {
            "active" => s.is_active(now),
            "ended" => !s.is_active(now),
            _ => true,
        };
        if keep && may_touch(&states, &who, &s) {
            out.push(describe(&states, &s, now)?);
        }
    }
    Ok(HttpResponse::Ok().json(json!({ "silences": out })))
}

/// The silence `id`, if this token may see it (404 otherwise: no probing), and every alarm
/// state (to describe it).
async fn visible(
    state: &AppState,
    who: &Principal,
    id: i64,
) -> Result<(Silence, Vec<AlarmStateRecord>), ApiError> {
    let missing = || ApiError::not_found(format!("no silence {id}"));
    let s = state.store.silence(id).await?.ok_or_else(missing)?;
    let states = state.store.list_alarm_states().await?;
    if may_touch(&states, who, &s) {
        Ok((s, states))
    } else {
        Err(missing())
    }
}

pub async fn show(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Read)?;
    let (s, states) = visible(&state, &who, *id).await?;
    Ok(HttpResponse::Ok().json(describe(&states, &s, now_ms())?))
}

/// Extends or shortens an active silence, or rewords it.
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
    body: web::Json<UpdateBody>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Respond)?;
    let now = now_ms();
    let (s, states) = visible(&state, &who, *id).await?;
    if !s.is_active(now) {
        return Err(ApiError::conflict(format!(
            "silence {} has ended; create a new one",
            s.id
        )));
    }
    let until = if body.until.is_some() || body.duration.is_some() {
        let until = end_time(&body.until, &body.duration, now)?;
        if until.is_none() && s.alarm_id.is_none() {
            return Err(ApiError::invalid(
                "until",
                "\"resolved\" needs a silence of one alarm (alarm_id)",
            ));
        }
        until
    } else {
        s.until
    };
    let text = match &body.comment {
        Some(c) => comment(Some(c), true)?,
        None => s.comment.clone(),
    };
    let s = state
        .store
        .update_silence(s.id, until, &text)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no silence {id}")))?;
    note(&req, &s, single_target(&states, &s));
    Ok(HttpResponse::Ok().json(describe(&states, &s, now)?))
}

/// Ends a silence now; it stays listed (state `ended`).
pub async fn end(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Respond)?;
    let now = now_ms();
    let (s, states) = visible(&state, &who, *id).await?;
    let s = state
        .store
        .end_silence(s.id, who.name.as_str(), now)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no silence {id}")))?;
    note(&req, &s, single_target(&states, &s));
    Ok(HttpResponse::Ok().json(describe(&states, &s, now)?))
}
