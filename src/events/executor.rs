//! The `event` job kind. Validating an event renders every matching rule into child
//! requests and validates each with its own kind, so a bad event is refused (400, naming the
//! field) before anything is stored. Its first step submits the children (one per tier
//! action, keyed by the event's id and their position, so a repeated step creates nothing
//! twice); later steps follow them, and the event ends when they all have: completed when
//! every child did, failed naming those that did not.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::{RuleSettings, Settings};
use crate::domain::template::{self, RenderError};
use crate::domain::{Scope, TargetName};
use crate::jobs::{Accepted, Action, Ctx, Deps, Executor, JobKind, Outcome, Peers};
use crate::service_error::ServiceError;
use crate::store::{JobFilter, JobRecord, NewJob, StoreError};

/// The stored kind name.
pub const KIND: &str = <Event as JobKind>::NAME;

/// A domain event; its type stands where other kinds have a target.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EventRequest)]
pub struct Request {
    /// The event's fields, which the rules' `{field}` templates are filled from.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Value,
    /// The type, as stored (the job's target).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub event_type: Option<String>,
    /// What the rules made of it, as stored when it was accepted (anything sent is replaced).
    #[serde(default)]
    #[schema(read_only)]
    pub children: Vec<Child>,
}

/// How far an event is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = EventProgress)]
pub struct Progress {
    /// Jobs made (the children exist from the first step on).
    pub children: u64,
}

/// How an event ended.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = EventResult)]
pub struct Done {
    pub children: u64,
    /// Children that did not complete.
    pub failed: u64,
}

/// When a running event looks at its children without being woken. A child that ends wakes
/// its event at once; this covers a wake that came while the event was being stepped, and
/// children ended together by a CloudFront batch.
const FOLLOW_MS: i64 = 5_000;

/// One child as validated at submission, created by the first step.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = EventChild)]
pub struct Child {
    pub kind: String,
    pub target: String,
    #[schema(value_type = Object)]
    pub request: Value,
    pub request_hash: String,
    pub deadline_at: i64,
    pub run_after: i64,
}

pub struct Event {
    settings: Arc<Settings>,
    /// The kinds children are made of, to validate them as their own submissions are.
    peers: Peers,
}

/// Drops repeats, keeping the first of each in place.
fn dedup(items: &mut Vec<Value>) {
    let mut seen = std::collections::HashSet::new();
    items.retain(|v| seen.insert(v.to_string()));
}

fn invalid(e: RenderError) -> ServiceError {
    ServiceError::invalid(e.field, e.message)
}

impl Event {
    /// The kind of `action` that acts on `target` (the kind follows the target's kind).
    fn kind_for(&self, action: Action, target: &TargetName) -> Option<Arc<dyn Executor>> {
        let kind = self.settings.target(target)?.kind;
        self.peers
            .all()
            .into_iter()
            .find(|e| e.info().serves(action, kind.name()))
    }

    /// Every tier action of `rule`, rendered: (action, target, request).
    fn actions(
        &self,
        rule: &RuleSettings,
        fields: &std::collections::BTreeMap<String, String>,
    ) -> Result<Vec<(Action, TargetName, Value)>, ServiceError> {
        let mut out = Vec::new();
        let (mut keys, mut tags) = (Vec::new(), Vec::new());
        for entry in &rule.actions {
            for (target, action) in entry.on(&self.settings.targets) {
                let r = action.render(fields).map_err(invalid)?;
                keys.extend(r.keys.into_iter().map(Value::String));
                tags.extend(r.tags.into_iter().map(Value::String));
                out.push((r.action, target, r.request));
            }
        }
        if let Some(b) = &rule.broadcast {
            // `event_id` and `at` are filled in when the child is created.
            dedup(&mut keys);
            dedup(&mut tags);
            let message = json!({ "event": rule.event, "keys": keys, "tags": tags });
            out.push((
                Action::Broadcast,
                b.target.clone(),
                json!({ "channel": b.channel, "message": message }),
            ));
        }
        Ok(out)
    }

