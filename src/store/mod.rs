//! Persistent state, on SQLite (the embedded default) or PostgreSQL (production and HA).
//!
//! Both backends go through sqlx's `Any` driver so that one query text serves both; the schema
//! is kept to types both understand (BIGINT/INTEGER, TEXT, DOUBLE/REAL) and times are integer
//! milliseconds since the Unix epoch. Each backend has its own migration set under
//! `migrations/`, because DDL (identity columns, types) is where the dialects differ.

mod alarms;
mod annotations;
mod audit;
mod chunks;
mod cloudfront;
pub mod codec;
mod columns;
mod discovery;
pub mod health;
mod impacts;
mod jobs;
mod outbox;
mod samples;
mod series;
mod series_ids;
mod sessions;
mod silences;
mod streams;
mod target_status;
mod tokens;
mod users;

pub use alarms::{AlarmStateRecord, Evaluated, Transition};
pub use annotations::{AlarmMark, Annotation, JobMark};
pub use audit::{AuditEntry, AuditQuery, AuditRecord, Outcome};
pub use chunks::{Compacted, Progress, StoreSize};
pub use cloudfront::{Batch, BatchInfo, BatchPlan, BatchState};
pub use discovery::{DiscoveryRun, KnownTarget, NewDiscoveryRun};
pub use impacts::{CostedChange, ImpactFilter, ImpactRow, MAX_REPORTED, NewImpact};
pub use jobs::{CancelRecorded, JobFilter, JobRecord, NewJob};
pub use outbox::{NewNotification, Notification};
pub use samples::{Point, Resolution, Sample, SeriesQuery};
pub use sessions::{NewSession, SessionRecord};
pub use silences::{NewSilence, Silence};
pub use streams::Checkpoint;
pub use target_status::TargetStatus;
pub use tokens::{NewToken, TokenRecord};
pub use users::{NewUser, UserRecord};

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

/// Which database engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What can go wrong with the store. `Conflict` and `NotFound` are the caller's concern; the
/// rest are ours (the database is unreachable or misbehaving).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    #[error("the database URL is not supported: {0}")]
    BadUrl(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        // Every driver error passes here: the one place that sees a full disk whatever wrote.
        health::note(&e);
        Self::Database(e)
    }
}

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// A native SQLite pool for the hot paths (sample writes and series reads): the `Any`
    /// driver converts every argument and row, which costs about half the throughput there.
    sqlite: Option<sqlx::SqlitePool>,
    /// The series dictionary's ids seen so far (see `series_ids`).
    ids: std::sync::Arc<series_ids::SeriesIds>,
    size_cache: std::sync::Arc<chunks::SizeCache>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects to `url` (`sqlite://FILE`, created if missing, or `postgres://…`).
    #[tracing::instrument(name = "store.connect", skip_all, fields(database = %redact(url.expose_secret())))]
    pub async fn connect(url: &SecretString, max_connections: u32) -> Result<Self, StoreError> {
        install_default_drivers();
        let url = url.expose_secret();
        let (backend, url) = if url.starts_with("sqlite:") {
            // Create the file on first start: the embedded default needs no set-up step.
            let url = if url.contains("mode=") {
                url.to_owned()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(StoreError::BadUrl(redact(url)));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers (dashboard, API) run while the poller writes;
                        // busy_timeout turns writer contention into waiting, not errors.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let sqlite = match backend {
            Backend::Sqlite => Some(native_sqlite(&url, max_connections).await?),
            Backend::Postgres => None,
        };
        Ok(Self {
            pool,
            backend,
            sqlite,
            ids: Default::default(),
            size_cache: Default::default(),
        })
    }

    /// Applies the migrations this binary carries that the database does not have yet.
    #[tracing::instrument(name = "store.migrate", skip_all, fields(backend = ?self.backend))]
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (at shutdown, so SQLite checkpoints its WAL).
    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(p) = &self.sqlite {
            p.close().await;
        }
    }

    pub(crate) fn native_sqlite(&self) -> Option<&sqlx::SqlitePool> {
        self.sqlite.as_ref()
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// The native SQLite pool, with the same settings as the `Any` one.
async fn native_sqlite(url: &str, max_connections: u32) -> Result<sqlx::SqlitePool, StoreError> {
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };
    use std::str::FromStr;
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        // Rows cross from the driver's SQLite thread through a bounded channel; the default
        // 50 makes a 30-day series read hand over 170 times (see BENCHMARKS.md).
        .row_buffer_size(4096);
    Ok(SqlitePoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?)
}

/// The URL with any password replaced, safe for logs and error messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("********"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparseable URL)".to_owned(),
    }
}

