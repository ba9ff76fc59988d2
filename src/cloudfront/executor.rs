//! The `cloudfront_invalidation` job kind. A request is checked and stored; after the
//! coalescing window the job forms a batch with the other waiting jobs of its target (without
//! duplicates or covered paths, within CloudFront's in-progress limits) and drives it: send
//! (retrying throttling and TooManyInvalidationsInProgress with backoff until the deadline),
//! then track to Completed. The other jobs in the batch are parked and ended with it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::batch::{MAX_FILES_IN_FLIGHT, MAX_WILDCARDS_IN_FLIGHT, plan};
use super::collapse::{Collapsed, collapse};
use super::cost::{CostPlan, exceeds_budget, month_of, monthly};
use crate::aws::{CloudFrontApi, CloudFrontError};
use crate::config::Settings;
use crate::domain::{InvalidationItem, ItemCounts, Scope, TargetName, coalesce};
use crate::jobs::{Accepted, Action, Ctx, Deps, JobKind, Nothing, Outcome};
use crate::metrics::Metrics;
use crate::service_error::{BadItem, ServiceError};
use crate::store::{Batch, BatchInfo, BatchState, JobRecord, Store, StoreError};
use crate::targets::cloudfront::Config as Distribution;

/// The stored kind name.
pub const KIND: &str = <Invalidation as JobKind>::NAME;

/// Paths (`/index.html`, `/assets/*`) and `#cache-tags` to invalidate.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = InvalidationRequest)]
pub struct Request {
    /// Paths as the viewer requested them (URL-encoded, `*` only last) or `#tags`.
    #[schema(min_items = 1, max_items = 3000, value_type = Vec<crate::domain::InvalidationItem>)]
    pub items: Vec<String>,
    /// Only work out what would be sent and what it would cost; send nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// Directories the target's collapse policy sent as wildcards (set when accepted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(read_only)]
    pub collapsed: Vec<Collapsed>,
}

/// How an invalidation ended: the batch that carried its paths, or, for a dry run, the plan.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = CloudFrontInvalidationResult)]
pub enum Ended {
    Sent(BatchInfo),
    Planned(CostPlan),
}

/// How long a job that found no room waits before looking again (a batch that ends wakes it
/// sooner).
const ROOM_RECHECK_MS: i64 = 5_000;

/// Backoff before the `attempt`-th retry of a send: 1 s doubling to 60 s.
fn send_backoff(attempt: i64) -> i64 {
    1000 * (1_i64 << attempt.clamp(0, 6)).min(60)
}

/// Time between GetInvalidation checks: 2 s doubling to 30 s.
fn track_backoff(attempt: i64) -> i64 {
    2000 * (1_i64 << attempt.clamp(0, 4)).min(15)
}

pub struct Invalidation {
    store: Store,
    settings: Arc<Settings>,
    aws: crate::aws::Clients,
    metrics: Arc<Metrics>,
}

/// Checks every item and returns them parsed, or one error listing each bad item.
fn parse_items(
    items: &[String],
    target: &str,
    cache_tags: bool,
) -> Result<Vec<InvalidationItem>, ServiceError> {
    if items.is_empty() {
        return Err(ServiceError::invalid(
            "items",
            "must list at least one path or #tag",
        ));
    }
    let mut parsed = Vec::with_capacity(items.len());
    let mut bad = Vec::new();
    for (i, raw) in items.iter().enumerate() {
        let problem = match InvalidationItem::parse(raw) {
            Ok(item) if item.is_tag() && !cache_tags => format!(
                "target {target:?} has no cache tags (its distribution has no CacheTagConfig; set cache_tags = true if it does)"
            ),
            Ok(item) => {
                parsed.push(item);
                continue;
            }
            Err(e) => e.to_string(),
        };
        bad.push(BadItem {
            field: format!("items[{i}]"),
            item: raw.clone(),
            message: problem,
        });
    }
    ServiceError::bad_items("invalid_items", items.len(), bad)?;
    Ok(parsed)
}

