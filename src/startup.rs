//! Building and running the application. Tests use the same seam as `main`: build from
//! settings, read the bound port, run until a shutdown future resolves.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::cloudfront::CloudFrontApi;
use crate::collector::{CacheGauges, Collector};
use crate::config::Settings;
use crate::http::{self, AppState};
use crate::live::Live;
use crate::metrics::Metrics;
use crate::scheduler;
use crate::store::{self, Store};

/// What tests may replace. Production passes the default: AWS from `[aws]`.
#[derive(Default)]
pub struct Overrides {
    /// The AWS SDK configuration (endpoint, credentials).
    pub aws: Option<aws_config::SdkConfig>,
    /// CloudFront itself, for behaviour the emulator cannot produce.
    pub cloudfront: Option<Arc<dyn CloudFrontApi>>,
}

/// A built application: database migrated, port bound, not yet serving.
pub struct Application {
    address: SocketAddr,
    server: actix_web::dev::Server,
    store: Store,
    /// The configuration in force and what it built.
    live: Arc<Live>,
    reloader: Arc<crate::reload::Reloader>,
    jobs: Arc<crate::jobs::Runtime>,
    /// Measures what changes cost (the leader measures recent ones on a schedule).
    impact: Arc<crate::impact::ImpactService>,
    leadership: crate::leader::Leadership,
    elector: Option<crate::leader::Elector>,
    notifications: Arc<crate::notify::NotifyWorker>,
    /// Finds targets (`[[discover]]`); the leader runs it.
    discovery: Arc<crate::discovery::DiscoveryService>,
    /// `/setup?code=…` while no user exists (logged at start).
    setup_link: Option<String>,
    /// Whether `run_until_stopped` starts polling and maintenance (tests that drive
    /// `…_once()` themselves turn it off).
    background: bool,
    /// Cancelled at shutdown; background workers stop on it.
    cancel: CancellationToken,
}