/// The one row a write with `RETURNING` gives, read with `fetch_all`.
///
/// On SQLite a statement outside a transaction commits when it runs to its end. `fetch_one`
/// and `fetch_optional` stop at the first row and leave the rest (the commit) to a reset whose
/// error sqlx drops, so a commit that fails (a full disk) returned a row that was never stored:
/// a silence answered 201 and a job 202, then lost. Reading every row runs the statement to its
/// end and makes that failure an error. Inside a transaction the commit reports it instead.
/// A record read from its row (each record derives `sqlx::FromRow`; see `columns`).
pub(crate) fn record<T>(row: &sqlx::any::AnyRow) -> Result<T, StoreError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
{
    Ok(T::from_row(row)?)
}

/// Numbered placeholders for lists bound as parameters (`IN ($4,$5,$6)`), never spliced into
/// the SQL as text. Each `take` continues where the previous one ended.
pub(crate) struct Placeholders {
    next: usize,
}

impl Placeholders {
    /// Lists that come after parameters `$1..=$last`.
    pub(crate) fn after(last: usize) -> Self {
        Self { next: last + 1 }
    }

    /// `n` more placeholders, comma-separated.
    pub(crate) fn take(&mut self, n: usize) -> String {
        let list: Vec<String> = (self.next..self.next + n)
            .map(|i| format!("${i}"))
            .collect();
        self.next += n;
        list.join(",")
    }

    /// One parenthesised row of a multi-row `VALUES`, with `NULL` written in place of each
    /// absent value rather than bound. sqlx's `Any` driver binds an absent f64 as a float4
    /// NULL on PostgreSQL; the statement cached with that type then refuses a present f64 at
    /// the same position in the next batch ("incorrect binary data format").
    pub(crate) fn take_row(&mut self, present: impl IntoIterator<Item = bool>) -> String {
        let cells: Vec<String> = present
            .into_iter()
            .map(|p| if p { self.take(1) } else { "NULL".into() })
            .collect();
        format!("({})", cells.join(","))
    }
}

pub(crate) fn only_row<T>(rows: Vec<T>) -> Option<T> {
    rows.into_iter().next()
}

/// [`only_row`] for a write that always returns its row (an INSERT).
pub(crate) fn inserted_row<T>(rows: Vec<T>) -> Result<T, sqlx::Error> {
    only_row(rows).ok_or(sqlx::Error::RowNotFound)
}

/// Milliseconds since the Unix epoch, the stored form of every time.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Target limits as stored: names joined by commas, empty for every target.
fn targets_to_db(targets: &[crate::domain::TargetName]) -> String {
    targets
        .iter()
        .map(crate::domain::TargetName::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`] with `message`.
fn conflict_on_unique(e: sqlx::Error, message: impl FnOnce() -> String) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(message()),
        _ => StoreError::Database(e),
    }
}

#[cfg(test)]
mod tests {
    /// Every store module, for the rule below.
    const SOURCES: [(&str, &str); 15] = [
        ("annotations.rs", include_str!("annotations.rs")),
        ("sessions.rs", include_str!("sessions.rs")),
        ("health.rs", include_str!("health.rs")),
        ("alarms.rs", include_str!("alarms.rs")),
        ("audit.rs", include_str!("audit.rs")),
        ("cloudfront.rs", include_str!("cloudfront.rs")),
        ("jobs.rs", include_str!("jobs.rs")),
        ("outbox.rs", include_str!("outbox.rs")),
        ("samples.rs", include_str!("samples.rs")),
        ("silences.rs", include_str!("silences.rs")),
        ("target_status.rs", include_str!("target_status.rs")),
        ("tokens.rs", include_str!("tokens.rs")),
        ("streams.rs", include_str!("streams.rs")),
        ("users.rs", include_str!("users.rs")),
        ("mod.rs", include_str!("mod.rs")),
    ];

    /// A write with RETURNING outside a transaction reads all its rows (see `only_row`): a
    /// `fetch_one` or `fetch_optional` on the pool would hide a failed commit on SQLite.
    #[test]
    fn writes_returning_rows_run_to_their_end() {
        let mut offenders = Vec::new();
        for (file, text) in SOURCES {
            for (i, after) in text.split("RETURNING").enumerate().skip(1) {
                let call = after.split(".await").next().unwrap_or_default();
                if call.contains(".fetch_one(self.pool())")
                    || call.contains(".fetch_optional(self.pool())")
                {
                    offenders.push(format!("{file}: RETURNING #{i}"));
                }
            }
        }
        assert!(offenders.is_empty(), "{offenders:?}");
    }
}
