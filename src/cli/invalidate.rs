//! `cachewarden invalidate`: for deploy pipelines. Safe to re-run: the same
//! `--idempotency-key` returns the same job (never a second CloudFront invalidation).
//! Progress goes to stderr; `--json` prints the job on stdout.

use std::time::Duration;

use serde_json::{Value, json};

use super::Failure;
use super::client::{Client, ClientArgs, exit};
use super::follow::Follow;

#[derive(Debug, clap::Args)]
pub struct InvalidateArgs {
    #[command(flatten)]
    pub(super) client: ClientArgs,
    /// A configured CloudFront target.
    #[arg(long)]
    target: String,
    /// A path to invalidate (`/index.html`, `/assets/*`); repeat for several.
    #[arg(long = "path")]
    paths: Vec<String>,
    /// A cache tag to invalidate (without `#`); repeat for several.
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Makes re-runs safe (e.g. the commit SHA). Default: a fresh key for this run, which
    /// still makes this run's own retries safe.
    #[arg(long)]
    idempotency_key: Option<String>,
    /// Wait until CloudFront says Completed.
    #[arg(long)]
    wait: bool,
    /// With --wait: give up (exit 3) after this long.
    #[arg(long, default_value = "15m")]
    timeout: String,
}

fn invalid(message: String) -> Failure {
    Failure::new(exit::INVALID_INPUT, message)
}

pub(super) async fn run(args: InvalidateArgs) -> Result<(), Failure> {
    let timeout = super::follow::timeout_arg(&args.timeout)?;
    let items: Vec<String> = args
        .paths
        .iter()
        .cloned()
        .chain(
            args.tags
                .iter()
                .map(|t| format!("#{}", t.trim_start_matches('#'))),
        )
        .collect();
    if items.is_empty() {
        return Err(invalid(
            "nothing to invalidate: give --path or --tag".into(),
        ));
    }
    let client = Client::new(&args.client.server, args.client.token.clone())?;
    let body = json!({ "target": args.target, "items": items });
    let sent = super::follow::submit(
        &client,
        "/api/v1/invalidations",
        &body,
        args.idempotency_key.as_deref(),
    )
    .await?;
    let (id, mut job) = (sent.id, sent.job.clone());
    eprintln!(
        "{} invalidation job {id} for {} ({}, key {}).",
        sent.verb(),
        args.target,
        crate::domain::text::count(items.len(), "item", "items"),
        sent.key
    );
    if args.wait {
        let follow = Follow {
            route: "/api/v1/invalidations",
            poll: Duration::from_secs(20),
            render: &render,
        };
        job = super::follow::follow(&client, &follow, id, timeout, job).await?;
    }
    super::follow::finish(args.client.json, id, &job)
}

/// An invalidation job as a progress line: its state and CloudFront's side.
fn render(job: &Value) -> String {
    let id = job["id"].as_i64().unwrap_or_default();
    let state = job["state"].as_str().unwrap_or("unknown");
    let note = job["result"]["note"].as_str().unwrap_or_default();
    match job["result"]["invalidation_id"].as_str() {
        Some(inv) if note.is_empty() => format!("job {id} {state} (CloudFront {inv})"),
        Some(inv) => format!("job {id} {state} (CloudFront {inv}: {note})"),
        None if !note.is_empty() => format!("job {id} {state} ({note})"),
        None => format!("job {id} {state}"),
    }
}
