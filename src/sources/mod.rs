//! Where numbers come from. Each source polls one unit (a Redis or Memcached target, or a
//! batch of CloudWatch targets of one region) and returns samples; the collector runs them,
//! stores what they return, and records failures as `up = 0`.

pub mod cloudwatch;
pub mod counters;
mod memcached;
mod redis;
pub mod text_stats;

pub use cloudwatch::CloudWatchSource;
pub use memcached::MemcachedSource;
pub use redis::RedisSource;

use futures_util::future::BoxFuture;

use crate::store::Sample;

/// Why a poll failed. The message is shown to operators (API, dashboard) and never contains
/// credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PollError(pub String);

/// What a successful poll produced.
#[derive(Debug, Default)]
pub struct Polled {
    pub samples: Vec<Sample>,
    /// Per target: something worth telling the operator while the target is up.
    pub notices: Vec<(String, String)>,
}

/// A thing that can be polled.
pub trait Source: Send + Sync {
    /// The targets this source's samples belong to (one, or a CloudWatch batch).
    fn targets(&self) -> Vec<String>;

    /// Reads the numbers once. `now` is the poll time in milliseconds since the epoch;
    /// samples of direct sources carry it as their timestamp.
    fn poll(&self, now: i64) -> BoxFuture<'_, Result<Polled, PollError>>;
}

/// Turns a client error into a poll error without echoing URLs (they may carry passwords).
pub(crate) fn poll_error(context: &str, e: impl std::fmt::Display) -> PollError {
    PollError(format!("{context}: {e}"))
}
