//! `kind = "redis"`: a Redis or Valkey server (or cluster, or an ElastiCache node endpoint),
//! polled directly with INFO; its keys can be purged and it carries broadcasts.

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::rules::KeyRule;
use super::series::{Role, Series, Unit, common, counter, gauge};
use super::{Polling, PurgeRules, RuleAction, TargetConfig, TargetKind};
use crate::checker::fields::{self, Field};
use crate::checker::{Checker, KeyPath};
use crate::domain::TargetName;
use crate::redis_link::RedisLink;
use crate::sources::{RedisSource, Source};

pub struct Redis;

/// The keys as written.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// `redis://` or `rediss://`, with `user:password@` for AUTH and `/N` for a database.
    url: Option<String>,
    /// Discover the nodes with CLUSTER NODES; record each and the whole.
    cluster: Option<bool>,
    /// With `rediss://`: a PEM file of the CA to trust instead of the system's roots.
    tls_ca_file: Option<String>,
    /// Prefixes a pattern purge may reach without confirmation.
    purge_prefixes: Option<Vec<String>>,
    /// A pattern purge matching more keys needs confirmation (default 100,000).
    max_purge_keys: Option<u64>,
    /// The key of the set listing a tag's members; `{tag}` is the tag. Default `tag:{tag}`.
    tag_key: Option<String>,
}

/// A Redis target's own configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// May carry a password, hence secret.
    pub url: SecretString,
    pub cluster: bool,
    pub tls_ca_file: Option<PathBuf>,
    /// The set that lists a tag's keys, with `{tag}` for the tag.
    pub tag_key: String,
    pub purge: PurgeRules,
}

impl Config {
    /// How purges and broadcasts reach it.
    pub fn link(&self, target: &str) -> RedisLink {
        RedisLink::new(target, self.url.clone(), self.tls_ca_file.clone())
    }
}

const SERIES: &[Series] = &[
    common::HIT_RATE,
    common::HITS,
    common::MISSES,
    counter(
        "evicted_keys",
        Role::Evictions,
        Unit::Count,
        "evictions_total",
        "Keys or items evicted.",
    ),
    counter(
        "expired_keys",
        Role::Other,
        Unit::Count,
        "expired_keys_total",
        "Keys expired.",
    ),
    gauge(
        "used_memory",
        Role::MemoryUsed,
        Unit::Bytes,
        "used_memory_bytes",
        "Memory used.",
    ),
    gauge(
        "maxmemory",
        Role::MemoryLimit,
        Unit::Bytes,
        "max_memory_bytes",
        "Configured memory limit (0: none).",
    ),
    gauge(
        "connected_clients",
        Role::Connections,
        Unit::Count,
        "connections",
        "Open client connections.",
    ),
    gauge("keys", Role::Stored, Unit::Count, "keys", "Keys stored."),
    counter(
        "commands",
        Role::Commands,
        Unit::Count,
        "commands_total",
        "Commands processed.",
    ),
    gauge(
        "nodes",
        Role::Other,
        Unit::Count,
        "nodes",
        "Nodes of the cluster that answered.",
    ),
];

impl TargetKind for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn label(&self) -> &'static str {
        "Redis"
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
        let tag_key = raw.tag_key.unwrap_or_else(|| "tag:{tag}".into());
        let tag_key = (tag_key.matches("{tag}").count() == 1)
            .then_some(tag_key)
            .or_else(|| {
                v.error(
                    path.key("tag_key"),
                    "must contain {tag} once, e.g. \"tag:{tag}\"",
                );
                None
            });
        let url = v.required(path, "url", &raw.url)?.clone();
        let parsed = v.url(path.key("url"), &url, &["redis", "rediss"])?;
        // The path selects the database: empty, or a number (`redis://host/2`).
        let db = parsed.path().trim_start_matches('/');
        if !db.is_empty() && db.parse::<u16>().is_err() {
            v.error(
                path.key("url"),
                format!("the database {db:?} in the URL's path is not a number like /0"),
            );
            return None;
        }
        let tls_ca_file = match &raw.tls_ca_file {
            None => None,
            Some(_) if parsed.scheme() != "rediss" => {
                v.error(
                    path.key("tls_ca_file"),
                    "applies only to a rediss:// (TLS) URL",
                );
                return None;
            }
            Some(file) => Some(v.file(path.key("tls_ca_file"), file)?),
        };
        Some(Arc::new(Config {
            url: SecretString::from(url),
            cluster: raw.cluster.unwrap_or(false),
            tls_ca_file,
            tag_key: tag_key?,
            purge: purge?,
        }))
    }

    fn example(&self) -> &'static str {
        r#"# A Redis or Valkey server (or an ElastiCache node endpoint), polled directly.
[[targets]]
name = "sessions"
kind = "redis"
url = "redis://127.0.0.1:6379"        # rediss:// for TLS; redis://user:password@host for AUTH
every = "15s"                         # or cron = "*/15 * * * * *" (six fields, with seconds)
timeout = "5s"
# cluster = true                      # discover the nodes; record each and the whole
purge_prefixes = ["session:", "product:"]  # what pattern purges may touch without confirmation
max_purge_keys = 100000               # a pattern purge matching more needs "confirm": "sessions"
tag_key = "tag:{tag}"                 # the set listing a tag's keys (the tagging libraries' convention)
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
        KeyRule::parse(v, at, table, foreign, true)
    }
}

impl TargetConfig for Config {
    fn purge_rules(&self) -> Option<&PurgeRules> {
        Some(&self.purge)
    }

    fn secrets(&self) -> Vec<&str> {
        vec![self.url.expose_secret()]
    }

    fn source(&self, target: &TargetName) -> Option<Box<dyn Source>> {
        Some(Box::new(RedisSource::new(
            target.as_str(),
            self.url.clone(),
            self.cluster,
            self.tls_ca_file.clone(),
        )))
    }

    fn facts(&self) -> Vec<(&'static str, String)> {
        let mut facts = vec![("server", crate::store::redact(self.url.expose_secret()))];
        if self.cluster {
            facts.push(("cluster", "yes".into()));
        }
        facts
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
