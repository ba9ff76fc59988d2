//! Runs the sources: one poll at a time per unit, a global limit on polls at once, a timeout
//! per poll. Stores what a poll returns and records every outcome, so a failed poll is data
//! too (`up = 0` and the error) and one broken target never stops the others.

pub mod cost;
pub mod current;
pub mod exposition;
mod gauges;
mod info;
pub mod units;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

pub use gauges::CacheGauges;
pub use units::Unit;

use crate::alarms::evaluator::Evaluator;
use crate::config::Settings;
use crate::sources::cloudwatch::CallCounter;
use crate::store::{Sample, Store, TargetStatus, now_ms};

/// How one poll of one unit ended.
#[derive(Debug, Clone, PartialEq)]
pub struct PollReport {
    pub unit: String,
    pub targets: Vec<String>,
    /// `None`: success.
    pub error: Option<String>,
    pub samples: usize,
    /// The previous poll of this unit was still running; this one did not start.
    pub skipped: bool,
}

/// Every unit to poll, and what polling needs.
pub struct Collector {
    units: Vec<Arc<Unit>>,
    /// Per unit: built for this collector (not carried over from the one before a reload),
    /// so the scheduler polls it at once.
    fresh: Vec<bool>,
    store: Store,
    limit: Arc<Semaphore>,
    gauges: Arc<CacheGauges>,
    /// GetMetricData calls and metrics requested, across all CloudWatch units.
    pub cloudwatch_calls: Arc<CallCounter>,
    /// Alarms, evaluated right after each poll of the targets they watch.
    alarms: Option<Arc<Evaluator>>,
}

impl Collector {
    /// Builds a unit per direct target and per group of CloudWatch targets.
    /// `aws` is the SDK configuration CloudWatch clients are made from (needed only when a
    /// CloudWatch target is configured).
    pub fn build(
        settings: &Settings,
        store: Store,
        gauges: Arc<CacheGauges>,
        aws: Option<&aws_config::SdkConfig>,
    ) -> Self {
        Self::assemble(
            settings,
            store,
            gauges,
            aws,
            Arc::new(CallCounter::default()),
            &[],
        )
    }

    /// The collector for a reloaded configuration: a unit whose targets and settings did not
    /// change is carried over as it is (its connection, the counters its rates are computed
    /// from, whether it is polling right now); the others are built anew.
    pub fn next(&self, settings: &Settings, aws: Option<&aws_config::SdkConfig>) -> Self {
        Self::assemble(
            settings,
            self.store.clone(),
            self.gauges.clone(),
            aws,
            self.cloudwatch_calls.clone(),
            &self.units,
        )
    }

    fn assemble(
        settings: &Settings,
        store: Store,
        gauges: Arc<CacheGauges>,
        aws: Option<&aws_config::SdkConfig>,
        cloudwatch_calls: Arc<CallCounter>,
        previous: &[Arc<Unit>],
    ) -> Self {
        gauges.describe_targets(settings);
        let (units, fresh) = units::build(settings, cloudwatch_calls.clone(), aws, previous)
            .into_iter()
            .unzip();
        Self {
            units,
            fresh,
            store,
            limit: Arc::new(Semaphore::new(
                settings.collector.max_concurrent_polls as usize,
            )),
            gauges,
            cloudwatch_calls,
            alarms: None,
        }
    }

    /// Evaluates these alarms after each poll.
    pub fn with_alarms(mut self, alarms: Arc<Evaluator>) -> Self {
        self.alarms = Some(alarms);
        self
    }

    /// The alarms evaluated after each poll (tests evaluate them at a chosen time).
    pub fn alarms(&self) -> Option<&Arc<Evaluator>> {
        self.alarms.as_ref()
    }

    /// The units, in a stable order.
    pub fn units(&self) -> &[Arc<Unit>] {
        &self.units
    }

    /// The indices of the units built for this collector rather than carried over.
    pub fn fresh_units(&self) -> Vec<usize> {
        (0..self.units.len()).filter(|i| self.fresh[*i]).collect()
    }

