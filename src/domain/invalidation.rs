//! CloudFront invalidation items (pure): paths and cache tags, parsed under CloudFront's rules,
//! and the coalescing that keeps a batch small (and cheap).

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

/// Longest path CloudFront accepts.
pub const MAX_PATH_LEN: usize = 4000;
/// Longest cache tag CloudFront accepts.
pub const MAX_TAG_LEN: usize = 256;

/// One thing to invalidate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub enum InvalidationItem {
    /// A path such as `/index.html`, or a wildcard `/assets/*` (`*` last only).
    Path(String),
    /// A cache tag, written `#product:42` (stored without the `#`).
    Tag(String),
}

/// Why an item was refused: the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    #[error("must start with / (a path) or # (a cache tag)")]
    NoPrefix,
    #[error("a path may be at most {MAX_PATH_LEN} characters (this one has {0})")]
    PathTooLong(usize),
    #[error("* may only be the last character of a path")]
    WildcardNotLast,
    #[error(
        "contains {0:?}: paths are URL-encoded as the viewer requested them (use %20 for a space, %XX for other bytes)"
    )]
    NotEncoded(char),
    #[error("has a % that is not followed by two hex digits")]
    BadPercent,
    #[error(
        "has a query string: CloudFront invalidates a path with every query string, so drop the ? and what follows"
    )]
    QueryString,
    #[error("a cache tag may not be empty")]
    EmptyTag,
    #[error("a cache tag may be at most {MAX_TAG_LEN} characters (this one has {0})")]
    TagTooLong(usize),
    #[error("a cache tag may contain only ASCII 33-126 except commas; found {0:?}")]
    TagCharacter(char),
    #[error("a cache tag cannot contain a wildcard")]
    TagWildcard,
}

/// What [`InvalidationItem::parse`] accepts, as a regular expression (for the API document): a
/// URL-encoded path with `*` only last, or `#` and a tag of ASCII 33-126 without `,` or `*`.
pub const ITEM_PATTERN: &str =
    r"^(/([A-Za-z0-9._~!$&'()+,;=:@/-]|%[0-9A-Fa-f]{2})*\*?|#[!-)+\x2D-~]{1,256})$";

/// In the API document: an item as a string that [`InvalidationItem::parse`] accepts.
impl utoipa::PartialSchema for InvalidationItem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(ITEM_PATTERN))
            .max_length(Some(MAX_PATH_LEN))
            .description(Some("A path (`/index.html`, `/assets/*`) or `#cache-tag`"))
            .into()
    }
}

impl utoipa::ToSchema for InvalidationItem {}

impl InvalidationItem {
    /// Parses `/path`, `/prefix*` or `#tag`.
    pub fn parse(s: &str) -> Result<Self, ItemError> {
        if let Some(tag) = s.strip_prefix('#') {
            return parse_tag(tag).map(|t| InvalidationItem::Tag(t.to_owned()));
        }
        if !s.starts_with('/') {
            return Err(ItemError::NoPrefix);
        }
        let len = s.chars().count();
        if len > MAX_PATH_LEN {
            return Err(ItemError::PathTooLong(len));
        }
        if s.find('*').is_some_and(|i| i != s.len() - 1) {
            return Err(ItemError::WildcardNotLast);
        }
        let bytes = s.as_bytes();
        for (i, c) in s.char_indices() {
            if c == '?' {
                return Err(ItemError::QueryString);
            }
            // What RFC 3986 allows raw in a path; anything else arrives percent-encoded.
            let raw_ok = c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%".contains(c);
            if !raw_ok {
                return Err(ItemError::NotEncoded(c));
            }
            if c == '%'
                && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return Err(ItemError::BadPercent);
            }
        }
        Ok(InvalidationItem::Path(s.to_owned()))
    }

    /// A wildcard path (`/assets/*`), which CloudFront limits separately.
    pub fn is_wildcard(&self) -> bool {
        matches!(self, InvalidationItem::Path(p) if p.ends_with('*'))
    }

    /// A cache tag.
    pub fn is_tag(&self) -> bool {
        matches!(self, InvalidationItem::Tag(_))
    }

    /// What CloudFront's `Paths` carries: the path, or `#tag`.
    pub fn to_cloudfront(&self) -> String {
        self.to_string()
    }

    /// Whether this wildcard covers `other` (a longer path or wildcard under its prefix).
    fn covers(&self, other: &InvalidationItem) -> bool {
        match (self, other) {
            (InvalidationItem::Path(w), InvalidationItem::Path(p))
                if w.ends_with('*') && w != p =>
            {
                p.starts_with(&w[..w.len() - 1])
            }
            _ => false,
        }
    }
}

fn parse_tag(tag: &str) -> Result<&str, ItemError> {
    if tag.is_empty() {
        return Err(ItemError::EmptyTag);
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(ItemError::TagTooLong(tag.len()));
    }
    if tag.contains('*') {
        return Err(ItemError::TagWildcard);
    }
    if let Some(c) = tag
        .chars()
        .find(|c| !(('!'..='~').contains(c)) || *c == ',')
    {
        return Err(ItemError::TagCharacter(c));
    }
    Ok(tag)
}

impl fmt::Display for InvalidationItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidationItem::Path(p) => f.write_str(p),
            InvalidationItem::Tag(t) => write!(f, "#{t}"),
        }
    }
}

