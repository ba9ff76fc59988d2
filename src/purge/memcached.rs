//! The `memcached_purge` job kind. Clients shard keys over a pool with their own hashing, so
//! the daemon cannot know which server holds a key: exact keys are deleted on every server of
//! the target's pool (`addresses`). Patterns are best effort: each server's keys are listed
//! with `lru_crawler metadump all` (Memcached 1.4.31+) and the matching ones deleted, so keys
//! written during the crawl may be missed. `flush_all` empties every server, only with
//! confirmation. Work is stored per server, so a restart goes on with the next server.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_memcached::{AsciiProtocol, Client, Error as McError, Status};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Counts, PurgeRequest, Tally, check_request, glob, guard_patterns, pace};
use crate::config::Settings;
use crate::domain::{Scope, TargetName};
use crate::jobs::{Accepted, Action, Ctx, Deps, JobKind, Outcome};
use crate::service_error::ServiceError;
use crate::store::StoreError;
use crate::targets::TargetConfig as _;
use crate::targets::memcached::Config as Pool;

/// The stored kind name.
pub const KIND: &str = <MemcachedPurge as JobKind>::NAME;

/// How long one step works on exact keys before it stores its progress.
const STEP_BUDGET: Duration = Duration::from_millis(500);
/// How long a job may take before it fails.
const DEADLINE_MS: i64 = 24 * 3600 * 1000;

/// Where a purge is, stored after every step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = MemcachedPurgeProgress)]
pub struct Progress {
    /// The server being worked on (index in the pool), and the next exact key there.
    server: usize,
    key_index: usize,
    /// What each server gave: [matched, deleted].
    #[schema(value_type = BTreeMap<String, Vec<u64>>)]
    servers: BTreeMap<String, (u64, u64)>,
    #[serde(flatten)]
    found: Tally,
    started_at: i64,
    pace_from: Option<(i64, u64)>,
    rate: f64,
}

/// What a Memcached purge did.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = MemcachedPurgeResult)]
pub struct Done {
    pub dry_run: bool,
    /// In a dry run: what a purge of the same request would need confirming.
    pub confirmation_needed: Option<String>,
    pub matched: u64,
    pub deleted: u64,
    /// Every server of the pool was emptied.
    pub flushed: bool,
    /// In a dry run, up to 20 of the keys it would delete.
    pub sample: Option<Vec<String>>,
    /// By server of the pool.
    pub servers: BTreeMap<String, Counts>,
    /// Patterns were matched against a listing that may miss keys written meanwhile.
    pub best_effort: bool,
    pub note: Option<String>,
    pub seconds: f64,
}

pub struct MemcachedPurge {
    settings: Arc<Settings>,
}

fn pool_of(settings: &Settings, target: &str) -> Option<Vec<String>> {
    settings
        .targets
        .iter()
        .find(|t| t.name.as_str() == target)
        .and_then(|t| t.config::<Pool>())
        .map(|p| p.pool.clone())
}

fn prefixes_of(settings: &Settings, target: &str) -> Option<Vec<String>> {
    settings
        .targets
        .iter()
        .find(|t| t.name.as_str() == target)
        .and_then(|t| t.config::<Pool>())
        .and_then(|p| p.purge_rules().map(|r| r.prefixes.clone()))
}

async fn connect(server: &str) -> Result<Client, String> {
    Client::new(format!("tcp://{server}"))
        .await
        .map_err(|e| format!("cannot connect to {server}: {e}"))
}

