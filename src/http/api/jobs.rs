//! Jobs of every kind (`/api/v1/jobs`) and the request parameters that the kinds' own routes
//! share (`/api/v1/invalidations`): parse, call the job service, answer.

use std::time::Duration;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::domain::JobState;
use crate::http::middleware::AuditNote;
use crate::http::{ApiError, AppState};
use crate::jobs::{Action, CancelOutcome, JobView, ListQuery};

/// The body of `POST /api/v1/jobs`: a job of any kind. The API document has each kind's
/// exact request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobBody {
    kind: String,
    /// The target it acts on (an event's type, for an event).
    target: String,
    #[serde(default = "empty_object")]
    request: Value,
}

fn empty_object() -> Value {
    json!({})
}

/// Names the target on the audit entry before the service decides, so a refusal is audited
/// with its target too.
fn note_target(req: &HttpRequest, target: &str) {
    req.extensions_mut().insert(AuditNote {
        target: Some(target.to_owned()),
        detail: Value::Null,
    });
}

/// A kind-grouping route's submission: `{"target": …, …the request…}`, the kind of
/// `action` that acts on the target.
pub async fn submit_action(
    req: &HttpRequest,
    state: &AppState,
    who: &Principal,
    action: Action,
    body: Value,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(req)?;
    let mut request = body;
    let target = match request.as_object_mut().map(|o| o.remove("target")) {
        Some(Some(Value::String(t))) => t,
        Some(_) => {
            return Err(ApiError::invalid("target", "name the target, as a string"));
        }
        None => return Err(ApiError::invalid("body", "must be a JSON object")),
    };
    note_target(req, &target);
    let (job, created) = state
        .jobs
        .submit_action(who, &state.settings(), action, &target, &request, key)
        .await?;
    Ok(submitted(req, job, created))
}

#[utoipa::path(
    post,
    path = "/api/v1/jobs",
    tag = "jobs",
    summary = "Submit a job of any kind (the scope of its kind)",
    params(IdempotencyKey),
    request_body(content = Object, description = "kind, target, and the request of that kind"),
    responses(Submitted)
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    body: web::Json<JobBody>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?;
    let body = body.into_inner();
    note_target(&req, &body.target);
    let (job, created) = state
        .jobs
        .submit(&who, &body.kind, &body.target, &body.request, key)
        .await
        .map_err(|e| match e {
            // The request's own fields sit under `request` in this body.
            crate::service_error::ServiceError::Invalid {
                code,
                field: Some(f),
                message,
                details,
            } if !matches!(f.as_str(), "kind" | "target" | "request") => {
                crate::service_error::ServiceError::Invalid {
                    code,
                    field: Some(format!("request.{f}")),
                    message,
                    details,
                }
            }
            other => other,
        })?;
    Ok(submitted(&req, job, created))
}

/// The `Idempotency-Key` header, if sent: 1-255 printable ASCII characters.
pub fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be printable ASCII"))?
        .trim();
    if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1-255 printable ASCII characters without spaces",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// The answers to a job submission, for the API document.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // describes what `submitted` answers
pub enum Submitted {
    /// Queued: a new job.
    #[response(status = 202)]
    Created(JobView),
    /// The job an earlier request with this Idempotency-Key made (header
    /// `Idempotent-Replayed: true`).
    #[response(status = 200)]
    Replayed(JobView),
}

/// The answers to a cancellation, for the API document (refusals are 409s).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // describes what `cancel_kind` answers
pub enum Cancelled {
    /// Cancelled: it was still queued.
    #[response(status = 200)]
    Cancelled(JobView),
    /// Cancel requested: it stops at its next safe point.
    #[response(status = 202)]
    Requested(JobView),
}

/// The `Idempotency-Key` header of a submission, for the API document.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // read by `idempotency_key`
pub struct IdempotencyKey {
    /// Makes retries safe: the same key and request return the same job (1-255 printable
    /// ASCII characters).
    #[serde(rename = "Idempotency-Key")]
    key: Option<String>,
}

/// 202 with a new job, or 200 with `Idempotent-Replayed: true` for a retry; audited.
pub fn submitted(req: &HttpRequest, job: JobView, created: bool) -> HttpResponse {
    submitted_as(req, &job, &job, created)
}

