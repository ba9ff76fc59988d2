//! Alarm states and their history (scope `read`, limited to the token's targets), and
//! acknowledgements (scope `respond`).

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::alarms::respond::AlarmView;
use crate::auth::Principal;
use crate::http::middleware::AuditNote;
use crate::http::{ApiError, AppState};
use crate::store::now_ms;

#[utoipa::path(
    get,
    path = "/api/v1/alarms",
    tag = "alarms",
    summary = "Alarm states, with acknowledgement and covering silences",
    responses((status = 200, description = "OK", body = AlarmList))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let alarms = state.respond.alarms(&who, now_ms()).await?;
    Ok(HttpResponse::Ok().json(AlarmList { alarms }))
}

/// The alarm states a token may see.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AlarmList {
    pub alarms: Vec<AlarmView>,
}

/// Notifications, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationList {
    pub notifications: Vec<crate::store::Notification>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// At most this many transitions (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/alarms/{id}/history",
    tag = "alarms",
    summary = "Transitions of one alarm state",
    params(("id" = i64, Path, description = "The id"), HistoryParams),
    responses((status = 200, description = "The alarm state and its transitions, newest first", body = crate::alarms::respond::AlarmHistory))
)]
pub async fn history(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
    params: web::Query<HistoryParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = super::params::limit(params.limit, 100, 1000)?;
    Ok(HttpResponse::Ok().json(state.respond.history(&who, *id, limit, now_ms()).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = Acknowledgement)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    /// Why (at most 1,000 characters, no control characters).
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{0,1000}$")]
    comment: Option<String>,
}

fn note(req: &HttpRequest, a: &AlarmView) {
    req.extensions_mut().insert(AuditNote {
        target: Some(a.target.clone()),
        detail: json!({ "alarm_id": a.id, "alarm": a.alarm, "acknowledged": a.acknowledged }),
    });
}

/// Acknowledges an alarm in the `alarm` state (see `RespondService::ack`).
#[utoipa::path(
    post,
    path = "/api/v1/alarms/{id}/ack",
    tag = "alarms",
    summary = "Acknowledge an alarm in state alarm; scope respond",
    params(("id" = i64, Path, description = "The id")),
    request_body = Option<AckBody>,
    responses((status = 200, description = "The alarm state", body = crate::alarms::respond::AlarmView))
)]
pub async fn ack(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // The body is optional; when there is one, it must be right.
    let body: AckBody = if body.iter().all(u8::is_ascii_whitespace) {
        AckBody::default()
    } else {
        serde_json::from_slice::<Option<AckBody>>(&body)
            .map(Option::unwrap_or_default)
            .map_err(|e| {
                ApiError::invalid(
                    "body",
                    format!("is not a JSON object like {{\"comment\": \"…\"}} ({e})"),
                )
            })?
    };
    let a = state
        .respond
        .ack(&who, *id, body.comment.as_deref(), now_ms())
        .await?;
    note(&req, &a);
    Ok(HttpResponse::Ok().json(a))
}

/// Withdraws an acknowledgement: reminders resume.
#[utoipa::path(
    delete,
    path = "/api/v1/alarms/{id}/ack",
    tag = "alarms",
    summary = "Withdraw an acknowledgement; scope respond",
    params(("id" = i64, Path, description = "The id")),
    responses((status = 200, description = "The alarm state", body = crate::alarms::respond::AlarmView))
)]
pub async fn unack(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let a = state.respond.unack(&who, *id, now_ms()).await?;
    note(&req, &a);
    Ok(HttpResponse::Ok().json(a))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OutboxParams {
    /// Only notifications in this state.
    state: Option<crate::domain::DeliveryState>,
    /// At most this many (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// The notification outbox: what is pending, delivered, or failed after its last attempt.
#[utoipa::path(
    get,
    path = "/api/v1/outbox",
    tag = "alarms",
    summary = "The notification outbox",
    params(OutboxParams),
    responses((status = 200, description = "OK", body = NotificationList))
)]
pub async fn outbox(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<OutboxParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = super::params::limit(params.limit, 100, 1000)?;
    let visible = state
        .respond
        .notifications(&who, params.state, limit)
        .await?;
    Ok(HttpResponse::Ok().json(NotificationList {
        notifications: visible,
    }))
}
