//! Collected samples: raw upserts, 5-minute and 1-hour rollups, retention, and reads that pick
//! the resolution for the range asked.

use std::collections::HashMap;

use serde::Serialize;

use super::{Store, StoreError};

/// One value of one series at one time. Ratios carry their numerator and denominator
/// (hits, hits + misses) so rollups can sum them.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Sample {
    pub target: String,
    /// `""` for the target as a whole; `host:port` for one node of a cluster.
    pub node: String,
    pub series: String,
    /// Milliseconds since the Unix epoch.
    pub ts: i64,
    pub value: f64,
    pub num: Option<f64>,
    pub den: Option<f64>,
}

impl Sample {
    /// A plain value.
    pub fn new(target: &str, node: &str, series: &str, ts: i64, value: f64) -> Self {
        Self {
            target: target.into(),
            node: node.into(),
            series: series.into(),
            ts,
            value,
            num: None,
            den: None,
        }
    }

    /// A ratio `num / den`, kept with its parts.
    pub fn ratio(target: &str, node: &str, series: &str, ts: i64, num: f64, den: f64) -> Self {
        Self {
            num: Some(num),
            den: Some(den),
            ..Self::new(target, node, series, ts, num / den)
        }
    }
}

/// A stored resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub enum Resolution {
    #[serde(rename = "raw")]
    Raw,
    #[serde(rename = "5m")]
    FiveMinutes,
    #[serde(rename = "1h")]
    OneHour,
}

impl Resolution {
    fn table(self) -> &'static str {
        match self {
            Resolution::Raw => "samples",
            Resolution::FiveMinutes => "samples_5m",
            Resolution::OneHour => "samples_1h",
        }
    }

    /// The bucket width in milliseconds (0 for raw).
    pub fn bucket_ms(self) -> i64 {
        match self {
            Resolution::Raw => 0,
            Resolution::FiveMinutes => 300_000,
            Resolution::OneHour => 3_600_000,
        }
    }
}

/// One point of a series read back (`min`, `max` and `count` only when selected).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Point {
    pub ts: i64,
    /// The value; for a rollup of a ratio, summed numerator over summed denominator.
    pub value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[sqlx(default)]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[sqlx(default)]
    pub max: Option<f64>,
    /// Raw samples in the bucket (rollups with `detail` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[sqlx(default)]
    pub count: Option<i64>,
}

/// Which series and range to read.
#[derive(Debug, Clone)]
pub struct SeriesQuery {
    pub target: String,
    pub node: String,
    pub series: String,
    pub from: i64,
    pub to: i64,
    pub resolution: Resolution,
    /// Also min, max and count per rollup bucket (for chart bands). Off by default: every
    /// column costs per row, and a plain series is (time, value).
    pub detail: bool,
}

/// `INSERT … VALUES (…), (…) ON CONFLICT … DO UPDATE` for `rows` samples.
fn upsert_sql(rows: usize) -> String {
    let mut sql =
        String::from("INSERT INTO samples (target, node, series, ts, value, num, den) VALUES ");
    for i in 0..rows {
        let b = i * 7;
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(${},${},${},${},${},${},${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7
        ));
    }
    sql.push_str(" ON CONFLICT (target, node, series, ts) DO UPDATE SET value = excluded.value, num = excluded.num, den = excluded.den");
    sql
}

