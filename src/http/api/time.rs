//! Times in requests: RFC 3339 or milliseconds since the epoch, everywhere.

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
