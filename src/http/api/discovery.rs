//! `GET /api/v1/discovery`: each `[[discover]]` in force, how many targets it knows, and its
//! last runs with their diffs (added, removed, changed, missing once, errors) (scope `read`).

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::Principal;
use crate::discovery::DiscoveryView;
use crate::http::{ApiError, AppState};

#[derive(Serialize, utoipa::ToSchema)]
pub struct DiscoveryList {
    pub discoveries: Vec<DiscoveryView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/discovery",
    tag = "discovery",
    summary = "Discoveries: targets known, last runs and what each added, removed or changed; scope read",
    responses((status = 200, description = "OK", body = DiscoveryList))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let discoveries = state
        .discovery
        .views(&who, &state.live.settings(), 10)
        .await?;
    Ok(HttpResponse::Ok().json(DiscoveryList { discoveries }))
}
