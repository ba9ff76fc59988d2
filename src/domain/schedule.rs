//! How often something is polled.

use std::time::Duration;

/// A fixed interval or a cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// A fixed interval (`every = "15s"`).
    Every(Duration),
    /// A six-field cron expression with seconds (`cron = "*/15 * * * * *"`).
    Cron(String),
}

impl Schedule {
    /// Roughly how often it fires, in milliseconds (a cron schedule counts as one minute):
    /// enough to tell a gap in a series from the next datapoint.
    pub fn hint_ms(&self) -> i64 {
        match self {
            Schedule::Every(d) => d.as_millis() as i64,
            Schedule::Cron(_) => 60_000,
        }
    }

    /// `every 1m` or `cron */15 * * * * *`.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Every(d) => format!("every {}", humantime::format_duration(*d)),
            Schedule::Cron(c) => format!("cron {c}"),
        }
    }
}
