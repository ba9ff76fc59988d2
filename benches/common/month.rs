//! Thirty days of one-minute hit ratios of one target (9 of 10 requests hit), the series the
//! 30-day read benchmarks read back.

use cachewarden::store::Sample;

/// Minutes in thirty days.
pub const MINUTES: i64 = 30 * 24 * 60;

pub fn hit_rates(target: &str, start: i64) -> Vec<Sample> {
    (0..MINUTES)
        .map(|m| Sample::ratio(target, "", "hit_rate", start + m * 60_000, 9.0, 10.0))
        .collect()
}
