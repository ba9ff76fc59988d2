//! Purges (scope `purge` to create and cancel, `read` to follow): `POST /api/v1/purges` with
//! an `Idempotency-Key`, `GET …/{id}?wait=`, `POST …/{id}/cancel`, `GET /api/v1/purges`. The
//! kind follows the target (`redis_purge`, `memcached_purge`, …: every kind whose action is
//! purge); these routes are those kinds' view of `/jobs`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::jobs::{ListParams, ShowParams, cancel_kind, list_kind, show_kind, submit_action};
use crate::auth::Principal;
use crate::http::{ApiError, AppState};
use crate::jobs::Action;

/// `{"target": "sessions", "keys": […], "patterns": […], "tags": […], "dry_run": false,
/// "rate_limit": 20000, "confirm": "sessions"}`: the target, and the purge as its kind reads
/// it (the API document has each kind's exact shape).
#[utoipa::path(
    post,
    path = "/api/v1/purges",
    tag = "purges",
    summary = "Purge keys, patterns or tags of a target; the kind follows the target; scope purge",
    params(super::jobs::IdempotencyKey),
    request_body(content = Object, description = "The target, and the request of its purge kind"),
    responses(super::jobs::Submitted)
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    submit_action(&req, &state, &who, Action::Purge, body.into_inner()).await
}

#[utoipa::path(
    get,
    path = "/api/v1/purges/{id}",
    tag = "purges",
    summary = "One purge job, optionally waiting for it",
    params(("id" = i64, Path, description = "The id"), super::jobs::ShowParams),
    responses((status = 200, description = "The job", body = crate::jobs::JobView))
)]
pub async fn show(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
    params: web::Query<ShowParams>,
) -> Result<HttpResponse, ApiError> {
    show_kind(
        &state,
        &who,
        *id,
        &params,
        &crate::registry::kinds_of(Action::Purge),
    )
    .await
}

#[utoipa::path(
    get,
    path = "/api/v1/purges",
    tag = "purges",
    summary = "Purge jobs, newest first",
    params(super::jobs::ListParams),
    responses((status = 200, description = "OK", body = crate::jobs::JobList))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    list_kind(
        &state,
        &who,
        &params,
        &crate::registry::kinds_of(Action::Purge),
    )
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/purges/{id}/cancel",
    tag = "purges",
    summary = "Cancel a purge job; scope purge",
    params(("id" = i64, Path, description = "The id")),
    responses(super::jobs::Cancelled)
)]
pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    cancel_kind(
        &req,
        &state,
        &who,
        *id,
        &crate::registry::kinds_of(Action::Purge),
    )
    .await
}
