//! Which replica does what must run once: polling, alarm evaluation, rollups and retention.
//! On PostgreSQL the leader holds a session advisory lock on a connection of its own; when
//! its process dies the server drops the session and the lock with it, and another replica
//! takes it at its next try (every [`TRY_EVERY`]). On SQLite the one process is the leader.

use std::time::Duration;

use sqlx::{Connection, Executor};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::store::{Backend, Store};

/// How often a follower tries to take the lead, and the leader checks it still holds it.
pub const TRY_EVERY: Duration = Duration::from_secs(2);
/// The advisory lock's key ("cachewar" in ASCII): one per database.
const LOCK_KEY: i64 = 0x6361_6368_6577_6172;

/// Whether this replica leads now, and changes to it.
#[derive(Clone, Debug)]
pub struct Leadership(watch::Receiver<bool>);

impl Leadership {
    pub fn is_leader(&self) -> bool {
        *self.0.borrow()
    }

    /// A receiver that sees each change.
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.0.clone()
    }
}

/// Takes and keeps the lead where there can be several replicas.
pub struct Elector {
    store: Store,
    tx: watch::Sender<bool>,
    gauge: prometheus::IntGauge,
}

/// The leadership of a store's replicas: settled at once on SQLite, an elector to run on
/// PostgreSQL.
pub fn elect(store: &Store, gauge: prometheus::IntGauge) -> (Leadership, Option<Elector>) {
    let single = store.backend() == Backend::Sqlite;
    let (tx, rx) = watch::channel(single);
    gauge.set(i64::from(single));
    let elector = (!single).then(|| Elector {
        store: store.clone(),
        tx,
        gauge,
    });
    (Leadership(rx), elector)
}

impl Elector {
    fn set(&self, leading: bool) {
        self.gauge.set(i64::from(leading));
        self.tx.send_replace(leading);
    }

    /// Tries to lead until cancelled; lets go of the lock on the way out.
    pub async fn run(self, cancel: CancellationToken) {
        let mut held: Option<sqlx::AnyConnection> = None;
        loop {
            held = match held.take() {
                None => match self.try_lock().await {
                    Ok(Some(conn)) => {
                        tracing::info!(
                            "This replica is now the leader: it polls, evaluates alarms and rolls up."
                        );
                        self.set(true);
                        Some(conn)
                    }
                    Ok(None) => None,
                    Err(e) => {
                        tracing::warn!(error = %e, "Could not try for the leadership; trying again.");
                        None
                    }
                },
                Some(mut conn) => {
                    let alive = tokio::time::timeout(TRY_EVERY * 2, conn.execute("SELECT 1")).await;
                    if matches!(alive, Ok(Ok(_))) {
                        Some(conn)
                    } else {
                        tracing::warn!(
                            "Lost the leader's database session: this replica no longer leads."
                        );
                        self.set(false);
                        None
                    }
                }
            };
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(TRY_EVERY) => {}
            }
        }
        if let Some(mut conn) = held {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(LOCK_KEY)
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
        self.set(false);
    }

    /// The lock on a connection of its own, if no other replica holds it.
    async fn try_lock(&self) -> Result<Option<sqlx::AnyConnection>, sqlx::Error> {
        let mut conn = self.store.pool().acquire().await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LOCK_KEY)
            .fetch_one(&mut *conn)
            .await?;
        // Kept out of the pool while it holds the lock; a refused one goes back.
        Ok(got.then(|| conn.detach()))
    }
}
