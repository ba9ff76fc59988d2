//! What each change cost: a job's impact on its target's hit ratio (`measure.rs` says how it
//! is measured), read from the target's own series around the job. A target kind's series
//! roles say where its hit ratio and its requests are (a requests series, or hits plus
//! misses), so every kind with a hit ratio is measured the same way.

pub mod measure;
pub mod report;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use measure::{Impact, Interval, Measured, Rules, measure};
pub use report::ImpactReport;

use crate::auth::Principal;
use crate::config::{InForce, Settings};
use crate::domain::{ImpactState, Scope};
use crate::domain::{JobState, TargetName};
use crate::metrics::Metrics;
use crate::service_error::ServiceError;
use crate::store::{JobRecord, Resolution, SeriesQuery, Store, StoreError, now_ms};
use crate::targets::Role;

/// Which changes a report adds up.
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    pub since: i64,
    pub target: Option<String>,
    pub requester: Option<String>,
    pub kind: Option<String>,
}

/// A job, as far as its impact goes.
pub struct Change<'a> {
    pub id: i64,
    pub kind: &'a str,
    pub requester: &'a str,
    pub target: &'a str,
    pub state: JobState,
    pub dry_run: bool,
    pub created_at: i64,
    pub started_at: Option<i64>,
}

impl<'a> From<&'a JobRecord> for Change<'a> {
    fn from(job: &'a JobRecord) -> Self {
        Self {
            id: job.id,
            kind: &job.kind,
            requester: &job.requester,
            target: &job.target,
            state: job.state,
            dry_run: job.dry_run,
            created_at: job.created_at,
            started_at: job.started_at,
        }
    }
}

/// Measures jobs on the targets they changed.
pub struct ImpactService {
    store: Store,
    settings: Arc<dyn InForce>,
    metrics: Arc<Metrics>,
    rules: Rules,
}

impl ImpactService {
    pub fn new(store: Store, settings: Arc<dyn InForce>, metrics: Arc<Metrics>) -> Self {
        Self {
            store,
            settings,
            metrics,
            rules: Rules::default(),
        }
    }

    /// The impact of `job`, or `None` for a job that changed no hit ratio: one that spans
    /// targets (an event: its children are measured), a dry run, one that failed or was
    /// cancelled before changing anything, or a target without a hit ratio.
    /// A final impact is stored the first time it is measured, and its extra misses counted
    /// once on `/metrics`.
    pub async fn of_job(&self, job: &Change<'_>) -> Result<Option<Impact>, ServiceError> {
        Ok(self.measured(job).await?)
    }

    /// [`Self::of_job`], with the intervals it is measured over (for a chart of it), read
    /// once.
    pub async fn with_window(
        &self,
        job: &Change<'_>,
    ) -> Result<(Option<Impact>, Option<Window>), ServiceError> {
        let window = window_of(&self.store, &self.settings.settings(), &self.rules, job).await?;
        let impact = match stored_impact(&self.store, job.id).await? {
            Some(i) => Some(i),
            None => match &window {
                Some(w) => Some(self.record_if_final(job, impact_in(w, &self.rules)).await?),
                None => None,
            },
        };
        Ok((impact, window))
    }

    async fn measured(&self, job: &Change<'_>) -> Result<Option<Impact>, StoreError> {
        if let Some(i) = stored_impact(&self.store, job.id).await? {
            return Ok(Some(i));
        }
        match of_change(&self.store, &self.settings.settings(), &self.rules, job).await? {
            Some(i) => Ok(Some(self.record_if_final(job, i).await?)),
            None => Ok(None),
        }
    }

