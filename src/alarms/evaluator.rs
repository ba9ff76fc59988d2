//! Runs alarm evaluation right after a poll of the targets it watches, so alert latency is one
//! poll interval. Reads the last N periods from the store, evaluates them with `eval`, and
//! records the state (and a transition, when it changed) in one transaction.

use std::sync::Arc;

use serde_json::json;

use super::change_cost;
use super::eval::{AlarmState, Period, Rule, evaluate};
use super::hold::{self, Expected, Holds};
use super::payload::{Change, payload};
use crate::config::{AlarmSettings, Baseline, Condition, Settings, TargetSettings};
use crate::store::{
    AlarmStateRecord, Evaluated, JobFilter, NewNotification, Resolution, SeriesQuery, Store,
    StoreError, Transition,
};

const MINUTE: i64 = 60_000;
const WEEK: i64 = 7 * 24 * 60 * MINUTE;

pub struct Evaluator {
    store: Store,
    settings: Arc<Settings>,
    alarms: Vec<AlarmSettings>,
    /// Signalled when a transition wrote notifications (wakes the delivery worker).
    notified: Arc<tokio::sync::Notify>,
    /// What people call a job of a kind ("invalidation", "purge"), for expected dips.
    labels: JobLabels,
}

impl Evaluator {
    /// Whether the target has recovered from job `id` by `now`.
    async fn recovered(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let Some(job) = self.store.job(id).await? else {
            return Ok(false);
        };
        let change = crate::impact::Change::from(&job);
        let rules = crate::impact::Rules::default();
        let impact = crate::impact::of_change(&self.store, &self.settings, &rules, &change).await?;
        let at = job.started_at.unwrap_or(job.created_at);
        Ok(matches!(
            impact,
            Some(crate::impact::Impact::Measured(crate::impact::Measured {
                recovered_after_ms: Some(after),
                ..
            })) if at + after <= now
        ))
    }
}

/// A job kind's name → what people call such a job. Given by whoever knows the kinds.
pub type JobLabels = Arc<dyn Fn(&str) -> String + Send + Sync>;

impl Evaluator {
    pub fn new(
        store: Store,
        settings: Arc<Settings>,
        notified: Arc<tokio::sync::Notify>,
        labels: JobLabels,
    ) -> Self {
        let alarms = settings.alarms.clone();
        Self {
            store,
            settings,
            alarms,
            notified,
            labels,
        }
    }

    /// Evaluates every alarm that watches one of `targets`; returns the transitions made.
    pub async fn evaluate_once(
        &self,
        targets: &[String],
        now: i64,
    ) -> Result<Vec<Transition>, StoreError> {
        let mut transitions = Vec::new();
        for target in targets {
            let Some(t) = self
                .settings
                .targets
                .iter()
                .find(|t| t.name.as_str() == target)
            else {
                continue;
            };
            for alarm in &self.alarms {
                if alarm.watches(t) {
                    transitions.extend(self.evaluate_one(alarm, t, now).await?);
                }
            }
        }
        Ok(transitions)
    }

    /// The last N periods of the alarm's series on one target. Direct targets: one period per
    /// poll (the `up` samples), so a poll without traffic is a period without datapoint.
    /// CloudWatch targets: one-minute periods ending at the newest datapoint read.
    async fn periods(
        &self,
        alarm: &AlarmSettings,
        t: &TargetSettings,
        now: i64,
    ) -> Result<Vec<Period>, StoreError> {
        let n = alarm.datapoints.1 as i64;
        let target = t.name.as_str();
        let grid: Vec<i64> = if t.is_cloudwatch() {
            let lookback = self.settings.cloudwatch.lookback.as_millis() as i64;
            let recent = self
                .store
                .sample_times(target, &alarm.metric, now - lookback, now)
                .await?;
            let end = recent.last().copied().unwrap_or(now - lookback);
            (0..n).rev().map(|i| end - i * MINUTE).collect()
        } else {
            let window = n * t.schedule_hint_ms() * 3 + MINUTE;
            let polls = self
                .store
                .sample_times(target, "up", now - window, now)
                .await?;
            polls[polls.len().saturating_sub(n as usize)..].to_vec()
        };
        let (Some(first), Some(last)) = (grid.first(), grid.last()) else {
            return Ok(Vec::new());
        };
        let samples = self
            .store
            .samples_with_volume(target, &alarm.metric, *first, *last)
            .await?;
        Ok(grid
            .iter()
            .map(|ts| {
                let s = samples.iter().find(|(sts, _, _)| sts == ts);
                Period {
                    ts: *ts,
                    value: s.map(|(_, v, _)| *v),
                    volume: s.and_then(|(_, _, d)| *d),
                }
            })
            .collect())
    }