    async fn check(
        &self,
        event_type: &TargetName,
        request: Request,
        now: i64,
    ) -> Result<Accepted<Request>, ServiceError> {
        let fields = template::fields(&request.data).map_err(invalid)?;
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
            for (action, target, child) in self.actions(rule, &fields)? {
                let exec = self.kind_for(action, &target).ok_or_else(|| {
                    ServiceError::invalid(
                        "type",
                        format!(
                            "no kind of {} acts on {} (a rule of this event names it)",
                            action.plural(),
                            target.as_str()
                        ),
                    )
                })?;
                let kind = exec.info().name;
                let v = exec.validate(&target, &child, now).await.map_err(|e| {
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
                    target: target.to_string(),
                    request: v.request,
                    request_hash: v.request_hash,
                    deadline_at: v.deadline_at,
                    run_after: v.run_after,
                });
            }
        }
        let deadline_at = children.iter().map(|c| c.deadline_at).max().unwrap_or(now);
        Ok(Accepted {
            canonical: json!({ "type": event_type.as_str(), "data": request.data }),
            request: Request {
                data: request.data,
                event_type: Some(event_type.to_string()),
                children,
            },
            deadline_at,
            run_after: now,
            dry_run: false,
        })
    }

    /// Submits every child, each keyed by the event and its position: a repeat (the step
    /// ran again after a crash) finds the children already there.
    async fn make_children(
        &self,
        ctx: &Ctx<'_, Self>,
        children: &[Child],
    ) -> Result<(), StoreError> {
        let job = ctx.job;
        for (i, c) in children.iter().enumerate() {
            let Some(info) = self.peers.get(&c.kind).map(|e| e.info()) else {
                continue;
            };
            let kind = info.name;
            let mut request = c.request.clone();
            if info.action == Action::Broadcast {
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

    async fn run_step(&self, ctx: &Ctx<'_, Self>) -> Result<Outcome<Done>, StoreError> {
        let job = ctx.job;
        let children = &ctx.request.children;
        if job.started_at.is_none() {
            ctx.started().await?;
        }
        // Once made (and recorded), the children are only followed.
        if ctx.progress.is_none() {
            self.make_children(ctx, children).await?;
            ctx.save_progress(&Progress {
                children: children.len() as u64,
            })
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
            return Ok(Outcome::WaitUntil(ctx.now + FOLLOW_MS));
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
        if failed.is_empty() {
            Ok(Outcome::Completed(Some(Done {
                children: made.len() as u64,
                failed: 0,
            })))
        } else {
            Ok(Outcome::Failed(format!(
                "{} of {} children did not complete: {}",
                failed.len(),
                made.len(),
                failed.join("; ")
            )))
        }
    }
}

impl JobKind for Event {
    const NAME: &'static str = "event";
    const LABEL: &'static str = "event";
    const ACTION: Action = Action::Event;
    /// Rules are the operator's: the caller needs `invalidate`, and its target limits must
    /// cover every target the event's children act on.
    const SCOPE: Scope = Scope::Invalidate;
    /// It spans the targets its rules name.
    const TARGET_KINDS: &'static [&'static str] = &[];

    type Request = Request;
    type Progress = Progress;
    type Result = Done;

    fn new(deps: &Deps) -> Self {
        Self {
            settings: deps.settings.clone(),
            peers: deps.peers.clone(),
        }
    }

    fn targets(&self, _target: &str, request: &Request) -> Vec<String> {
        let mut t: Vec<String> = request.children.iter().map(|c| c.target.clone()).collect();
        t.sort();
        t.dedup();
        t
    }

    async fn validate(
        &self,
        target: &TargetName,
        request: Request,
        now: i64,
    ) -> Result<Accepted<Request>, ServiceError> {
        self.check(target, request, now).await
    }

    async fn step(&self, ctx: &Ctx<'_, Self>) -> Result<Outcome<Done>, StoreError> {
        self.run_step(ctx).await
    }

    async fn cannot_stop(&self, job: &JobRecord) -> Result<Option<String>, StoreError> {
        Ok(job.started_at.is_some().then(|| {
            "its children are already submitted; cancel them one by one (GET /api/v1/jobs?parent=ID)"
                .to_owned()
        }))
    }
}