impl Invalidation {
    fn distribution(&self, target: &str) -> Option<String> {
        self.settings
            .targets
            .iter()
            .find(|t| t.name.as_str() == target)
            .and_then(|t| t.config::<Distribution>())
            .map(|d| d.distribution_id.clone())
    }

    async fn check(
        &self,
        target: &TargetName,
        request: Request,
        now: i64,
    ) -> Result<Accepted<Request>, ServiceError> {
        let t = self.settings.target(target).ok_or_else(|| {
            ServiceError::invalid(
                "target",
                format!("{:?} is not a configured target", target.as_str()),
            )
        })?;
        let Some(Distribution {
            cache_tags,
            collapse_over,
            ..
        }) = t.config::<Distribution>()
        else {
            return Err(ServiceError::invalid(
                "target",
                format!(
                    "{:?} is a {} target; invalidations go to cloudfront targets",
                    target.as_str(),
                    t.kind
                ),
            ));
        };
        let items = parse_items(&request.items, target.as_str(), *cache_tags)?;
        let (coalesced, collapsed) = match collapse_over {
            Some(over) => collapse(items, *over, MAX_WILDCARDS_IN_FLIGHT),
            None => (coalesce(items), Vec::new()),
        };
        let counts = ItemCounts::of(&coalesced);
        if counts.files > MAX_FILES_IN_FLIGHT || counts.wildcards > MAX_WILDCARDS_IN_FLIGHT {
            return Err(ServiceError::invalid(
                "items",
                format!(
                    "{} paths and {} wildcards after coalescing; CloudFront allows at most {MAX_FILES_IN_FLIGHT} and {MAX_WILDCARDS_IN_FLIGHT} in progress per distribution: split the request or use a wildcard",
                    counts.files, counts.wildcards
                ),
            ));
        }
        // Order and duplicates do not make a different request.
        let canonical: Vec<String> = coalesced.into_iter().map(String::from).collect();
        // What is stored is what will be sent: collapsed, and saying what was collapsed.
        let request = if collapsed.is_empty() {
            request
        } else {
            Request {
                items: canonical.clone(),
                dry_run: request.dry_run,
                collapsed,
            }
        };
        if request.dry_run {
            // A dry run is never refused for the budget: saying what would pass it is its job.
            return Ok(Accepted {
                request,
                canonical: json!({ "items": canonical, "dry_run": true }),
                deadline_at: now + self.settings.invalidation.deadline.as_millis() as i64,
                run_after: now,
                dry_run: true,
            });
        }
        let billed = self.store.billed_paths(&month_of(now)).await?;
        if exceeds_budget(billed, counts.billed(), &self.settings.invalidation) {
            let c = monthly(month_of(now), billed, &self.settings.invalidation);
            return Err(ServiceError::refused(
                "budget_exceeded",
                format!(
                    "{} more billed paths would take this month's estimated invalidation cost beyond the budget of {:.2} USD (now {:.2} USD for {} paths)",
                    counts.billed(),
                    c.budget_usd.unwrap_or_default(),
                    c.estimated_usd,
                    c.billed_paths
                ),
            ));
        }
        let window = self.settings.invalidation.coalesce_window.as_millis() as i64;
        Ok(Accepted {
            request,
            canonical: json!({ "items": canonical }),
            deadline_at: now + self.settings.invalidation.deadline.as_millis() as i64,
            run_after: now + window,
            dry_run: false,
        })
    }

