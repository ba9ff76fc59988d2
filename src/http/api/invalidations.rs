//! Invalidations for people and pipelines (scope `invalidate` to create, `read` to follow):
//! `POST /api/v1/invalidations` with an `Idempotency-Key`, `GET …/{id}?wait=`,
//! `POST …/{id}/cancel`, `GET /api/v1/invalidations`, `GET /api/v1/invalidations/cost`. The
//! kind follows the target (every kind whose action is invalidate: `cloudfront_invalidation`
//! for a distribution); these routes are those kinds' view of `/jobs`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::jobs::{ListParams, ShowParams, cancel_kind, list_kind, show_kind, submit_action};
use crate::auth::Principal;
use crate::http::{ApiError, AppState};
use crate::jobs::Action;

fn kinds() -> Vec<&'static str> {
    crate::registry::kinds_of(Action::Invalidate)
}

/// `{"target": "web", "items": ["/index.html", "#product:42"]}`: the target, and the request
/// of its invalidation kind (the API document has each kind's exact shape).
#[utoipa::path(
    post,
    path = "/api/v1/invalidations",
    tag = "invalidations",
    summary = "Invalidate paths or #cache-tags of a target; the kind follows the target; scope invalidate",
    params(super::jobs::IdempotencyKey),
    request_body(content = Object, description = "The target, and the request of its invalidation kind"),
    responses(super::jobs::Submitted)
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    submit_action(&req, &state, &who, Action::Invalidate, body.into_inner()).await
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
    show_kind(&state, &who, *id, &params, &kinds()).await
}

#[utoipa::path(
    get,
    path = "/api/v1/invalidations",
    tag = "invalidations",
    summary = "Invalidation jobs, newest first",
    params(super::jobs::ListParams),
    responses((status = 200, description = "OK", body = crate::jobs::JobList))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    list_kind(&state, &who, &params, &kinds()).await
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
    cancel_kind(&req, &state, &who, *id, &kinds()).await
}

#[utoipa::path(
    get,
    path = "/api/v1/invalidations/cost",
    tag = "invalidations",
    summary = "Paths billed this month and their estimated cost",
    responses((status = 200, description = "OK", body = crate::cloudfront::cost::MonthlyCost))
)]
pub async fn cost(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.operations.invalidation_cost(&who).await?))
}