    /// The value a drop is measured against: the mean of a trailing window before the
    /// evaluated periods, or of the same half hour a week earlier (from 5-minute rollups).
    async fn baseline(
        &self,
        alarm: &AlarmSettings,
        target: &str,
        periods: &[Period],
    ) -> Result<Option<f64>, StoreError> {
        let Condition::Drop { baseline, .. } = &alarm.condition else {
            return Ok(None);
        };
        let Some(start) = periods.first().map(|p| p.ts) else {
            return Ok(None);
        };
        let end = periods.last().map(|p| p.ts).unwrap_or(start);
        let (from, to, resolution) = match baseline {
            Baseline::Trailing(d) => (start - d.as_millis() as i64, start, Resolution::Raw),
            Baseline::LastWeek => (
                end - WEEK - 15 * MINUTE,
                end - WEEK + 15 * MINUTE,
                Resolution::FiveMinutes,
            ),
        };
        let q = SeriesQuery {
            target: target.into(),
            node: String::new(),
            series: alarm.metric.clone(),
            from,
            to,
            resolution,
            detail: false,
        };
        let points = self.store.read_series(&q).await?;
        Ok((!points.is_empty())
            .then(|| points.iter().map(|p| p.value).sum::<f64>() / points.len() as f64))
    }

    /// Jobs (invalidations, purges) created on `target` in the 30 minutes before `now`; a
    /// dry run changed nothing and is not one of them.
    async fn recent_invalidations(
        &self,
        target: &str,
        now: i64,
    ) -> Result<serde_json::Value, StoreError> {
        let jobs = self
            .store
            .list_jobs(&JobFilter {
                target: Some(target.into()),
                limit: 20,
                ..JobFilter::default()
            })
            .await?;
        Ok(jobs
            .iter()
            .filter(|j| j.created_at >= now - 30 * MINUTE && !j.dry_run)
            .map(|j| json!({ "job": j.id, "kind": j.kind, "items": j.request.get("items"), "state": j.state, "created_at": j.created_at, "requester": j.requester }))
            .collect())
    }

    /// Where people look: the configured public URL, else the listen address.
    fn dashboard(&self) -> String {
        match &self.settings.server.public_url {
            Some(u) => u.as_str().trim_end_matches('/').to_owned() + "/",
            None => format!("http://{}/", self.settings.server.listen),
        }
    }