/// The points of one series query, from any pool (`Any` or native SQLite). The value is
/// computed in SQL, so each row carries only what the API returns: the driver copies every
/// column of every row, and fewer columns make long reads measurably faster.
macro_rules! read_points {
    ($pool:expr, $q:expr) => {{
        let q: &SeriesQuery = $q;
        let table = q.resolution.table();
        let detail = q.detail && q.resolution != Resolution::Raw;
        let filter =
            "WHERE target = $1 AND node = $2 AND series = $3 AND ts >= $4 AND ts < $5 ORDER BY ts";
        // Ratios: summed hits over summed requests, never a mean of ratios.
        let value = "CASE WHEN den_sum > 0 THEN num_sum / den_sum ELSE sum / count END";
        let sql = match (q.resolution, detail) {
            (Resolution::Raw, _) => format!("SELECT ts, value FROM {table} {filter}"),
            (_, false) => format!("SELECT ts, {value} AS value FROM {table} {filter}"),
            (_, true) => {
                format!("SELECT ts, {value} AS value, min, max, count FROM {table} {filter}")
            }
        };
        sqlx::query_as::<_, Point>(&sql)
            .bind(&q.target)
            .bind(&q.node)
            .bind(&q.series)
            .bind(q.from)
            .bind(q.to)
            .fetch_all($pool)
            .await?
    }};
}

/// Rows per INSERT statement: 7 parameters a row stays far below both SQLite's (32,766) and
/// PostgreSQL's (65,535) parameter limits.
const ROWS_PER_STATEMENT: usize = 500;

impl Store {
    /// Upserts samples by (target, node, series, ts) in one transaction: a revised CloudWatch
    /// datapoint replaces the stored one.
    pub async fn upsert_samples(&self, samples: &[Sample]) -> Result<(), StoreError> {
        if samples.is_empty() {
            return Ok(());
        }
        // The same statement text and binds for both pools; only the executor differs.
        macro_rules! write_chunks {
            ($tx:expr) => {
                for chunk in samples.chunks(ROWS_PER_STATEMENT) {
                    let sql = upsert_sql(chunk.len());
                    let mut q = sqlx::query(&sql);
                    for s in chunk {
                        q = q
                            .bind(&s.target)
                            .bind(&s.node)
                            .bind(&s.series)
                            .bind(s.ts)
                            .bind(s.value)
                            .bind(s.num)
                            .bind(s.den);
                    }
                    q.execute(&mut *$tx).await?;
                }
            };
        }
        if let Some(pool) = self.native_sqlite() {
            // SQLite: the whole batch as one JSON parameter, expanded by json_each inside
            // SQLite. Binding thousands of parameters through the driver costs several times
            // more than SQLite's own JSON parsing (see BENCHMARKS.md).
            let rows: Vec<_> = samples
                .iter()
                .map(|s| (&s.target, &s.node, &s.series, s.ts, s.value, s.num, s.den))
                .collect();
            let json = serde_json::to_string(&rows)
                .map_err(|e| StoreError::Corrupt(format!("sample batch: {e}")))?;
            sqlx::query(
                "INSERT INTO samples (target, node, series, ts, value, num, den) \
                 SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6 \
                 FROM json_each($1) WHERE true \
                 ON CONFLICT (target, node, series, ts) DO UPDATE SET value = excluded.value, num = excluded.num, den = excluded.den",
            )
            .bind(json)
            .execute(pool)
            .await?;
        } else {
            let mut tx = self.pool().begin().await?;
            write_chunks!(tx);
            tx.commit().await?;
        }
        Ok(())
    }

