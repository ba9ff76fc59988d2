//! `[[streams]]`: DynamoDB Streams read as sources of events.

use std::time::Duration;

use super::{Checker, KeyPath};
use crate::config::raw;
use crate::config::settings::*;

pub(super) fn all(
    v: &mut Checker,
    raw: Vec<(KeyPath, raw::Stream)>,
    events: &[String],
) -> Vec<StreamSettings> {
    v.unique_names(
        raw,
        "stream",
        |s: &StreamSettings| &s.name,
        |v, path, s| stream(v, path, s, events),
    )
}

fn stream(
    v: &mut Checker,
    path: &KeyPath,
    s: raw::Stream,
    events: &[String],
) -> Option<StreamSettings> {
    let name = v
        .required(path, "name", &s.name)
        .and_then(|n| v.name(path.key("name"), n));
    let source = match (&s.table, &s.stream_arn) {
        (Some(t), None) if !t.is_empty() => Some(StreamSource::Table(t.clone())),
        (None, Some(a))
            if a.starts_with("arn:") && a.contains(":table/") && a.contains("/stream/") =>
        {
            Some(StreamSource::Arn(a.clone()))
        }
        (None, Some(a)) => {
            v.error(
                path.key("stream_arn"),
                format!("{a:?} is not a DynamoDB stream ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/TABLE/stream/LABEL)"),
            );
            None
        }
        (Some(_), Some(_)) => {
            v.error(path.key("stream_arn"), "give table or stream_arn, not both");
            None
        }
        _ => {
            v.error(
                path.clone(),
                "name the stream: table = \"…\" or stream_arn = \"…\"",
            );
            None
        }
    };
    let event = v.required(path, "event", &s.event).and_then(|e| {
        if events.contains(e) {
            Some(e.clone())
        } else {
            v.error(
                path.key("event"),
                format!("no [[rules]] entry handles events of type {e:?}"),
            );
            None
        }
    });
    let fields = s.fields.clone().unwrap_or_default();
    for (i, f) in fields.iter().enumerate() {
        if f.is_empty() {
            v.error(path.key("fields").index(i), "must not be empty");
        }
    }
    let start = match s.start.as_deref() {
        None | Some("latest") => Some(StreamStart::Latest),
        Some("trim_horizon") => Some(StreamStart::TrimHorizon),
        Some(other) => {
            v.error(
                path.key("start"),
                format!("{other:?} is not latest or trim_horizon"),
            );
            None
        }
    };
    let every = v.optional_duration(path, "every", &s.every, Duration::from_secs(1));
    Some(StreamSettings {
        name: name?,
        source: source?,
        event: event?,
        fields,
        start: start?,
        every: every?,
        region: s.region.clone(),
    })
}
