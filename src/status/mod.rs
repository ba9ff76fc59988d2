//! What people and programs read about targets: the one view of a target's status (the API's
//! `/targets` and the dashboard's overview and target page all come from here), its series
//! at the resolution the range calls for, and what happened to it. Who may read which target
//! is checked here, not by the callers.

mod operations;
mod overview;
pub mod resolution;
mod view;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

pub use operations::{OperationsService, Readiness, ShardView, StreamView};
pub use overview::{Facets, Overview, OverviewQuery, OverviewRow, Sections};
pub use view::{TargetState, TargetView};

use crate::auth::Principal;
use crate::domain::{Scope, TargetName};
use crate::live::Live;
use crate::service_error::ServiceError;
use crate::store::{
    Annotation, Point, Resolution, Sample, SeriesQuery, Store, TargetStatus, now_ms,
};
use crate::targets::{Role, Series, TargetSettings};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// How far back "current" values are looked for: CloudWatch data arrives minutes late.
const CURRENT_WINDOW_MS: i64 = 30 * 60_000;
/// The overview's sparklines read this span at 5-minute resolution: the newest hours, whose
/// hourly rollup is not complete yet.
const RECENT_MS: i64 = 2 * HOUR_MS;

/// One series over a range, as `GET /targets/{name}/series` asks for it (times already
/// parsed; every rule about them is checked here).
#[derive(Debug, Default)]
pub struct SeriesRequest {
    pub metric: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub node: Option<String>,
    pub resolution: Option<Resolution>,
    pub detail: bool,
}

/// One series of one target over a range.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeriesView {
    pub target: String,
    pub metric: String,
    /// A cluster node (`host:port`), or empty for the target as a whole.
    pub node: String,
    pub resolution: Resolution,
    /// Milliseconds since the epoch; the range is [from, to).
    pub from: i64,
    pub to: i64,
    pub points: Vec<Point>,
}

/// A target over a span, as its page draws it.
pub struct History {
    pub target: TargetSettings,
    pub status: Option<TargetStatus>,
    /// The nodes of a cluster that reported within the span.
    pub nodes: Vec<String>,
    /// The node shown ("" for the whole target; a node that did not report is not shown).
    pub node: String,
    pub from: i64,
    pub to: i64,
    pub resolution: Resolution,
    /// Each series of the roles asked, in the kind's order, with its points.
    pub series: Vec<(&'static Series, Vec<(i64, f64)>)>,
    /// Jobs and alarm transitions within the span, oldest first.
    pub annotations: Vec<Annotation>,
}

pub struct TargetService {
    store: Store,
    live: Arc<Live>,
}

impl TargetService {
    pub fn new(store: Store, live: Arc<Live>) -> Self {
        Self { store, live }
    }

    /// The target `name` if `who` may read it. Permission comes before existence, so a token
    /// limited to some targets cannot probe which others exist.
    pub fn readable(&self, who: &Principal, name: &str) -> Result<TargetSettings, ServiceError> {
        let name = TargetName::parse(name)
            .map_err(|e| ServiceError::invalid("name", format!("{name:?} {e}")))?;
        who.require_target(Scope::Read, &name)?;
        self.live
            .settings()
            .target(&name)
            .cloned()
            .ok_or_else(|| ServiceError::NotFound(format!("no target named {:?}", name.as_str())))
    }

    /// Every target `who` may see, in configuration order.
    pub async fn list(&self, who: &Principal) -> Result<Vec<TargetView>, ServiceError> {
        who.require(Scope::Read)?;
        let settings = self.live.settings();
        let statuses = self.statuses().await?;
        // One query for every target's newest values, not one per target.
        let latest = self
            .store
            .latest_samples_all(now_ms() - CURRENT_WINDOW_MS)
            .await?;
        Ok(settings
            .targets
            .iter()
            .filter(|t| who.may_access(&t.name))
            .map(|t| view(t, &statuses, &latest))
            .collect())
    }

    /// One target.
    pub async fn show(&self, who: &Principal, name: &str) -> Result<TargetView, ServiceError> {
        let target = self.readable(who, name)?;
        let status = self.store.target_status(target.name.as_str()).await?;
        let latest = self
            .store
            .latest_samples(target.name.as_str(), now_ms() - CURRENT_WINDOW_MS)
            .await?;
        Ok(TargetView::new(&target, status.as_ref(), &latest))
    }

