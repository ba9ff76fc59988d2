//! What a CloudWatch-backed target asks for and how its answers become samples (pure). Each
//! kind says which metrics it needs ([`CloudWatchQueries`]); the helpers here are what those
//! answers have in common: ratios AWS publishes in percent are scaled to 0-1, and ratios it
//! does not publish are computed from hit and miss sums, never with metric math.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::store::Sample;

/// One metric to request for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSpec {
    pub namespace: &'static str,
    pub metric: &'static str,
    pub stat: &'static str,
    pub dimensions: Vec<(&'static str, String)>,
    /// The series the values are stored as.
    pub series: &'static str,
    /// Multiplier applied to each value (0.01 for percentages).
    pub scale: f64,
}

/// Multiplies a percentage into a ratio.
pub const PERCENT: f64 = 0.01;

/// A metric of `namespace` with `dims`, stored as `series`.
pub fn spec(
    namespace: &'static str,
    metric: &'static str,
    stat: &'static str,
    dims: &[(&'static str, &str)],
    series: &'static str,
    scale: f64,
) -> MetricSpec {
    MetricSpec {
        namespace,
        metric,
        stat,
        dimensions: dims.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        series,
        scale,
    }
}

/// Datapoints returned for one target: series → (timestamp ms → value, already scaled).
pub type Answers = HashMap<&'static str, BTreeMap<i64, f64>>;

/// What a CloudWatch-backed target asks for, and how its answers become samples.
pub trait CloudWatchQueries: Send + Sync + std::fmt::Debug {
    /// The metrics polled each time.
    fn metrics(&self) -> Vec<MetricSpec>;

    /// Samples of `target` from its answers, and a notice for the operator (a metric the
    /// resource does not publish). By default every answer is stored as its series.
    fn samples(&self, target: &str, answers: Answers) -> (Vec<Sample>, Option<String>) {
        (plain(target, answers), None)
    }
}

/// Every answer as a sample of its series, in time order.
pub fn plain(target: &str, answers: Answers) -> Vec<Sample> {
    let mut out: Vec<Sample> = answers
        .into_iter()
        .flat_map(|(series, points)| {
            points
                .into_iter()
                .map(move |(ts, v)| Sample::new(target, "", series, ts, v))
        })
        .collect();
    sort(&mut out);
    out
}

/// Samples in the order they are written: by time, then series.
pub fn sort(samples: &mut [Sample]) {
    samples.sort_by(|a, b| (a.ts, &a.series).cmp(&(b.ts, &b.series)));
}

/// `series` as hits over hits + misses at each minute either has; a minute where one side is
/// absent had none of it; a minute without traffic has no ratio at all.
pub fn ratio(
    target: &str,
    series: &str,
    hits: Option<&BTreeMap<i64, f64>>,
    misses: Option<&BTreeMap<i64, f64>>,
) -> Vec<Sample> {
    let empty = BTreeMap::new();
    let (hits, misses) = (hits.unwrap_or(&empty), misses.unwrap_or(&empty));
    let stamps: BTreeSet<i64> = hits.keys().chain(misses.keys()).copied().collect();
    stamps
        .into_iter()
        .filter_map(|ts| {
            let (h, m) = (
                hits.get(&ts).copied().unwrap_or(0.0),
                misses.get(&ts).copied().unwrap_or(0.0),
            );
            (h + m > 0.0).then(|| Sample::ratio(target, "", series, ts, h, h + m))
        })
        .collect()
}

/// A published ratio (already 0-1), weighted by `volume` where it has a datapoint at the
/// same minute, so rollups can sum numerator and denominator.
pub fn weighted(
    target: &str,
    series: &str,
    rates: BTreeMap<i64, f64>,
    volume: impl Fn(i64) -> Option<f64>,
) -> Vec<Sample> {
    rates
        .into_iter()
        .map(|(ts, rate)| match volume(ts) {
            Some(v) if v > 0.0 => Sample {
                value: rate,
                ..Sample::ratio(target, "", series, ts, rate * v, v)
            },
            _ => Sample::new(target, "", series, ts, rate),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ratio_has_no_datapoint_without_traffic_and_a_missing_side_counts_zero() {
        let hits = BTreeMap::from([(60_000, 9.0), (120_000, 0.0)]);
        let misses = BTreeMap::from([(60_000, 1.0), (180_000, 4.0)]);
        let s = ratio("t", "hit_rate", Some(&hits), Some(&misses));
        let shown: Vec<(i64, f64)> = s.iter().map(|s| (s.ts, s.value)).collect();
        assert_eq!(shown, [(60_000, 0.9), (180_000, 0.0)]);
        assert_eq!((s[0].num, s[0].den), (Some(9.0), Some(10.0)));
    }

    #[test]
    fn a_published_ratio_is_weighted_where_the_volume_is_known() {
        let rates = BTreeMap::from([(60_000, 0.5), (120_000, 0.8)]);
        let s = weighted("t", "hit_rate", rates, |ts| (ts == 60_000).then_some(10.0));
        assert_eq!(
            (s[0].value, s[0].num, s[0].den),
            (0.5, Some(5.0), Some(10.0))
        );
        assert_eq!((s[1].value, s[1].den), (0.8, None));
    }
}
