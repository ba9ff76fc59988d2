//! `GET /api/v1/streams`: the DynamoDB streams read as event sources, with how far behind
//! each is (scope `read`). Read on the leader: another replica shows what it last read.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::Principal;
use crate::http::{ApiError, AppState};
use crate::status::StreamView;

#[derive(Serialize, utoipa::ToSchema)]
pub struct StreamList {
    pub streams: Vec<StreamView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/streams",
    tag = "streams",
    summary = "DynamoDB streams read as event sources: lag, records, last error, checkpoints",
    responses((status = 200, description = "OK", body = StreamList))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let streams = state.operations.streams(&who).await?;
    Ok(HttpResponse::Ok().json(StreamList { streams }))
}
