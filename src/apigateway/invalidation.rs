//! The `apigateway_invalidation` job kind: entries of a REST API stage's cache, or the whole
//! stage. The first step finds the REST API's id (configured, or from its name) and checks
//! that the stage has a cache. Entries are then requested at the invoke URL, paced at the
//! target's rate and a few at a time; an entry answered 429 or 5xx is tried again with backoff
//! in a later step, so a step never sleeps on one. Progress is stored after every step, and a
//! cancel is honoured between entries. Repeating an entry or a flush does no harm: both only
//! make the cache fetch again.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::client::{CallError, Stage};
use crate::config::Settings;
use crate::domain::{Scope, TargetName};
use crate::jobs::{Accepted, Action, Ctx, Deps, JobKind, Outcome};
use crate::service_error::{BadItem, ServiceError};
use crate::store::StoreError;
use crate::targets::TargetConfig as _;
use crate::targets::apigateway::{Config as StageConfig, Entry, MAX_ENTRIES};

/// Entries of a stage's cache to invalidate, or the whole stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ApiGatewayInvalidationRequest)]
pub struct Request {
    /// Entries: `GET /products/42?lang=en`, optionally with cache-key headers
    /// (`GET /products/42 accept-language:en`); the method defaults to GET.
    #[serde(default)]
    #[schema(max_items = 10000)]
    pub items: Vec<String>,
    /// Empty the whole stage cache instead (needs `confirm`).
    #[serde(default)]
    pub flush: bool,
    /// The target's name, repeated to confirm a flush.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm: Option<String>,
}

/// Where one entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    Pending,
    Done,
    Failed,
}

/// One entry's progress.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = ApiGatewayEntry)]
pub struct EntryProgress {
    pub entry: String,
    pub state: EntryState,
    pub attempts: u32,
    /// Not tried again before this time (ms).
    #[serde(default)]
    pub next_at: i64,
    /// The last error, if any.
    pub error: Option<String>,
}

/// How far an invalidation is, stored after every step.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = ApiGatewayInvalidationProgress)]
pub struct Progress {
    pub rest_api_id: Option<String>,
    /// Requests sent (retries included).
    pub sent: u64,
    /// Entries invalidated.
    pub done: u64,
    /// Entries given up on.
    pub failed: u64,
    pub flushed: bool,
    pub entries: Vec<EntryProgress>,
    pub started_at: i64,
    /// When the next request may leave (ms), so the rate holds across steps.
    #[serde(default)]
    pub paced_until: i64,
}

/// How an invalidation ended.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = ApiGatewayInvalidationResult)]
pub struct Done {
    pub rest_api_id: String,
    pub entries: u64,
    pub done: u64,
    pub flushed: bool,
    pub sent: u64,
    pub seconds: f64,
}

/// How long one step sends before it stores its progress.
const STEP_BUDGET: Duration = Duration::from_secs(2);
/// How often a running step looks for a cancel.
const CANCEL_CHECK: Duration = Duration::from_millis(250);
/// Requests in flight at once.
const CONCURRENCY: usize = 8;
/// An entry is given up after this many answers of 429 or 5xx.
const MAX_ATTEMPTS: u32 = 6;
/// How long a job may take before it fails.
const DEADLINE_MS: i64 = 6 * 3600 * 1000;

/// Backoff before the `attempt`-th retry of an entry: 1 s doubling to 30 s.
fn backoff(attempt: u32) -> i64 {
    (1000 * (1_i64 << attempt.min(5))).min(30_000)
}

pub struct ApiGatewayInvalidation {
    settings: Arc<Settings>,
    aws: crate::aws::Clients,
    /// REST API ids found by name, by (account/region, name): an id does not change while the API
    /// exists, so GetRestApis (paged through every API of the region) runs once per name.
    ids: Mutex<HashMap<(String, String), String>>,
    /// Invoke-URL requests, one client for every job.
    http: reqwest::Client,
}

impl ApiGatewayInvalidation {
    fn stage(&self, target: &str) -> Option<&StageConfig> {
        self.settings
            .targets
            .iter()
            .find(|t| t.name.as_str() == target)
            .and_then(|t| t.config::<StageConfig>())
    }

