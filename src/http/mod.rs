//! The HTTP interface: JSON API under `/api/v1`, the dashboard, health and metrics.

pub mod api;
mod assets;
mod audit_names;
mod dashboard;
pub mod error;
mod health;
pub mod middleware;
pub mod openapi;
mod openapi_kinds;
pub mod request_id;

use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::web;

use crate::collector::Collector;
use crate::config::Settings;
use crate::live::Live;
use crate::metrics::Metrics;

pub use error::ApiError;

/// What every handler can reach.
pub struct AppState {
    /// The configuration in force (`settings()`, `collector()`), replaced by a reload.
    pub live: Arc<Live>,
    /// Which database engine holds the data (shown in the page footer).
    pub database: crate::store::Backend,
    pub metrics: Arc<Metrics>,
    /// Alarms, acknowledgements and silences.
    pub respond: Arc<crate::alarms::respond::RespondService>,
    /// Readiness, event streams, invalidation spend.
    pub operations: Arc<crate::status::OperationsService>,
    /// Targets, their status and series.
    pub targets: Arc<crate::status::TargetService>,
    /// Submit, follow and cancel jobs of every kind.
    pub jobs: Arc<crate::jobs::JobService>,
    /// What each job cost its target's hit ratio.
    pub impact: Arc<crate::impact::ImpactService>,
    /// Whether this replica leads (polls, evaluates alarms, rolls up).
    pub leader: crate::leader::Leadership,
    /// Reads the configuration again (`POST /api/v1/admin/reload`).
    pub reloader: Arc<crate::reload::Reloader>,
    /// Appends to and reads the audit log.
    pub audit: Arc<crate::audit::AuditLog>,
    /// Tokens, sessions, sign-in and the first admin's setup.
    pub access: Arc<crate::auth::AccessService>,
    /// What `[[discover]]` found and each run's diff.
    pub discovery: Arc<crate::discovery::DiscoveryService>,
}

impl AppState {
    /// The settings in force; hold the snapshot for the whole request.
    pub fn settings(&self) -> Arc<Settings> {
        self.live.settings()
    }

    /// The collector of the targets in force.
    pub fn collector(&self) -> Arc<Collector> {
        self.live.collector()
    }
}

/// Registers every route. The API scope requires a bearer token and the dashboard a session;
/// health, metrics and static files need neither.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(error::json_config())
        .app_data(error::query_config())
        .app_data(error::path_config())
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .route("/api/openapi.json", web::get().to(openapi::json))
        .route("/api/docs", web::get().to(openapi::docs))
        .route("/static/{file}", web::get().to(assets::serve))
        .service(
            web::scope("/api/v1")
                .wrap(from_fn(middleware::authenticate))
                .configure(api::routes),
        )
        .configure(dashboard::routes)
        .default_service(web::to(not_found));
}

/// No route answered: 405 naming the methods the path takes, when it takes some (a client
/// that sent PUT where POST goes learns so), else 404.
async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(
        error::method_not_allowed(req.method().as_str(), req.path()).unwrap_or_else(|| {
            ApiError::not_found(format!("no route for {} {}", req.method(), req.path()))
        }),
    )
}
