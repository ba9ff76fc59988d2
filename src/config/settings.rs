//! The validated configuration. Every field here is already checked: code that receives a
//! [`Settings`] never validates again.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

pub use crate::domain::Schedule;
use crate::domain::TargetName;
pub use crate::notify::NotifierSettings;
pub use crate::targets::TargetSettings;

/// Everything the daemon is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// HTTP server.
    pub server: ServerSettings,
    /// Where state is kept.
    pub database: DatabaseSettings,
    /// How AWS is reached (CloudWatch, CloudFront, SNS).
    pub aws: AwsSettings,
    /// How polling is run.
    pub collector: CollectorSettings,
    /// How long samples are kept at each resolution.
    pub retention: RetentionSettings,
    /// CloudWatch polling and its cost.
    pub cloudwatch: CloudwatchSettings,
    /// CloudFront invalidation jobs.
    pub invalidation: InvalidationSettings,
    /// The watched cache tiers: those written in `[[targets]]`, then those discovered.
    pub targets: Vec<TargetSettings>,
    /// Where targets are found instead of written (`[[discover]]`).
    pub discover: Vec<DiscoverSettings>,
    /// Where alerts go.
    pub notifiers: Vec<NotifierSettings>,
    /// What is alerted on.
    pub alarms: Vec<AlarmSettings>,
    /// How alarms treat our own purges and invalidations.
    pub alerting: AlertingSettings,
    /// Recurring windows in which notifications are held.
    pub maintenance: Vec<MaintenanceWindow>,
    /// Domain events mapped to invalidations.
    pub rules: Vec<RuleSettings>,
    /// DynamoDB Streams read as sources of events.
    pub streams: Vec<StreamSettings>,
    /// Who may sign in to the dashboard, and how.
    pub dashboard: DashboardSettings,
}

impl Settings {
    /// The target with this name, if configured.
    pub fn target(&self, name: &TargetName) -> Option<&TargetSettings> {
        self.targets.iter().find(|t| &t.name == name)
    }

    /// The AWS account a job for target `name` acts in: its `role_arn`, or `None` for the
    /// default credentials (also for a target a reload removed while its job runs).
    pub fn account_of(&self, name: &str) -> Option<&crate::domain::Account> {
        self.targets
            .iter()
            .find(|t| t.name.as_str() == name)
            .and_then(|t| t.account.as_ref())
    }

    /// Whether a target or a notifier reaches AWS (CloudWatch, CloudFront, SNS).
    pub fn needs_aws(&self) -> bool {
        self.targets.iter().any(TargetSettings::is_cloudwatch)
            || !self.discover.is_empty()
            || !self.streams.is_empty()
            || self.notifiers.iter().any(|n| n.config.needs_aws())
    }
}

/// `[[discover]]`: which kinds to look for, where, and what every target found gets.
#[derive(Debug, Clone)]
pub struct DiscoverSettings {
    pub name: String,
    /// Kinds that can be discovered, in tier order.
    pub kinds: Vec<crate::targets::Kind>,
    /// Regions to look in; empty: the region of `[aws]` (or the SDK's chain).
    pub regions: Vec<String>,
    /// Accounts to look in, each through its role; empty: the default credentials' account.
    pub accounts: Vec<crate::domain::Account>,
    /// Every tag must be present with a value the glob matches.
    pub tags: Vec<(String, globset::Glob)>,
    /// When given, a resource's name or id must match one.
    pub names: Vec<globset::Glob>,
    /// How often to look. Default 5 min.
    pub every: Duration,
    /// How a target found is named.
    pub name_template: crate::domain::NameTemplate,
    /// `[discover.targets]` as written: keys every target found gets (`every`, `timeout`),
    /// and a table per kind for that kind's keys (`[discover.targets.redis]`…).
    pub targets: toml::Table,
}

impl DiscoverSettings {
    /// The accounts to look in: each role, or the default credentials (`None`).
    pub fn each_account(&self) -> Vec<Option<&crate::domain::Account>> {
        if self.accounts.is_empty() {
            vec![None]
        } else {
            self.accounts.iter().map(Some).collect()
        }
    }

