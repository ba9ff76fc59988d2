//! What an event rule (`[[rules]]`) asks of one target. A target kind that rules can change
//! names the rule's section for it (`cloudfront = [{ target = "web", paths = [...] }]`) and
//! checks that section's entries itself, as it checks its own `[[targets]]` keys; the event
//! kind fills an entry with an event's fields and gets the request of the job that does it.
//! So a kind's rule entries, like its configuration, live in its module.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::checker::fields;
use crate::checker::{Checker, KeyPath};
use crate::domain::Action;
use crate::domain::template::{self, Place, RenderError};

/// One entry of a rule's section, checked.
pub trait RuleAction: fmt::Debug + Send + Sync {
    /// The entry filled with an event's `fields`: the action, the request of the kind that
    /// does it on the target, and what it drops (for the rule's broadcast).
    fn render(&self, fields: &BTreeMap<String, String>) -> Result<Rendered, RenderError>;
}

/// A rule entry filled with an event's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub action: Action,
    /// The request of the job, as `POST /api/v1/jobs` takes it.
    pub request: Value,
    /// Keys and tags it drops, which the rule's broadcast lists.
    pub keys: Vec<String>,
    pub tags: Vec<String>,
}

/// Every template of `items` filled for `place`.
pub fn render_all(
    items: &[String],
    fields: &BTreeMap<String, String>,
    place: Place,
) -> Result<Vec<String>, RenderError> {
    items
        .iter()
        .map(|t| template::render(t, fields, place))
        .collect()
}

/// Reports each of `items` whose `{field}` placeholders are malformed.
pub fn check_templates(v: &mut Checker, at: &KeyPath, field: &str, items: &[String]) {
    for (i, item) in items.iter().enumerate() {
        if let Err(why) = template::check(item) {
            v.error(at.key(field).index(i), format!("{item:?}: {why}"));
        }
    }
}

/// Keys, patterns and tags to delete on a Redis or Memcached target (the `redis` section).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRule {
    /// Exact keys.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Glob patterns; an event's values in them match literally.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Tag sets whose member keys go (Redis only).
    #[serde(default)]
    pub tags: Vec<String>,
}

impl KeyRule {
    /// Checks an entry of the `redis` section; `tags` only where the kind has tag sets.
    pub fn parse(
        v: &mut Checker,
        at: &KeyPath,
        table: toml::Table,
        foreign: &dyn Fn(&str) -> String,
        tags: bool,
    ) -> Option<Arc<dyn RuleAction>> {
        let r: KeyRule = fields::read(v, at, table, foreign)?;
        if !tags && !r.tags.is_empty() {
            v.error(
                at.key("tags"),
                "this kind has no tags; name keys or patterns",
            );
        }
        check_templates(v, at, "keys", &r.keys);
        check_templates(v, at, "patterns", &r.patterns);
        check_templates(v, at, "tags", &r.tags);
        Some(Arc::new(r))
    }
}

impl RuleAction for KeyRule {
    fn render(&self, fields: &BTreeMap<String, String>) -> Result<Rendered, RenderError> {
        let keys = render_all(&self.keys, fields, Place::Exact)?;
        let tags = render_all(&self.tags, fields, Place::Exact)?;
        let patterns = render_all(&self.patterns, fields, Place::Pattern)?;
        Ok(Rendered {
            action: Action::Purge,
            request: json!({ "keys": keys, "patterns": patterns, "tags": tags }),
            keys,
            tags,
        })
    }
}
