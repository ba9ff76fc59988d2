//! Static files, compiled into the binary so the daemon runs from any directory.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

use super::ApiError;

/// (name, content type, body)
const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    ),
    (
        "api-docs.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/api-docs.js"),
    ),
    (
        "api-docs.css",
        "text/css; charset=utf-8",
        include_str!("../../static/api-docs.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../static/favicon.svg"),
    ),
];

pub async fn serve(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (_, content_type, body) = FILES
        .iter()
        .find(|(name, _, _)| *name == file.as_str())
        .ok_or_else(|| ApiError::not_found(format!("no static file {:?}", file.as_str())))?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, *content_type))
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .body(*body))
}
