//! Alarm states and their history (scope `read`, limited to the token's targets).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::config::{AlarmSettings, Condition};
use crate::domain::{Scope, TargetName};
use crate::http::{ApiError, AppState};
use crate::store::AlarmStateRecord;

fn condition(a: &AlarmSettings) -> Value {
    match &a.condition {
        Condition::Below(t) => json!({ "below": t }),
        Condition::Above(t) => json!({ "above": t }),
        Condition::Drop { points, baseline } => {
            json!({ "drop": points, "baseline": format!("{baseline:?}") })
        }
    }
}

fn describe(state: &AppState, s: &AlarmStateRecord) -> Value {
    let alarm = state.settings.alarms.iter().find(|a| a.name == s.alarm);
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
    let states: Vec<Value> = state
        .store
        .list_alarm_states()
        .await?
        .iter()
        .filter(|s| may_see(&who, &s.target))
        .map(|s| describe(&state, s))
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
    let limit = params.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be from 1 to 1000"));
    }
    let s = state
        .store
        .alarm_state_by_id(*id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no alarm state {id}")))?;
    let target = TargetName::parse(&s.target).map_err(|e| ApiError::internal(&e))?;
    who.require_target(Scope::Read, &target)?;
    let transitions = state.store.alarm_history(s.id, limit).await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "alarm": describe(&state, &s), "transitions": transitions })))
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
        && !["pending", "delivered", "failed"].contains(&s.as_str())
    {
        return Err(ApiError::invalid(
            "state",
            "must be one of pending, delivered, failed",
        ));
    }
    let limit = params.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be from 1 to 1000"));
    }
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
