//! Silences (`/api/v1/silences`, scope `respond` to change, `read` to look): hold the
//! notifications of one alarm (`alarm_id`), or of an alarm name and/or a target glob, until a
//! time, for a duration, or (one alarm) until it resolves. States are still evaluated and
//! recorded; only messages are held. Ending a silence keeps it for the record. The rules are
//! in `alarms::respond`; these handlers parse and answer.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::params::parse_time;
use crate::alarms::respond::{
    SilenceChange, SilenceEnd, SilenceFilter, SilenceRequest, SilenceView,
};
use crate::auth::Principal;
use crate::http::middleware::AuditNote;
use crate::http::{ApiError, AppState};
use crate::store::now_ms;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = NewSilence)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    alarm_id: Option<i64>,
    alarm: Option<String>,
    target: Option<String>,
    /// RFC 3339, milliseconds since the epoch, or "resolved" (with alarm_id).
    #[schema(value_type = Option<String>)]
    until: Option<Value>,
    /// How long, e.g. `2h` (instead of `until`).
    #[serde(rename = "for")]
    #[schema(pattern = "^[1-9][0-9]{0,3}(s|m|h|d)$")]
    duration: Option<String>,
    /// Why (at most 1,000 characters, no control characters).
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{0,1000}$")]
    comment: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = SilenceChange)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// RFC 3339 or milliseconds since the epoch.
    #[schema(value_type = Option<String>)]
    until: Option<Value>,
    /// How long, e.g. `2h` (instead of `until`).
    #[serde(rename = "for")]
    #[schema(pattern = "^[1-9][0-9]{0,3}(s|m|h|d)$")]
    duration: Option<String>,
    /// Why (at most 1,000 characters, no control characters).
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{0,1000}$")]
    comment: Option<String>,
}

/// When a silence ends, as written: `until` (a time, or `"resolved"`) or `for` (a duration),
/// exactly one.
fn parse_end(until: &Option<Value>, duration: &Option<String>) -> Result<SilenceEnd, ApiError> {
    match (until, duration) {
        (Some(_), Some(_)) | (None, None) => Err(ApiError::invalid(
            "until",
            "give exactly one of until (a time, or \"resolved\") and for (a duration like \"2h\")",
        )),
        (Some(Value::String(s)), None) if s == "resolved" => Ok(SilenceEnd::Resolved),
        (Some(Value::String(s)), None) => Ok(SilenceEnd::At(parse_time("until", s)?)),
        (Some(Value::Number(n)), None) => n.as_i64().map(SilenceEnd::At).ok_or_else(|| {
            ApiError::invalid("until", "must be whole milliseconds since the epoch")
        }),
        (Some(_), None) => Err(ApiError::invalid(
            "until",
            "must be RFC 3339, milliseconds since the epoch, or \"resolved\"",
        )),
        (None, Some(d)) => humantime::parse_duration(d)
            .map(SilenceEnd::For)
            .map_err(|_| {
                ApiError::invalid(
                    "for",
                    format!("{d:?} is not a duration like \"30m\" or \"2h\""),
                )
            }),
    }
}

/// Audits a change to a silence, under the one target it is confined to (if any).
fn note(req: &HttpRequest, v: &SilenceView) {
    let s = &v.silence;
    req.extensions_mut().insert(AuditNote {
        target: v.confined_to.clone(),
        detail: json!({ "silence": s.id, "alarm_id": s.alarm_id, "alarm": s.alarm, "target": s.target, "until": s.until, "comment": s.comment }),
    });
}

#[utoipa::path(
    post,
    path = "/api/v1/silences",
    tag = "silences",
    summary = "Hold notifications of an alarm, an alarm name or a target glob; scope respond",
    request_body = CreateBody,
    responses((status = 201, description = "The silence", body = crate::alarms::respond::SilenceView))
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let request = SilenceRequest {
        end: parse_end(&b.until, &b.duration)?,
        alarm_id: b.alarm_id,
        alarm: b.alarm,
        target: b.target,
        comment: b.comment,
    };
    let v = state.respond.silence(&who, request, now_ms()).await?;
    note(&req, &v);
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/silences/{}", v.silence.id)))
        .json(v))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Which silences (default active).
    state: Option<SilenceFilter>,
    /// At most this many (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Silences, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SilenceList {
    pub silences: Vec<SilenceView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/silences",
    tag = "silences",
    summary = "Silences",
    params(ListParams),
    responses((status = 200, description = "OK", body = SilenceList))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let filter = params.state.unwrap_or(SilenceFilter::Active);
    let limit = super::params::limit(params.limit, 100, 1000)?;
    let silences = state
        .respond
        .silences(&who, filter, limit, now_ms())
        .await?;
    Ok(HttpResponse::Ok().json(SilenceList { silences }))
}

#[utoipa::path(
    get,
    path = "/api/v1/silences/{id}",
    tag = "silences",
    summary = "One silence",
    params(("id" = i64, Path, description = "The id")),
    responses((status = 200, description = "The silence", body = crate::alarms::respond::SilenceView))
)]
pub async fn show(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.respond.silence_by_id(&who, *id, now_ms()).await?))
}

/// Extends or shortens an active silence, or rewords it.
#[utoipa::path(
    patch,
    path = "/api/v1/silences/{id}",
    tag = "silences",
    summary = "Extend or shorten a silence, or change its comment; scope respond",
    params(("id" = i64, Path, description = "The id")),
    request_body = UpdateBody,
    responses((status = 200, description = "The silence", body = crate::alarms::respond::SilenceView))
)]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
    body: web::Json<UpdateBody>,
) -> Result<HttpResponse, ApiError> {
    let end = (body.until.is_some() || body.duration.is_some())
        .then(|| parse_end(&body.until, &body.duration))
        .transpose()?;
    let change = SilenceChange {
        end,
        comment: body.comment.clone(),
    };
    let v = state
        .respond
        .change_silence(&who, *id, change, now_ms())
        .await?;
    note(&req, &v);
    Ok(HttpResponse::Ok().json(v))
}

/// Ends a silence now; it stays listed (state `ended`).
#[utoipa::path(
    delete,
    path = "/api/v1/silences/{id}",
    tag = "silences",
    summary = "End a silence now; scope respond",
    params(("id" = i64, Path, description = "The id")),
    responses((status = 200, description = "The silence", body = crate::alarms::respond::SilenceView))
)]
pub async fn end(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let v = state.respond.end_silence(&who, *id, now_ms()).await?;
    note(&req, &v);
    Ok(HttpResponse::Ok().json(v))
}
