//! Redis and Valkey, polled with INFO; a cluster is discovered with CLUSTER NODES and each
//! node polled, plus the aggregate of all nodes.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::aio::MultiplexedConnection;
use secrecy::SecretString;
use tokio::sync::Mutex;

use super::counters::{Reading, push_hit_rate, push_interval_samples};
use super::text_stats::{number, parse_redis_info, redis_key_count};
use super::{PollError, Polled, Source, poll_error};
use crate::redis_link::{RedisLink, parse_cluster_nodes};
use crate::store::Sample;

/// Counters read from INFO; their deltas become per-interval series.
const COUNTERS: [(&str, &str); 5] = [
    ("keyspace_hits", "hits"),
    ("keyspace_misses", "misses"),
    ("evicted_keys", "evicted_keys"),
    ("expired_keys", "expired_keys"),
    ("total_commands_processed", "commands"),
];
/// Gauges read from INFO as they are.
const GAUGES: [&str; 3] = ["used_memory", "maxmemory", "connected_clients"];

pub struct RedisSource {
    target: String,
    link: RedisLink,
    cluster: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Open connections by node address; dropped on error and reopened at the next poll.
    connections: HashMap<String, MultiplexedConnection>,
    /// The previous reading of each node, for deltas.
    previous: HashMap<String, Reading>,
}

impl RedisSource {
    pub fn new(
        target: &str,
        url: SecretString,
        cluster: bool,
        tls_ca_file: Option<std::path::PathBuf>,
    ) -> Self {
        Self {
            target: target.to_owned(),
            link: RedisLink::new(target, url, tls_ca_file),
            cluster,
            state: Mutex::new(State::default()),
        }
    }

    async fn connection(
        &self,
        state: &mut State,
        node: &str,
    ) -> Result<MultiplexedConnection, PollError> {
        if let Some(c) = state.connections.get(node) {
            return Ok(c.clone());
        }
        let conn = self
            .link
            .connect(node, Duration::from_secs(3))
            .await
            .map_err(|e| PollError(e.0))?;
        state.connections.insert(node.to_owned(), conn.clone());
        Ok(conn)
    }

    /// Runs `cmd` on the node's cached connection; if that connection broke (the server
    /// restarted since the last poll), retries once on a fresh one.
    async fn query<T: redis::FromRedisValue>(
        &self,
        state: &mut State,
        node: &str,
        cmd: &redis::Cmd,
    ) -> Result<T, PollError> {
        let mut last = None;
        for _ in 0..2 {
            let mut conn = self.connection(state, node).await?;
            match cmd.query_async::<T>(&mut conn).await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    state.connections.remove(node);
                    let retry =
                        e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal();
                    last = Some(e);
                    if !retry {
                        break;
                    }
                }
            }
        }
        Err(poll_error(
            "Redis command failed",
            last.map(|e| e.to_string()).unwrap_or_default(),
        ))
    }

    /// The primaries and replicas the cluster reports, as `host:port`.
    async fn discover(&self, state: &mut State) -> Result<Vec<String>, PollError> {
        let text: String = self
            .query(state, "", &redis::cmd("CLUSTER").arg("NODES").to_owned())
            .await?;
        let nodes: Vec<String> = parse_cluster_nodes(&text)
            .into_iter()
            .map(|n| n.address)
            .collect();
        if nodes.is_empty() {
            return Err(PollError("CLUSTER NODES listed no reachable node".into()));
        }
        Ok(nodes)
    }
}

/// What one node's INFO yields: its reading (counters) and its gauges.
struct NodeInfo {
    reading: Reading,
    gauges: Vec<(&'static str, f64)>,
}

fn node_info(text: &str) -> NodeInfo {
    let info = parse_redis_info(text);
    let counters = COUNTERS
        .iter()
        .filter_map(|(field, _)| number(&info, field).map(|v| (*field, v)))
        .collect();
    let mut gauges: Vec<(&'static str, f64)> = GAUGES
        .iter()
        .filter_map(|g| number(&info, g).map(|v| (*g, v as f64)))
        .collect();
    gauges.push(("keys", redis_key_count(&info) as f64));
    let instance = info.get("run_id").cloned().unwrap_or_default();
    NodeInfo {
        reading: Reading { instance, counters },
        gauges,
    }
}

impl Source for RedisSource {
    fn targets(&self) -> Vec<String> {
        vec![self.target.clone()]
    }

    fn poll(&self, now: i64) -> BoxFuture<'_, Result<Polled, PollError>> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            let nodes = if self.cluster {
                self.discover(&mut state).await?
            } else {
                vec![String::new()]
            };
            let mut samples = Vec::new();
            let mut totals: HashMap<&'static str, u64> = HashMap::new();
            let mut gauge_totals: HashMap<&'static str, f64> = HashMap::new();
            let mut complete = true;
            for node in &nodes {
                let text: String = match self.query(&mut state, node, &redis::cmd("INFO")).await {
                    Ok(t) => t,
                    // One unreachable node does not hide the others; the aggregate is then
                    // partial and is not recorded.
                    Err(e) if self.cluster => {
                        tracing::warn!(target_name = %self.target, node = %node, error = %e, "A cluster node did not answer.");
                        complete = false;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let info = node_info(&text);
                let deltas = push_interval_samples(
                    (&self.target, node, now),
                    state.previous.get(node),
                    &info.reading,
                    &COUNTERS,
                    &mut samples,
                );
                for (series, d) in deltas {
                    *totals.entry(series).or_default() += d;
                }
                for (name, v) in &info.gauges {
                    samples.push(Sample::new(&self.target, node, name, now, *v));
                    *gauge_totals.entry(name).or_default() += v;
                }
                state.previous.insert(node.clone(), info.reading);
            }
            if self.cluster && complete {
                for (series, total) in &totals {
                    samples.push(Sample::new(&self.target, "", series, now, *total as f64));
                }
                push_hit_rate((&self.target, "", now), &totals, &mut samples);
                for (name, v) in gauge_totals {
                    samples.push(Sample::new(&self.target, "", name, now, v));
                }
                samples.push(Sample::new(
                    &self.target,
                    "",
                    "nodes",
                    now,
                    nodes.len() as f64,
                ));
            }
            if self.cluster && samples.is_empty() {
                return Err(PollError("no cluster node answered".into()));
            }
            Ok(Polled {
                samples,
                notices: Vec::new(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    /// What this source records is what the kind says it records (alarms are checked
    /// against that list).
    #[test]
    fn recorded_series_are_the_kinds_series() {
        use crate::targets::TargetKind;
        let series: Vec<&str> = std::iter::once("up")
            .chain(crate::targets::redis::Redis.series().iter().map(|s| s.name))
            .collect();
        let recorded = super::COUNTERS
            .iter()
            .map(|(_, s)| *s)
            .chain(super::GAUGES)
            .chain(["keys", "nodes", "hit_rate", "up"]);
        for s in recorded {
            assert!(series.contains(&s), "{s}");
        }
    }
}
