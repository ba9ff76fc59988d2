//! Reloading the configuration without a restart (SIGHUP, `POST /api/v1/admin/reload`).
//!
//! The file is read and validated whole; an invalid one is refused with every error and the
//! running configuration stays. A valid one is put in force at once: notifiers, job executors
//! and the collector (with its alarms) are rebuilt from it and swapped in, the leader's
//! scheduler restarts on the new targets, and the series of removed targets leave `/metrics`.
//! What lives in the store (alarm states, jobs, the outbox) is untouched, so alarm states are
//! kept and queued work goes on; a job being stepped finishes with the executor it started with.
//!
//! The same code builds the first configuration at start (`Pieces`), so a reload cannot build
//! anything differently from a restart.

pub mod diff;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{Mutex, watch};

use crate::alarms::evaluator::Evaluator;
use crate::aws::CloudFrontApi;
use crate::config::{self, ConfigErrors, Settings};
use crate::jobs::Executor;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::notify::NotifyWorker;
use crate::store::{AuditEntry, Outcome, Store, now_ms};

pub use diff::{Changes, Diff};

/// What a successful reload did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reloaded {
    /// When the new configuration went into force (ms since the epoch).
    pub at: i64,
    /// Where it was read from; absent for a daemon started without a file (environment only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub changes: Diff,
}

/// What a configuration's pieces are built with, and what stays across reloads.
pub(crate) struct Pieces {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// Woken when an alarm transition wrote notifications.
    pub notified: Arc<tokio::sync::Notify>,
    /// A test's CloudFront stand-in, kept across reloads.
    pub cloudfront: Option<Arc<dyn CloudFrontApi>>,
    /// Finds targets; told of the AWS configuration a reload loads.
    pub discovery: Arc<crate::discovery::DiscoveryService>,
}

/// A consumer per `[[streams]]` entry (none without an AWS configuration, which is logged).
pub(crate) fn streams(
    pieces: &Pieces,
    settings: &Settings,
    aws: Option<&aws_config::SdkConfig>,
    jobs: &Arc<crate::jobs::JobService>,
) -> Vec<Arc<crate::streams::StreamConsumer>> {
    let Some(sdk) = aws else {
        if !settings.streams.is_empty() {
            tracing::error!(
                "DynamoDB streams are configured but no AWS configuration was loaded; they are not read."
            );
        }
        return Vec::new();
    };
    settings
        .streams
        .iter()
        .map(|s| {
            Arc::new(crate::streams::StreamConsumer::new(
                s.clone(),
                sdk,
                pieces.store.clone(),
                jobs.clone(),
                &pieces.metrics,
            ))
        })
        .collect()
}

impl Pieces {
    /// The alarm evaluator of `settings`.
    pub fn evaluator(&self, settings: &Arc<Settings>) -> Arc<Evaluator> {
        Arc::new(Evaluator::new(
            self.store.clone(),
            settings.clone(),
            self.notified.clone(),
            Arc::new(|kind: &str| crate::registry::label_of(kind).unwrap_or(kind).to_owned()),
        ))
    }

    /// Every job kind's executor for `settings`.
    pub fn executors(
        &self,
        settings: &Arc<Settings>,
        aws: Option<&aws_config::SdkConfig>,
    ) -> Vec<Arc<dyn Executor>> {
        // Whenever AWS is configured, not only while a CloudFront target is: an invalidation
        // accepted before a reload removed its target is still tracked to its end. A client
        // makes no call until used.
        crate::registry::job_executors(&crate::jobs::Deps {
            store: self.store.clone(),
            settings: settings.clone(),
            metrics: self.metrics.clone(),
            aws: crate::aws::Clients::new(aws.cloned(), self.cloudfront.clone()),
            peers: Default::default(),
        })
    }
}

/// Where the configuration comes from, and how to read it again.
pub struct Source {
    /// The file given with `--config`; `None`: defaults and the environment only.
    pub file: Option<PathBuf>,
    /// `--listen`, which overrides the file at every load.
    pub listen: Option<SocketAddr>,
}

