//! The configured targets (scope `read`), limited to those the token may see.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::auth::Principal;
use crate::config::{Schedule, TargetSettings};
use crate::domain::{Scope, TargetName};
use crate::http::{ApiError, AppState};

fn describe(t: &TargetSettings) -> serde_json::Value {
    let schedule = match &t.schedule {
        Schedule::Every(d) => json!({ "every": humantime::format_duration(*d).to_string() }),
        Schedule::Cron(c) => json!({ "cron": c }),
    };
    json!({ "name": t.name, "kind": t.kind(), "schedule": schedule })
}

pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Read)?;
    let targets: Vec<_> = state
        .settings
        .targets
        .iter()
        .filter(|t| who.may_access(&t.name))
        .map(describe)
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "targets": targets })))
}

pub async fn show(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = TargetName::parse(&name)
        .map_err(|e| ApiError::invalid("name", format!("{:?} {e}", name.as_str())))?;
    // Permission before existence, so a limited token cannot probe which targets exist.
    who.require_target(Scope::Read, &name)?;
    let target = state
        .settings
        .target(&name)
        .ok_or_else(|| ApiError::not_found(format!("no target named {:?}", name.as_str())))?;
    Ok(HttpResponse::Ok().json(describe(target)))
}