    /// Whether a resource (its name, id and tags) is wanted: matchers compiled once.
    pub fn filter(
        &self,
    ) -> impl Fn(&str, &str, &std::collections::BTreeMap<String, String>) -> bool + use<> {
        let names: Vec<globset::GlobMatcher> = self
            .names
            .iter()
            .map(globset::Glob::compile_matcher)
            .collect();
        let tags: Vec<(String, globset::GlobMatcher)> = self
            .tags
            .iter()
            .map(|(k, g)| (k.clone(), g.compile_matcher()))
            .collect();
        move |name, id, found| {
            (names.is_empty() || names.iter().any(|m| m.is_match(name) || m.is_match(id)))
                && tags
                    .iter()
                    .all(|(k, m)| found.get(k).is_some_and(|v| m.is_match(v)))
        }
    }
}

/// `[server]`
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Address to listen on. Default `127.0.0.1:8080`: loopback only until told otherwise.
    pub listen: SocketAddr,
    /// The address people reach the dashboard at, used for links in alerts.
    pub public_url: Option<Url>,
    /// How long in-flight requests may take to finish after SIGTERM. Default 3 s.
    pub shutdown_timeout: Duration,
}

/// `[database]`
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `sqlite://FILE` (default `sqlite://cachewarden.db`) or `postgres://user:pass@host/db`.
    /// Kept secret because a PostgreSQL URL may carry a password.
    pub url: SecretString,
    /// Connection pool size. Default 10.
    pub max_connections: u32,
}

/// `[aws]`
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AwsSettings {
    /// Default region for CloudWatch and SNS; else the SDK's usual chain (`AWS_REGION`, profile).
    pub region: Option<String>,
    /// Endpoint override, for an emulator. Omitted in production.
    pub endpoint: Option<Url>,
    /// Named profile from the shared AWS config files.
    pub profile: Option<String>,
}

/// `[collector]`
#[derive(Debug, Clone)]
pub struct CollectorSettings {
    /// Polls running at once across all targets. Default 64.
    pub max_concurrent_polls: u32,
}

/// `[retention]`
#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// Raw samples. Default 48 h.
    pub raw: Duration,
    /// 5-minute rollups. Default 30 days.
    pub five_minute: Duration,
    /// 1-hour rollups. Default 400 days.
    pub one_hour: Duration,
    /// Alarm transitions, sent or held notifications, and ended silences. Default 400 days.
    pub alerts: Duration,
}

/// `[cloudwatch]`
#[derive(Debug, Clone)]
pub struct CloudwatchSettings {
    /// How far back each poll reads. CloudWatch data arrives minutes late and is revised, so
    /// every poll re-reads this window and upserts it. Default 15 min.
    pub lookback: Duration,
    /// GetMetricData price in USD per 1,000 metrics requested. Default 0.01.
    pub price_per_1000_metrics: f64,
}

/// `[invalidation]`
#[derive(Debug, Clone)]
pub struct InvalidationSettings {
    /// Requests for one distribution arriving within this window go out as one
    /// CreateInvalidation. Default 2 s.
    pub coalesce_window: Duration,
    /// How long a job may wait (queued behind CloudFront's in-progress limits, retried after
    /// throttling) before it fails. Default 1 h.
    pub deadline: Duration,
    /// USD per invalidation path beyond the free paths. Default 0.005.
    pub price_per_path: f64,
    /// Free paths per month per AWS account. Default 1,000.
    pub free_paths_per_month: u64,
    /// Refuse requests that would take this month's estimated cost beyond this (USD).
    pub monthly_budget_usd: Option<f64>,
}

/// Which side of the threshold breaches.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Below(f64),
    Above(f64),
    /// The value fell by at least `points` against the baseline.
    Drop {
        points: f64,
        baseline: Baseline,
    },
    /// A change on the target (a purge, an invalidation) cost more than this: not a series
    /// but each change's measured impact.
    ChangeCost(CostLimits),
}

impl Condition {
    /// The value a below/above condition fires past, and which side ("below"): where a chart
    /// draws its line. `None` for conditions without a fixed value.
    pub fn threshold(&self) -> Option<(f64, &'static str)> {
        match self {
            Condition::Below(v) => Some((*v, "below")),
            Condition::Above(v) => Some((*v, "above")),
            Condition::Drop { .. } | Condition::ChangeCost(_) => None,
        }
    }
}

