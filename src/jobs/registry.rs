//! The one list of job kinds. A new kind is a module with an [`Executor`] and one line here.

use std::sync::Arc;

use super::Executor;
use crate::cloudfront::CloudFrontApi;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::store::Store;

/// What executors are built from.
pub struct Deps {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    /// CloudFront, when a CloudFront target is configured (or a test's stand-in).
    pub cloudfront: Option<Arc<dyn CloudFrontApi>>,
}

/// What people call a job of `kind` (until every kind says so itself).
pub fn label_of(kind: &str) -> Option<&'static str> {
    match kind {
        "cloudfront_invalidation" => Some("invalidation"),
        "redis_purge" | "memcached_purge" => Some("purge"),
        "redis_publish" => Some("broadcast"),
        "event" => Some("event"),
        _ => None,
    }
}

/// Every kind this build knows.
pub fn executors(deps: &Deps) -> Vec<Arc<dyn Executor>> {
    // The kinds that change a cache tier; an event is made of them.
    let tiers: Vec<Arc<dyn Executor>> = vec![
        Arc::new(crate::cloudfront::InvalidationExecutor::new(deps)),
        Arc::new(crate::purge::redis::RedisPurgeExecutor::new(deps)),
        Arc::new(crate::purge::memcached::MemcachedPurgeExecutor::new(deps)),
        Arc::new(crate::events::publish::PublishExecutor::new(deps)),
    ];
    let event = Arc::new(crate::events::EventExecutor::new(deps, tiers.clone()));
    tiers
        .into_iter()
        .chain([event as Arc<dyn Executor>])
        .collect()
}
