//! `GET /api/v1/impact`: which changes cost most, and who sends them (scope `read`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::auth::Principal;
use crate::http::{ApiError, AppState};
use crate::impact::{ImpactReport, ReportQuery};

/// A week: long enough to compare a week of deploys, short enough to answer at once.
const DEFAULT_SPAN_MS: i64 = 7 * 24 * 3600 * 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Changes that ended since: RFC 3339 or milliseconds since the epoch. Default: 7 days ago.
    since: Option<String>,
    /// Only changes on this target.
    target: Option<String>,
    /// Only changes asked for by this token or person.
    requester: Option<String>,
    /// Only changes of this job kind.
    kind: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/impact",
    tag = "jobs",
    summary = "What changes cost (extra misses, recovery), by requester, target and event type; scope read",
    params(Params),
    responses((status = 200, description = "OK", body = ImpactReport))
)]
pub async fn report(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    params: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let since = match &p.since {
        Some(t) => super::params::parse_time("since", t)?,
        None => crate::store::now_ms() - DEFAULT_SPAN_MS,
    };
    for (field, value) in [("target", &p.target), ("requester", &p.requester)] {
        if let Some(v) = value {
            crate::domain::text::filter(v).map_err(|e| ApiError::invalid(field, e))?;
        }
    }
    if let Some(k) = &p.kind
        && crate::registry::label_of(k).is_none()
    {
        return Err(ApiError::invalid(
            "kind",
            format!("{k:?} is not a job kind"),
        ));
    }
    let q = ReportQuery {
        since,
        target: p.target,
        requester: p.requester,
        kind: p.kind,
    };
    Ok(HttpResponse::Ok().json(state.impact.report(&who, &q).await?))
}
