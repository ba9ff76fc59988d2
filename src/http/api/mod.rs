//! `/api/v1`: every route here runs behind bearer authentication; each handler states the
//! scope it needs.

pub(crate) mod admin;
pub(crate) mod alarms;
pub(crate) mod audit;
pub(crate) mod cloudwatch;
pub(crate) mod discovery;
pub(crate) mod events;
pub(crate) mod impact;
pub(crate) mod invalidations;
pub(crate) mod jobs;
pub(crate) mod params;
pub(crate) mod purges;
pub(crate) mod series;
pub(crate) mod silences;
pub(crate) mod streams;
pub(crate) mod targets;
pub(crate) mod tokens;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/tokens")
            .route(web::get().to(tokens::list))
            .route(web::post().to(tokens::create)),
    )
    .route("/tokens/{name}", web::delete().to(tokens::revoke))
    .route("/audit", web::get().to(audit::list))
    .route("/impact", web::get().to(impact::report))
    .route("/admin/reload", web::post().to(admin::reload))
    .service(
        web::resource("/events")
            .route(web::get().to(events::list))
            .route(web::post().to(events::create)),
    )
    .route("/events/{id}", web::get().to(events::show))
    .route("/streams", web::get().to(streams::list))
    .route("/discovery", web::get().to(discovery::list))
    .route("/alarms", web::get().to(alarms::list))
    .route("/alarms/{id}/history", web::get().to(alarms::history))
    .service(
        web::resource("/alarms/{id}/ack")
            .route(web::post().to(alarms::ack))
            .route(web::delete().to(alarms::unack)),
    )
    .service(
        web::resource("/silences")
            .route(web::get().to(silences::list))
            .route(web::post().to(silences::create)),
    )
    .service(
        web::resource("/silences/{id}")
            .route(web::get().to(silences::show))
            .route(web::patch().to(silences::update))
            .route(web::delete().to(silences::end)),
    )
    .route("/outbox", web::get().to(alarms::outbox))
    .route("/targets", web::get().to(targets::list))
    .route("/targets/{name}", web::get().to(targets::show))
    .route("/targets/{name}/series", web::get().to(series::read))
    .route("/cloudwatch/cost", web::get().to(cloudwatch::cost))
    .service(
        web::resource("/invalidations")
            .route(web::get().to(invalidations::list))
            .route(web::post().to(invalidations::create)),
    )
    .route("/invalidations/cost", web::get().to(invalidations::cost))
    .route("/invalidations/{id}", web::get().to(invalidations::show))
    .route(
        "/invalidations/{id}/cancel",
        web::post().to(invalidations::cancel),
    )
    .service(
        web::resource("/purges")
            .route(web::get().to(purges::list))
            .route(web::post().to(purges::create)),
    )
    .route("/purges/{id}", web::get().to(purges::show))
    .route("/purges/{id}/cancel", web::post().to(purges::cancel))
    .service(
        web::resource("/jobs")
            .route(web::get().to(jobs::list))
            .route(web::post().to(jobs::create)),
    )
    .route("/jobs/{id}", web::get().to(jobs::show))
    .route("/jobs/{id}/cancel", web::post().to(jobs::cancel));
}
