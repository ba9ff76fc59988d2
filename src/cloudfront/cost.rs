//! What invalidations cost this month (pure). CloudFront bills each path beyond the free ones
//! per month and account; a wildcard or a cache tag counts as one path.

use serde::Serialize;

use crate::config::InvalidationSettings;

/// This month's figures.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MonthlyCost {
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub billed_paths: i64,
    pub free_paths: u64,
    pub billable_paths: i64,
    pub price_per_path_usd: f64,
    pub estimated_usd: f64,
    pub budget_usd: Option<f64>,
}

/// The month (`YYYY-MM`, UTC) of a time in milliseconds.
pub fn month_of(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m")
        .to_string()
}

/// The estimate for `billed` paths this month.
pub fn monthly(month: String, billed: i64, s: &InvalidationSettings) -> MonthlyCost {
    let billable = (billed - s.free_paths_per_month as i64).max(0);
    MonthlyCost {
        month,
        billed_paths: billed,
        free_paths: s.free_paths_per_month,
        billable_paths: billable,
        price_per_path_usd: s.price_per_path,
        estimated_usd: billable as f64 * s.price_per_path,
        budget_usd: s.monthly_budget_usd,
    }
}

/// What an invalidation would send and cost, worked out without sending it (a dry run).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = CloudFrontCostPlan)]
pub struct CostPlan {
    /// Always true: nothing was sent.
    pub dry_run: bool,
    /// What it would send, coalesced: without duplicates or paths a wildcard covers.
    pub paths: Vec<String>,
    /// Paths without a wildcard, and cache tags.
    pub files: usize,
    pub wildcards: usize,
    /// Paths it would be billed for (a wildcard or a tag counts as one).
    pub billed_paths: u64,
    /// The month's free paths still left before it.
    pub free_paths_left: u64,
    /// What it alone would cost, after the free paths left.
    pub price_usd: f64,
    /// The month's estimate with it.
    pub month_estimated_usd: f64,
    pub budget_usd: Option<f64>,
    /// A real request would be refused: the month's estimate would pass the budget.
    pub exceeds_budget: bool,
    /// Directories the target's collapse policy sends as wildcards.
    pub collapsed: Vec<super::collapse::Collapsed>,
    /// What past wildcard invalidations of this target cost, measured: the trade-off of a
    /// cheaper request that empties more of the cache.
    pub past_wildcards: Option<PastWildcards>,
}

/// The measured impact of a target's past wildcard invalidations (last 90 days).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PastWildcards {
    pub changes: usize,
    /// The median of their extra misses.
    pub median_extra_misses: f64,
}

impl PastWildcards {
    /// From the extra misses of each; `None` without any.
    pub fn of(mut extra: Vec<f64>) -> Option<Self> {
        if extra.is_empty() {
            return None;
        }
        extra.sort_by(f64::total_cmp);
        Some(Self {
            changes: extra.len(),
            median_extra_misses: extra[(extra.len() - 1) / 2],
        })
    }
}

/// The plan and price of sending `paths` (coalesced) when `billed` paths were billed this month.
pub fn plan(
    paths: Vec<String>,
    files: usize,
    wildcards: usize,
    billed: i64,
    s: &InvalidationSettings,
) -> CostPlan {
    let more = files + wildcards;
    let before = monthly(String::new(), billed, s);
    let after = monthly(String::new(), billed + more as i64, s);
    CostPlan {
        dry_run: true,
        paths,
        files,
        wildcards,
        billed_paths: more as u64,
        free_paths_left: (s.free_paths_per_month as i64 - billed).max(0) as u64,
        price_usd: after.estimated_usd - before.estimated_usd,
        month_estimated_usd: after.estimated_usd,
        budget_usd: s.monthly_budget_usd,
        exceeds_budget: exceeds_budget(billed, more, s),
        collapsed: Vec::new(),
        past_wildcards: None,
    }
}

/// Whether `more` paths would take the month's estimate beyond the budget.
pub fn exceeds_budget(billed: i64, more: usize, s: &InvalidationSettings) -> bool {
    let Some(budget) = s.monthly_budget_usd else {
        return false;
    };
    let after = monthly(String::new(), billed + more as i64, s).estimated_usd;
    after > budget + 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings(budget: Option<f64>) -> InvalidationSettings {
        InvalidationSettings {
            coalesce_window: Duration::from_secs(2),
            deadline: Duration::from_secs(3600),
            price_per_path: 0.005,
            free_paths_per_month: 1000,
            monthly_budget_usd: budget,
        }
    }

    #[test]
    fn the_first_thousand_paths_are_free() {
        assert_eq!(
            monthly("2026-11".into(), 999, &settings(None)).estimated_usd,
            0.0
        );
        let c = monthly("2026-11".into(), 1200, &settings(None));
        assert_eq!(c.billable_paths, 200);
        assert!((c.estimated_usd - 1.0).abs() < 1e-9);
        assert_eq!(month_of(1_795_334_999_000), "2026-11");
    }

    #[test]
    fn a_plan_prices_what_is_left_of_the_free_paths_first() {
        // (billed so far, files, wildcards) → (free left, price, month, exceeds the 1 USD budget)
        let cases = [
            ((0, 3, 1), (1000, 0.0, 0.0, false)),
            ((998, 3, 1), (2, 0.01, 0.01, false)),
            ((1200, 10, 0), (0, 0.05, 1.05, true)),
            ((1100, 100, 0), (0, 0.5, 1.0, false)),
        ];
        for ((billed, files, wildcards), (left, price, month, over)) in cases {
            let p = plan(Vec::new(), files, wildcards, billed, &settings(Some(1.0)));
            assert!(p.dry_run);
            assert_eq!(p.billed_paths, (files + wildcards) as u64);
            assert_eq!(p.free_paths_left, left, "{billed}");
            assert!(
                (p.price_usd - price).abs() < 1e-9,
                "{billed}: {}",
                p.price_usd
            );
            assert!((p.month_estimated_usd - month).abs() < 1e-9, "{billed}");
            assert_eq!(p.exceeds_budget, over, "{billed}");
        }
    }

    #[test]
    fn past_wildcards_are_summed_up_by_their_median() {
        assert_eq!(PastWildcards::of(Vec::new()), None);
        let p = PastWildcards::of(vec![900.0, 10.0, 300.0, 40.0]).unwrap();
        assert_eq!(p.changes, 4);
        // The lower middle of an even count: a cost one change really had.
        assert_eq!(p.median_extra_misses, 40.0);
    }

    #[test]
    fn the_budget_refuses_what_would_exceed_it() {
        let s = settings(Some(1.0));
        assert!(
            !exceeds_budget(1000, 200, &s),
            "exactly at the budget is allowed"
        );
        assert!(exceeds_budget(1000, 201, &s));
        assert!(!exceeds_budget(0, 1_000_000, &settings(None)));
    }
}