    async fn evaluate_one(
        &self,
        alarm: &AlarmSettings,
        t: &TargetSettings,
        now: i64,
    ) -> Result<Vec<Transition>, StoreError> {
        let target = t.name.as_str();
        let before = self.store.alarm_state(&alarm.name, target).await?;
        let current = before
            .as_ref()
            .map(|s| s.state)
            .unwrap_or(AlarmState::InsufficientData);
        let Condition::ChangeCost(limits) = &alarm.condition else {
            let periods = self.periods(alarm, t, now).await?;
            let baseline = self.baseline(alarm, target, &periods).await?;
            let rule = Rule {
                condition: alarm.condition.clone(),
                datapoints: alarm.datapoints,
                missing: alarm.missing,
                min_volume: alarm.min_volume,
            };
            let e = evaluate(&rule, &periods, baseline, current);
            let detail = json!({ "periods": periods, "verdicts": e.verdicts, "breaching": e.breaching, "considered": e.considered, "baseline": baseline });
            return Ok(self
                .record(alarm, t, before, e, detail, now)
                .await?
                .into_iter()
                .collect());
        };
        let changes = self
            .store
            .costed_changes(target, now - change_cost::EPISODE_MS)
            .await?;
        let subject = change_cost::costliest_recent(limits, &changes);
        let label = match &subject {
            Some(s) => (self.labels)(s.detail["kind"].as_str().unwrap_or_default()),
            None => String::new(),
        };
        let e = change_cost::evaluate(subject.as_ref(), &label);
        let detail = json!({ "change": subject.as_ref().map(|s| &s.detail) });
        let mut transitions = Vec::new();
        // A newer costly change while another's episode is open: that episode ends first, so
        // this change is announced (and acknowledged) on its own.
        if let (Some(s), Some(b)) = (&subject, &before)
            && b.state == AlarmState::Alarm
            && self.episode_job(b.id).await? != Some(s.job)
        {
            let ended = super::eval::Evaluation {
                state: AlarmState::Ok,
                reason: format!(
                    "followed by {label} #{}, which cost more than the limits too",
                    s.job
                ),
                ..e.clone()
            };
            transitions.extend(
                self.record(alarm, t, before, ended, json!({ "change": null }), now)
                    .await?,
            );
            let again = self.store.alarm_state(&alarm.name, target).await?;
            transitions.extend(self.record(alarm, t, again, e, detail, now).await?);
            return Ok(transitions);
        }
        transitions.extend(self.record(alarm, t, before, e, detail, now).await?);
        Ok(transitions)
    }

    /// The job the open episode of state `id` was opened for (a `change_cost` alarm).
    async fn episode_job(&self, id: i64) -> Result<Option<i64>, StoreError> {
        Ok(self
            .store
            .alarm_history(id, 1)
            .await?
            .first()
            .and_then(|t| t.evaluation["change"]["job"].as_i64()))
    }

    /// Ends every alarm firing on `t`, which is going away (discovery no longer finds it):
    /// the state leaves `alarm` for `insufficient_data` with `reason`, and a "target removed"
    /// message goes where the episode's alarm message went. Never a "resolved": nothing
    /// recovered. Each one is a transition and its messages in one transaction.
    pub async fn target_removed(
        &self,
        t: &TargetSettings,
        reason: &str,
        now: i64,
    ) -> Result<Vec<Transition>, StoreError> {
        let mut transitions = Vec::new();
        for alarm in self.alarms.iter().filter(|a| a.watches(t)) {
            let before = self.store.alarm_state(&alarm.name, t.name.as_str()).await?;
            if before.as_ref().map(|b| b.state) != Some(AlarmState::Alarm) {
                continue;
            }
            let e = super::eval::Evaluation {
                state: AlarmState::InsufficientData,
                breaching: 0,
                considered: 0,
                verdicts: Vec::new(),
                reason: reason.to_owned(),
            };
            let detail = json!({ "target_removed": true });
            transitions.extend(
                self.record_as(
                    alarm,
                    t,
                    before,
                    e,
                    detail,
                    now,
                    Some(hold::Kind::TargetRemoved),
                )
                .await?,
            );
        }
        Ok(transitions)
    }

    /// Records evaluation `e` of `alarm` on `t` (the state was `before`): the state, a
    /// transition when it changed, and the messages it calls for, held or not.
    async fn record(
        &self,
        alarm: &AlarmSettings,
        t: &TargetSettings,
        before: Option<AlarmStateRecord>,
        e: super::eval::Evaluation,
        detail: serde_json::Value,
        now: i64,
    ) -> Result<Option<Transition>, StoreError> {
        self.record_as(alarm, t, before, e, detail, now, None).await
    }

