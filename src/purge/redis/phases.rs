//! The three phases of a Redis purge, each resumable from its stored progress: exact keys,
//! then tags (their member sets, then the sets), then patterns (a SCAN of every primary).
//! Each works until the step's time is up and says whether it finished.

use std::time::Instant;

use super::reach::{Reach, groups};
use super::{BATCH, NodeProgress, PAGES_PER_SECOND, Progress, RedisPurge, SCAN_COUNT, TIMEOUT};
use crate::purge::{PurgeRequest, glob, pace};

impl RedisPurge {
    pub(super) async fn keys_phase(
        &self,
        reach: &Reach,
        r: &PurgeRequest,
        p: &mut Progress,
        until: Instant,
    ) -> Result<bool, String> {
        let mut c = reach.key_conn().await.map_err(|e| e.0)?;
        while p.key_index < r.keys.len() {
            let end = (p.key_index + BATCH).min(r.keys.len());
            let batch = &r.keys[p.key_index..end];
            let n = c
                .delete(batch, reach.cluster, r.dry_run)
                .await
                .map_err(|e| format!("Redis failed: {e}"))?;
            p.found.found(batch, n, r.dry_run);
            p.key_index = end;
            pace(r.rate_limit, &mut p.pace_from, p.found.deleted).await;
            if Instant::now() > until {
                return Ok(false);
            }
        }
        Ok(true)
    }

    pub(super) async fn tags_phase(
        &self,
        reach: &Reach,
        r: &PurgeRequest,
        p: &mut Progress,
        until: Instant,
    ) -> Result<bool, String> {
        let mut c = reach.key_conn().await.map_err(|e| e.0)?;
        while p.tag_index < r.tags.len() {
            let set = reach.tag_key.replace("{tag}", &r.tags[p.tag_index]);
            let (next, members): (u64, Vec<String>) = c
                .query(
                    redis::cmd("SSCAN")
                        .arg(&set)
                        .arg(p.tag_cursor)
                        .arg("COUNT")
                        .arg(BATCH),
                )
                .await
                .map_err(|e| format!("Redis failed: {e}"))?;
            let n = c
                .delete(&members, reach.cluster, r.dry_run)
                .await
                .map_err(|e| format!("Redis failed: {e}"))?;
            p.found.found(&members, n, r.dry_run);
            p.tag_cursor = next;
            if next == 0 {
                // The members are gone; now the set that listed them.
                if !r.dry_run {
                    c.delete(std::slice::from_ref(&set), reach.cluster, false)
                        .await
                        .map_err(|e| format!("Redis failed: {e}"))?;
                }
                p.tag_index += 1;
            }
            pace(r.rate_limit, &mut p.pace_from, p.found.deleted).await;
            if Instant::now() > until {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Scans each primary from its stored cursor: each page's matches are deleted in the
    /// pipeline that asks for the next page; a cursor is stored only once the matches of the
    /// pages before it are deleted.
    pub(super) async fn patterns_phase(
        &self,
        reach: &Reach,
        r: &PurgeRequest,
        p: &mut Progress,
        until: Instant,
    ) -> Result<bool, String> {
        if p.nodes.is_empty() {
            for node in reach.primaries().await.map_err(|e| e.0)? {
                let mut c = reach.link.connect(&node, TIMEOUT).await.map_err(|e| e.0)?;
                let keys: u64 = redis::cmd("DBSIZE")
                    .query_async(&mut c)
                    .await
                    .map_err(|e| format!("Redis failed: {e}"))?;
                p.nodes.insert(
                    node,
                    NodeProgress {
                        keys,
                        ..NodeProgress::default()
                    },
                );
            }
        }
        let m = glob::shared_match(&r.patterns);
        let count = r
            .rate_limit
            .map_or(SCAN_COUNT, |rate| (rate / PAGES_PER_SECOND).clamp(10, 1000));
        let nodes: Vec<String> = p
            .nodes
            .iter()
            .filter(|(_, n)| !n.done)
            .map(|(k, _)| k.clone())
            .collect();
        for node in nodes {
            let mut c = reach.link.connect(&node, TIMEOUT).await.map_err(|e| e.0)?;
            let mut pending: Vec<String> = Vec::new();
            let mut cursor = p.nodes[&node].cursor;
            loop {
                let mut pipe = redis::pipe();
                let groups = if r.dry_run {
                    Vec::new()
                } else {
                    groups(&pending, reach.cluster)
                };
                for g in &groups {
                    pipe.cmd("UNLINK").arg(g);
                }
                pipe.cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&m)
                    .arg("COUNT")
                    .arg(count);
                let mut answers: Vec<redis::Value> =
                    pipe.query_async(&mut c).await.map_err(|e| {
                        format!(
                            "Redis at {} failed: {e}",
                            if node.is_empty() { "the target" } else { &node }
                        )
                    })?;
                let page = answers.pop().ok_or("SCAN gave no answer")?;
                let deleted: u64 = answers
                    .iter()
                    .map(|v| redis::from_redis_value_ref::<u64>(v).unwrap_or(0))
                    .sum();
                let (next, keys): (u64, Vec<String>) =
                    redis::from_redis_value(page).map_err(|e| format!("SCAN answer: {e}"))?;
                let n = p.nodes.get_mut(&node).ok_or("node progress lost")?;
                // The pending keys are deleted: the cursor that came after them may be stored.
                n.deleted += deleted;
                p.found.deleted += deleted;
                n.cursor = cursor;
                pending = keys
                    .into_iter()
                    .filter(|k| {
                        r.patterns
                            .iter()
                            .any(|pt| glob::matches(pt.as_bytes(), k.as_bytes()))
                    })
                    .collect();
                // SCAN does not say how many keys a page covered; COUNT is its hint, so this
                // is an estimate (capped at the node's size), good for the ETA.
                let covered = count.min(n.keys.saturating_sub(n.scanned));
                n.scanned += covered;
                p.scanned += covered;
                n.matched += pending.len() as u64;
                if r.dry_run {
                    p.found.found(&pending, pending.len() as u64, true);
                    pending.clear();
                } else {
                    // Counted as deleted when the next pipeline's UNLINK answers.
                    p.found.matched += pending.len() as u64;
                }
                cursor = next;
                let finished = cursor == 0;
                if finished || Instant::now() > until {
                    // Delete this page's matches before storing the cursor past it.
                    let last = if r.dry_run {
                        0
                    } else {
                        super::reach::delete_on(&mut c, &pending, reach.cluster).await?
                    };
                    let n = p.nodes.get_mut(&node).ok_or("node progress lost")?;
                    n.deleted += last;
                    p.found.deleted += last;
                    n.cursor = cursor;
                    n.done = finished;
                    if !finished {
                        return Ok(false);
                    }
                    break;
                }
                if !r.dry_run {
                    pace(r.rate_limit, &mut p.pace_from, p.found.deleted).await;
                }
            }
        }
        Ok(true)
    }
}
