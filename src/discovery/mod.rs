//! `[[discover]]`: targets found in AWS instead of written by hand (issue 22).
//!
//! The leader runs each discovery on its `every`. One run asks every (account, region,
//! kind) the discovery names, concurrently: each kind says how it is found
//! (`targets::Discovery`), through every page of its API. What answers is filtered by tags
//! and names, named by the template, and reconciled with the set the discovery knew
//! (`plan.rs`: a failing scope keeps its targets, a target goes only after two misses in a
//! row). Alarms firing on a target about to go end with a "target removed" message first;
//! then the run and its set are written in one transaction, audited, and counted on
//! `/metrics`. The set lives in the store, so every replica polls and acts on the same
//! targets, and a restart or a reload builds them again from it without asking AWS.
//!
//! A discovered target is built by the same code as a `[[targets]]` entry
//! (`config::discovered_target`), from what its kind found and `[discover.targets]`.

pub mod plan;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use aws_config::{Region, SdkConfig};
use prometheus::{GaugeVec, IntGaugeVec, Opts};
use serde::Serialize;
use serde_json::json;

use crate::alarms::evaluator::Evaluator;
use crate::aws::Accounts;
use crate::config::{DiscoverSettings, Settings, TargetSettings};
use crate::domain::{Account, DiscoveryOutcome, NameParts, TargetName};
use crate::store::{AuditEntry, KnownTarget, NewDiscoveryRun, Outcome, Store, StoreError, now_ms};
use crate::targets::{Found, Kind};
use plan::{Answer, RunDiff, Scope, Seen};

/// One scope asked: its account, and the account's id with what was found, or why not.
type Asked = (Scope, Option<Account>, Result<(String, Vec<Found>), String>);

/// How long one account, region and kind may take to list everything.
const SCOPE_TIMEOUT: Duration = Duration::from_secs(120);

/// What the API and the dashboard say of one discovery.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DiscoveryView {
    pub name: String,
    pub kinds: Vec<Kind>,
    pub regions: Vec<String>,
    /// The roles it looks through; empty: the default credentials' account.
    pub accounts: Vec<String>,
    /// Seconds between runs.
    pub every_seconds: u64,
    /// Targets it knows now.
    pub targets: usize,
    /// Its last runs, newest first.
    pub runs: Vec<RunView>,
}

/// One run.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunView {
    pub id: i64,
    /// Milliseconds since the epoch.
    pub started_at: i64,
    pub finished_at: i64,
    pub outcome: DiscoveryOutcome,
    /// Targets known after it.
    pub targets: i64,
    pub diff: RunDiff,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: i64,
    pub outcome: DiscoveryOutcome,
    pub diff: RunDiff,
    pub targets: usize,
}

pub struct DiscoveryService {
    store: Store,
    /// The SDK's configuration per account; replaced when a reload loads `[aws]` again.
    accounts: ArcSwapOption<Accounts>,
    up: IntGaugeVec,
    count: IntGaugeVec,
    last_success: GaugeVec,
}

