//! `GET /api/v1/cloudwatch/cost`: what the configured CloudWatch polling costs a month.

use actix_web::{HttpResponse, web};

use crate::auth::Principal;
use crate::collector::cost;
use crate::domain::Scope;
use crate::http::{ApiError, AppState};

#[utoipa::path(
    get,
    path = "/api/v1/cloudwatch/cost",
    tag = "targets",
    summary = "Estimated monthly CloudWatch cost of the configured polling",
    responses((status = 200, description = "OK", body = serde_json::Value))
)]
pub async fn cost(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Read)?;
    Ok(HttpResponse::Ok().json(cost::estimate(&state.settings())))
}
