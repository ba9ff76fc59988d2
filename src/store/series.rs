//! Reading samples back: one series over a range at a resolution, one series of many targets
//! (a page of sparklines), sums over a window, and each target's newest values.

use std::collections::HashMap;

use super::codec::Row;
use super::samples::{Point, Resolution, Sample, SeriesQuery};
use super::{Store, StoreError};

impl Point {
    /// A rollup bucket (count, sum, min, max, num_sum, den_sum) as a point. Ratios: summed
    /// hits over summed requests, never a mean of ratios.
    fn of_bucket(r: &Row<6>, detail: bool) -> Self {
        let [count, sum, min, max, num, den] = r.v;
        let (count, sum) = (count.unwrap_or(0.0), sum.unwrap_or(0.0));
        let value = match (num, den) {
            (Some(n), Some(d)) if d > 0.0 => n / d,
            _ => sum / count,
        };
        Point {
            ts: r.ts,
            value,
            min: min.filter(|_| detail),
            max: max.filter(|_| detail),
            count: detail.then_some(count as i64),
        }
    }
}

/// A raw row's value (never NULL in the head, so never absent from a chunk).
fn raw_value(r: &Row<3>) -> f64 {
    r.v[0].unwrap_or(f64::NAN)
}

impl Store {
    /// Reads one series over [from, to) at the resolution asked.
    pub async fn read_series(&self, q: &SeriesQuery) -> Result<Vec<Point>, StoreError> {
        let Some(id) = self.series_id(&q.target, &q.node, &q.series).await? else {
            return Ok(Vec::new());
        };
        Ok(match q.resolution {
            Resolution::Raw => self
                .read_rows::<3>(q.resolution, &[id], q.from, q.to)
                .await?
                .remove(&id)
                .unwrap_or_default()
                .iter()
                .map(|r| Point::new(r.ts, raw_value(r)))
                .collect(),
            _ => self
                .read_rows::<6>(q.resolution, &[id], q.from, q.to)
                .await?
                .remove(&id)
                .unwrap_or_default()
                .iter()
                .map(|r| Point::of_bucket(r, q.detail))
                .collect(),
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

    /// The raw samples of one series of a target (node `""`) in [from, to], oldest first.
    pub(crate) async fn raw_rows(
        &self,
        target: &str,
        series: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<Row<3>>, StoreError> {
        let Some(id) = self.series_id(target, "", series).await? else {
            return Ok(Vec::new());
        };
        Ok(self
            .read_rows::<3>(Resolution::Raw, &[id], from, to.saturating_add(1))
            .await?
            .remove(&id)
            .unwrap_or_default())
    }

    /// The nodes of a cluster target that reported since `since` (`""`, the whole target,
    /// excluded), in name order.
    pub async fn target_nodes(&self, target: &str, since: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT s.node FROM series s WHERE s.target = $1 AND s.node <> '' \
             AND (EXISTS (SELECT 1 FROM samples h WHERE h.series_id = s.id AND h.ts >= $2) \
               OR EXISTS (SELECT 1 FROM chunks c WHERE c.series_id = s.id AND c.resolution = 0 AND c.last_ts >= $2)) \
             GROUP BY s.node ORDER BY s.node",
        )
        .bind(target)
        .bind(since)
        .fetch_all(self.pool())
        .await?)
    }

    /// One series (node `""`) of many targets over [from, to) at one resolution, by target:
    /// one read for a page of sparklines instead of one per row.
    pub async fn read_series_many(
        &self,
        targets: &[&str],
        series: &str,
        from: i64,
        to: i64,
        resolution: Resolution,
    ) -> Result<HashMap<String, Vec<(i64, f64)>>, StoreError> {
        let by_id = self.target_series_ids(targets, series).await?;
        let ids: Vec<i64> = by_id.keys().copied().collect();
        let mut out = HashMap::new();
        macro_rules! collect {
            ($n:literal, $value:expr) => {
                for (id, rows) in self.read_rows::<$n>(resolution, &ids, from, to).await? {
                    if let Some(target) = by_id.get(&id) {
                        out.insert(
                            target.clone(),
                            rows.iter().map(|r| (r.ts, $value(r))).collect(),
                        );
                    }
                }
            };
        }
        match resolution {
            Resolution::Raw => collect!(3, raw_value),
            _ => collect!(6, |r: &Row<6>| Point::of_bucket(r, false).value),
        }
        Ok(out)
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
        let hour = Resolution::OneHour.bucket_ms();
        let raw_from = ((to - 2 * hour).div_euclid(hour) * hour).max(from);
        // Every series of every target in one read per resolution.
        let mut by_id = HashMap::new();
        for name in series {
            by_id.extend(self.target_series_ids(targets, name).await?);
        }
        let ids: Vec<i64> = by_id.keys().copied().collect();
        let hourly = self
            .read_rows::<6>(Resolution::OneHour, &ids, from, raw_from)
            .await?;
        let raw = self
            .read_rows::<3>(Resolution::Raw, &ids, raw_from, to)
            .await?;
        let sums = hourly
            .iter()
            .map(|(id, rows)| (id, rows.iter().filter_map(|r| r.v[1]).sum::<f64>()))
            .chain(
                raw.iter()
                    .map(|(id, rows)| (id, rows.iter().map(raw_value).sum::<f64>())),
            );
        let mut out: HashMap<String, f64> = HashMap::new();
        for (id, sum) in sums {
            if let Some(target) = by_id.get(id) {
                *out.entry(target.clone()).or_default() += sum;
            }
        }
        Ok(out)
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

    /// The newest samples of `targets` (empty: every target). From the head alone: `since`
    /// is recent (the status pages ask for the last half hour), and the head holds at least
    /// the last three hours of every series.
    async fn latest(
        &self,
        targets: &[&str],
        since: i64,
    ) -> Result<HashMap<String, Vec<Sample>>, StoreError> {
        let only = if targets.is_empty() {
            String::new()
        } else {
            let list = super::Placeholders::after(1).take(targets.len());
            format!(" AND s.target IN ({list})")
        };
        // Each series' newest row is the last entry of its primary key: one seek per series.
        let sql = format!(
            "SELECT s.target, s.node, s.name AS series, h.ts, h.value, h.num, h.den FROM series s \
             JOIN samples h ON h.series_id = s.id \
              AND h.ts = (SELECT MAX(ts) FROM samples WHERE series_id = s.id) \
             WHERE s.node = '' AND h.ts >= $1{only}"
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
