//! How a Redis purge reaches its keys: the server or every primary of a cluster, one
//! connection for exact keys and tags (routed by slot in a cluster), and deletes grouped by
//! hash slot so that no command spans two slots.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::aio::MultiplexedConnection;

use crate::purge::slot;
use crate::redis_link::{LinkError, RedisLink, parse_cluster_nodes};

/// Connect and answer timeout for purge connections.
pub(super) const TIMEOUT: Duration = Duration::from_secs(5);
/// Keys per command (UNLINK, EXISTS, SSCAN page).
pub(super) const BATCH: usize = 1000;

/// What a target offers a purge.
pub(super) struct Reach {
    pub link: RedisLink,
    pub cluster: bool,
    pub tag_key: String,
}

impl Reach {
    /// The primaries to scan: the server itself (`""`), or every primary of the cluster.
    pub async fn primaries(&self) -> Result<Vec<String>, LinkError> {
        if !self.cluster {
            return Ok(vec![String::new()]);
        }
        let mut c = self.link.connect("", TIMEOUT).await?;
        let text: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query_async(&mut c)
            .await
            .map_err(|e| LinkError(format!("CLUSTER NODES failed: {e}")))?;
        Ok(parse_cluster_nodes(&text)
            .into_iter()
            .filter(|n| n.primary)
            .map(|n| n.address)
            .collect())
    }

    /// One connection for keys of any slot: a key's node is found by asking the seed and
    /// following MOVED, as a cluster client does; exact keys and tags are few, so each group
    /// goes to the node that owns its slot.
    pub async fn key_conn(&self) -> Result<KeyConn, LinkError> {
        if self.cluster {
            let nodes = self.primaries().await?;
            Ok(KeyConn::Cluster(self.link.cluster(&nodes, TIMEOUT).await?))
        } else {
            Ok(KeyConn::Single(self.link.connect("", TIMEOUT).await?))
        }
    }
}

/// Groups keys by hash slot (one group on a standalone server), each group at most BATCH.
pub(super) fn groups(keys: &[String], cluster: bool) -> Vec<Vec<&str>> {
    if !cluster {
        return keys
            .chunks(BATCH)
            .map(|c| c.iter().map(String::as_str).collect())
            .collect();
    }
    let mut by_slot: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for k in keys {
        by_slot.entry(slot::of(k.as_bytes())).or_default().push(k);
    }
    by_slot
        .into_values()
        .flat_map(|g| g.chunks(BATCH).map(<[&str]>::to_vec).collect::<Vec<_>>())
        .collect()
}

/// Deletes (or, in a dry run, counts existing) `keys` on one node, grouped by slot: how many.
pub(super) async fn delete(
    c: &mut MultiplexedConnection,
    keys: &[String],
    cluster: bool,
    dry_run: bool,
) -> redis::RedisResult<u64> {
    if keys.is_empty() {
        return Ok(0);
    }
    let mut pipe = redis::pipe();
    for g in groups(keys, cluster) {
        pipe.cmd(if dry_run { "EXISTS" } else { "UNLINK" }).arg(g);
    }
    let counts: Vec<u64> = pipe.query_async(c).await?;
    Ok(counts.iter().sum())
}

/// Deletes `keys` on one node, the error in words.
pub(super) async fn delete_on(
    c: &mut MultiplexedConnection,
    keys: &[String],
    cluster: bool,
) -> Result<u64, String> {
    delete(c, keys, cluster, false)
        .await
        .map_err(|e| format!("Redis failed: {e}"))
}

/// A connection for exact keys and tags: the server, or the cluster (routed by slot).
pub(super) enum KeyConn {
    Single(MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl KeyConn {
    pub async fn query<T: redis::FromRedisValue>(
        &mut self,
        cmd: &redis::Cmd,
    ) -> redis::RedisResult<T> {
        match self {
            Self::Single(c) => cmd.query_async(c).await,
            Self::Cluster(c) => cmd.query_async(c).await,
        }
    }

    /// UNLINK (or EXISTS) each slot group: one pipeline on a server; one command per slot
    /// group in a cluster, each routed to the node that owns the slot.
    pub async fn delete(
        &mut self,
        keys: &[String],
        cluster: bool,
        dry_run: bool,
    ) -> redis::RedisResult<u64> {
        match self {
            Self::Single(c) => delete(c, keys, cluster, dry_run).await,
            Self::Cluster(c) => {
                let mut total = 0;
                for g in groups(keys, true) {
                    let n: u64 = redis::cmd(if dry_run { "EXISTS" } else { "UNLINK" })
                        .arg(g)
                        .query_async(c)
                        .await?;
                    total += n;
                }
                Ok(total)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_grouped_by_slot_in_a_cluster_only() {
        let keys: Vec<String> = ["{a}1", "{a}2", "{b}1", "c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(groups(&keys, false).len(), 1);
        let g = groups(&keys, true);
        assert_eq!(g.len(), 3);
        assert!(g.iter().any(|g| g == &["{a}1", "{a}2"]));
        let many: Vec<String> = (0..2500).map(|i| format!("{{s}}{i}")).collect();
        assert_eq!(
            groups(&many, true).iter().map(Vec::len).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );
    }
}
