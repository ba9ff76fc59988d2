//! Background work on tokio-cron-scheduler: one job per poll unit (`every` or `cron`), with a
//! fixed per-unit offset so targets do not poll in lockstep, and the rollup/retention job.
//! Each job calls a plain `…_once()` function, which tests call directly instead.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::collector::Collector;
use crate::config::{Schedule, Settings};
use crate::store::now_ms;

/// How often the impact of recent changes is measured.
const IMPACT_EVERY: Duration = Duration::from_secs(60);

/// How often rollups and retention run.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(300);

/// A stable offset in [0, min(interval / 4, 5 s)) for a unit, so a thousand targets with the
/// same schedule spread over the first seconds of each interval instead of arriving at once.
fn jitter(name: &str, schedule: &Schedule) -> Duration {
    let span = match schedule {
        Schedule::Every(d) => (*d / 4).min(Duration::from_secs(5)),
        Schedule::Cron(_) => Duration::from_secs(2),
    };
    if span.is_zero() {
        return Duration::ZERO;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    Duration::from_millis(h.finish() % span.as_millis().max(1) as u64)
}

/// Starts the polling and maintenance jobs, and polls the units at `now` at once (every unit
/// at start; after a reload, only those built anew).
pub async fn start(
    collector: Arc<Collector>,
    settings: Arc<Settings>,
    now: Vec<usize>,
    streams: &[Arc<crate::streams::StreamConsumer>],
    impact: Arc<crate::impact::ImpactService>,
) -> anyhow::Result<JobScheduler> {
    let sched = JobScheduler::new()
        .await
        .context("cannot create the scheduler")?;
    for (i, unit) in collector.units().iter().enumerate() {
        let offset = jitter(&unit.name, &unit.schedule);
        let c = collector.clone();
        let run =
            move |_id, _lock| -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
                let c = c.clone();
                Box::pin(async move {
                    tokio::time::sleep(offset).await;
                    c.poll_once(i).await;
                })
            };
        let job = match &unit.schedule {
            Schedule::Every(d) => Job::new_repeated_async(*d, run),
            Schedule::Cron(expr) => Job::new_async(expr.as_str(), run),
        }
        .with_context(|| format!("cannot schedule {}", unit.name))?;
        sched
            .add(job)
            .await
            .with_context(|| format!("cannot schedule {}", unit.name))?;
    }
    for stream in streams {
        let s = stream.clone();
        let job = Job::new_repeated_async(stream.every(), move |_id, _lock| {
            let s = s.clone();
            Box::pin(async move {
                s.read_once(now_ms()).await;
            })
        })
        .with_context(|| format!("cannot schedule stream {}", stream.name()))?;
        sched
            .add(job)
            .await
            .with_context(|| format!("cannot schedule stream {}", stream.name()))?;
    }
    let (c, s) = (collector.clone(), settings.clone());
    let maintenance = Job::new_repeated_async(MAINTENANCE_EVERY, move |_id, _lock| {
        let (c, s) = (c.clone(), s.clone());
        Box::pin(async move {
            match c.maintain_once(&s, now_ms()).await {
                Ok(deleted) => tracing::debug!(?deleted, "Rolled up samples and applied retention."),
                Err(e) => tracing::error!(error = %e, "Rollup or retention failed; it runs again in 5 minutes."),
            }
        })
    })
    .context("cannot schedule maintenance")?;
    sched
        .add(maintenance)
        .await
        .context("cannot schedule maintenance")?;
    let measure = Job::new_repeated_async(IMPACT_EVERY, move |_id, _lock| {
        let impact = impact.clone();
        Box::pin(async move {
            match impact.measure_recent(now_ms()).await {
                Ok(n) => tracing::debug!(measured = n, "Measured the impact of recent changes."),
                Err(e) => tracing::warn!(error = %e, "Measuring recent changes failed; it runs again in a minute."),
            }
        })
    })
    .context("cannot schedule impact measurement")?;
    sched
        .add(measure)
        .await
        .context("cannot schedule impact measurement")?;
    sched.start().await.context("cannot start the scheduler")?;
    // The first round now rather than one interval after start.
    tokio::spawn(async move {
        collector.poll_some_once(now).await;
    });
    Ok(sched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_stable_spread_and_bounded() {
        let every = Schedule::Every(Duration::from_secs(15));
        let offsets: Vec<Duration> = (0..200).map(|i| jitter(&format!("t{i}"), &every)).collect();
        assert!(offsets.iter().all(|d| *d < Duration::from_millis(3750)));
        assert_eq!(jitter("t1", &every), jitter("t1", &every));
        let distinct: std::collections::HashSet<_> =
            offsets.iter().map(|d| d.as_millis() / 250).collect();
        assert!(
            distinct.len() >= 10,
            "offsets spread over the window: {distinct:?}"
        );
    }
}
