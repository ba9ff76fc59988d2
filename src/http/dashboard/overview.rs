//! The overview: every target the person may see, grouped by tier, with its state, hit rate
//! now, a 24-hour sparkline, evictions, memory and firing alarms. Filtered by name and tier
//! and paged, so 1,000 targets stay one fast page (the target service reads a page's numbers
//! in a fixed number of queries whatever its length).

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::sparkline;
use super::{Chrome, PageError, Person};
use crate::http::AppState;
use crate::status::{OverviewQuery, OverviewRow, Sections, TargetState, TargetView};
use crate::store::Resolution;
use crate::targets::{KINDS, Kind, Role};

/// Rows per page.
pub const PAGE_SIZE: usize = 100;
const DAY_MS: i64 = 24 * 3_600_000;

pub struct Row {
    pub name: String,
    /// What people call its kind ("ElastiCache").
    pub kind: &'static str,
    pub schedule: String,
    /// When it was last polled, for people ("12s ago"), and the same in ms for sorting.
    pub polled: String,
    pub polled_at: i64,
    /// `up`, `down` or `pending` (not polled yet); also the CSS class.
    pub state: &'static str,
    /// The latest hit rate as a percentage, or an empty string.
    pub hit_rate: String,
    /// The same as a number for sorting (-1: none), and whether it is low enough to mark.
    pub hit_rate_sort: f64,
    pub hit_rate_low: bool,
    /// Bytes or share used, for sorting (-1: none), and whether memory is nearly full.
    pub memory_sort: f64,
    pub memory_full: bool,
    pub evictions_sort: f64,
    pub evictions: String,
    pub memory: String,
    /// Alarms of this target now in alarm.
    pub firing: usize,
    /// Why it is down, or what to fix while up.
    pub message: String,
    /// The hit rate over the last 24 hours as inline SVG (our own markup, numbers only).
    pub chart: String,
}

/// A section of rows under one heading (a tier, an account, a region or a group).
pub struct Section {
    pub label: String,
    pub rows: Vec<Row>,
}

#[derive(Template, WebTemplate)]
#[template(path = "overview.html")]
pub struct Overview {
    chrome: Chrome,
    sections: Vec<Section>,
    /// Targets configured at all (zero: the empty state).
    configured: usize,
    /// Targets that pass the filter.
    matching: usize,
    q: String,
    tier: String,
    kinds: Vec<(&'static str, &'static str)>,
    /// The filters by where targets are, with what each can choose from (empty: no choice
    /// to offer, the filter is not shown).
    account: String,
    region: String,
    group: String,
    tag: String,
    facets: crate::status::Facets,
    by: &'static str,
    sections_by: Vec<(&'static str, &'static str)>,
    /// The filter as a query string, for the pager's links.
    filter_query: String,
    page: usize,
    pages: usize,
    firing_total: usize,
    /// "12 up", "1 down", "2 not polled yet" (with their CSS class).
    summary: Vec<(String, &'static str)>,
    /// Discoveries whose last run could not ask everything: what failed, and that their
    /// targets are kept as they were.
    discovery_warnings: Vec<String>,
}

/// A sentence for each discovery whose last run failed in part or whole.
fn discovery_warnings(views: &[crate::discovery::DiscoveryView]) -> Vec<String> {
    use crate::domain::DiscoveryOutcome;
    views
        .iter()
        .filter_map(|d| {
            let run = d.runs.first()?;
            if run.outcome == DiscoveryOutcome::Ok {
                return None;
            }
            let first = run.diff.errors.first().cloned().unwrap_or_default();
            let more = match run.diff.errors.len() {
                0 | 1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            Some(format!(
                "Discovery {} could not ask everything at {}: {first}{more}. What it could not see stays as it was; it has {} targets in force.",
                d.name,
                hh_mm(run.finished_at),
                d.targets
            ))
        })
        .collect()
}

/// Under this hit rate a row's rate is marked (a cache missing more than one request in five).
const LOW_HIT_RATE: f64 = 0.8;
/// At or over this share of its limit a row's memory is marked: evictions are near or under
/// way.
const NEARLY_FULL: f64 = 0.9;

#[derive(Deserialize)]
pub struct Filter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tier: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    group: String,
    /// `key=value`.
    #[serde(default)]
    tag: String,
    /// `tier` (default), `account`, `region` or `group`.
    #[serde(default)]
    by: String,
    page: Option<usize>,
}

impl Filter {
    /// The filter as a query string (the page left out), each value escaped.
    fn query(&self) -> String {
        let pairs = [
            ("q", &self.q),
            ("tier", &self.tier),
            ("account", &self.account),
            ("region", &self.region),
            ("group", &self.group),
            ("tag", &self.tag),
            ("by", &self.by),
        ];
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()))
            .finish()
    }
}

use crate::domain::text::bytes;

/// Memory in use, as the kind reports it: a share (CloudWatch), or bytes used of a limit
/// (Redis, Memcached).
fn memory(v: &TargetView) -> String {
    if let Some(share) = current(v, Role::MemoryShare) {
        return format!("{:.0} %", share * 100.0);
    }
    match (
        current(v, Role::MemoryUsed),
        current(v, Role::MemoryLimit).filter(|l| *l > 0.0),
    ) {
        (Some(u), Some(l)) => format!("{} of {}", bytes(u), bytes(l)),
        (Some(u), None) => bytes(u),
        _ => String::new(),
    }
}

