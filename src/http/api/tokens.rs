//! Token management over the API (scope `admin`).

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::auth::Principal;
use crate::auth::manage::{self, TokenRequest};
use crate::domain::Scope;
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
    who.require(Scope::Admin)?;
    let tokens = state.store.list_tokens().await?;
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
    who.require(Scope::Admin)?;
    let spec = manage::parse_request(&body, &state.settings())
        .map_err(|e| ApiError::invalid(e.field, e.message))?;
    let (secret, record) = manage::create(&state.store, &spec, who.name.as_str()).await?;
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
    who.require(Scope::Admin)?;
    let record = manage::revoke(&state.store, &name).await?;
    req.extensions_mut().insert(AuditNote {
        target: None,
        detail: manage::audit_detail(&record),
    });
    Ok(HttpResponse::Ok().json(json!({ "record": record })))
}
