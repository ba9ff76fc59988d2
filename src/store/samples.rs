//! Collected samples: raw upserts, 5-minute and 1-hour rollups, retention, and reads that pick
//! the resolution for the range asked.

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
    pub(super) fn table(self) -> &'static str {
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

/// One point of a series read back (`min`, `max` and `count` only for a rollup read with
/// `detail`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Point {
    pub ts: i64,
    /// The value; for a rollup of a ratio, summed numerator over summed denominator.
    pub value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Raw samples in the bucket (rollups with `detail` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

impl Point {
    /// A plain point.
    pub fn new(ts: i64, value: f64) -> Self {
        Self {
            ts,
            value,
            min: None,
            max: None,
            count: None,
        }
    }
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

/// `INSERT … VALUES (…), (…) ON CONFLICT …` into the raw head for `rows`.
fn upsert_sql(rows: &[&Sample]) -> String {
    let mut list = super::Placeholders::after(0);
    let values: Vec<String> = rows
        .iter()
        .map(|s| list.take_row([true, true, true, s.num.is_some(), s.den.is_some()]))
        .collect();
    format!(
        "INSERT INTO samples (series_id, ts, value, num, den) VALUES {} \
         ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value, num = excluded.num, den = excluded.den",
        values.join(",")
    )
}

/// Rows per INSERT statement: 5 parameters a row stay far below both SQLite's (32,766) and
/// PostgreSQL's (65,535) parameter limits.
const ROWS_PER_STATEMENT: usize = 500;

/// Whether a sample can be stored: NaN and infinities cannot (the codec refuses NaN, and
/// neither has a meaning on a chart or in an alarm).
fn storable(s: &Sample) -> bool {
    s.value.is_finite() && s.num.is_none_or(f64::is_finite) && s.den.is_none_or(f64::is_finite)
}

impl Store {
    /// Upserts samples by (series, ts) in one transaction: a revised CloudWatch datapoint
    /// replaces the stored one, in the head or, once merged by the next compaction, in its
    /// chunk. Samples that are not finite numbers are dropped with a warning rather than
    /// failing the batch they came in.
    pub async fn upsert_samples(&self, samples: &[Sample]) -> Result<(), StoreError> {
        let dropped = samples.iter().filter(|s| !storable(s)).count();
        if dropped > 0 {
            let first = samples.iter().find(|s| !storable(s));
            tracing::warn!(
                dropped,
                target_name = first.map(|s| s.target.as_str()),
                series = first.map(|s| s.series.as_str()),
                "Samples that are not finite numbers were not stored."
            );
        }
        let samples: Vec<&Sample> = samples.iter().filter(|s| storable(s)).collect();
        if samples.is_empty() {
            return Ok(());
        }
        let names: Vec<(&str, &str, &str)> = samples
            .iter()
            .map(|s| (s.target.as_str(), s.node.as_str(), s.series.as_str()))
            .collect();
        let ids = self.series_ids_for_write(&names).await?;
        if let Some(pool) = self.native_sqlite() {
            // SQLite: the whole batch as one JSON parameter, expanded by json_each inside
            // SQLite. Binding thousands of parameters through the driver costs several times
            // more than SQLite's own JSON parsing (see BENCHMARKS.md).
            let rows: Vec<_> = samples
                .iter()
                .zip(&ids)
                .map(|(s, id)| (id, s.ts, s.value, s.num, s.den))
                .collect();
            let json = serde_json::to_string(&rows)
                .map_err(|e| StoreError::Corrupt(format!("sample batch: {e}")))?;
            sqlx::query(
                "INSERT INTO samples (series_id, ts, value, num, den) \
                 SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 \
                 FROM json_each($1) WHERE true \
                 ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value, num = excluded.num, den = excluded.den",
            )
            .bind(json)
            .execute(pool)
            .await?;
        } else {
            let mut tx = self.pool().begin().await?;
            for (chunk, ids) in samples
                .chunks(ROWS_PER_STATEMENT)
                .zip(ids.chunks(ROWS_PER_STATEMENT))
            {
                let sql = upsert_sql(chunk);
                let mut q = sqlx::query(&sql);
                for (s, id) in chunk.iter().zip(ids) {
                    q = q.bind(*id).bind(s.ts).bind(s.value);
                    for v in [s.num, s.den].into_iter().flatten() {
                        q = q.bind(v);
                    }
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// Recomputes the 5-minute buckets covering [from, to] from raw samples, and the 1-hour
    /// buckets covering that range from the 5-minute ones. The bucket holding `to` is partial
    /// and is recomputed by the next run; recomputing is idempotent, which is also how buckets
    /// that late or revised CloudWatch data changed get corrected. Reads the heads only: they
    /// hold at least the last three hours (see `chunks`).
    pub async fn rollup(&self, from: i64, to: i64) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        Self::rollup_in(&mut tx, from, to, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`Self::rollup`] inside a transaction, for every series or only one (a compacted
    /// window that a late revision brought back to the head).
    pub(super) async fn rollup_in(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        from: i64,
        to: i64,
        only: Option<i64>,
    ) -> Result<(), StoreError> {
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
        // Through the primary key (series, ts): there is no index on time alone.
        let series = match only {
            Some(_) => "series_id = $3",
            None => "series_id IN (SELECT id FROM series)",
        };
        for (sql, from, to) in [
            (
                format!(
                    "INSERT INTO samples_5m (series_id, ts, count, sum, min, max, num_sum, den_sum) \
                     SELECT series_id, (ts / 300000) * 300000, COUNT(*), SUM(value), MIN(value), MAX(value), SUM(num), SUM(den) \
                     FROM samples WHERE {series} AND ts >= $1 AND ts < $2 GROUP BY series_id, (ts / 300000) * 300000 \
                     ON CONFLICT (series_id, ts) DO UPDATE SET count = excluded.count, sum = excluded.sum, \
                     min = excluded.min, max = excluded.max, num_sum = excluded.num_sum, den_sum = excluded.den_sum"
                ),
                from5,
                to5,
            ),
            (
                format!(
                    "INSERT INTO samples_1h (series_id, ts, count, sum, min, max, num_sum, den_sum) \
                     SELECT series_id, (ts / 3600000) * 3600000, SUM(count), SUM(sum), MIN(min), MAX(max), SUM(num_sum), SUM(den_sum) \
                     FROM samples_5m WHERE {series} AND ts >= $1 AND ts < $2 GROUP BY series_id, (ts / 3600000) * 3600000 \
                     ON CONFLICT (series_id, ts) DO UPDATE SET count = excluded.count, sum = excluded.sum, \
                     min = excluded.min, max = excluded.max, num_sum = excluded.num_sum, den_sum = excluded.den_sum"
                ),
                from1,
                to1,
            ),
        ] {
            let mut q = sqlx::query(&sql).bind(from).bind(to);
            if let Some(id) = only {
                q = q.bind(id);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }
}
