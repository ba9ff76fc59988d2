//! `GET /api/v1/targets/{name}/series`: one series over a time range, at a resolution chosen
//! for the range (raw up to 6 h, 5-minute up to 7 days, 1-hour beyond) unless one is asked.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::params::parse_time;
use crate::auth::Principal;
use crate::http::{ApiError, AppState};
use crate::status::{SeriesRequest, SeriesView};
use crate::store::Resolution;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// A series of the target's kind, e.g. `hit_rate`.
    #[param(required = true)]
    metric: Option<String>,
    /// Start: RFC 3339 or milliseconds since the epoch. Default: `to` minus 6 h.
    from: Option<String>,
    /// End: RFC 3339 or milliseconds since the epoch. Default: now.
    to: Option<String>,
    /// A cluster node (`host:port`); default the target as a whole.
    node: Option<String>,
    /// `raw`, `5m` or `1h`; default chosen from the range.
    resolution: Option<Resolution>,
    /// Also min, max and count per rollup bucket.
    detail: Option<bool>,
}

#[utoipa::path(
    get,
    path = "/api/v1/targets/{name}/series",
    tag = "targets",
    summary = "One series of a target over time",
    params(("name" = String, Path, description = "The name"), Params),
    responses((status = 200, description = "OK", body = SeriesView))
)]
pub async fn read(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    name: web::Path<String>,
    params: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let time =
        |field: &str, t: &Option<String>| t.as_deref().map(|t| parse_time(field, t)).transpose();
    let p = params.into_inner();
    let req = SeriesRequest {
        from: time("from", &p.from)?,
        to: time("to", &p.to)?,
        metric: p.metric,
        node: p.node,
        resolution: p.resolution,
        detail: p.detail.unwrap_or(false),
    };
    Ok(HttpResponse::Ok().json(state.targets.series(&who, &name, req).await?))
}
