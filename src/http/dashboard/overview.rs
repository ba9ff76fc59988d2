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
use crate::status::{OverviewQuery, OverviewRow, TargetState, TargetView};
use crate::store::Resolution;
use crate::targets::{KINDS, Kind, Role};

/// Rows per page.
pub const PAGE_SIZE: usize = 100;
const DAY_MS: i64 = 24 * 3_600_000;

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

/// Memory in use, as the kind reports it: a share (CloudWatch), or bytes used of a limit
/// (Redis, Memcached).
fn memory(v: &TargetView) -> String {
    let value = |role: Role| {
        v.kind
            .series_with(role)
            .and_then(|s| v.current.get(s.name).copied())
    };
    if let Some(share) = value(Role::MemoryShare) {
        return format!("{:.0} %", share * 100.0);
    }
    match (
        value(Role::MemoryUsed),
        value(Role::MemoryLimit).filter(|l| *l > 0.0),
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

fn row(r: OverviewRow, now: i64) -> Row {
    let v = &r.view;
    // A gap of more than two buckets is time without traffic: the line breaks there.
    let gap = 2 * Resolution::OneHour.bucket_ms();
    Row {
        name: v.name.clone(),
        kind: v.kind.name(),
        schedule: v.schedule.clone(),
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
    let query = OverviewQuery {
        name: filter.q.trim().to_lowercase(),
        kind: Kind::named(&filter.tier),
        page: filter.page.unwrap_or(1),
        page_size: PAGE_SIZE,
    };
    let o = state.targets.overview(&person.0.principal, &query).await?;
    let mut tiers: Vec<Tier> = Vec::new();
    for r in o.rows {
        let label = r.view.tier;
        let row = row(r, o.now);
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
        firing_total: o.firing,
        tiers,
        configured: o.configured,
        matching: o.matching,
        q: filter.q.clone(),
        tier: filter.tier.clone(),
        kinds: KINDS.iter().map(|k| (k.name(), k.label())).collect(),
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
