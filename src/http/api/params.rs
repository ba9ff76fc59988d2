//! Rules shared by request parameters: times, page sizes.

use crate::http::ApiError;

/// Parses a time given as RFC 3339 (`2026-11-22T08:00:00Z`) or epoch milliseconds.
pub fn parse_time(field: &str, text: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| ApiError::invalid(field, format!("{text:?} is neither RFC 3339 (2026-11-22T08:00:00Z) nor milliseconds since the epoch")))
}

/// A page size: `limit` or `default`, at most `max`.
pub fn limit(limit: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::invalid(
            "limit",
            format!("must be from 1 to {max}"),
        ))
    }
}
