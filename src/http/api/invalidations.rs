//! CloudFront invalidations for people and pipelines (scope `invalidate` to create, `read` to
//! follow): `POST /api/v1/invalidations` with an `Idempotency-Key`, `GET …/{id}?wait=`,
//! `POST …/{id}/cancel`, `GET /api/v1/invalidations`, `GET /api/v1/invalidations/cost`.
//! The jobs are `cloudfront_invalidation` jobs; these routes are that kind's view of `/jobs`.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::jobs::{
    ListParams, ShowParams, cancel_kind, idempotency_key, list_kind, show_kind, submitted,
};
use crate::auth::Principal;
use crate::cloudfront::cost::{month_of, monthly};
use crate::cloudfront::executor::KIND;
use crate::domain::Scope;
use crate::http::{ApiError, AppState};
use crate::store::now_ms;

/// Paths (`/index.html`, `/assets/*`) and `#cache-tags` to invalidate on a CloudFront target.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = NewInvalidation)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    target: String,
    items: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/invalidations",
    tag = "invalidations",
    summary = "Invalidate CloudFront paths or #cache-tags; scope invalidate",
    params(super::jobs::IdempotencyKey),
    request_body = CreateBody,
    responses(super::jobs::Submitted)
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?;
    // Named before the service decides, so a refusal is audited with its target too.
    req.extensions_mut()
        .insert(crate::http::middleware::AuditNote {
            target: Some(body.target.clone()),
            detail: serde_json::Value::Null,
        });
    let request = json!({ "items": body.items });
    let (job, created) = state
        .jobs
        .submit(&who, KIND, &body.target, &request, key)
        .await?;
    Ok(submitted(&req, job, created))
}

#[utoipa::path(
    get,
    path = "/api/v1/invalidations/{id}",
    tag = "invalidations",
    summary = "One invalidation job, optionally waiting for it",
    params(("id" = i64, Path, description = "The id"), super::jobs::ShowParams),
    responses((status = 200, description = "The job", body = crate::jobs::JobView))
)]
pub async fn show(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
    params: web::Query<ShowParams>,
) -> Result<HttpResponse, ApiError> {
    show_kind(&state, &who, *id, &params, &[KIND]).await
}

#[utoipa::path(
    get,
    path = "/api/v1/invalidations",
    tag = "invalidations",
    summary = "Invalidation jobs, newest first",
    params(super::jobs::ListParams),
    responses((status = 200, description = "OK", body = serde_json::Value))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    list_kind(&state, &who, &params, &[KIND]).await
}

#[utoipa::path(
    post,
    path = "/api/v1/invalidations/{id}/cancel",
    tag = "invalidations",
    summary = "Cancel an invalidation job; scope invalidate",
    params(("id" = i64, Path, description = "The id")),
    responses(super::jobs::Cancelled)
)]
pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    cancel_kind(&req, &state, &who, *id, &[KIND]).await
}

#[utoipa::path(
    get,
    path = "/api/v1/invalidations/cost",
    tag = "invalidations",
    summary = "Paths billed this month and their estimated cost",
    responses((status = 200, description = "OK", body = serde_json::Value))
)]
pub async fn cost(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Read)?;
    let month = month_of(now_ms());
    let billed = state.store.billed_paths(&month).await?;
    Ok(HttpResponse::Ok().json(monthly(month, billed, &state.settings().invalidation)))
}
