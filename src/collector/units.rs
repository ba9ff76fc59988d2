//! Turning configured targets into poll units.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::config::{Schedule, Settings, TargetSource};
use crate::sources::cloudwatch::{CallCounter, CloudWatchSource, group_targets};
use crate::sources::{MemcachedSource, RedisSource, Source};

/// Something polled on one schedule: one direct target, or a batch of CloudWatch targets.
pub struct Unit {
    /// The target name, or `cloudwatch:REGION:SCHEDULE` for a batch.
    pub name: String,
    pub targets: Vec<String>,
    pub schedule: Schedule,
    pub timeout: Duration,
    pub(super) source: Box<dyn Source>,
    pub(super) running: AtomicBool,
}

pub(super) fn build(
    settings: &Settings,
    counter: Arc<CallCounter>,
    aws: Option<&aws_config::SdkConfig>,
) -> Vec<Unit> {
    let mut units = Vec::new();
    for t in &settings.targets {
        let source: Box<dyn Source> = match &t.source {
            TargetSource::Redis {
                url,
                cluster,
                tls_ca_file,
                ..
            } => Box::new(RedisSource::new(
                t.name.as_str(),
                url.clone(),
                *cluster,
                tls_ca_file.clone(),
            )),
            TargetSource::Memcached { address, .. } => {
                Box::new(MemcachedSource::new(t.name.as_str(), address))
            }
            _ => continue,
        };
        units.push(Unit {
            name: t.name.to_string(),
            targets: vec![t.name.to_string()],
            schedule: t.schedule.clone(),
            timeout: t.timeout,
            source,
            running: AtomicBool::new(false),
        });
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
    for (region, targets) in groups {
        let client = crate::aws::cloudwatch(sdk, region.as_deref());
        let schedule = targets[0].schedule.clone();
        let timeout = targets
            .iter()
            .map(|t| t.timeout)
            .max()
            .unwrap_or(Duration::from_secs(20));
        let name = format!(
            "cloudwatch:{}:{}",
            region.as_deref().unwrap_or("default"),
            describe(&schedule)
        );
        units.push(Unit {
            name,
            targets: targets.iter().map(|t| t.name.to_string()).collect(),
            schedule,
            timeout,
            source: Box::new(CloudWatchSource::new(
                targets,
                client,
                settings.cloudwatch.lookback,
                counter.clone(),
            )),
            running: AtomicBool::new(false),
        });
    }
    units
}

/// `every 1m` or `cron */15 * * * * *`.
pub fn describe(schedule: &Schedule) -> String {
    match schedule {
        Schedule::Every(d) => format!("every {}", humantime::format_duration(*d)),
        Schedule::Cron(c) => format!("cron {c}"),
    }
}
