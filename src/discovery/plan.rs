//! What one discovery run changes (pure): the targets it knew, what each account, region and
//! kind answered, and the rules that keep a fleet stable while AWS changes or fails under it.
//!
//! - A scope (account, region, kind) that failed keeps its targets exactly as they were.
//! - A target its scope answered without is missed once (kept); missed twice in a row, it
//!   is removed. A scope no longer asked (a region taken out of the configuration) counts as
//!   answering without its targets.
//! - A target found again has its misses reset; one whose kind found different keys, group
//!   or tags is changed.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::KnownTarget;

/// Misses in a row after which a target is removed.
pub const REMOVE_AFTER_MISSES: i64 = 2;

/// Where a target was found: the account (by role; empty for the default credentials),
/// region and kind a discovery asks one at a time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    pub role_arn: String,
    pub region: String,
    pub kind: String,
}

impl Scope {
    pub fn of(t: &KnownTarget) -> Self {
        Scope {
            role_arn: t.role_arn.clone(),
            region: t.region.clone(),
            kind: t.kind.clone(),
        }
    }
}

/// A target found in an answering scope, named and ready to keep.
#[derive(Debug, Clone)]
pub struct Seen {
    pub name: String,
    pub account_id: String,
    pub found: Value,
}

/// What a scope answered.
#[derive(Debug, Clone)]
pub enum Answer {
    Found(Vec<Seen>),
    Failed(String),
}

/// The diff of a run, as recorded and answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct RunDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    /// Not found this time; removed if not found the next time either.
    pub missing: Vec<String>,
    /// What did not answer (`account 111111111111, eu-west-1, elasticache: …`), and targets
    /// that could not be kept (a name already taken, keys the kind refused).
    pub errors: Vec<String>,
}

impl RunDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.missing.is_empty()
            && self.errors.is_empty()
    }
}

/// A run's outcome: rows to write, names to delete, and the diff.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub upserts: Vec<KnownTarget>,
    pub removed: Vec<String>,
    pub diff: RunDiff,
    /// Targets known after the run.
    pub total: usize,
}

/// Plans a run of `discovery`, which knew `known` (its own targets) and got `answers`.
pub fn reconcile(
    discovery: &str,
    known: &[KnownTarget],
    answers: &BTreeMap<Scope, Answer>,
    now: i64,
) -> Plan {
    let mut plan = Plan::default();
    let failed: HashSet<&Scope> = answers
        .iter()
        .filter(|(_, a)| matches!(a, Answer::Failed(_)))
        .map(|(s, _)| s)
        .collect();
    let mut seen: BTreeMap<&str, (&Scope, &Seen)> = BTreeMap::new();
    for (scope, answer) in answers {
        match answer {
            Answer::Failed(why) => plan.diff.errors.push(why.clone()),
            Answer::Found(list) => {
                for s in list {
                    if seen.contains_key(s.name.as_str()) {
                        plan.diff.errors.push(format!(
                            "two resources are both named {:?}: the second is left out (add {{kind}} or {{account}} to name_template)",
                            s.name
                        ));
                        continue;
                    }
                    seen.insert(s.name.as_str(), (scope, s));
                }
            }
        }
    }
    let mut total = 0;
    for k in known {
        let scope = Scope::of(k);
        if failed.contains(&scope) {
            total += 1;
            continue;
        }
        match seen.remove(k.name.as_str()) {
            Some((scope, s)) => {
                total += 1;
                if s.found != k.found || Scope::of(k) != *scope {
                    plan.diff.changed.push(k.name.clone());
                }
                plan.upserts
                    .push(row(discovery, scope, s, k.first_seen, 0, now));
            }
            None if k.misses + 1 >= REMOVE_AFTER_MISSES => {
                plan.removed.push(k.name.clone());
            }
            None => {
                total += 1;
                plan.diff.missing.push(k.name.clone());
                plan.upserts.push(KnownTarget {
                    misses: k.misses + 1,
                    ..k.clone()
                });
            }
        }
    }
    for (name, (scope, s)) in seen {
        total += 1;
        plan.diff.added.push(name.to_owned());
        plan.upserts.push(row(discovery, scope, s, now, 0, now));
    }
    plan.diff.removed = plan.removed.clone();
    plan.total = total;
    plan
}

