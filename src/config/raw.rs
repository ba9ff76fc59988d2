//! The configuration as written: plain serde shapes with every field optional and unknown keys
//! kept, so that validation can report every mistake instead of serde's first one.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Keys that no field claimed; each one is reported as an error.
pub(super) type Unknown = BTreeMap<String, toml::Value>;

#[derive(Debug, Default, Deserialize)]
pub(super) struct Server {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub shutdown_timeout: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Database {
    pub url: Option<String>,
    pub max_connections: Option<u32>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Aws {
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub profile: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Collector {
    pub max_concurrent_polls: Option<u32>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Retention {
    pub raw: Option<String>,
    pub five_minute: Option<String>,
    pub one_hour: Option<String>,
    pub alerts: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Cloudwatch {
    pub lookback: Option<String>,
    pub price_per_1000_metrics: Option<f64>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Invalidation {
    pub coalesce_window: Option<String>,
    pub deadline: Option<String>,
    pub price_per_path: Option<f64>,
    pub free_paths_per_month: Option<u64>,
    pub monthly_budget_usd: Option<f64>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// One struct for every kind: validation says which fields a kind needs and which it ignores,
/// which gives better messages than a serde tagged enum ("kind cloudfront needs
/// distribution_id" rather than "missing field").
#[derive(Debug, Default, Deserialize)]
pub(super) struct Target {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub every: Option<String>,
    pub cron: Option<String>,
    pub timeout: Option<String>,
    pub url: Option<String>,
    pub cluster: Option<bool>,
    pub tls_ca_file: Option<String>,
    pub purge_prefixes: Option<Vec<String>>,
    pub max_purge_keys: Option<u64>,
    pub tag_key: Option<String>,
    pub address: Option<String>,
    pub addresses: Option<Vec<String>>,
    pub cache_cluster_id: Option<String>,
    pub engine: Option<String>,
    pub region: Option<String>,
    pub distribution_id: Option<String>,
    pub cache_tags: Option<bool>,
    pub api_name: Option<String>,
    pub stage: Option<String>,
    pub cluster_id: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Notifier {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub routing_key: Option<String>,
    pub topic_arn: Option<String>,
    pub region: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub starttls: Option<bool>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: Option<String>,
    pub to: Option<Vec<String>>,
    pub tls_ca_file: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Dashboard {
    pub auth_proxy_header: Option<String>,
    pub auth_proxy_groups_header: Option<String>,
    pub trusted_proxies: Option<Vec<String>>,
    pub proxy_roles: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Alerting {
    pub expected_dip_window: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Maintenance {
    pub name: Option<String>,
    pub target: Option<String>,
    pub alarms: Option<Vec<String>>,
    pub cron: Option<String>,
    pub duration: Option<String>,
    pub timezone: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Alarm {
    pub name: Option<String>,
    pub target: Option<String>,
    pub metric: Option<String>,
    pub below: Option<f64>,
    pub above: Option<f64>,
    pub drop: Option<f64>,
    pub baseline: Option<String>,
    pub datapoints: Option<String>,
    pub missing: Option<String>,
    pub min_volume: Option<u64>,
    pub repeat: Option<String>,
    pub severity: Option<String>,
    pub notify: Option<Vec<String>>,
    pub mute_expected: Option<bool>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Rule {
    pub event: Option<String>,
    pub redis: Option<Vec<RedisAction>>,
    pub cloudfront: Option<Vec<CloudfrontAction>>,
    pub broadcast: Option<Broadcast>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RedisAction {
    pub target: Option<String>,
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub patterns: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CloudfrontAction {
    pub target: Option<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Broadcast {
    pub target: Option<String>,
    pub channel: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Stream {
    pub name: Option<String>,
    pub table: Option<String>,
    pub stream_arn: Option<String>,
    pub event: Option<String>,
    pub fields: Option<Vec<String>>,
    pub start: Option<String>,
    pub every: Option<String>,
    pub region: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}
