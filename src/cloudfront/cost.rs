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
