//! Whether the database takes writes, for `/readyz` and for answering 503 (retry later) rather
//! than 500 when a write fails because the disk is full or the database is busy.
//!
//! A storage fault (full disk, I/O error, read-only file) is remembered for [`FAULT_HOLD_MS`]:
//! SQLite reuses the space its WAL already holds, so a small probe write can succeed while the
//! writes the daemon needs still fail. Once space returns, writes succeed, no new fault is
//! seen, and readiness comes back without a restart. The record is per process: a daemon
//! opens one database.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use super::{Store, StoreError, now_ms};

/// How long a storage fault keeps `/readyz` at 503 after it was last seen.
pub const FAULT_HOLD_MS: i64 = 5_000;

/// How long the readiness probe may take: a database that needs longer to take one small
/// write cannot serve requests either.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// When a storage fault was last seen (ms since the epoch; 0: never).
static LAST_FAULT_MS: AtomicI64 = AtomicI64::new(0);

/// Why the database cannot take a request now, if that is why it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// The disk is full.
    DiskFull,
    /// Writes fail for another reason of the disk (I/O error, read-only, cannot open).
    StorageFault,
    /// Locked by another writer for longer than the busy timeout.
    Busy,
    /// No connection could be had in time, or the connection failed.
    NoConnection,
}

impl Unavailable {
    pub fn describe(self) -> &'static str {
        match self {
            Self::DiskFull => "the database's disk is full",
            Self::StorageFault => "the database cannot write to its disk",
            Self::Busy => "the database is busy",
            Self::NoConnection => "the database does not answer",
        }
    }
}

/// Sorts a driver error: `None` when it is not about the database being unavailable (a
/// constraint, a bad query, a malformed row).
pub fn classify(e: &sqlx::Error) -> Option<Unavailable> {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code()?;
            // PostgreSQL's SQLSTATE is always five characters; SQLite's (extended) result
            // codes are numbers below 10000.
            let sqlite = code.len() < 5;
            if let Some(n) = code.parse::<i32>().ok().filter(|_| sqlite) {
                // SQLite: the primary result code is the low byte of the extended one.
                match n & 0xff {
                    13 => Some(Unavailable::DiskFull),
                    8 | 10 | 14 => Some(Unavailable::StorageFault),
                    5 | 6 => Some(Unavailable::Busy),
                    _ => None,
                }
            } else {
                // PostgreSQL SQLSTATE: 53100 disk full, class 53 resources, class 58 system
                // (I/O), 57P0x shutting down or not accepting connections.
                match code.as_ref() {
                    "53100" => Some(Unavailable::DiskFull),
                    c if c.starts_with("53") || c.starts_with("58") => {
                        Some(Unavailable::StorageFault)
                    }
                    c if c.starts_with("57P0") => Some(Unavailable::NoConnection),
                    "55P03" | "40001" | "40P01" => Some(Unavailable::Busy),
                    _ => None,
                }
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            Some(Unavailable::NoConnection)
        }
        _ => None,
    }
}

/// Remembers a storage fault (called for every driver error the store returns).
pub(super) fn note(e: &sqlx::Error) {
    if matches!(
        classify(e),
        Some(Unavailable::DiskFull | Unavailable::StorageFault)
    ) {
        LAST_FAULT_MS.store(now_ms(), Ordering::Relaxed);
    }
}

impl StoreError {
    /// Why the database could not take this now, when that is the cause: the caller should
    /// retry later, and nothing about its request was wrong.
    pub fn unavailable(&self) -> Option<Unavailable> {
        match self {
            StoreError::Database(e) => classify(e),
            _ => None,
        }
    }
}

impl Store {
    /// Takes one small write (an upsert of the `readiness` row) within [`PROBE_TIMEOUT`], and
    /// fails while a storage fault is recent: whether this database takes writes now. The
    /// error says why, in words for `/readyz`.
    pub async fn probe_write(&self) -> Result<(), (Unavailable, String)> {
        let now = now_ms();
        let write = sqlx::query(
            "INSERT INTO readiness (id, at) VALUES ('probe', $1) \
             ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        )
        .bind(now)
        .execute(self.pool());
        let failed = |u: Unavailable| Err((u, u.describe().to_owned()));
        match tokio::time::timeout(PROBE_TIMEOUT, write).await {
            Err(_) => return failed(Unavailable::Busy),
            Ok(Err(e)) => {
                note(&e);
                return match classify(&e) {
                    Some(u) => failed(u),
                    None => Err((Unavailable::StorageFault, format!("a write failed: {e}"))),
                };
            }
            Ok(Ok(_)) => {}
        }
        let since = now_ms() - LAST_FAULT_MS.load(Ordering::Relaxed);
        if since < FAULT_HOLD_MS {
            return Err((
                Unavailable::StorageFault,
                format!("a write failed on the disk {since} ms ago"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use sqlx::error::{DatabaseError, ErrorKind};

    use super::*;

    /// A driver error with just a code, as SQLite and PostgreSQL report them.
    #[derive(Debug)]
    struct Coded(&'static str);

    impl std::fmt::Display for Coded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "code {}", self.0)
        }
    }

    impl std::error::Error for Coded {}

    impl DatabaseError for Coded {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    #[test]
    fn driver_errors_are_sorted_by_what_the_caller_should_do() {
        // (code, what it means for the caller)
        let table = [
            ("13", Some(Unavailable::DiskFull)),
            ("10", Some(Unavailable::StorageFault)),
            ("266", Some(Unavailable::StorageFault)), // SQLITE_IOERR_READ
            ("8", Some(Unavailable::StorageFault)),
            ("5", Some(Unavailable::Busy)),
            ("517", Some(Unavailable::Busy)), // SQLITE_BUSY_SNAPSHOT
            ("2067", None),                   // SQLITE_CONSTRAINT_UNIQUE: the caller's conflict
            ("53100", Some(Unavailable::DiskFull)),
            ("58030", Some(Unavailable::StorageFault)),
            ("57P01", Some(Unavailable::NoConnection)),
            ("23505", None), // unique_violation
            ("42P01", None), // undefined_table: our bug, a 500
        ];
        for (code, want) in table {
            let e = sqlx::Error::Database(Box::new(Coded(code)));
            assert_eq!(classify(&e), want, "{code}");
        }
        assert_eq!(
            classify(&sqlx::Error::PoolTimedOut),
            Some(Unavailable::NoConnection)
        );
        assert_eq!(classify(&sqlx::Error::RowNotFound), None);
    }
}