    /// Recomputes the 5-minute buckets covering [from, to] from raw samples, and the 1-hour
    /// buckets covering that range from the 5-minute ones. The bucket holding `to` is partial
    /// and is recomputed by the next run; recomputing is idempotent, which is also how buckets
    /// that late or revised CloudWatch data changed get corrected.
    pub async fn rollup(&self, from: i64, to: i64) -> Result<(), StoreError> {
        let five = Resolution::FiveMinutes.bucket_ms();
        let hour = Resolution::OneHour.bucket_ms();
        let (from5, to5) = (
            from.div_euclid(five) * five,
            to.div_euclid(five) * five + five,
        );
        let (from1, to1) = (
            from.div_euclid(hour) * hour,
            to.div_euclid(hour) * hour + hour,
        );
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO samples_5m (target, node, series, ts, count, sum, min, max, num_sum, den_sum) \
             SELECT target, node, series, (ts / 300000) * 300000, COUNT(*), SUM(value), MIN(value), MAX(value), SUM(num), SUM(den) \
             FROM samples WHERE ts >= $1 AND ts < $2 GROUP BY target, node, series, (ts / 300000) * 300000 \
             ON CONFLICT (target, node, series, ts) DO UPDATE SET count = excluded.count, sum = excluded.sum, \
             min = excluded.min, max = excluded.max, num_sum = excluded.num_sum, den_sum = excluded.den_sum",
        )
        .bind(from5)
        .bind(to5)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO samples_1h (target, node, series, ts, count, sum, min, max, num_sum, den_sum) \
             SELECT target, node, series, (ts / 3600000) * 3600000, SUM(count), SUM(sum), MIN(min), MAX(max), SUM(num_sum), SUM(den_sum) \
             FROM samples_5m WHERE ts >= $1 AND ts < $2 GROUP BY target, node, series, (ts / 3600000) * 3600000 \
             ON CONFLICT (target, node, series, ts) DO UPDATE SET count = excluded.count, sum = excluded.sum, \
             min = excluded.min, max = excluded.max, num_sum = excluded.num_sum, den_sum = excluded.den_sum",
        )
        .bind(from1)
        .bind(to1)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes what is older than each resolution's cut-off; returns rows deleted per table.
    pub async fn apply_retention(
        &self,
        raw_before: i64,
        five_before: i64,
        hour_before: i64,
    ) -> Result<[u64; 3], StoreError> {
        let mut deleted = [0; 3];
        for (i, (table, before)) in [
            ("samples", raw_before),
            ("samples_5m", five_before),
            ("samples_1h", hour_before),
        ]
        .into_iter()
        .enumerate()
        {
            deleted[i] = sqlx::query(&format!("DELETE FROM {table} WHERE ts < $1"))
                .bind(before)
                .execute(self.pool())
                .await?
                .rows_affected();
        }
        Ok(deleted)
    }

    /// Reads one series over [from, to) at the resolution asked.
    pub async fn read_series(&self, q: &SeriesQuery) -> Result<Vec<Point>, StoreError> {
        Ok(match self.native_sqlite() {
            Some(pool) => read_points!(pool, q),
            None => read_points!(self.pool(), q),
        })
    }

    /// The nodes of a cluster target that reported since `since` (`""`, the whole target,
    /// excluded), in name order.
    pub async fn target_nodes(&self, target: &str, since: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT node FROM samples WHERE target = $1 AND ts >= $2 AND node <> '' ORDER BY node",
        )
        .bind(target)
        .bind(since)
        .fetch_all(self.pool())
        .await?)
    }

    /// One series (node `""`) of many targets over [from, to) at one resolution, by target:
    /// one query for a page of sparklines instead of one per row (on the native SQLite pool
    /// when there is one, as [`Self::read_series`]).
    pub async fn read_series_many(
        &self,
        targets: &[&str],
        series: &str,
        from: i64,
        to: i64,
        resolution: Resolution,
    ) -> Result<HashMap<String, Vec<(i64, f64)>>, StoreError> {
        if targets.is_empty() {
            return Ok(HashMap::new());
        }
        let value = match resolution {
            Resolution::Raw => "value",
            _ => "CASE WHEN den_sum > 0 THEN num_sum / den_sum ELSE sum / count END",
        };
        let list = super::Placeholders::after(3).take(targets.len());
        let sql = format!(
            "SELECT target, ts, {value} AS v FROM {} WHERE node = '' AND series = $1 \
             AND ts >= $2 AND ts < $3 AND target IN ({}) ORDER BY target, ts",
            resolution.table(),
            list
        );
        macro_rules! read_many {
            ($pool:expr) => {{
                let mut q = sqlx::query_as::<_, (String, i64, f64)>(&sql)
                    .bind(series)
                    .bind(from)
                    .bind(to);
                for t in targets {
                    q = q.bind(*t);
                }
                let mut out: HashMap<String, Vec<(i64, f64)>> = HashMap::new();
                for (target, ts, v) in q.fetch_all($pool).await? {
                    out.entry(target).or_default().push((ts, v));
                }
                out
            }};
        }
        Ok(match self.native_sqlite() {
            Some(pool) => read_many!(pool),
            None => read_many!(self.pool()),
        })
    }

    /// The sum of the values of any of `series` (node `""`) over [from, to), by target: counts
    /// per interval (evictions) over a window. Hours that ended before `raw_from` come from
    /// the hourly rollups (complete once two hours old: maintenance re-rolls the last two),
    /// the rest from raw samples, so the newest minutes count as soon as they are polled.
    pub async fn sum_series_many(
        &self,
        targets: &[&str],
        series: &[&str],
        from: i64,
        to: i64,
    ) -> Result<HashMap<String, f64>, StoreError> {
        if targets.is_empty() || series.is_empty() {
            return Ok(HashMap::new());
        }
        let hour = Resolution::OneHour.bucket_ms();
        let raw_from = ((to - 2 * hour).div_euclid(hour) * hour).max(from);
        let mut list = super::Placeholders::after(3);
        let (s, t) = (list.take(series.len()), list.take(targets.len()));
        let sql = format!(
            "SELECT target, SUM(v) AS total FROM (               SELECT target, sum AS v FROM samples_1h WHERE node = '' AND ts >= $1 AND ts < $2                  AND series IN ({s}) AND target IN ({t})                UNION ALL                SELECT target, value AS v FROM samples WHERE node = '' AND ts >= $2 AND ts < $3                  AND series IN ({s}) AND target IN ({t})             ) w GROUP BY target"
        );
        let mut q = sqlx::query_as::<_, (String, f64)>(&sql)
            .bind(from)
            .bind(raw_from)
            .bind(to);
        for v in series.iter().chain(targets) {
            q = q.bind(*v);
        }
        Ok(q.fetch_all(self.pool()).await?.into_iter().collect())
    }

    /// The newest sample of each series of a target (node `""`) since `since`, for status pages.
    pub async fn latest_samples(
        &self,
        target: &str,
        since: i64,
    ) -> Result<Vec<Sample>, StoreError> {
        Ok(self
            .latest(&[target], since)
            .await?
            .remove(target)
            .unwrap_or_default())
    }

    /// The same for every target at once, by target: one query for a whole status page.
    pub async fn latest_samples_all(
        &self,
        since: i64,
    ) -> Result<HashMap<String, Vec<Sample>>, StoreError> {
        self.latest(&[], since).await
    }

    /// The same for some targets (a page of the overview), by target.
    pub async fn latest_samples_of(
        &self,
        targets: &[&str],
        since: i64,
    ) -> Result<HashMap<String, Vec<Sample>>, StoreError> {
        if targets.is_empty() {
            return Ok(HashMap::new());
        }
        self.latest(targets, since).await
    }

    /// The newest samples of `targets` (empty: every target).
    async fn latest(
        &self,
        targets: &[&str],
        since: i64,
    ) -> Result<HashMap<String, Vec<Sample>>, StoreError> {
        let only = if targets.is_empty() {
            String::new()
        } else {
            let list = super::Placeholders::after(1).take(targets.len());
            format!(" AND target IN ({list})")
        };
        let sql = format!(
            "SELECT s.target, s.node, s.series, s.ts, s.value, s.num, s.den FROM samples s \
             JOIN (SELECT target, series, MAX(ts) AS ts FROM samples \
                   WHERE node = '' AND ts >= $1{only} GROUP BY target, series) m \
             ON s.target = m.target AND s.series = m.series AND s.ts = m.ts WHERE s.node = ''"
        );
        let mut q = sqlx::query_as::<_, Sample>(&sql).bind(since);
        for t in targets {
            q = q.bind(*t);
        }
        let mut out: HashMap<String, Vec<Sample>> = HashMap::new();
        for sample in q.fetch_all(self.pool()).await? {
            out.entry(sample.target.clone()).or_default().push(sample);
        }
        Ok(out)
    }
}
