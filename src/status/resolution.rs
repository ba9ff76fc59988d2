//! Which stored resolution a range is read at: the finest that still holds the whole range
//! and is not too dense to draw (raw up to 6 h, 5-minute up to 7 days, 1-hour beyond).

use crate::config::RetentionSettings;
use crate::store::Resolution;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// The longest range one read may cover.
pub const MAX_RANGE_MS: i64 = 800 * DAY;

/// The default range of a read that names no start: the last six hours before its end.
pub const DEFAULT_RANGE_MS: i64 = 6 * HOUR;

/// The finest resolution that covers [from, to) within its retention, and is not too dense.
pub fn choose(from: i64, to: i64, now: i64, keep: &RetentionSettings) -> Resolution {
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

/// What a page says it shows.
pub fn label(r: Resolution) -> &'static str {
    match r {
        Resolution::Raw => "a point per poll",
        Resolution::FiveMinutes => "5-minute averages",
        Resolution::OneHour => "hourly averages",
    }
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
        assert_eq!(choose(now - HOUR, now, now, &keep), Resolution::Raw);
        assert_eq!(
            choose(now - 3 * DAY - HOUR, now - 3 * DAY, now, &keep),
            Resolution::FiveMinutes,
            "raw is gone"
        );
        assert_eq!(
            choose(now - 2 * DAY, now, now, &keep),
            Resolution::FiveMinutes
        );
        assert_eq!(choose(now - 30 * DAY, now, now, &keep), Resolution::OneHour);
    }
}
