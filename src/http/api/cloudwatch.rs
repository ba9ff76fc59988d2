//! `GET /api/v1/cloudwatch/cost`: what the configured CloudWatch polling costs a month.

use actix_web::{HttpResponse, web};

use crate::auth::Principal;
use crate::http::{ApiError, AppState};

#[utoipa::path(
    get,
    path = "/api/v1/cloudwatch/cost",
    tag = "targets",
    summary = "Estimated monthly CloudWatch cost of the configured polling",
    responses((status = 200, description = "OK", body = crate::collector::cost::CostEstimate))
)]
pub async fn cost(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.operations.cloudwatch_cost(&who)?))
}