    fn check(
        &self,
        target: &TargetName,
        r: Request,
        now: i64,
    ) -> Result<Accepted<Request>, ServiceError> {
        let t = self.settings.target(target).ok_or_else(|| {
            ServiceError::invalid(
                "target",
                format!("{:?} is not a configured target", target.as_str()),
            )
        })?;
        let Some(stage) = t.config::<StageConfig>() else {
            return Err(ServiceError::invalid(
                "target",
                format!(
                    "{:?} is a {} target; this kind invalidates apigateway targets",
                    target.as_str(),
                    t.kind
                ),
            ));
        };
        if r.flush {
            if !r.items.is_empty() {
                return Err(ServiceError::invalid(
                    "items",
                    "a flush empties the whole stage: send items or flush, not both",
                ));
            }
            if r.confirm.as_deref() != Some(target.as_str()) {
                return Err(ServiceError::needs_confirmation(format!(
                    "a flush empties the whole cache of stage {} of {}: repeat the target's name in confirm",
                    stage.stage, stage.api_name
                )));
            }
            return Ok(Accepted {
                canonical: json!({ "flush": true }),
                request: r,
                deadline_at: now + DEADLINE_MS,
                run_after: now,
                dry_run: false,
            });
        }
        if r.items.is_empty() {
            return Err(ServiceError::invalid(
                "items",
                "must list at least one entry (GET /path?param=value), or flush the stage",
            ));
        }
        if r.items.len() > MAX_ENTRIES {
            return Err(ServiceError::invalid(
                "items",
                format!("at most {MAX_ENTRIES} entries per request; split it or flush the stage"),
            ));
        }
        let mut entries = BTreeSet::new();
        let mut bad = Vec::new();
        for (i, raw) in r.items.iter().enumerate() {
            match Entry::parse(raw, &stage.cache_key) {
                Ok(e) => {
                    entries.insert(e.to_string());
                }
                Err(message) => bad.push(BadItem {
                    field: format!("items[{i}]"),
                    item: raw.clone(),
                    message,
                }),
            }
        }
        ServiceError::bad_items("invalid_items", r.items.len(), bad)?;
        let entries: Vec<String> = entries.into_iter().collect();
        Ok(Accepted {
            canonical: json!({ "items": entries }),
            // Stored in their one written form, without repeats.
            request: Request {
                items: entries,
                flush: false,
                confirm: None,
            },
            deadline_at: now + DEADLINE_MS,
            run_after: now,
            dry_run: false,
        })
    }

    /// The REST API's id and whether the stage has a cache; the id is stored, so a restart
    /// does not look it up again.
    async fn prepare(
        &self,
        stage: &StageConfig,
        client: &Stage,
        account: Option<&crate::domain::Account>,
        p: &mut Progress,
    ) -> Result<String, CallError> {
        // Names are unique per account and region only.
        let key = (
            format!("{}/{}", account.map_or("", |a| a.id()), client.region()),
            stage.api_name.clone(),
        );
        let known = self.ids.lock().ok().and_then(|m| m.get(&key).cloned());
        let id = match (&p.rest_api_id, &stage.rest_api_id, known.as_ref()) {
            (Some(id), _, _) | (None, Some(id), _) | (None, None, Some(id)) => id.clone(),
            (None, None, None) => {
                let id = client.rest_api_id(&stage.api_name).await?;
                if let Ok(mut m) = self.ids.lock() {
                    m.insert(key, id.clone());
                }
                id
            }
        };
        if !client.cache_enabled(&id, &stage.stage).await? {
            return Err(CallError::Permanent(format!(
                "stage {} of {} ({id}) has no cache (cacheClusterEnabled is false): there is nothing to invalidate",
                stage.stage, stage.api_name
            )));
        }
        p.rest_api_id = Some(id.clone());
        Ok(id)
    }

