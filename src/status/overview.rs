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

/// Which targets the overview shows: a page of those matching every filter given, in
/// sections of one tier (or account, region or group).
#[derive(Default)]
pub struct OverviewQuery {
    /// Part of the name, lower case; empty: any.
    pub name: String,
    pub kind: Option<Kind>,
    /// Exactly this AWS account, region or group; empty: any.
    pub account: String,
    pub region: String,
    pub group: String,
    /// A tag's key and value; `None`: any.
    pub tag: Option<(String, String)>,
    pub by: Sections,
    /// From 1; past the last page shows the last.
    pub page: usize,
    pub page_size: usize,
}

/// What the overview's sections are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sections {
    /// One per tier, in the order a request meets them.
    #[default]
    Tier,
    Account,
    Region,
    Group,
}

impl Sections {
    pub const ALL: [Sections; 4] = [Self::Tier, Self::Account, Self::Region, Self::Group];

    /// As written in the page's address (`?by=region`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tier => "tier",
            Self::Account => "account",
            Self::Region => "region",
            Self::Group => "group",
        }
    }

    pub fn named(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// For people: "Tier", "Account"…
    pub fn label(self) -> &'static str {
        match self {
            Self::Tier => "Tier",
            Self::Account => "Account",
            Self::Region => "Region",
            Self::Group => "Group",
        }
    }
}

/// Where a target stands besides its name, as the overview filters and groups by it.
struct Place<'a> {
    account: Option<&'a str>,
    region: Option<String>,
    group: Option<&'a str>,
}

impl<'a> Place<'a> {
    fn of(t: &'a TargetSettings, default_region: Option<&str>) -> Self {
        Place {
            account: t.labels.account_id.as_deref(),
            region: t.region(default_region),
            group: t.labels.group.as_deref(),
        }
    }

    /// The section it is shown in, and the heading of that section.
    fn section(&self, t: &TargetSettings, by: Sections) -> (usize, String) {
        let or = |v: Option<&str>, what: &str, none: &str| {
            v.map_or_else(|| none.to_owned(), |v| format!("{what} {v}"))
        };
        match by {
            Sections::Tier => (t.kind.tier(), t.kind.label().to_owned()),
            // Those without one come last, under a heading that says why.
            Sections::Account => (
                usize::from(self.account.is_none()),
                or(
                    self.account,
                    "Account",
                    "Default account, or none (polled directly)",
                ),
            ),
            Sections::Region => (
                usize::from(self.region.is_none()),
                or(
                    self.region.as_deref(),
                    "Region",
                    "No region (polled directly)",
                ),
            ),
            Sections::Group => (
                usize::from(self.group.is_none()),
                or(self.group, "Group", "No group"),
            ),
        }
    }
}

/// The values the overview can be filtered by, among the targets a reader may see.
#[derive(Default)]
pub struct Facets {
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub groups: Vec<String>,
    /// `key=value`, at most [`MAX_TAG_FACETS`].
    pub tags: Vec<String>,
}

/// Tags offered in the filter at most (the rest can still be typed in the address).
pub const MAX_TAG_FACETS: usize = 200;

/// One row of the overview.
pub struct OverviewRow {
    pub view: TargetView,
    /// The heading of the section it is shown in.
    pub section: String,
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
    /// What the filters can choose from.
    pub facets: Facets,
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
        let default_region = settings.aws.region.as_deref();
        let mine: Vec<(&TargetSettings, Place)> = settings
            .targets
            .iter()
            .filter(|t| who.may_access(&t.name))
            .map(|t| (t, Place::of(t, default_region)))
            .collect();
        let facets = facets(&mine);
        let is = |want: &str, have: Option<&str>| want.is_empty() || have == Some(want);
        let mut visible: Vec<(&TargetSettings, (usize, String))> = mine
            .iter()
            .filter(|(t, _)| q.kind.is_none_or(|k| t.kind == k))
            .filter(|(t, _)| q.name.is_empty() || t.name.as_str().contains(&q.name))
            .filter(|(_, p)| {
                is(&q.account, p.account)
                    && is(&q.region, p.region.as_deref())
                    && is(&q.group, p.group)
            })
            .filter(|(t, _)| {
                q.tag
                    .as_ref()
                    .is_none_or(|(k, v)| t.labels.tags.get(k) == Some(v))
            })
            .map(|(t, p)| (*t, p.section(t, q.by)))
            .collect();
        visible.sort_by(|(a, sa), (b, sb)| {
            (sa, a.kind.tier(), a.name.as_str()).cmp(&(sb, b.kind.tier(), b.name.as_str()))
        });
        let (visible, sections): (Vec<&TargetSettings>, Vec<String>) = visible
            .into_iter()
            .map(|(t, (_, heading))| (t, heading))
            .unzip();
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
        let range = (page - 1) * size..(page * size).min(matching);
        let shown = &visible[range.clone()];
        let headings = &sections[range];

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
            .zip(headings)
            .map(|(t, section)| {
                let name = t.name.as_str();
                OverviewRow {
                    view: view(t, &statuses, &latest),
                    section: section.clone(),
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
            facets,
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

/// The accounts, regions, groups and tags among `targets`, each sorted and once.
fn facets(targets: &[(&TargetSettings, Place)]) -> Facets {
    use std::collections::BTreeSet;
    let mut accounts = BTreeSet::new();
    let mut regions = BTreeSet::new();
    let mut groups = BTreeSet::new();
    let mut tags = BTreeSet::new();
    for (t, p) in targets {
        accounts.extend(p.account.map(str::to_owned));
        regions.extend(p.region.clone());
        groups.extend(p.group.map(str::to_owned));
        tags.extend(t.labels.tags.iter().map(|(k, v)| format!("{k}={v}")));
    }
    Facets {
        accounts: accounts.into_iter().collect(),
        regions: regions.into_iter().collect(),
        groups: groups.into_iter().collect(),
        tags: tags.into_iter().take(MAX_TAG_FACETS).collect(),
    }
}
