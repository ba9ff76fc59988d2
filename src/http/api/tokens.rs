//! Token management over the API (scope `admin`).

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::auth::Principal;
use crate::auth::manage::{self, TokenRequest};
use crate::http::middleware::AuditNote;
use crate::http::{ApiError, AppState};
use crate::store::TokenRecord;

/// Every token, active or not (never a secret).
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenRecord>,
}

/// A new token: its secret, shown this once, and its record.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub token: String,
    pub record: TokenRecord,
}

/// The token as it is now, revoked.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RevokedToken {
    pub record: TokenRecord,
}

#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "tokens",
    summary = "Tokens (never their secrets); scope admin",
    responses((status = 200, description = "OK", body = TokenList))
)]
pub async fn list(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    let tokens = state.access.tokens(&who).await?;
    Ok(HttpResponse::Ok().json(TokenList { tokens }))
}

/// Creates a token and returns its secret, once.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "tokens",
    summary = "Create a token; the secret is in the answer once; scope admin",
    request_body = crate::auth::manage::TokenRequest,
    responses((status = 201, description = "The token, with its secret", body = CreatedToken))
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
    Ok(HttpResponse::Created().json(CreatedToken {
        token: secret.expose_secret().to_owned(),
        record,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{name}",
    tag = "tokens",
    summary = "Revoke the active token with this name; scope admin",
    params(("name" = String, Path, description = "The name")),
    responses((status = 200, description = "OK", body = RevokedToken))
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
    Ok(HttpResponse::Ok().json(RevokedToken { record }))
}
