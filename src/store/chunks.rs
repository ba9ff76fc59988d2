//! Closed windows of samples in compressed chunks: the window of each resolution, the one
//! reader over head and chunks, compaction, retention by whole chunk, and the sizes `/metrics`
//! reports.
//!
//! Every resolution has a head table (`samples`, `samples_5m`, `samples_1h`, keyed by series
//! and time) where writes land, and chunks: one row per series and closed window, encoded by
//! [`super::codec`]. Invariants:
//! - a window is compacted only once it ended [`CLOSE_AFTER_MS`] ago, so the head always holds
//!   at least the last three hours of every series: rollups (which re-roll the last two hours
//!   from the heads) and the "latest value" reads never need a chunk;
//! - a head row in a window that already has a chunk is a late revision and wins over the
//!   chunk's row at the same time, in reads and in the next compaction, which merges them;
//! - compaction of a batch of windows is one transaction (chunk written, head rows deleted
//!   together), so a crash at any point loses or duplicates nothing, and running it again is
//!   always safe.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::codec::{self, Row};
use super::samples::Resolution;
use super::{Placeholders, Store, StoreError};

/// A window is closed this long after it ends. Maintenance re-rolls the last two hours of raw
/// samples into rollups, and CloudWatch revises its last fifteen minutes; both must find what
/// they read in the head.
pub const CLOSE_AFTER_MS: i64 = 3 * 3_600_000;

/// Series per statement of a read (one parameter each).
const IDS_PER_STATEMENT: usize = 500;

/// Head rows moved per compaction transaction: small enough that the poller's writes wait
/// well under SQLite's five-second busy timeout, large enough that commits do not dominate.
const ROWS_PER_TRANSACTION: i64 = 50_000;

impl Resolution {
    /// The code stored in `chunks.resolution`.
    fn code(self) -> i64 {
        match self {
            Resolution::Raw => 0,
            Resolution::FiveMinutes => 1,
            Resolution::OneHour => 2,
        }
    }

    /// The width of a chunk's window. Two hours of raw samples is 720 samples at a 10-second
    /// poll and 120 at CloudWatch's minute: enough for the codec to pay off, and a read of the
    /// last hour decodes at most two chunks. A day of rollups is 288 five-minute or 24 hourly
    /// buckets, and keeps their heads to about a day per series.
    pub fn window_ms(self) -> i64 {
        match self {
            Resolution::Raw => 2 * 3_600_000,
            Resolution::FiveMinutes | Resolution::OneHour => 24 * 3_600_000,
        }
    }

    /// The head's columns as a row's `N` values, in the codec's order.
    fn head_values(self) -> &'static str {
        match self {
            Resolution::Raw => "value, num, den",
            _ => "CAST(count AS DOUBLE PRECISION), sum, min, max, num_sum, den_sum",
        }
    }

    /// The same columns as written.
    fn head_columns(self) -> &'static str {
        match self {
            Resolution::Raw => "value, num, den",
            _ => "count, sum, min, max, num_sum, den_sum",
        }
    }
}

/// What one compaction did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    /// Windows written as chunks (a merged late revision counts again).
    pub windows: u64,
    /// Head rows moved into them.
    pub rows: u64,
}

/// How far a compaction is: `windows` of `of` closed windows at `resolution` are done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub resolution: Resolution,
    pub windows: u64,
    pub of: u64,
}

/// The last [`Store::size`] measured, and when.
pub(crate) type SizeCache = std::sync::Mutex<Option<(Instant, StoreSize)>>;

/// The store's size on disk, for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct StoreSize {
    /// Bytes per sample table (its indexes included).
    pub tables: Vec<(String, i64)>,
    /// Raw samples in closed chunks, and the bytes their encodings take.
    pub chunk_samples: i64,
    pub chunk_bytes: i64,
}

/// Tables whose size `/metrics` reports.
const SIZED_TABLES: [&str; 5] = ["samples", "samples_5m", "samples_1h", "chunks", "series"];

/// Runs `$body` with `$pool` bound to the native SQLite pool when there is one (rows cost
/// about half as much there), else the `Any` pool.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match $store.native_sqlite() {
            Some($pool) => $body,
            None => {
                let $pool = $store.pool();
                $body
            }
        }
    };
}

