//! Reading the audit log (scope `admin`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Principal;
use crate::domain::Scope;
use crate::http::{ApiError, AppState};
use crate::store::{AuditQuery, Outcome};

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
    /// Only this target.
    target: Option<String>,
    /// Only actions containing this text (`tokens`, `POST /api/v1/purges`).
    action: Option<String>,
    /// Only this outcome: `ok`, `denied`, `invalid` or `error`.
    outcome: Option<String>,
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
    let p = params.into_inner();
    let query = filters(AuditQuery {
        limit,
        before_id: p.before,
        actor: p.actor,
        target: p.target,
        action: p.action,
        outcome: p.outcome,
    })?;
    let entries = state.store.list_audit(&query).await?;
    let next_before = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({ "entries": entries, "next_before": next_before })))
}

/// The filters of an audit query, checked: plain text, and an outcome that exists. Shared by
/// the API and the audit page.
pub fn filters(q: AuditQuery) -> Result<AuditQuery, ApiError> {
    for (field, value) in [
        ("actor", &q.actor),
        ("target", &q.target),
        ("action", &q.action),
    ] {
        if let Some(v) = value {
            crate::domain::text::plain(v).map_err(|e| ApiError::invalid(field, e.to_string()))?;
        }
    }
    if let Some(o) = q.outcome.as_deref().filter(|o| Outcome::parse(o).is_none()) {
        return Err(ApiError::invalid(
            "outcome",
            format!("{o:?} is not an outcome: ok, denied, invalid or error"),
        ));
    }
    Ok(q)
}