    /// One series of a target over a range: by default the last six hours, at the resolution
    /// the range calls for.
    pub async fn series(
        &self,
        who: &Principal,
        name: &str,
        req: SeriesRequest,
    ) -> Result<SeriesView, ServiceError> {
        let target = self.readable(who, name)?;
        let metric = req
            .metric
            .ok_or_else(|| ServiceError::invalid("metric", "is required, e.g. metric=hit_rate"))?;
        if target.kind.series_named(&metric).is_none() {
            let known: Vec<&str> = std::iter::once("up")
                .chain(target.kind.series().iter().map(|s| s.name))
                .collect();
            return Err(ServiceError::invalid(
                "metric",
                format!(
                    "{metric:?} is not a series of a {} target: {}",
                    target.kind,
                    known.join(", ")
                ),
            ));
        }
        let now = now_ms();
        let to = req.to.unwrap_or(now);
        let from = req.from.unwrap_or(to - resolution::DEFAULT_RANGE_MS);
        if from >= to {
            return Err(ServiceError::invalid("from", "must be before to"));
        }
        if to - from > resolution::MAX_RANGE_MS {
            return Err(ServiceError::invalid(
                "from",
                "the range may be at most 800 days",
            ));
        }
        let asked = req.resolution;
        let resolution = asked
            .unwrap_or_else(|| resolution::choose(from, to, now, &self.live.settings().retention));
        let query = SeriesQuery {
            target: target.name.to_string(),
            node: req.node.unwrap_or_default(),
            series: metric,
            from,
            to,
            resolution,
            detail: req.detail,
        };
        // A resolution asked for is read as such; one chosen here ends with the newest raw
        // samples, as the dashboard's charts do.
        let points = match asked {
            Some(_) => self.store.read_series(&query).await?,
            None => self.store.read_series_with_head(&query).await?,
        };
        Ok(SeriesView {
            target: query.target,
            metric: query.series,
            node: query.node,
            resolution,
            from,
            to,
            points,
        })
    }

    /// A target over [from, to] (ms), whole or one `node` of it: the series of `roles`, its
    /// nodes, its status, and what happened. A range is at least a minute and at most 800
    /// days, and ends no later than now.
    pub async fn history(
        &self,
        who: &Principal,
        name: &str,
        (from, to): (i64, i64),
        node: &str,
        roles: &[Role],
    ) -> Result<History, ServiceError> {
        let target = self.readable(who, name)?;
        let now = now_ms();
        let to = to.min(now);
        if to - from < 60_000 {
            return Err(ServiceError::invalid(
                "from",
                "must be at least a minute before to",
            ));
        }
        if to - from > resolution::MAX_RANGE_MS {
            return Err(ServiceError::invalid(
                "from",
                "the range may be at most 800 days",
            ));
        }
        let resolution = resolution::choose(from, to, now, &self.live.settings().retention);
        let nodes = self.store.target_nodes(target.name.as_str(), from).await?;
        let node = if nodes.iter().any(|n| n == node) {
            node.to_owned()
        } else {
            String::new()
        };
        let status = self.store.target_status(target.name.as_str()).await?;
        let annotations = self
            .store
            .annotations(target.name.as_str(), from, to, 200)
            .await?;
        let mut series = Vec::new();
        for s in target
            .kind
            .series()
            .iter()
            .filter(|s| roles.contains(&s.role))
        {
            let q = SeriesQuery {
                target: target.name.to_string(),
                node: node.clone(),
                series: s.name.into(),
                from,
                to,
                resolution,
                detail: false,
            };
            let points = self.store.read_series_with_head(&q).await?;
            series.push((s, points.into_iter().map(|p| (p.ts, p.value)).collect()));
        }
        Ok(History {
            target,
            status,
            nodes,
            node,
            from,
            to,
            resolution,
            series,
            annotations,
        })
    }

    async fn statuses(&self) -> Result<HashMap<String, TargetStatus>, ServiceError> {
        Ok(self
            .store
            .list_target_status()
            .await?
            .into_iter()
            .map(|s| (s.target.clone(), s))
            .collect())
    }
}

fn view(
    t: &TargetSettings,
    statuses: &HashMap<String, TargetStatus>,
    latest: &HashMap<String, Vec<Sample>>,
) -> TargetView {
    let samples = latest
        .get(t.name.as_str())
        .map(Vec::as_slice)
        .unwrap_or_default();
    TargetView::new(t, statuses.get(t.name.as_str()), samples)
}
