//! Redis purges (scope `purge` to create and cancel, `read` to follow): `POST
//! /api/v1/purges` with an `Idempotency-Key`, `GET …/{id}?wait=`, `POST …/{id}/cancel`,
//! `GET /api/v1/purges`. The jobs are `redis_purge` jobs; these routes are that kind's view
//! of `/jobs`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::jobs::{
    ListParams, ShowParams, cancel_kind, idempotency_key, list_kind, show_kind, submitted,
};
use crate::auth::Principal;
use crate::http::{ApiError, AppState};
use crate::purge::{memcached, redis};

/// The purge kinds these routes show.
const KINDS: [&str; 2] = [redis::KIND, memcached::KIND];

/// `{"target": "sessions", "keys": […], "patterns": […], "tags": […], "dry_run": false,
/// "rate_limit": 20000, "confirm": "sessions"}`: the target, and the purge as the kind reads it.
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
    let kind = crate::purge::kind_for(&state.settings, &target);
    let (job, created) = state
        .jobs
        .submit(&who, kind, &target, &request, key)
        .await?;
    Ok(submitted(&req, job, created))
}

pub async fn show(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
    params: web::Query<ShowParams>,
) -> Result<HttpResponse, ApiError> {
    show_kind(&state, &who, *id, &params, &KINDS).await
}

pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    list_kind(&state, &who, &params, &KINDS).await
}

pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    cancel_kind(&req, &state, &who, *id, &KINDS).await
}
