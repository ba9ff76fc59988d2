//! Event rules' templates: checking one as written, and filling it with an event's fields. A value is escaped for where it
//! lands, so an event can never widen what a rule deletes: in a Redis pattern its glob
//! characters are literal (`id = "*"` matches a key named `*`), in a CloudFront path it is
//! percent-encoded (a `/` or `*` in a value stays inside one path segment), and a CloudFront
//! tag refuses what a tag cannot hold. Exact keys and Redis tag names take the value as is:
//! they name one key or one set, whatever the value.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// Where a rendered template lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// An exact Redis or Memcached key, or a Redis tag name.
    Exact,
    /// A Redis glob pattern.
    Pattern,
    /// A URL path (a CloudFront path, an API Gateway resource).
    Path,
    /// A CloudFront cache tag (without its `#`).
    CacheTag,
}

/// Why a template could not be filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    /// `data.FIELD`
    pub field: String,
    pub message: String,
}

/// The unreserved characters of RFC 3986 stay; everything else in a value is encoded.
const PATH_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An event's fields as text: strings as they are, numbers and booleans as JSON writes them.
pub fn fields(data: &Value) -> Result<BTreeMap<String, String>, RenderError> {
    let Some(object) = data.as_object() else {
        return Err(RenderError {
            field: "data".into(),
            message: "must be a JSON object of the event's fields".into(),
        });
    };
    object
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(RenderError {
                        field: format!("data.{k}"),
                        message: "must be a string, a number or a boolean".into(),
                    });
                }
            };
            if text.chars().any(char::is_control) {
                return Err(RenderError {
                    field: format!("data.{k}"),
                    message: "must not contain control characters".into(),
                });
            }
            Ok((k.clone(), text))
        })
        .collect()
}

/// Checks `{field}` placeholders as written in a rule: balanced braces around a field name.
pub fn check(s: &str) -> Result<(), &'static str> {
    let mut rest = s;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("'}' without a matching '{'");
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("'{' without a matching '}'")?;
        let name = &after[..close];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err("placeholders are {field} with letters, digits and _");
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// `template` with every `{field}` replaced by `x`: what it looks like filled, for checking
/// the rest of it when the configuration is read.
pub fn sample(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        out.push('x');
        let after = &rest[open + 1..];
        rest = after.find('}').map_or("", |close| &after[close + 1..]);
    }
    out.push_str(rest);
    out
}

/// `template` with every `{field}` replaced by the escaped value of that field.
pub fn render(
    template: &str,
    fields: &BTreeMap<String, String>,
    place: Place,
) -> Result<String, RenderError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        // The configuration checked that braces are balanced around a field name.
        let close = after.find('}').unwrap_or(after.len());
        let name = &after[..close];
        let value = fields.get(name).ok_or_else(|| RenderError {
            field: format!("data.{name}"),
            message: format!("is missing; the rule's template {template:?} needs it"),
        })?;
        out.push_str(&escape(name, value, place)?);
        rest = after.get(close + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Ok(out)
}

fn escape(name: &str, value: &str, place: Place) -> Result<String, RenderError> {
    Ok(match place {
        Place::Exact => value.to_owned(),
        Place::Pattern => {
            let mut s = String::with_capacity(value.len());
            for c in value.chars() {
                if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
                    s.push('\\');
                }
                s.push(c);
            }
            s
        }
        Place::Path => utf8_percent_encode(value, PATH_VALUE).to_string(),
        Place::CacheTag => {
            if value.is_empty()
                || !value
                    .bytes()
                    .all(|b| (33..=126).contains(&b) && b != b',' && b != b'*')
            {
                return Err(RenderError {
                    field: format!("data.{name}"),
                    message: format!(
                        "{value:?} cannot be part of a CloudFront cache tag (printable ASCII without spaces, commas or '*')"
                    ),
                });
            }
            value.to_owned()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::purge::glob::matches;
    use serde_json::json;

    fn f(data: Value) -> BTreeMap<String, String> {
        fields(&data).unwrap()
    }

    #[test]
    fn values_are_escaped_for_where_they_land() {
        let d = f(json!({"id": 42, "name": "a*b?[c]", "path": "x/../y z", "ok": true}));
        struct Case(&'static str, Place, &'static str);
        for Case(template, place, want) in [
            Case("product:{id}", Place::Exact, "product:42"),
            Case("product:{name}", Place::Exact, "product:a*b?[c]"),
            Case(
                "product:{name}:*",
                Place::Pattern,
                "product:a\\*b\\?\\[c\\]:*",
            ),
            Case("/products/{path}", Place::Path, "/products/x%2F..%2Fy%20z"),
            Case("/p/{name}", Place::Path, "/p/a%2Ab%3F%5Bc%5D"),
            Case("product-{id}-{ok}", Place::CacheTag, "product-42-true"),
            Case("static", Place::Pattern, "static"),
        ] {
            assert_eq!(render(template, &d, place).unwrap(), want, "{template}");
        }
    }

    #[test]
    fn an_event_cannot_widen_a_pattern() {
        let star = f(json!({"id": "*"}));
        let p = render("product:{id}", &star, Place::Pattern).unwrap();
        assert!(matches(p.as_bytes(), b"product:*"));
        assert!(!matches(p.as_bytes(), b"product:42"));
        let range = f(json!({"id": "[0-9]"}));
        let p = render("p:{id}", &range, Place::Pattern).unwrap();
        assert!(matches(p.as_bytes(), b"p:[0-9]"));
        assert!(!matches(p.as_bytes(), b"p:5"));
    }

    #[test]
    fn bad_events_name_the_field() {
        let d = f(json!({"id": 1, "tag": "a,b"}));
        let cases = [
            (render("k:{sku}", &d, Place::Exact), "data.sku"),
            (render("{tag}", &d, Place::CacheTag), "data.tag"),
        ];
        for (got, field) in cases {
            assert_eq!(got.unwrap_err().field, field);
        }
        assert_eq!(fields(&json!([1])).unwrap_err().field, "data");
        assert_eq!(fields(&json!({"x": {"y": 1}})).unwrap_err().field, "data.x");
        assert_eq!(fields(&json!({"x": "a\nb"})).unwrap_err().field, "data.x");
    }
}