/// [`submitted`], answering with `body` (a kind's own view of the job).
pub fn submitted_as(
    req: &HttpRequest,
    job: &JobView,
    body: &impl serde::Serialize,
    created: bool,
) -> HttpResponse {
    req.extensions_mut().insert(AuditNote {
        target: Some(job.target.clone()),
        detail: json!({ "job": job.id, "kind": job.kind, "replayed": !created }),
    });
    if created {
        HttpResponse::Accepted().json(body)
    } else {
        HttpResponse::Ok()
            .insert_header(("Idempotent-Replayed", "true"))
            .json(body)
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShowParams {
    /// Long-poll until the job is final or this much time passed (e.g. `30s`, at most 15m).
    #[param(pattern = "^[0-9]{1,3}(ms|s|m)$")]
    wait: Option<String>,
    /// With `wait`: also answer as soon as the job's state is no longer this one (the state
    /// the client last showed), so a waiting client can show progress.
    seen: Option<JobState>,
}

/// GET one job of `kinds` (any kind when empty), waiting as the parameters say.
pub async fn show_kind(
    state: &AppState,
    who: &Principal,
    id: i64,
    params: &ShowParams,
    kinds: &[&str],
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(waited(state, who, id, params, kinds).await?))
}

/// One job of `kinds`, once the wait the parameters ask for is over.
pub async fn waited(
    state: &AppState,
    who: &Principal,
    id: i64,
    params: &ShowParams,
    kinds: &[&str],
) -> Result<JobView, ApiError> {
    let wait = match &params.wait {
        None => Duration::ZERO,
        Some(w) => humantime::parse_duration(w).map_err(|_| {
            ApiError::invalid("wait", format!("{w:?} is not a duration like \"30s\""))
        })?,
    };
    let seen = params.seen;
    let mut job = state.jobs.wait(who, id, kinds, wait, seen).await?;
    job.impact = state.impact.of_job(&job.change()).await?;
    Ok(job)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only jobs of this kind (one of the registered kinds).
    kind: Option<String>,
    /// Only jobs of the kinds of this action.
    action: Option<Action>,
    /// Only jobs on this target.
    target: Option<String>,
    /// Only jobs in this state.
    state: Option<JobState>,
    /// Only the jobs this one made (an event's children).
    parent: Option<i64>,
    /// Older than this id (the previous page's `next_before`).
    before: Option<i64>,
    /// At most this many (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// GET a page of jobs of `kinds` (or of the `kind` parameter).
pub async fn list_kind(
    state: &AppState,
    who: &Principal,
    params: &ListParams,
    kinds: &[&str],
) -> Result<HttpResponse, ApiError> {
    let q = list_query(params, kinds)?;
    Ok(HttpResponse::Ok().json(state.jobs.list(who, &q).await?))
}

/// The listing `params` ask for, within `kinds`.
pub fn list_query(params: &ListParams, kinds: &[&str]) -> Result<ListQuery, ApiError> {
    // The route's kinds, narrowed to an action's.
    let action = params.action;
    let of_action = action.map(crate::registry::kinds_of);
    let within: Vec<&str> = match (&of_action, kinds.is_empty()) {
        (Some(a), true) => a.clone(),
        (Some(a), false) => kinds.iter().filter(|k| a.contains(k)).copied().collect(),
        (None, _) => kinds.to_vec(),
    };
    let kinds: Vec<String> = match &params.kind {
        Some(k) if within.is_empty() && of_action.is_none() => vec![k.clone()],
        Some(k) if within.contains(&k.as_str()) => vec![k.clone()],
        Some(k) => {
            return Err(ApiError::invalid(
                "kind",
                format!("this listing has {} only, not {k:?}", within.join(", ")),
            ));
        }
        None => within.iter().map(|k| k.to_string()).collect(),
    };
    if let Some(t) = &params.target {
        crate::domain::text::filter(t).map_err(|e| ApiError::invalid("target", e))?;
    }
    let q = ListQuery {
        kinds,
        target: params.target.clone(),
        state: params.state,
        parent_id: params.parent,
        before: params.before,
        limit: super::params::limit(params.limit, 50, 500)?,
    };
    Ok(q)
}

/// POST cancel on a job of `kinds` (any kind when empty); audited.
pub async fn cancel_kind(
    req: &HttpRequest,
    state: &AppState,
    who: &Principal,
    id: i64,
    kinds: &[&str],
) -> Result<HttpResponse, ApiError> {
    // The job's target, for the audit entry whatever the outcome (a refusal names it too).
    let job = state.jobs.get(who, id, kinds).await?;
    req.extensions_mut().insert(AuditNote {
        target: Some(job.target),
        detail: json!({ "job": id, "kind": job.kind }),
    });
    let answer = state.jobs.cancel(who, id, kinds).await?;
    req.extensions_mut().insert(AuditNote {
        target: Some(answer.job.target.clone()),
        detail: json!({ "job": id, "kind": answer.job.kind, "outcome": answer.outcome }),
    });
    Ok(match answer.outcome {
        CancelOutcome::Cancelled => HttpResponse::Ok().json(answer),
        CancelOutcome::CancelRequested => HttpResponse::Accepted().json(answer),
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}",
    tag = "jobs",
    summary = "One job of any kind, optionally waiting for it",
    params(("id" = i64, Path, description = "The id"), ShowParams),
    responses((status = 200, description = "The job", body = crate::jobs::JobView))
)]
pub async fn show(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
    params: web::Query<ShowParams>,
) -> Result<HttpResponse, ApiError> {
    show_kind(&state, &who, *id, &params, &[]).await
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs",
    tag = "jobs",
    summary = "Jobs of every kind, newest first",
    params(ListParams),
    responses((status = 200, description = "OK", body = crate::jobs::JobList))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    list_kind(&state, &who, &params, &[]).await
}

#[utoipa::path(
    post,
    path = "/api/v1/jobs/{id}/cancel",
    tag = "jobs",
    summary = "Cancel a job; the scope of its kind",
    params(("id" = i64, Path, description = "The id")),
    responses(Cancelled)
)]
pub async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    cancel_kind(&req, &state, &who, *id, &[]).await
}
