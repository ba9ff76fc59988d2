//! Reading the audit log (scope `admin`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::audit::{AuditPage, AuditRequest};
use crate::auth::Principal;
use crate::http::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// How many entries (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Only entries older than this id (the previous page's `next_before`).
    before: Option<i64>,
    /// Only this actor.
    actor: Option<String>,
    /// Only this target.
    target: Option<String>,
    /// Only actions containing this text (`tokens`, `POST /api/v1/purges`).
    action: Option<String>,
    /// Only this outcome.
    #[param(value_type = Option<crate::store::Outcome>)]
    outcome: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    summary = "The audit log, newest first; scope admin",
    params(Params),
    responses((status = 200, description = "OK", body = AuditPage))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let limit = super::params::limit(params.limit, 100, 1000)?;
    let p = params.into_inner();
    let page = state
        .audit
        .read(
            &who,
            AuditRequest {
                limit,
                before: p.before,
                actor: p.actor,
                target: p.target,
                action: p.action,
                outcome: p.outcome,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
