//! The configured targets (scope `read`), limited to those the token may see: kind, schedule,
//! up or down, last poll and error, and the current value of each series.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::Principal;
use crate::http::{ApiError, AppState};
use crate::status::TargetView;

/// The targets a token may see.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TargetList {
    pub targets: Vec<TargetView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/targets",
    tag = "targets",
    summary = "Targets the token may see: up or down, last poll and error, current values with their times",
    responses((status = 200, description = "OK", body = TargetList))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let targets = state.targets.list(&who).await?;
    Ok(HttpResponse::Ok().json(TargetList { targets }))
}

#[utoipa::path(
    get,
    path = "/api/v1/targets/{name}",
    tag = "targets",
    summary = "One target",
    params(("name" = String, Path, description = "The name")),
    responses((status = 200, description = "OK", body = TargetView))
)]
pub async fn show(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.targets.show(&who, &name).await?))
}
