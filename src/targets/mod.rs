//! Target kinds. A kind is one module: its configuration (a struct that denies unknown keys,
//! checked with the same precision as every other section), its secrets, the series it
//! records ([`Series`]: name, meaning, unit, Prometheus name), how it is polled (a direct
//! source, or the CloudWatch metrics it asks for and how their answers combine), and where
//! (its region). [`KINDS`] lists them; configuration, polling, `/metrics`, the API, the
//! dashboard and the example configuration all read the kinds from there.
//!
//! Architecture invariant: nothing outside a kind's module names one of its fields or series;
//! code that needs a kind's own configuration asks for it by type ([`TargetSettings::config`]).

pub mod apigateway;
pub mod cloudfront;
pub mod dax;
pub mod discover;
pub mod elasticache;
pub mod labels;
pub mod memcached;
pub mod redis;
pub mod rules;
pub mod series;

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use discover::{Discovery, Found};
pub use labels::{Labels, Selector};
pub use rules::{Rendered, RuleAction};
pub use series::{Role, Series, Unit};

use crate::checker::fields::Field;
use crate::checker::{Checker, KeyPath};
use crate::domain::{Schedule, TargetName};
use crate::sources::Source;
use crate::sources::cloudwatch::CloudWatchQueries;

/// Every target kind, in the order a request meets the tiers: edge, API, data caches, caches
/// run by the team. A new kind is a module above and one line here.
pub static KINDS: &[&dyn TargetKind] = &[
    &cloudfront::CloudFront,
    &apigateway::ApiGateway,
    &elasticache::ElastiCache,
    &dax::Dax,
    &redis::Redis,
    &memcached::Memcached,
];

/// Whether `series` is a ratio (0.0-1.0) in the kinds that record it.
pub fn is_ratio_series(series: &str) -> bool {
    KINDS
        .iter()
        .filter_map(|k| Kind(*k).series_named(series))
        .any(|s| s.unit == Unit::Ratio)
}

/// How a kind's numbers are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polling {
    /// From the server itself, at the poll's time (every 15 s by default).
    Direct,
    /// From CloudWatch: a minute late and revisable, billed per metric (every 60 s).
    CloudWatch,
}

impl Polling {
    /// The schedule and poll timeout a target gets when it names none.
    pub fn defaults(self) -> (Duration, Duration) {
        match self {
            Polling::Direct => (Duration::from_secs(15), Duration::from_secs(5)),
            Polling::CloudWatch => (Duration::from_secs(60), Duration::from_secs(20)),
        }
    }
}

/// A kind of cache tier.
pub trait TargetKind: Send + Sync + 'static {
    /// As written in `kind = "…"` and shown by the API.
    fn name(&self) -> &'static str;

    /// The name people know the service by.
    fn label(&self) -> &'static str;

    fn polling(&self) -> Polling;

    /// What a target of this kind records, besides `up`.
    fn series(&self) -> &'static [Series];

    /// The keys of its own configuration (beside name, kind, every, cron and timeout).
    fn fields(&self) -> Vec<Field>;

    /// Checks a target's own keys, reporting every mistake through `v`. `foreign` says what
    /// to say of a key this kind does not have.
    fn parse(
        &self,
        v: &mut Checker,
        path: &KeyPath,
        table: toml::Table,
        foreign: &dyn Fn(&str) -> String,
    ) -> Option<Arc<dyn TargetConfig>>;

    /// A commented example of a target of this kind, for `print-default-config`.
    fn example(&self) -> &'static str;

    /// How targets of this kind are found by `[[discover]]`; `None`: they are written by hand.
    fn discovery(&self) -> Option<&dyn Discovery> {
        None
    }

    /// The `[[rules]]` section whose entries act on targets of this kind, when event rules
    /// can change them (kinds may share one: `redis` serves Redis and Memcached).
    fn rule_section(&self) -> Option<&'static str> {
        None
    }

    /// Checks one entry of its rule section (`target` already taken out), reporting every
    /// mistake through `v`; `config` is the target's own configuration when that is valid.
    fn parse_rule(
        &self,
        _v: &mut Checker,
        _at: &KeyPath,
        _table: toml::Table,
        _config: Option<&dyn TargetConfig>,
        _foreign: &dyn Fn(&str) -> String,
    ) -> Option<Arc<dyn RuleAction>> {
        None
    }
}

impl fmt::Debug for dyn TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A kind, as settings and views hold it: compared and printed by name.
#[derive(Clone, Copy)]
pub struct Kind(pub &'static dyn TargetKind);

impl Kind {
    /// The kind named `name`.
    pub fn named(name: &str) -> Option<Kind> {
        KINDS.iter().find(|k| k.name() == name).map(|k| Kind(*k))
    }

    /// Where it stands among the tiers (the order of [`KINDS`]).
    pub fn tier(self) -> usize {
        KINDS
            .iter()
            .position(|k| k.name() == self.0.name())
            .unwrap_or(usize::MAX)
    }

    /// The row of `series`, `up` included.
    pub fn series_named(self, series: &str) -> Option<&'static Series> {
        std::iter::once(&series::UP)
            .chain(self.0.series())
            .find(|s| s.name == series)
    }

    /// The first series with `role` (the hit ratio people watch first, say).
    pub fn series_with(self, role: Role) -> Option<&'static Series> {
        self.0.series().iter().find(|s| s.role == role)
    }
}

impl std::ops::Deref for Kind {
    type Target = dyn TargetKind;
    fn deref(&self) -> &Self::Target {
        self.0
    }
}

impl PartialEq for Kind {
    fn eq(&self, other: &Self) -> bool {
        self.0.name() == other.0.name()
    }
}