/// Deletes `key` (a dry run only looks): whether it was there.
async fn delete(c: &mut Client, key: &[u8], dry_run: bool) -> Result<bool, String> {
    if dry_run {
        return c
            .get(key)
            .await
            .map(|v| v.is_some())
            .map_err(|e| e.to_string());
    }
    match c.delete(key).await {
        Ok(()) => Ok(true),
        Err(McError::Protocol(Status::NotFound)) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

impl MemcachedPurge {
    fn check(
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
        check_request(&r, target.as_str())?;
        if !r.tags.is_empty() {
            return Err(ServiceError::invalid(
                "tags",
                "Memcached has no tags; name keys or patterns",
            ));
        }
        let confirmed = r.confirmed(target.as_str());
        if r.flush_all && !confirmed && !r.dry_run {
            return Err(ServiceError::needs_confirmation(
                "flush_all empties every server of the pool",
            ));
        }
        let prefixes = t
            .config::<Pool>()
            .and_then(|p| p.purge_rules().map(|r| r.prefixes.clone()))
            .unwrap_or_default();
        guard_patterns(&r, target.as_str(), &prefixes)?;
        let now = crate::store::now_ms();
        Ok(Accepted {
            canonical: json!(&r),
            dry_run: r.dry_run,
            request: r,
            deadline_at: now + DEADLINE_MS,
            run_after: now,
        })
    }

    /// One server: flush, its exact keys from where it stopped (until the step's budget),
    /// then its matching keys. `Ok(true)` when the server is done.
    async fn server(
        &self,
        server: &str,
        r: &PurgeRequest,
        p: &mut Progress,
    ) -> Result<bool, String> {
        let mut c = connect(server).await?;
        let until = Instant::now() + STEP_BUDGET;
        if r.flush_all && !r.dry_run && p.key_index == 0 {
            c.flush_all()
                .await
                .map_err(|e| format!("flush_all on {server}: {e}"))?;
        }
        // This server's counts: what it had before this step, plus what this step finds.
        let before = p.servers.get(server).copied().unwrap_or_default();
        let start = (p.found.matched, p.found.deleted);
        let record = |p: &mut Progress| {
            let here = (
                before.0 + p.found.matched - start.0,
                before.1 + p.found.deleted - start.1,
            );
            p.servers.insert(server.to_owned(), here);
        };
        while p.key_index < r.keys.len() {
            let key = &r.keys[p.key_index];
            if delete(&mut c, key.as_bytes(), r.dry_run)
                .await
                .map_err(|e| format!("{server}: {e}"))?
            {
                p.found.found(std::slice::from_ref(key), 1, r.dry_run);
            }
            p.key_index += 1;
            pace(r.rate_limit, &mut p.pace_from, p.key_index as u64).await;
            if Instant::now() > until {
                record(p);
                return Ok(false);
            }
        }
        if !r.patterns.is_empty() {
            // The listing holds its connection until it ends; deletions go over a second one.
            let mut d = connect(server).await?;
            let mut dump = c
                .dump_keys()
                .await
                .map_err(|e| format!("metadump on {server}: {e}"))?;
            while let Some(entry) = dump.next().await {
                let meta = entry.map_err(|e| format!("metadump on {server}: {e}"))?;
                // metadump URL-encodes keys.
                let key = url::form_urlencoded::parse(&[b"k=", meta.key.as_slice()].concat())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                if !r
                    .patterns
                    .iter()
                    .any(|pt| glob::matches(pt.as_bytes(), key.as_bytes()))
                {
                    continue;
                }
                // A dry run counts what the listing shows: reading each key would move it
                // in the server's LRU, and the next listing could then miss it.
                let gone = if r.dry_run {
                    true
                } else {
                    delete(&mut d, key.as_bytes(), false)
                        .await
                        .map_err(|e| format!("{server}: {e}"))?
                };
                if gone {
                    p.found.found(&[key], 1, r.dry_run);
                }
                pace(r.rate_limit, &mut p.pace_from, p.found.matched).await;
            }
        }
        record(p);
        Ok(true)
    }

    async fn run_step(&self, ctx: &Ctx<'_, Self>) -> Result<Outcome<Done>, StoreError> {
        let job = ctx.job;
        let r = &ctx.request;
        let mut p: Progress = ctx.progress.clone().unwrap_or_else(|| Progress {
            started_at: ctx.now,
            ..Progress::default()
        });
        let Some(pool) = pool_of(&self.settings, &job.target) else {
            return Ok(Outcome::Failed(format!(
                "target {:?} is no longer a configured Memcached target",
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
        let outcome = match pool.get(p.server) {
            None => Ok(true),
            Some(server) => self.server(server, r, &mut p).await.map(|done| {
                if done {
                    p.server += 1;
                    p.key_index = 0;
                }
                p.server >= pool.len()
            }),
        };
        let elapsed = ((crate::store::now_ms() - p.started_at).max(1)) as f64 / 1000.0;
        p.rate = p.found.deleted as f64 / elapsed;
        ctx.save_progress(&p).await?;
        Ok(match outcome {
            Err(e) => Outcome::Failed(format!(
                "the purge stopped: {e}; {} keys had been deleted",
                p.found.deleted
            )),
            Ok(false) => Outcome::Continue,
            Ok(true) => Outcome::Completed(Some(Done {
                dry_run: r.dry_run,
                confirmation_needed: (r.dry_run && !r.confirmed(&job.target))
                    .then(|| {
                        if r.flush_all {
                            Some("flush_all empties every server of the pool".to_owned())
                        } else {
                            prefixes_of(&self.settings, &job.target)
                                .and_then(|prefixes| super::beyond_rails(&r.patterns, &prefixes))
                        }
                    })
                    .flatten(),
                matched: p.found.matched,
                deleted: p.found.deleted,
                flushed: r.flush_all && !r.dry_run,
                sample: r.dry_run.then(|| p.found.sample.clone()),
                servers: p
                    .servers
                    .iter()
                    .map(|(s, (m, d))| {
                        (
                            s.clone(),
                            Counts {
                                matched: *m,
                                deleted: *d,
                            },
                        )
                    })
                    .collect(),
                best_effort: !r.patterns.is_empty(),
                note: (!r.patterns.is_empty()).then(|| {
                    "patterns on Memcached are best effort: keys are listed with lru_crawler metadump, and keys written during the crawl may be missed".to_owned()
                }),
                seconds: elapsed,
            })),
        })
    }
}

impl JobKind for MemcachedPurge {
    const NAME: &'static str = "memcached_purge";
    const LABEL: &'static str = "purge";
    const ACTION: Action = Action::Purge;
    const SCOPE: Scope = Scope::Purge;
    const TARGET_KINDS: &'static [&'static str] = &["memcached"];

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
        self.check(target, request)
    }

    async fn step(&self, ctx: &Ctx<'_, Self>) -> Result<Outcome<Done>, StoreError> {
        self.run_step(ctx).await
    }

    fn summary(r: &PurgeRequest, p: Option<&Progress>, d: Option<&Done>) -> Option<String> {
        match (d, p) {
            (Some(d), _) => Some(super::summary(d.dry_run, d.matched, d.deleted, None, None)),
            (None, Some(p)) => Some(super::summary(
                r.dry_run,
                p.found.matched,
                p.found.deleted,
                Some(p.rate),
                None,
            )),
            (None, None) => None,
        }
    }
}
