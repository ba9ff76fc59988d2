//! What a target is known by besides its name, and how alarms pick targets out of a fleet.
//!
//! A hand-written target may carry `group` and `tags`; a discovered one carries what its
//! discovery found: its account, region, the AWS tags of its resource and its group (an
//! ElastiCache replication group's id, which all its nodes share). Alarms select targets
//! by name glob, by tags and by group ([`Selector`]), so an alarm written once applies to
//! every target that appears later with the same tags.

use std::collections::BTreeMap;

use globset::{Glob, GlobMatcher};

/// A target's labels (empty for a hand-written target that names none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    /// Targets that are one thing to people (an ElastiCache replication group's nodes).
    pub group: Option<String>,
    /// Tags, as written or as the resource carries them in AWS.
    pub tags: BTreeMap<String, String>,
    /// The `[[discover]]` entry that found it; `None`: written in `[[targets]]`.
    pub discovered_by: Option<String>,
    /// The 12-digit AWS account it lives in, when known (discovered, or a `role_arn`'s).
    pub account_id: Option<String>,
}

/// Which targets an alarm watches: every condition given must hold.
#[derive(Debug, Clone)]
pub struct Selector {
    /// A name or glob over names (`*` when only tags or a group select).
    pub name: Glob,
    /// Every tag must be present with a value the glob matches.
    pub tags: Vec<(String, Glob)>,
    /// The group's name (or a glob over group names).
    pub group: Option<Glob>,
    matchers: Matchers,
}

#[derive(Debug, Clone)]
struct Matchers {
    name: GlobMatcher,
    tags: Vec<(String, GlobMatcher)>,
    group: Option<GlobMatcher>,
}

impl PartialEq for Selector {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.tags == other.tags && self.group == other.group
    }
}

impl Selector {
    pub fn new(name: Glob, tags: Vec<(String, Glob)>, group: Option<Glob>) -> Self {
        let matchers = Matchers {
            name: name.compile_matcher(),
            tags: tags
                .iter()
                .map(|(k, g)| (k.clone(), g.compile_matcher()))
                .collect(),
            group: group.as_ref().map(Glob::compile_matcher),
        };
        Self {
            name,
            tags,
            group,
            matchers,
        }
    }

    /// Whether a target called `name` with `labels` is selected.
    pub fn matches(&self, name: &str, labels: &Labels) -> bool {
        let m = &self.matchers;
        m.name.is_match(name)
            && m.tags
                .iter()
                .all(|(k, g)| labels.tags.get(k).is_some_and(|v| g.is_match(v)))
            && m.group
                .as_ref()
                .is_none_or(|g| labels.group.as_deref().is_some_and(|v| g.is_match(v)))
    }

    /// Whether it selects by name alone (so a name that matches nothing is a mistake).
    pub fn by_name_only(&self) -> bool {
        self.tags.is_empty() && self.group.is_none()
    }

    /// How people read it: `catalog-* with env=prod, group orders`.
    pub fn describe(&self) -> String {
        let mut out = self.name.glob().to_owned();
        if !self.tags.is_empty() {
            let tags: Vec<String> = self
                .tags
                .iter()
                .map(|(k, g)| format!("{k}={}", g.glob()))
                .collect();
            out.push_str(&format!(" with {}", tags.join(", ")));
        }
        if let Some(g) = &self.group {
            out.push_str(&format!(" in group {}", g.glob()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(s: &str) -> Glob {
        Glob::new(s).unwrap()
    }

    #[test]
    fn every_condition_must_hold() {
        let labels = Labels {
            group: Some("orders".into()),
            tags: [
                ("env".into(), "prod".into()),
                ("tier".into(), "catalog".into()),
            ]
            .into(),
            ..Labels::default()
        };
        let by_tag = Selector::new(glob("*"), vec![("env".into(), glob("pr*"))], None);
        assert!(by_tag.matches("a", &labels));
        assert!(!by_tag.matches("a", &Labels::default()), "no tag, no match");
        let missing = Selector::new(glob("*"), vec![("team".into(), glob("*"))], None);
        assert!(
            !missing.matches("a", &labels),
            "a tag absent never matches, even *"
        );
        let group = Selector::new(glob("a*"), vec![], Some(glob("orders")));
        assert!(group.matches("ab", &labels));
        assert!(!group.matches("b", &labels), "the name must match too");
        assert!(!group.matches("ab", &Labels::default()));
        assert_eq!(
            Selector::new(
                glob("c-*"),
                vec![("env".into(), glob("prod"))],
                Some(glob("o"))
            )
            .describe(),
            "c-* with env=prod in group o"
        );
    }
}
