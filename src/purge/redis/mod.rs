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

use serde::{Deserialize, Serialize};
use serde_json::json;

mod phases;
mod reach;

use self::reach::{BATCH, Reach, TIMEOUT};
use super::{Counts, PurgeRequest, Tally, check_request, glob, guard_patterns};
use crate::config::{Settings, TargetSettings};
use crate::domain::{Scope, TargetName};
use crate::jobs::{Accepted, Action, Ctx, Deps, JobKind, Outcome};
use crate::redis_link::LinkError;
use crate::service_error::ServiceError;
use crate::store::StoreError;
use crate::targets::TargetConfig as _;
use crate::targets::redis::Config as RedisTarget;

/// The stored kind name.
pub const KIND: &str = <RedisPurge as JobKind>::NAME;

/// How long one step works before it stores its progress.
const STEP_BUDGET: Duration = Duration::from_millis(500);
/// SCAN's COUNT hint at full speed: large pages, few round trips.
const SCAN_COUNT: u64 = 2000;
/// Pages per second under a rate limit: small pages, evenly spaced, so that no single
/// command holds the server long enough to show in other clients' latency.
const PAGES_PER_SECOND: u64 = 1000;
/// How long a request may spend counting a pattern against `max_purge_keys`.
const COUNT_BUDGET: Duration = Duration::from_secs(10);
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
    /// Keys on the scanned nodes when their scans began (DBSIZE), when patterns were
    /// scanned: what share of the keyspace the purge reaches.
    #[serde(default)]
    pub keyspace: Option<u64>,
    /// In a dry run: about how much memory the matched keys hold (the sample's mean
    /// `MEMORY USAGE` times the keys matched); absent when the server cannot say.
    #[serde(default)]
    pub estimated_bytes: Option<u64>,
}

pub struct RedisPurge {
    settings: Arc<Settings>,
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
            .purge_rules()?;
        super::beyond_rails(&r.patterns, &rules.prefixes).or_else(|| {
            (!r.patterns.is_empty() && matched > rules.max_keys).then(|| {
                format!(
                    "the patterns match {matched} keys, more than the target's max_purge_keys ({})",
                    rules.max_keys
                )
            })
        })
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
        for node in reach.primaries().await? {
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
            .and_then(|c| c.purge_rules().cloned())
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
        let estimated_bytes = match (&outcome, r.dry_run) {
            (Ok(true), true) => memory_of(&reach, &p.found.sample)
                .await
                .map(|mean| (mean * p.found.matched as f64).round() as u64),
            _ => None,
        };
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
                keyspace: (!p.nodes.is_empty()).then(|| p.nodes.values().map(|n| n.keys).sum()),
                estimated_bytes,
            })),
        })
    }
}

/// The mean memory (bytes) of `sample`'s keys by `MEMORY USAGE`, or `None` when there is no
/// sample or the server does not answer it (an older Redis, a proxy that refuses it).
async fn memory_of(reach: &Reach, sample: &[String]) -> Option<f64> {
    if sample.is_empty() {
        return None;
    }
    let mut c = reach.key_conn().await.ok()?;
    let mut total = 0u64;
    let mut known = 0u64;
    for key in sample {
        let bytes: Option<u64> = c
            .query(
                redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(key)
                    .arg("SAMPLES")
                    .arg(0),
            )
            .await
            .ok()?;
        // A key deleted since it was sampled has no size.
        if let Some(b) = bytes {
            total += b;
            known += 1;
        }
    }
    (known > 0).then(|| total as f64 / known as f64)
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

    /// Each node's pattern scan: keys scanned of the keys it held when the scan began.
    fn meters(_r: &PurgeRequest, p: Option<&Progress>) -> Vec<crate::jobs::Meter> {
        let Some(p) = p else {
            return Vec::new();
        };
        p.nodes
            .iter()
            .map(|(node, n)| {
                let of = n.keys.max(n.scanned) as f64;
                crate::jobs::Meter {
                    label: if node.is_empty() {
                        "keys scanned".to_owned()
                    } else {
                        format!("node {node}")
                    },
                    done: if n.done { of } else { n.scanned as f64 },
                    of,
                }
            })
            .collect()
    }

    fn summary(r: &PurgeRequest, p: Option<&Progress>, d: Option<&Done>) -> Option<String> {
        match (d, p) {
            (Some(d), _) => Some(super::summary(d.dry_run, d.matched, d.deleted, None, None)),
            (None, Some(p)) => Some(super::summary(
                r.dry_run,
                p.found.matched,
                p.found.deleted,
                Some(p.rate),
                p.eta_seconds,
            )),
            (None, None) => None,
        }
    }
}