impl Application {
    /// Connects to and migrates the database, then binds the listen address.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        use secrecy::ExposeSecret;
        let store = Store::connect(&settings.database.url, settings.database.max_connections)
            .await
            .with_context(|| {
                format!(
                    "cannot open the database {}",
                    store::redact(settings.database.url.expose_secret())
                )
            })?;
        store
            .migrate()
            .await
            .context("cannot migrate the database")?;
        Self::build_with_store(settings, store).await
    }

    /// Binds the listen address and prepares the HTTP server over an open store. The AWS SDK
    /// configuration is loaded from `[aws]` when a target or a notifier needs AWS, and again
    /// by a reload that changes `[aws]`.
    pub async fn build_with_store(settings: Settings, store: Store) -> anyhow::Result<Self> {
        Self::assemble(settings, store, Overrides::default(), true).await
    }

    /// Like [`Self::build_with_store`] with the outside world given: tests point the AWS SDK
    /// at an emulator, or CloudFront at a scripted stand-in. Nothing is loaded from `[aws]`.
    pub async fn build_with(
        settings: Settings,
        store: Store,
        with: Overrides,
    ) -> anyhow::Result<Self> {
        Self::assemble(settings, store, with, false).await
    }

    async fn assemble(
        settings: Settings,
        store: Store,
        with: Overrides,
        load_aws: bool,
    ) -> anyhow::Result<Self> {
        let Overrides { aws, cloudfront } = with;
        install_crypto_provider();
        let reloadable = load_aws && aws.is_none();
        let aws = match aws {
            None if load_aws && settings.needs_aws() => {
                Some(crate::aws::loader(&settings.aws).load().await)
            }
            given => given,
        };
        let listener = TcpListener::bind(settings.server.listen)
            .with_context(|| format!("cannot listen on {}", settings.server.listen))?;
        let address = listener.local_addr()?;
        let shutdown_timeout = settings.server.shutdown_timeout;
        let metrics = Arc::new(Metrics::new());
        let discovery = Arc::new(crate::discovery::DiscoveryService::new(
            store.clone(),
            metrics.registry(),
        ));
        discovery.set_aws(aws.as_ref());
        // The discovered targets known before this start are polled from the first round;
        // discovering again waits for each discovery's next turn.
        let known = if settings.discover.is_empty() {
            Vec::new()
        } else {
            discovery.known().await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "Could not read the discovered targets; they come back with the next discovery.");
                Vec::new()
            })
        };
        let settings = Arc::new(crate::discovery::with_discovered(settings, &known));
        let gauges = Arc::new(CacheGauges::new(metrics.registry().clone()));
        let notifications = Arc::new(
            crate::notify::NotifyWorker::new(
                store.clone(),
                crate::notify::receivers(&settings.notifiers, aws.as_ref()),
            )
            .with_metrics(metrics.notifications.clone()),
        );
        let pieces = crate::reload::Pieces {
            store: store.clone(),
            metrics: metrics.clone(),
            notified: notifications.waker(),
            cloudfront,
            discovery: discovery.clone(),
        };
        let collector = Arc::new(
            Collector::build(&settings, store.clone(), gauges, aws.as_ref())
                .with_alarms(pieces.evaluator(&settings)),
        );
        metrics.watch_cloudwatch(collector.cloudwatch_calls.clone());
        let month = crate::cloudfront::cost::month_of(store::now_ms());
        if let Ok(billed) = store.billed_paths(&month).await {
            let cost = crate::cloudfront::cost::monthly(month, billed, &settings.invalidation);
            metrics.cloudfront_billed_paths.set(billed);
            metrics.cloudfront_estimated_usd.set(cost.estimated_usd);
        }
        let jobs = Arc::new(crate::jobs::Runtime::new(
            store.clone(),
            pieces.executors(&settings, aws.as_ref()),
            Arc::new(tokio::sync::Notify::new()),
        ));
        let job_service = Arc::new(crate::jobs::JobService::new(store.clone(), jobs.clone()));
        let consumers = crate::reload::streams(&pieces, &settings, aws.as_ref(), &job_service);
        let live = Arc::new(Live::new(settings.clone(), collector, consumers));
        let reloader = Arc::new(crate::reload::Reloader::new(
            live.clone(),
            pieces,
            jobs.clone(),
            job_service.clone(),
            notifications.clone(),
            crate::reload::Aws {
                sdk: aws,
                reloadable,
            },
            known,
        ));
        let (leadership, elector) = crate::leader::elect(&store, metrics.leader.clone());
        // With nobody to sign in, the first admin is made through a one-time link. An
        // unreadable store is no reason not to start: the link is then simply not offered.
        let (setup, setup_link) = match store.count_users().await {
            Ok(0) => {
                let (setup, code) = crate::auth::setup::SetupCode::issue();
                (setup, Some(format!("/setup?code={code}")))
            }
            _ => Default::default(),
        };
        let impact = Arc::new(crate::impact::ImpactService::new(
            store.clone(),
            live.clone(),
            metrics.clone(),
        ));
        let state = web::Data::new(AppState {
            access: Arc::new(crate::auth::AccessService::new(
                store.clone(),
                live.clone(),
                Arc::new(setup),
            )),
            audit: Arc::new(crate::audit::AuditLog::new(store.clone())),
            live: live.clone(),
            database: store.backend(),
            metrics: metrics.clone(),
            jobs: job_service,
            impact: impact.clone(),
            respond: Arc::new(crate::alarms::respond::RespondService::new(
                store.clone(),
                live.clone(),
            )),
            operations: Arc::new(crate::status::OperationsService::new(
                store.clone(),
                live.clone(),
                leadership.clone(),
            )),
            targets: Arc::new(crate::status::TargetService::new(
                store.clone(),
                live.clone(),
            )),
            leader: leadership.clone(),
            reloader: reloader.clone(),
            discovery: discovery.clone(),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                // Inside `observe`, so that rewritten error bodies carry the request id.
                .wrap(
                    actix_web::middleware::ErrorHandlers::new()
                        .default_handler(http::error::json_errors),
                )
                .wrap(from_fn(http::middleware::observe))
                .wrap(http::middleware::security_headers())
                .configure(http::routes)
        })
        // Signals are ours to handle (see `run_until_stopped`), so shutdown is one code path.
        .disable_signals()
        .shutdown_timeout(shutdown_timeout.as_secs().max(1))
        .listen(listener)?
        .run();
        Ok(Self {
            address,
            server,
            store,
            live,
            reloader,
            jobs,
            impact,
            leadership,
            elector,
            notifications,
            discovery,
            setup_link,
            background: true,
            cancel: CancellationToken::new(),
        })
    }

    /// Serve HTTP only: no scheduled polling or maintenance. Tests use this to drive
    /// `Collector::poll_once` themselves, so no scheduled poll splits their counters.
    pub fn without_background(mut self) -> Self {
        self.background = false;
        self
    }

    /// The job runtime, for calling `run_once` directly.
    pub fn jobs(&self) -> Arc<crate::jobs::Runtime> {
        self.jobs.clone()
    }

    /// What changes cost; drive `measure_recent(now)` in tests.
    pub fn impact(&self) -> Arc<crate::impact::ImpactService> {
        self.impact.clone()
    }

    /// Whether this replica leads.
    pub fn leadership(&self) -> crate::leader::Leadership {
        self.leadership.clone()
    }

    /// The notification worker, for calling `run_once` directly.
    pub fn notifications(&self) -> Arc<crate::notify::NotifyWorker> {
        self.notifications.clone()
    }

    /// The collector in force, for calling `poll_once` directly.
    pub fn collector(&self) -> Arc<Collector> {
        self.live.collector()
    }

    /// The configuration in force and what it built (changes with each reload).
    pub fn live(&self) -> Arc<Live> {
        self.live.clone()
    }

    /// Reloads the configuration (what SIGHUP and the API call).
    pub fn discovery(&self) -> Arc<crate::discovery::DiscoveryService> {
        self.discovery.clone()
    }

    pub fn reloader(&self) -> Arc<crate::reload::Reloader> {
        self.reloader.clone()
    }

    /// Where a reload reads the configuration from (`serve --config FILE`); without it a
    /// reload reads the defaults and the environment again.
    pub fn reading_config_from(self, source: crate::reload::Source) -> Self {
        self.reloader.set_source(source);
        self
    }

    /// The bound address (with the real port when port 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The one-time link that creates the first admin (path and query), while nobody exists.
    pub fn setup_link(&self) -> Option<&str> {
        self.setup_link.as_deref()
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Serves until `shutdown` resolves, then stops accepting connections, lets in-flight
    /// requests finish (up to `server.shutdown_timeout`), stops background work and closes
    /// the database.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let mut server = tokio::spawn(self.server);
        let elector = self
            .elector
            .map(|e| tokio::spawn(e.run(self.cancel.clone())));
        let duties = self.background.then(|| {
            tokio::spawn(lead(
                self.leadership.clone(),
                self.live.clone(),
                self.impact.clone(),
                self.reloader.generations(),
                self.cancel.clone(),
            ))
        });
        let discovering = self.background.then(|| {
            tokio::spawn(discover(
                self.discovery.clone(),
                self.live.clone(),
                self.reloader.clone(),
                self.leadership.clone(),
                self.cancel.clone(),
            ))
        });
        let hangups = tokio::spawn(crate::reload::on_hangup(
            self.reloader.clone(),
            self.cancel.clone(),
        ));
        let worker = self
            .background
            .then(|| tokio::spawn(self.jobs.clone().run(self.cancel.clone())));
        let notifier = self
            .background
            .then(|| tokio::spawn(self.notifications.clone().run(self.cancel.clone())));
        tracing::info!(address = %self.address, targets = self.live.settings().targets.len(), "Listening.");
        if let Some(link) = &self.setup_link {
            // The one secret this daemon logs on purpose: it is single-use, creates only the
            // first admin, and dies with the process. Whoever reads the log runs the host.
            let base = match &self.live.settings().server.public_url {
                Some(u) => u.as_str().trim_end_matches('/').to_owned(),
                None => format!("http://{}", self.address),
            };
            tracing::warn!(
                link = %format!("{base}{link}"),
                "No one can sign in yet: open this one-time link to create the first admin."
            );
        }
        let result = tokio::select! {
            res = &mut server => res,
            () = shutdown => {
                tracing::info!("Shutting down: finishing in-flight requests.");
                handle.stop(true).await;
                server.await
            }
        };
        self.cancel.cancel();
        // The workers stop between steps; what they were doing is in the store either way.
        if let Some(d) = duties {
            let _ = d.await;
        }
        let _ = hangups.await;
        if let Some(d) = discovering {
            let _ = d.await;
        }
        for w in [worker, notifier].into_iter().flatten() {
            let _ = w.await;
        }
        // Last, so the lock is let go only after this replica stopped leading.
        if let Some(e) = elector {
            let _ = e.await;
        }
        self.store.close().await;
        tracing::info!("Stopped.");
        result
            .context("the HTTP server task failed")?
            .context("the HTTP server failed")
    }
}