    /// Measures every change that ended recently on a target with a hit ratio and has no
    /// final impact yet (the leader runs this every minute), so each is stored and counted
    /// without anyone asking. How many became final.
    pub async fn measure_recent(&self, now: i64) -> Result<usize, StoreError> {
        // A change is final at the latest `limit` after it; an hour more covers a slow job.
        let since = now - self.rules.limit_ms - 3_600_000;
        // Only changes that can be measured: an event's own job (its type is no target) or a
        // target without a hit ratio would never be stored, and would come back every minute.
        let settings = self.settings.settings();
        let measurable: Vec<&str> = settings
            .targets
            .iter()
            .filter(|t| t.kind.series_with(Role::HitRatio).is_some())
            .map(|t| t.name.as_str())
            .collect();
        let mut done = 0;
        for job in self
            .store
            .unmeasured_changes(since, &measurable, 500)
            .await?
        {
            let impact = self.measured(&Change::from(&job)).await?;
            done += usize::from(impact.is_some_and(|i| i.is_final()));
        }
        Ok(done)
    }

    /// What the changes since `q.since` cost, added up (scope read; a caller limited to
    /// targets sees those only).
    pub async fn report(
        &self,
        who: &Principal,
        q: &ReportQuery,
    ) -> Result<ImpactReport, ServiceError> {
        who.require(Scope::Read)?;
        let filter = crate::store::ImpactFilter {
            since: q.since,
            target: q.target.as_deref(),
            requester: q.requester.as_deref(),
            kind: q.kind.as_deref(),
            targets: (!who.targets.is_empty()).then_some(who.targets.as_slice()),
        };
        let rows = self.store.impacts(&filter).await?;
        let truncated = rows.len() as i64 >= crate::store::MAX_REPORTED;
        Ok(report::report(q.since, &rows, truncated))
    }

    /// The final impacts already stored of jobs `ids` (a chart's marks), by job id.
    pub async fn stored(&self, ids: &[i64]) -> Result<BTreeMap<i64, Impact>, ServiceError> {
        let mut out = BTreeMap::new();
        for &id in ids {
            if let Some(i) = stored_impact(&self.store, id).await? {
                out.insert(id, i);
            }
        }
        Ok(out)
    }

    /// Stores `impact` when it is final, and gives it back.
    async fn record_if_final(
        &self,
        job: &Change<'_>,
        impact: Impact,
    ) -> Result<Impact, StoreError> {
        if impact.is_final() {
            self.record(job, &impact).await?;
        }
        Ok(impact)
    }

    async fn record(&self, job: &Change<'_>, impact: &Impact) -> Result<(), StoreError> {
        let body = serde_json::to_string(impact).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (state, m) = match impact {
            Impact::Measured(m) => (ImpactState::Measured, Some(m)),
            _ => (ImpactState::NotMeasurable, None),
        };
        let new = crate::store::NewImpact {
            job_id: job.id,
            state,
            extra_misses: m.map(|m| m.extra_misses),
            recovered_after_ms: m.and_then(|m| m.recovered_after_ms),
            body: &body,
        };
        if self.store.record_impact(&new, now_ms()).await?
            && let Some(m) = m
        {
            self.metrics
                .change_extra_misses
                .with_label_values(&[job.target, job.kind, job.requester])
                .inc_by(m.extra_misses.round().max(0.0) as u64);
        }
        Ok(())
    }
}

/// The intervals a change is measured over: the target's hit ratio and requests around it.
#[derive(Debug, Clone)]
pub struct Window {
    pub intervals: Vec<Interval>,
    /// When the job changed the cache (ms).
    pub at: i64,
    /// The next change on the target, and when it was made.
    pub next: Option<(i64, i64)>,
    pub from: i64,
    pub to: i64,
}

