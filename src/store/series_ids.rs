//! The series dictionary: each (target, node, series name) gets an integer id once, in the
//! `series` table, and every sample row and chunk names its series by that id. Ids are never
//! reused or removed (a series is a few dozen bytes), so a process may cache them for its
//! whole life, and replicas on one PostgreSQL database share them.

use std::collections::HashMap;
use std::sync::RwLock;

use super::{Placeholders, Store, StoreError};

/// The ids this process has seen, by [`key`].
#[derive(Debug, Default)]
pub(crate) struct SeriesIds(RwLock<HashMap<String, i64>>);

/// The cache key of a series: its three names joined by a byte no name contains.
fn key(target: &str, node: &str, name: &str) -> String {
    let mut k = String::with_capacity(target.len() + node.len() + name.len() + 2);
    for (i, part) in [target, node, name].into_iter().enumerate() {
        if i > 0 {
            k.push('\u{1f}');
        }
        k.push_str(part);
    }
    k
}

/// Rows of `series` per statement (3 parameters a row).
const PER_STATEMENT: usize = 300;

impl SeriesIds {
    fn get(&self, k: &str) -> Option<i64> {
        self.0.read().ok()?.get(k).copied()
    }

    fn remember(&self, found: impl IntoIterator<Item = (String, i64)>) {
        if let Ok(mut map) = self.0.write() {
            map.extend(found);
        }
    }
}

impl Store {
    /// The ids of `series` (target, node, name), created where missing, in the same order.
    pub(crate) async fn series_ids_for_write(
        &self,
        series: &[(&str, &str, &str)],
    ) -> Result<Vec<i64>, StoreError> {
        let keys: Vec<String> = series.iter().map(|(t, n, s)| key(t, n, s)).collect();
        let mut missing: Vec<(&str, &str, &str)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (k, s) in keys.iter().zip(series) {
            if self.ids.get(k).is_none() && seen.insert(k.as_str()) {
                missing.push(*s);
            }
        }
        for part in missing.chunks(PER_STATEMENT) {
            let mut list = Placeholders::after(0);
            let values: Vec<String> = part.iter().map(|_| format!("({})", list.take(3))).collect();
            let sql = format!(
                "INSERT INTO series (target, node, name) VALUES {} ON CONFLICT (target, node, name) DO NOTHING",
                values.join(",")
            );
            let mut q = sqlx::query(&sql);
            for (t, n, s) in part {
                q = q.bind(*t).bind(*n).bind(*s);
            }
            q.execute(self.pool()).await?;
            self.load_ids(part).await?;
        }
        keys.iter()
            .map(|k| {
                self.ids
                    .get(k)
                    .ok_or_else(|| StoreError::Corrupt(format!("series {k:?} has no id")))
            })
            .collect()
    }

    /// The id of one series, if it was ever written.
    pub(crate) async fn series_id(
        &self,
        target: &str,
        node: &str,
        name: &str,
    ) -> Result<Option<i64>, StoreError> {
        let k = key(target, node, name);
        if let Some(id) = self.ids.get(&k) {
            return Ok(Some(id));
        }
        self.load_ids(&[(target, node, name)]).await?;
        Ok(self.ids.get(&k))
    }

    /// The ids of series `name` (node `""`) of each of `targets` that has it, by id.
    pub(crate) async fn target_series_ids(
        &self,
        targets: &[&str],
        name: &str,
    ) -> Result<HashMap<i64, String>, StoreError> {
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        for t in targets {
            match self.ids.get(&key(t, "", name)) {
                Some(id) => {
                    out.insert(id, t.to_string());
                }
                None => missing.push((*t, "", name)),
            }
        }
        for part in missing.chunks(PER_STATEMENT) {
            self.load_ids(part).await?;
            for (t, n, s) in part {
                if let Some(id) = self.ids.get(&key(t, n, s)) {
                    out.insert(id, t.to_string());
                }
            }
        }
        Ok(out)
    }

    /// Reads the ids of `series` that exist into the cache.
    async fn load_ids(&self, series: &[(&str, &str, &str)]) -> Result<(), StoreError> {
        let mut list = Placeholders::after(0);
        let tuples: Vec<String> = series
            .iter()
            .map(|_| {
                let (t, n, s) = (list.take(1), list.take(1), list.take(1));
                format!("(target = {t} AND node = {n} AND name = {s})")
            })
            .collect();
        let sql = format!(
            "SELECT target, node, name, id FROM series WHERE {}",
            tuples.join(" OR ")
        );
        let mut q = sqlx::query_as::<_, (String, String, String, i64)>(&sql);
        for (t, n, s) in series {
            q = q.bind(*t).bind(*n).bind(*s);
        }
        let rows = q.fetch_all(self.pool()).await?;
        self.ids
            .remember(rows.into_iter().map(|(t, n, s, id)| (key(&t, &n, &s), id)));
        Ok(())
    }
}
