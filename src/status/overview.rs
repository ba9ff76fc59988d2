//! The overview: a page of the targets a reader may see, in tier order, each with a day of
//! hit rate, the day's evictions and the alarms firing, read in a fixed number of queries
//! whatever the page's length.

use std::collections::{BTreeMap, HashMap};

use super::{
    CURRENT_WINDOW_MS, DAY_MS, HOUR_MS, RECENT_MS, TargetService, TargetState, TargetView, view,
};
use crate::auth::Principal;
use crate::domain::{AlarmState, Scope, TargetName};
use crate::service_error::ServiceError;
use crate::store::{Resolution, now_ms};
use crate::targets::{KINDS, Kind, Role, TargetSettings};

/// Which targets the overview shows: a page of those matching a name filter and a tier.
pub struct OverviewQuery {
    /// Part of the name, lower case; empty: any.
    pub name: String,
    pub kind: Option<Kind>,
    /// From 1; past the last page shows the last.
    pub page: usize,
    pub page_size: usize,
}

/// One row of the overview.
pub struct OverviewRow {
    pub view: TargetView,
    /// The hit rate over the last day (hourly, then 5-minute for the newest hours).
    pub day: Vec<(i64, f64)>,
    /// Evictions summed over the last day, under whatever name its kind records them (none:
    /// nothing recorded in the day).
    pub evictions: Option<f64>,
    /// Its alarms in alarm now.
    pub firing: usize,
}

/// A page of the overview, in tier order.
pub struct Overview {
    pub rows: Vec<OverviewRow>,
    /// Targets configured at all (zero: the empty state).
    pub configured: usize,
    /// Targets that pass the filter.
    pub matching: usize,
    pub page: usize,
    pub pages: usize,
    /// Alarms in alarm on every target the reader may see.
    pub firing: usize,
    /// The targets that pass the filter by state (`up`, `down`, `pending`).
    pub states: BTreeMap<&'static str, usize>,
    /// The end of the day shown.
    pub now: i64,
}

impl TargetService {
    /// A page of the targets `who` may see, in tier order, with a day of hit rate, the day's
    /// evictions and the alarms firing. Its numbers come from a fixed number of queries
    /// whatever the page's length.
    pub async fn overview(
        &self,
        who: &Principal,
        q: &OverviewQuery,
    ) -> Result<Overview, ServiceError> {
        who.require(Scope::Read)?;
        let settings = self.live.settings();
        let mut visible: Vec<&TargetSettings> = settings
            .targets
            .iter()
            .filter(|t| who.may_access(&t.name))
            .filter(|t| q.kind.is_none_or(|k| t.kind == k))
            .filter(|t| q.name.is_empty() || t.name.as_str().contains(&q.name))
            .collect();
        visible.sort_by(|a, b| {
            (a.kind.tier(), a.name.as_str()).cmp(&(b.kind.tier(), b.name.as_str()))
        });
        let matching = visible.len();
        let statuses = self.statuses().await?;
        // How many of them are up, down and not polled yet: the page's summary.
        let mut states: BTreeMap<&'static str, usize> = BTreeMap::new();
        for t in &visible {
            *states
                .entry(TargetState::of(statuses.get(t.name.as_str())).as_str())
                .or_default() += 1;
        }
        let size = q.page_size.max(1);
        let pages = matching.div_ceil(size).max(1);
        let page = q.page.clamp(1, pages);
        let shown = &visible[(page - 1) * size..(page * size).min(matching)];

        let now = now_ms();
        let names: Vec<&str> = shown.iter().map(|t| t.name.as_str()).collect();
        let latest = self
            .store
            .latest_samples_of(&names, now - CURRENT_WINDOW_MS)
            .await?;
        // The hit rate each kind shows first, one read per such series.
        let mut by_series: HashMap<&str, Vec<&str>> = HashMap::new();
        for t in shown {
            if let Some(s) = t.kind.series_with(Role::HitRatio) {
                by_series.entry(s.name).or_default().push(t.name.as_str());
            }
        }
        let mut days = HashMap::new();
        for (series, of) in &by_series {
            days.extend(self.day_of(of, series, now).await?);
        }
        // Evictions over the day, not the latest interval's handful.
        let mut evicted_series: Vec<&str> = KINDS
            .iter()
            .filter_map(|k| Kind(*k).series_with(Role::Evictions).map(|s| s.name))
            .collect();
        evicted_series.sort_unstable();
        evicted_series.dedup();
        let evicted = self
            .store
            .sum_series_many(&names, &evicted_series, now - DAY_MS, now)
            .await?;
        let firing = self.firing().await?;
        let rows = shown
            .iter()
            .map(|t| {
                let name = t.name.as_str();
                OverviewRow {
                    view: view(t, &statuses, &latest),
                    day: days.remove(name).unwrap_or_default(),
                    evictions: evicted.get(name).copied(),
                    firing: firing.get(name).copied().unwrap_or(0),
                }
            })
            .collect();
        Ok(Overview {
            rows,
            configured: settings.targets.len(),
            matching,
            page,
            pages,
            firing: firing
                .iter()
                .filter(|(t, _)| TargetName::parse(t).is_ok_and(|n| who.may_access(&n)))
                .map(|(_, n)| n)
                .sum(),
            states,
            now,
        })
    }

    /// Alarms in alarm, by target.
    async fn firing(&self) -> Result<HashMap<String, usize>, ServiceError> {
        let mut firing: HashMap<String, usize> = HashMap::new();
        for s in self.store.list_alarm_states().await? {
            if s.state == AlarmState::Alarm {
                *firing.entry(s.target).or_default() += 1;
            }
        }
        Ok(firing)
    }

    /// A day of `series` for each of `names`: hourly rollups, then 5-minute ones for the
    /// newest hours. About 30 points a target, all a sparkline can show, in two queries.
    async fn day_of(
        &self,
        names: &[&str],
        series: &str,
        now: i64,
    ) -> Result<HashMap<String, Vec<(i64, f64)>>, ServiceError> {
        let split = (now - RECENT_MS) / HOUR_MS * HOUR_MS;
        let (hourly, recent) = tokio::join!(
            self.store
                .read_series_many(names, series, now - DAY_MS, split, Resolution::OneHour),
            self.store
                .read_series_many(names, series, split, now, Resolution::FiveMinutes),
        );
        let mut lines = hourly?;
        for (target, points) in recent? {
            lines.entry(target).or_default().extend(points);
        }
        Ok(lines)
    }
}