/// Runs what only the leader runs (polling, alarm evaluation after each poll, rollups and
/// retention) while this replica leads, until cancelled. A reload restarts the scheduler on
/// the new units; only the units built anew are polled at once (the others keep their rhythm
/// and the counters their rates come from).
async fn lead(
    leadership: crate::leader::Leadership,
    live: Arc<Live>,
    impact: Arc<crate::impact::ImpactService>,
    mut reloads: tokio::sync::watch::Receiver<u64>,
    cancel: CancellationToken,
) {
    let mut changes = leadership.watch();
    let mut running: Option<tokio_cron_scheduler::JobScheduler> = None;
    let mut first_round = true;
    let mut reloaded = false;
    let (mut leadership_fixed, mut reloads_closed) = (false, false);
    loop {
        let leading = *changes.borrow_and_update();
        if std::mem::take(&mut reloaded) && running.is_some() {
            tracing::info!("Restarting polling on the reloaded configuration.");
            stop_scheduler(running.take()).await;
            first_round = false;
        }
        match (leading, running.is_some()) {
            (true, false) => {
                let collector = live.collector();
                let now = if first_round {
                    (0..collector.units().len()).collect()
                } else {
                    collector.fresh_units()
                };
                match scheduler::start(
                    collector,
                    live.settings(),
                    now,
                    &live.streams(),
                    impact.clone(),
                )
                .await
                {
                    Ok(s) => {
                        tracing::debug!("Polling started.");
                        running = Some(s);
                    }
                    Err(e) => tracing::error!(error = %e, "Could not start polling on the leader."),
                }
            }
            (false, true) => {
                stop_scheduler(running.take()).await;
                first_round = true;
            }
            _ => {}
        }
        // A closed channel stops being watched (a replica on SQLite always leads, and its
        // leadership channel closes at once); the other one still is.
        tokio::select! {
            () = cancel.cancelled() => break,
            changed = changes.changed(), if !leadership_fixed => leadership_fixed = changed.is_err(),
            changed = reloads.changed(), if !reloads_closed => match changed {
                Ok(()) => reloaded = true,
                Err(_) => reloads_closed = true,
            },
        }
    }
    stop_scheduler(running.take()).await;
}

