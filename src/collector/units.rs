//! Turning configured targets into poll units.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use std::collections::HashMap;

use crate::config::{Schedule, Settings, TargetSettings, same};
use crate::sources::Source;
use crate::sources::cloudwatch::{CallCounter, CloudWatchSource};

/// Something polled on one schedule: one direct target, or a batch of CloudWatch targets.
pub struct Unit {
    /// The target name, or `cloudwatch:REGION:SCHEDULE` for a batch.
    pub name: String,
    pub targets: Vec<String>,
    pub schedule: Schedule,
    pub timeout: Duration,
    pub(super) source: Box<dyn Source>,
    pub(super) running: AtomicBool,
    /// What the unit was built from, to tell after a reload whether it can be kept.
    spec: Spec,
}

/// The configuration a unit depends on: its targets, and for CloudWatch the lookback and
/// `[aws]` (a changed region or endpoint needs a new client).
struct Spec {
    targets: Vec<TargetSettings>,
    shared: String,
}

impl Spec {
    fn same(&self, other: &Spec) -> bool {
        self.shared == other.shared
            && self.targets.len() == other.targets.len()
            && self
                .targets
                .iter()
                .zip(&other.targets)
                .all(|(a, b)| same(a, b))
    }
}

/// `unit` built anew, or the previous unit with the same spec; `true` when built anew.
fn keep_or(
    previous: &[Arc<Unit>],
    spec: Spec,
    unit: impl FnOnce(Spec) -> Unit,
) -> (Arc<Unit>, bool) {
    match previous.iter().find(|u| u.spec.same(&spec)) {
        Some(u) => (u.clone(), false),
        None => (Arc::new(unit(spec)), true),
    }
}

/// A unit per direct target and per CloudWatch group, each with whether it was built anew
/// (`false`: carried over from `previous`, whose spec is the same).
pub(super) fn build(
    settings: &Settings,
    counter: Arc<CallCounter>,
    aws: Option<&aws_config::SdkConfig>,
    previous: &[Arc<Unit>],
) -> Vec<(Arc<Unit>, bool)> {
    let mut units = Vec::new();
    for t in &settings.targets {
        // Cheap: nothing connects before the first poll.
        let Some(source) = t.config.source(&t.name) else {
            continue;
        };
        let spec = Spec {
            targets: vec![t.clone()],
            shared: String::new(),
        };
        units.push(keep_or(previous, spec, |spec| Unit {
            name: t.name.to_string(),
            targets: vec![t.name.to_string()],
            schedule: t.schedule.clone(),
            timeout: t.timeout,
            source,
            running: AtomicBool::new(false),
            spec,
        }));
    }
    let groups = group_targets(&settings.targets, settings.aws.region.as_deref());
    let Some(sdk) = aws else {
        if !groups.is_empty() {
            tracing::error!(
                "CloudWatch targets are configured but no AWS configuration was loaded; they are not polled."
            );
        }
        return units;
    };
    // One configuration per role, so each role is assumed once for every unit that uses it.
    let accounts = crate::aws::Accounts::new(sdk.clone());
    for (region, account, targets) in groups {
        let spec = Spec {
            targets: targets.clone(),
            shared: format!("{:?} {:?}", settings.cloudwatch.lookback, settings.aws),
        };
        let schedule = targets[0].schedule.clone();
        // A target's timeout is what one call may take; a unit of many targets makes more.
        let queries: usize = targets
            .iter()
            .filter_map(|t| t.config.cloudwatch())
            .map(|q| q.metrics().len())
            .sum();
        let timeout = crate::sources::cloudwatch::poll_timeout(
            targets
                .iter()
                .map(|t| t.timeout)
                .max()
                .unwrap_or(Duration::from_secs(20)),
            queries,
        );
        let name = format!(
            "cloudwatch:{}{}:{}",
            account
                .as_ref()
                .map(|a| format!("{}:", a.id()))
                .unwrap_or_default(),
            region.as_deref().unwrap_or("default"),
            schedule.describe()
        );
        let names = targets.iter().map(|t| t.name.to_string()).collect();
        let queried = targets
            .iter()
            .filter_map(|t| t.config.cloudwatch().map(|q| (t.name.to_string(), q)))
            .collect();
        units.push(keep_or(previous, spec, |spec| Unit {
            name,
            targets: names,
            schedule,
            timeout,
            source: Box::new(CloudWatchSource::new(
                queried,
                crate::aws::cloudwatch(&accounts.config(account.as_ref()), region.as_deref()),
                settings.cloudwatch.lookback,
                counter.clone(),
            )),
            running: AtomicBool::new(false),
            spec,
        }));
    }
    units
}

/// A group of CloudWatch targets polled by one call: their region, their account (`None`:
/// the default credentials) and the targets.
pub type Group = (
    Option<String>,
    Option<crate::domain::Account>,
    Vec<TargetSettings>,
);

/// Groups CloudWatch targets that can share calls: same account, same region, same schedule.
pub fn group_targets(targets: &[TargetSettings], default_region: Option<&str>) -> Vec<Group> {
    type Key = (Option<String>, Option<crate::domain::Account>, String);
    let mut groups: HashMap<Key, Vec<TargetSettings>> = HashMap::new();
    for t in targets.iter().filter(|t| t.is_cloudwatch()) {
        let key = (
            t.region(default_region),
            t.account.clone(),
            format!("{:?}", t.schedule),
        );
        groups.entry(key).or_default().push(t.clone());
    }
    let mut out: Vec<Group> = groups
        .into_iter()
        .map(|((region, account, _), ts)| (region, account, ts))
        .collect();
    out.sort_by(|a, b| {
        let key = |g: &Group| {
            (
                g.1.as_ref().map(|a| a.role_arn().to_owned()),
                g.0.clone(),
                g.2[0].name.to_string(),
            )
        };
        key(a).cmp(&key(b))
    });
    out
}
