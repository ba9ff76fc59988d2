//! Building and running the application. Tests use the same seam as `main`: build from
//! settings, read the bound port, run until a shutdown future resolves.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::store::{self, Store};

/// A built application: database migrated, port bound, not yet serving.
pub struct Application {
    address: SocketAddr,
    server: actix_web::dev::Server,
    store: Store,
    /// Cancelled at shutdown; background workers stop on it.
    background: CancellationToken,
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
        Self::build_with_store(settings, store)
    }

    /// Binds the listen address and prepares the HTTP server over an open store.
    pub fn build_with_store(settings: Settings, store: Store) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.server.listen)
            .with_context(|| format!("cannot listen on {}", settings.server.listen))?;
        let address = listener.local_addr()?;
        let shutdown_timeout = settings.server.shutdown_timeout;
        let state = web::Data::new(AppState {
            settings: Arc::new(settings),
            store: store.clone(),
            metrics: Arc::new(Metrics::new()),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(from_fn(http::middleware::observe))
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
            background: CancellationToken::new(),
        })
    }

    /// The bound address (with the real port when port 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
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
        tracing::info!(address = %self.address, "Listening.");
        let result = tokio::select! {
            res = &mut server => res,
            () = shutdown => {
                tracing::info!("Shutting down: finishing in-flight requests.");
                handle.stop(true).await;
                server.await
            }
        };
        self.background.cancel();
        self.store.close().await;
        tracing::info!("Stopped.");
        result
            .context("the HTTP server task failed")?
            .context("the HTTP server failed")
    }
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
