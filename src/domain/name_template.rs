//! How a discovered target is named: a template over what discovery knows of it, made into
//! a valid target name. The same resource always gets the same name, so its history, alarm
//! states and jobs follow it from one discovery to the next and across restarts.

use super::name::{MAX_NAME_LEN, TargetName};

/// What a template may use.
const PLACES: [&str; 6] = ["account", "region", "kind", "id", "name", "group"];

/// The default: unique across accounts and regions without configuration.
pub const DEFAULT_TEMPLATE: &str = "{account}-{region}-{id}";

/// A checked template like `{account}-{region}-{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTemplate(String);

/// The values a name is made of.
#[derive(Debug, Clone, Copy)]
pub struct NameParts<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub kind: &'a str,
    pub id: &'a str,
    pub name: &'a str,
    pub group: Option<&'a str>,
}

impl Default for NameTemplate {
    fn default() -> Self {
        Self(DEFAULT_TEMPLATE.to_owned())
    }
}

impl NameTemplate {
    /// Checks that every `{…}` is a known place and that `{id}` is one of them (without it
    /// two resources would share a name).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rest = text;
        let mut has_id = false;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                return Err(format!("{text:?} has a '{{' without its '}}'"));
            };
            let place = &rest[open + 1..open + close];
            if !PLACES.contains(&place) {
                return Err(format!(
                    "{{{place}}} is not a place a name can use; expected one of {}",
                    PLACES.map(|p| format!("{{{p}}}")).join(", ")
                ));
            }
            has_id |= place == "id";
            rest = &rest[open + close + 1..];
        }
        if !has_id {
            return Err(format!(
                "{text:?} must contain {{id}}, or two resources would get one name"
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name for `parts`: filled in, lowercased, every character a name cannot hold made
    /// `-`; a name longer than allowed keeps its start and ends in a hash of the whole, so it
    /// stays unique and stable.
    pub fn render(&self, parts: NameParts<'_>) -> TargetName {
        let mut filled = self.0.clone();
        for (place, value) in [
            ("account", parts.account),
            ("region", parts.region),
            ("kind", parts.kind),
            ("id", parts.id),
            ("name", parts.name),
            ("group", parts.group.unwrap_or(parts.name)),
        ] {
            filled = filled.replace(&format!("{{{place}}}"), value);
        }
        let mut name: String = filled
            .chars()
            .map(|c| {
                let c = c.to_ascii_lowercase();
                if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        name = name.trim_start_matches(['-', '_', '.']).to_owned();
        if name.is_empty() {
            name = "target".to_owned();
        }
        if name.len() > MAX_NAME_LEN {
            let hash = fnv1a(filled.as_bytes());
            name.truncate(MAX_NAME_LEN - 9);
            name = format!("{name}-{hash:08x}");
        }
        TargetName::parse(&name).unwrap_or_else(|_| {
            // Unreachable by construction; a fixed valid name keeps the daemon up regardless.
            TargetName::parse("target").expect("a valid literal name")
        })
    }
}

/// A small stable hash (FNV-1a, 32 bits): the same on every replica and every release.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(id: &str) -> NameParts<'_> {
        NameParts {
            account: "111111111111",
            region: "eu-west-1",
            kind: "elasticache",
            id,
            name: "Catalog",
            group: None,
        }
    }

    #[test]
    fn names_are_valid_stable_and_unique() {
        let t = NameTemplate::default();
        assert_eq!(
            t.render(parts("catalog-0001-001")).as_str(),
            "111111111111-eu-west-1-catalog-0001-001"
        );
        assert_eq!(
            t.render(parts("My_API/Prod")).as_str(),
            "111111111111-eu-west-1-my_api-prod"
        );
        let long = "x".repeat(80);
        let a = t.render(parts(&long));
        assert_eq!(a.as_str().len(), MAX_NAME_LEN);
        assert_eq!(a, t.render(parts(&long)), "stable");
        let other = format!("{}y", "x".repeat(79));
        assert_ne!(
            a,
            t.render(parts(&other)),
            "a long name keeps its uniqueness"
        );
        let g = NameTemplate::parse("{group}-{id}").unwrap();
        assert_eq!(
            g.render(parts("n1")).as_str(),
            "catalog-n1",
            "no group: the name"
        );
    }

    #[test]
    fn templates_are_checked() {
        for (bad, says) in [
            ("{account}-{regoin}-{id}", "{regoin} is not a place"),
            ("{account}-{region}", "must contain {id}"),
            ("{id", "without its"),
        ] {
            let e = NameTemplate::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
