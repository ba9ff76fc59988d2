//! Samples in compressed chunks (issue 23), on both backends: compaction keeps every read
//! the same, a late sample revises a compacted window (and its rollups), retention drops
//! whole chunks, a database written by the schema before chunks upgrades and compacts, a
//! kill -9 during compaction loses and duplicates nothing, and reads over head and chunks
//! agree with a naive reference over random workloads.

use std::collections::BTreeMap;
use std::process::Command;

use cachewarden::store::{Point, Resolution, Sample, SeriesQuery, Store};
use proptest::prelude::*;
use secrecy::SecretString;

use crate::harness::postgres::Postgres;

/// 2025-12-01 00:00 UTC: a day boundary, so every window below starts on one.
const T0: i64 = 1_764_547_200_000;
const HOUR: i64 = 3_600_000;

async fn open(url: &str) -> Store {
    let store = Store::connect(&SecretString::from(url.to_owned()), 4)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    store
}

/// `SELECT COUNT(*)`-like scalars, read beside the store as an operator would.
async fn scalar(url: &str, sql: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("connect");
    let v: i64 = sqlx::query_scalar(sql)
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    pool.close().await;
    v
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}?mode=rwc", dir.path().join("cw.db").display())
}

/// Six hours at a 10-second poll: a hit ratio with its parts, memory in bytes, and a node's
/// memory.
fn six_hours() -> Vec<Sample> {
    let mut out = Vec::new();
    for i in 0..(6 * 360) {
        let ts = T0 + i * 10_000 + i % 7;
        let den = 100.0 + (i % 13) as f64;
        out.push(Sample::ratio(
            "web",
            "",
            "hit_ratio",
            ts,
            den - (i % 5) as f64,
            den,
        ));
        out.push(Sample::new(
            "web",
            "",
            "memory",
            ts,
            1e9 + (i * 4096) as f64,
        ));
        out.push(Sample::new("web", "n1:6379", "memory", ts, 5e8 + i as f64));
    }
    out
}

fn query(series: &str, node: &str, from: i64, to: i64, resolution: Resolution) -> SeriesQuery {
    SeriesQuery {
        target: "web".into(),
        node: node.into(),
        series: series.into(),
        from,
        to,
        resolution,
        detail: true,
    }
}

/// Every read the dashboard and API make of the six hours.
async fn everything(store: &Store) -> Vec<Vec<Point>> {
    let mut out = Vec::new();
    for (series, node) in [("hit_ratio", ""), ("memory", ""), ("memory", "n1:6379")] {
        for res in [
            Resolution::Raw,
            Resolution::FiveMinutes,
            Resolution::OneHour,
        ] {
            out.push(
                store
                    .read_series(&query(series, node, T0, T0 + 6 * HOUR, res))
                    .await
                    .unwrap(),
            );
        }
        // A range that starts and ends inside windows.
        out.push(
            store
                .read_series(&query(
                    series,
                    node,
                    T0 + HOUR + 5,
                    T0 + 3 * HOUR - 5,
                    Resolution::Raw,
                ))
                .await
                .unwrap(),
        );
    }
    // A page of sparklines reads many targets at once, at each resolution.
    for res in [
        Resolution::Raw,
        Resolution::FiveMinutes,
        Resolution::OneHour,
    ] {
        let many = store
            .read_series_many(&["web", "api"], "hit_ratio", T0 + 5, T0 + 5 * HOUR, res)
            .await
            .unwrap();
        assert_eq!(many.len(), 1, "only web has the series");
        out.push(
            many["web"]
                .iter()
                .map(|(ts, v)| Point::new(*ts, *v))
                .collect(),
        );
    }
    out
}