/// The AWS SDK configuration in use.
pub(crate) struct Aws {
    pub sdk: Option<aws_config::SdkConfig>,
    /// Whether a reload may load it again from `[aws]` (not when a test gave it).
    pub reloadable: bool,
}

pub struct Reloader {
    /// Set once by `serve`; unset: no file, defaults and the environment.
    source: std::sync::OnceLock<Source>,
    live: Arc<Live>,
    pieces: Pieces,
    jobs: Arc<crate::jobs::Runtime>,
    /// What stream consumers submit their events through.
    job_service: Arc<crate::jobs::JobService>,
    notifications: Arc<NotifyWorker>,
    /// Held for a whole reload: two at once would interleave their swaps.
    aws: Mutex<Aws>,
    /// Counts reloads; the leader's scheduler restarts on each.
    generation: watch::Sender<u64>,
    /// The discovered targets in force, as the store keeps them: every configuration put
    /// in force gets them, built with its own `[[discover]]` sections.
    known: std::sync::Mutex<Vec<crate::store::KnownTarget>>,
}

impl Reloader {
    pub(crate) fn new(
        live: Arc<Live>,
        pieces: Pieces,
        jobs: Arc<crate::jobs::Runtime>,
        job_service: Arc<crate::jobs::JobService>,
        notifications: Arc<NotifyWorker>,
        aws: Aws,
        known: Vec<crate::store::KnownTarget>,
    ) -> Self {
        Self {
            known: std::sync::Mutex::new(known),
            source: std::sync::OnceLock::new(),
            live,
            pieces,
            jobs,
            job_service,
            notifications,
            aws: Mutex::new(aws),
            generation: watch::channel(0).0,
        }
    }

    pub(crate) fn set_source(&self, source: Source) {
        if self.source.set(source).is_err() {
            tracing::warn!("The configuration source was set twice; the first one stays.");
        }
    }

    fn file(&self) -> Option<&std::path::Path> {
        self.source.get().and_then(|s| s.file.as_deref())
    }

