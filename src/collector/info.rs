//! `cachewarden_target_info`: one series per target in force, always 1, whose labels say where
//! it lives (`kind`, `account`, `region`, `group`, `discovery`) and its tags (`tag_env`,
//! `tag_team`…), in the manner of kube-state-metrics' `*_labels`. Joined on `target`, it lets
//! a query group or filter any other series by them:
//! `cachewarden_hit_ratio * on (target) group_left (account, tag_env) cachewarden_target_info`.

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType};

use crate::config::Settings;

const NAME: &str = "cachewarden_target_info";
const HELP: &str = "Always 1 for each target in force; its labels say its kind, account, region, group, the discovery that found it, and its tags (tag_KEY).";

pub struct TargetInfo {
    desc: Desc,
    /// Each target's label pairs, sorted by name (as the exposition wants them).
    rows: Mutex<Vec<Vec<(String, String)>>>,
}

impl Default for TargetInfo {
    fn default() -> Self {
        Self {
            desc: Desc::new(NAME.into(), HELP.into(), Vec::new(), HashMap::new())
                .expect("a static metric description"),
            rows: Mutex::new(Vec::new()),
        }
    }
}

/// A tag's key as a label name: `tag_` and the key with every character a label name cannot
/// hold made `_` (`team-name` → `tag_team_name`).
fn tag_label(key: &str) -> String {
    let clean: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("tag_{clean}")
}

impl TargetInfo {
    /// Describes the targets of `settings` (those in force from now on).
    pub fn set(&self, settings: &Settings) {
        let region = settings.aws.region.as_deref();
        let rows = settings
            .targets
            .iter()
            .map(|t| {
                let mut labels: Vec<(String, String)> = [
                    ("target", Some(t.name.to_string())),
                    ("kind", Some(t.kind.name().to_owned())),
                    ("account", t.labels.account_id.clone()),
                    ("region", t.region(region)),
                    ("group", t.labels.group.clone()),
                    ("discovery", t.labels.discovered_by.clone()),
                ]
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_owned(), v.filter(|v| !v.is_empty())?)))
                .collect();
                for (k, v) in &t.labels.tags {
                    let name = tag_label(k);
                    // Two keys that read alike as label names: the first one is kept.
                    if !v.is_empty() && !labels.iter().any(|(n, _)| *n == name) {
                        labels.push((name, v.clone()));
                    }
                }
                labels.sort();
                labels
            })
            .collect();
        *self.rows.lock().unwrap_or_else(|p| p.into_inner()) = rows;
    }
}

impl Collector for TargetInfo {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        let metrics: Vec<Metric> = rows
            .iter()
            .map(|labels| {
                let mut gauge = Gauge::default();
                gauge.set_value(1.0);
                let mut m = Metric::from_gauge(gauge);
                m.set_label(
                    labels
                        .iter()
                        .map(|(k, v)| {
                            let mut p = LabelPair::default();
                            p.set_name(k.clone());
                            p.set_value(v.clone());
                            p
                        })
                        .collect(),
                );
                m
            })
            .collect();
        if metrics.is_empty() {
            return Vec::new();
        }
        let mut family = MetricFamily::default();
        family.set_name(NAME.into());
        family.set_help(HELP.into());
        family.set_field_type(MetricType::GAUGE);
        family.set_metric(metrics);
        vec![family]
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tag_keys_become_label_names() {
        assert_eq!(super::tag_label("team-name"), "tag_team_name");
        assert_eq!(
            super::tag_label("aws:cloudformation:stack"),
            "tag_aws_cloudformation_stack"
        );
    }
}