async fn lifecycle(store: Store, url: &str) {
    store.upsert_samples(&six_hours()).await.unwrap();
    store.rollup(T0, T0 + 6 * HOUR).await.unwrap();
    let before = everything(&store).await;
    assert_eq!(before[0].len(), 2160, "every raw sample is read back");

    // Nothing is closed three hours before a window ends.
    let none = store.compact_once(T0 + 2 * HOUR + 1).await.unwrap();
    assert_eq!(none.windows, 0);

    // A day and three hours later every window is closed: raw (three 2-hour windows of three
    // series) and the rollups' day.
    let later = T0 + 27 * HOUR + 1;
    let done = store.compact_once(later).await.unwrap();
    assert_eq!(done.windows, 9 + 3 + 3, "{done:?}");
    for table in ["samples", "samples_5m", "samples_1h"] {
        assert_eq!(
            scalar(url, &format!("SELECT COUNT(*) FROM {table}")).await,
            0,
            "{table} head is empty"
        );
    }
    assert_eq!(
        scalar(url, "SELECT COUNT(*) FROM chunks WHERE resolution = 0").await,
        9
    );
    assert_eq!(
        everything(&store).await,
        before,
        "compaction changes no read"
    );
    assert_eq!(
        store.target_nodes("web", T0).await.unwrap(),
        vec!["n1:6379".to_owned()],
        "nodes are found in chunks"
    );
    let sums = store
        .sum_series_many(&["web"], &["memory"], T0, T0 + 6 * HOUR)
        .await
        .unwrap();
    let expected: f64 = six_hours()
        .iter()
        .filter(|s| s.series == "memory" && s.node.is_empty())
        .map(|s| s.value)
        .sum();
    assert_eq!(sums["web"], expected, "sums read hourly chunks");
    // Compacting again finds nothing: it is repeatable.
    assert_eq!(store.compact_once(later).await.unwrap().windows, 0);

    // A late revision of a compacted window: seen at once, merged by the next compaction,
    // and its rollups follow.
    let bucket = T0 + HOUR;
    let at = bucket + 3; // poll 360 of the first window (its time is off by 360 % 7 ms)
    let revised = Sample::new("web", "", "memory", at, 42.0);
    let added = Sample::new("web", "", "memory", at + 5_000, 43.0);
    store
        .upsert_samples(&[revised.clone(), added.clone()])
        .await
        .unwrap();
    let raw = || async {
        store
            .read_series(&query(
                "memory",
                "",
                at - 20_000,
                at + 20_000,
                Resolution::Raw,
            ))
            .await
            .unwrap()
            .iter()
            .map(|p| (p.ts, p.value))
            .collect::<Vec<(i64, f64)>>()
    };
    let seen = raw().await;
    assert!(
        seen.contains(&(at, 42.0)) && seen.contains(&(at + 5_000, 43.0)),
        "{seen:?}"
    );
    assert_eq!(
        seen.len(),
        4,
        "the revision replaced a sample and added one: {seen:?}"
    );
    let merged = store.compact_once(later).await.unwrap();
    assert_eq!(
        merged.windows, 3,
        "the raw window, then its 5-minute and hourly days: {merged:?}"
    );
    assert_eq!(scalar(url, "SELECT COUNT(*) FROM samples").await, 0);
    assert_eq!(raw().await, seen, "the chunk holds the revision");
    // The 5-minute bucket of `at` from the revised samples.
    let values: Vec<f64> = store
        .read_series(&query(
            "memory",
            "",
            bucket,
            bucket + 300_000,
            Resolution::Raw,
        ))
        .await
        .unwrap()
        .iter()
        .map(|p| p.value)
        .collect();
    let five = store
        .read_series(&query(
            "memory",
            "",
            bucket,
            bucket + 300_000,
            Resolution::FiveMinutes,
        ))
        .await
        .unwrap();
    assert_eq!(five.len(), 1);
    assert_eq!(five[0].count, Some(values.len() as i64));
    assert_eq!(
        five[0].min,
        Some(42.0),
        "the revised value is the bucket's minimum"
    );
    assert_eq!(
        five[0].value,
        values.iter().sum::<f64>() / values.len() as f64
    );
    let hour = store
        .read_series(&query(
            "memory",
            "",
            bucket,
            bucket + HOUR,
            Resolution::OneHour,
        ))
        .await
        .unwrap();
    assert_eq!(hour[0].min, Some(42.0), "and the hour's");
    assert_eq!(hour[0].count, Some(361), "360 polls and the added sample");

    // Retention drops whole chunks: raw windows that ended by the cut-off go, the one that
    // straddles it stays.
    store
        .apply_retention(T0 + 4 * HOUR + 1, T0, T0)
        .await
        .unwrap();
    assert_eq!(
        scalar(url, "SELECT COUNT(*) FROM chunks WHERE resolution = 0").await,
        3,
        "one window of each series is left"
    );
    let left = store
        .read_series(&query("memory", "", T0, T0 + 6 * HOUR, Resolution::Raw))
        .await
        .unwrap();
    assert!(left[0].ts >= T0 + 4 * HOUR, "{:?}", left[0]);
    store
        .apply_retention(T0 + 4 * HOUR + 1, T0 + 24 * HOUR, T0)
        .await
        .unwrap();
    assert!(
        store
            .read_series(&query(
                "memory",
                "",
                T0,
                T0 + 6 * HOUR,
                Resolution::FiveMinutes
            ))
            .await
            .unwrap()
            .is_empty(),
        "the 5-minute day is dropped"
    );
    assert!(
        !store
            .read_series(&query("memory", "", T0, T0 + 6 * HOUR, Resolution::OneHour))
            .await
            .unwrap()
            .is_empty(),
        "hourly rollups keep theirs"
    );
}