impl DiscoveryService {
    pub fn new(store: Store, registry: &prometheus::Registry) -> Self {
        let up = IntGaugeVec::new(
            Opts::new(
                "cachewarden_discovery_up",
                "1 when the last run of a discovery heard from every account, region and kind; 0 when some failed (their targets are kept).",
            ),
            &["discovery"],
        )
        .expect("static metric definition");
        let count = IntGaugeVec::new(
            Opts::new(
                "cachewarden_discovery_targets",
                "Targets a discovery knows.",
            ),
            &["discovery"],
        )
        .expect("static metric definition");
        let last_success = GaugeVec::new(
            Opts::new(
                "cachewarden_discovery_last_success_timestamp_seconds",
                "When a discovery last heard from everything it asks.",
            ),
            &["discovery"],
        )
        .expect("static metric definition");
        for c in [
            Box::new(up.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(count.clone()),
            Box::new(last_success.clone()),
        ] {
            if let Err(e) = registry.register(c) {
                tracing::warn!(error = %e, "Discovery metrics are registered already.");
            }
        }
        Self {
            store,
            accounts: ArcSwapOption::empty(),
            up,
            count,
            last_success,
        }
    }

    /// The AWS configuration to discover with (`None`: AWS is not configured).
    pub fn set_aws(&self, sdk: Option<&SdkConfig>) {
        self.accounts
            .store(sdk.map(|s| Arc::new(Accounts::new(s.clone()))));
    }

    /// Every discovered target, as kept.
    pub async fn known(&self) -> Result<Vec<KnownTarget>, StoreError> {
        self.store.discovered_targets().await
    }

    /// Forgets the targets of discoveries the configuration no longer has (a reload took the
    /// section out): they are not in force any more, and should the section come back, its
    /// first run starts afresh.
    pub async fn forget_others(&self, settings: &Settings) -> Result<u64, StoreError> {
        let kept: Vec<String> = settings.discover.iter().map(|d| d.name.clone()).collect();
        self.store.forget_discoveries_except(&kept).await
    }

    /// When `discovery` last ran (ms since the epoch).
    pub async fn last_run(&self, discovery: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .store
            .discovery_runs(discovery, 1)
            .await?
            .first()
            .map(|r| r.finished_at))
    }

    /// Runs discovery `d` once: asks, reconciles, ends the alarms of targets that go, and
    /// records the run. `settings` is the configuration in force (its written targets'
    /// names are taken), `alarms` what evaluates them.
    pub async fn run_once(
        &self,
        settings: &Settings,
        d: &DiscoverSettings,
        alarms: Option<&Evaluator>,
    ) -> Result<RunReport, StoreError> {
        let started = now_ms();
        let answers = self.ask(settings, d).await;
        let (own, others): (Vec<KnownTarget>, Vec<KnownTarget>) = self
            .store
            .discovered_targets()
            .await?
            .into_iter()
            .partition(|k| k.discovery == d.name);
        let (answers, mut refused) = self.name_and_check(settings, d, answers, &others);
        let now = now_ms();
        let mut plan = plan::reconcile(&d.name, &own, &answers, now);
        plan.diff.errors.append(&mut refused);
        let failed = answers
            .values()
            .filter(|a| matches!(a, Answer::Failed(_)))
            .count();
        let outcome = match failed {
            0 => DiscoveryOutcome::Ok,
            n if n == answers.len() => DiscoveryOutcome::Failed,
            _ => DiscoveryOutcome::Partial,
        };
        // Alarms end first: if this replica dies before the run is written, the next run
        // removes the target again and finds no alarm firing.
        if let Some(alarms) = alarms {
            for name in &plan.removed {
                if let Some(t) = settings.targets.iter().find(|t| t.name.as_str() == name) {
                    let reason = format!(
                        "target removed: discovery {} did not find it {} times in a row",
                        d.name,
                        plan::REMOVE_AFTER_MISSES
                    );
                    alarms.target_removed(t, &reason, now).await?;
                }
            }
        }
        let diff = serde_json::to_value(&plan.diff).unwrap_or_default();
        let run_id = self
            .store
            .record_discovery(&NewDiscoveryRun {
                discovery: &d.name,
                started_at: started,
                finished_at: now,
                outcome,
                targets: plan.total as i64,
                diff: &diff,
                upserts: &plan.upserts,
                removed: &plan.removed,
            })
            .await?;
        self.observe(d, outcome, plan.total, now);
        let changed = !(plan.diff.added.is_empty()
            && plan.diff.removed.is_empty()
            && plan.diff.changed.is_empty());
        if changed || outcome != DiscoveryOutcome::Ok {
            let entry = AuditEntry {
                actor: format!("discovery:{}", d.name),
                action: "discovery.run".into(),
                target: None,
                outcome: if outcome == DiscoveryOutcome::Ok {
                    Outcome::Ok
                } else {
                    Outcome::Error
                },
                status: None,
                request_id: None,
                detail: json!({ "run": run_id, "outcome": outcome, "diff": diff }),
            };
            self.store.record_audit(&entry, now).await?;
        }
        match outcome {
            DiscoveryOutcome::Ok => tracing::info!(
                discovery = %d.name, targets = plan.total, added = plan.diff.added.len(),
                removed = plan.diff.removed.len(), changed = plan.diff.changed.len(),
                missing = plan.diff.missing.len(), "Discovered."
            ),
            _ => tracing::error!(
                discovery = %d.name, targets = plan.total, errors = ?plan.diff.errors,
                "A discovery could not ask everything; the targets it could not see are kept as they were."
            ),
        }
        Ok(RunReport {
            run_id,
            outcome,
            diff: plan.diff,
            targets: plan.total,
        })
    }

