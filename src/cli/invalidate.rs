//! `cachewarden invalidate`: for deploy pipelines. Safe to re-run: the same
//! `--idempotency-key` returns the same job (never a second CloudFront invalidation). The
//! kind follows the target: CloudFront paths and tags, API Gateway entries or a stage flush.
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
    /// A configured CloudFront or API Gateway target.
    #[arg(long)]
    target: String,
    /// A path to invalidate (`/index.html`, `/assets/*`); repeat for several.
    #[arg(long = "path")]
    paths: Vec<String>,
    /// A CloudFront cache tag to invalidate (without `#`); repeat for several.
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// An API Gateway cache entry (`GET /products/42?lang=en accept-language:en`); repeat
    /// for several.
    #[arg(long = "entry")]
    entries: Vec<String>,
    /// Empty an API Gateway stage's whole cache (needs --confirm with the target's name).
    #[arg(long, conflicts_with_all = ["paths", "tags", "entries"])]
    flush: bool,
    /// The target's name again, to confirm a flush.
    #[arg(long, requires = "flush")]
    confirm: Option<String>,
    /// CloudFront: only show what would be sent and what it would cost; send nothing.
    #[arg(long, conflicts_with = "flush")]
    dry_run: bool,
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
        .chain(args.entries.iter().cloned())
        .collect();
    if items.is_empty() && !args.flush {
        return Err(invalid(
            "nothing to invalidate: give --path, --tag, --entry or --flush".into(),
        ));
    }
    let client = Client::new(&args.client.server, args.client.token.clone())?;
    let body = if args.flush {
        json!({ "target": args.target, "flush": true, "confirm": args.confirm })
    } else if args.dry_run {
        json!({ "target": args.target, "items": items, "dry_run": true })
    } else {
        json!({ "target": args.target, "items": items })
    };
    let sent = super::follow::submit(
        &client,
        "/api/v1/invalidations",
        &body,
        args.idempotency_key.as_deref(),
    )
    .await?;
    let (id, mut job) = (sent.id, sent.job.clone());
    let what = if args.flush {
        "the whole stage".to_owned()
    } else {
        crate::domain::text::count(items.len(), "item", "items")
    };
    eprintln!(
        "{} invalidation job {id} for {} ({what}, key {}).",
        sent.verb(),
        args.target,
        sent.key
    );
    // A dry run sends nothing: it is over as soon as a worker worked out the plan.
    if args.wait || args.dry_run {
        let follow = Follow {
            route: "/api/v1/invalidations",
            poll: Duration::from_secs(20),
            render: &render,
        };
        job = super::follow::follow(&client, &follow, id, timeout, job).await?;
    }
    super::follow::finish(args.client.json, id, &job)
}

/// An invalidation job as a progress line: its state and its kind's own line (CloudFront's
/// invalidation and why it waits, a dry run's plan, API Gateway entries done).
fn render(job: &Value) -> String {
    let id = job["id"].as_i64().unwrap_or_default();
    let state = job["state"].as_str().unwrap_or("unknown");
    match job["summary"].as_str() {
        Some(summary) => format!("job {id} {state} ({summary})"),
        None => format!("job {id} {state}"),
    }
}
