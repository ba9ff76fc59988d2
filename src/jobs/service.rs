//! Submit, get, list, wait for and cancel jobs: the rules callers go through (who may, what
//! is valid, what happens), whoever they are (API, dashboard, event rules).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::{Action, JobView, KindInfo, Runtime};
use crate::auth::Principal;
use crate::config::Settings;
use crate::domain::{CancelDecision, JobState, Scope, TargetName};
use crate::service_error::ServiceError;
use crate::store::{CancelRecorded, JobFilter, JobRecord, NewJob, Store, now_ms};

/// The longest wait honoured.
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only these kinds (empty: every kind).
    pub kinds: Vec<String>,
    pub target: Option<String>,
    pub state: Option<JobState>,
    pub parent_id: Option<i64>,
    pub before: Option<i64>,
    pub limit: u32,
}

/// A page of jobs, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobView>,
    /// Pass as `before` for the next page; absent on the last.
    pub next_before: Option<i64>,
}

/// What a cancel request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelOutcome {
    /// It had not started: cancelled now.
    Cancelled,
    /// It is working: it stops at its next safe point.
    CancelRequested,
}

#[derive(Debug, Clone, Serialize)]
pub struct CancelAnswer {
    pub outcome: CancelOutcome,
    pub message: String,
    pub job: JobView,
}

/// `who` may act with `scope` on every one of `targets`.
fn require_targets(who: &Principal, scope: Scope, targets: &[String]) -> Result<(), ServiceError> {
    for t in targets {
        let name = TargetName::parse(t)
            .map_err(|e| crate::store::StoreError::Corrupt(format!("job target {t:?}: {e}")))?;
        who.require_target(scope, &name)?;
    }
    Ok(())
}

pub struct JobService {
    store: Store,
    runtime: Arc<Runtime>,
}

impl JobService {
    pub fn new(store: Store, runtime: Arc<Runtime>) -> Self {
        Self { store, runtime }
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    fn view(&self, job: JobRecord) -> JobView {
        let executor = self.runtime.executor(&job.kind);
        let summary = executor.as_ref().and_then(|e| e.summary(&job));
        let meters = executor.map(|e| e.meters(&job)).unwrap_or_default();
        JobView {
            meters,
            ..JobView::new(job, summary)
        }
    }

    /// Every kind this build runs.
    pub fn kinds(&self) -> Vec<KindInfo> {
        self.runtime.kinds()
    }

    /// The kind of `action` that acts on `target` (the kind follows the target: a purge of a
    /// Memcached target is a `memcached_purge`). A target no kind of the action takes is
    /// refused, naming the kinds of target that action takes.
    pub fn kind_for(
        &self,
        settings: &Settings,
        action: Action,
        target: &str,
    ) -> Result<&'static str, ServiceError> {
        let of_action: Vec<KindInfo> = self
            .kinds()
            .into_iter()
            .filter(|k| k.action == action)
            .collect();
        let name = TargetName::parse(target)
            .map_err(|e| ServiceError::invalid("target", format!("{target:?} {e}")))?;
        let Some(t) = settings.target(&name) else {
            return Err(ServiceError::invalid(
                "target",
                format!("{target:?} is not a configured target"),
            ));
        };
        of_action
            .iter()
            .find(|k| k.serves(action, t.kind.name()))
            .map(|k| k.name)
            .ok_or_else(|| {
                let mut takes: Vec<&str> = of_action
                    .iter()
                    .flat_map(|k| k.target_kinds.iter().copied())
                    .collect();
                takes.sort_unstable();
                takes.dedup();
                ServiceError::invalid(
                    "target",
                    format!(
                        "{target:?} is a {} target; {} go to {} targets",
                        t.kind,
                        action.plural(),
                        takes.join(" and ")
                    ),
                )
            })
    }

