//! `GET /api/v1/streams`: the DynamoDB streams read as event sources, with how far behind
//! each is (scope `read`). Read on the leader: another replica shows what it last read.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::auth::Principal;
use crate::domain::Scope;
use crate::http::{ApiError, AppState};

#[utoipa::path(
    get,
    path = "/api/v1/streams",
    tag = "streams",
    summary = "DynamoDB streams read as event sources: lag, records, last error, checkpoints",
    responses((status = 200, description = "OK", body = serde_json::Value))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    who.require(Scope::Read)?;
    let mut out = Vec::new();
    for s in state.live.streams().iter() {
        let checkpoints = state.store.stream_checkpoints(s.name()).await?;
        let shards: Vec<_> = checkpoints
            .iter()
            .map(|c| json!({ "shard_id": c.shard_id, "sequence": c.sequence, "finished": c.finished }))
            .collect();
        let mut v = serde_json::to_value(s.status()).map_err(|e| ApiError::internal(&e))?;
        v["shards"] = json!(shards);
        out.push(v);
    }
    Ok(HttpResponse::Ok().json(json!({ "streams": out })))
}
