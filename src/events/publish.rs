//! The `redis_publish` job kind: one `PUBLISH channel message` on a Redis target, which an
//! event rule's `broadcast` submits so that application instances drop their in-process
//! copies. The number of subscribers Redis reports is the job's result. Publishing twice (a
//! retry after a lost answer) repeats a message whose handling is idempotent: dropping a
//! copy that is already gone.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::Settings;
use crate::domain::{Scope, TargetName};
use crate::jobs::{Accepted, Action, Ctx, Deps, JobKind, Outcome};
use crate::redis_link::RedisLink;
use crate::service_error::ServiceError;
use crate::store::StoreError;
use crate::targets::redis::Config as RedisTarget;

const TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts before the job fails (the broadcast is worth little minutes late).
const ATTEMPTS: i64 = 5;

/// A message to publish.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = BroadcastRequest)]
pub struct Request {
    /// The pub/sub channel application instances listen on.
    #[schema(min_length = 1)]
    pub channel: String,
    /// What they read: the event, the keys and tags it touched, its id and time.
    #[schema(value_type = Object)]
    pub message: Map<String, Value>,
}

/// Where a broadcast that could not be sent yet stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = BroadcastProgress)]
pub struct Progress {
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// What Redis answered.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = BroadcastResult)]
pub struct Sent {
    /// Subscribers that received the message.
    pub receivers: i64,
}

pub struct Publish {
    settings: Arc<Settings>,
}

impl Publish {
    fn link(&self, target: &str) -> Option<RedisLink> {
        self.settings
            .targets
            .iter()
            .find(|t| t.name.as_str() == target)
            .and_then(|t| t.config::<RedisTarget>().map(|r| r.link(t.name.as_str())))
    }
}

impl JobKind for Publish {
    const NAME: &'static str = "redis_publish";
    const LABEL: &'static str = "broadcast";
    const ACTION: Action = Action::Broadcast;
    const SCOPE: Scope = Scope::Purge;
    const TARGET_KINDS: &'static [&'static str] = &["redis"];

    type Request = Request;
    type Progress = Progress;
    type Result = Sent;

    fn new(deps: &Deps) -> Self {
        Self {
            settings: deps.settings.clone(),
        }
    }

    async fn validate(
        &self,
        target: &TargetName,
        request: Request,
        now: i64,
    ) -> Result<Accepted<Request>, ServiceError> {
        if self.link(target.as_str()).is_none() {
            return Err(ServiceError::invalid(
                "target",
                format!("{:?} is not a configured Redis target", target.as_str()),
            ));
        }
        if request.channel.is_empty() {
            return Err(ServiceError::invalid("channel", "must not be empty"));
        }
        Ok(Accepted {
            canonical: serde_json::to_value(&request).unwrap_or_default(),
            request,
            deadline_at: now + 10 * 60_000,
            run_after: now,
            dry_run: false,
        })
    }

    async fn step(&self, ctx: &Ctx<'_, Self>) -> Result<Outcome<Sent>, StoreError> {
        let job = ctx.job;
        let Some(link) = self.link(&job.target) else {
            return Ok(Outcome::Failed(format!(
                "target {:?} is no longer a configured Redis target",
                job.target
            )));
        };
        ctx.started().await?;
        let message = Value::Object(ctx.request.message.clone()).to_string();
        let sent = async {
            let mut c = link.connect("", TIMEOUT).await.map_err(|e| e.0)?;
            redis::cmd("PUBLISH")
                .arg(&ctx.request.channel)
                .arg(&message)
                .query_async::<i64>(&mut c)
                .await
                .map_err(|e| format!("PUBLISH failed: {e}"))
        };
        match sent.await {
            Ok(receivers) => Ok(Outcome::Completed(Some(Sent { receivers }))),
            Err(e) if job.attempts + 1 >= ATTEMPTS || ctx.now >= job.deadline_at => {
                Ok(Outcome::Failed(e))
            }
            Err(e) => {
                tracing::warn!(job = job.id, error = %e, "A broadcast failed; retrying.");
                ctx.save_progress(&Progress {
                    last_error: Some(e),
                })
                .await?;
                Ok(Outcome::WaitUntil(
                    ctx.now + 2_000 * (1 << job.attempts.clamp(0, 4)),
                ))
            }
        }
    }
}
