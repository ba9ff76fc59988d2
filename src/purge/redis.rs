//! The `redis_purge` job kind: exact keys (UNLINK in pipelined batches), tags (the members of
//! the tag's set, then the set), and patterns (SCAN … MATCH … COUNT on every primary, each
//! page's matches unlinked in the same pipeline as the next SCAN; never KEYS, never a
//! blocking script). A step works for about half a second, then stores its progress (per-node
//! cursors and counts), so memory stays bounded whatever the key count, a cancel is seen
//! within a second, and a restarted daemon resumes from the stored cursors. Deleting is
//! idempotent, so repeating a page (SCAN may return a key twice; a step may be repeated
//! after a crash) is safe, and only keys that match are ever deleted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Counts, PurgeRequest, Tally, check_request, glob, guard_patterns, pace, slot};
use crate::config::{Settings, TargetSettings};
use crate::domain::{Scope, TargetName};
use crate::jobs::{Accepted, Action, Ctx, Deps, JobKind, Outcome};
use crate::redis_link::{LinkError, RedisLink, parse_cluster_nodes};
use crate::service_error::ServiceError;
use crate::store::StoreError;
use crate::targets::Purgeable;
use crate::targets::redis::Config as RedisTarget;

/// The stored kind name.
pub const KIND: &str = <RedisPurge as JobKind>::NAME;

/// How long one step works before it stores its progress.
const STEP_BUDGET: Duration = Duration::from_millis(500);
/// Keys per UNLINK (and per EXISTS in a dry run).
const BATCH: usize = 1000;
/// SCAN's COUNT hint at full speed: large pages, few round trips.
const SCAN_COUNT: u64 = 2000;
/// Pages per second under a rate limit: small pages, evenly spaced, so that no single
/// command holds the server long enough to show in other clients' latency.
const PAGES_PER_SECOND: u64 = 1000;
/// How long a request may spend counting a pattern against `max_purge_keys`.
const COUNT_BUDGET: Duration = Duration::from_secs(10);
/// Connect and answer timeout for purge connections.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a job may take before it fails.
const DEADLINE_MS: i64 = 24 * 3600 * 1000;

/// Where a purge is, stored after every step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = RedisPurgeProgress)]
pub struct Progress {
    phase: Phase,
    /// Exact keys handled so far.
    key_index: usize,
    /// The tag being purged, and its SSCAN cursor.
    tag_index: usize,
    tag_cursor: u64,
    /// Pattern scans by node (`""` for a standalone server).
    nodes: BTreeMap<String, NodeProgress>,
    scanned: u64,
    #[serde(flatten)]
    found: Tally,
    started_at: i64,
    /// Pacing for a rate limit: the time (ms) and deletion count it counts from. Kept across
    /// steps, so a new step does not start with a burst.
    pace_from: Option<(i64, u64)>,
    /// Keys per second so far.
    rate: f64,
    /// Seconds left, estimated from how much of the keyspace was scanned.
    eta_seconds: Option<f64>,
}

/// What a purge works on: exact keys, then tags, then patterns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Keys,
    Tags,
    Patterns,
}

/// Where the pattern scan of one node is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodeProgress {
    cursor: u64,
    /// Keys on the node when its scan began (DBSIZE), for the ETA.
    keys: u64,
    scanned: u64,
    matched: u64,
    deleted: u64,
    done: bool,
}

/// What a target offers a purge.
struct Reach {
    link: RedisLink,
    cluster: bool,
    tag_key: String,
}

/// What a Redis purge did.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = RedisPurgeResult)]
pub struct Done {
    pub dry_run: bool,
    /// In a dry run: what a purge of the same request would need confirming, so people see
    /// it before they try.
    pub confirmation_needed: Option<String>,
    pub matched: u64,
    pub deleted: u64,
    /// In a dry run, up to 20 of the keys it would delete.
    pub sample: Option<Vec<String>>,
    /// By node (`server` for a standalone server).
    pub nodes: BTreeMap<String, Counts>,
    pub seconds: f64,
    /// In a dry run: about how long the purge would take (at its rate limit; without one,
    /// about as long as the dry run scanned).
    pub estimated_seconds: Option<f64>,
}

pub struct RedisPurge {
    settings: Arc<Settings>,
}

