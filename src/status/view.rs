//! A target as every reader sees it, the API and the dashboard alike: its configuration, how
//! its latest poll went, and its newest values with the time each belongs to.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::collector::current::Current;
use crate::store::{Sample, TargetStatus};
use crate::targets::{Kind, Role, TargetSettings};

/// Where a target stands after its latest poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    /// Not polled since it was configured.
    Pending,
    Up,
    /// The latest poll failed; its values are from before.
    Down,
}

impl TargetState {
    pub fn of(status: Option<&TargetStatus>) -> Self {
        match status {
            None => Self::Pending,
            Some(s) if s.up => Self::Up,
            Some(_) => Self::Down,
        }
    }

    /// As pages show it (also their CSS class).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

/// A target as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TargetView {
    pub name: String,
    pub kind: Kind,
    /// The tier's name for people ("ElastiCache").
    pub tier: &'static str,
    /// How often it is polled ("every 1m", "cron 0 */5 * * * *").
    pub schedule: String,
    /// The AWS account it lives in: its role's, or the one discovery found it in.
    pub account: Option<String>,
    /// The role its AWS calls are made through (`role_arn`).
    pub role_arn: Option<String>,
    /// The AWS region it is read in (absent for targets polled directly).
    pub region: Option<String>,
    /// Targets that are one thing to people (an ElastiCache replication group's nodes).
    pub group: Option<String>,
    /// Its tags: as written, or its resource's AWS tags.
    pub tags: BTreeMap<String, String>,
    /// The `[[discover]]` that found it; absent for a target written in `[[targets]]`.
    pub discovered_by: Option<String>,
    pub state: TargetState,
    /// Whether the latest poll succeeded; null before the first.
    pub up: Option<bool>,
    /// Milliseconds since the epoch.
    pub last_poll_at: Option<i64>,
    pub last_success_at: Option<i64>,
    /// Why the latest poll failed.
    pub last_error: Option<String>,
    /// Up, but with something to fix (a metric the distribution does not publish).
    pub notice: Option<String>,
    /// The series its kind shows first as its hit rate (DAX: its item cache's).
    pub hit_rate_series: Option<&'static str>,
    /// That series' newest value, 0-1.
    pub hit_rate: Option<f64>,
    pub hit_rate_at: Option<i64>,
    /// The hit rate is from an earlier interval than the counts beside it: no traffic since.
    pub hit_rate_behind: bool,
    /// The newest value of each series collected in the last 30 minutes.
    pub current: BTreeMap<String, f64>,
    /// The interval each of those values belongs to.
    pub current_at: BTreeMap<String, i64>,
}

impl TargetView {
    pub fn new(t: &TargetSettings, status: Option<&TargetStatus>, latest: &[Sample]) -> Self {
        let now = Current::new(latest);
        let hit_rate_series = t.kind.series_with(Role::HitRatio).map(|s| s.name);
        let hit = hit_rate_series.and_then(|s| now.get(s));
        Self {
            name: t.name.to_string(),
            kind: t.kind,
            tier: t.kind.label(),
            schedule: t.schedule.describe(),
            account: t.labels.account_id.clone(),
            role_arn: t.account.as_ref().map(|a| a.role_arn().to_owned()),
            region: t.region(None),
            group: t.labels.group.clone(),
            tags: t.labels.tags.clone(),
            discovered_by: t.labels.discovered_by.clone(),
            state: TargetState::of(status),
            up: status.map(|s| s.up),
            last_poll_at: status.map(|s| s.last_poll_at),
            last_success_at: status.and_then(|s| s.last_success_at),
            last_error: status.and_then(|s| s.last_error.clone()),
            notice: status.and_then(|s| s.notice.clone()),
            hit_rate_series,
            hit_rate: hit.map(|s| s.value),
            hit_rate_at: hit.map(|s| s.ts),
            hit_rate_behind: hit_rate_series.is_some_and(|s| now.is_behind(s)),
            current: latest.iter().map(|s| (s.series.clone(), s.value)).collect(),
            current_at: latest.iter().map(|s| (s.series.clone(), s.ts)).collect(),
        }
    }
}
