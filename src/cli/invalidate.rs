//! `cachewarden invalidate`: for deploy pipelines. Safe to re-run: the same
//! `--idempotency-key` returns the same job (never a second CloudFront invalidation).
//! Progress goes to stderr; `--json` prints the job on stdout.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Failure;
use super::client::{Client, ClientArgs, exit};

#[derive(Debug, clap::Args)]
pub struct InvalidateArgs {
    #[command(flatten)]
    client: ClientArgs,
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
    Failure {
        code: exit::INVALID_INPUT,
        message,
    }
}

pub(super) async fn run(args: InvalidateArgs) -> Result<(), Failure> {
    let timeout = humantime::parse_duration(&args.timeout).map_err(|_| {
        invalid(format!(
            "--timeout: {:?} is not a duration like \"15m\"",
            args.timeout
        ))
    })?;
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
    let key = args
        .idempotency_key
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let (status, mut job) = client
        .call(
            reqwest::Method::POST,
            "/api/v1/invalidations",
            Some(&key),
            Some(&json!({ "target": args.target, "items": items })),
        )
        .await?;
    let id = job["id"].as_i64().ok_or_else(|| Failure {
        code: exit::FAILED,
        message: "the server answered without a job id".into(),
    })?;
    eprintln!(
        "{} invalidation job {id} for {} ({} items, key {key}).",
        if status == 200 {
            "Found existing"
        } else {
            "Queued"
        },
        args.target,
        items.len()
    );
    if args.wait {
        job = wait(&client, id, timeout, job).await?;
    }
    let outcome = match job["state"].as_str() {
        Some("failed") | Some("cancelled") => Err(Failure {
            code: exit::FAILED,
            message: format!(
                "job {id} {}: {}",
                job["state"].as_str().unwrap_or_default(),
                job["error"].as_str().unwrap_or("no reason given")
            ),
        }),
        _ => Ok(()),
    };
    if args.client.json {
        println!("{}", serde_json::to_string_pretty(&job).unwrap_or_default());
    }
    outcome
}

/// Follows the job until it is final or `timeout` passed, printing state changes.
async fn wait(
    client: &Client,
    id: i64,
    timeout: Duration,
    mut job: Value,
) -> Result<Value, Failure> {
    let started = Instant::now();
    let mut last = String::new();
    loop {
        let state = job["state"].as_str().unwrap_or("unknown").to_owned();
        let note = job["cloudfront"]["note"].as_str().unwrap_or_default();
        let line = match job["cloudfront"]["invalidation_id"].as_str() {
            Some(inv) => format!(
                "job {id} {state} (CloudFront {inv}{})",
                if note.is_empty() {
                    String::new()
                } else {
                    format!(": {note}")
                }
            ),
            None if !note.is_empty() => format!("job {id} {state} ({note})"),
            None => format!("job {id} {state}"),
        };
        if line != last {
            eprintln!("[{:>4}s] {line}", started.elapsed().as_secs());
            last = line;
        }
        if matches!(state.as_str(), "completed" | "failed" | "cancelled") {
            if state == "completed" {
                eprintln!("Completed in {}s.", started.elapsed().as_secs());
            }
            return Ok(job);
        }
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(Failure {
                code: exit::TIMED_OUT,
                message: format!(
                    "job {id} still {state} after {}; it continues in the daemon (follow it with GET /api/v1/invalidations/{id})",
                    humantime::format_duration(timeout)
                ),
            });
        }
        let wait_s = left.as_secs().clamp(1, 20);
        let (_, next) = client
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/invalidations/{id}?wait={wait_s}s&seen={state}"),
                None,
                None,
            )
            .await?;
        job = next;
    }
}
