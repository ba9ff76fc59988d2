//! `/api/v1`: every route here runs behind bearer authentication; each handler states the
//! scope it needs.

mod audit;
mod cloudwatch;
mod series;
mod targets;
mod tokens;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/tokens")
            .route(web::get().to(tokens::list))
            .route(web::post().to(tokens::create)),
    )
    .route("/tokens/{name}", web::delete().to(tokens::revoke))
    .route("/audit", web::get().to(audit::list))
    .route("/targets", web::get().to(targets::list))
    .route("/targets/{name}", web::get().to(targets::show))
    .route("/targets/{name}/series", web::get().to(series::read))
    .route("/cloudwatch/cost", web::get().to(cloudwatch::cost));
}
