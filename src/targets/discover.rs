//! How a target kind is found in an AWS account and region, for `[[discover]]`. A kind that
//! can be discovered returns a [`Discovery`] from `TargetKind::discovery`; the discovery
//! service (`crate::discovery`) asks it once per account and region, filters, names and
//! keeps what it found. What a kind finds is a [`Found`]: the keys a `[[targets]]` entry of
//! that kind would have, so a discovered target is checked by the same code as a written one.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// One resource a kind found: one target to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// Unique among the kind's resources in one account and region; the `{id}` of a name.
    pub id: String,
    /// What `names` globs are matched against (besides the id): a replication group's id,
    /// a cluster's name, an API's name.
    pub name: String,
    /// The kind's own keys, as a `[[targets]]` entry would write them.
    pub keys: toml::Table,
    /// The group it belongs to (a replication group's id, shared by its nodes).
    pub group: Option<String>,
    /// The resource's AWS tags.
    pub tags: BTreeMap<String, String>,
}

/// Why a discovery call failed, in one sentence naming the AWS action.
pub type DiscoveryError = String;

/// What [`Discovery::find`] returns: every resource found, or why not.
pub type Finding<'a> = BoxFuture<'a, Result<Vec<Found>, DiscoveryError>>;

/// How one kind is found.
pub trait Discovery: Send + Sync {
    /// The one region it is listed in, when it is global (CloudFront: us-east-1); `None`:
    /// every region the discovery names.
    fn only_region(&self) -> Option<&'static str> {
        None
    }

    /// The keys it fills in; `[discover.targets]` may not set them.
    fn fills(&self) -> &'static [&'static str];

    /// Keys standing in for what discovery fills, so `check-config` can check the rest of a
    /// discovered target's keys before anything is found.
    fn placeholder(&self) -> toml::Table;

    /// Every resource of the kind in the account and region `sdk` is configured for, through
    /// every page. `region` is that region (a regional kind writes it into its keys).
    fn find<'a>(&'a self, sdk: &'a SdkConfig, region: &'a str) -> Finding<'a>;
}

/// A table of string keys, for kinds building their [`Found::keys`].
pub fn keys<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> toml::Table {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), toml::Value::String(v)))
        .collect()
}

/// Tags as AWS lists them (key, value pairs), as a map; a tag without a key is dropped.
pub fn tag_map<'a>(
    pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .filter_map(|(k, v)| Some((k?.to_owned(), v.unwrap_or_default().to_owned())))
        .collect()
}