/// How often the discovery loop looks at what is due, and how many looks apart a replica
/// reads the discovered set from the store (a follower learns of changes this way).
const DISCOVERY_TICK: Duration = Duration::from_secs(5);
const DISCOVERY_SYNC_EVERY: u32 = 6;

/// Runs each discovery on its `every` while this replica leads, and puts the discovered set
/// the store holds in force on every replica when it changed. A reload does not run a
/// discovery: it builds the kept set with the new configuration.
async fn discover(
    service: Arc<crate::discovery::DiscoveryService>,
    live: Arc<Live>,
    reloader: Arc<crate::reload::Reloader>,
    leadership: crate::leader::Leadership,
    cancel: CancellationToken,
) {
    let mut last_run: std::collections::HashMap<String, i64> = Default::default();
    let mut tick = tokio::time::interval(DISCOVERY_TICK);
    let mut looks = 0u32;
    // The discoveries whose targets the store holds, as far as this leader made sure.
    let mut configured: Vec<String> = Vec::new();
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        looks = looks.wrapping_add(1);
        let settings = live.settings();
        let mut ran = false;
        let names: Vec<&str> = settings.discover.iter().map(|d| d.name.as_str()).collect();
        if leadership.is_leader() && names != configured {
            match service.forget_others(&settings).await {
                Ok(_) => configured = names.iter().map(|n| (*n).to_owned()).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "Could not forget the targets of discoveries no longer configured.")
                }
            }
        }
        if leadership.is_leader() {
            for d in &settings.discover {
                // Counted from the last run recorded, so a restart does not run it early.
                let last = match last_run.get(&d.name) {
                    Some(at) => Some(*at),
                    None => service.last_run(&d.name).await.ok().flatten(),
                };
                if let Some(at) = last {
                    last_run.insert(d.name.clone(), at);
                    if store::now_ms() - at < d.every.as_millis() as i64 {
                        continue;
                    }
                }
                if let Err(e) = discover_now(&service, &live, &reloader, &d.name).await {
                    tracing::error!(discovery = %d.name, error = %e, "A discovery could not be recorded; the targets in force stay.");
                }
                last_run.insert(d.name.clone(), store::now_ms());
                ran = true;
            }
        }
        // Nothing to discover and nothing discovered in force: nothing to read.
        let idle = settings.discover.is_empty() && reloader.known().is_empty();
        if !ran
            && !idle
            && looks.is_multiple_of(DISCOVERY_SYNC_EVERY)
            && let Err(e) = put_discovered_in_force(&service, &reloader).await
        {
            tracing::warn!(error = %e, "Could not read the discovered targets.");
        }
    }
}

