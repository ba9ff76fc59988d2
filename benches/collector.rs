//! Collector benchmarks (issue 3). Prints figures; asserts nothing about time.
//!
//!   cargo bench --bench collector
//!
//! 1. Poll cycle: 1,000 Redis targets spread over 4 local redis-server processes, polled and
//!    stored (SQLite) in one `poll_all_once`; cycle time against the 10 s budget, the daemon's
//!    CPU time and memory, and a baseline of the bare INFO round trips over the same targets.
//! 2. Writes: samples per second through `upsert_samples` in poll-sized batches, against a
//!    baseline of one INSERT per row in the same run.
//! 3. Reads: a 30-day series at 5-minute resolution (8,640 points) among 20 targets' data.

#[path = "common/month.rs"]
mod month;

#[path = "../tests/it/harness/mod.rs"]
#[allow(unused_imports)]
mod harness;

use std::sync::Arc;
use std::time::Instant;

use cachewarden::collector::{CacheGauges, Collector};
use cachewarden::store::{Resolution, Sample, SeriesQuery, Store};
use harness::redis::RedisServer;
use secrecy::SecretString;

const TARGETS: usize = 1_000;
const SERVERS: usize = 4;

/// (user + system CPU seconds, peak RSS MiB) of this process so far.
fn usage() -> (f64, f64) {
    // SAFETY: getrusage fills the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (
        secs(u.ru_utime) + secs(u.ru_stime),
        u.ru_maxrss as f64 / 1024.0,
    )
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