/// Groups keys by hash slot (one group on a standalone server), each group at most BATCH.
fn groups(keys: &[String], cluster: bool) -> Vec<Vec<&str>> {
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

fn failed(what: &str, e: impl std::fmt::Display, p: &Progress) -> Outcome<Done> {
    Outcome::Failed(format!(
        "{what}: {e}; {} keys had been deleted",
        p.found.deleted
    ))
}

impl RedisPurge {
    fn reach(&self, t: &TargetSettings) -> Option<Reach> {
        t.config::<RedisTarget>().map(|r| Reach {
            link: r.link(t.name.as_str()),
            cluster: r.cluster,
            tag_key: r.tag_key.clone(),
        })
    }

    /// Why a purge of `r` on `target` would need confirming, having matched `matched` keys.
    fn rails(&self, target: &str, r: &PurgeRequest, matched: u64) -> Option<String> {
        let rules = self
            .settings
            .targets
            .iter()
            .find(|t| t.name.as_str() == target)?
            .config::<RedisTarget>()?
            .purge_rules();
        super::beyond_rails(&r.patterns, &rules.prefixes).or_else(|| {
            (!r.patterns.is_empty() && matched > rules.max_keys).then(|| {
                format!(
                    "the patterns match {matched} keys, more than the target's max_purge_keys ({})",
                    rules.max_keys
                )
            })
        })
    }

    /// The primaries to scan: the server itself, or every primary of the cluster.
    async fn primaries(reach: &Reach) -> Result<Vec<String>, LinkError> {
        if !reach.cluster {
            return Ok(vec![String::new()]);
        }
        let mut c = reach.link.connect("", TIMEOUT).await?;
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

    /// Counts what `patterns` match, stopping past `limit` or at the budget.
    async fn count_matches(
        reach: &Reach,
        patterns: &[String],
        limit: u64,
    ) -> Result<Option<u64>, LinkError> {
        let started = Instant::now();
        let m = glob::shared_match(patterns);
        let mut total = 0;
        for node in Self::primaries(reach).await? {
            let mut c = reach.link.connect(&node, TIMEOUT).await?;
            let mut cursor = 0u64;
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&m)
                    .arg("COUNT")
                    .arg(SCAN_COUNT)
                    .query_async(&mut c)
                    .await
                    .map_err(|e| LinkError(format!("SCAN failed: {e}")))?;
                total += keys
                    .iter()
                    .filter(|k| {
                        patterns
                            .iter()
                            .any(|p| glob::matches(p.as_bytes(), k.as_bytes()))
                    })
                    .count() as u64;
                if total > limit {
                    return Ok(Some(total));
                }
                if started.elapsed() > COUNT_BUDGET {
                    return Ok(None);
                }
                cursor = next;
                if cursor == 0 {
                    break;
                }
            }
        }
        Ok(Some(total))
    }

    async fn check(
        &self,
        target: &TargetName,
        r: PurgeRequest,
    ) -> Result<Accepted<PurgeRequest>, ServiceError> {
        let t = self.settings.target(target).ok_or_else(|| {
            ServiceError::invalid(
                "target",
                format!("{:?} is not a configured target", target.as_str()),
            )
        })?;
        let reach = self.reach(t).ok_or_else(|| {
            ServiceError::invalid(
                "target",
                format!(
                    "{:?} is a {} target; purges go to redis and memcached targets",
                    target.as_str(),
                    t.kind
                ),
            )
        })?;
        check_request(&r, target.as_str())?;
        if r.flush_all {
            return Err(ServiceError::invalid(
                "flush_all",
                "is for Memcached targets; on Redis, purge a pattern (with confirm for \"*\")",
            ));
        }
        let confirmed = r.confirmed(target.as_str());
        let rules = t
            .config::<RedisTarget>()
            .map(|c| c.purge_rules().clone())
            .unwrap_or(crate::targets::PurgeRules {
                prefixes: Vec::new(),
                max_keys: 0,
            });
        guard_patterns(&r, target.as_str(), &rules.prefixes)?;
        if !r.patterns.is_empty() && !confirmed && !r.dry_run {
            let counted = Self::count_matches(&reach, &r.patterns, rules.max_keys)
                .await
                .map_err(|e| {
                    ServiceError::refused(
                        "target_unavailable",
                        format!("could not count what the patterns match: {e}"),
                    )
                })?;
            let too_many = match counted {
                Some(n) if n > rules.max_keys => Some(format!(
                    "match more than {} keys (max_purge_keys)",
                    rules.max_keys
                )),
                None => Some(format!(
                    "could not be counted within {}s",
                    COUNT_BUDGET.as_secs()
                )),
                Some(_) => None,
            };
            if let Some(why) = too_many {
                return Err(ServiceError::needs_confirmation(format!(
                    "the patterns {why}; a dry run shows what they match"
                )));
            }
        }
        let now = crate::store::now_ms();
        Ok(Accepted {
            canonical: json!(&r),
            dry_run: r.dry_run,
            request: r,
            deadline_at: now + DEADLINE_MS,
            run_after: now,
        })
    }

    /// Deletes (or, in a dry run, counts existing) `keys`, grouped by slot: how many.
    async fn delete(
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

    /// One connection per cluster node for keys of any slot: a key's node is found by asking
    /// the seed and following MOVED is what a cluster client does; exact keys and tags are
    /// few, so each group goes to the node that owns its slot via CLUSTER's redirection.
    async fn conn_for(reach: &Reach) -> Result<KeyConn, LinkError> {
        if reach.cluster {
            let nodes = Self::primaries(reach).await?;
            Ok(KeyConn::Cluster(reach.link.cluster(&nodes, TIMEOUT).await?))
        } else {
            Ok(KeyConn::Single(reach.link.connect("", TIMEOUT).await?))
        }
    }

    async fn keys_phase(
        &self,
        reach: &Reach,
        r: &PurgeRequest,
        p: &mut Progress,
        until: Instant,
    ) -> Result<bool, String> {
        let mut c = Self::conn_for(reach).await.map_err(|e| e.0)?;
        while p.key_index < r.keys.len() {
            let end = (p.key_index + BATCH).min(r.keys.len());
            let batch = &r.keys[p.key_index..end];
            let n = c
                .delete(batch, reach.cluster, r.dry_run)
                .await
                .map_err(|e| format!("Redis failed: {e}"))?;
            p.found.found(batch, n, r.dry_run);
            p.key_index = end;
            pace(r.rate_limit, &mut p.pace_from, p.found.deleted).await;
            if Instant::now() > until {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn tags_phase(
        &self,
        reach: &Reach,
        r: &PurgeRequest,
        p: &mut Progress,
        until: Instant,
    ) -> Result<bool, String> {
        let mut c = Self::conn_for(reach).await.map_err(|e| e.0)?;
        while p.tag_index < r.tags.len() {
            let set = reach.tag_key.replace("{tag}", &r.tags[p.tag_index]);
            let (next, members): (u64, Vec<String>) = c
                .query(
                    redis::cmd("SSCAN")
                        .arg(&set)
                        .arg(p.tag_cursor)
                        .arg("COUNT")
                        .arg(BATCH),
                )
                .await
                .map_err(|e| format!("Redis failed: {e}"))?;
            let n = c
                .delete(&members, reach.cluster, r.dry_run)
                .await
                .map_err(|e| format!("Redis failed: {e}"))?;
            p.found.found(&members, n, r.dry_run);
            p.tag_cursor = next;
            if next == 0 {
                // The members are gone; now the set that listed them.
                if !r.dry_run {
                    c.delete(std::slice::from_ref(&set), reach.cluster, false)
                        .await
                        .map_err(|e| format!("Redis failed: {e}"))?;
                }
                p.tag_index += 1;
            }
            pace(r.rate_limit, &mut p.pace_from, p.found.deleted).await;
            if Instant::now() > until {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Scans each primary from its stored cursor: each page's matches are deleted in the
    /// pipeline that asks for the next page; a cursor is stored only once the matches of the
    /// pages before it are deleted.
    async fn patterns_phase(
        &self,
        reach: &Reach,
        r: &PurgeRequest,
        p: &mut Progress,
        until: Instant,
    ) -> Result<bool, String> {
        if p.nodes.is_empty() {
            for node in Self::primaries(reach).await.map_err(|e| e.0)? {
                let mut c = reach.link.connect(&node, TIMEOUT).await.map_err(|e| e.0)?;
                let keys: u64 = redis::cmd("DBSIZE")
                    .query_async(&mut c)
                    .await
                    .map_err(|e| format!("Redis failed: {e}"))?;
                p.nodes.insert(
                    node,
                    NodeProgress {
                        keys,
                        ..NodeProgress::default()
                    },
                );
            }
        }
        let m = glob::shared_match(&r.patterns);
        let count = r
            .rate_limit
            .map_or(SCAN_COUNT, |rate| (rate / PAGES_PER_SECOND).clamp(10, 1000));
        let nodes: Vec<String> = p
            .nodes
            .iter()
            .filter(|(_, n)| !n.done)
            .map(|(k, _)| k.clone())
            .collect();
        for node in nodes {
            let mut c = reach.link.connect(&node, TIMEOUT).await.map_err(|e| e.0)?;
            let mut pending: Vec<String> = Vec::new();
            let mut cursor = p.nodes[&node].cursor;
            loop {
                let mut pipe = redis::pipe();
                let groups = if r.dry_run {
                    Vec::new()
                } else {
                    groups(&pending, reach.cluster)
                };
                for g in &groups {
                    pipe.cmd("UNLINK").arg(g);
                }
                pipe.cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&m)
                    .arg("COUNT")
                    .arg(count);
                let mut answers: Vec<redis::Value> =
                    pipe.query_async(&mut c).await.map_err(|e| {
                        format!(
                            "Redis at {} failed: {e}",
                            if node.is_empty() { "the target" } else { &node }
                        )
                    })?;
                let page = answers.pop().ok_or("SCAN gave no answer")?;
                let deleted: u64 = answers
                    .iter()
                    .map(|v| redis::from_redis_value_ref::<u64>(v).unwrap_or(0))
                    .sum();
                let (next, keys): (u64, Vec<String>) =
                    redis::from_redis_value(page).map_err(|e| format!("SCAN answer: {e}"))?;
                let n = p.nodes.get_mut(&node).ok_or("node progress lost")?;
                // The pending keys are deleted: the cursor that came after them may be stored.
                n.deleted += deleted;
                p.found.deleted += deleted;
                n.cursor = cursor;
                pending = keys
                    .into_iter()
                    .filter(|k| {
                        r.patterns
                            .iter()
                            .any(|pt| glob::matches(pt.as_bytes(), k.as_bytes()))
                    })
                    .collect();
                // SCAN does not say how many keys a page covered; COUNT is its hint, so this
                // is an estimate (capped at the node's size), good for the ETA.
                let covered = count.min(n.keys.saturating_sub(n.scanned));
                n.scanned += covered;
                p.scanned += covered;
                n.matched += pending.len() as u64;
                if r.dry_run {
                    p.found.found(&pending, pending.len() as u64, true);
                    pending.clear();
                } else {
                    // Counted as deleted when the next pipeline's UNLINK answers.
                    p.found.matched += pending.len() as u64;
                }
                cursor = next;
                let finished = cursor == 0;
                if finished || Instant::now() > until {
                    // Delete this page's matches before storing the cursor past it.
                    let last = if r.dry_run {
                        0
                    } else {
                        Self::delete_on(&mut c, &pending, reach.cluster).await?
                    };
                    let n = p.nodes.get_mut(&node).ok_or("node progress lost")?;
                    n.deleted += last;
                    p.found.deleted += last;
                    n.cursor = cursor;
                    n.done = finished;
                    if !finished {
                        return Ok(false);
                    }
                    break;
                }
                if !r.dry_run {
                    pace(r.rate_limit, &mut p.pace_from, p.found.deleted).await;
                }
            }
        }
        Ok(true)
    }

    async fn delete_on(
        c: &mut MultiplexedConnection,
        keys: &[String],
        cluster: bool,
    ) -> Result<u64, String> {
        Self::delete(c, keys, cluster, false)
            .await
            .map_err(|e| format!("Redis failed: {e}"))
    }

    async fn run_step(&self, ctx: &Ctx<'_, Self>) -> Result<Outcome<Done>, StoreError> {
        let job = ctx.job;
        let r = &ctx.request;
        let mut p: Progress = ctx.progress.clone().unwrap_or_else(|| Progress {
            started_at: ctx.now,
            ..Progress::default()
        });
        let Some(reach) = self
            .settings
            .targets
            .iter()
            .find(|t| t.name.as_str() == job.target)
            .and_then(|t| self.reach(t))
        else {
            return Ok(Outcome::Failed(format!(
                "target {:?} is no longer a configured Redis target",
                job.target
            )));
        };
        if ctx.cancel_requested().await? {
            return Ok(Outcome::Cancelled(format!(
                "cancelled on request after deleting {} keys",
                p.found.deleted
            )));
        }
        ctx.started().await?;
        let until = Instant::now() + STEP_BUDGET;
        let outcome = loop {
            let phase_done = match p.phase {
                Phase::Keys => self.keys_phase(&reach, r, &mut p, until).await,
                Phase::Tags => self.tags_phase(&reach, r, &mut p, until).await,
                Phase::Patterns if r.patterns.is_empty() => Ok(true),
                Phase::Patterns => self.patterns_phase(&reach, r, &mut p, until).await,
            };
            match (phase_done, p.phase) {
                (Err(e), _) => break Err(e),
                (Ok(false), _) => break Ok(false),
                (Ok(true), Phase::Keys) => p.phase = Phase::Tags,
                (Ok(true), Phase::Tags) => p.phase = Phase::Patterns,
                (Ok(true), Phase::Patterns) => break Ok(true),
            }
        };
        let elapsed = ((ctx.now.max(crate::store::now_ms()) - p.started_at).max(1)) as f64 / 1000.0;
        p.rate = (if r.dry_run {
            p.found.matched
        } else {
            p.found.deleted
        }) as f64
            / elapsed;
        let (total, scanned): (u64, u64) = p
            .nodes
            .values()
            .fold((0, 0), |(t, s), n| (t + n.keys, s + n.scanned));
        p.eta_seconds = (total > 0 && scanned > 0)
            .then(|| elapsed * (total.saturating_sub(scanned)) as f64 / scanned as f64);
        ctx.save_progress(&p).await?;
        Ok(match outcome {
            Err(e) => failed("the purge stopped", e, &p),
            Ok(false) => Outcome::Continue,
            Ok(true) => Outcome::Completed(Some(Done {
                dry_run: r.dry_run,
                confirmation_needed: (r.dry_run && !r.confirmed(&job.target))
                    .then(|| self.rails(&job.target, r, p.found.matched))
                    .flatten(),
                matched: p.found.matched,
                deleted: p.found.deleted,
                sample: r.dry_run.then(|| p.found.sample.clone()),
                nodes: p
                    .nodes
                    .iter()
                    .map(|(k, n)| {
                        let name = if k.is_empty() { "server" } else { k.as_str() };
                        (
                            name.to_owned(),
                            Counts {
                                matched: n.matched,
                                deleted: n.deleted,
                            },
                        )
                    })
                    .collect(),
                seconds: elapsed,
                estimated_seconds: r.dry_run.then(|| {
                    r.rate_limit
                        .map_or(elapsed, |rate| p.found.matched as f64 / rate as f64)
                }),
            })),
        })
    }
}

/// A connection for exact keys and tags: the server, or the cluster (routed by slot).
enum KeyConn {
    Single(MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl KeyConn {
    async fn query<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        match self {
            Self::Single(c) => cmd.query_async(c).await,
            Self::Cluster(c) => cmd.query_async(c).await,
        }
    }

    /// UNLINK (or EXISTS) each slot group: one pipeline on a server; one command per slot
    /// group in a cluster, each routed to the node that owns the slot.
    async fn delete(
        &mut self,
        keys: &[String],
        cluster: bool,
        dry_run: bool,
    ) -> redis::RedisResult<u64> {
        match self {
            Self::Single(c) => RedisPurge::delete(c, keys, cluster, dry_run).await,
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

impl JobKind for RedisPurge {
    const NAME: &'static str = "redis_purge";
    const LABEL: &'static str = "purge";
    const ACTION: Action = Action::Purge;
    const SCOPE: Scope = Scope::Purge;
    const TARGET_KINDS: &'static [&'static str] = &["redis"];

    type Request = PurgeRequest;
    type Progress = Progress;
    type Result = Done;

    fn new(deps: &Deps) -> Self {
        Self {
            settings: deps.settings.clone(),
        }
    }

    async fn validate(
        &self,
        target: &TargetName,
        request: PurgeRequest,
        _now: i64,
    ) -> Result<Accepted<PurgeRequest>, ServiceError> {
        self.check(target, request).await
    }

    async fn step(&self, ctx: &Ctx<'_, Self>) -> Result<Outcome<Done>, StoreError> {
        self.run_step(ctx).await
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
