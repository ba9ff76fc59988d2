//! Rules shared by request parameters: times, page sizes.

use crate::http::ApiError;

/// The latest time accepted from outside: the end of year 9999, in ms. Bounding every time
/// keeps the arithmetic on it (ranges, defaults, windows) from overflowing.
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// What [`parse_time`] accepts, as a regular expression (for the API document): epoch
/// milliseconds, or RFC 3339 (days up to the 28th, so every match is a real date).
pub const TIME_PATTERN: &str = r"^([0-9]{1,13}|[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]))$";

/// Parses a time given as RFC 3339 (`2026-11-22T08:00:00Z`) or epoch milliseconds, between
/// 1970 and the end of 9999.
pub fn parse_time(field: &str, text: &str) -> Result<i64, ApiError> {
    let ms = match text.parse::<i64>() {
        Ok(ms) => ms,
        Err(_) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.timestamp_millis())
            .map_err(|_| ApiError::invalid(field, format!("{text:?} is neither RFC 3339 (2026-11-22T08:00:00Z) nor milliseconds since the epoch")))?,
    };
    if !(0..=MAX_TIME_MS).contains(&ms) {
        return Err(ApiError::invalid(
            field,
            "must be a time between 1970 and the end of 9999",
        ));
    }
    Ok(ms)
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
