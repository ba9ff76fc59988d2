//! What operators read about the daemon itself rather than a target: whether this replica
//! can take work (`/readyz`), the event streams it reads, and what invalidations cost this
//! month.

use std::sync::Arc;

use serde::Serialize;

use crate::auth::Principal;
use crate::cloudfront::cost::{MonthlyCost, month_of, monthly};
use crate::domain::Scope;
use crate::leader::Leadership;
use crate::live::Live;
use crate::service_error::ServiceError;
use crate::store::health::Unavailable;
use crate::store::{Store, now_ms};
use crate::streams::StreamStatus;

/// This replica's readiness.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: &'static str,
    /// `leader` (polls, evaluates, rolls up) or `follower`.
    pub role: &'static str,
    /// Each dependency's state: `database` is `ok`, `unreachable` or `unavailable`.
    pub checks: std::collections::BTreeMap<&'static str, &'static str>,
    /// Why it is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.reason.is_none()
    }
}

/// One event stream, with where each shard was read up to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StreamView {
    #[serde(flatten)]
    pub status: StreamStatus,
    pub shards: Vec<ShardView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShardView {
    pub shard_id: String,
    /// The last sequence number read.
    pub sequence: Option<String>,
    /// The shard was closed and read to its end.
    pub finished: bool,
}

pub struct OperationsService {
    store: Store,
    live: Arc<Live>,
    leader: Leadership,
}

impl OperationsService {
    pub fn new(store: Store, live: Arc<Live>, leader: Leadership) -> Self {
        Self {
            store,
            live,
            leader,
        }
    }

    /// The sample tables' sizes and the closed chunks' bytes per sample (measured at most
    /// every five minutes).
    pub async fn store_size(&self) -> Result<crate::store::StoreSize, crate::store::StoreError> {
        self.store.size().await
    }

    /// Whether the database takes writes now (a small write within 2 s, and no full disk or
    /// I/O error in the last seconds).
    pub async fn readiness(&self) -> Readiness {
        let role = if self.leader.is_leader() {
            "leader"
        } else {
            "follower"
        };
        match self.store.probe_write().await {
            Ok(()) => Readiness {
                status: "ready",
                role,
                checks: [("database", "ok")].into(),
                reason: None,
            },
            Err((why, reason)) => Readiness {
                status: "unavailable",
                role,
                checks: [(
                    "database",
                    match why {
                        Unavailable::NoConnection => "unreachable",
                        _ => "unavailable",
                    },
                )]
                .into(),
                reason: Some(reason),
            },
        }
    }

    /// The event streams read (scope read), each with its shards' checkpoints.
    pub async fn streams(&self, who: &Principal) -> Result<Vec<StreamView>, ServiceError> {
        who.require(Scope::Read)?;
        let mut out = Vec::new();
        for s in self.live.streams().iter() {
            let shards = self
                .store
                .stream_checkpoints(s.name())
                .await?
                .into_iter()
                .map(|c| ShardView {
                    shard_id: c.shard_id,
                    sequence: c.sequence,
                    finished: c.finished,
                })
                .collect();
            out.push(StreamView {
                status: s.status(),
                shards,
            });
        }
        Ok(out)
    }

    /// What the configured CloudWatch polling costs a month (scope read).
    pub fn cloudwatch_cost(
        &self,
        who: &Principal,
    ) -> Result<crate::collector::cost::CostEstimate, ServiceError> {
        who.require(Scope::Read)?;
        Ok(crate::collector::cost::estimate(&self.live.settings()))
    }

    /// The paths billed this month and their estimated cost (scope read).
    pub async fn invalidation_cost(&self, who: &Principal) -> Result<MonthlyCost, ServiceError> {
        who.require(Scope::Read)?;
        let month = month_of(now_ms());
        let billed = self.store.billed_paths(&month).await?;
        Ok(monthly(month, billed, &self.live.settings().invalidation))
    }
}
