//! The configured targets (scope `read`), limited to those the token may see: kind, schedule,
//! up or down, last poll and error, and the current value of each series.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::collector::units::describe;
use crate::config::TargetSettings;
use crate::domain::{Scope, TargetName};
use crate::http::{ApiError, AppState};
use crate::store::{TargetStatus, now_ms};

/// How far back "current" values are looked for: CloudWatch data arrives minutes late.
const CURRENT_WINDOW_MS: i64 = 30 * 60_000;

async fn describe_target(
    state: &AppState,
    t: &TargetSettings,
    status: Option<&TargetStatus>,
) -> Result<Value, ApiError> {
    let latest = state
        .store
        .latest_samples(t.name.as_str(), now_ms() - CURRENT_WINDOW_MS)
        .await?;
    let current: serde_json::Map<String, Value> = latest
        .iter()
        .map(|s| (s.series.clone(), json!(s.value)))
        .collect();
    Ok(json!({
        "name": t.name,
        "kind": t.kind(),
        "schedule": describe(&t.schedule),
        "up": status.map(|s| s.up),
        "last_poll_at": status.map(|s| s.last_poll_at),
        "last_success_at": status.and_then(|s| s.last_success_at),
        "last_error": status.and_then(|s| s.last_error.clone()),
        "notice": status.and_then(|s| s.notice.clone()),
        "hit_rate": current.get("hit_rate").cloned(),
        "current": current,
    }))
}

pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Read)?;
    let statuses: HashMap<String, TargetStatus> = state
        .store
        .list_target_status()
        .await?
        .into_iter()
        .map(|s| (s.target.clone(), s))
        .collect();
    let mut targets = Vec::new();
    for t in state
        .settings
        .targets
        .iter()
        .filter(|t| who.may_access(&t.name))
    {
        targets.push(describe_target(&state, t, statuses.get(t.name.as_str())).await?);
    }
    Ok(HttpResponse::Ok().json(json!({ "targets": targets })))
}

/// The target named in the path, after checking the token may read it. Permission comes
/// before existence, so a limited token cannot probe which targets exist.
pub(super) fn allowed_target<'a>(
    state: &'a AppState,
    who: &Principal,
    name: &str,
) -> Result<&'a TargetSettings, ApiError> {
    let name =
        TargetName::parse(name).map_err(|e| ApiError::invalid("name", format!("{name:?} {e}")))?;
    who.require_target(Scope::Read, &name)?;
    state
        .settings
        .target(&name)
        .ok_or_else(|| ApiError::not_found(format!("no target named {:?}", name.as_str())))
}

pub async fn show(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = allowed_target(&state, &who, &name)?;
    let status = state
        .store
        .list_target_status()
        .await?
        .into_iter()
        .find(|s| s.target == target.name.as_str());
    Ok(HttpResponse::Ok().json(describe_target(&state, target, status.as_ref()).await?))
}