async fn store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::connect(&SecretString::from(url), 8).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn poll_cycle() {
    let servers: Vec<RedisServer> = (0..SERVERS).map(|_| RedisServer::start()).collect();
    let mut toml = String::new();
    for i in 0..TARGETS {
        toml.push_str(&format!(
            "[[targets]]\nname = \"r{i}\"\nkind = \"redis\"\nurl = \"{}\"\nevery = \"10s\"\n",
            servers[i % SERVERS].url()
        ));
    }
    let settings = cachewarden::config::load_from(Some(&toml), Vec::new()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let registry = prometheus::Registry::new();
    let collector = Collector::build(
        &settings,
        store.clone(),
        Arc::new(CacheGauges::new(registry)),
        None,
    );

    // Baseline: the bare INFO round trips (one connection per target, as the collector keeps).
    let mut conns = Vec::new();
    for i in 0..TARGETS {
        let c = redis::Client::open(servers[i % SERVERS].url()).unwrap();
        conns.push(c.get_multiplexed_async_connection().await.unwrap());
    }
    let t = Instant::now();
    let _: Vec<String> = futures_util::future::join_all(
        conns
            .iter_mut()
            .map(|c| async move { redis::cmd("INFO").query_async::<String>(c).await.unwrap() }),
    )
    .await;
    let baseline = t.elapsed().as_secs_f64();

    collector.poll_all_once().await; // connect and take the first reading
    let (cpu0, _) = usage();
    let mut cycles = Vec::new();
    let mut samples = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let reports = collector.poll_all_once().await;
        cycles.push(t.elapsed().as_secs_f64());
        assert!(reports.iter().all(|r| r.error.is_none()), "a poll failed");
        samples = reports.iter().map(|r| r.samples).sum::<usize>();
    }
    let (cpu1, peak) = usage();
    let worst = cycles.iter().cloned().fold(0.0, f64::max);
    println!(
        "poll cycle: {TARGETS} Redis targets on {SERVERS} redis-server processes, {samples} samples stored per cycle"
    );
    println!(
        "  cycle times (s): {}",
        cycles
            .iter()
            .map(|c| format!("{c:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  worst cycle {worst:.3} s = {:.1} % of the 10 s budget",
        worst / 10.0 * 100.0
    );
    println!(
        "  baseline, bare INFO round trips only: {baseline:.3} s; collector/baseline = {:.1}x",
        worst / baseline
    );
    println!(
        "  daemon CPU over 3 cycles: {:.2} s ({:.2} s per cycle, {:.1} % of one core per 10 s cycle)",
        cpu1 - cpu0,
        (cpu1 - cpu0) / 3.0,
        (cpu1 - cpu0) / 3.0 / 10.0 * 100.0
    );
    println!(
        "  daemon memory: RSS {:.1} MiB now, {peak:.1} MiB peak",
        rss_mib()
    );
}

async fn writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let batch = 12_000; // one poll cycle of 1,000 targets × 12 series
    let rounds = 20;
    let make = |round: i64| -> Vec<Sample> {
        (0..batch)
            .map(|i| {
                Sample::ratio(
                    &format!("t{}", i / 12),
                    "",
                    &format!("s{}", i % 12),
                    1_800_000_000_000 + round * 10_000,
                    3.0,
                    4.0,
                )
            })
            .collect()
    };
    let t = Instant::now();
    for r in 0..rounds {
        store.upsert_samples(&make(r)).await.unwrap();
    }
    let rate = (batch * rounds as usize) as f64 / t.elapsed().as_secs_f64();

    // Baseline: the same rows, one INSERT statement per row, in one transaction per batch.
    let dir2 = tempfile::tempdir().unwrap();
    let naive = store_pool(&dir2).await;
    let t = Instant::now();
    for r in 0..4 {
        let mut tx = naive.begin().await.unwrap();
        for s in make(r) {
            sqlx::query(
                "INSERT INTO series (target, node, name) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING",
            )
            .bind(&s.target)
            .bind(&s.node)
            .bind(&s.series)
            .execute(&mut *tx)
            .await
            .unwrap();
            sqlx::query("INSERT INTO samples (series_id, ts, value, num, den) \
                 VALUES ((SELECT id FROM series WHERE target = $1 AND node = $2 AND name = $3),$4,$5,$6,$7)")
                .bind(s.target).bind(s.node).bind(s.series).bind(s.ts).bind(s.value).bind(s.num).bind(s.den)
                .execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let naive_rate = (batch * 4) as f64 / t.elapsed().as_secs_f64();
    println!(
        "writes to SQLite: {rate:.0} samples/s batched upsert ({:.2}x the 50,000/s goal); baseline one INSERT per row {naive_rate:.0}/s; batched/baseline = {:.1}x",
        rate / 50_000.0,
        rate / naive_rate
    );
}

/// A bare pool on a migrated SQLite file, for the baseline.
async fn store_pool(dir: &tempfile::TempDir) -> sqlx::AnyPool {
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("naive.db").display()
    );
    let s = Store::connect(&SecretString::from(url.clone()), 1)
        .await
        .unwrap();
    s.migrate().await.unwrap();
    s.close().await;
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(&url).await.unwrap()
}

async fn reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let start = 1_800_000_000_000_i64 / 3_600_000 * 3_600_000;
    let minutes = month::MINUTES;
    for t in 0..20 {
        let rows = month::hit_rates(&format!("t{t}"), start);
        for chunk in rows.chunks(20_000) {
            store.upsert_samples(chunk).await.unwrap();
        }
    }
    let t = Instant::now();
    store.rollup(start, start + minutes * 60_000).await.unwrap();
    let rollup = t.elapsed().as_secs_f64();
    let q = SeriesQuery {
        target: "t7".into(),
        node: String::new(),
        series: "hit_rate".into(),
        from: start,
        to: start + minutes * 60_000,
        resolution: Resolution::FiveMinutes,
        detail: false,
    };
    // (median, worst) of 50 reads, in ms, and the points read.
    let timed = |q: SeriesQuery| {
        let store = store.clone();
        async move {
            let mut times = Vec::new();
            let mut n = 0;
            for _ in 0..50 {
                let t = Instant::now();
                n = store.read_series(&q).await.unwrap().len();
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(|a, b| a.partial_cmp(b).unwrap());
            (times[times.len() / 2], times[times.len() - 1], n)
        }
    };
    let (median, worst, n) = timed(q.clone()).await;
    let (d_median, d_worst, _) = timed(SeriesQuery {
        detail: true,
        ..q.clone()
    })
    .await;
    let raw_q = SeriesQuery {
        resolution: Resolution::Raw,
        ..q.clone()
    };
    let t = Instant::now();
    let raw_n = store.read_series(&raw_q).await.unwrap().len();
    let raw_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "reads: 30-day series at 5 min = {n} points: median {median:.2} ms, worst {worst:.2} ms over 50 reads ({:.2}x the 20 ms budget)",
        median / 20.0
    );
    println!(
        "  with detail (min, max, count per bucket): median {d_median:.2} ms, worst {d_worst:.2} ms"
    );
    println!("  baseline: raw 1-min read of the same range ({raw_n} points) {raw_ms:.2} ms");
    println!("  rollup of 30 days x 20 targets (864,000 raw samples) took {rollup:.2} s");
}

#[tokio::main]
async fn main() {
    poll_cycle().await;
    writes().await;
    reads().await;
}
