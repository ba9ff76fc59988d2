//! Reading the audit log (scope `admin`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Principal;
use crate::domain::Scope;
use crate::http::{ApiError, AppState};
use crate::store::AuditQuery;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// How many entries (1-1000, default 100).
    limit: Option<u32>,
    /// Only entries older than this id (the previous page's `next_before`).
    before: Option<i64>,
    /// Only this actor.
    actor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    summary = "The audit log, newest first; scope admin",
    params(Params),
    responses((status = 200, description = "OK", body = serde_json::Value))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Admin)?;
    let limit = super::params::limit(params.limit, 100, 1000)?;
    if let Some(a) = &params.actor {
        crate::domain::text::plain(a).map_err(|e| ApiError::invalid("actor", e.to_string()))?;
    }
    let entries = state
        .store
        .list_audit(&AuditQuery {
            limit,
            before_id: params.before,
            actor: params.actor.clone(),
        })
        .await?;
    let next_before = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({ "entries": entries, "next_before": next_before })))
}
