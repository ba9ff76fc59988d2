//! Domain events (scope `invalidate`; the caller's target limits must cover every target the
//! matching rules act on): `POST /api/v1/events` with an `Idempotency-Key`, `GET …/{id}?wait=`
//! with the event's children, `GET /api/v1/events`. Events are `event` jobs; their children
//! are purge, invalidation and broadcast jobs.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::Value;

use super::jobs::{ListParams, ShowParams, idempotency_key, list_query, submitted_as, waited};
use crate::auth::Principal;
use crate::events::KIND;
use crate::http::{ApiError, AppState};
use crate::jobs::{JobView, ListQuery};

/// The body of `POST /api/v1/events`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    /// The event type a `[[rules]]` entry names (`product.updated`).
    #[serde(rename = "type")]
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]*$", max_length = 64)]
    pub event_type: String,
    /// The event's fields, which the rules' `{field}` templates are filled from.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub data: Value,
}

/// An event with the jobs it made.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventView {
    #[serde(flatten)]
    pub event: JobView,
    /// The event's type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Its fields.
    #[schema(value_type = Object)]
    pub data: Value,
    /// The targets its jobs act on.
    pub targets: Vec<String>,
    /// One per tier action: purges, invalidations, broadcasts.
    pub children: Vec<JobView>,
}

/// A page of events, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventList {
    pub events: Vec<EventView>,
    /// Pass as `before` for the next page; absent on the last.
    pub next_before: Option<i64>,
}

async fn with_children(
    state: &AppState,
    who: &Principal,
    event: JobView,
) -> Result<EventView, ApiError> {
    let q = ListQuery {
        parent_id: Some(event.id),
        limit: 500,
        ..ListQuery::default()
    };
    let mut children = state.jobs.list(who, &q).await?.jobs;
    children.reverse();
    let request: crate::events::executor::Request =
        serde_json::from_value(event.request.clone()).map_err(|e| ApiError::internal(&e))?;
    let mut targets: Vec<String> = request.children.iter().map(|c| c.target.clone()).collect();
    targets.sort();
    targets.dedup();
    Ok(EventView {
        event_type: event.target.clone(),
        data: request.data,
        targets,
        event,
        children,
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/events",
    tag = "events",
    summary = "Submit a domain event: every matching rule purges, invalidates and broadcasts; scope invalidate",
    params(super::jobs::IdempotencyKey),
    request_body = EventBody,
    responses(super::jobs::Submitted)
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    body: web::Json<EventBody>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?;
    let body = body.into_inner();
    let request = serde_json::json!({ "data": body.data });
    let (job, created) = state
        .jobs
        .submit(&who, KIND, &body.event_type, &request, key)
        .await
        .map_err(|e| match e {
            // The event type stands where other kinds have a target name.
            crate::service_error::ServiceError::Invalid {
                field: Some(f),
                code,
                message,
                details,
            } if f == "target" => crate::service_error::ServiceError::Invalid {
                field: Some("type".into()),
                code,
                message,
                details,
            },
            other => other,
        })?;
    let view = with_children(&state, &who, job.clone()).await?;
    Ok(submitted_as(&req, &job, &view, created))
}

#[utoipa::path(
    get,
    path = "/api/v1/events/{id}",
    tag = "events",
    summary = "One event with its children, optionally waiting until it is final",
    params(("id" = i64, Path, description = "The id"), ShowParams),
    responses((status = 200, description = "The event", body = EventView))
)]
pub async fn show(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
    params: web::Query<ShowParams>,
) -> Result<HttpResponse, ApiError> {
    let event = waited(&state, &who, *id, &params, &[KIND]).await?;
    Ok(HttpResponse::Ok().json(with_children(&state, &who, event).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    summary = "Events with their children and outcome, newest first (tokens limited to targets see none)",
    params(ListParams),
    responses((status = 200, description = "OK", body = EventList))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let q = list_query(&params, &[KIND])?;
    let page = state.jobs.list(&who, &q).await?;
    let mut events = Vec::with_capacity(page.jobs.len());
    for e in page.jobs {
        events.push(with_children(&state, &who, e).await?);
    }
    Ok(HttpResponse::Ok().json(EventList {
        events,
        next_before: page.next_before,
    }))
}
