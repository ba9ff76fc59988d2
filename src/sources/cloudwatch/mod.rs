//! CloudWatch-backed targets (ElastiCache, CloudFront, API Gateway, DAX), polled in batches:
//! every target of one region and schedule shares GetMetricData calls of at most 500 queries,
//! because CloudWatch bills per metric requested and throttles per call. What each target
//! asks for is its kind's ([`CloudWatchQueries`]).

pub mod plan;

pub use plan::{Answers, CloudWatchQueries, MetricSpec};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;

use super::{PollError, Polled, Source};

/// CloudWatch's limit of metric queries in one GetMetricData call.
pub const MAX_QUERIES_PER_CALL: usize = 500;
/// GetMetricData calls of one poll in flight at once. CloudWatch allows 50 a second per
/// account and region; a few at a time keep a fleet's poll short without nearing that.
pub const PARALLEL_CALLS: usize = 4;
/// The period asked for: one datapoint a minute.
const PERIOD_SECONDS: i32 = 60;
/// [`PERIOD_SECONDS`] in ms: a datapoint stamped `t` covers `[t, t + PERIOD_MS)`.
pub const PERIOD_MS: i64 = PERIOD_SECONDS as i64 * 1000;

/// Calls made and metrics requested, for the daemon's own metrics and for tests.
#[derive(Debug, Default)]
pub struct CallCounter {
    pub calls: AtomicU64,
    pub metrics_requested: AtomicU64,
}

/// One target of a batch: its name and what it asks for.
pub type Queried = (String, Arc<dyn CloudWatchQueries>);

pub struct CloudWatchSource {
    targets: Vec<Queried>,
    client: aws_sdk_cloudwatch::Client,
    lookback: Duration,
    counter: Arc<CallCounter>,
}

impl CloudWatchSource {
    pub fn new(
        targets: Vec<Queried>,
        client: aws_sdk_cloudwatch::Client,
        lookback: Duration,
        counter: Arc<CallCounter>,
    ) -> Self {
        Self {
            targets,
            client,
            lookback,
            counter,
        }
    }
}

/// Query id for the `i`-th query of a poll (ids must start with a lowercase letter).
fn query_id(i: usize) -> String {
    format!("q{i}")
}

fn query(id: String, s: &MetricSpec) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(s.namespace)
        .metric_name(s.metric)
        .set_dimensions(Some(
            s.dimensions
                .iter()
                .map(|(k, v)| Dimension::builder().name(*k).value(v).build())
                .collect(),
        ))
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(PERIOD_SECONDS)
                .stat(s.stat)
                .build(),
        )
        .return_data(true)
        .build()
}

impl CloudWatchSource {
    /// One call's queries (`chunk`, numbered from `base`), through every page of its answer.
    async fn call(
        &self,
        base: usize,
        chunk: &[(usize, MetricSpec)],
        start: i64,
        end: i64,
    ) -> Result<Vec<aws_sdk_cloudwatch::types::MetricDataResult>, PollError> {
        let queries: Vec<MetricDataQuery> = chunk
            .iter()
            .enumerate()
            .map(|(i, (_, s))| query(query_id(base + i), s))
            .collect();
        let mut results = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(DateTime::from_millis(start))
                .end_time(DateTime::from_millis(end))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| PollError(crate::aws_error::explain("GetMetricData", &e)))?;
            self.counter.calls.fetch_add(1, Ordering::Relaxed);
            self.counter
                .metrics_requested
                .fetch_add(queries.len() as u64, Ordering::Relaxed);
            results.extend(out.metric_data_results().iter().cloned());
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(results);
            }
        }
    }
}

/// How long a poll of `queries` metrics may take, when one call may take `per_call`: a
/// call's time for each wave of [`PARALLEL_CALLS`] calls it needs.
pub fn poll_timeout(per_call: Duration, queries: usize) -> Duration {
    let calls = queries.div_ceil(MAX_QUERIES_PER_CALL).max(1);
    per_call * calls.div_ceil(PARALLEL_CALLS) as u32
}

impl Source for CloudWatchSource {
    fn targets(&self) -> Vec<String> {
        self.targets.iter().map(|(name, _)| name.clone()).collect()
    }

    fn poll(&self, now: i64) -> BoxFuture<'_, Result<Polled, PollError>> {
        Box::pin(async move {
            // Every query of this poll, with the (target, spec) it answers.
            let mut index: Vec<(usize, MetricSpec)> = Vec::new();
            for (t, (_, queries)) in self.targets.iter().enumerate() {
                index.extend(queries.metrics().into_iter().map(|s| (t, s)));
            }
            let end = now.div_euclid(60_000) * 60_000;
            let start = end - self.lookback.as_millis() as i64;
            let mut answers: Vec<Answers> = vec![Answers::new(); self.targets.len()];
            // The calls of a large unit (a discovered fleet: thousands of targets in one
            // account and region) go out a few at a time rather than one after another.
            let mut calls = Vec::new();
            for (chunk_no, chunk) in index.chunks(MAX_QUERIES_PER_CALL).enumerate() {
                calls.push(self.call(chunk_no * MAX_QUERIES_PER_CALL, chunk, start, end));
            }
            let mut pages = futures_util::stream::iter(calls).buffer_unordered(PARALLEL_CALLS);
            while let Some(results) = pages.next().await {
                for result in results? {
                    let Some(n) = result
                        .id()
                        .and_then(|id| id.strip_prefix('q'))
                        .and_then(|n| n.parse::<usize>().ok())
                    else {
                        continue;
                    };
                    let Some((t, spec)) = index.get(n) else {
                        continue;
                    };
                    let series = answers[*t].entry(spec.series).or_default();
                    for (ts, v) in result.timestamps().iter().zip(result.values()) {
                        let ms = ts.to_millis().unwrap_or_default();
                        series.insert(ms, v * spec.scale);
                    }
                }
            }
            let mut polled = Polled::default();
            for ((name, queries), a) in self.targets.iter().zip(answers) {
                let (samples, notice) = queries.samples(name, a);
                polled.samples.extend(samples);
                if let Some(n) = notice {
                    polled.notices.push((name.clone(), n));
                }
            }
            Ok(polled)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit gets a call's time for each wave of calls it needs, never less than one.
    #[test]
    fn a_large_unit_gets_time_for_each_wave_of_calls() {
        let call = Duration::from_secs(20);
        assert_eq!(poll_timeout(call, 0), call);
        assert_eq!(poll_timeout(call, 500 * PARALLEL_CALLS), call);
        assert_eq!(poll_timeout(call, 500 * PARALLEL_CALLS + 1), call * 2);
        assert_eq!(
            poll_timeout(call, 13_500 / 4),
            call * 2,
            "a quarter of 5,000 targets"
        );
    }
}
