//! The estimated monthly CloudWatch cost of the configured polling (pure).

use std::time::Duration;

use croner::parser::{CronParser, Seconds};
use serde::Serialize;

use crate::config::{Schedule, Settings};

const MONTH: Duration = Duration::from_secs(30 * 24 * 3600);

/// One target's share.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TargetCost {
    pub target: String,
    pub metrics_per_poll: usize,
    pub polls_per_month: f64,
    pub metrics_per_month: f64,
    pub usd_per_month: f64,
}

/// The whole estimate.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CostEstimate {
    pub price_per_1000_metrics_usd: f64,
    pub metrics_per_month: f64,
    pub usd_per_month: f64,
    pub targets: Vec<TargetCost>,
}

/// Polls a month for a schedule; a cron schedule is counted over one day and scaled.
pub fn polls_per_month(schedule: &Schedule) -> f64 {
    match schedule {
        Schedule::Every(d) => MONTH.as_secs_f64() / d.as_secs_f64().max(1.0),
        Schedule::Cron(expr) => {
            let Ok(cron) = CronParser::builder()
                .seconds(Seconds::Required)
                .build()
                .parse(expr)
            else {
                return 0.0;
            };
            let start = chrono::DateTime::<chrono::Utc>::from_timestamp(1_767_225_600, 0)
                .unwrap_or_default();
            let end = start + chrono::Duration::days(1);
            // Capped: a schedule firing every second is counted exactly (86,400 a day).
            let per_day = cron
                .iter_from(start, croner::Direction::Forward)
                .take_while(|t| *t < end)
                .take(86_400)
                .count();
            per_day as f64 * 30.0
        }
    }
}

/// GetMetricData is billed per metric requested: metrics per poll × polls a month.
pub fn estimate(settings: &Settings) -> CostEstimate {
    let price = settings.cloudwatch.price_per_1000_metrics;
    let targets: Vec<TargetCost> = settings
        .targets
        .iter()
        .filter_map(|t| t.config.cloudwatch().map(|q| (t, q)))
        .map(|(t, queries)| {
            let per_poll = queries.metrics().len();
            let polls = polls_per_month(&t.schedule);
            let metrics = per_poll as f64 * polls;
            TargetCost {
                target: t.name.to_string(),
                metrics_per_poll: per_poll,
                polls_per_month: polls,
                metrics_per_month: metrics,
                usd_per_month: metrics / 1000.0 * price,
            }
        })
        .collect();
    let metrics: f64 = targets.iter().map(|t| t.metrics_per_month).sum();
    CostEstimate {
        price_per_1000_metrics_usd: price,
        metrics_per_month: metrics,
        usd_per_month: metrics / 1000.0 * price,
        targets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cloudfront_target_polled_every_minute_costs_six_metrics_a_minute() {
        let s = crate::config::load_from(
            Some("[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\nevery = \"1m\"\n\
                  [[targets]]\nname = \"r\"\nkind = \"redis\"\nurl = \"redis://h:1\"\n"),
            Vec::new(),
        )
        .unwrap();
        let e = estimate(&s);
        assert_eq!(e.targets.len(), 1, "direct targets cost nothing");
        assert_eq!(e.targets[0].metrics_per_poll, 6);
        assert_eq!(e.targets[0].polls_per_month, 43_200.0);
        assert_eq!(e.metrics_per_month, 259_200.0);
        assert!((e.usd_per_month - 2.592).abs() < 1e-9);
    }

    #[test]
    fn cron_schedules_are_counted_from_their_firings() {
        assert_eq!(
            polls_per_month(&Schedule::Cron("0 */5 * * * *".into())),
            288.0 * 30.0
        );
        assert_eq!(
            polls_per_month(&Schedule::Every(Duration::from_secs(60))),
            43_200.0
        );
    }
}
