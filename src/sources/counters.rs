//! Rate math over cumulative counters (pure, no I/O).
//!
//! Cache servers report counters cumulative since they started. The rate over a poll interval
//! is the difference between two readings; a counter that went down, or a different server
//! instance (restart), means the server started again, and the new reading is then itself the
//! delta from zero. Never a negative rate.

use std::collections::HashMap;

use crate::store::Sample;

/// One reading of a server's cumulative counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Identifies one run of the server (Redis `run_id`; memcached's start time). A change
    /// means a restart even if every counter happens to be higher than before.
    pub instance: String,
    pub counters: HashMap<&'static str, u64>,
}

/// The increase of `name` since `previous`, or `None` without a previous reading of the
/// same counter (the first poll gives no rate).
pub fn delta(previous: Option<&Reading>, current: &Reading, name: &str) -> Option<u64> {
    let cur = *current.counters.get(name)?;
    let prev = previous?;
    if prev.instance != current.instance {
        return Some(cur);
    }
    let before = *prev.counters.get(name)?;
    Some(if cur >= before { cur - before } else { cur })
}

/// A hit ratio from interval counts; `None` when there was no traffic (no datapoint: not 0 %,
/// not 100 %).
pub fn hit_ratio(hits: u64, misses: u64) -> Option<f64> {
    let total = hits.checked_add(misses)?;
    (total > 0).then(|| hits as f64 / total as f64)
}

/// Appends one sample per counter delta (`counters` maps server field to series name) and,
/// when the interval had traffic, `hit_rate` from the `hits` and `misses` series, kept with
/// its parts. Returns the deltas, for aggregating cluster nodes.
pub fn push_interval_samples(
    at: (&str, &str, i64),
    previous: Option<&Reading>,
    current: &Reading,
    counters: &[(&'static str, &'static str)],
    out: &mut Vec<Sample>,
) -> HashMap<&'static str, u64> {
    let (target, node, now) = at;
    let mut deltas = HashMap::new();
    for (field, series) in counters {
        if let Some(d) = delta(previous, current, field) {
            out.push(Sample::new(target, node, series, now, d as f64));
            deltas.insert(*series, d);
        }
    }
    push_hit_rate((target, node, now), &deltas, out);
    deltas
}

/// Appends `hit_rate` from `hits` and `misses` counts, when there was traffic.
pub fn push_hit_rate(
    at: (&str, &str, i64),
    counts: &HashMap<&'static str, u64>,
    out: &mut Vec<Sample>,
) {
    let (target, node, now) = at;
    if let (Some(&h), Some(&m)) = (counts.get("hits"), counts.get("misses"))
        && hit_ratio(h, m).is_some()
    {
        out.push(Sample::ratio(
            target,
            node,
            "hit_rate",
            now,
            h as f64,
            (h + m) as f64,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(instance: &str, hits: u64, misses: u64) -> Reading {
        Reading {
            instance: instance.into(),
            counters: HashMap::from([("hits", hits), ("misses", misses)]),
        }
    }

    #[test]
    fn deltas_between_readings_of_one_instance() {
        let a = reading("r1", 100, 50);
        let b = reading("r1", 190, 60);
        assert_eq!(delta(Some(&a), &b, "hits"), Some(90));
        assert_eq!(delta(Some(&a), &b, "misses"), Some(10));
        assert_eq!(
            delta(None, &b, "hits"),
            None,
            "no rate from the first reading"
        );
        assert_eq!(delta(Some(&a), &b, "evictions"), None, "unknown counter");
    }

    #[test]
    fn a_counter_that_goes_down_is_a_restart_never_a_negative_rate() {
        let before = reading("r1", 1_000_000, 10);
        let after = reading("r1", 40, 2);
        assert_eq!(delta(Some(&before), &after, "hits"), Some(40));
        assert_eq!(delta(Some(&before), &after, "misses"), Some(2));
    }

    #[test]
    fn a_new_instance_is_a_restart_even_when_counters_grew() {
        let before = reading("r1", 10, 10);
        let after = reading("r2", 500, 20);
        assert_eq!(delta(Some(&before), &after, "hits"), Some(500));
    }

    #[test]
    fn no_traffic_is_no_ratio() {
        assert_eq!(hit_ratio(0, 0), None);
        assert_eq!(hit_ratio(3, 1), Some(0.75));
        assert_eq!(hit_ratio(0, 5), Some(0.0));
    }
}
