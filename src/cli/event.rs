//! `cachewarden event TYPE FIELD=VALUE…`: submit a domain event for the daemon's rules to
//! turn into purges, invalidations and broadcasts. Safe to re-run with the same
//! `--idempotency-key`. Progress goes to stderr; `--json` prints the event on stdout.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::Failure;
use super::client::{Client, ClientArgs, exit};
use super::follow::Follow;

#[derive(Debug, clap::Args)]
pub struct EventArgs {
    #[command(flatten)]
    pub(super) client: ClientArgs,
    /// The event type a rule names, e.g. product.updated.
    #[arg(value_name = "TYPE")]
    event_type: String,
    /// The event's fields as FIELD=VALUE, e.g. id=42. A value that reads as a JSON number or
    /// boolean is sent as one; FIELD:=TEXT always sends text.
    #[arg(value_name = "FIELD=VALUE")]
    fields: Vec<String>,
    /// Makes re-runs safe (e.g. the change's id). Default: a fresh key for this run.
    #[arg(long)]
    idempotency_key: Option<String>,
    /// Wait until every purge, invalidation and broadcast the event made has ended.
    #[arg(long)]
    wait: bool,
    /// With --wait: give up (exit 3) after this long.
    #[arg(long, default_value = "15m")]
    timeout: String,
}

fn invalid(message: String) -> Failure {
    Failure::new(exit::INVALID_INPUT, message)
}

/// `id=42` → 42, `on=true` → true, `name=shoes` → "shoes", `sku:=0042` → "0042".
fn parse_fields(fields: &[String]) -> Result<Map<String, Value>, Failure> {
    let mut data = Map::new();
    for f in fields {
        let (name, value) = if let Some((n, v)) = f.split_once(":=") {
            (n, Value::String(v.to_owned()))
        } else if let Some((n, v)) = f.split_once('=') {
            let parsed = match serde_json::from_str::<Value>(v) {
                Ok(n @ (Value::Number(_) | Value::Bool(_))) => n,
                _ => Value::String(v.to_owned()),
            };
            (n, parsed)
        } else {
            return Err(invalid(format!("{f:?} is not FIELD=VALUE (e.g. id=42)")));
        };
        if name.is_empty() {
            return Err(invalid(format!("{f:?} has no field name before '='")));
        }
        data.insert(name.to_owned(), value);
    }
    Ok(data)
}

pub(super) async fn run(args: EventArgs) -> Result<(), Failure> {
    let timeout = super::follow::timeout_arg(&args.timeout)?;
    let data = parse_fields(&args.fields)?;
    let client = Client::new(&args.client.server, args.client.token.clone())?;
    let body = json!({ "type": args.event_type, "data": data });
    let sent = super::follow::submit(
        &client,
        "/api/v1/events",
        &body,
        args.idempotency_key.as_deref(),
    )
    .await?;
    let (id, mut event) = (sent.id, sent.job.clone());
    eprintln!(
        "{} event {id} ({}, key {}).",
        sent.verb(),
        args.event_type,
        sent.key
    );
    if args.wait {
        let follow = Follow {
            route: "/api/v1/events",
            poll: Duration::from_secs(5),
            render: &render,
        };
        event = super::follow::follow(&client, &follow, id, timeout, event).await?;
    }
    super::follow::finish(args.client.json, id, &event)
}

/// An event as a progress line: its state and how many of its children have ended.
fn render(event: &Value) -> String {
    let id = event["id"].as_i64().unwrap_or_default();
    let state = event["state"].as_str().unwrap_or("unknown");
    let children = event["children"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let done = children
        .iter()
        .filter(|c| super::follow::is_final(c))
        .count();
    format!(
        "event {id} {state} ({done} of {} jobs ended)",
        children.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_typed_as_a_person_means_them() {
        let got = parse_fields(&[
            "id=42".into(),
            "on=true".into(),
            "name=shoes".into(),
            "sku:=0042".into(),
            "q=a=b".into(),
        ])
        .ok()
        .unwrap();
        assert_eq!(
            Value::Object(got),
            json!({"id": 42, "on": true, "name": "shoes", "sku": "0042", "q": "a=b"})
        );
        for bad in ["id", "=1"] {
            assert!(parse_fields(&[bad.into()]).is_err(), "{bad}");
        }
    }
}
