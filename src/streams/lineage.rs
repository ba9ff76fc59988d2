//! Which shards of a stream to read, in what order. A shard that split or merged has
//! children; the changes of one item go to the parent first, so a child is read only once
//! its parent is read to its end (or gone: a parent trimmed after 24 hours is no longer listed).
//! Pure.

use std::collections::HashMap;

use crate::store::Checkpoint;

/// One shard as DescribeStream lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    pub id: String,
    pub parent: Option<String>,
}

/// The shards to read now, parents before children; finished shards are left out.
pub fn readable(shards: &[Shard], checkpoints: &HashMap<String, Checkpoint>) -> Vec<String> {
    let listed: HashMap<&str, &Shard> = shards.iter().map(|s| (s.id.as_str(), s)).collect();
    let finished = |id: &str| checkpoints.get(id).is_some_and(|c| c.finished);
    // Depth in the lineage: a shard is read after every listed ancestor.
    let depth = |s: &Shard| {
        let mut d = 0;
        let mut at = s;
        while let Some(p) = at.parent.as_deref().and_then(|p| listed.get(p)) {
            d += 1;
            at = p;
            if d > shards.len() {
                break; // a cycle would be AWS's bug; do not loop on it
            }
        }
        d
    };
    let mut out: Vec<(usize, &Shard)> = shards
        .iter()
        .filter(|s| !finished(&s.id))
        .filter(|s| match s.parent.as_deref() {
            Some(p) if listed.contains_key(p) => finished(p),
            _ => true,
        })
        .map(|s| (depth(s), s))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    out.into_iter().map(|(_, s)| s.id.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parent: Option<&str>) -> Shard {
        Shard {
            id: id.into(),
            parent: parent.map(Into::into),
        }
    }

    fn done(ids: &[&str]) -> HashMap<String, Checkpoint> {
        ids.iter()
            .map(|id| {
                (
                    id.to_string(),
                    Checkpoint {
                        shard_id: id.to_string(),
                        sequence: Some("1".into()),
                        finished: true,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn parents_are_read_to_their_end_before_their_children() {
        // a split into b and c; b split into d. e's parent was trimmed away. Shallower
        // shards come first, then by id.
        let shards = [
            shard("d", Some("b")),
            shard("c", Some("a")),
            shard("b", Some("a")),
            shard("a", None),
            shard("e", Some("gone")),
        ];
        let cases: [(&[&str], &[&str]); 4] = [
            (&[], &["a", "e"]),
            (&["a"], &["e", "b", "c"]),
            (&["a", "b"], &["e", "c", "d"]),
            (&["a", "b", "c", "d", "e"], &[]),
        ];
        for (finished, want) in cases {
            assert_eq!(
                readable(&shards, &done(finished)),
                want,
                "after {finished:?}"
            );
        }
    }
}