impl Eq for Kind {}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

/// In the API document: one of the registered kinds' names.
impl utoipa::PartialSchema for Kind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(KINDS.iter().map(|k| k.name())))
            .description(Some("A target kind"))
            .into()
    }
}

impl utoipa::ToSchema for Kind {
    fn name() -> std::borrow::Cow<'static, str> {
        "TargetKind".into()
    }
}

/// A target's own configuration, as its kind checked it.
pub trait TargetConfig: fmt::Debug + Send + Sync + Any {
    /// The secrets it holds (a password in a URL), so that a reload sees them change; `Debug`
    /// shows each redacted.
    fn secrets(&self) -> Vec<&str> {
        Vec::new()
    }

    /// The AWS region its numbers are read in; `None` for kinds polled directly. `default`
    /// is `[aws] region`.
    fn region(&self, _default: Option<&str>) -> Option<String> {
        None
    }

    /// The source that polls it directly (Redis, Memcached).
    fn source(&self, _target: &TargetName) -> Option<Box<dyn Source>> {
        None
    }

    /// What it asks CloudWatch for, and how the answers become samples.
    fn cloudwatch(&self) -> Option<Arc<dyn CloudWatchQueries>> {
        None
    }

    /// What identifies it where it lives, for people (`distribution E2QWRUHEXAMPLE`).
    fn facts(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Its purge guard rails, for a kind whose keys can be purged.
    fn purge_rules(&self) -> Option<&PurgeRules> {
        None
    }

    fn as_any(&self) -> &dyn Any;
}

/// `[[targets]]`: one watched cache.
#[derive(Debug, Clone)]
pub struct TargetSettings {
    /// Unique name.
    pub name: TargetName,
    pub kind: Kind,
    /// When to poll. Default 15 s for direct sources, 60 s for CloudWatch ones.
    pub schedule: Schedule,
    /// How long one poll may take before it counts as failed. Default 5 s, 20 s for
    /// CloudWatch.
    pub timeout: Duration,
    /// The kind's own configuration.
    pub config: Arc<dyn TargetConfig>,
    /// The AWS account to act in (`role_arn`); `None`: the default credential chain.
    pub account: Option<crate::domain::Account>,
    /// Its group, tags, and where it was found.
    pub labels: Labels,
}

impl dyn TargetConfig {
    /// This configuration, when it is a `T` (a kind asking for its own).
    pub fn downcast<T: 'static>(&self) -> Option<&T> {
        self.as_any().downcast_ref::<T>()
    }
}

impl TargetSettings {
    /// Its own configuration, when its kind's configuration is a `T`.
    pub fn config<T: 'static>(&self) -> Option<&T> {
        self.config.downcast::<T>()
    }

    /// Roughly how often it is polled, in milliseconds.
    pub fn schedule_hint_ms(&self) -> i64 {
        self.schedule.hint_ms()
    }

    /// Whether its numbers come from CloudWatch.
    pub fn is_cloudwatch(&self) -> bool {
        self.kind.polling() == Polling::CloudWatch
    }

    /// The region CloudWatch is read in for it.
    pub fn region(&self, default: Option<&str>) -> Option<String> {
        self.config.region(default)
    }
}

/// Guard rails of the kinds whose keys can be purged: which prefixes a pattern may reach
/// without confirmation, and how many keys it may match.
#[derive(Debug, Clone, PartialEq)]
pub struct PurgeRules {
    pub prefixes: Vec<String>,
    /// A pattern purge matching more keys than this needs confirmation. Default 100,000.
    pub max_keys: u64,
}

impl PurgeRules {
    /// Checks `purge_prefixes` and `max_purge_keys` as written.
    pub fn check(
        v: &mut Checker,
        path: &KeyPath,
        prefixes: Option<Vec<String>>,
        max_keys: Option<u64>,
    ) -> Option<PurgeRules> {
        let prefixes = prefixes.unwrap_or_default();
        let mut ok = true;
        if prefixes.iter().any(String::is_empty) {
            v.error(
                path.key("purge_prefixes"),
                "an empty prefix would allow every key; list real prefixes",
            );
            ok = false;
        }
        let max_keys = max_keys.unwrap_or(100_000);
        if max_keys == 0 {
            v.error(path.key("max_purge_keys"), "must be at least 1");
            ok = false;
        }
        ok.then_some(PurgeRules { prefixes, max_keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every series of every kind has a conventional Prometheus name: a counter ends in
    /// `_total`, a gauge does not, no name keeps a non-base unit or the ambiguous `_rate`, and
    /// a name shared by kinds means the same everywhere.
    #[test]
    fn every_series_follows_the_conventions() {
        let mut seen: std::collections::HashMap<&str, &Series> = Default::default();
        for kind in KINDS {
            assert!(
                kind.series().iter().all(|s| s.name != "up"),
                "{}: up is every kind's",
                kind.name()
            );
            for s in kind.series().iter().chain([&series::UP]) {
                assert_eq!(s.counter, s.prom.ends_with("_total"), "{}", s.name);
                for bad in ["_ms", "_rate", "curr_", "maxbytes"] {
                    assert!(!s.prom.contains(bad), "{}: {}", s.name, s.prom);
                }
                if let Some(other) = seen.insert(s.name, s) {
                    assert_eq!(other, s, "{} means one thing in every kind", s.name);
                }
            }
        }
    }

    #[test]
    fn kinds_have_unique_names_and_labels() {
        let mut names: Vec<&str> = KINDS.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KINDS.len());
        assert_eq!(Kind::named("redis").map(|k| k.label()), Some("Redis"));
        assert!(Kind::named("nonsense").is_none());
    }
}