fn hh_mm(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The hit rate now; for a target that is down, the last one measured and when.
fn hit_rate(v: &TargetView) -> String {
    let (Some(rate), Some(at)) = (v.hit_rate, v.hit_rate_at) else {
        return String::new();
    };
    let pct = rate * 100.0;
    if v.state == TargetState::Down {
        format!("{pct:.1} % (at {}; target down)", hh_mm(at))
    } else if v.hit_rate_behind {
        format!("{pct:.1} % (at {}; no traffic since)", hh_mm(at))
    } else {
        format!("{pct:.1} %")
    }
}

use crate::domain::text::thousands as count;

/// The newest value of the kind's series with `role`.
fn current(v: &TargetView, role: Role) -> Option<f64> {
    v.kind
        .series_with(role)
        .and_then(|s| v.current.get(s.name).copied())
}

/// The memory used as a share of the limit, when the kind says both (or the share itself).
fn memory_share(v: &TargetView) -> Option<f64> {
    current(v, Role::MemoryShare).or_else(|| {
        let limit = current(v, Role::MemoryLimit).filter(|l| *l > 0.0)?;
        Some(current(v, Role::MemoryUsed)? / limit)
    })
}

fn row(r: OverviewRow, now: i64) -> Row {
    let v = &r.view;
    let share = memory_share(v);
    // A gap of more than two buckets is time without traffic: the line breaks there.
    let gap = 2 * Resolution::OneHour.bucket_ms();
    Row {
        name: v.name.clone(),
        kind: v.kind.label(),
        schedule: v.schedule.clone(),
        polled: match v.last_poll_at {
            Some(at) => format!(
                "{} ago",
                crate::domain::text::duration_text((now - at).max(0) / 1000 * 1000)
            ),
            None => "not yet".to_owned(),
        },
        polled_at: v.last_poll_at.unwrap_or(0),
        hit_rate_sort: v.hit_rate.unwrap_or(-1.0),
        hit_rate_low: v.hit_rate.is_some_and(|h| h < LOW_HIT_RATE),
        memory_sort: share
            .or_else(|| current(v, Role::MemoryUsed))
            .unwrap_or(-1.0),
        memory_full: share.is_some_and(|s| s >= NEARLY_FULL),
        evictions_sort: r.evictions.unwrap_or(-1.0),
        state: v.state.as_str(),
        hit_rate: hit_rate(v),
        evictions: r.evictions.map(count).unwrap_or_default(),
        memory: match memory(v) {
            // A down target's last values are not current: say so.
            m if v.state == TargetState::Down && !m.is_empty() => {
                format!("{m} (before it went down)")
            }
            m => m,
        },
        firing: r.firing,
        message: v
            .last_error
            .clone()
            .or_else(|| v.notice.clone())
            .unwrap_or_default(),
        chart: sparkline::svg(
            &r.day,
            now - DAY_MS,
            now,
            0.0,
            1.0,
            gap,
            &format!("hit rate of {}, last 24 hours", v.name),
        ),
    }
}

pub async fn page(
    state: web::Data<AppState>,
    person: Person,
    filter: web::Query<Filter>,
) -> Result<Overview, PageError> {
    let by = Sections::named(&filter.by).unwrap_or_default();
    let query = OverviewQuery {
        name: filter.q.trim().to_lowercase(),
        kind: Kind::named(&filter.tier),
        account: filter.account.trim().to_owned(),
        region: filter.region.trim().to_owned(),
        group: filter.group.trim().to_owned(),
        tag: filter
            .tag
            .split_once('=')
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())),
        by,
        page: filter.page.unwrap_or(1),
        page_size: PAGE_SIZE,
    };
    let o = state.targets.overview(&person.0.principal, &query).await?;
    let discoveries = state
        .discovery
        .views(&person.0.principal, &state.live.settings(), 1)
        .await?;
    let mut sections: Vec<Section> = Vec::new();
    for r in o.rows {
        let label = r.section.clone();
        let row = row(r, o.now);
        match sections.last_mut() {
            Some(s) if s.label == label => s.rows.push(row),
            _ => sections.push(Section {
                label,
                rows: vec![row],
            }),
        }
    }
    let named = [
        ("down", "down", "down"),
        ("up", "up", "up"),
        ("pending", "not polled yet", "pending"),
    ];
    let mut summary: Vec<(String, &'static str)> = named
        .iter()
        .filter_map(|(key, words, class)| {
            o.states.get(key).map(|n| (format!("{n} {words}"), *class))
        })
        .collect();
    if o.firing > 0 {
        summary.push((
            crate::domain::text::count(o.firing, "alarm firing", "alarms firing"),
            "alarm",
        ));
    }
    Ok(Overview {
        chrome: Chrome::new(&state, &person),
        summary,
        firing_total: o.firing,
        sections,
        configured: o.configured,
        matching: o.matching,
        q: filter.q.clone(),
        tier: filter.tier.clone(),
        kinds: KINDS.iter().map(|k| (k.name(), k.label())).collect(),
        account: filter.account.clone(),
        region: filter.region.clone(),
        group: filter.group.clone(),
        tag: filter.tag.clone(),
        facets: o.facets,
        by: by.as_str(),
        sections_by: Sections::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        filter_query: filter.query(),
        discovery_warnings: discovery_warnings(&discoveries),
        page: o.page,
        pages: o.pages,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_grouped_by_thousands() {
        let shown: Vec<String> = [0.0, 7.0, 999.0, 1_150.0, 1_234_567.4]
            .into_iter()
            .map(super::count)
            .collect();
        assert_eq!(shown, ["0", "7", "999", "1,150", "1,234,567"]);
    }
}
