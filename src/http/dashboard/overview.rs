//! The overview: every target the person may see, grouped by tier, with its state, hit rate
//! now, a 24-hour sparkline, evictions, memory and firing alarms. Filtered by name and tier
//! and paged, so 1,000 targets stay one fast page: the page's numbers come from three
//! queries whatever its length (newest values, sparklines, alarm states).

use std::collections::HashMap;

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::sparkline;
use super::{Chrome, PageError, Person};
use crate::collector::current::Current;
use crate::http::AppState;
use crate::store::{Resolution, now_ms};
use crate::targets::{KINDS, Kind, Role};

/// Rows per page.
pub const PAGE_SIZE: usize = 100;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Read at 5-minute resolution: the newest hours, whose hourly rollup is not complete.
const RECENT_MS: i64 = 2 * HOUR_MS;

pub struct Row {
    pub name: String,
    pub kind: &'static str,
    pub schedule: String,
    /// `up`, `down` or `pending` (not polled yet); also the CSS class.
    pub state: &'static str,
    /// The latest hit rate as a percentage, or an empty string.
    pub hit_rate: String,
    pub evictions: String,
    pub memory: String,
    /// Alarms of this target now in alarm.
    pub firing: usize,
    /// Why it is down, or what to fix while up.
    pub message: String,
    /// The hit rate over the last 24 hours as inline SVG (our own markup, numbers only).
    pub chart: String,
}

pub struct Tier {
    pub label: &'static str,
    pub rows: Vec<Row>,
}

#[derive(Template, WebTemplate)]
#[template(path = "overview.html")]
pub struct Overview {
    chrome: Chrome,
    tiers: Vec<Tier>,
    /// Targets configured at all (zero: the empty state).
    configured: usize,
    /// Targets that pass the filter.
    matching: usize,
    q: String,
    tier: String,
    kinds: Vec<(&'static str, &'static str)>,
    page: usize,
    pages: usize,
    firing_total: usize,
}

#[derive(Deserialize)]
pub struct Filter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tier: String,
    page: Option<usize>,
}

fn bytes(v: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = v;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1} {}", UNITS[i])
}

/// Memory in use, as the kind says it reports it: a share (CloudWatch), or bytes used of a
/// limit (Redis, Memcached).
fn memory(c: &Current, kind: Kind) -> String {
    if let Some(s) = kind
        .series_with(Role::MemoryShare)
        .and_then(|m| c.get(m.name))
    {
        return format!("{:.0} %", s.value * 100.0);
    }
    let used = kind
        .series_with(Role::MemoryUsed)
        .and_then(|m| c.get(m.name));
    let limit = kind
        .series_with(Role::MemoryLimit)
        .and_then(|m| c.get(m.name))
        .filter(|s| s.value > 0.0);
    match (used, limit) {
        (Some(u), Some(l)) => format!("{} of {}", bytes(u.value), bytes(l.value)),
        (Some(u), None) => bytes(u.value),
        _ => String::new(),
    }
}

