//! How each collected series is named on `/metrics`: from the row its kind gives it (see
//! `targets::series`), following Prometheus conventions: base units in the name (`_bytes`,
//! `_seconds`, `_ratio`), and what is counted per interval (hits, misses, evictions,
//! requests) as a cumulative `_total` counter that `rate()` reads.

use crate::targets::{KINDS, Series, series};

/// How one series is exported.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposition {
    /// The metric name, `cachewarden_target_…`.
    pub name: String,
    /// A counter (`_total`, increased by each new interval's count) or a gauge.
    pub counter: bool,
    /// Multiplies the stored value into the base unit (milliseconds → seconds).
    pub scale: f64,
    pub help: &'static str,
}

/// The row of `series` in any kind (a name means the same in every kind that has it).
fn row(series: &str) -> Option<&'static Series> {
    std::iter::once(&series::UP)
        .chain(KINDS.iter().flat_map(|k| k.series()))
        .find(|s| s.name == series)
}

/// The exposition of `series` (a series name the sources produce).
pub fn of(series: &str) -> Exposition {
    match row(series) {
        Some(s) => Exposition {
            name: s.prom_name(),
            counter: s.counter,
            scale: s.prom_scale(),
            help: s.help,
        },
        None => Exposition {
            name: format!("cachewarden_target_{series}"),
            counter: false,
            scale: 1.0,
            help: "A series collected by cachewarden; see its name.",
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_kinds_series_is_exported_under_its_rows_name() {
        for kind in crate::targets::KINDS {
            for s in kind.series() {
                let e = super::of(s.name);
                assert_eq!(e.name, s.prom_name());
                assert!(!e.help.starts_with("A series collected"), "{}", s.name);
            }
        }
        assert_eq!(super::of("origin_latency_ms").scale, 0.001);
        assert_eq!(super::of("evicted_keys").name, super::of("evictions").name);
    }
}
