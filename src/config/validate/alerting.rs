//! `[[notifiers]]` and `[[alarms]]`

use secrecy::SecretString;

use super::{Checker, KeyPath};
use crate::config::raw;
use crate::config::settings::*;
use crate::domain::TargetKind;

const NOTIFIER_KINDS: &str = "webhook, slack, pagerduty, sns, email, alertmanager";

pub(super) fn notifiers(
    v: &mut Checker,
    raw: Vec<(KeyPath, raw::Notifier)>,
) -> Vec<NotifierSettings> {
    v.unique_names(raw, "notifier", |n: &NotifierSettings| &n.name, notifier)
}

fn notifier(v: &mut Checker, path: &KeyPath, n: raw::Notifier) -> Option<NotifierSettings> {
    v.unknown(path, &n.unknown);
    let name = v
        .required(path, "name", &n.name)
        .and_then(|s| v.name(path.key("name"), s));
    let kind = v.required(path, "kind", &n.kind)?.clone();
    let fields = [
        ("url", n.url.is_some()),
        ("secret", n.secret.is_some()),
        ("routing_key", n.routing_key.is_some()),
        ("topic_arn", n.topic_arn.is_some()),
        ("region", n.region.is_some()),
        ("host", n.host.is_some()),
        ("port", n.port.is_some()),
        ("starttls", n.starttls.is_some()),
        ("username", n.username.is_some()),
        ("password", n.password.is_some()),
        ("from", n.from.is_some()),
        ("to", n.to.is_some()),
        ("tls_ca_file", n.tls_ca_file.is_some()),
    ];
    let allowed: &[&str] = match kind.as_str() {
        "webhook" => &["url", "secret"],
        "slack" => &["url"],
        "pagerduty" => &["routing_key", "url"],
        "sns" => &["topic_arn", "region"],
        "alertmanager" => &["url", "username", "password"],
        "email" => &[
            "host",
            "port",
            "starttls",
            "username",
            "password",
            "from",
            "to",
            "tls_ca_file",
        ],
        other => {
            v.error(
                path.key("kind"),
                format!("unknown kind {other:?}: expected one of {NOTIFIER_KINDS}"),
            );
            return None;
        }
    };
    let misplaced: Vec<_> = fields
        .into_iter()
        .filter(|(f, _)| !allowed.contains(f))
        .collect();
    v.not_for_kind(path, &kind, &misplaced);
    let secret = |s: &Option<String>| s.clone().map(SecretString::from);
    let receiver = match kind.as_str() {
        "webhook" => {
            let url = v.required(path, "url", &n.url)?;
            let url = v.url(path.key("url"), url, &["http", "https"])?;
            Receiver::Webhook {
                url,
                secret: secret(&n.secret),
            }
        }
        "slack" => {
            let url = v.required(path, "url", &n.url)?;
            v.url(path.key("url"), url, &["https", "http"])?;
            Receiver::Slack {
                url: SecretString::from(url.clone()),
            }
        }
        "pagerduty" => {
            let key = v.required(path, "routing_key", &n.routing_key)?;
            if key.len() != 32 || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
                v.error(
                    path.key("routing_key"),
                    "must be the 32-character integration key of an Events API v2 integration",
                );
                return None;
            }
            let url = match &n.url {
                None => None,
                Some(u) => Some(v.url(path.key("url"), u, &["https", "http"])?),
            };
            Receiver::Pagerduty {
                routing_key: SecretString::from(key.clone()),
                url,
            }
        }
        "alertmanager" => {
            let url = v.required(path, "url", &n.url)?;
            let url = v.url(path.key("url"), url, &["http", "https"])?;
            let basic_auth = match (&n.username, &n.password) {
                (Some(u), Some(p)) => Some((u.clone(), SecretString::from(p.clone()))),
                (None, None) => None,
                (Some(_), None) => {
                    v.error(path.key("password"), "is required with username");
                    return None;
                }
                (None, Some(_)) => {
                    v.error(path.key("username"), "is required with password");
                    return None;
                }
            };
            Receiver::Alertmanager { url, basic_auth }
        }
        "sns" => {
            let arn = v.required(path, "topic_arn", &n.topic_arn)?;
            let parts: Vec<&str> = arn.split(':').collect();
            if !arn.starts_with("arn:aws:sns:") || parts.len() != 6 {
                v.error(path.key("topic_arn"), format!("{arn:?} is not a topic ARN like \"arn:aws:sns:eu-west-1:123456789012:alerts\""));
                return None;
            }
            // A topic is published to in its own region, which its ARN names.
            let region = parts[3].to_owned();
            v.region(path.key("topic_arn"), &region);
            if let Some(r) = &n.region
                && r != &region
            {
                v.error(
                    path.key("region"),
                    format!("{r:?} is not the topic's region {region:?}; leave region out"),
                );
            }
            Receiver::Sns {
                topic_arn: arn.clone(),
                region,
            }
        }
        _ => {
            let host = v.required(path, "host", &n.host);
            let from = v.required(path, "from", &n.from);
            let to = v.required(path, "to", &n.to);
            for (field, address) in from
                .into_iter()
                .map(|f| ("from", f))
                .chain(to.into_iter().flatten().map(|t| ("to", t)))
            {
                // The parser the sender uses, so what passes here is sendable.
                if let Err(e) = address.parse::<lettre::message::Mailbox>() {
                    v.error(
                        path.key(field),
                        format!("{address:?} is not an e-mail address ({e})"),
                    );
                }
            }
            let tls_ca_file = match &n.tls_ca_file {
                None => Some(None),
                Some(f) => v.file(path.key("tls_ca_file"), f).map(Some),
            };
            if to.is_some_and(|t| t.is_empty()) {
                v.error(path.key("to"), "must list at least one address");
            }
            Receiver::Email(EmailSettings {
                host: host?.clone(),
                port: n.port.unwrap_or(587),
                starttls: n.starttls.unwrap_or(true),
                username: n.username.clone(),
                password: secret(&n.password),
                from: from?.clone(),
                to: to?.clone(),
                tls_ca_file: tls_ca_file?,
            })
        }
    };
    Some(NotifierSettings {
        name: name?,
        receiver,
    })
}

