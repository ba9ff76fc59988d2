//! The dashboard: server-rendered pages (askama, one view struct per page) over the same
//! services as the API, for people with a session. Reading works without JavaScript;
//! `static/app.js` adds live updates and chart hover.
//!
//! Every route sits behind [`session::attach`]: it opens the session from its cookie and
//! refuses any non-GET request without the right CSRF token, so no handler can forget to.

mod actions;
mod admin;
mod alarms;
mod chart;
mod chrome;
mod impact;
mod jobs;
mod overview;
mod page_error;
mod session;
mod sign_in;
mod sparkline;
mod target;

use actix_web::middleware::from_fn;
use actix_web::web;

pub use chrome::Chrome;
pub use page_error::PageError;
pub use session::Person;

/// The pages. Each resource is wrapped on its own (not one catch-all scope), so requests for
/// other paths (`POST /healthz`) still get the plain 404 or 405 rather than a CSRF refusal.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let get = web::get;
    let post = web::post;
    for resource in [
        web::resource("/").route(get().to(overview::page)),
        web::resource("/sign-in")
            .route(get().to(sign_in::form))
            .route(post().to(sign_in::submit)),
        web::resource("/sign-out").route(post().to(sign_in::sign_out)),
        web::resource("/setup")
            .route(get().to(sign_in::setup_form))
            .route(post().to(sign_in::setup_submit)),
        web::resource("/targets/{name}").route(get().to(target::page)),
        web::resource("/alarms").route(get().to(alarms::page)),
        web::resource("/alarms/{id}/ack").route(post().to(alarms::ack)),
        web::resource("/alarms/{id}/silence").route(post().to(alarms::silence)),
        web::resource("/alarms/{id}/unack").route(post().to(alarms::unack)),
        web::resource("/silences/{id}/end").route(post().to(alarms::end_silence)),
        web::resource("/jobs").route(get().to(jobs::list)),
        web::resource("/impact").route(get().to(impact::page)),
        web::resource("/jobs/{id}").route(get().to(jobs::page)),
        web::resource("/jobs/{id}/cancel").route(post().to(jobs::cancel)),
        web::resource("/invalidate")
            .route(get().to(actions::invalidate_form))
            .route(post().to(actions::invalidate)),
        web::resource("/purge")
            .route(get().to(actions::purge_form))
            .route(post().to(actions::purge)),
        web::resource("/tokens")
            .route(get().to(admin::tokens))
            .route(post().to(admin::create_token)),
        web::resource("/tokens/{name}/revoke").route(post().to(admin::revoke_token)),
        web::resource("/audit").route(get().to(admin::audit)),
    ] {
        cfg.service(resource.wrap(from_fn(session::attach)));
    }
}

/// A time for people: UTC to the second.
fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// A page answered with `status` (a form drawn again with its errors is a 400, not a 200).
fn page_with_status(
    status: actix_web::http::StatusCode,
    page: &impl askama::Template,
) -> Result<actix_web::HttpResponse, PageError> {
    let body = page
        .render()
        .map_err(|e| PageError::from(crate::http::ApiError::internal(&e)))?;
    Ok(actix_web::HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// A 303 to `to`: the answer to a form that worked (reloading the page does not post again).
fn see_other(to: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, to))
        .finish()
}