    /// Not batched yet: wait out the coalescing window, then form a batch this job leads.
    async fn batch(&self, ctx: &Ctx<'_, Self>) -> Result<Outcome<BatchInfo>, StoreError> {
        let job = ctx.job;
        let Some(distribution) = self.distribution(&job.target) else {
            // The configuration changed since the job was accepted.
            return Ok(Outcome::Failed(format!(
                "target {:?} is no longer a configured CloudFront target",
                job.target
            )));
        };
        if ctx.now >= job.deadline_at {
            return Ok(Outcome::Failed(
                "CloudFront's in-progress limit did not free up before the job's deadline".into(),
            ));
        }
        let window = self.settings.invalidation.coalesce_window.as_millis() as i64;
        if job.created_at + window > ctx.now {
            return Ok(Outcome::WaitUntil(job.created_at + window));
        }
        let formed = self
            .store
            .form_batch(
                &job.target,
                &distribution,
                job.id,
                ctx.owner,
                ctx.now - window,
                ctx.now,
                plan,
            )
            .await?;
        match formed {
            Some(id) => {
                tracing::info!(batch = id, job = job.id, target_name = %job.target, "Batched invalidation jobs.");
                Ok(Outcome::Continue)
            }
            None => {
                tracing::info!(job = job.id, target_name = %job.target, "The job waits: CloudFront's in-progress limit is reached.");
                Ok(Outcome::WaitUntil(
                    (ctx.now + ROOM_RECHECK_MS).min(job.deadline_at),
                ))
            }
        }
    }

    async fn send(
        &self,
        ctx: &Ctx<'_, Self>,
        api: &dyn CloudFrontApi,
        b: Batch,
    ) -> Result<Outcome<BatchInfo>, StoreError> {
        let now = ctx.now;
        // The safe point: CloudFront certainly does not have this batch yet, so jobs asked to
        // stop can leave it; the rest are batched again.
        if !b.maybe_sent {
            let jobs = self.store.batch_jobs(b.id).await?;
            if jobs.iter().any(|j| j.cancel_requested) {
                self.store.dissolve_batch(b.id, now).await?;
                tracing::info!(
                    batch = b.id,
                    "A batch was taken apart before sending: a job in it was cancelled."
                );
                return Ok(if ctx.cancel_requested().await? {
                    Outcome::Cancelled("cancelled on request before CloudFront accepted it".into())
                } else {
                    Outcome::Continue
                });
            }
        }
        match api
            .create_invalidation(&b.distribution_id, &b.caller_reference, &b.items)
            .await
        {
            Ok(created) => {
                self.store
                    .batch_accepted(
                        &b,
                        &created.id,
                        created.completed,
                        &month_of(now),
                        now,
                        now + track_backoff(0),
                    )
                    .await?;
                tracing::info!(batch = b.id, invalidation = %created.id, "CloudFront accepted an invalidation.");
                self.update_cost_metrics(now).await?;
                Ok(if created.completed {
                    Outcome::Completed(None)
                } else {
                    Outcome::WaitUntil(now + track_backoff(0))
                })
            }
            Err(CloudFrontError::Permanent(e)) => {
                tracing::warn!(batch = b.id, error = %e, "CloudFront refused an invalidation.");
                self.store.batch_failed(b.id, &e, now).await?;
                Ok(Outcome::Failed(e))
            }
            Err(e) => {
                let deadline = self.store.batch_deadline(b.id).await?.unwrap_or(now);
                if deadline <= now {
                    let why = format!(
                        "gave up at the job's deadline after {} attempts; last: {e}",
                        b.attempts + 1
                    );
                    self.store.batch_failed(b.id, &why, now).await?;
                    return Ok(Outcome::Failed(why));
                }
                // Only TooManyInvalidationsInProgress says for certain that nothing was made.
                let maybe_sent = !matches!(e, CloudFrontError::TooManyInProgress(_));
                let next = (now + send_backoff(b.attempts)).min(deadline);
                tracing::info!(batch = b.id, error = %e, retry_in_ms = next - now, "CloudFront asked us to wait; retrying.");
                self.store
                    .batch_retry(b.id, &e.to_string(), next, maybe_sent, now)
                    .await?;
                Ok(Outcome::WaitUntil(next))
            }
        }
    }