    async fn run(&self, ctx: &Ctx<'_, Self>) -> Result<Outcome<Done>, StoreError> {
        let job = ctx.job;
        let Some(stage) = self.stage(&job.target) else {
            return Ok(Outcome::Failed(format!(
                "target {:?} is no longer a configured API Gateway target",
                job.target
            )));
        };
        let account = self.settings.account_of(&job.target);
        let Some(sdk) = self.aws.sdk(account) else {
            return Ok(Outcome::Failed(
                "no AWS configuration is loaded, so there is no API Gateway client".into(),
            ));
        };
        let Some(region) = stage.region(self.settings.aws.region.as_deref()) else {
            return Ok(Outcome::Failed(
                "no AWS region: set [aws] region or the target's region".into(),
            ));
        };
        if ctx.now >= job.deadline_at {
            return Ok(Outcome::Failed("the job's deadline passed".into()));
        }
        if ctx.cancel_requested().await? {
            return Ok(Outcome::Cancelled(
                "cancelled on request before it was done".into(),
            ));
        }
        let r = &ctx.request;
        let mut p = ctx.progress.clone().unwrap_or_else(|| Progress {
            started_at: ctx.now,
            entries: r
                .items
                .iter()
                .map(|e| EntryProgress {
                    entry: e.clone(),
                    state: EntryState::Pending,
                    attempts: 0,
                    next_at: 0,
                    error: None,
                })
                .collect(),
            ..Progress::default()
        });
        ctx.started().await?;
        let client = Stage::new(&sdk, &region, self.http.clone());
        let id = match &p.rest_api_id {
            Some(id) => id.clone(),
            None => match self.prepare(stage, &client, account, &mut p).await {
                Ok(id) => id,
                Err(CallError::Permanent(e)) => return Ok(Outcome::Failed(e)),
                Err(CallError::Retryable(e)) => {
                    tracing::info!(job = job.id, error = %e, "API Gateway asked us to wait; retrying.");
                    return Ok(Outcome::WaitUntil(ctx.now + backoff(0)));
                }
            },
        };
        if r.flush {
            return Ok(match client.flush(&id, &stage.stage).await {
                Ok(()) => {
                    p.sent += 1;
                    p.flushed = true;
                    ctx.save_progress(&p).await?;
                    tracing::info!(job = job.id, target_name = %job.target, "Flushed an API Gateway stage cache.");
                    Outcome::Completed(Some(done(&p, &id)))
                }
                Err(CallError::Permanent(e)) => Outcome::Failed(e),
                Err(CallError::Retryable(e)) => {
                    p.sent += 1;
                    ctx.save_progress(&p).await?;
                    tracing::info!(job = job.id, error = %e, "FlushStageCache failed; retrying.");
                    Outcome::WaitUntil(ctx.now + backoff(p.sent as u32))
                }
            });
        }
        let base = stage.invoke_base(&id, &region);
        let cancelled = self
            .send_due(ctx, &client, stage, &base, &id, &region, &mut p)
            .await?;
        ctx.save_progress(&p).await?;
        if cancelled {
            return Ok(Outcome::Cancelled(format!(
                "cancelled on request after {} of {} entries",
                p.done,
                p.entries.len()
            )));
        }
        let now = crate::store::now_ms();
        let pending = p.entries.iter().filter(|e| e.state == EntryState::Pending);
        match pending.map(|e| e.next_at).min() {
            Some(at) if at > now => Ok(Outcome::WaitUntil(at)),
            Some(_) => Ok(Outcome::Continue),
            None if p.failed > 0 => {
                let first = p
                    .entries
                    .iter()
                    .find_map(|e| e.error.as_deref().filter(|_| e.state == EntryState::Failed))
                    .unwrap_or_default();
                Ok(Outcome::Failed(format!(
                    "{} of {} entries could not be invalidated; the first: {first}",
                    p.failed,
                    p.entries.len()
                )))
            }
            None => Ok(Outcome::Completed(Some(done(&p, &id)))),
        }
    }

