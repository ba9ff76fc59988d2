//! `/healthz`, `/readyz`, `/metrics`: unauthenticated, for load balancers and Prometheus.

use actix_web::{HttpResponse, web};

use super::{ApiError, AppState};

/// Alive: the process answers HTTP.
#[utoipa::path(get, path = "/healthz", tag = "health", summary = "Alive: the process answers HTTP", responses((status = 200, description = "Alive", body = Alive)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Alive { status: "ok" })
}

/// The process answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Alive {
    /// Always `ok`.
    pub status: &'static str,
}

/// Ready: the database takes writes (a small write within 2 s, and no full disk or I/O error
/// in the last seconds). 503 with the reason otherwise, so a load balancer stops sending
/// traffic to a replica that cannot accept work, and sends it again once space returns. Every
/// replica serves, leader or not; `role` says which this one is.
#[utoipa::path(get, path = "/readyz", tag = "health", summary = "Ready: the database takes writes", responses((status = 200, description = "Ready, with this replica's role", body = crate::status::Readiness), (status = 503, description = "Not ready, with the reason", body = crate::status::Readiness)))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ready = state.operations.readiness().await;
    if let Some(reason) = &ready.reason {
        tracing::warn!(%reason, "Readiness check failed: the database does not take writes.");
    }
    if ready.is_ready() {
        HttpResponse::Ok().json(ready)
    } else {
        HttpResponse::ServiceUnavailable().json(ready)
    }
}

/// Prometheus text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "health", summary = "Prometheus metrics (text format)", responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain; version=0.0.4")))]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    // A database that cannot say its size does not keep the other metrics from Prometheus.
    match state.operations.store_size().await {
        Ok(size) => state.metrics.observe_store(&size),
        Err(e) => tracing::warn!(error = %e, "Could not measure the store's size for /metrics."),
    }
    let body = state.metrics.render().map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