#[tokio::test]
async fn sqlite_chunks_keep_every_read_and_take_revisions_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    lifecycle(open(&url).await, &url).await;
}

#[tokio::test]
async fn postgres_chunks_keep_every_read_and_take_revisions_and_retention() {
    let pg = Postgres::start();
    let url = pg.fresh_database_url();
    lifecycle(open(&url).await, &url).await;
}

/// Samples that are not finite numbers are dropped; the rest of their batch is stored.
#[tokio::test]
async fn samples_that_are_not_numbers_are_refused_and_their_batch_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&sqlite_url(&dir)).await;
    let batch = vec![
        Sample::new("web", "", "memory", T0, 1.0),
        Sample::new("web", "", "memory", T0 + 1, f64::NAN),
        Sample::new("web", "", "memory", T0 + 2, f64::INFINITY),
        Sample::ratio("web", "", "hit_ratio", T0, 0.0, 0.0),
        Sample::new("web", "", "memory", T0 + 3, 2.0),
    ];
    store.upsert_samples(&batch).await.unwrap();
    let points = store
        .read_series(&query("memory", "", T0, T0 + 10, Resolution::Raw))
        .await
        .unwrap();
    assert_eq!(points, vec![Point::new(T0, 1.0), Point::new(T0 + 3, 2.0)]);
    assert!(
        store
            .read_series(&query("hit_ratio", "", T0, T0 + 10, Resolution::Raw))
            .await
            .unwrap()
            .is_empty(),
        "0/0 is not a ratio"
    );
}

/// The last migration before chunks.
const BEFORE_CHUNKS: i64 = 20261202000014;