    /// [`Self::record`], with the message `ending` when the episode ends for a reason of its
    /// own (the target removed) instead of the one the states call for.
    #[allow(clippy::too_many_arguments)]
    async fn record_as(
        &self,
        alarm: &AlarmSettings,
        t: &TargetSettings,
        before: Option<AlarmStateRecord>,
        e: super::eval::Evaluation,
        mut detail: serde_json::Value,
        now: i64,
        ending: Option<hold::Kind>,
    ) -> Result<Option<Transition>, StoreError> {
        let target = t.name.as_str();
        let current = before
            .as_ref()
            .map(|s| s.state)
            .unwrap_or(AlarmState::InsufficientData);
        let notified_at = before.as_ref().and_then(|s| s.notified_at);
        let repeat = alarm.repeat.map(|r| r.as_millis() as i64);
        // An alarm without notifiers only records its states.
        let kind = match ending {
            Some(k) => Some(k),
            None => hold::message(current, e.state, notified_at, repeat, now),
        }
        .filter(|_| !alarm.notify.is_empty());
        let changed = e.state != current;
        // Most evaluations change nothing and send nothing: the lookups below only run when
        // something is to be recorded or sent. A change's own cost is never an expected dip.
        let on_series = !matches!(alarm.condition, Condition::ChangeCost(_));
        let expected = if on_series && (changed || kind.is_some()) {
            self.expected_dip(t, now).await?
        } else {
            None
        };
        if let Some(x) = &expected {
            detail["expected"] = json!(x.label);
        }
        let held_by = match kind {
            Some(k) => {
                let silences = self.store.active_silences(now).await?;
                let holds = Holds {
                    alarm,
                    target,
                    state_id: before.as_ref().map(|s| s.id),
                    acked_by: before.as_ref().and_then(|s| s.acked_by.as_deref()),
                    silences: &silences,
                    windows: &self.settings.maintenance,
                    expected: expected.as_ref(),
                    now,
                };
                hold::held_by(k, notified_at, &holds)
            }
            None => None,
        };
        // A held transition message is recorded (people see what was held and why); a held
        // reminder is simply not due.
        let kind = kind.filter(|_| changed || held_by.is_none());
        let recent = if kind.is_some() {
            self.recent_invalidations(target, now).await?
        } else {
            json!([])
        };
        let dashboard = self.dashboard();
        let since = match (&before, changed) {
            (Some(b), false) => b.since,
            _ => now,
        };
        let notify = |id: i64| -> Vec<NewNotification> {
            let Some(kind) = kind else {
                return Vec::new();
            };
            let body = payload(Change {
                alarm,
                target,
                state_id: id,
                kind: kind.as_str(),
                from: current,
                to: e.state,
                evaluation: &detail,
                reason: &e.reason,
                dashboard: &dashboard,
                recent_invalidations: recent.clone(),
                expected: expected.as_ref().map(|x| x.label.as_str()),
                since,
                at: now,
            });
            alarm
                .notify
                .iter()
                .map(|n| NewNotification {
                    notifier: n.clone(),
                    kind: kind.as_str().into(),
                    payload: body.clone(),
                })
                .collect()
        };
        let transition = self
            .store
            .record_alarm_evaluation(
                &Evaluated {
                    alarm: &alarm.name,
                    target,
                    state: e.state,
                    reason: &e.reason,
                    evaluation: &detail,
                },
                held_by.as_deref(),
                notify,
                now,
            )
            .await?;
        if kind.is_some() {
            self.notified.notify_one();
        }
        if let Some(tr) = &transition {
            tracing::info!(alarm = %alarm.name, target_name = %target, from = %tr.from, to = %tr.to, reason = %tr.reason, held_by = ?held_by, "An alarm changed state.");
        }
        Ok(transition)
    }

    /// The purge or invalidation whose expected-dip window is open on this target. The window
    /// closes when the target has recovered from it (its measured impact), or at the latest
    /// the configured window after the job.
    async fn expected_dip(
        &self,
        t: &TargetSettings,
        now: i64,
    ) -> Result<Option<Expected>, StoreError> {
        let window = self.settings.alerting.expected_dip_window.as_millis() as i64;
        let job = self
            .store
            .expected_dip(t.name.as_str(), now, window)
            .await?;
        if let Some((id, _)) = &job
            && self.recovered(*id, now).await?
        {
            return Ok(None);
        }
        Ok(job.map(|(job, kind)| Expected {
            job,
            label: format!("expected after {} #{job}", (self.labels)(&kind)),
        }))
    }
}
