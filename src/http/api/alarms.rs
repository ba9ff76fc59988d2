//! Alarm states and their history (scope `read`, limited to the token's targets), and
//! acknowledgements (scope `respond`).

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::alarms::hold::silence_matches;
use crate::auth::Principal;
use crate::config::{AlarmSettings, Condition};
use crate::domain::{Scope, TargetName};
use crate::http::middleware::AuditNote;
use crate::http::{ApiError, AppState};
use crate::store::{AlarmStateRecord, Silence, now_ms};

fn condition(a: &AlarmSettings) -> Value {
    match &a.condition {
        Condition::Below(t) => json!({ "below": t }),
        Condition::Above(t) => json!({ "above": t }),
        Condition::Drop { points, baseline } => {
            json!({ "drop": points, "baseline": format!("{baseline:?}") })
        }
    }
}

/// One alarm state as answered; `silences`: the active silences that hold its messages.
fn describe(state: &AppState, s: &AlarmStateRecord, silences: &[Silence]) -> Value {
    let alarm = state.settings.alarms.iter().find(|a| a.name == s.alarm);
    let held_by: Vec<i64> = silences
        .iter()
        .filter(|x| silence_matches(x, &s.alarm, &s.target, Some(s.id)))
        .map(|x| x.id)
        .collect();
    let ack = s
        .acked_by
        .as_ref()
        .map(|by| json!({ "by": by, "at": s.acked_at, "comment": s.ack_comment }));
    json!({
        "id": s.id,
        "alarm": s.alarm,
        "target": s.target,
        "state": s.state,
        "since": s.since,
        "evaluated_at": s.evaluated_at,
        "reason": s.reason,
        "metric": alarm.map(|a| a.metric.clone()),
        "condition": alarm.map(condition),
        "datapoints": alarm.map(|a| format!("{} of {}", a.datapoints.0, a.datapoints.1)),
        "severity": alarm.map(|a| format!("{:?}", a.severity).to_lowercase()),
        "notified_at": s.notified_at,
        "acknowledged": ack,
        "silenced_by": held_by,
    })
}

fn may_see(who: &Principal, target: &str) -> bool {
    TargetName::parse(target).is_ok_and(|t| who.may_access(&t))
}

pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Read)?;
    let silences = state.store.active_silences(now_ms()).await?;
    let states: Vec<Value> = state
        .store
        .list_alarm_states()
        .await?
        .iter()
        .filter(|s| may_see(&who, &s.target))
        .map(|s| describe(&state, s, &silences))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "alarms": states })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    limit: Option<u32>,
}

pub async fn history(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
    params: web::Query<HistoryParams>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Read)?;
    let limit = super::params::limit(params.limit, 100, 1000)?;
    let s = alarm_for(&state, &who, *id, Scope::Read).await?;
    let transitions = state.store.alarm_history(s.id, limit).await?;
    let silences = state.store.active_silences(now_ms()).await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "alarm": describe(&state, &s, &silences), "transitions": transitions })))
}

/// The alarm state `id`, if the token may act on its target with `scope`.
async fn alarm_for(
    state: &AppState,
    who: &Principal,
    id: i64,
    scope: Scope,
) -> Result<AlarmStateRecord, ApiError> {
    let s = state
        .store
        .alarm_state_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no alarm state {id}")))?;
    let target = TargetName::parse(&s.target).map_err(|e| ApiError::internal(&e))?;
    who.require_target(scope, &target)?;
    Ok(s)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    comment: Option<String>,
}

/// Acknowledges an alarm in the `alarm` state: its reminders are held until it leaves that
/// state (the resolved message still goes out). Acknowledging again keeps the first.
pub async fn ack(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Respond)?;
    // The body is optional; when there is one, it must be right.
    let body: AckBody = if body.iter().all(u8::is_ascii_whitespace) {
        AckBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::invalid(
                "body",
                format!("is not a JSON object like {{\"comment\": \"…\"}} ({e})"),
            )
        })?
    };
    let comment = super::params::comment(body.comment.as_deref(), false)?;
    let s = alarm_for(&state, &who, *id, Scope::Respond).await?;
    if s.state != "alarm" {
        return Err(ApiError::conflict(format!(
            "alarm state {} is {}; only an alarm in state alarm can be acknowledged",
            s.id, s.state
        )));
    }
    let s = state
        .store
        .ack_alarm(s.id, who.name.as_str(), &comment, now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no alarm state {id}")))?;
    req.extensions_mut().insert(AuditNote {
        target: Some(s.target.clone()),
        detail: json!({ "alarm_id": s.id, "alarm": s.alarm, "acked_by": s.acked_by, "comment": s.ack_comment }),
    });
    let silences = state.store.active_silences(now_ms()).await?;
    Ok(HttpResponse::Ok().json(describe(&state, &s, &silences)))
}

/// Withdraws an acknowledgement: reminders resume.
pub async fn unack(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Respond)?;
    let s = alarm_for(&state, &who, *id, Scope::Respond).await?;
    let s = state
        .store
        .unack_alarm(s.id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no alarm state {id}")))?;
    req.extensions_mut().insert(AuditNote {
        target: Some(s.target.clone()),
        detail: json!({ "alarm_id": s.id, "alarm": s.alarm }),
    });
    let silences = state.store.active_silences(now_ms()).await?;
    Ok(HttpResponse::Ok().json(describe(&state, &s, &silences)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxParams {
    state: Option<String>,
    limit: Option<u32>,
}

/// The notification outbox: what is pending, delivered, or failed after its last attempt.
pub async fn outbox(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<OutboxParams>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Read)?;
    if let Some(s) = &params.state
        && !["pending", "delivered", "failed", "held"].contains(&s.as_str())
    {
        return Err(ApiError::invalid(
            "state",
            "must be one of pending, delivered, failed, held",
        ));
    }
    let limit = super::params::limit(params.limit, 100, 1000)?;
    let all = state
        .store
        .list_notifications(params.state.as_deref(), limit)
        .await?;
    let visible: Vec<_> = all
        .into_iter()
        .filter(|n| {
            n.payload["target"]
                .as_str()
                .is_some_and(|t| may_see(&who, t))
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "notifications": visible })))
}