    /// Every target some unit polls.
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        self.units
            .iter()
            .flat_map(|u| u.targets.iter().map(String::as_str))
    }

    /// The metrics of the collected series.
    pub fn gauges(&self) -> &Arc<CacheGauges> {
        &self.gauges
    }

    /// Polls the unit that holds `target` once (tests and the API call this directly).
    pub async fn poll_target_once(&self, target: &str) -> Option<PollReport> {
        let i = self
            .units
            .iter()
            .position(|u| u.targets.iter().any(|t| t == target))?;
        Some(self.poll_once(i).await)
    }

    /// Polls every unit once, concurrently within the global limit.
    pub async fn poll_all_once(&self) -> Vec<PollReport> {
        self.poll_some_once(0..self.units.len()).await
    }

    /// Polls the units at `indices` once, concurrently within the global limit.
    pub async fn poll_some_once(
        &self,
        indices: impl IntoIterator<Item = usize>,
    ) -> Vec<PollReport> {
        futures_util::future::join_all(indices.into_iter().map(|i| self.poll_once(i))).await
    }

    /// Polls unit `i` once: waits for a slot, runs the source with the unit's timeout, stores
    /// the samples and the outcome. Never fails: an error is the outcome recorded.
    pub async fn poll_once(&self, i: usize) -> PollReport {
        let unit = &self.units[i];
        let report = |error: Option<String>, samples: usize, skipped: bool| PollReport {
            unit: unit.name.clone(),
            targets: unit.targets.clone(),
            error,
            samples,
            skipped,
        };
        let Some(_running) = RunningGuard::enter(&unit.running) else {
            tracing::warn!(unit = %unit.name, "The previous poll is still running; skipping this one.");
            return report(None, 0, true);
        };
        let Ok(_permit) = self.limit.acquire().await else {
            return report(Some("the collector is shutting down".into()), 0, false);
        };
        let started = Instant::now();
        let now = now_ms();
        let outcome = match tokio::time::timeout(unit.timeout, unit.source.poll(now)).await {
            Ok(Ok(polled)) => Ok(polled),
            Ok(Err(e)) => Err(e.0),
            Err(_) => Err(format!(
                "timed out after {}",
                humantime::format_duration(unit.timeout)
            )),
        };
        let duration_ms = started.elapsed().as_millis() as i64;
        let (mut samples, notices, error) = match outcome {
            Ok(p) => (p.samples, p.notices, None),
            Err(e) => (Vec::new(), Vec::new(), Some(e)),
        };
        let up = if error.is_none() { 1.0 } else { 0.0 };
        for t in &unit.targets {
            samples.push(Sample::new(t, "", "up", now, up));
        }
        let mut error = error;
        if let Err(e) = self.store.upsert_samples(&samples).await {
            tracing::error!(unit = %unit.name, error = %e, "Could not store samples.");
            error.get_or_insert_with(|| format!("could not store samples: {e}"));
        }
        for t in &unit.targets {
            let status = TargetStatus {
                target: t.clone(),
                up: error.is_none(),
                last_poll_at: now,
                last_success_at: error.is_none().then_some(now),
                last_error: error.clone(),
                notice: notices.iter().find(|(n, _)| n == t).map(|(_, m)| m.clone()),
                duration_ms,
            };
            if let Err(e) = self.store.record_poll(&status).await {
                tracing::error!(target_name = %t, error = %e, "Could not record a poll.");
            }
        }
        self.gauges.observe(&samples);
        if let Some(alarms) = &self.alarms
            && let Err(e) = alarms.evaluate_once(&unit.targets, now).await
        {
            tracing::error!(unit = %unit.name, error = %e, "Could not evaluate alarms after a poll.");
        }
        match &error {
            None => {
                tracing::debug!(unit = %unit.name, samples = samples.len(), ms = duration_ms, "Polled.")
            }
            Some(e) => {
                tracing::warn!(unit = %unit.name, error = %e, ms = duration_ms, "A poll failed; the target is recorded as down.")
            }
        }
        report(error, samples.len(), false)
    }

    /// Rollups, compaction and retention: recomputes the rollups of the last two hours (late
    /// and revised CloudWatch data lands there), compacts closed windows into chunks, and
    /// deletes what is past each resolution's age, and dashboard sessions that ended a day ago.
    pub async fn maintain_once(
        &self,
        settings: &Settings,
        now: i64,
    ) -> Result<[u64; 4], crate::store::StoreError> {
        self.store.rollup(now - 2 * 3_600_000, now).await?;
        let compacted = self.store.compact_once(now).await?;
        if compacted.windows > 0 {
            tracing::debug!(
                windows = compacted.windows,
                rows = compacted.rows,
                "Compacted closed windows into chunks."
            );
        }
        let r = &settings.retention;
        let ms = |d: Duration| d.as_millis() as i64;
        let [raw, five, hour] = self
            .store
            .apply_retention(
                now - ms(r.raw),
                now - ms(r.five_minute),
                now - ms(r.one_hour),
            )
            .await?;
        let alerts = self.store.prune_alert_history(now - ms(r.alerts)).await?;
        // Ended sessions are of no use after a day (who signed in stays in the audit log).
        self.store.prune_sessions(now - 86_400_000).await?;
        self.store
            .prune_trusted_devices(now - crate::auth::sessions::DEVICE_TRUST.as_millis() as i64)
            .await?;
        Ok([raw, five, hour, alerts])
    }
}

/// Marks a unit as being polled; `None` when it already is.
struct RunningGuard<'a>(&'a AtomicBool);

impl<'a> RunningGuard<'a> {
    fn enter(flag: &'a AtomicBool) -> Option<Self> {
        flag.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| Self(flag))
    }
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
