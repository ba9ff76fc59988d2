//! The `redis_publish` job kind: one `PUBLISH channel message` on a Redis target, which an
//! event rule's `broadcast` submits so that application instances drop their in-process
//! copies. The number of subscribers Redis reports is the job's result. Publishing twice (a
//! retry after a lost answer) repeats a message whose handling is idempotent: dropping a
//! copy that is already gone.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Map, Value, json};

use crate::config::Settings;
use crate::domain::{Scope, TargetName};
use crate::jobs::registry::Deps;
use crate::jobs::{Executor, JobContext, Step, Validated};
use crate::redis_link::RedisLink;
use crate::service_error::ServiceError;
use crate::store::StoreError;
use crate::targets::redis::Config as RedisTarget;

/// The stored kind name.
pub const KIND: &str = "redis_publish";

const TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts before the job fails (the broadcast is worth little minutes late).
const ATTEMPTS: i64 = 5;

pub struct PublishExecutor {
    settings: Arc<Settings>,
}

impl PublishExecutor {
    pub fn new(deps: &Deps) -> Self {
        Self {
            settings: deps.settings.clone(),
        }
    }

    fn link(&self, target: &str) -> Option<RedisLink> {
        self.settings
            .targets
            .iter()
            .find(|t| t.name.as_str() == target)
            .and_then(|t| t.config::<RedisTarget>().map(|r| r.link(t.name.as_str())))
    }

    fn check(
        &self,
        target: &TargetName,
        request: &Value,
        now: i64,
    ) -> Result<Validated, ServiceError> {
        if self.link(target.as_str()).is_none() {
            return Err(ServiceError::invalid(
                "target",
                format!("{:?} is not a configured Redis target", target.as_str()),
            ));
        }
        let channel = request["channel"].as_str().unwrap_or_default();
        if channel.is_empty() || !request["message"].is_object() {
            return Err(ServiceError::invalid(
                "channel",
                "a broadcast needs a channel and a JSON object message",
            ));
        }
        Ok(Validated {
            request: json!({ "channel": channel, "message": request["message"] }),
            request_hash: crate::auth::hash_token(&request.to_string()),
            deadline_at: now + 10 * 60_000,
            run_after: now,
            dry_run: false,
        })
    }

    async fn publish(&self, ctx: &JobContext<'_>) -> Result<Step, StoreError> {
        let job = ctx.job;
        let Some(link) = self.link(&job.target) else {
            return Ok(Step::Failed(format!(
                "target {:?} is no longer a configured Redis target",
                job.target
            )));
        };
        ctx.started().await?;
        let channel = job.request["channel"].as_str().unwrap_or_default();
        let message = job.request["message"].to_string();
        let sent = async {
            let mut c = link.connect("", TIMEOUT).await.map_err(|e| e.0)?;
            redis::cmd("PUBLISH")
                .arg(channel)
                .arg(&message)
                .query_async::<i64>(&mut c)
                .await
                .map_err(|e| format!("PUBLISH failed: {e}"))
        };
        match sent.await {
            Ok(receivers) => Ok(Step::Completed(Some(json!({ "receivers": receivers })))),
            Err(e) if job.attempts + 1 >= ATTEMPTS || ctx.now >= job.deadline_at => {
                Ok(Step::Failed(e))
            }
            Err(e) => {
                tracing::warn!(job = job.id, error = %e, "A broadcast failed; retrying.");
                ctx.save_progress(&json!({ "last_error": e })).await?;
                Ok(Step::WaitUntil(
                    ctx.now + 2_000 * (1 << job.attempts.clamp(0, 4)),
                ))
            }
        }
    }
}

impl Executor for PublishExecutor {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn scope(&self) -> Scope {
        Scope::Purge
    }

    fn validate<'a>(
        &'a self,
        target: &'a TargetName,
        request: &'a Value,
        now: i64,
    ) -> BoxFuture<'a, Result<Validated, ServiceError>> {
        Box::pin(async move { self.check(target, request, now) })
    }

    fn step<'a>(&'a self, ctx: &'a JobContext<'a>) -> BoxFuture<'a, Result<Step, StoreError>> {
        Box::pin(self.publish(ctx))
    }

    fn describe(&self, job: &crate::store::JobRecord) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("channel".into(), job.request["channel"].clone());
        m
    }
}