pub(super) fn alarms(
    v: &mut Checker,
    raw: Vec<(KeyPath, raw::Alarm)>,
    targets: &[TargetSettings],
    notifiers: &[NotifierSettings],
) -> Vec<AlarmSettings> {
    v.unique_names(
        raw,
        "alarm",
        |a: &AlarmSettings| &a.name,
        |v, path, a| alarm(v, path, a, targets, notifiers),
    )
}

fn alarm(
    v: &mut Checker,
    path: &KeyPath,
    a: raw::Alarm,
    targets: &[TargetSettings],
    notifiers: &[NotifierSettings],
) -> Option<AlarmSettings> {
    v.unknown(path, &a.unknown);
    let name = v
        .required(path, "name", &a.name)
        .and_then(|s| v.name(path.key("name"), s));
    let target = v
        .required(path, "target", &a.target)
        .and_then(|pattern| v.target_glob(path.key("target"), pattern, targets));
    let metric = v.required(path, "metric", &a.metric).and_then(|m| {
        let ok = !m.is_empty()
            && m.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            v.error(
                path.key("metric"),
                format!("{m:?} is not a series name like \"hit_rate\""),
            );
        }
        ok.then(|| m.clone())
    });
    // An alarm on a series none of its targets records could never fire.
    if let (Some(m), Some(pattern)) = (&metric, &a.target)
        && let Ok(glob) = globset::Glob::new(pattern)
    {
        let matcher = glob.compile_matcher();
        let kinds: Vec<TargetKind> = targets
            .iter()
            .filter(|t| matcher.is_match(t.name.as_str()))
            .map(TargetSettings::kind)
            .collect();
        if !kinds.is_empty() && !kinds.iter().any(|k| k.series().contains(&m.as_str())) {
            let mut known: Vec<&str> = kinds
                .iter()
                .flat_map(|k| k.series().iter().copied())
                .collect();
            known.sort_unstable();
            known.dedup();
            v.error(
                path.key("metric"),
                format!(
                    "{m:?} is not a series of the targets it watches; they record {}",
                    known.join(", ")
                ),
            );
        }
    }
    let condition = condition(v, path, &a, metric.as_deref());
    let datapoints = match a.datapoints.as_deref() {
        None => Some((1, 1)),
        Some(text) => datapoints(text).or_else(|| {
            v.error(
                path.key("datapoints"),
                format!("{text:?} is not \"M of N\" with 1 <= M <= N <= 100, like \"3 of 5\""),
            );
            None
        }),
    };
    let missing = match a.missing.as_deref().unwrap_or("missing") {
        "missing" => Some(MissingData::Missing),
        "breaching" => Some(MissingData::Breaching),
        "not_breaching" => Some(MissingData::NotBreaching),
        "ignore" => Some(MissingData::Ignore),
        other => {
            v.error(path.key("missing"), format!("unknown treatment {other:?}: expected missing, breaching, not_breaching or ignore"));
            None
        }
    };
    let repeat = match &a.repeat {
        None => Some(None),
        Some(r) => v.duration(path.key("repeat"), r).map(Some),
    };
    let severity = match a.severity.as_deref().unwrap_or("warning") {
        "info" => Some(Severity::Info),
        "warning" => Some(Severity::Warning),
        "critical" => Some(Severity::Critical),
        other => {
            v.error(
                path.key("severity"),
                format!("unknown severity {other:?}: expected info, warning or critical"),
            );
            None
        }
    };
    let notify = a.notify.clone().unwrap_or_default();
    for (i, n) in notify.iter().enumerate() {
        if !notifiers.iter().any(|x| &x.name == n) {
            v.error(
                path.key("notify").index(i),
                format!("{n:?} is not a configured notifier"),
            );
        }
    }
    Some(AlarmSettings {
        name: name?,
        target: target?,
        metric: metric?,
        condition: condition?,
        datapoints: datapoints?,
        missing: missing?,
        min_volume: a.min_volume,
        repeat: repeat?,
        severity: severity?,
        notify,
        mute_expected: a.mute_expected.unwrap_or(false),
    })
}

