//! The `event` job kind. Validating an event renders every matching rule into child
//! requests and validates each with its own kind, so a bad event is refused (400, naming the
//! field) before anything is stored. Its first step submits the children (one per tier
//! action, keyed by the event's id and their position, so a repeated step creates nothing
//! twice); later steps follow them, and the event ends when they all have: completed when
//! every child did, failed naming those that did not.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::render::{self, Place, RenderError};
use crate::config::{RuleSettings, Settings};
use crate::domain::{Scope, TargetName};
use crate::jobs::registry::Deps;
use crate::jobs::{Executor, JobContext, Step, Validated};
use crate::service_error::ServiceError;
use crate::store::{JobFilter, JobRecord, NewJob, StoreError};

/// The stored kind name.
pub const KIND: &str = "event";

/// When a running event looks at its children without being woken. A child that ends wakes
/// its event at once; this covers a wake that came while the event was being stepped, and
/// children ended together by a CloudFront batch.
const FOLLOW_MS: i64 = 5_000;

/// One child as validated at submission, created by the first step.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Child {
    kind: String,
    target: String,
    request: Value,
    request_hash: String,
    deadline_at: i64,
    run_after: i64,
}

pub struct EventExecutor {
    settings: Arc<Settings>,
    /// The kinds children are made of, to validate them as their own submissions are.
    tiers: Vec<Arc<dyn Executor>>,
}

/// Drops repeats, keeping the first of each in place.
fn dedup(items: &mut Vec<Value>) {
    let mut seen = std::collections::HashSet::new();
    items.retain(|v| seen.insert(v.to_string()));
}

fn invalid(e: RenderError) -> ServiceError {
    ServiceError::invalid(e.field, e.message)
}

impl EventExecutor {
    pub fn new(deps: &Deps, tiers: Vec<Arc<dyn Executor>>) -> Self {
        Self {
            settings: deps.settings.clone(),
            tiers,
        }
    }

    fn tier(&self, kind: &str) -> Option<&Arc<dyn Executor>> {
        self.tiers.iter().find(|e| e.kind() == kind)
    }

    /// Every tier action of `rule`, rendered: (kind, target, request).
    fn actions(
        &self,
        rule: &RuleSettings,
        fields: &std::collections::BTreeMap<String, String>,
    ) -> Result<Vec<(&'static str, String, Value)>, ServiceError> {
        let each = |items: &[String], place| -> Result<Vec<String>, ServiceError> {
            items
                .iter()
                .map(|t| render::render(t, fields, place).map_err(invalid))
                .collect()
        };
        let mut out = Vec::new();
        let (mut keys, mut tags) = (Vec::new(), Vec::new());
        for a in &rule.redis {
            let memcached = self
                .settings
                .target(&a.target)
                .is_some_and(|t| t.kind.name() == "memcached");
            let request = json!({
                "keys": each(&a.keys, Place::Exact)?,
                "patterns": each(&a.patterns, Place::Pattern)?,
                "tags": each(&a.tags, Place::Exact)?,
            });
            keys.extend(request["keys"].as_array().cloned().unwrap_or_default());
            tags.extend(request["tags"].as_array().cloned().unwrap_or_default());
            let kind = if memcached {
                crate::purge::memcached::KIND
            } else {
                crate::purge::redis::KIND
            };
            out.push((kind, a.target.to_string(), request));
        }
        for a in &rule.cloudfront {
            let mut items = each(&a.paths, Place::Path)?;
            for t in &a.tags {
                let tag = render::render(t.trim_start_matches('#'), fields, Place::CacheTag)
                    .map_err(invalid)?;
                tags.push(json!(tag));
                items.push(format!("#{tag}"));
            }
            out.push((
                crate::cloudfront::KIND,
                a.target.to_string(),
                json!({ "items": items }),
            ));
        }
        if let Some(b) = &rule.broadcast {
            // `event_id` and `at` are filled in when the child is created.
            dedup(&mut keys);
            dedup(&mut tags);
            let message = json!({ "event": rule.event, "keys": keys, "tags": tags });
            out.push((
                super::publish::KIND,
                b.target.to_string(),
                json!({ "channel": b.channel, "message": message }),
            ));
        }
        Ok(out)
    }

    async fn check(
        &self,
        event_type: &TargetName,
        request: &Value,
        now: i64,
    ) -> Result<Validated, ServiceError> {
        let fields = render::fields(&request["data"]).map_err(invalid)?;
        let rules: Vec<&RuleSettings> = self
            .settings
            .rules
            .iter()
            .filter(|r| r.event == event_type.as_str())
            .collect();
        if rules.is_empty() {
            return Err(ServiceError::invalid(
                "type",
                format!("no rule handles events of type {:?}", event_type.as_str()),
            ));
        }
        let mut children = Vec::new();
        for rule in rules {
            for (kind, target, child) in self.actions(rule, &fields)? {
                let exec = self.tier(kind).ok_or_else(|| {
                    ServiceError::invalid("type", format!("{kind} jobs are not available"))
                })?;
                let name = TargetName::parse(&target)
                    .map_err(|e| ServiceError::invalid("target", e.to_string()))?;
                let v = exec.validate(&name, &child, now).await.map_err(|e| {
                    // Say which action refused: the rule is the operator's, the data the caller's.
                    match e {
                        ServiceError::Invalid {
                            code,
                            field,
                            message,
                            details,
                        } => ServiceError::Invalid {
                            code,
                            field,
                            message: format!(
                                "the {kind} on {target} that a rule makes of this event: {message}"
                            ),
                            details,
                        },
                        other => other,
                    }
                })?;
                children.push(Child {
                    kind: kind.to_owned(),
                    target,
                    request: v.request,
                    request_hash: v.request_hash,
                    deadline_at: v.deadline_at,
                    run_after: v.run_after,
                });
            }
        }
        let deadline_at = children.iter().map(|c| c.deadline_at).max().unwrap_or(now);
        let canonical = json!({ "type": event_type.as_str(), "data": request["data"] });
        Ok(Validated {
            request_hash: crate::auth::hash_token(&canonical.to_string()),
            request: json!({
                "type": event_type.as_str(),
                "data": request["data"],
                "children": children,
            }),
            deadline_at,
            run_after: now,
            dry_run: false,
        })
    }

