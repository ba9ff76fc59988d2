//! What a kind records: one row per series with its meaning (role), unit and how it is
//! exported to Prometheus. Pages, alarms and `/metrics` read these rows instead of guessing a
//! series' meaning from its name.

/// What a series means, whatever the kind calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Whether the target answers (1/0).
    Up,
    /// Hits over requests, 0-1.
    HitRatio,
    /// Hits in an interval.
    Hits,
    /// Misses in an interval.
    Misses,
    /// Requests in an interval.
    Requests,
    /// Keys or items evicted in an interval.
    Evictions,
    /// Memory in use, bytes.
    MemoryUsed,
    /// The memory limit, bytes (0: none).
    MemoryLimit,
    /// Memory in use as a share of the limit, 0-1.
    MemoryShare,
    /// Open client connections.
    Connections,
    /// Keys or items stored.
    Stored,
    /// Commands the server ran in an interval, reads and writes alike (its load, where hits
    /// and misses are only its reads).
    Commands,
    /// Time to answer.
    Latency,
    /// A share of requests answered with errors, 0-1.
    ErrorRatio,
    /// Anything else worth charting.
    Other,
}

/// The unit a series is stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// 0-1.
    Ratio,
    /// A count per interval, or of things present.
    Count,
    Bytes,
    Milliseconds,
}

/// One series of a kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Series {
    /// As stored, in the API and in alarms' `metric`.
    pub name: &'static str,
    pub role: Role,
    pub unit: Unit,
    /// On `/metrics`: `cachewarden_target_{prom}`; a counter ends in `_total` and is summed
    /// over intervals, a gauge is the latest value, in base units.
    pub prom: &'static str,
    pub counter: bool,
    /// For people and Prometheus' HELP.
    pub help: &'static str,
}

impl Series {
    /// What one stored value is multiplied by to be in base units on `/metrics`.
    pub fn prom_scale(&self) -> f64 {
        match self.unit {
            Unit::Milliseconds => 0.001,
            _ => 1.0,
        }
    }

    /// The full Prometheus name.
    pub fn prom_name(&self) -> String {
        format!("cachewarden_target_{}", self.prom)
    }
}

/// A gauge row.
pub const fn gauge(
    name: &'static str,
    role: Role,
    unit: Unit,
    prom: &'static str,
    help: &'static str,
) -> Series {
    Series {
        name,
        role,
        unit,
        prom,
        counter: false,
        help,
    }
}

/// A counter row (counted per interval; exported summed).
pub const fn counter(
    name: &'static str,
    role: Role,
    unit: Unit,
    prom: &'static str,
    help: &'static str,
) -> Series {
    Series {
        name,
        role,
        unit,
        prom,
        counter: true,
        help,
    }
}

/// Every target records whether its latest poll worked.
pub const UP: Series = gauge(
    "up",
    Role::Up,
    Unit::Count,
    "up",
    "1 if the latest poll of the target succeeded, 0 if it failed.",
);

/// Rows several kinds share, named alike everywhere.
pub mod common {
    use super::*;

    pub const HIT_RATE: Series = gauge(
        "hit_rate",
        Role::HitRatio,
        Unit::Ratio,
        "hit_ratio",
        "Cache hit ratio (0-1) over the latest interval with traffic.",
    );
    pub const HITS: Series = counter("hits", Role::Hits, Unit::Count, "hits_total", "Cache hits.");
    pub const MISSES: Series = counter(
        "misses",
        Role::Misses,
        Unit::Count,
        "misses_total",
        "Cache misses.",
    );
    pub const EVICTIONS: Series = counter(
        "evictions",
        Role::Evictions,
        Unit::Count,
        "evictions_total",
        "Keys or items evicted.",
    );
    pub const REQUESTS: Series = counter(
        "requests",
        Role::Requests,
        Unit::Count,
        "requests_total",
        "Requests (CloudFront, API Gateway).",
    );
    pub const CURR_CONNECTIONS: Series = gauge(
        "curr_connections",
        Role::Connections,
        Unit::Count,
        "connections",
        "Open client connections.",
    );
}
