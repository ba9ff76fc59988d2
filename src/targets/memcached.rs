//! `kind = "memcached"`: a Memcached server polled with `stats`, and the pool of servers its
//! clients shard keys over (purges go to every one of them).

use std::sync::Arc;

use serde::Deserialize;

use super::rules::KeyRule;
use super::series::{Role, Series, Unit, common, gauge};
use super::{Polling, PurgeRules, RuleAction, TargetConfig, TargetKind};
use crate::checker::fields::{self, Field};
use crate::checker::{Checker, KeyPath};
use crate::domain::TargetName;
use crate::sources::{MemcachedSource, Source};

pub struct Memcached;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// `host:port` of the server polled.
    address: Option<String>,
    /// The servers of the pool (`host:port`), default the one address: clients shard keys
    /// with their own hashing, so purges go to every one.
    addresses: Option<Vec<String>>,
    purge_prefixes: Option<Vec<String>>,
    max_purge_keys: Option<u64>,
}

/// A Memcached target's own configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub address: String,
    pub pool: Vec<String>,
    pub purge: PurgeRules,
}

const SERIES: &[Series] = &[
    common::HIT_RATE,
    common::HITS,
    common::MISSES,
    common::EVICTIONS,
    gauge(
        "curr_items",
        Role::Stored,
        Unit::Count,
        "items",
        "Items stored.",
    ),
    gauge(
        "bytes",
        Role::MemoryUsed,
        Unit::Bytes,
        "stored_bytes",
        "Bytes stored.",
    ),
    gauge(
        "limit_maxbytes",
        Role::MemoryLimit,
        Unit::Bytes,
        "memory_limit_bytes",
        "Memory limit.",
    ),
    common::CURR_CONNECTIONS,
];

impl TargetKind for Memcached {
    fn name(&self) -> &'static str {
        "memcached"
    }

    fn label(&self) -> &'static str {
        "Memcached"
    }

    fn polling(&self) -> Polling {
        Polling::Direct
    }

    fn series(&self) -> &'static [Series] {
        SERIES
    }

    fn fields(&self) -> Vec<Field> {
        fields::of::<Raw>()
    }

    fn parse(
        &self,
        v: &mut Checker,
        path: &KeyPath,
        table: toml::Table,
        foreign: &dyn Fn(&str) -> String,
    ) -> Option<Arc<dyn TargetConfig>> {
        let raw: Raw = fields::read(v, path, table, foreign)?;
        let purge = PurgeRules::check(v, path, raw.purge_prefixes, raw.max_purge_keys);
        let address = v
            .required(path, "address", &raw.address)
            .and_then(|a| v.host_port(path.key("address"), a));
        let pool = match raw.addresses {
            Some(list) if list.is_empty() => {
                v.error(
                    path.key("addresses"),
                    "list the servers of the pool (host:port)",
                );
                None
            }
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, a)| v.host_port(path.key("addresses").index(i), a))
                .collect::<Option<Vec<_>>>(),
            None => address.clone().map(|a| vec![a]),
        };
        Some(Arc::new(Config {
            address: address?,
            pool: pool?,
            purge: purge?,
        }))
    }

    fn example(&self) -> &'static str {
        r#"[[targets]]
name = "fragments"
kind = "memcached"
address = "127.0.0.1:11211"
# addresses = ["10.0.0.1:11211", "10.0.0.2:11211"]   # the pool purges go to (default: address)
purge_prefixes = ["frag:"]
"#
    }

    fn rule_section(&self) -> Option<&'static str> {
        Some("redis")
    }

    fn parse_rule(
        &self,
        v: &mut Checker,
        at: &KeyPath,
        table: toml::Table,
        _config: Option<&dyn TargetConfig>,
        foreign: &dyn Fn(&str) -> String,
    ) -> Option<Arc<dyn RuleAction>> {
        KeyRule::parse(v, at, table, foreign, false)
    }
}

impl TargetConfig for Config {
    fn purge_rules(&self) -> Option<&PurgeRules> {
        Some(&self.purge)
    }

    fn source(&self, target: &TargetName) -> Option<Box<dyn Source>> {
        Some(Box::new(MemcachedSource::new(
            target.as_str(),
            &self.address,
        )))
    }

    fn facts(&self) -> Vec<(&'static str, String)> {
        vec![("servers", self.pool.join(", "))]
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
