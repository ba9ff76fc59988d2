//! Storage (issue 23): bytes per sample at rest, ingest and reads of the chunked layout,
//! against the layout before it in the same run (a database migrated only up to
//! 20261202000014, written and read with that layout's SQL), on SQLite and PostgreSQL, and
//! Prometheus's TSDB on the same samples (exported as OpenMetrics and written with
//! `promtool tsdb create-blocks-from openmetrics`). Prints figures; asserts nothing about time.
//!
//!   cargo bench --bench storage
//!
//! The workload: 50 Redis-like targets polled every second for 30 minutes, 12 series each
//! (a hit ratio kept with its parts, counts per interval, memory and keys, connections,
//! evictions in bursts, a fragmentation ratio): 1,080,000 samples.

#[path = "../tests/it/harness/mod.rs"]
#[allow(unused_imports)]
mod harness;

use std::path::Path;
use std::time::Instant;

use cachewarden::store::{Resolution, Sample, SeriesQuery, Store};
use harness::postgres::Postgres;
use noise::Noise;
use secrecy::SecretString;

#[path = "common/month.rs"]
mod month;
#[path = "common/noise.rs"]
mod noise;

const TARGETS: usize = 50;
const POLLS: i64 = 1_800;
/// Polls per write batch: 20 polls of 50 targets × 12 series = 12,000 samples, the batch
/// size of `cargo bench --bench collector`.
const POLLS_PER_BATCH: usize = 20;
/// The last migration of the layout before chunks.
const BEFORE_CHUNKS: i64 = 20261202000014;
const HOUR: i64 = 3_600_000;

/// One target's state between polls.
struct Target {
    memory: f64,
    keys: f64,
    connections: f64,
    fragmentation: f64,
}

/// The workload, poll by poll (each poll: every target's 12 samples), from `start`.
fn workload(start: i64) -> Vec<Vec<Sample>> {
    let mut noise = Noise(0x2545_f491_4f6c_dd1d);
    let mut targets: Vec<Target> = (0..TARGETS)
        .map(|t| Target {
            memory: 2e8 + t as f64 * 1e7,
            keys: 100_000.0 + t as f64 * 1000.0,
            connections: 20.0,
            fragmentation: 1.08,
        })
        .collect();
    (0..POLLS)
        .map(|i| {
            let mut poll = Vec::with_capacity(TARGETS * 12);
            for (t, st) in targets.iter_mut().enumerate() {
                let name = format!("t{t}");
                let ts = start + i * 1000 + (noise.next() * 5.0) as i64;
                let requests = (100.0 + noise.next() * 40.0).round();
                let hits = (requests * (0.85 + noise.next() * 0.1)).round();
                st.memory += (noise.next() * 4096.0).round();
                if noise.next() < 0.002 {
                    st.memory *= 0.8;
                }
                st.keys += (noise.next() * 6.0).round() - 3.0;
                if noise.next() < 0.05 {
                    st.connections = (st.connections + (noise.next() * 4.0).round() - 2.0).max(1.0);
                }
                if noise.next() < 0.01 {
                    st.fragmentation =
                        ((st.fragmentation + noise.next() * 0.02 - 0.01) * 100.0).round() / 100.0;
                }
                let evictions = if noise.next() < 0.03 {
                    (noise.next() * 200.0).round()
                } else {
                    0.0
                };
                poll.extend([
                    Sample::ratio(&name, "", "hit_ratio", ts, hits, requests),
                    Sample::new(&name, "", "hits", ts, hits),
                    Sample::new(&name, "", "misses", ts, requests - hits),
                    Sample::new(
                        &name,
                        "",
                        "commands",
                        ts,
                        requests + (noise.next() * 30.0).round(),
                    ),
                    Sample::new(&name, "", "memory_used", ts, st.memory),
                    Sample::new(&name, "", "keys", ts, st.keys),
                    Sample::new(&name, "", "connections", ts, st.connections),
                    Sample::new(&name, "", "evictions", ts, evictions),
                    Sample::new(&name, "", "expired", ts, (noise.next() * 3.0).round()),
                    Sample::new(
                        &name,
                        "",
                        "net_input_bytes",
                        ts,
                        (12_000.0 + noise.next() * 8_000.0).round(),
                    ),
                    Sample::new(&name, "", "fragmentation", ts, st.fragmentation),
                    Sample::new(&name, "", "up", ts, 1.0),
                ]);
            }
            poll
        })
        .collect()
}

/// A store on the chunked layout.
async fn store(url: &str) -> Store {
    let store = Store::connect(&SecretString::from(url.to_owned()), 4)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    store
}

/// The layout before chunks, written and read with its own SQL: on SQLite through the native
/// pool with a batch as one JSON parameter, on PostgreSQL as multi-row upserts, as it was.
enum Old {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::AnyPool),
}