    /// The targets `who` may start jobs of `action` on (a form's choices), by the scope of
    /// the kind each target takes. Refused when `who` may start no kind of that action.
    pub fn targets_for(
        &self,
        who: &Principal,
        settings: &Settings,
        action: Action,
    ) -> Result<Vec<String>, ServiceError> {
        let kinds: Vec<KindInfo> = self
            .kinds()
            .into_iter()
            .filter(|k| k.action == action)
            .collect();
        if let Some(k) = kinds
            .first()
            .filter(|_| kinds.iter().all(|k| who.require(k.scope).is_err()))
        {
            who.require(k.scope)?;
        }
        Ok(settings
            .targets
            .iter()
            .filter(|t| {
                kinds.iter().any(|k| {
                    k.serves(action, t.kind.name()) && who.require_target(k.scope, &t.name).is_ok()
                })
            })
            .map(|t| t.name.to_string())
            .collect())
    }

    /// Stores a job of `kind` on `target` for `who`, or answers with the job already stored
    /// under the same idempotency key: `(job, created)`.
    pub async fn submit(
        &self,
        who: &Principal,
        kind: &str,
        target: &str,
        request: &Value,
        idempotency_key: Option<String>,
    ) -> Result<(JobView, bool), ServiceError> {
        let exec = self.runtime.executor(kind).ok_or_else(|| {
            ServiceError::invalid(
                "kind",
                format!(
                    "{kind:?} is not a job kind; the kinds are {}",
                    self.kinds()
                        .iter()
                        .map(|k| k.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let info = exec.info();
        who.require(info.scope)?;
        let name = TargetName::parse(target)
            .map_err(|e| ServiceError::invalid("target", format!("{target:?} {e}")))?;
        let spans = info.target_kinds.is_empty();
        if !spans {
            who.require_target(info.scope, &name)?;
        }
        let now = now_ms();
        let v = exec.validate(&name, request, now).await?;
        if spans {
            require_targets(who, info.scope, &exec.targets(target, &v.request))?;
        }
        let new = NewJob {
            kind: info.name,
            target: name.to_string(),
            requester: who.name.to_string(),
            idempotency_key,
            request_hash: v.request_hash,
            request: v.request,
            deadline_at: v.deadline_at,
            run_after: v.run_after,
            dry_run: v.dry_run,
            parent_id: None,
        };
        let (job, created) = self.store.create_job(&new, now).await?;
        if created {
            self.runtime.wake();
        }
        Ok((self.view(job), created))
    }

    /// Stores a job of the kind of `action` that acts on `target` (see [`Self::kind_for`]).
    pub async fn submit_action(
        &self,
        who: &Principal,
        settings: &Settings,
        action: Action,
        target: &str,
        request: &Value,
        idempotency_key: Option<String>,
    ) -> Result<(JobView, bool), ServiceError> {
        // Who may act is checked before what the target is, so a limited caller cannot probe
        // which targets exist.
        let scope = self
            .kinds()
            .iter()
            .find(|k| k.action == action)
            .map_or(Scope::Admin, |k| k.scope);
        who.require(scope)?;
        if let Ok(name) = TargetName::parse(target) {
            who.require_target(scope, &name)?;
        }
        let kind = self.kind_for(settings, action, target)?;
        self.submit(who, kind, target, request, idempotency_key)
            .await
    }

    /// One job `who` may read (of `kind`, when the route is a kind's own).
    pub async fn get(
        &self,
        who: &Principal,
        id: i64,
        kinds: &[&str],
    ) -> Result<JobView, ServiceError> {
        self.record(who, id, kinds).await.map(|j| self.view(j))
    }

    async fn record(
        &self,
        who: &Principal,
        id: i64,
        kinds: &[&str],
    ) -> Result<JobRecord, ServiceError> {
        who.require(Scope::Read)?;
        let Some(job) = self
            .store
            .job(id)
            .await?
            .filter(|j| kinds.is_empty() || kinds.contains(&j.kind.as_str()))
        else {
            who.missing(&format!("job {id}"))?;
            return Err(ServiceError::NotFound(format!("no job {id}")));
        };
        let targets = match self.runtime.executor(&job.kind) {
            Some(e) => e.targets(&job.target, &job.request),
            None => vec![job.target.clone()],
        };
        require_targets(who, Scope::Read, &targets)?;
        Ok(job)
    }

    /// Jobs `who` may read, newest first.
    pub async fn list(&self, who: &Principal, q: &ListQuery) -> Result<JobList, ServiceError> {
        who.require(Scope::Read)?;
        let kinds = q
            .kinds
            .iter()
            .map(|k| {
                self.runtime
                    .executor(k)
                    .map(|e| e.info().name)
                    .ok_or_else(|| {
                        ServiceError::invalid("kind", format!("{k:?} is not a job kind"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let filter = JobFilter {
            kinds,
            target: q.target.clone(),
            state: q.state,
            parent_id: q.parent_id,
            targets: (!who.targets.is_empty()).then(|| who.targets.clone()),
            before_id: q.before,
            limit: q.limit,
        };
        let jobs = self.store.list_jobs(&filter).await?;
        let next_before = (jobs.len() == q.limit as usize)
            .then(|| jobs.last().map(|j| j.id))
            .flatten();
        Ok(JobList {
            jobs: jobs.into_iter().map(|j| self.view(j)).collect(),
            next_before,
        })
    }

    /// The job once it is final, or once its state is no longer `seen`, or after `wait`.
    pub async fn wait(
        &self,
        who: &Principal,
        id: i64,
        kinds: &[&str],
        wait: Duration,
        seen: Option<JobState>,
    ) -> Result<JobView, ServiceError> {
        let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
        let events = self.runtime.events();
        loop {
            // Registered before reading, so a change between the read and the wait wakes it.
            let changed = events.notified();
            let job = self.record(who, id, kinds).await?;
            let moved = seen.is_some_and(|s| s != job.state);
            if job.state.is_final() || moved || tokio::time::Instant::now() >= deadline {
                return Ok(self.view(job));
            }
            // Woken when a worker here changes a job; polling covers workers on other replicas.
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = tokio::time::sleep_until(deadline) => {}
            }
        }
    }

    /// Cancels a queued job at once; asks a running one to stop at its next safe point;
    /// refuses (conflict) a final job, or a running one whose kind says it can no longer stop.
    pub async fn cancel(
        &self,
        who: &Principal,
        id: i64,
        kinds: &[&str],
    ) -> Result<CancelAnswer, ServiceError> {
        let job = self.record(who, id, kinds).await?;
        let exec = self.runtime.executor(&job.kind);
        who.require_target(
            exec.as_ref().map_or(Scope::Admin, |e| e.info().scope),
            &TargetName::parse(&job.target)
                .map_err(|e| crate::store::StoreError::Corrupt(format!("job {id} target: {e}")))?,
        )?;
        if job.state.on_cancel() == CancelDecision::Requested
            && let Some(exec) = &exec
            && let Some(why) = exec.cannot_stop(&job).await?
        {
            return Err(ServiceError::Conflict {
                code: "not_cancellable",
                message: format!("job {id} cannot be cancelled: {why}"),
            });
        }
        let recorded = match job.state.on_cancel() {
            CancelDecision::AlreadyFinal => CancelRecorded::Unchanged,
            _ => {
                self.store
                    .request_cancel(id, who.name.as_str(), now_ms())
                    .await?
            }
        };
        let job = self.record(who, id, kinds).await?;
        let (outcome, message) = match recorded {
            CancelRecorded::Cancelled => (
                CancelOutcome::Cancelled,
                format!("job {id} was cancelled before it started"),
            ),
            CancelRecorded::Requested => {
                self.runtime.wake();
                (
                    CancelOutcome::CancelRequested,
                    format!(
                        "job {id} is running; it stops at its next safe point (follow it to see it end)"
                    ),
                )
            }
            CancelRecorded::Unchanged => {
                return Err(ServiceError::Conflict {
                    code: "already_final",
                    message: format!("job {id} already ended: it is {}", job.state),
                });
            }
        };
        Ok(CancelAnswer {
            outcome,
            message,
            job: self.view(job),
        })
    }
}
