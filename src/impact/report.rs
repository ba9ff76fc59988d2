//! Which changes cost most, and who sends them: the measured changes of a period added up by
//! requester (a pipeline's token, a person), by target and by event type, with the costliest
//! changes named. Only final impacts count; the leader measures every change within a minute
//! or so of its recovery, so a report lags by about that.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::ImpactState;
use crate::store::ImpactRow;

/// What the changes of a period cost.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImpactReport {
    /// From when (ms).
    pub since: i64,
    /// Changes with a final impact in the period.
    pub changes: u64,
    /// Of those, how many had too little traffic or history to measure.
    pub not_measurable: u64,
    /// Misses beyond the baseline, all changes together.
    pub extra_misses: f64,
    /// Costliest first.
    pub by_requester: Vec<Group>,
    pub by_target: Vec<Group>,
    /// Changes made for events, by event type.
    pub by_event_type: Vec<Group>,
    /// The 20 costliest changes.
    pub costliest: Vec<Costly>,
    /// The period had more changes than one report adds up; the newest were counted.
    pub truncated: bool,
}

/// Changes that share a requester, target or event type.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Group {
    pub key: String,
    /// Measured changes.
    pub changes: u64,
    pub extra_misses: f64,
    /// The median time to recovery of those that recovered (ms).
    pub median_recovery_ms: Option<i64>,
    /// Changes that did not recover within the limit or before the next change.
    pub not_recovered: u64,
}

/// One costly change.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Costly {
    pub job: i64,
    pub kind: String,
    pub target: String,
    pub requester: String,
    pub event_type: Option<String>,
    pub extra_misses: f64,
    pub recovered_after_ms: Option<i64>,
}

const COSTLIEST: usize = 20;

/// Adds up `rows` (newest first) of the period from `since`.
pub fn report(since: i64, rows: &[ImpactRow], truncated: bool) -> ImpactReport {
    let measured: Vec<&ImpactRow> = rows
        .iter()
        .filter(|r| r.state == ImpactState::Measured)
        .collect();
    let misses = |r: &ImpactRow| r.extra_misses.unwrap_or(0.0);
    let mut costliest: Vec<Costly> = measured
        .iter()
        .map(|r| Costly {
            job: r.job_id,
            kind: r.kind.clone(),
            target: r.target.clone(),
            requester: r.requester.clone(),
            event_type: r.event_type.clone(),
            extra_misses: misses(r),
            recovered_after_ms: r.recovered_after_ms,
        })
        .collect();
    costliest.sort_by(|a, b| {
        b.extra_misses
            .total_cmp(&a.extra_misses)
            .then(b.job.cmp(&a.job))
    });
    costliest.truncate(COSTLIEST);
    ImpactReport {
        since,
        changes: rows.len() as u64,
        not_measurable: (rows.len() - measured.len()) as u64,
        extra_misses: measured.iter().map(|r| misses(r)).sum(),
        by_requester: group(&measured, |r| Some(r.requester.clone())),
        by_target: group(&measured, |r| Some(r.target.clone())),
        by_event_type: group(&measured, |r| r.event_type.clone()),
        costliest,
        truncated,
    }
}

/// The measured rows grouped by `key` (rows without one left out), costliest first.
fn group(rows: &[&ImpactRow], key: impl Fn(&ImpactRow) -> Option<String>) -> Vec<Group> {
    let mut by: BTreeMap<String, Vec<&ImpactRow>> = BTreeMap::new();
    for r in rows {
        if let Some(k) = key(r) {
            by.entry(k).or_default().push(r);
        }
    }
    let mut out: Vec<Group> = by
        .into_iter()
        .map(|(key, rs)| {
            let mut recovered: Vec<i64> = rs.iter().filter_map(|r| r.recovered_after_ms).collect();
            recovered.sort_unstable();
            Group {
                key,
                changes: rs.len() as u64,
                extra_misses: rs.iter().map(|r| r.extra_misses.unwrap_or(0.0)).sum(),
                // The lower middle of an even count: a time that one change really took.
                median_recovery_ms: recovered
                    .get(recovered.len().saturating_sub(1) / 2)
                    .copied(),
                not_recovered: (rs.len() - recovered.len()) as u64,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.extra_misses
            .total_cmp(&a.extra_misses)
            .then(a.key.cmp(&b.key))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        id: i64,
        requester: &str,
        target: &str,
        event: Option<&str>,
        extra: f64,
        rec: Option<i64>,
    ) -> ImpactRow {
        ImpactRow {
            job_id: id,
            kind: "redis_purge".into(),
            target: target.into(),
            requester: requester.into(),
            event_type: event.map(str::to_owned),
            state: ImpactState::Measured,
            extra_misses: Some(extra),
            recovered_after_ms: rec,
        }
    }

    #[test]
    fn changes_add_up_by_requester_target_and_event_costliest_first() {
        let mut quiet = row(5, "olga", "web", None, 0.0, None);
        quiet.state = ImpactState::NotMeasurable;
        quiet.extra_misses = None;
        let rows = [
            quiet,
            row(
                4,
                "deploy-bot",
                "sessions",
                Some("product.updated"),
                900.0,
                Some(120_000),
            ),
            row(
                3,
                "deploy-bot",
                "web",
                Some("product.updated"),
                300.0,
                Some(60_000),
            ),
            row(2, "olga", "sessions", None, 50.0, Some(30_000)),
            row(1, "deploy-bot", "sessions", None, 100.0, None),
        ];
        let r = report(7, &rows, false);
        assert_eq!((r.changes, r.not_measurable), (5, 1));
        assert_eq!(r.extra_misses, 1350.0);
        let keys = |g: &[Group]| {
            g.iter()
                .map(|g| (g.key.clone(), g.extra_misses))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(&r.by_requester),
            [("deploy-bot".into(), 1300.0), ("olga".into(), 50.0)]
        );
        assert_eq!(
            keys(&r.by_target),
            [("sessions".into(), 1050.0), ("web".into(), 300.0)]
        );
        assert_eq!(keys(&r.by_event_type), [("product.updated".into(), 1200.0)]);
        let bot = &r.by_requester[0];
        assert_eq!(
            (bot.changes, bot.not_recovered, bot.median_recovery_ms),
            (3, 1, Some(60_000))
        );
        let order: Vec<i64> = r.costliest.iter().map(|c| c.job).collect();
        assert_eq!(order, [4, 3, 1, 2]);
    }
}