    async fn track(
        &self,
        ctx: &Ctx<'_, Self>,
        api: &dyn CloudFrontApi,
        b: Batch,
    ) -> Result<Outcome<BatchInfo>, StoreError> {
        let now = ctx.now;
        let Some(id) = &b.invalidation_id else {
            return Ok(Outcome::Failed(
                "an accepted batch has no invalidation id".into(),
            ));
        };
        match api.invalidation_completed(&b.distribution_id, id).await {
            Ok(true) => {
                self.store.batch_completed(b.id, now).await?;
                tracing::info!(batch = b.id, invalidation = %id, "An invalidation completed.");
                Ok(Outcome::Completed(None))
            }
            Ok(false) => {
                let next = now + track_backoff(b.attempts);
                self.store
                    .batch_retry(b.id, "InProgress", next, true, now)
                    .await?;
                Ok(Outcome::WaitUntil(next))
            }
            Err(CloudFrontError::Permanent(e)) => {
                self.store.batch_failed(b.id, &e, now).await?;
                Ok(Outcome::Failed(e))
            }
            Err(e) => {
                let next = now + track_backoff(b.attempts);
                self.store
                    .batch_retry(b.id, &e.to_string(), next, true, now)
                    .await?;
                Ok(Outcome::WaitUntil(next))
            }
        }
    }

    /// A dry run: what would be sent and what it would cost, worked out without CloudFront.
    async fn plan(&self, ctx: &Ctx<'_, Self>) -> Result<Outcome<Ended>, StoreError> {
        ctx.started().await?;
        let items: Vec<InvalidationItem> = ctx
            .request
            .items
            .iter()
            .filter_map(|i| InvalidationItem::parse(i).ok())
            .collect();
        let coalesced = coalesce(items);
        let counts = ItemCounts::of(&coalesced);
        let billed = self.store.billed_paths(&month_of(ctx.now)).await?;
        let paths = coalesced.into_iter().map(String::from).collect();
        let mut plan = super::cost::plan(
            paths,
            counts.files,
            counts.wildcards,
            billed,
            &self.settings.invalidation,
        );
        plan.collapsed = ctx.request.collapsed.clone();
        if counts.wildcards > 0 {
            let since = ctx.now - 90 * 24 * 3600 * 1000;
            let past = self
                .store
                .wildcard_impacts(&ctx.job.target, KIND, since)
                .await?;
            plan.past_wildcards = super::cost::PastWildcards::of(past);
        }
        Ok(Outcome::Completed(Some(Ended::Planned(plan))))
    }

    async fn update_cost_metrics(&self, now: i64) -> Result<(), StoreError> {
        let month = month_of(now);
        let billed = self.store.billed_paths(&month).await?;
        let cost = monthly(month, billed, &self.settings.invalidation);
        self.metrics.cloudfront_billed_paths.set(billed);
        self.metrics
            .cloudfront_estimated_usd
            .set(cost.estimated_usd);
        Ok(())
    }

    async fn run_step(&self, ctx: &Ctx<'_, Self>) -> Result<Outcome<BatchInfo>, StoreError> {
        let Some(api) = self
            .aws
            .cloudfront(self.settings.account_of(&ctx.job.target))
        else {
            return Ok(Outcome::Failed(
                "no AWS configuration is loaded, so there is no CloudFront client".into(),
            ));
        };
        let api = api.as_ref();
        match self.store.batch_of_job(ctx.job.id).await? {
            None => self.batch(ctx).await,
            // Another job drives this batch and ends this one with it: stay parked.
            Some(b) if b.lead_job_id != Some(ctx.job.id) && !b.state.is_final() => {
                Ok(Outcome::WaitUntil(i64::MAX))
            }
            Some(b) if b.state == BatchState::Pending => self.send(ctx, api, b).await,
            Some(b) if b.state == BatchState::InProgress => self.track(ctx, api, b).await,
            // The batch ended in the transaction that also ended its jobs.
            Some(b) if b.state == BatchState::Completed => Ok(Outcome::Completed(None)),
            Some(b) => Ok(Outcome::Failed(format!(
                "its CloudFront batch {} ended {}",
                b.id,
                b.state.as_str()
            ))),
        }
    }
}