impl Old {
    async fn open(url: &str, backend_dir: &str) -> Old {
        let any = harness::old_schema::migrated_until(url, backend_dir, BEFORE_CHUNKS).await;
        if backend_dir == "postgres" {
            return Old::Postgres(any);
        }
        any.close().await;
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        use std::str::FromStr;
        let options = SqliteConnectOptions::from_str(url)
            .unwrap()
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .row_buffer_size(4096);
        Old::Sqlite(sqlx::SqlitePool::connect_with(options).await.unwrap())
    }

    async fn upsert(&self, samples: &[Sample]) {
        const CONFLICT: &str = "ON CONFLICT (target, node, series, ts) DO UPDATE SET value = excluded.value, num = excluded.num, den = excluded.den";
        match self {
            Old::Sqlite(pool) => {
                let rows: Vec<_> = samples
                    .iter()
                    .map(|s| (&s.target, &s.node, &s.series, s.ts, s.value, s.num, s.den))
                    .collect();
                sqlx::query(&format!(
                    "INSERT INTO samples (target, node, series, ts, value, num, den) \
                     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6 \
                     FROM json_each($1) WHERE true {CONFLICT}"
                ))
                .bind(serde_json::to_string(&rows).unwrap())
                .execute(pool)
                .await
                .unwrap();
            }
            Old::Postgres(pool) => {
                let mut tx = pool.begin().await.unwrap();
                for part in samples.chunks(500) {
                    let mut n = 0;
                    let rows: Vec<String> = part
                        .iter()
                        .map(|s| {
                            let mut cells = Vec::new();
                            for present in [
                                true,
                                true,
                                true,
                                true,
                                true,
                                s.num.is_some(),
                                s.den.is_some(),
                            ] {
                                cells.push(if present {
                                    n += 1;
                                    format!("${n}")
                                } else {
                                    "NULL".to_owned()
                                });
                            }
                            format!("({})", cells.join(","))
                        })
                        .collect();
                    let sql = format!(
                        "INSERT INTO samples (target, node, series, ts, value, num, den) VALUES {} {CONFLICT}",
                        rows.join(",")
                    );
                    let mut q = sqlx::query(&sql);
                    for s in part {
                        q = q
                            .bind(&s.target)
                            .bind(&s.node)
                            .bind(&s.series)
                            .bind(s.ts)
                            .bind(s.value);
                        for v in [s.num, s.den].into_iter().flatten() {
                            q = q.bind(v);
                        }
                    }
                    q.execute(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
        }
    }

    async fn rollup(&self, from: i64, to: i64) {
        let sql = [
            "INSERT INTO samples_5m (target, node, series, ts, count, sum, min, max, num_sum, den_sum) \
             SELECT target, node, series, (ts / 300000) * 300000, COUNT(*), SUM(value), MIN(value), MAX(value), SUM(num), SUM(den) \
             FROM samples WHERE ts >= $1 AND ts < $2 GROUP BY target, node, series, (ts / 300000) * 300000",
            "INSERT INTO samples_1h (target, node, series, ts, count, sum, min, max, num_sum, den_sum) \
             SELECT target, node, series, (ts / 3600000) * 3600000, SUM(count), SUM(sum), MIN(min), MAX(max), SUM(num_sum), SUM(den_sum) \
             FROM samples_5m WHERE ts >= $1 AND ts < $2 GROUP BY target, node, series, (ts / 3600000) * 3600000",
        ];
        for s in sql {
            match self {
                Old::Sqlite(p) => {
                    sqlx::query(s).bind(from).bind(to).execute(p).await.unwrap();
                }
                Old::Postgres(p) => {
                    sqlx::query(s).bind(from).bind(to).execute(p).await.unwrap();
                }
            }
        }
    }

    /// The 5-minute read of one series, as the old `read_series` made it.
    async fn read_5m(&self, target: &str, series: &str, from: i64, to: i64) -> usize {
        let sql = "SELECT ts, CASE WHEN den_sum > 0 THEN num_sum / den_sum ELSE sum / count END AS value \
                   FROM samples_5m WHERE target = $1 AND node = $2 AND series = $3 AND ts >= $4 AND ts < $5 ORDER BY ts";
        macro_rules! read {
            ($p:expr) => {
                sqlx::query_as::<_, (i64, f64)>(sql)
                    .bind(target)
                    .bind("")
                    .bind(series)
                    .bind(from)
                    .bind(to)
                    .fetch_all($p)
                    .await
                    .unwrap()
                    .len()
            };
        }
        match self {
            Old::Sqlite(p) => read!(p),
            Old::Postgres(p) => read!(p),
        }
    }

    async fn close(&self) {
        match self {
            Old::Sqlite(p) => p.close().await,
            Old::Postgres(p) => p.close().await,
        }
    }
}

/// Bytes the sample tables of a database take at rest. SQLite: the file after a checkpoint
/// and VACUUM (the head's freed pages are reused by the next writes, so they are not data
/// at rest). PostgreSQL: `pg_total_relation_size` of each sample table after VACUUM FULL.
async fn at_rest(url: &str, tables: &[&str]) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    if let Some(file) = url.strip_prefix("sqlite://") {
        let file = file.split('?').next().unwrap();
        sqlx::query("VACUUM").execute(&pool).await.unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        return std::fs::metadata(file).unwrap().len() as i64;
    }
    let mut total = 0;
    for t in tables {
        sqlx::query(&format!("VACUUM FULL {t}"))
            .execute(&pool)
            .await
            .unwrap();
        total += sqlx::query_scalar::<_, i64>("SELECT pg_total_relation_size(CAST($1 AS TEXT))")
            .bind(*t)
            .fetch_one(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    total
}

/// Ingest rate of `write` over the workload in batches, in samples per second.
async fn ingest<F, Fut>(polls: &[Vec<Sample>], write: F) -> f64
where
    F: Fn(Vec<Sample>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let t = Instant::now();
    let mut n = 0;
    for batch in polls.chunks(POLLS_PER_BATCH) {
        let samples: Vec<Sample> = batch.iter().flatten().cloned().collect();
        n += samples.len();
        write(samples).await;
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// Prometheus's bytes on the same samples: OpenMetrics written to a file, turned into blocks
/// by promtool, every file of the blocks counted.
fn prometheus_bytes(polls: &[Vec<Sample>], dir: &Path) -> i64 {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    /// Each family's series by target, each in time order.
    type Families<'a> = BTreeMap<&'a str, BTreeMap<&'a str, Vec<(i64, f64)>>>;
    // OpenMetrics wants each family's samples together.
    let mut families = Families::new();
    for s in polls.iter().flatten() {
        families
            .entry(&s.series)
            .or_default()
            .entry(&s.target)
            .or_default()
            .push((s.ts, s.value));
    }
    let mut text = String::new();
    for (family, series) in &families {
        writeln!(text, "# TYPE cachewarden_{family} gauge").unwrap();
        for (target, points) in series {
            for (ts, v) in points {
                writeln!(
                    text,
                    "cachewarden_{family}{{target=\"{target}\"}} {v} {}.{:03}",
                    ts / 1000,
                    ts % 1000
                )
                .unwrap();
            }
        }
    }
    text.push_str("# EOF\n");
    let input = dir.join("samples.om");
    std::fs::write(&input, text).unwrap();
    let blocks = dir.join("blocks");
    let out = std::process::Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(&blocks)
        .output()
        .expect("promtool (tests/setup.sh installs it)");
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    fn size(p: &Path) -> i64 {
        std::fs::read_dir(p)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    size(&e.path())
                } else {
                    e.metadata().unwrap().len() as i64
                }
            })
            .sum()
    }
    size(&blocks)
}

/// Median of 50 timed runs of `f`, in ms.
async fn median_ms<F, Fut>(f: F) -> f64
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        std::hint::black_box(f().await);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

/// Thirty days of one-minute hit ratios of 20 targets, rolled up (and compacted on the
/// chunked layout): the median 30-day 5-minute read of one of them on each layout.
async fn reads(new_url: &str, old_url: &str, backend_dir: &str) -> (f64, f64) {
    let now = cachewarden::store::now_ms();
    let start = (now - 31 * 24 * HOUR) / (24 * HOUR) * (24 * HOUR);
    let minutes = month::MINUTES;
    let store = store(new_url).await;
    let old = Old::open(old_url, backend_dir).await;
    for t in 0..20 {
        let rows = month::hit_rates(&format!("t{t}"), start);
        for part in rows.chunks(12_000) {
            store.upsert_samples(part).await.unwrap();
            old.upsert(part).await;
        }
    }
    let end = start + minutes * 60_000;
    store.rollup(start, end).await.unwrap();
    old.rollup(start, end).await;
    store.compact_once(now).await.unwrap();
    let q = SeriesQuery {
        target: "t7".into(),
        node: String::new(),
        series: "hit_rate".into(),
        from: start,
        to: end,
        resolution: Resolution::FiveMinutes,
        detail: false,
    };
    assert_eq!(store.read_series(&q).await.unwrap().len(), 8_640);
    assert_eq!(old.read_5m("t7", "hit_rate", start, end).await, 8_640);
    let new_ms = median_ms(|| async { store.read_series(&q).await.unwrap().len() }).await;
    let old_ms = median_ms(|| old.read_5m("t7", "hit_rate", start, end)).await;
    store.close().await;
    old.close().await;
    (new_ms, old_ms)
}

struct Figures {
    samples: usize,
    new_bytes: i64,
    old_bytes: i64,
    new_ingest: f64,
    old_ingest: f64,
    compaction_s: f64,
    new_read_ms: f64,
    old_read_ms: f64,
}

/// Every figure of one backend: `urls` are four empty databases (chunked and old layout for
/// the workload, the same for the 30-day reads).
async fn backend(polls: &[Vec<Sample>], urls: [String; 4], backend_dir: &str) -> Figures {
    let samples = polls.iter().map(Vec::len).sum();
    let new = store(&urls[0]).await;
    let old = Old::open(&urls[1], backend_dir).await;
    let new_ingest = ingest(polls, |b| {
        let new = new.clone();
        async move { new.upsert_samples(&b).await.unwrap() }
    })
    .await;
    let old_ingest = ingest(polls, |b| {
        let old = &old;
        async move { old.upsert(&b).await }
    })
    .await;
    let (first, last) = (polls[0][0].ts, polls[polls.len() - 1][0].ts);
    new.rollup(first, last + 1).await.unwrap();
    old.rollup(first, last + 1).await;
    let t = Instant::now();
    let done = new
        .compact_once(cachewarden::store::now_ms())
        .await
        .unwrap();
    let compaction_s = t.elapsed().as_secs_f64();
    assert!(
        done.rows as usize > samples,
        "every sample compacted, and the rollups: {done:?}"
    );
    new.close().await;
    old.close().await;
    let new_bytes = at_rest(
        &urls[0],
        &["samples", "samples_5m", "samples_1h", "chunks", "series"],
    )
    .await;
    let old_bytes = at_rest(&urls[1], &["samples", "samples_5m", "samples_1h"]).await;
    let (new_read_ms, old_read_ms) = reads(&urls[2], &urls[3], backend_dir).await;
    Figures {
        samples,
        new_bytes,
        old_bytes,
        new_ingest,
        old_ingest,
        compaction_s,
        new_read_ms,
        old_read_ms,
    }
}

fn report(name: &str, f: &Figures, prometheus: f64) {
    let per = |b: i64| b as f64 / f.samples as f64;
    println!("{name}:");
    println!(
        "  bytes per sample at rest: chunked {:.2}, before {:.1} ({:.1}x fewer); Prometheus {prometheus:.2}; chunked/Prometheus = {:.2}",
        per(f.new_bytes),
        per(f.old_bytes),
        per(f.old_bytes) / per(f.new_bytes),
        per(f.new_bytes) / prometheus
    );
    println!(
        "  ingest: chunked {:.0} samples/s, before {:.0}/s; chunked/before = {:.2}",
        f.new_ingest,
        f.old_ingest,
        f.new_ingest / f.old_ingest
    );
    println!(
        "  compaction of {} samples (and their rollups): {:.2} s ({:.0} samples/s)",
        f.samples,
        f.compaction_s,
        f.samples as f64 / f.compaction_s
    );
    println!(
        "  30-day series at 5 min (8,640 points), median of 50: chunked {:.2} ms, before {:.2} ms; chunked/before = {:.2}",
        f.new_read_ms,
        f.old_read_ms,
        f.new_read_ms / f.old_read_ms
    );
}

#[tokio::main]
async fn main() {
    // Two days ago, on a two-hour boundary: every window is closed, and Prometheus cuts its
    // blocks at the same boundaries.
    let now = cachewarden::store::now_ms();
    let start = (now - 48 * HOUR) / (2 * HOUR) * (2 * HOUR);
    let polls = workload(start);
    let samples: usize = polls.iter().map(Vec::len).sum();
    println!(
        "workload: {TARGETS} targets x 12 series x {POLLS} one-second polls = {samples} samples"
    );

    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let prom = prometheus_bytes(&polls, dir.path());
    let prometheus = prom as f64 / samples as f64;
    println!(
        "Prometheus (promtool tsdb create-blocks-from openmetrics): {prom} bytes, {prometheus:.2} bytes/sample ({:.1} s)",
        t.elapsed().as_secs_f64()
    );

    let urls = ["new", "old", "new30", "old30"].map(|n| {
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join(format!("{n}.db")).display()
        )
    });
    let sqlite = backend(&polls, urls, "sqlite").await;
    report("SQLite", &sqlite, prometheus);

    let pg = Postgres::start();
    let urls = [(); 4].map(|_| pg.fresh_database_url());
    let postgres = backend(&polls, urls, "postgres").await;
    report("PostgreSQL", &postgres, prometheus);
}