fn condition(
    v: &mut Checker,
    path: &KeyPath,
    a: &raw::Alarm,
    metric: Option<&str>,
) -> Option<Condition> {
    let set: Vec<&str> = [
        ("below", a.below.is_some()),
        ("above", a.above.is_some()),
        ("drop", a.drop.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, is)| is.then_some(k))
    .collect();
    if set.len() != 1 {
        v.error(
            path.clone(),
            format!(
                "needs exactly one of below, above or drop (found {})",
                if set.is_empty() {
                    "none".into()
                } else {
                    set.join(", ")
                }
            ),
        );
        return None;
    }
    if a.baseline.is_some() && a.drop.is_none() {
        v.error(path.key("baseline"), "applies only to a drop condition");
    }
    // Ratios are 0.0-1.0 everywhere; "80" for 80 % is the classic mistake.
    let ratio = metric.is_some_and(|m| m.ends_with("_rate") || m.ends_with("_ratio"));
    let check_ratio = |v: &mut Checker, key: &str, x: f64| {
        if ratio && !(0.0..=1.0).contains(&x) {
            v.error(
                path.key(key),
                format!("{x} is outside 0.0-1.0; ratios are fractions (0.8 means 80 %)"),
            );
            return false;
        }
        true
    };
    if let Some(x) = a.below {
        return check_ratio(v, "below", x).then_some(Condition::Below(x));
    }
    if let Some(x) = a.above {
        return check_ratio(v, "above", x).then_some(Condition::Above(x));
    }
    let points = a.drop?;
    if points <= 0.0 || !check_ratio(v, "drop", points) {
        if points <= 0.0 {
            v.error(path.key("drop"), "must be a positive number of points");
        }
        return None;
    }
    let baseline = match a.baseline.as_deref().unwrap_or("trailing 1h") {
        "last_week" => Baseline::LastWeek,
        text => match text.strip_prefix("trailing ") {
            Some(window) => Baseline::Trailing(v.duration(path.key("baseline"), window.trim())?),
            None => {
                v.error(path.key("baseline"), format!("{text:?} is neither \"trailing DURATION\" (like \"trailing 1h\") nor \"last_week\""));
                return None;
            }
        },
    };
    Some(Condition::Drop { points, baseline })
}

/// Parses `"M of N"`.
fn datapoints(text: &str) -> Option<(u32, u32)> {
    let (m, n) = text.split_once(" of ")?;
    let (m, n): (u32, u32) = (m.trim().parse().ok()?, n.trim().parse().ok()?);
    (1 <= m && m <= n && n <= 100).then_some((m, n))
}
