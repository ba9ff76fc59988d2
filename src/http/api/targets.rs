//! The configured targets (scope `read`), limited to those the token may see: kind, schedule,
//! up or down, last poll and error, and the current value of each series.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::collector::current::Current;
use crate::config::TargetSettings;
use crate::domain::{Scope, TargetName};
use crate::http::{ApiError, AppState};
use crate::store::{Sample, TargetStatus, now_ms};

/// How far back "current" values are looked for: CloudWatch data arrives minutes late.
const CURRENT_WINDOW_MS: i64 = 30 * 60_000;

/// A target as the API shows it, from its status and its newest samples.
fn describe_target(t: &TargetSettings, status: Option<&TargetStatus>, latest: &[Sample]) -> Value {
    let current: serde_json::Map<String, Value> = latest
        .iter()
        .map(|s| (s.series.clone(), json!(s.value)))
        .collect();
    // The interval each value belongs to: a ratio is not recorded for an interval without
    // traffic, so it can be older than the counts beside it.
    let current_at: serde_json::Map<String, Value> = latest
        .iter()
        .map(|s| (s.series.clone(), json!(s.ts)))
        .collect();
    let now = Current::new(latest);
    json!({
        "name": t.name,
        "kind": t.kind,
        "schedule": t.schedule.describe(),
        "up": status.map(|s| s.up),
        "last_poll_at": status.map(|s| s.last_poll_at),
        "last_success_at": status.and_then(|s| s.last_success_at),
        "last_error": status.and_then(|s| s.last_error.clone()),
        "notice": status.and_then(|s| s.notice.clone()),
        "hit_rate": current.get("hit_rate").cloned(),
        "hit_rate_at": current_at.get("hit_rate").cloned(),
        "hit_rate_behind": now.is_behind("hit_rate"),
        "current": current,
        "current_at": current_at,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/targets",
    tag = "targets",
    summary = "Targets the token may see: up or down, last poll and error, current values with their times",
    responses((status = 200, description = "OK", body = serde_json::Value))
)]
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
    // One query for every target's newest values, not one per target.
    let latest = state
        .store
        .latest_samples_all(now_ms() - CURRENT_WINDOW_MS)
        .await?;
    let targets: Vec<Value> = state
        .settings()
        .targets
        .iter()
        .filter(|t| who.may_access(&t.name))
        .map(|t| {
            let samples = latest
                .get(t.name.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            describe_target(t, statuses.get(t.name.as_str()), samples)
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "targets": targets })))
}

/// The target named in the path, after checking the token may read it. Permission comes
/// before existence, so a limited token cannot probe which targets exist.
pub(super) fn allowed_target(
    state: &AppState,
    who: &Principal,
    name: &str,
) -> Result<TargetSettings, ApiError> {
    let name =
        TargetName::parse(name).map_err(|e| ApiError::invalid("name", format!("{name:?} {e}")))?;
    who.require_target(Scope::Read, &name)?;
    state
        .settings()
        .target(&name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no target named {:?}", name.as_str())))
}

#[utoipa::path(
    get,
    path = "/api/v1/targets/{name}",
    tag = "targets",
    summary = "One target",
    params(("name" = String, Path, description = "The name")),
    responses((status = 200, description = "OK", body = serde_json::Value))
)]
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
    let latest = state
        .store
        .latest_samples(target.name.as_str(), now_ms() - CURRENT_WINDOW_MS)
        .await?;
    Ok(HttpResponse::Ok().json(describe_target(&target, status.as_ref(), &latest)))
}
