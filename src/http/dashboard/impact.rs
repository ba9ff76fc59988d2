//! `/impact`: which changes cost most and who sends them, over a day, a week or a month (the
//! report of `GET /api/v1/impact`, for people).

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{Chrome, PageError, Person};
use crate::http::AppState;
use crate::impact::ReportQuery;
use crate::impact::report::Group;

const SPANS: [(&str, &str, i64); 3] = [
    ("24h", "24 hours", 24 * 3600 * 1000),
    ("7d", "7 days", 7 * 24 * 3600 * 1000),
    ("30d", "30 days", 30 * 24 * 3600 * 1000),
];

#[derive(Deserialize)]
pub struct Params {
    span: Option<String>,
}

/// One group as the page shows it.
pub struct GroupRow {
    pub key: String,
    pub changes: u64,
    pub extra_misses: String,
    pub median_recovery: String,
    pub not_recovered: u64,
}

/// A table of groups: its element id, heading, first column, rows.
pub struct GroupTable {
    pub id: &'static str,
    pub heading: &'static str,
    pub column: &'static str,
    pub rows: Vec<GroupRow>,
}

/// One costly change as the page shows it.
pub struct CostlyRow {
    pub job: i64,
    pub title: String,
    pub target: String,
    pub requester: String,
    pub event_type: String,
    pub extra_misses: String,
    pub recovered: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "impact.html")]
pub struct ImpactPage {
    chrome: Chrome,
    spans: Vec<(&'static str, &'static str)>,
    span: &'static str,
    changes: u64,
    /// "3 measured changes, 1,204 extra misses; 1 not measurable (…)".
    total: String,
    /// By requester, target and event type; a table without rows is not drawn.
    tables: Vec<GroupTable>,
    costliest: Vec<CostlyRow>,
    truncated: bool,
}

use crate::domain::text::thousands as misses;

fn duration(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".to_owned(), crate::domain::text::duration_text)
}

fn rows(groups: &[Group]) -> Vec<GroupRow> {
    groups
        .iter()
        .map(|g| GroupRow {
            key: g.key.clone(),
            changes: g.changes,
            extra_misses: misses(g.extra_misses),
            median_recovery: duration(g.median_recovery_ms),
            not_recovered: g.not_recovered,
        })
        .collect()
}

pub async fn page(
    state: web::Data<AppState>,
    person: Person,
    params: web::Query<Params>,
) -> Result<ImpactPage, PageError> {
    let (span, _, span_ms) = SPANS
        .iter()
        .find(|(v, _, _)| Some(*v) == params.span.as_deref())
        .copied()
        .unwrap_or(SPANS[1]);
    let q = ReportQuery {
        since: crate::store::now_ms() - span_ms,
        ..ReportQuery::default()
    };
    let r = state.impact.report(&person.0.principal, &q).await?;
    Ok(ImpactPage {
        chrome: Chrome::new(&state, &person),
        spans: SPANS.iter().map(|(v, l, _)| (*v, *l)).collect(),
        span,
        changes: r.changes,
        total: {
            let count = crate::domain::text::count;
            let measured = (r.changes - r.not_measurable) as usize;
            let mut t = format!(
                "{}, {} extra misses",
                count(measured, "measured change", "measured changes"),
                misses(r.extra_misses)
            );
            if r.not_measurable > 0 {
                t.push_str(&format!(
                    "; {} not measurable (too little traffic or history)",
                    r.not_measurable
                ));
            }
            t
        },
        tables: vec![
            GroupTable {
                id: "by-requester",
                heading: "By who asked",
                column: "Requester",
                rows: rows(&r.by_requester),
            },
            GroupTable {
                id: "by-target",
                heading: "By target",
                column: "Target",
                rows: rows(&r.by_target),
            },
            GroupTable {
                id: "by-event",
                heading: "By event type",
                column: "Event type",
                rows: rows(&r.by_event_type),
            },
        ],
        costliest: r
            .costliest
            .iter()
            .map(|c| CostlyRow {
                job: c.job,
                title: crate::registry::title_of(&c.kind),
                target: c.target.clone(),
                requester: c.requester.clone(),
                event_type: c.event_type.clone().unwrap_or_default(),
                extra_misses: misses(c.extra_misses),
                recovered: c.recovered_after_ms.map_or_else(
                    || "not recovered".to_owned(),
                    crate::domain::text::duration_text,
                ),
            })
            .collect(),
        truncated: r.truncated,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn misses_read_as_people_write_them() {
        let cases = [
            (0.0, "0"),
            (999.4, "999"),
            (1000.0, "1,000"),
            (1234567.0, "1,234,567"),
        ];
        for (n, want) in cases {
            assert_eq!(super::misses(n), want);
        }
    }
}
