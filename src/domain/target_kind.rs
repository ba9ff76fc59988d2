//! The kinds of cache tier a target can be.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a target's numbers come from (DESIGN §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A Redis or Valkey server (or cluster), polled directly with INFO.
    Redis,
    /// A Memcached server, polled directly with `stats`.
    Memcached,
    /// An ElastiCache node, through CloudWatch.
    Elasticache,
    /// A CloudFront distribution, through CloudWatch in us-east-1.
    Cloudfront,
    /// An API Gateway stage cache, through CloudWatch.
    Apigateway,
    /// A DAX cluster, through CloudWatch.
    Dax,
}

/// A `kind` that is not one of the supported ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown kind {0:?}: expected one of redis, memcached, elasticache, cloudfront, apigateway, dax"
)]
pub struct UnknownTargetKind(pub String);

impl TargetKind {
    /// The tiers in the order a request meets them: edge, API, data caches, self-run caches.
    pub const TIERS: [TargetKind; 6] = [
        TargetKind::Cloudfront,
        TargetKind::Apigateway,
        TargetKind::Elasticache,
        TargetKind::Dax,
        TargetKind::Redis,
        TargetKind::Memcached,
    ];

    /// The name people know the service by.
    pub fn label(self) -> &'static str {
        match self {
            TargetKind::Redis => "Redis",
            TargetKind::Memcached => "Memcached",
            TargetKind::Elasticache => "ElastiCache",
            TargetKind::Cloudfront => "CloudFront",
            TargetKind::Apigateway => "API Gateway",
            TargetKind::Dax => "DAX",
        }
    }

    /// Every kind.
    pub const ALL: [TargetKind; 6] = [
        TargetKind::Redis,
        TargetKind::Memcached,
        TargetKind::Elasticache,
        TargetKind::Cloudfront,
        TargetKind::Apigateway,
        TargetKind::Dax,
    ];

    /// The name used in configuration and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Redis => "redis",
            TargetKind::Memcached => "memcached",
            TargetKind::Elasticache => "elasticache",
            TargetKind::Cloudfront => "cloudfront",
            TargetKind::Apigateway => "apigateway",
            TargetKind::Dax => "dax",
        }
    }

    /// The series a target of this kind records (each also records `up`), as the README
    /// lists them: what an alarm can watch. Tests keep the sources in step with this.
    pub fn series(self) -> &'static [&'static str] {
        match self {
            TargetKind::Redis => &[
                "up",
                "hit_rate",
                "hits",
                "misses",
                "evicted_keys",
                "expired_keys",
                "used_memory",
                "maxmemory",
                "connected_clients",
                "keys",
                "nodes",
            ],
            TargetKind::Memcached => &[
                "up",
                "hit_rate",
                "hits",
                "misses",
                "evictions",
                "curr_items",
                "bytes",
                "limit_maxbytes",
                "curr_connections",
            ],
            TargetKind::Elasticache => &[
                "up",
                "hit_rate",
                "hits",
                "misses",
                "evictions",
                "memory_usage",
                "curr_connections",
            ],
            TargetKind::Cloudfront => &[
                "up",
                "hit_rate",
                "requests",
                "error_rate_4xx",
                "error_rate_5xx",
                "origin_latency_ms",
                "bytes_downloaded",
            ],
            TargetKind::Apigateway => {
                &["up", "hit_rate", "hits", "misses", "requests", "latency_ms"]
            }
            TargetKind::Dax => &[
                "up",
                "item_hit_rate",
                "query_hit_rate",
                "item_hits",
                "item_misses",
                "query_hits",
                "query_misses",
                "evicted_size",
            ],
        }
    }

    /// Whether the numbers come from CloudWatch (late, revisable, billed per metric).
    pub fn is_cloudwatch(self) -> bool {
        !matches!(self, TargetKind::Redis | TargetKind::Memcached)
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TargetKind {
    type Err = UnknownTargetKind;
    fn from_str(s: &str) -> Result<Self, UnknownTargetKind> {
        TargetKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownTargetKind(s.to_owned()))
    }
}