/// What a change may cost before a `change_cost` alarm fires; at least one is set
/// (`alarms::change_cost` judges a change against them).
#[derive(Debug, Clone, PartialEq)]
pub struct CostLimits {
    /// More extra misses than this.
    pub extra_misses: Option<f64>,
    /// Not recovered within this (a change that never recovered exceeds it).
    pub recovery: Option<Duration>,
}

/// What a drop is measured against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Baseline {
    /// The mean of a trailing window (`"trailing 1h"`).
    Trailing(Duration),
    /// The same time one week earlier (`"last_week"`).
    LastWeek,
}

/// How missing datapoints count (CloudWatch's treatments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingData {
    Missing,
    Breaching,
    NotBreaching,
    Ignore,
}

/// How urgent an alarm is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// `[[alarms]]`
#[derive(Debug, Clone)]
pub struct AlarmSettings {
    pub name: String,
    /// Which targets it watches: a name or glob, tags, a group (one alarm state per target).
    pub targets: crate::targets::Selector,
    /// The series watched (`hit_rate`, `evictions`…); empty for a `change_cost` alarm,
    /// which watches changes.
    pub metric: String,
    pub condition: Condition,
    /// M breaching datapoints out of the last N.
    pub datapoints: (u32, u32),
    pub missing: MissingData,
    /// Requests per interval under which the alarm keeps its state.
    pub min_volume: Option<u64>,
    /// Reminder interval while in alarm.
    pub repeat: Option<Duration>,
    pub severity: Severity,
    /// Notifier names.
    pub notify: Vec<String>,
    /// Hold notifications inside an expected-dip window after our own purge.
    pub mute_expected: bool,
}

impl AlarmSettings {
    /// Whether it watches target `t` (name, tags and group match).
    pub fn watches(&self, t: &TargetSettings) -> bool {
        self.targets.matches(t.name.as_str(), &t.labels)
    }
}

/// `[dashboard]`
#[derive(Debug, Clone, Default)]
pub struct DashboardSettings {
    /// Sign people in by a header a single-sign-on proxy sets; none: passwords only.
    pub auth_proxy: Option<AuthProxy>,
}

/// A trusted SSO proxy (oauth2-proxy, an ALB with OIDC, …) in front of the dashboard.
#[derive(Debug, Clone)]
pub struct AuthProxy {
    /// The header that names the person (`X-Forwarded-Email`), lowercase.
    pub header: String,
    /// The header that lists their groups, comma-separated (`X-Forwarded-Groups`), lowercase.
    pub groups_header: Option<String>,
    /// Only requests from these addresses may use the headers; from anywhere else the
    /// headers are ignored, so a client cannot name itself.
    pub trusted: Vec<ipnet::IpNet>,
    /// A person's name or a group, and the role it gives. The highest role that applies
    /// wins; a person nothing applies to is refused (least privilege).
    pub roles: std::collections::BTreeMap<String, crate::domain::Role>,
}

impl AuthProxy {
    /// Whether `addr` is a trusted proxy.
    pub fn trusts(&self, addr: std::net::IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(&addr))
    }

    /// The role for a person with these groups, if any applies.
    pub fn role_for(&self, name: &str, groups: &[&str]) -> Option<crate::domain::Role> {
        std::iter::once(name)
            .chain(groups.iter().copied())
            .filter_map(|k| self.roles.get(k).copied())
            .max()
    }
}

/// `[alerting]`
#[derive(Debug, Clone)]
pub struct AlertingSettings {
    /// How long after a purge or invalidation that cachewarden ran a dip on the targets it
    /// touched is expected (alarms annotated; held when `mute_expected`). Default 10 min.
    pub expected_dip_window: Duration,
}

/// `[[maintenance]]`: a recurring window (cron start plus duration) in which the
/// notifications of matching alarms are held; states are still evaluated and recorded.
#[derive(Debug, Clone)]
pub struct MaintenanceWindow {
    pub name: String,
    /// Target name or glob. Default every target.
    pub target: globset::Glob,
    /// Alarm names it applies to; empty: every alarm.
    pub alarms: Vec<String>,
    /// When each window starts (six fields, with seconds), in `timezone`.
    pub cron: croner::Cron,
    pub duration: Duration,
    /// The zone the cron is read in (IANA name; default UTC), so "Sunday 03:00" stays 03:00
    /// local time across daylight-saving changes.
    pub timezone: chrono_tz::Tz,
}