/// The window of `job`, or `None` for a job that changed no hit ratio (see
/// [`ImpactService::of_job`]).
pub async fn window_of(
    store: &Store,
    settings: &Settings,
    rules: &Rules,
    job: &Change<'_>,
) -> Result<Option<Window>, StoreError> {
    if job.dry_run || matches!(job.state, JobState::Failed | JobState::Cancelled) {
        return Ok(None);
    }
    let Some(target) = TargetName::parse(job.target)
        .ok()
        .and_then(|n| settings.target(&n).cloned())
    else {
        return Ok(None);
    };
    let kind = target.kind;
    let Some(ratio) = kind.series_with(Role::HitRatio) else {
        return Ok(None);
    };
    // The job changed the cache when it started working (when it was made, if it ended
    // before anyone saw it start).
    let at = job.started_at.unwrap_or(job.created_at);
    let step = target.schedule_hint_ms().max(1000);
    let from = at - step * (rules.baseline_intervals as i64 + 2);
    let next = store.next_change(job.target, job.id, at).await?;
    let to = next
        .map(|(_, made)| made.max(at + 1))
        .unwrap_or(i64::MAX)
        .min(at + rules.limit_ms)
        .min(now_ms())
        + 1;
    let read = |series: &str| SeriesQuery {
        target: job.target.to_owned(),
        node: String::new(),
        series: series.to_owned(),
        from,
        to,
        resolution: Resolution::Raw,
        detail: false,
    };
    let ratios = store.read_series(&read(ratio.name)).await?;
    // Requests per interval: a requests series, or hits plus misses.
    let mut requests: BTreeMap<i64, f64> = BTreeMap::new();
    let parts: Vec<&str> = match kind.series_with(Role::Requests) {
        Some(r) => vec![r.name],
        None => [Role::Hits, Role::Misses]
            .iter()
            .filter_map(|r| kind.series_with(*r).map(|s| s.name))
            .collect(),
    };
    for name in parts {
        for p in store.read_series(&read(name)).await? {
            *requests.entry(p.ts).or_default() += p.value;
        }
    }
    // An interval is placed where it ended: a poll's sample is stamped when it was taken, a
    // CloudWatch datapoint at the start of its minute (so the minute a change was made in
    // counts after it, not in the baseline).
    let ends_after = if target.is_cloudwatch() {
        crate::sources::cloudwatch::PERIOD_MS
    } else {
        0
    };
    let intervals = ratios
        .iter()
        .map(|p| Interval {
            at: p.ts + ends_after,
            ratio: p.value,
            requests: requests.get(&p.ts).copied().unwrap_or(0.0),
        })
        .collect();
    Ok(Some(Window {
        intervals,
        at,
        next,
        from,
        to,
    }))
}

/// The impact of `job` under `settings`: the one stored if it is final, else measured now
/// (see [`ImpactService::of_job`]); for callers that hold a snapshot of the settings already
/// (alarm evaluation), and store nothing.
pub async fn of_change(
    store: &Store,
    settings: &Settings,
    rules: &Rules,
    job: &Change<'_>,
) -> Result<Option<Impact>, StoreError> {
    if let Some(i) = stored_impact(store, job.id).await? {
        return Ok(Some(i));
    }
    Ok(window_of(store, settings, rules, job)
        .await?
        .map(|w| impact_in(&w, rules)))
}

/// The impact measured over `w` now.
fn impact_in(w: &Window, rules: &Rules) -> Impact {
    let until = w.next.map(|(_, made)| made.max(w.at + 1));
    let mut impact = measure(&w.intervals, w.at, until, now_ms(), rules);
    // A window the next change cut short names it: what came after is that one's.
    if let (Impact::Measured(m) | Impact::Pending(m), Some((next, _))) = (&mut impact, w.next)
        && m.recovered_after_ms.is_none()
    {
        m.cut_by_job = Some(next);
    }
    impact
}

/// The final impact stored for job `id`, if it has one.
async fn stored_impact(store: &Store, id: i64) -> Result<Option<Impact>, StoreError> {
    store
        .stored_impact(id)
        .await?
        .map(|body| {
            serde_json::from_str(&body)
                .map_err(|e| StoreError::Corrupt(format!("the impact of job {id}: {e}")))
        })
        .transpose()
}