/// The old layout: text-keyed rows in `samples`, `samples_5m` and `samples_1h`.
async fn write_old_samples(url: &str, backend_dir: &str) {
    let pool = crate::harness::old_schema::migrated_until(url, backend_dir, BEFORE_CHUNKS).await;
    let mut tx = pool.begin().await.unwrap();
    for s in six_hours() {
        sqlx::query(
            "INSERT INTO samples (target, node, series, ts, value, num, den) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.target)
        .bind(&s.node)
        .bind(&s.series)
        .bind(s.ts)
        .bind(s.value)
        .bind(s.num)
        .bind(s.den)
        .execute(&mut *tx)
        .await
        .expect("old sample");
    }
    tx.commit().await.unwrap();
    for (table, ts) in [("samples_5m", T0), ("samples_1h", T0)] {
        sqlx::query(&format!(
            "INSERT INTO {table} (target, node, series, ts, count, sum, min, max, num_sum, den_sum) \
             VALUES ('web', '', 'hit_ratio', $1, 30, 27.0, 0.85, 0.95, 2700.0, 3000.0)"
        ))
        .bind(ts)
        .execute(&pool)
        .await
        .expect("old rollup");
    }
    pool.close().await;
}

async fn upgrade(url: &str, backend_dir: &str) {
    write_old_samples(url, backend_dir).await;
    let store = open(url).await;
    let raw = query("hit_ratio", "", T0, T0 + 6 * HOUR, Resolution::Raw);
    let expected: Vec<Point> = six_hours()
        .iter()
        .filter(|s| s.series == "hit_ratio")
        .map(|s| Point::new(s.ts, s.value))
        .collect();
    assert_eq!(
        store.read_series(&raw).await.unwrap(),
        expected,
        "moved to the head"
    );
    let hour = query("hit_ratio", "", T0, T0 + HOUR, Resolution::OneHour);
    assert_eq!(store.read_series(&hour).await.unwrap()[0].value, 0.9);
    let done = store.compact_once(T0 + 27 * HOUR + 1).await.unwrap();
    assert_eq!(
        done.rows,
        3 * 2160 + 2,
        "every old row is compacted: {done:?}"
    );
    assert_eq!(
        store.read_series(&raw).await.unwrap(),
        expected,
        "and read from chunks"
    );
    assert_eq!(store.read_series(&hour).await.unwrap()[0].value, 0.9);
    assert_eq!(scalar(url, "SELECT COUNT(*) FROM samples").await, 0);
    // New samples of an old series keep its id.
    store
        .upsert_samples(&[Sample::new("web", "", "memory", T0 + 30 * HOUR, 7.0)])
        .await
        .unwrap();
    assert_eq!(scalar(url, "SELECT COUNT(*) FROM series").await, 3);
}

#[tokio::test]
async fn sqlite_samples_of_the_old_layout_upgrade_into_chunks() {
    let dir = tempfile::tempdir().unwrap();
    upgrade(&sqlite_url(&dir), "sqlite").await;
}

#[tokio::test]
async fn postgres_samples_of_the_old_layout_upgrade_into_chunks() {
    let pg = Postgres::start();
    upgrade(&pg.fresh_database_url(), "postgres").await;
}

/// The value of series `s` at poll `i` (what the kill test wrote).
fn generated(s: usize, i: i64) -> f64 {
    ((s as i64 * 7919 + i * 31) % 100_000) as f64
}

/// `cachewarden compact` killed with SIGKILL after its first transaction committed: every
/// sample is still read exactly once, and compacting again finishes the job.
#[tokio::test]
async fn a_compaction_killed_midway_loses_and_duplicates_nothing() {
    const SERIES: usize = 200;
    const POLLS: i64 = 4 * 720; // four 2-hour windows at a 10-second poll
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let store = open(&url).await;
    let mut batch = Vec::new();
    for i in 0..POLLS {
        for s in 0..SERIES {
            batch.push(Sample::new(
                &format!("t{s}"),
                "",
                "memory",
                T0 + i * 10_000,
                generated(s, i),
            ));
        }
        if batch.len() >= 20_000 {
            store.upsert_samples(&batch).await.unwrap();
            batch.clear();
        }
    }
    store.upsert_samples(&batch).await.unwrap();
    store.close().await;

    let config = dir.path().join("cw.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n",
            dir.path().join("cw.db").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cachewarden"))
        .args(["compact", "--config", config.to_str().unwrap()])
        .env_remove("CACHEWARDEN_CONFIG")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("cachewarden compact");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while scalar(&url, "SELECT COUNT(*) FROM chunks").await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no chunk was written within a minute"
        );
        assert!(child.try_wait().unwrap().is_none(), "compact ended early");
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let (chunks, head) = (
        scalar(&url, "SELECT COUNT(*) FROM chunks").await,
        scalar(&url, "SELECT COUNT(*) FROM samples").await,
    );
    assert!(
        chunks > 0 && head > 0,
        "the kill landed mid-way: {chunks} chunks written, {head} head rows left"
    );

    let store = open(&url).await;
    let check = |store: Store| async move {
        for s in [0, SERIES / 2, SERIES - 1] {
            let q = SeriesQuery {
                target: format!("t{s}"),
                node: String::new(),
                series: "memory".into(),
                from: T0,
                to: T0 + POLLS * 10_000,
                resolution: Resolution::Raw,
                detail: false,
            };
            let points = store.read_series(&q).await.unwrap();
            let want: Vec<Point> = (0..POLLS)
                .map(|i| Point::new(T0 + i * 10_000, generated(s, i)))
                .collect();
            assert_eq!(points, want, "series t{s}");
        }
        store
    };
    let store = check(store).await;
    let total = |url: String| async move {
        scalar(&url, "SELECT COUNT(*) FROM samples").await
            + scalar(&url, "SELECT COALESCE(SUM(count), 0) FROM chunks").await
    };
    assert_eq!(
        total(url.clone()).await,
        SERIES as i64 * POLLS,
        "nothing lost or doubled"
    );
    // Run again, it finishes the job.
    store.close().await;
    let out = Command::new(env!("CARGO_BIN_EXE_cachewarden"))
        .args(["compact", "--config", config.to_str().unwrap()])
        .env_remove("CACHEWARDEN_CONFIG")
        .output()
        .expect("cachewarden compact");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.contains("Compacted"), "{said}");
    // Progress as it goes: the windows left after the kill, counted up to all of them.
    let lines: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("raw samples: "))
        .collect();
    let last = lines.last().copied().unwrap_or_default();
    let (done, of) = last
        .trim_start_matches("raw samples: ")
        .trim_end_matches(" windows")
        .split_once(" of ")
        .unwrap_or_else(|| panic!("no progress in {said}"));
    assert_eq!(done, of, "{said}");
    assert!(lines.len() > 1, "more than one step of progress: {said}");
    let store = open(&url).await;
    assert_eq!(scalar(&url, "SELECT COUNT(*) FROM samples").await, 0);
    assert_eq!(
        scalar(&url, "SELECT COUNT(*) FROM chunks").await,
        SERIES as i64 * 4
    );
    check(store).await;
}