/// `[[rules]]`: one domain event type mapped to changes on every tier.
#[derive(Debug, Clone)]
pub struct RuleSettings {
    /// Event type (`product.updated`).
    pub event: String,
    /// One per entry of the rule's sections (`redis`, `cloudfront`, …), in order.
    pub actions: Vec<RuleTarget>,
    pub broadcast: Option<Broadcast>,
}

/// One entry of a rule's section: which targets, and what each one's kind checked of it.
#[derive(Debug, Clone)]
pub struct RuleTarget {
    pub to: RuleTargets,
    /// The entry as checked by the kind of the target named, or by each kind of the section
    /// that accepts it (a selector's targets may be of any of them).
    pub actions: Vec<(
        crate::targets::Kind,
        std::sync::Arc<dyn crate::targets::RuleAction>,
    )>,
}

/// The targets a rule's entry acts on.
#[derive(Debug, Clone)]
pub enum RuleTargets {
    /// The target named (`target = "web"`).
    Named(TargetName),
    /// Every target in force when the event comes that the selector picks (`target_tags`,
    /// `group`): discovered targets included, as they appear and go.
    Selected(Box<crate::targets::Selector>),
}

impl RuleTarget {
    /// The targets it acts on among `targets`, each with its kind's action. A target named
    /// is acted on even when no longer configured (the job says why it cannot run).
    pub fn on<'a>(
        &'a self,
        targets: &'a [TargetSettings],
    ) -> Vec<(
        TargetName,
        &'a std::sync::Arc<dyn crate::targets::RuleAction>,
    )> {
        match &self.to {
            RuleTargets::Named(name) => self
                .actions
                .first()
                .map(|(_, a)| (name.clone(), a))
                .into_iter()
                .collect(),
            RuleTargets::Selected(selector) => targets
                .iter()
                .filter(|t| selector.matches(t.name.as_str(), &t.labels))
                .filter_map(|t| {
                    let (_, a) = self.actions.iter().find(|(k, _)| *k == t.kind)?;
                    Some((t.name.clone(), a))
                })
                .collect(),
        }
    }
}

/// A Redis pub/sub message telling application instances to drop local copies.
#[derive(Debug, Clone)]
pub struct Broadcast {
    pub target: TargetName,
    pub channel: String,
}

/// `[[streams]]`: a DynamoDB stream whose records become events.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// Unique name (metrics, API, checkpoints).
    pub name: String,
    /// The table whose latest stream is read, or the stream itself.
    pub source: StreamSource,
    /// The event type each record becomes; a `[[rules]]` entry handles it.
    pub event: String,
    /// Attributes of the item image (new image, or old one for a delete) that become the
    /// event's fields; the key attributes always do.
    pub fields: Vec<String>,
    /// Where a stream read for the first time starts.
    pub start: StreamStart,
    /// How often it is read. Default 1 s.
    pub every: Duration,
    /// Else `[aws] region`.
    pub region: Option<String>,
}

/// Which stream a `[[streams]]` entry reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamSource {
    Table(String),
    Arn(String),
}

/// Where reading starts the first time (afterwards, from the checkpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStart {
    /// Records written from the first start on.
    Latest,
    /// Every record the stream still holds (24 hours).
    TrimHorizon,
}

/// The secrets a configured value holds, so that comparing two configurations sees a rotated
/// password: `Debug` shows every secret as redacted.
pub trait Secrets {
    fn secrets(&self) -> Vec<&str>;
}

/// Whether two configured values are the same, secrets included.
pub fn same<T: std::fmt::Debug + Secrets>(a: &T, b: &T) -> bool {
    a.secrets() == b.secrets() && format!("{a:?}") == format!("{b:?}")
}

impl Secrets for TargetSettings {
    fn secrets(&self) -> Vec<&str> {
        let mut s = self.config.secrets();
        s.extend(self.account.as_ref().and_then(|a| a.external_id()));
        s
    }
}

impl Secrets for NotifierSettings {
    fn secrets(&self) -> Vec<&str> {
        self.config.secrets()
    }
}

/// Alarms, maintenance windows and rules hold no secrets.
macro_rules! no_secrets {
    ($($t:ty),*) => {$(
        impl Secrets for $t {
            fn secrets(&self) -> Vec<&str> {
                Vec::new()
            }
        }
    )*};
}
no_secrets!(
    AlarmSettings,
    MaintenanceWindow,
    RuleSettings,
    StreamSettings
);
