//! Reading samples back: one series over a range at a resolution, one series of many targets
//! (a page of sparklines), sums over a window, and each target's newest values.

use std::collections::HashMap;

use super::samples::{Point, Resolution, Sample, SeriesQuery};
use super::{Store, StoreError};

/// A series query's parameters, in the order every read's SQL names them.
macro_rules! bind_series {
    ($query:expr, $q:expr) => {
        $query
            .bind(&$q.target)
            .bind(&$q.node)
            .bind(&$q.series)
            .bind($q.from)
            .bind($q.to)
    };
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
        // Rows read by position as tuples: a 30-day raw read is 43,200 rows, and looking up
        // absent columns by name (min, max, count) on each would cost more than the read.
        if detail {
            bind_series!(sqlx::query_as::<_, (i64, f64, f64, f64, i64)>(&sql), q)
                .fetch_all($pool)
                .await?
                .into_iter()
                .map(|(ts, value, min, max, count)| Point {
                    ts,
                    value,
                    min: Some(min),
                    max: Some(max),
                    count: Some(count),
                })
                .collect()
        } else {
            bind_series!(sqlx::query_as::<_, (i64, f64)>(&sql), q)
                .fetch_all($pool)
                .await?
                .into_iter()
                .map(|(ts, value)| Point::new(ts, value))
                .collect()
        }
    }};
}

impl Store {
    /// Reads one series over [from, to) at the resolution asked.
    pub async fn read_series(&self, q: &SeriesQuery) -> Result<Vec<Point>, StoreError> {
        Ok(match self.native_sqlite() {
            Some(pool) => read_points!(pool, q),
            None => read_points!(self.pool(), q),
        })
    }

    /// [`Self::read_series`], and at a rollup resolution the raw samples newer than its last
    /// bucket after it: the newest minutes are not rolled up yet, and without them a fresh
    /// install's charts would stay empty for the first five minutes and every chart would end
    /// minutes before now.
    pub async fn read_series_with_head(&self, q: &SeriesQuery) -> Result<Vec<Point>, StoreError> {
        let mut points = self.read_series(q).await?;
        if q.resolution == Resolution::Raw {
            return Ok(points);
        }
        let rolled_up_to = points
            .last()
            .map_or(q.from, |p| p.ts + q.resolution.bucket_ms());
        if rolled_up_to < q.to {
            let head = SeriesQuery {
                from: rolled_up_to,
                resolution: Resolution::Raw,
                ..q.clone()
            };
            points.extend(self.read_series(&head).await?);
        }
        Ok(points)
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