fn row(
    discovery: &str,
    scope: &Scope,
    s: &Seen,
    first_seen: i64,
    misses: i64,
    now: i64,
) -> KnownTarget {
    KnownTarget {
        name: s.name.clone(),
        discovery: discovery.to_owned(),
        kind: scope.kind.clone(),
        account_id: s.account_id.clone(),
        role_arn: scope.role_arn.clone(),
        region: scope.region.clone(),
        found: s.found.clone(),
        misses,
        first_seen,
        last_seen: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(region: &str) -> Scope {
        Scope {
            role_arn: String::new(),
            region: region.into(),
            kind: "elasticache".into(),
        }
    }

    fn seen(name: &str, tag: &str) -> Seen {
        Seen {
            name: name.into(),
            account_id: "123456789012".into(),
            found: json!({ "id": name, "tags": { "env": tag } }),
        }
    }

    /// Runs `answers` after `known`, returning the plan and the set it leaves.
    fn run(
        known: &[KnownTarget],
        answers: Vec<(Scope, Answer)>,
        now: i64,
    ) -> (Plan, Vec<KnownTarget>) {
        let answers: BTreeMap<Scope, Answer> = answers.into_iter().collect();
        let plan = reconcile("prod", known, &answers, now);
        let mut after: Vec<KnownTarget> = known
            .iter()
            .filter(|k| !plan.removed.contains(&k.name))
            .filter(|k| !plan.upserts.iter().any(|u| u.name == k.name))
            .cloned()
            .collect();
        after.extend(plan.upserts.iter().cloned());
        after.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(after.len(), plan.total, "total counts what is kept");
        (plan, after)
    }

    fn found(list: &[Seen]) -> Answer {
        Answer::Found(list.to_vec())
    }

    #[test]
    fn a_target_goes_after_two_misses_in_a_row_and_not_before() {
        let (p, set) = run(
            &[],
            vec![(scope("eu"), found(&[seen("a", "prod"), seen("b", "prod")]))],
            1,
        );
        assert_eq!(p.diff.added, ["a", "b"]);
        let (p, set) = run(&set, vec![(scope("eu"), found(&[seen("a", "prod")]))], 2);
        assert_eq!(
            (p.diff.missing.clone(), p.removed.clone()),
            (vec!["b".to_owned()], vec![])
        );
        assert_eq!(set.iter().find(|k| k.name == "b").unwrap().misses, 1);
        // Found again: the count starts over.
        let (p, set) = run(
            &set,
            vec![(scope("eu"), found(&[seen("a", "prod"), seen("b", "prod")]))],
            3,
        );
        assert!(p.diff.is_empty(), "{:?}", p.diff);
        assert_eq!(set.iter().find(|k| k.name == "b").unwrap().misses, 0);
        let (_, set) = run(&set, vec![(scope("eu"), found(&[seen("a", "prod")]))], 4);
        let (p, set) = run(&set, vec![(scope("eu"), found(&[seen("a", "prod")]))], 5);
        assert_eq!(p.diff.removed, ["b"]);
        assert_eq!(
            set.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        assert_eq!(set[0].first_seen, 1, "first seen is kept");
        assert_eq!(set[0].last_seen, 5);
    }

    #[test]
    fn a_failed_scope_keeps_its_targets_untouched() {
        let (_, set) = run(
            &[],
            vec![
                (scope("eu"), found(&[seen("a", "prod")])),
                (scope("us"), found(&[seen("u", "prod")])),
            ],
            1,
        );
        for now in 2..6 {
            let (p, after) = run(
                &set,
                vec![
                    (scope("eu"), Answer::Failed("eu: throttled".into())),
                    (scope("us"), found(&[seen("u", "prod")])),
                ],
                now,
            );
            assert_eq!(
                after,
                set.iter()
                    .map(|k| if k.name == "u" {
                        KnownTarget {
                            last_seen: now,
                            ..k.clone()
                        }
                    } else {
                        k.clone()
                    })
                    .collect::<Vec<_>>()
            );
            assert_eq!(p.diff.errors, ["eu: throttled"]);
            assert!(p.removed.is_empty() && p.diff.missing.is_empty());
        }
    }

    #[test]
    fn changes_and_scopes_no_longer_asked() {
        let (_, set) = run(
            &[],
            vec![
                (scope("eu"), found(&[seen("a", "prod")])),
                (scope("us"), found(&[seen("u", "prod")])),
            ],
            1,
        );
        // "us" is no longer in the configuration: its targets are missed like any others.
        let (p, set) = run(&set, vec![(scope("eu"), found(&[seen("a", "staging")]))], 2);
        assert_eq!(p.diff.changed, ["a"], "new tags are a change");
        assert_eq!(p.diff.missing, ["u"]);
        let (p, _) = run(&set, vec![(scope("eu"), found(&[seen("a", "staging")]))], 3);
        assert_eq!(p.diff.removed, ["u"]);
    }

    #[test]
    fn two_resources_with_one_name_keep_the_first() {
        let (p, set) = run(
            &[],
            vec![
                (scope("eu"), found(&[seen("a", "prod")])),
                (scope("us"), found(&[seen("a", "dev")])),
            ],
            1,
        );
        assert_eq!(set.len(), 1);
        assert_eq!(set[0].region, "eu");
        assert!(
            p.diff.errors[0].contains("both named \"a\""),
            "{:?}",
            p.diff.errors
        );
    }
}
