//! Redis purges (scope `purge` to create and cancel, `read` to follow): `POST
//! /api/v1/purges` with an `Idempotency-Key`, `GET …/{id}?wait=`, `POST …/{id}/cancel`,
//! `GET /api/v1/purges`. The jobs are `redis_purge` jobs; these routes are that kind's view
//! of `/jobs`.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::jobs::{
    ListParams, ShowParams, cancel_kind, idempotency_key, list_kind, show_kind, submitted,
};
use crate::auth::Principal;
use crate::http::{ApiError, AppState};

use crate::purge::KINDS;

/// The body of `POST /api/v1/purges`, for the API document: the target and the request.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // read as JSON by `create`; this type only describes it
pub struct PurgeBody {
    /// A configured Redis or Memcached target.
    target: String,
    #[serde(flatten)]
    request: crate::purge::PurgeRequest,
}

/// `{"target": "sessions", "keys": […], "patterns": […], "tags": […], "dry_run": false,
/// "rate_limit": 20000, "confirm": "sessions"}`: the target, and the purge as the kind reads it.
#[utoipa::path(
    post,
    path = "/api/v1/purges",
    tag = "purges",
    summary = "Purge Redis keys, patterns or tags, or Memcached keys; scope purge",
    params(super::jobs::IdempotencyKey),
    request_body = PurgeBody,
    responses(super::jobs::Submitted)
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?;
    let mut request = body.into_inner();
    let target = match request.as_object_mut().map(|o| o.remove("target")) {
        Some(Some(Value::String(t))) => t,
        Some(_) => {
            return Err(ApiError::invalid(
                "target",
                "name the target to purge, as a string",
            ));
        }
        None => return Err(ApiError::invalid("body", "must be a JSON object")),
    };
    // Named before the service decides, so a refusal is audited with its target too.
    req.extensions_mut()
        .insert(crate::http::middleware::AuditNote {
            target: Some(target.clone()),
            detail: Value::Null,
        });
    let kind = crate::purge::kind_for(&state.settings(), &target);
    let (job, created) = state
        .jobs
        .submit(&who, kind, &target, &request, key)
        .await?;
    Ok(submitted(&req, job, created))
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
    show_kind(&state, &who, *id, &params, &KINDS).await
}

#[utoipa::path(
    get,
    path = "/api/v1/purges",
    tag = "purges",
    summary = "Purge jobs, newest first",
    params(super::jobs::ListParams),
    responses((status = 200, description = "OK", body = serde_json::Value))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    list_kind(&state, &who, &params, &KINDS).await
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
    cancel_kind(&req, &state, &who, *id, &KINDS).await
}
