//! What goes out in one CreateInvalidation (pure): the oldest waiting jobs whose items,
//! coalesced, fit beside what is already in progress within CloudFront's limits.

use super::executor::Request;
use crate::domain::{InvalidationItem, ItemCounts, coalesce};
use crate::store::{BatchPlan, JobRecord};

/// CloudFront's limits on what may be in progress per distribution.
pub const MAX_FILES_IN_FLIGHT: usize = 3000;
pub const MAX_WILDCARDS_IN_FLIGHT: usize = 15;

/// The items a stored request holds.
pub(super) fn stored_items(job: &JobRecord) -> Vec<String> {
    serde_json::from_value::<Request>(job.request.clone())
        .map(|r| r.items)
        .unwrap_or_default()
}

/// The largest prefix of `candidates` (oldest first) that fits beside what is in flight,
/// coalesced. Order is kept: a job that does not fit makes the later ones wait behind it.
pub(super) fn plan(candidates: &[JobRecord], in_flight: (i64, i64)) -> Option<BatchPlan> {
    let (files, wildcards) = in_flight;
    let mut chosen = Vec::new();
    let mut items: Vec<InvalidationItem> = Vec::new();
    for job in candidates {
        let parsed = stored_items(job)
            .iter()
            .filter_map(|i| InvalidationItem::parse(i).ok())
            .collect::<Vec<_>>();
        let candidate = coalesce(items.iter().cloned().chain(parsed));
        let c = ItemCounts::of(&candidate);
        if files as usize + c.files > MAX_FILES_IN_FLIGHT
            || wildcards as usize + c.wildcards > MAX_WILDCARDS_IN_FLIGHT
        {
            break;
        }
        items = candidate;
        chosen.push(job.id);
    }
    if chosen.is_empty() {
        return None;
    }
    let c = ItemCounts::of(&items);
    Some(BatchPlan {
        jobs: chosen,
        items: items.iter().map(InvalidationItem::to_cloudfront).collect(),
        files: c.files as i64,
        wildcards: c.wildcards as i64,
    })
}
