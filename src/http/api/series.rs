//! `GET /api/v1/targets/{name}/series`: one series over a time range, at a resolution chosen
//! for the range (raw up to 6 h, 5-minute up to 7 days, 1-hour beyond) unless one is asked.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::params::parse_time;
use super::targets::allowed_target;
use crate::auth::Principal;
use crate::config::RetentionSettings;
use crate::http::{ApiError, AppState};
use crate::store::{Resolution, SeriesQuery, now_ms};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Series name, e.g. `hit_rate`.
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

/// The finest resolution that covers the range within its retention, and is not too dense.
pub fn choose_resolution(from: i64, to: i64, now: i64, keep: &RetentionSettings) -> Resolution {
    let span = to - from;
    let kept_raw = now - keep.raw.as_millis() as i64;
    let kept_5m = now - keep.five_minute.as_millis() as i64;
    if span <= 6 * HOUR && from >= kept_raw {
        Resolution::Raw
    } else if span <= 7 * DAY && from >= kept_5m {
        Resolution::FiveMinutes
    } else {
        Resolution::OneHour
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/targets/{name}/series",
    tag = "targets",
    summary = "One series of a target over time",
    params(("name" = String, Path, description = "The name"), Params),
    responses((status = 200, description = "OK", body = serde_json::Value))
)]
pub async fn read(
    state: web::Data<AppState>,
    who: web::ReqData<Principal>,
    name: web::Path<String>,
    params: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let target = allowed_target(&state, &who, &name)?;
    let metric = params
        .metric
        .as_deref()
        .ok_or_else(|| ApiError::invalid("metric", "is required, e.g. metric=hit_rate"))?;
    if metric.is_empty()
        || !metric
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ApiError::invalid(
            "metric",
            format!("{metric:?} is not a series name like \"hit_rate\""),
        ));
    }
    let now = now_ms();
    let to = params
        .to
        .as_deref()
        .map(|t| parse_time("to", t))
        .transpose()?
        .unwrap_or(now);
    let from = params
        .from
        .as_deref()
        .map(|t| parse_time("from", t))
        .transpose()?
        .unwrap_or(to - 6 * HOUR);
    if from >= to {
        return Err(ApiError::invalid("from", "must be before to"));
    }
    if to - from > 800 * DAY {
        return Err(ApiError::invalid(
            "from",
            "the range may be at most 800 days",
        ));
    }
    let resolution = params
        .resolution
        .unwrap_or_else(|| choose_resolution(from, to, now, &state.settings().retention));
    let query = SeriesQuery {
        target: target.name.to_string(),
        node: params.node.clone().unwrap_or_default(),
        series: metric.to_owned(),
        from,
        to,
        resolution,
        detail: params.detail.unwrap_or(false),
    };
    let points = state.store.read_series(&query).await?;
    Ok(HttpResponse::Ok().json(json!({
        "target": target.name,
        "metric": metric,
        "node": query.node,
        "resolution": resolution,
        "from": from,
        "to": to,
        "points": points,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_follows_the_range_and_retention() {
        let keep = RetentionSettings {
            raw: std::time::Duration::from_secs(48 * 3600),
            five_minute: std::time::Duration::from_secs(30 * 86400),
            one_hour: std::time::Duration::from_secs(400 * 86400),
            alerts: std::time::Duration::from_secs(400 * 86400),
        };
        let now = 1_800_000_000_000;
        assert_eq!(
            choose_resolution(now - HOUR, now, now, &keep),
            Resolution::Raw
        );
        assert_eq!(
            choose_resolution(now - 3 * DAY - HOUR, now - 3 * DAY, now, &keep),
            Resolution::FiveMinutes,
            "raw is gone"
        );
        assert_eq!(
            choose_resolution(now - 2 * DAY, now, now, &keep),
            Resolution::FiveMinutes
        );
        assert_eq!(
            choose_resolution(now - 30 * DAY, now, now, &keep),
            Resolution::OneHour
        );
    }
}
