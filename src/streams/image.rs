//! A stream record as event fields: the item's key attributes and the configured attributes
//! of its image (the new one; the old one for a delete). Pure.

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record};
use serde_json::{Map, Value};

/// Strings as strings, numbers as numbers, booleans as booleans; other types are left out
/// (a template cannot use a list or a map).
fn plain(v: &AttributeValue) -> Option<Value> {
    match v {
        AttributeValue::S(s) => Some(Value::String(s.clone())),
        AttributeValue::N(n) => Some(
            n.parse::<serde_json::Number>()
                .map(Value::Number)
                .unwrap_or_else(|_| Value::String(n.clone())),
        ),
        AttributeValue::Bool(b) => Some(Value::Bool(*b)),
        _ => None,
    }
}

/// The event's fields for `r`.
pub fn event_data(r: &Record, fields: &[String]) -> Value {
    let mut data = Map::new();
    let Some(d) = r.dynamodb() else {
        return Value::Object(data);
    };
    let image = d.new_image().or(d.old_image());
    if let Some(image) = image {
        for f in fields {
            if let Some(v) = image.get(f).and_then(plain) {
                data.insert(f.clone(), v);
            }
        }
    }
    if let Some(keys) = d.keys() {
        for (k, v) in keys {
            if let Some(v) = plain(v) {
                data.insert(k.clone(), v);
            }
        }
    }
    Value::Object(data)
}

/// When the change was made (ms), as the stream says.
pub fn created_ms(r: &Record) -> Option<i64> {
    r.dynamodb()?
        .approximate_creation_date_time()?
        .to_millis()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodbstreams::types::StreamRecord;
    use serde_json::json;
    use std::collections::HashMap;

    fn record(
        new: Option<&[(&str, AttributeValue)]>,
        old: Option<&[(&str, AttributeValue)]>,
    ) -> Record {
        let map = |kv: &[(&str, AttributeValue)]| -> HashMap<String, AttributeValue> {
            kv.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
        };
        let sr = StreamRecord::builder()
            .set_keys(Some(map(&[("id", AttributeValue::N("42".into()))])))
            .set_new_image(new.map(map))
            .set_old_image(old.map(map))
            .build();
        Record::builder().dynamodb(sr).build()
    }

    #[test]
    fn keys_and_chosen_attributes_become_fields() {
        let fields = ["category".to_owned(), "live".to_owned(), "tags".to_owned()];
        let updated = record(
            Some(&[
                ("category", AttributeValue::S("shoes".into())),
                ("live", AttributeValue::Bool(true)),
                ("tags", AttributeValue::Ss(vec!["a".into()])),
                ("price", AttributeValue::N("9.5".into())),
            ]),
            Some(&[("category", AttributeValue::S("boots".into()))]),
        );
        assert_eq!(
            event_data(&updated, &fields),
            json!({"id": 42, "category": "shoes", "live": true})
        );
        let deleted = record(
            None,
            Some(&[("category", AttributeValue::S("boots".into()))]),
        );
        assert_eq!(
            event_data(&deleted, &fields),
            json!({"id": 42, "category": "boots"})
        );
    }
}