/// A head row as read: its series, time and values.
fn head_row<const N: usize, R: sqlx::Row>(row: &R) -> Result<(i64, Row<N>), sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<f64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut v = [None; N];
    for (c, slot) in v.iter_mut().enumerate() {
        *slot = row.try_get::<Option<f64>, _>(c + 2)?;
    }
    Ok((
        row.try_get(0)?,
        Row {
            ts: row.try_get(1)?,
            v,
        },
    ))
}

/// `a` (a chunk's rows) and `b` (the head's), both in time order, as one series in time
/// order; at the same time the head's row wins.
fn merge<const N: usize>(a: Vec<Row<N>>, b: Vec<Row<N>>) -> Vec<Row<N>> {
    if a.is_empty() {
        return b;
    }
    if b.is_empty() {
        return a;
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.ts < y.ts => out.extend(a.next()),
            (Some(x), Some(y)) if x.ts == y.ts => {
                a.next();
                out.extend(b.next());
            }
            (_, Some(_)) => out.extend(b.next()),
            (Some(_), None) => out.extend(a.next()),
            (None, None) => return out,
        }
    }
}

fn corrupt(e: codec::CodecError) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl Store {
    /// The rows of series `ids` in [from, to) at `res`, oldest first, by series: the one
    /// reader over chunks and head that every series read goes through. `N` is the
    /// resolution's column count (3 raw, 6 rollups).
    pub(crate) async fn read_rows<const N: usize>(
        &self,
        res: Resolution,
        ids: &[i64],
        from: i64,
        to: i64,
    ) -> Result<HashMap<i64, Vec<Row<N>>>, StoreError> {
        let mut chunked: HashMap<i64, Vec<Row<N>>> = HashMap::new();
        let mut head: HashMap<i64, Vec<Row<N>>> = HashMap::new();
        if ids.is_empty() || from >= to {
            return Ok(chunked);
        }
        for part in ids.chunks(IDS_PER_STATEMENT) {
            let list = Placeholders::after(3).take(part.len());
            // A chunk overlaps [from, to) when it starts after from - window and before to;
            // the primary key (series, resolution, start) finds them without a scan.
            let sql = format!(
                "SELECT series_id, data FROM chunks WHERE resolution = $1 AND start > $2 AND start < $3 \
                 AND series_id IN ({list}) ORDER BY series_id, start"
            );
            let blobs: Vec<(i64, Vec<u8>)> = on_pool!(self, |pool| {
                let mut q = sqlx::query_as(&sql)
                    .bind(res.code())
                    .bind(from.saturating_sub(res.window_ms()))
                    .bind(to);
                for id in part {
                    q = q.bind(*id);
                }
                q.fetch_all(pool).await?
            });
            for (id, data) in blobs {
                let rows = codec::decode::<N>(&data).map_err(corrupt)?;
                chunked
                    .entry(id)
                    .or_default()
                    .extend(rows.into_iter().filter(|r| r.ts >= from && r.ts < to));
            }
            let sql = format!(
                "SELECT series_id, ts, {} FROM {} WHERE ts >= $1 AND ts < $2 AND series_id IN ({}) \
                 ORDER BY series_id, ts",
                res.head_values(),
                res.table(),
                Placeholders::after(2).take(part.len()),
            );
            on_pool!(self, |pool| {
                let mut q = sqlx::query(&sql).bind(from).bind(to);
                for id in part {
                    q = q.bind(*id);
                }
                for row in q.fetch_all(pool).await? {
                    let (id, r) = head_row::<N, _>(&row)?;
                    head.entry(id).or_default().push(r);
                }
            });
        }
        for (id, rows) in head {
            let old = chunked.remove(&id).unwrap_or_default();
            chunked.insert(id, merge(old, rows));
        }
        Ok(chunked)
    }

    /// Compacts every closed window of every resolution (raw first, so a late revision's
    /// rollups reach their own chunks in the same run). Safe to run at any time, and again.
    pub async fn compact_once(&self, now: i64) -> Result<Compacted, StoreError> {
        self.compact_with_progress(now, &|_: Progress| ()).await
    }

    /// [`Self::compact_once`], telling `progress` after each transaction (`cachewarden
    /// compact` prints it: after an upgrade the first compaction can take minutes).
    pub async fn compact_with_progress(
        &self,
        now: i64,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Compacted, StoreError> {
        let mut done = self.compact::<3>(Resolution::Raw, now, progress).await?;
        for res in [Resolution::FiveMinutes, Resolution::OneHour] {
            let c = self.compact::<6>(res, now, progress).await?;
            done.windows += c.windows;
            done.rows += c.rows;
        }
        Ok(done)
    }

    async fn compact<const N: usize>(
        &self,
        res: Resolution,
        now: i64,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Compacted, StoreError> {
        let window = res.window_ms();
        let closed_before = (now - CLOSE_AFTER_MS).div_euclid(window) * window;
        // Each series is found through the head's primary key (series, ts), not a scan.
        let work: Vec<(i64, i64, i64)> = sqlx::query_as(&format!(
            "SELECT series_id, (ts / {window}) * {window} AS start, COUNT(*) FROM {} \
             WHERE series_id IN (SELECT id FROM series) AND ts < $1 \
             GROUP BY series_id, (ts / {window}) * {window} ORDER BY series_id, start",
            res.table()
        ))
        .bind(closed_before)
        .fetch_all(self.pool())
        .await?;
        let mut done = Compacted::default();
        let mut batch = Vec::new();
        let mut rows = 0;
        for (i, (series, start, count)) in work.iter().enumerate() {
            batch.push((*series, *start));
            rows += count;
            if rows >= ROWS_PER_TRANSACTION || i + 1 == work.len() {
                done.rows += self.compact_batch::<N>(res, &batch).await?;
                done.windows += batch.len() as u64;
                batch.clear();
                rows = 0;
                progress(Progress {
                    resolution: res,
                    windows: done.windows,
                    of: work.len() as u64,
                });
            }
        }
        Ok(done)
    }

    /// Encodes the head rows of `windows` (series, start) into chunks and deletes them, in one
    /// transaction; returns the rows moved.
    async fn compact_batch<const N: usize>(
        &self,
        res: Resolution,
        windows: &[(i64, i64)],
    ) -> Result<u64, StoreError> {
        let (table, window) = (res.table(), res.window_ms());
        let mut tx = self.pool().begin().await?;
        let mut moved = 0;
        for &(series, start) in windows {
            let existing: Option<(Vec<u8>,)> = sqlx::query_as(
                "SELECT data FROM chunks WHERE series_id = $1 AND resolution = $2 AND start = $3",
            )
            .bind(series)
            .bind(res.code())
            .bind(start)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((data,)) = existing {
                // A late revision of a compacted window: the chunk's rows go back to the head
                // under the revised ones, and the window is compacted whole again.
                let old = codec::decode::<N>(&data).map_err(corrupt)?;
                reinflate(&mut tx, res, series, &old).await?;
                if res == Resolution::Raw {
                    Self::rollup_in(&mut tx, start, start + window - 1, Some(series)).await?;
                }
            }
            let sql = format!(
                "SELECT series_id, ts, {} FROM {table} WHERE series_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts",
                res.head_values()
            );
            let rows: Vec<Row<N>> = sqlx::query(&sql)
                .bind(series)
                .bind(start)
                .bind(start + window)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| head_row::<N, _>(r).map(|(_, row)| row))
                .collect::<Result<_, _>>()?;
            let Some(last) = rows.last() else { continue };
            let data = codec::encode(&rows).map_err(corrupt)?;
            sqlx::query(
                "INSERT INTO chunks (series_id, resolution, start, count, last_ts, data) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (series_id, resolution, start) DO UPDATE SET count = excluded.count, \
                 last_ts = excluded.last_ts, data = excluded.data",
            )
            .bind(series)
            .bind(res.code())
            .bind(start)
            .bind(rows.len() as i64)
            .bind(last.ts)
            .bind(data)
            .execute(&mut *tx)
            .await?;
            moved += sqlx::query(&format!(
                "DELETE FROM {table} WHERE series_id = $1 AND ts >= $2 AND ts < $3"
            ))
            .bind(series)
            .bind(start)
            .bind(start + window)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// Deletes what is older than each resolution's cut-off: whole chunks that ended before it,
    /// and head rows before it. Returns the rows deleted per resolution (chunks and head rows).
    pub async fn apply_retention(
        &self,
        raw_before: i64,
        five_before: i64,
        hour_before: i64,
    ) -> Result<[u64; 3], StoreError> {
        let mut deleted = [0; 3];
        for (i, (res, before)) in [
            (Resolution::Raw, raw_before),
            (Resolution::FiveMinutes, five_before),
            (Resolution::OneHour, hour_before),
        ]
        .into_iter()
        .enumerate()
        {
            // `series_id IN (SELECT id FROM series)` walks the primary keys series by series:
            // there is no index on time alone.
            deleted[i] = sqlx::query(
                "DELETE FROM chunks WHERE series_id IN (SELECT id FROM series) AND resolution = $1 AND start <= $2",
            )
            .bind(res.code())
            .bind(before - res.window_ms())
            .execute(self.pool())
            .await?
            .rows_affected()
                + sqlx::query(&format!(
                    "DELETE FROM {} WHERE series_id IN (SELECT id FROM series) AND ts < $1",
                    res.table()
                ))
                .bind(before)
                .execute(self.pool())
                .await?
                .rows_affected();
        }
        Ok(deleted)
    }

    /// The sample tables' sizes and the raw chunks' bytes per sample. Measuring walks the
    /// database's pages on SQLite, so a result is reused for five minutes.
    pub async fn size(&self) -> Result<StoreSize, StoreError> {
        const FRESH: Duration = Duration::from_secs(300);
        if let Ok(cache) = self.size_cache.lock()
            && let Some((at, size)) = cache.as_ref()
            && at.elapsed() < FRESH
        {
            return Ok(size.clone());
        }
        let list = Placeholders::after(0).take(SIZED_TABLES.len());
        let sql = match self.backend() {
            super::Backend::Sqlite => format!(
                "SELECT m.tbl_name, CAST(SUM(d.pgsize) AS BIGINT) FROM dbstat d JOIN sqlite_master m ON m.name = d.name \
                 WHERE m.tbl_name IN ({list}) GROUP BY m.tbl_name ORDER BY m.tbl_name"
            ),
            super::Backend::Postgres => format!(
                "SELECT CAST(relname AS TEXT), pg_total_relation_size(oid) FROM pg_class \
                 WHERE relkind = 'r' AND relname IN ({list}) ORDER BY relname"
            ),
        };
        let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
        for t in SIZED_TABLES {
            q = q.bind(t);
        }
        let tables = q.fetch_all(self.pool()).await?;
        let (chunk_samples, chunk_bytes): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT), CAST(COALESCE(SUM(LENGTH(data)), 0) AS BIGINT) \
             FROM chunks WHERE resolution = 0",
        )
        .fetch_one(self.pool())
        .await?;
        let size = StoreSize {
            tables,
            chunk_samples,
            chunk_bytes,
        };
        if let Ok(mut cache) = self.size_cache.lock() {
            *cache = Some((Instant::now(), size.clone()));
        }
        Ok(size)
    }
}

/// Writes a chunk's rows back into the head under any head row at the same time.
async fn reinflate<const N: usize>(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    res: Resolution,
    series: i64,
    rows: &[Row<N>],
) -> Result<(), StoreError> {
    // 2 + N parameters a row stay far below both backends' limits at 200 rows.
    for part in rows.chunks(200) {
        let mut list = Placeholders::after(0);
        let values: Vec<String> = part
            .iter()
            .map(|r| list.take_row([true, true].into_iter().chain(r.v.map(|v| v.is_some()))))
            .collect();
        let sql = format!(
            "INSERT INTO {} (series_id, ts, {}) VALUES {} ON CONFLICT (series_id, ts) DO NOTHING",
            res.table(),
            res.head_columns(),
            values.join(",")
        );
        let mut q = sqlx::query(&sql);
        for r in part {
            q = q.bind(series).bind(r.ts);
            for (c, v) in r.v.iter().enumerate() {
                q = match v {
                    None => q,
                    // A rollup's count is an integer column.
                    Some(v) if res != Resolution::Raw && c == 0 => q.bind(*v as i64),
                    Some(v) => q.bind(*v),
                };
            }
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