    /// Submits every child, each keyed by the event and its position: a repeat (the step
    /// ran again after a crash) finds the children already there.
    async fn make_children(
        &self,
        ctx: &JobContext<'_>,
        children: &[Child],
    ) -> Result<(), StoreError> {
        let job = ctx.job;
        for (i, c) in children.iter().enumerate() {
            let Some(kind) = self.tier(&c.kind).map(|e| e.kind()) else {
                continue;
            };
            let mut request = c.request.clone();
            if kind == super::publish::KIND {
                request["message"]["event_id"] = json!(job.id);
                request["message"]["at"] = json!(job.created_at);
            }
            let new = NewJob {
                kind,
                target: c.target.clone(),
                requester: job.requester.clone(),
                idempotency_key: Some(format!("event-{}-{i}", job.id)),
                request_hash: c.request_hash.clone(),
                request,
                deadline_at: c.deadline_at,
                run_after: c.run_after.max(job.created_at),
                dry_run: false,
                parent_id: Some(job.id),
            };
            ctx.store.create_job(&new, ctx.now).await?;
        }
        Ok(())
    }

    async fn run_step(&self, ctx: &JobContext<'_>) -> Result<Step, StoreError> {
        let job = ctx.job;
        let children: Vec<Child> = serde_json::from_value(job.request["children"].clone())
            .map_err(|e| StoreError::Corrupt(format!("event {} children: {e}", job.id)))?;
        if job.started_at.is_none() {
            ctx.started().await?;
        }
        // Once made (and recorded), the children are only followed.
        if job.progress.is_none() {
            self.make_children(ctx, &children).await?;
            ctx.save_progress(&json!({ "children": children.len() }))
                .await?;
        }
        let made = ctx
            .store
            .list_jobs(&JobFilter {
                parent_id: Some(job.id),
                limit: children.len() as u32 + 1,
                ..JobFilter::default()
            })
            .await?;
        if made.len() < children.len() || made.iter().any(|c| !c.state.is_final()) {
            return Ok(Step::WaitUntil(ctx.now + FOLLOW_MS));
        }
        let failed: Vec<String> = made
            .iter()
            .filter(|c| c.state != crate::domain::JobState::Completed)
            .map(|c| {
                format!(
                    "{} #{} on {}: {}",
                    c.kind,
                    c.id,
                    c.target,
                    c.error.as_deref().unwrap_or(c.state.as_str())
                )
            })
            .collect();
        let summary = json!({ "children": made.len(), "failed": failed.len() });
        if failed.is_empty() {
            Ok(Step::Completed(Some(summary)))
        } else {
            Ok(Step::Failed(format!(
                "{} of {} children did not complete: {}",
                failed.len(),
                made.len(),
                failed.join("; ")
            )))
        }
    }
}

impl Executor for EventExecutor {
    fn kind(&self) -> &'static str {
        KIND
    }

    /// Rules are the operator's: the caller needs `invalidate`, and its target limits must
    /// cover every target the event's children act on.
    fn scope(&self) -> Scope {
        Scope::Invalidate
    }

    fn spans_targets(&self) -> bool {
        true
    }

    fn targets(&self, _target: &str, request: &Value) -> Vec<String> {
        let mut t: Vec<String> = request["children"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["target"].as_str().map(str::to_owned))
            .collect();
        t.sort();
        t.dedup();
        t
    }

    fn validate<'a>(
        &'a self,
        target: &'a TargetName,
        request: &'a Value,
        now: i64,
    ) -> BoxFuture<'a, Result<Validated, ServiceError>> {
        Box::pin(self.check(target, request, now))
    }

    fn step<'a>(&'a self, ctx: &'a JobContext<'a>) -> BoxFuture<'a, Result<Step, StoreError>> {
        Box::pin(self.run_step(ctx))
    }

    fn cannot_stop<'a>(
        &'a self,
        job: &'a JobRecord,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        let started = job.started_at.is_some();
        Box::pin(async move {
            Ok(started.then(|| {
                "its children are already submitted; cancel them one by one (GET /api/v1/jobs?parent=ID)"
                    .to_owned()
            }))
        })
    }

    fn describe(&self, job: &JobRecord) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("type".into(), job.request["type"].clone());
        m.insert("data".into(), job.request["data"].clone());
        m.insert(
            "targets".into(),
            json!(self.targets(&job.target, &job.request)),
        );
        m
    }
}