    fn observe(&self, d: &DiscoverSettings, outcome: DiscoveryOutcome, total: usize, now: i64) {
        let l = [d.name.as_str()];
        self.up
            .with_label_values(&l)
            .set(i64::from(outcome == DiscoveryOutcome::Ok));
        self.count.with_label_values(&l).set(total as i64);
        if outcome == DiscoveryOutcome::Ok {
            self.last_success
                .with_label_values(&l)
                .set(now as f64 / 1000.0);
        }
    }

    /// Asks every scope of `d` at once. Each answer is what its kind found, filtered.
    async fn ask(&self, settings: &Settings, d: &DiscoverSettings) -> Vec<Asked> {
        let Some(accounts) = self.accounts.load_full() else {
            return self
                .scopes(settings, d, None)
                .into_iter()
                .map(|(s, a)| {
                    (
                        s,
                        a,
                        Err("AWS is not configured ([aws] and credentials)".to_owned()),
                    )
                })
                .collect();
        };
        let scopes = self.scopes(settings, d, Some(&accounts));
        // Whose each account is: a role's from its ARN, the default credentials' asked of STS
        // once a run (not once per region and kind).
        let mut ids: Vec<(Option<Account>, Result<String, String>)> = Vec::new();
        for account in d.each_account() {
            let id = match account {
                Some(a) => Ok(a.id().to_owned()),
                None => {
                    let region = scopes.first().map(|(s, _)| s.region.as_str());
                    caller_account(&accounts, region).await
                }
            };
            ids.push((account.cloned(), id));
        }
        let asks = scopes.into_iter().map(|(scope, account)| {
            let id = ids
                .iter()
                .find(|(a, _)| *a == account)
                .map(|(_, id)| id.clone());
            ask_scope(accounts.clone(), scope, account, id)
        });
        futures_util::future::join_all(asks).await
    }

    /// Every (account, region, kind) `d` asks.
    fn scopes(
        &self,
        settings: &Settings,
        d: &DiscoverSettings,
        accounts: Option<&Arc<Accounts>>,
    ) -> Vec<(Scope, Option<Account>)> {
        let default_region = settings
            .aws
            .region
            .clone()
            .or_else(|| accounts.and_then(|a| a.config(None).region().map(|r| r.to_string())));
        let mut out = Vec::new();
        for account in d.each_account() {
            for kind in &d.kinds {
                let Some(discovery) = kind.discovery() else {
                    continue;
                };
                let regions: Vec<String> = match discovery.only_region() {
                    Some(r) => vec![r.to_owned()],
                    None if d.regions.is_empty() => default_region.iter().cloned().collect(),
                    None => d.regions.clone(),
                };
                for region in regions {
                    out.push((
                        Scope {
                            role_arn: account.map(|a| a.role_arn().to_owned()).unwrap_or_default(),
                            region,
                            kind: kind.name().to_owned(),
                        },
                        account.cloned(),
                    ));
                }
            }
        }
        out
    }