    /// Sends the entries that are due, paced at the target's rate, until the step's budget is
    /// spent. Whether a cancel stopped it.
    #[allow(clippy::too_many_arguments)]
    async fn send_due(
        &self,
        ctx: &Ctx<'_, Self>,
        client: &Stage,
        stage: &StageConfig,
        base: &str,
        id: &str,
        region: &str,
        p: &mut Progress,
    ) -> Result<bool, StoreError> {
        let now = ctx.now;
        let due: Vec<usize> = (0..p.entries.len())
            .filter(|&i| p.entries[i].state == EntryState::Pending && p.entries[i].next_at <= now)
            .collect();
        let interval = Duration::from_secs_f64(1.0 / stage.invalidation_rate);
        let budget = (STEP_BUDGET.as_secs_f64() * stage.invalidation_rate)
            .ceil()
            .max(1.0) as usize;
        let sent = due.len().min(budget);
        // The rate holds across steps: the first request waits for the previous step's pace.
        let behind = (p.paced_until - crate::store::now_ms()).max(0) as u64;
        let start = tokio::time::Instant::now() + Duration::from_millis(behind);
        p.paced_until = crate::store::now_ms()
            + behind as i64
            + (interval.as_secs_f64() * 1000.0 * sent as f64).ceil() as i64;
        let until = Instant::now() + STEP_BUDGET + Duration::from_millis(behind);
        let mut cancelled = false;
        let mut checked = Instant::now();
        let mut results = Vec::new();
        {
            let entries = &p.entries;
            let mut sends = futures_util::stream::iter(due.into_iter().take(sent).enumerate())
                .map(|(n, i)| async move {
                    // Paced by when each request leaves, whatever the others take.
                    tokio::time::sleep_until(start + interval * n as u32).await;
                    let text = &entries[i].entry;
                    // Stored checked; read again with the cache key in force now.
                    let result = match Entry::parse(text, &stage.cache_key) {
                        Ok(entry) => {
                            let arn = format!(
                                "arn:aws:execute-api:{region}:*:{id}/{}/{}{}",
                                stage.stage, entry.method, entry.path
                            );
                            client.invalidate(base, &entry, &arn).await
                        }
                        Err(why) => Err(CallError::Permanent(format!("{text}: {why}"))),
                    };
                    (i, result)
                })
                .buffer_unordered(CONCURRENCY);
            while let Some((i, result)) = sends.next().await {
                results.push((i, result));
                if Instant::now() > until {
                    break;
                }
                // Between entries (at most every 250 ms): a cancel stops what has not left yet.
                if checked.elapsed() >= CANCEL_CHECK {
                    checked = Instant::now();
                    if ctx.cancel_requested().await? {
                        cancelled = true;
                        break;
                    }
                }
            }
        }
        let at = crate::store::now_ms();
        for (i, result) in results {
            let e = &mut p.entries[i];
            e.attempts += 1;
            p.sent += 1;
            match result {
                Ok(()) => {
                    e.state = EntryState::Done;
                    e.error = None;
                    p.done += 1;
                }
                Err(CallError::Retryable(why)) if e.attempts < MAX_ATTEMPTS => {
                    e.next_at = at + backoff(e.attempts - 1);
                    e.error = Some(why);
                }
                Err(err) => {
                    e.state = EntryState::Failed;
                    e.error = Some(err.to_string());
                    p.failed += 1;
                }
            }
        }
        Ok(cancelled)
    }
}

fn done(p: &Progress, id: &str) -> Done {
    Done {
        rest_api_id: id.to_owned(),
        entries: p.entries.len() as u64,
        done: p.done,
        flushed: p.flushed,
        sent: p.sent,
        seconds: ((crate::store::now_ms() - p.started_at).max(0)) as f64 / 1000.0,
    }
}

impl JobKind for ApiGatewayInvalidation {
    const NAME: &'static str = "apigateway_invalidation";
    const LABEL: &'static str = "invalidation";
    const ACTION: Action = Action::Invalidate;
    const SCOPE: Scope = Scope::Invalidate;
    const TARGET_KINDS: &'static [&'static str] = &["apigateway"];

    type Request = Request;
    type Progress = Progress;
    type Result = Done;

    fn new(deps: &Deps) -> Self {
        Self {
            settings: deps.settings.clone(),
            aws: deps.aws.clone(),
            ids: Mutex::default(),
            http: Stage::http_client(),
        }
    }

    async fn validate(
        &self,
        target: &TargetName,
        request: Request,
        now: i64,
    ) -> Result<Accepted<Request>, ServiceError> {
        self.check(target, request, now)
    }

    async fn step(&self, ctx: &Ctx<'_, Self>) -> Result<Outcome<Done>, StoreError> {
        self.run(ctx).await
    }

    fn summary(r: &Request, p: Option<&Progress>, _: Option<&Done>) -> Option<String> {
        let p = p.cloned().unwrap_or_default();
        Some(if r.flush {
            if p.flushed {
                "the whole stage cache was flushed".to_owned()
            } else {
                "the whole stage cache is to be flushed".to_owned()
            }
        } else {
            let mut s = format!("{} of {} entries invalidated", p.done, r.items.len());
            if p.failed > 0 {
                s.push_str(&format!(", {} failed", p.failed));
            }
            let retries = p.sent.saturating_sub(p.done + p.failed);
            if retries > 0 {
                s.push_str(&format!(", {retries} requests retried or awaiting retry"));
            }
            s
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(
            [0, 1, 2, 4, 5, 9].map(super::backoff),
            [1000, 2000, 4000, 16000, 30000, 30000]
        );
    }
}