fn hh_mm(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The hit rate now (`series`, the one its kind shows first); for a target that is down,
/// the last one measured and when.
fn hit_rate(c: &Current, series: &str, down: bool) -> String {
    match c.get(series) {
        None => String::new(),
        Some(s) if down => format!("{:.1} % (at {}; target down)", s.value * 100.0, hh_mm(s.ts)),
        Some(s) if c.is_behind(series) => {
            format!(
                "{:.1} % (at {}; no traffic since)",
                s.value * 100.0,
                hh_mm(s.ts)
            )
        }
        Some(s) => format!("{:.1} %", s.value * 100.0),
    }
}

/// A count for people: thousands separated.
fn count(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A day of hit rate for each of `names`, all of whose kinds call it `series`: hourly
/// rollups, then 5-minute ones for the last [`RECENT_MS`] (the hour being rolled up now).
/// About 30 points a row, which is all a 160-pixel sparkline can show, read in two queries
/// for the whole page.
async fn sparklines(
    state: &AppState,
    names: &[&str],
    series: &str,
    now: i64,
) -> HashMap<String, Vec<(i64, f64)>> {
    let recent_from = now - RECENT_MS;
    let read = |from: i64, to: i64, r: Resolution| {
        state.store.read_series_many(names, series, from, to, r)
    };
    let (hourly, recent) = tokio::join!(
        read(
            now - DAY_MS,
            recent_from / HOUR_MS * HOUR_MS,
            Resolution::OneHour
        ),
        read(
            recent_from / HOUR_MS * HOUR_MS,
            now,
            Resolution::FiveMinutes
        ),
    );
    let mut lines = hourly.unwrap_or_default();
    for (target, points) in recent.unwrap_or_default() {
        lines.entry(target).or_default().extend(points);
    }
    lines
}

pub async fn page(
    state: web::Data<AppState>,
    person: Person,
    filter: web::Query<Filter>,
) -> Result<Overview, PageError> {
    let who = &person.0.principal;
    let settings = state.settings();
    let wanted_kind = Kind::named(&filter.tier);
    let q = filter.q.trim().to_lowercase();
    let mut visible: Vec<_> = settings
        .targets
        .iter()
        .filter(|t| who.may_access(&t.name))
        .filter(|t| wanted_kind.is_none_or(|k| t.kind == k))
        .filter(|t| q.is_empty() || t.name.as_str().contains(&q))
        .collect();
    visible.sort_by(|a, b| (a.kind.tier(), a.name.as_str()).cmp(&(b.kind.tier(), b.name.as_str())));
    let matching = visible.len();
    let pages = matching.div_ceil(PAGE_SIZE).max(1);
    let page = filter.page.unwrap_or(1).clamp(1, pages);
    let shown = &visible[(page - 1) * PAGE_SIZE..(page * PAGE_SIZE).min(matching)];

    let now = now_ms();
    let names: Vec<&str> = shown.iter().map(|t| t.name.as_str()).collect();
    // The page still renders when the database does not answer; it then shows no numbers.
    let statuses = state.store.list_target_status().await.unwrap_or_default();
    let latest = state
        .store
        .latest_samples_of(&names, now - 30 * 60_000)
        .await
        .unwrap_or_default();
    // The hit rate a kind shows first (DAX: its item cache's), one read per such series.
    let hit_series = |t: &crate::config::TargetSettings| {
        t.kind
            .series_with(Role::HitRatio)
            .map(|s| s.name)
            .unwrap_or("hit_rate")
    };
    let mut lines = HashMap::new();
    let mut by_series: HashMap<&str, Vec<&str>> = HashMap::new();
    for t in shown {
        by_series
            .entry(hit_series(t))
            .or_default()
            .push(t.name.as_str());
    }
    for (series, of) in &by_series {
        lines.extend(sparklines(&state, of, series, now).await);
    }
    // Evictions over the sparkline's day, not the latest interval's handful, under whatever
    // name each kind records them.
    let mut evicted_series: Vec<&str> = KINDS
        .iter()
        .filter_map(|k| Kind(*k).series_with(Role::Evictions).map(|s| s.name))
        .collect();
    evicted_series.dedup();
    let evicted = state
        .store
        .sum_series_many(&names, &evicted_series, now - DAY_MS, now)
        .await
        .unwrap_or_default();
    let mut firing: HashMap<String, usize> = HashMap::new();
    for s in state.store.list_alarm_states().await.unwrap_or_default() {
        if s.state == "alarm" {
            *firing.entry(s.target).or_default() += 1;
        }
    }

    let mut tiers: Vec<Tier> = Vec::new();
    for t in shown {
        let status = statuses.iter().find(|s| s.target == t.name.as_str());
        let samples = latest
            .get(t.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let current = Current::new(samples);
        // A down target's last values are not current: say when they were measured.
        let down = status.is_some_and(|s| !s.up);
        // A gap of more than two buckets is time without traffic: the line breaks there.
        let gap = 2 * Resolution::OneHour.bucket_ms();
        let row = Row {
            name: t.name.to_string(),
            kind: t.kind.name(),
            schedule: t.schedule.describe(),
            state: match status {
                None => "pending",
                Some(s) if s.up => "up",
                Some(_) => "down",
            },
            hit_rate: hit_rate(&current, hit_series(t), down),
            evictions: evicted
                .get(t.name.as_str())
                .map(|v| count(*v))
                .unwrap_or_default(),
            memory: match memory(&current, t.kind) {
                m if down && !m.is_empty() => format!("{m} (before it went down)"),
                m => m,
            },
            firing: firing.get(t.name.as_str()).copied().unwrap_or(0),
            message: status
                .and_then(|s| s.last_error.clone().or_else(|| s.notice.clone()))
                .unwrap_or_default(),
            chart: sparkline::svg(
                lines.get(t.name.as_str()).map_or(&[][..], Vec::as_slice),
                now - DAY_MS,
                now,
                0.0,
                1.0,
                gap,
                &format!("hit rate of {}, last 24 hours", t.name),
            ),
        };
        let label = t.kind.label();
        match tiers.last_mut() {
            Some(tier) if tier.label == label => tier.rows.push(row),
            _ => tiers.push(Tier {
                label,
                rows: vec![row],
            }),
        }
    }
    Ok(Overview {
        chrome: Chrome::new(&state, &person),
        firing_total: firing
            .iter()
            .filter(|(t, _)| crate::domain::TargetName::parse(t).is_ok_and(|n| who.may_access(&n)))
            .map(|(_, n)| n)
            .sum(),
        tiers,
        configured: settings.targets.len(),
        matching,
        q: filter.q.clone(),
        tier: filter.tier.clone(),
        kinds: KINDS.iter().map(|k| (k.name(), k.label())).collect(),
        page,
        pages,
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