/// One step of a random workload: write a sample, or compact as of a time.
#[derive(Debug, Clone)]
enum Step {
    Write { series: usize, at: i64, value: i64 },
    Compact { now: i64 },
}

fn step() -> impl Strategy<Value = Step> {
    // Eight hours of two-minute times over three series, few enough that times repeat:
    // windows fill, close, and are revised after they were compacted.
    prop_oneof![
        8 => (0..3usize, 0..240i64, -1000..1000i64).prop_map(|(series, slot, value)| Step::Write {
            series,
            at: T0 + slot * 120_000,
            value,
        }),
        1 => (0..14 * 3600i64).prop_map(|s| Step::Compact { now: T0 + s * 1000 }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Reads over head and chunks agree with a map of the last value written at each time.
    #[test]
    fn reads_over_head_and_chunks_agree_with_a_naive_reference(
        steps in proptest::collection::vec(step(), 1..120),
        ranges in proptest::collection::vec((0..9 * 3600i64, 0..9 * 3600i64), 4),
    ) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = open(&sqlite_url(&dir)).await;
            let mut reference: BTreeMap<(usize, i64), f64> = BTreeMap::new();
            for s in &steps {
                match s {
                    Step::Write { series, at, value } => {
                        let v = *value as f64 / 4.0;
                        store
                            .upsert_samples(&[Sample::new("web", "", &format!("s{series}"), *at, v)])
                            .await
                            .unwrap();
                        reference.insert((*series, *at), v);
                    }
                    Step::Compact { now } => {
                        store.compact_once(*now).await.unwrap();
                    }
                }
            }
            for (a, b) in &ranges {
                let (from, to) = (T0 + a.min(b) * 1000, T0 + a.max(b) * 1000);
                for series in 0..3 {
                    let got: Vec<(i64, f64)> = store
                        .read_series(&SeriesQuery {
                            target: "web".into(),
                            node: String::new(),
                            series: format!("s{series}"),
                            from,
                            to,
                            resolution: Resolution::Raw,
                            detail: false,
                        })
                        .await
                        .unwrap()
                        .iter()
                        .map(|p| (p.ts, p.value))
                        .collect();
                    let want: Vec<(i64, f64)> = reference
                        .range((series, from)..(series, to))
                        .map(|((_, t), v)| (*t, *v))
                        .collect();
                    assert_eq!(got, want, "series s{series} in [{from}, {to})");
                }
            }
        });
    }
}

/// `/metrics` reports each sample table's size and the closed chunks' bytes per sample,
/// which is the encoded bytes over the samples they hold.
async fn metrics_report_the_store(app: crate::harness::TestApp, url: &str) {
    app.store.upsert_samples(&six_hours()).await.unwrap();
    app.store.compact_once(T0 + 27 * HOUR + 1).await.unwrap();
    let text = app.get("/metrics", None).await.text().await.unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    for table in ["samples", "samples_5m", "samples_1h", "chunks", "series"] {
        let bytes = value(&format!(
            "cachewarden_store_table_bytes{{table=\"{table}\"}}"
        ));
        assert!(bytes > 0.0, "{table}: {bytes}");
    }
    let want = scalar(
        url,
        "SELECT CAST(SUM(LENGTH(data)) AS BIGINT) FROM chunks WHERE resolution = 0",
    )
    .await as f64
        / scalar(
            url,
            "SELECT CAST(SUM(count) AS BIGINT) FROM chunks WHERE resolution = 0",
        )
        .await as f64;
    let got = value("cachewarden_store_chunk_bytes_per_sample");
    assert!((got - want).abs() < 1e-9, "{got} against {want}");
    assert!(got > 0.0 && got < 4.0, "a few bytes per sample: {got}");
    app.stop().await;
}

#[tokio::test]
async fn sqlite_metrics_report_the_store_size_and_bytes_per_sample() {
    let app = crate::harness::TestApp::sqlite("").await;
    let url = format!(
        "sqlite://{}",
        app.dir.path().join("cachewarden.db").display()
    );
    metrics_report_the_store(app, &url).await;
}

#[tokio::test]
async fn postgres_metrics_report_the_store_size_and_bytes_per_sample() {
    let pg = Postgres::start();
    let url = pg.fresh_database_url();
    let app = crate::harness::TestApp::on_database("", &url).await;
    metrics_report_the_store(app, &url).await;
}