impl JobKind for Invalidation {
    const NAME: &'static str = "cloudfront_invalidation";
    const LABEL: &'static str = "invalidation";
    const ACTION: Action = Action::Invalidate;
    const SCOPE: Scope = Scope::Invalidate;
    const TARGET_KINDS: &'static [&'static str] = &["cloudfront"];

    type Request = Request;
    type Progress = Nothing;
    type Result = Ended;

    fn new(deps: &Deps) -> Self {
        Self {
            store: deps.store.clone(),
            settings: deps.settings.clone(),
            aws: deps.aws.clone(),
            metrics: deps.metrics.clone(),
        }
    }

    async fn validate(
        &self,
        target: &TargetName,
        request: Request,
        now: i64,
    ) -> Result<Accepted<Request>, ServiceError> {
        self.check(target, request, now).await
    }

    async fn step(&self, ctx: &Ctx<'_, Self>) -> Result<Outcome<Ended>, StoreError> {
        if ctx.request.dry_run {
            return self.plan(ctx).await;
        }
        Ok(match self.run_step(ctx).await? {
            Outcome::Continue => Outcome::Continue,
            Outcome::WaitUntil(at) => Outcome::WaitUntil(at),
            Outcome::Completed(r) => Outcome::Completed(r.map(Ended::Sent)),
            Outcome::Failed(e) => Outcome::Failed(e),
            Outcome::Cancelled(e) => Outcome::Cancelled(e),
        })
    }

    fn summary(_: &Request, _: Option<&Nothing>, r: Option<&Ended>) -> Option<String> {
        match r? {
            Ended::Planned(p) => {
                let mut s = format!(
                    "dry run: would send {} ({} billed, {:.2} USD; {} free paths left this month)",
                    crate::domain::text::count(p.paths.len(), "path", "paths"),
                    p.billed_paths,
                    p.price_usd,
                    p.free_paths_left,
                );
                if !p.collapsed.is_empty() {
                    let paths: usize = p.collapsed.iter().map(|c| c.paths).sum();
                    s.push_str(&format!(
                        "; {paths} paths collapsed into {}",
                        crate::domain::text::count(p.collapsed.len(), "wildcard", "wildcards")
                    ));
                }
                if let Some(w) = &p.past_wildcards {
                    s.push_str(&format!(
                        "; past wildcards here cost a median of {:.0} extra misses ({} measured)",
                        w.median_extra_misses, w.changes
                    ));
                }
                if p.exceeds_budget {
                    s.push_str("; a real request would pass the monthly budget and be refused");
                }
                Some(s)
            }
            Ended::Sent(b) => Some(format!(
                "{}{}",
                match &b.invalidation_id {
                    Some(id) => format!(
                        "{} sent in batch {} as CloudFront invalidation {id}",
                        crate::domain::text::count(b.items.len(), "path", "paths"),
                        b.id,
                    ),
                    None => format!(
                        "{} in batch {}, not yet accepted by CloudFront",
                        crate::domain::text::count(b.items.len(), "path", "paths"),
                        b.id
                    ),
                },
                b.note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            )),
        }
    }

    async fn cannot_stop(&self, job: &JobRecord) -> Result<Option<String>, StoreError> {
        Ok(match self.store.batch_of_job(job.id).await? {
            Some(b) if b.maybe_sent => Some(format!(
                "its paths were sent to CloudFront in batch {} ({}), and a CloudFront invalidation cannot be cancelled; it runs to completion",
                b.id,
                b.invalidation_id
                    .as_deref()
                    .unwrap_or("its answer is awaited")
            )),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoffs_grow_and_are_capped() {
        assert_eq!(
            [0, 1, 2, 5, 6, 30].map(send_backoff),
            [1000, 2000, 4000, 32000, 60000, 60000]
        );
        assert_eq!(
            [0, 1, 2, 3, 4, 9].map(track_backoff),
            [2000, 4000, 8000, 16000, 30000, 30000]
        );
    }
}
