//! Token management over the API (scope `admin`).

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::auth::Principal;
use crate::auth::manage::{self, TokenRequest};
use crate::http::middleware::AuditNote;
use crate::http::{ApiError, AppState};

#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "tokens",
    summary = "Tokens (never their secrets); scope admin",
    responses((status = 200, description = "OK", body = serde_json::Value))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let tokens = state.access.tokens(&who).await?;
    Ok(HttpResponse::Ok().json(json!({ "tokens": tokens })))
}

/// Creates a token and returns its secret, once.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "tokens",
    summary = "Create a token; the secret is in the answer once; scope admin",
    request_body = crate::auth::manage::TokenRequest,
    responses((status = 201, description = "The token, with its secret", body = serde_json::Value))
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    body: web::Json<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let (secret, record) = state.access.create_token(&who, &body).await?;
    req.extensions_mut().insert(AuditNote {
        target: None,
        detail: manage::audit_detail(&record),
    });
    Ok(HttpResponse::Created().json(json!({ "token": secret.expose_secret(), "record": record })))
}

#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{name}",
    tag = "tokens",
    summary = "Revoke the active token with this name; scope admin",
    params(("name" = String, Path, description = "The name")),
    responses((status = 200, description = "OK", body = serde_json::Value))
)]
pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = state.access.revoke_token(&who, &name).await?;
    req.extensions_mut().insert(AuditNote {
        target: None,
        detail: manage::audit_detail(&record),
    });
    Ok(HttpResponse::Ok().json(json!({ "record": record })))
}
