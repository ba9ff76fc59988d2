//! `GET /api/v1/cloudwatch/cost`: what the configured CloudWatch polling costs a month.

use actix_web::{HttpResponse, web};

use crate::auth::Principal;
use crate::collector::cost;
use crate::domain::Scope;
use crate::http::{ApiError, AppState};

pub async fn cost(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Read)?;
    Ok(HttpResponse::Ok().json(cost::estimate(&state.settings)))
}