    /// Changes whenever a reload put a configuration in force.
    pub fn generations(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// A reload asked for by `who` (scope admin).
    pub async fn reload_for(
        &self,
        who: &crate::auth::Principal,
    ) -> Result<Result<Reloaded, ConfigErrors>, crate::service_error::ServiceError> {
        who.require(crate::domain::Scope::Admin)?;
        Ok(self.reload().await)
    }

    /// Reads the configuration again and puts it in force, or refuses it whole.
    pub async fn reload(&self) -> Result<Reloaded, ConfigErrors> {
        let loaded = config::load(self.file()).map(|mut s| {
            if let Some(listen) = self.source.get().and_then(|s| s.listen) {
                s.server.listen = listen;
            }
            s
        });
        match loaded {
            Ok(settings) => Ok(self.apply(settings).await),
            Err(errors) => {
                self.pieces.metrics.config_reload_ok.set(0);
                for e in errors.iter() {
                    tracing::error!(error = %e, "The configuration was not reloaded.");
                }
                tracing::error!(
                    errors = errors.len(),
                    "Refused the new configuration; the one loaded before keeps running."
                );
                Err(errors)
            }
        }
    }

    /// The discovered targets in force, as kept.
    pub fn known(&self) -> Vec<crate::store::KnownTarget> {
        self.known.lock().map(|k| k.clone()).unwrap_or_default()
    }

    /// Puts a new set of discovered targets in force with the written configuration in
    /// force: the collector, alarms and executors are rebuilt as by a reload, and new
    /// targets are polled at once.
    pub async fn apply_discovered(&self, known: Vec<crate::store::KnownTarget>) -> Diff {
        if let Ok(mut k) = self.known.lock() {
            *k = known;
        }
        let written = (*self.live.settings()).clone();
        self.put_in_force(written, false).await
    }

    /// Puts `settings` (already valid) in force. Keys only a restart applies keep their
    /// running values; the answer names them.
    pub async fn apply(&self, settings: Settings) -> Reloaded {
        let changes = self.put_in_force(settings, true).await;
        Reloaded {
            at: now_ms(),
            file: self.file().map(|f| f.display().to_string()),
            changes,
        }
    }

    /// Puts `settings` in force with the discovered targets; `reload`: it was read from the
    /// configuration (counted and logged as a reload).
    async fn put_in_force(&self, settings: Settings, reload: bool) -> Diff {
        let settings = crate::discovery::with_discovered(settings, &self.known());
        let mut aws = self.aws.lock().await;
        let old = self.live.settings();
        let changes = diff::between(&old, &settings);
        let new = Arc::new(diff::keep_restart_only(&old, settings));
        if aws.reloadable && new.needs_aws() && (aws.sdk.is_none() || old.aws != new.aws) {
            aws.sdk = Some(crate::aws::loader(&new.aws).load().await);
            self.pieces.discovery.set_aws(aws.sdk.as_ref());
        }
        let sdk = aws.sdk.as_ref();
        self.notifications
            .replace_receivers(crate::notify::receivers(&new.notifiers, sdk));
        self.jobs
            .replace_executors(self.pieces.executors(&new, sdk));
        let collector = Arc::new(
            self.live
                .collector()
                .next(&new, sdk)
                .with_alarms(self.pieces.evaluator(&new)),
        );
        // Before the swap: from here on, only targets in force reach /metrics.
        let kept: HashSet<&str> = new.targets.iter().map(|t| t.name.as_str()).collect();
        collector.gauges().retain_targets(&kept);
        for gone in &changes.streams.removed {
            let _ = self.pieces.metrics.stream_lag.remove_label_values(&[gone]);
            let _ = self
                .pieces
                .metrics
                .stream_records
                .remove_label_values(&[gone]);
        }
        let consumers = streams(&self.pieces, &new, sdk, &self.job_service);
        self.live.install(new.clone(), collector.clone(), consumers);
        self.generation.send_modify(|g| *g += 1);
        if !reload {
            tracing::info!(targets = ?changes.targets, "Put the discovered targets in force.");
            return changes;
        }
        self.pieces.metrics.config_reload_ok.set(1);
        self.pieces
            .metrics
            .config_reload_at
            .set(now_ms() as f64 / 1000.0);
        if !changes.restart_required.is_empty() {
            tracing::warn!(keys = ?changes.restart_required, "Some changed keys take a restart to apply; their running values stay.");
        }
        tracing::info!(changes = ?changes, "Reloaded the configuration.");
        changes
    }

    /// A reload asked for by SIGHUP, written to the audit log like one over the API.
    pub async fn reload_on_signal(&self) {
        tracing::info!("Received SIGHUP: reloading the configuration.");
        let (outcome, detail) = match self.reload().await {
            Ok(r) => (Outcome::Ok, serde_json::json!({ "changes": r.changes })),
            Err(errors) => (
                Outcome::Invalid,
                serde_json::json!({ "errors": errors.iter().map(ToString::to_string).collect::<Vec<_>>() }),
            ),
        };
        let entry = AuditEntry {
            actor: "signal:SIGHUP".into(),
            action: "config.reload".into(),
            target: None,
            outcome,
            status: None,
            request_id: None,
            detail,
        };
        if let Err(e) = self.pieces.store.record_audit(&entry, now_ms()).await {
            self.pieces.metrics.audit_failures.inc();
            tracing::error!(error = %e, "Could not write the audit entry of a reload.");
        }
    }
}

/// Reloads on every SIGHUP until cancelled.
pub async fn on_hangup(reloader: Arc<Reloader>, cancel: tokio_util::sync::CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "Cannot listen for SIGHUP; reload over the API instead.");
                return;
            }
        };
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                got = hangups.recv() => match got {
                    Some(()) => reloader.reload_on_signal().await,
                    None => return,
                },
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = reloader;
        cancel.cancelled().await;
    }
}