/// Runs discovery `name` of the configuration in force once, and puts the set it leaves in
/// force (what the leader does on each discovery's turn; tests call it directly).
pub async fn discover_now(
    service: &crate::discovery::DiscoveryService,
    live: &Live,
    reloader: &crate::reload::Reloader,
    name: &str,
) -> anyhow::Result<crate::discovery::RunReport> {
    let settings = live.settings();
    let d = settings
        .discover
        .iter()
        .find(|d| d.name == name)
        .with_context(|| format!("no discovery {name:?}"))?;
    let collector = live.collector();
    let report = service
        .run_once(&settings, d, collector.alarms().map(|a| &**a))
        .await?;
    put_discovered_in_force(service, reloader).await?;
    Ok(report)
}

/// Puts the discovered set the store holds in force, when it differs from the one in force.
async fn put_discovered_in_force(
    service: &crate::discovery::DiscoveryService,
    reloader: &crate::reload::Reloader,
) -> Result<(), crate::store::StoreError> {
    let known = service.known().await?;
    if !crate::discovery::same_set(&known, &reloader.known()) {
        reloader.apply_discovered(known).await;
    }
    Ok(())
}

async fn stop_scheduler(scheduler: Option<tokio_cron_scheduler::JobScheduler>) {
    if let Some(mut s) = scheduler
        && let Err(e) = s.shutdown().await
    {
        tracing::warn!(error = %e, "The scheduler did not stop cleanly.");
    }
}

/// Chooses aws-lc-rs as the process-wide rustls provider. Several dependencies bring rustls
/// with both ring and aws-lc-rs enabled, and rustls then refuses to pick one for clients that
/// do not name it (the Redis TLS client). Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "Cannot listen for SIGINT.");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "Cannot listen for SIGTERM.");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Received SIGINT."),
        () = term => tracing::info!("Received SIGTERM."),
    }
}