    /// Filters, names and checks what each scope found. A resource whose name a written
    /// target or another discovery holds, or whose keys its kind refuses, is left out and
    /// said in the run's errors.
    fn name_and_check(
        &self,
        settings: &Settings,
        d: &DiscoverSettings,
        answers: Vec<Asked>,
        others: &[KnownTarget],
    ) -> (BTreeMap<Scope, Answer>, Vec<String>) {
        let wanted = d.filter();
        let written = written_names(settings);
        let taken: HashSet<&str> = others.iter().map(|k| k.name.as_str()).collect();
        let mut refused = Vec::new();
        let mut out = BTreeMap::new();
        for (scope, account, answer) in answers {
            let (account_id, found) = match answer {
                Ok(x) => x,
                Err(e) => {
                    out.insert(scope, Answer::Failed(e));
                    continue;
                }
            };
            let Some(kind) = Kind::named(&scope.kind) else {
                continue;
            };
            let mut seen = Vec::new();
            for f in found
                .into_iter()
                .filter(|f| wanted(&f.name, &f.id, &f.tags))
            {
                let name = d.name_template.render(NameParts {
                    account: &account_id,
                    region: &scope.region,
                    kind: kind.name(),
                    id: &f.id,
                    name: &f.name,
                    group: f.group.as_deref(),
                });
                if written.contains(name.as_str()) || taken.contains(name.as_str()) {
                    refused.push(format!(
                        "{name} is the name of another target; {} {} is left out",
                        kind.label(),
                        f.id
                    ));
                    continue;
                }
                if let Err(errors) = crate::config::discovered_target(
                    d,
                    kind,
                    name.clone(),
                    &f,
                    account.as_ref(),
                    &account_id,
                ) {
                    refused.push(format!("{name}: {errors}"));
                    continue;
                }
                seen.push(Seen {
                    name: name.to_string(),
                    account_id: account_id.clone(),
                    found: serde_json::to_value(&f).unwrap_or_default(),
                });
            }
            out.insert(scope, Answer::Found(seen));
        }
        (out, refused)
    }

    /// Every discovery in force with its last `runs` runs (scope read): the API shows ten,
    /// the overview only needs the last.
    pub async fn views(
        &self,
        who: &crate::auth::Principal,
        settings: &Settings,
        runs: u32,
    ) -> Result<Vec<DiscoveryView>, crate::service_error::ServiceError> {
        who.require(crate::domain::Scope::Read)?;
        let mut out = Vec::new();
        for d in &settings.discover {
            let runs = self.store.discovery_runs(&d.name, runs).await?;
            out.push(DiscoveryView {
                name: d.name.clone(),
                kinds: d.kinds.clone(),
                regions: d.regions.clone(),
                accounts: d.accounts.iter().map(|a| a.role_arn().to_owned()).collect(),
                every_seconds: d.every.as_secs(),
                targets: settings
                    .targets
                    .iter()
                    .filter(|t| t.labels.discovered_by.as_deref() == Some(d.name.as_str()))
                    .count(),
                runs: runs
                    .into_iter()
                    .map(|r| RunView {
                        id: r.id,
                        started_at: r.started_at,
                        finished_at: r.finished_at,
                        outcome: r.outcome,
                        targets: r.targets,
                        diff: serde_json::from_value(r.diff).unwrap_or_default(),
                    })
                    .collect(),
            });
        }
        Ok(out)
    }
}

/// One scope asked: what its kind found with the account's id, or why not, in a sentence
/// that names the account, region and kind.
async fn ask_scope(
    accounts: Arc<Accounts>,
    scope: Scope,
    account: Option<Account>,
    id: Option<Result<String, String>>,
) -> Asked {
    let answer = match id.unwrap_or_else(|| Err("its account was not asked".to_owned())) {
        Err(e) => Err(e),
        Ok(id) => tokio::time::timeout(SCOPE_TIMEOUT, ask_one(&accounts, &scope, account.as_ref()))
            .await
            .unwrap_or_else(|_| Err("did not answer within 2 minutes".to_owned()))
            .map(|found| (id, found)),
    };
    let answer = answer.map_err(|e| {
        let who = match &account {
            Some(a) => format!("account {} (role {})", a.id(), a.role_arn()),
            None => "the default account".to_owned(),
        };
        format!("{who}, {}, {}: {e}", scope.region, scope.kind)
    });
    match &answer {
        Ok((id, found)) => {
            tracing::debug!(region = %scope.region, kind = %scope.kind, account = %id, found = found.len(), "Asked.")
        }
        Err(e) => tracing::debug!(region = %scope.region, kind = %scope.kind, error = %e, "Asked."),
    }
    (scope, account, answer)
}

