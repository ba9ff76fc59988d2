//! The targets `[[discover]]` found, and each discovery's runs. A run's targets and its record
//! are written in one transaction, so a crash leaves either the set before the run or the set
//! after it, never half of each.

use serde_json::Value;

use super::columns::JsonText;
use super::{Store, StoreError, inserted_row};
use crate::domain::DiscoveryOutcome;

/// A target a discovery found, as kept between runs.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct KnownTarget {
    pub name: String,
    pub discovery: String,
    pub kind: String,
    pub account_id: String,
    /// The role the account is reached through; empty: the default credentials.
    pub role_arn: String,
    pub region: String,
    /// What its kind found (`targets::Found` as JSON).
    #[sqlx(try_from = "JsonText")]
    pub found: Value,
    /// Discoveries in a row that did not find it.
    pub misses: i64,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// One run of a discovery.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DiscoveryRun {
    pub id: i64,
    pub discovery: String,
    pub started_at: i64,
    pub finished_at: i64,
    #[sqlx(try_from = "String")]
    pub outcome: DiscoveryOutcome,
    /// Targets it knows after the run.
    pub targets: i64,
    /// Added, removed, changed, missing (once so far), and the errors of what did not answer.
    #[sqlx(try_from = "JsonText")]
    pub diff: Value,
}

/// A run to record, with the rows it writes and the names it removes.
#[derive(Debug, Clone)]
pub struct NewDiscoveryRun<'a> {
    pub discovery: &'a str,
    pub started_at: i64,
    pub finished_at: i64,
    pub outcome: DiscoveryOutcome,
    pub targets: i64,
    pub diff: &'a Value,
    pub upserts: &'a [KnownTarget],
    pub removed: &'a [String],
}

impl Store {
    /// Every discovered target, of every discovery.
    pub async fn discovered_targets(&self) -> Result<Vec<KnownTarget>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, discovery, kind, account_id, role_arn, region, found, misses, first_seen, last_seen \
             FROM discovered_targets ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Records a run: its targets written, the removed ones deleted, the run appended. Returns
    /// the run's id.
    pub async fn record_discovery(&self, run: &NewDiscoveryRun<'_>) -> Result<i64, StoreError> {
        let mut tx = self.pool().begin().await?;
        for t in run.upserts {
            sqlx::query(
                "INSERT INTO discovered_targets (name, discovery, kind, account_id, role_arn, region, found, misses, first_seen, last_seen) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (name) DO UPDATE SET discovery = excluded.discovery, kind = excluded.kind, \
                 account_id = excluded.account_id, role_arn = excluded.role_arn, region = excluded.region, \
                 found = excluded.found, misses = excluded.misses, last_seen = excluded.last_seen",
            )
            .bind(&t.name)
            .bind(&t.discovery)
            .bind(&t.kind)
            .bind(&t.account_id)
            .bind(&t.role_arn)
            .bind(&t.region)
            .bind(t.found.to_string())
            .bind(t.misses)
            .bind(t.first_seen)
            .bind(t.last_seen)
            .execute(&mut *tx)
            .await?;
        }
        for name in run.removed {
            sqlx::query("DELETE FROM discovered_targets WHERE name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        let id = sqlx::query_scalar(
            "INSERT INTO discovery_runs (discovery, started_at, finished_at, outcome, targets, diff) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(run.discovery)
        .bind(run.started_at)
        .bind(run.finished_at)
        .bind(run.outcome.as_str())
        .bind(run.targets)
        .bind(run.diff.to_string())
        .fetch_all(&mut *tx)
        .await
        .and_then(inserted_row)?;
        tx.commit().await?;
        Ok(id)
    }

    /// Forgets the targets of discoveries no longer configured (their runs stay as history).
    pub async fn forget_discoveries_except(&self, kept: &[String]) -> Result<u64, StoreError> {
        let known: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT discovery FROM discovered_targets")
                .fetch_all(self.pool())
                .await?;
        let mut gone = 0;
        for d in known.iter().filter(|d| !kept.contains(d)) {
            gone += sqlx::query("DELETE FROM discovered_targets WHERE discovery = $1")
                .bind(d)
                .execute(self.pool())
                .await?
                .rows_affected();
        }
        Ok(gone)
    }

    /// The last `limit` runs of `discovery`, newest first.
    pub async fn discovery_runs(
        &self,
        discovery: &str,
        limit: u32,
    ) -> Result<Vec<DiscoveryRun>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, discovery, started_at, finished_at, outcome, targets, diff FROM discovery_runs \
             WHERE discovery = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(discovery)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?)
    }
}
