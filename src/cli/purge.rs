//! `cachewarden purge`: Redis keys, patterns or tags through a running daemon, with a dry run
//! to look first. Safe to re-run with the same `--idempotency-key`. Progress goes to stderr
//! (a live line on a terminal, a line per change otherwise); `--json` prints the job.

use std::time::Duration;

use serde_json::{Value, json};

use super::Failure;
use super::client::{Client, ClientArgs, exit};
use super::follow::Follow;
use crate::domain::JobState;

#[derive(Debug, clap::Args)]
pub struct PurgeArgs {
    #[command(flatten)]
    pub(super) client: ClientArgs,
    /// A configured Redis target.
    #[arg(long)]
    target: String,
    /// An exact key to delete; repeat for several.
    #[arg(long = "key")]
    keys: Vec<String>,
    /// A Redis glob of keys to delete (`product:*`); repeat for several.
    #[arg(long = "pattern")]
    patterns: Vec<String>,
    /// A tag whose member keys (and set) to delete; repeat for several.
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Count and sample what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Delete at most this many keys per second.
    #[arg(long = "rate")]
    rate: Option<u64>,
    /// The target's name again, to pass the guard rails (a bare `*`, a pattern outside the
    /// target's purge_prefixes, or more keys than its max_purge_keys).
    #[arg(long)]
    confirm: Option<String>,
    /// Makes re-runs safe. Default: a fresh key for this run.
    #[arg(long)]
    idempotency_key: Option<String>,
    /// Wait until the purge is done (a dry run always waits).
    #[arg(long)]
    wait: bool,
    /// With --wait: give up (exit 3) after this long; the purge goes on.
    #[arg(long, default_value = "1h")]
    timeout: String,
}

/// A purge job as a progress line.
fn render(job: &Value) -> String {
    let id = job["id"].as_i64().unwrap_or_default();
    let state = job["state"].as_str().unwrap_or("unknown");
    let p = &job["progress"];
    if p.is_null() {
        return format!("purge {id} {state}");
    }
    let eta = p["eta_seconds"]
        .as_f64()
        .map(|s| format!(", about {s:.0}s left"))
        .unwrap_or_default();
    format!(
        "purge {id} {state}: {} matched, {} deleted, {:.0} keys/s{eta}",
        p["matched"],
        p["deleted"],
        p["rate"].as_f64().unwrap_or(0.0)
    )
}

pub(super) async fn run(args: PurgeArgs) -> Result<(), Failure> {
    let timeout = super::follow::timeout_arg(&args.timeout)?;
    if args.keys.is_empty() && args.patterns.is_empty() && args.tags.is_empty() {
        return Err(Failure::new(
            exit::INVALID_INPUT,
            "nothing to purge: give --key, --pattern or --tag",
        ));
    }
    let client = Client::new(&args.client.server, args.client.token.clone())?;
    let body = json!({
        "target": args.target, "keys": args.keys, "patterns": args.patterns, "tags": args.tags,
        "dry_run": args.dry_run, "rate_limit": args.rate, "confirm": args.confirm,
    });
    let sent = super::follow::submit(
        &client,
        "/api/v1/purges",
        &body,
        args.idempotency_key.as_deref(),
    )
    .await
    .map_err(|mut f| {
        // The daemon names what is beyond the guard rails; how to confirm is ours to say.
        if f.error
            .as_ref()
            .is_some_and(|e| e["code"] == "confirmation_required")
        {
            let hint = format!(
                "; look first with --dry-run, then add --confirm {} to purge anyway",
                args.target
            );
            match f.message.find(" (HTTP ") {
                Some(at) => f.message.insert_str(at, &hint),
                None => f.message.push_str(&hint),
            }
        }
        f
    })?;
    let (id, mut job) = (sent.id, sent.job.clone());
    eprintln!(
        "{} {}purge job {id} for {} (key {}).",
        sent.verb(),
        if args.dry_run { "dry-run " } else { "" },
        args.target,
        sent.key
    );
    if args.wait || args.dry_run {
        let follow = Follow {
            route: "/api/v1/purges",
            poll: Duration::from_secs(1),
            render: &render,
        };
        job = super::follow::follow(&client, &follow, id, timeout, job).await?;
        if args.dry_run && super::follow::state_of(&job) == Some(JobState::Completed) {
            let r = &job["result"];
            eprintln!(
                "Would delete {} (about {:.0}s{}); for example: {}",
                crate::domain::text::count(
                    r["matched"].as_u64().unwrap_or_default() as usize,
                    "key",
                    "keys"
                ),
                r["estimated_seconds"].as_f64().unwrap_or(0.0),
                args.rate
                    .map(|r| format!(" at {r} keys/s"))
                    .unwrap_or_default(),
                r["sample"]
                    .as_array()
                    .map(|s| s
                        .iter()
                        .filter_map(Value::as_str)
                        .take(5)
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            );
            if let Some(why) = r["confirmation_needed"].as_str() {
                eprintln!("A purge of this needs --confirm {}: {why}.", args.target);
            }
        }
    }
    if let Some(note) = job["result"]["note"].as_str() {
        eprintln!("Note: {note}.");
    }
    super::follow::finish(args.client.json, id, &job)
}