/// The account of the default credentials (`sts:GetCallerIdentity`, which needs no
/// permission), asked in `region` when one is known.
async fn caller_account(accounts: &Accounts, region: Option<&str>) -> Result<String, String> {
    let mut sdk = accounts.config(None).to_builder();
    if let Some(r) = region {
        sdk = sdk.region(Region::new(r.to_owned()));
    }
    Ok(aws_sdk_sts::Client::new(&sdk.build())
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| crate::aws_error::explain("sts:GetCallerIdentity", &e))?
        .account()
        .unwrap_or_default()
        .to_owned())
}

/// What one scope's kind finds in its account and region.
async fn ask_one(
    accounts: &Accounts,
    scope: &Scope,
    account: Option<&Account>,
) -> Result<Vec<Found>, String> {
    let sdk = accounts
        .config(account)
        .to_builder()
        .region(Region::new(scope.region.clone()))
        .build();
    let kind = Kind::named(&scope.kind).ok_or_else(|| format!("unknown kind {}", scope.kind))?;
    let discovery = kind
        .discovery()
        .ok_or_else(|| format!("{} cannot be discovered", kind.label()))?;
    discovery.find(&sdk, &scope.region).await
}

/// The targets the discoveries in force know, built with their configuration; a known
/// target whose discovery is gone, whose name a written target took, or whose keys no
/// longer pass is left out (and logged).
pub fn targets(settings: &Settings, known: &[KnownTarget]) -> Vec<TargetSettings> {
    let written = written_names(settings);
    let mut out = Vec::new();
    for k in known {
        let Some(d) = settings.discover.iter().find(|d| d.name == k.discovery) else {
            continue;
        };
        if written.contains(k.name.as_str()) {
            tracing::warn!(target_name = %k.name, discovery = %d.name, "A discovered target has the name of a written one; the written one is kept.");
            continue;
        }
        let built = (|| {
            let kind = Kind::named(&k.kind).ok_or("its kind is unknown".to_owned())?;
            let found: Found =
                serde_json::from_value(k.found.clone()).map_err(|e| e.to_string())?;
            let name = TargetName::parse(&k.name).map_err(|e| e.to_string())?;
            let account = d
                .accounts
                .iter()
                .find(|a| a.role_arn() == k.role_arn)
                .filter(|_| !k.role_arn.is_empty());
            if !k.role_arn.is_empty() && account.is_none() {
                return Err("its account is no longer in the discovery's accounts".to_owned());
            }
            crate::config::discovered_target(d, kind, name, &found, account, &k.account_id)
                .map_err(|e| e.to_string())
        })();
        match built {
            Ok(t) => out.push(t),
            Err(e) => {
                tracing::warn!(target_name = %k.name, discovery = %d.name, error = %e, "A discovered target is left out.")
            }
        }
    }
    out
}

/// The names of the targets written in `[[targets]]`: a discovered target never takes one.
fn written_names(settings: &Settings) -> HashSet<&str> {
    settings
        .targets
        .iter()
        .filter(|t| t.labels.discovered_by.is_none())
        .map(|t| t.name.as_str())
        .collect()
}

/// `file` (the written configuration) with the discovered targets added after its own.
pub fn with_discovered(mut file: Settings, known: &[KnownTarget]) -> Settings {
    file.targets.retain(|t| t.labels.discovered_by.is_none());
    let found = targets(&file, known);
    file.targets.extend(found);
    file
}

/// Whether two sets build the same targets (when each was last seen does not matter).
pub fn same_set(a: &[KnownTarget], b: &[KnownTarget]) -> bool {
    let key = |k: &KnownTarget| {
        (
            k.name.clone(),
            k.discovery.clone(),
            k.kind.clone(),
            k.account_id.clone(),
            k.role_arn.clone(),
            k.region.clone(),
            k.found.to_string(),
        )
    };
    let mut x: Vec<_> = a.iter().map(key).collect();
    let mut y: Vec<_> = b.iter().map(key).collect();
    x.sort();
    y.sort();
    x == y
}
