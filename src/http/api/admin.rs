//! `POST /api/v1/admin/reload`: read the configuration file again and put it in force
//! (scope `admin`), the same as SIGHUP.

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::auth::Principal;
use crate::config::{ConfigErrors, Origin};
use crate::http::middleware::AuditNote;
use crate::http::{ApiError, AppState};

#[utoipa::path(
    post,
    path = "/api/v1/admin/reload",
    tag = "admin",
    summary = "Reload the configuration; an invalid file is refused whole (422, every error in `details`) and the running one stays; scope admin",
    responses(
        (status = 200, description = "In force; what changed", body = crate::reload::Reloaded),
        (status = 422, description = "The file is invalid; nothing changed", body = crate::http::error::Body<'static>)
    )
)]
pub async fn reload(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
) -> Result<HttpResponse, ApiError> {
    match state.reloader.reload_for(&who).await? {
        Ok(done) => {
            req.extensions_mut().insert(AuditNote {
                target: None,
                detail: json!({ "changes": done.changes }),
            });
            Ok(HttpResponse::Ok().json(done))
        }
        Err(errors) => Err(refused(&errors)),
    }
}

/// 422 naming every error: the request was fine, the file it asked to load is not.
fn refused(errors: &ConfigErrors) -> ApiError {
    let details: Vec<serde_json::Value> = errors
        .iter()
        .map(|e| {
            let mut d = json!({ "field": e.path.to_string(), "message": e.message });
            match &e.origin {
                Origin::Line(n) => d["line"] = json!(n),
                Origin::Env(var) => d["env"] = json!(var),
                Origin::Unknown => {}
            }
            d
        })
        .collect();
    let n = errors.len();
    let first = errors
        .iter()
        .next()
        .map(ToString::to_string)
        .unwrap_or_default();
    ApiError {
        field: errors.iter().next().map(|e| e.path.to_string()),
        details,
        ..ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_configuration",
            format!(
                "the configuration has {n} error{}; the running configuration stays; first: {first}",
                if n == 1 { "" } else { "s" }
            ),
        )
    }
}