impl From<InvalidationItem> for String {
    fn from(i: InvalidationItem) -> String {
        i.to_string()
    }
}

/// The smallest equivalent set: duplicates removed, and paths covered by a wildcard of the
/// same batch dropped (`/a/*` makes `/a/b.css` and `/a/c/*` redundant). Sorted, so the same
/// request always yields the same batch.
pub fn coalesce(items: impl IntoIterator<Item = InvalidationItem>) -> Vec<InvalidationItem> {
    let unique: BTreeSet<InvalidationItem> = items.into_iter().collect();
    let wildcards: Vec<&InvalidationItem> = unique.iter().filter(|i| i.is_wildcard()).collect();
    unique
        .iter()
        .filter(|i| !wildcards.iter().any(|w| w.covers(i)))
        .cloned()
        .collect()
}

/// How many of each CloudFront counts against its in-progress limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ItemCounts {
    /// Paths without a wildcard, and cache tags.
    pub files: usize,
    pub wildcards: usize,
}

impl ItemCounts {
    pub fn of(items: &[InvalidationItem]) -> Self {
        let wildcards = items.iter().filter(|i| i.is_wildcard()).count();
        Self {
            files: items.len() - wildcards,
            wildcards,
        }
    }

    /// Billed paths: every path, wildcard and tag counts one.
    pub fn billed(&self) -> usize {
        self.files + self.wildcards
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> InvalidationItem {
        InvalidationItem::parse(s).unwrap()
    }

    #[test]
    fn valid_items() {
        assert_eq!(
            p("/index.html"),
            InvalidationItem::Path("/index.html".into())
        );
        assert_eq!(p("/assets/*"), InvalidationItem::Path("/assets/*".into()));
        assert_eq!(p("/*"), InvalidationItem::Path("/*".into()));
        assert_eq!(p("/caf%C3%A9"), InvalidationItem::Path("/caf%C3%A9".into()));
        // Everything RFC 3986 allows raw in a path.
        let marks = "/a-b_c.d~e!$&'()+,;=:@f";
        assert_eq!(p(marks), InvalidationItem::Path(marks.into()));
        assert_eq!(p("#product:42"), InvalidationItem::Tag("product:42".into()));
        assert!(p("/assets/*").is_wildcard());
        assert_eq!(p("#product:42").to_cloudfront(), "#product:42");
    }

    /// Each bad item, the rule it breaks.
    #[test]
    fn invalid_items_name_the_rule() {
        let long_path = format!("/{}", "a".repeat(MAX_PATH_LEN));
        let long_tag = format!("#{}", "t".repeat(MAX_TAG_LEN + 1));
        let cases: &[(&str, ItemError)] = &[
            ("index.html", ItemError::NoPrefix),
            ("", ItemError::NoPrefix),
            ("/a*/b", ItemError::WildcardNotLast),
            ("/*.css", ItemError::WildcardNotLast),
            ("/a b", ItemError::NotEncoded(' ')),
            ("/café", ItemError::NotEncoded('é')),
            ("/a\nb", ItemError::NotEncoded('\n')),
            ("/a#frag", ItemError::NotEncoded('#')),
            // Paths CloudFront would never match (issue 14).
            ("/<script>alert(1)</script>", ItemError::NotEncoded('<')),
            ("/a?b=c", ItemError::QueryString),
            ("/a\"b", ItemError::NotEncoded('"')),
            ("/a{b}", ItemError::NotEncoded('{')),
            ("/a|b", ItemError::NotEncoded('|')),
            ("/a\\b", ItemError::NotEncoded('\\')),
            ("/a^b", ItemError::NotEncoded('^')),
            ("/a`b", ItemError::NotEncoded('`')),
            ("/a[0]", ItemError::NotEncoded('[')),
            ("/100%", ItemError::BadPercent),
            ("/%zz", ItemError::BadPercent),
            (&long_path, ItemError::PathTooLong(MAX_PATH_LEN + 1)),
            ("#", ItemError::EmptyTag),
            ("#a,b", ItemError::TagCharacter(',')),
            ("#a b", ItemError::TagCharacter(' ')),
            ("#product*", ItemError::TagWildcard),
            (&long_tag, ItemError::TagTooLong(MAX_TAG_LEN + 1)),
        ];
        for (input, want) in cases {
            assert_eq!(
                InvalidationItem::parse(input).unwrap_err(),
                *want,
                "{input:?}"
            );
        }
    }

    #[test]
    fn coalescing_drops_duplicates_and_covered_paths() {
        let items = [
            "/a/*", "/a/b.css", "/a/c/*", "/b.html", "/b.html", "#t", "#t", "/ab", "/*x",
        ]
        .iter()
        .filter_map(|s| InvalidationItem::parse(s).ok())
        .collect::<Vec<_>>();
        let out: Vec<String> = coalesce(items).into_iter().map(String::from).collect();
        assert_eq!(out, ["/a/*", "/ab", "/b.html", "#t"]);
        assert_eq!(coalesce([p("/*"), p("/x"), p("/y/*")]), [p("/*")]);
    }

    #[test]
    fn counts_for_limits_and_billing() {
        let c = ItemCounts::of(&[p("/a"), p("/b/*"), p("#t")]);
        assert_eq!(
            c,
            ItemCounts {
                files: 2,
                wildcards: 1
            }
        );
        assert_eq!(c.billed(), 3);
    }
}
