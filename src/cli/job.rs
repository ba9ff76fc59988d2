//! `cachewarden job show|wait|cancel|list`: follow up on any job (an invalidation, a purge, an
//! event) through a running daemon: what a pipeline needs after `--timeout` ran out, or to
//! stop something it started. `--json` prints the daemon's answer on stdout.

use std::time::Duration;

use serde_json::Value;

use super::Failure;
use super::client::{Client, ClientArgs};
use super::follow::Follow;
use crate::domain::JobState;

#[derive(Debug, clap::Subcommand)]
pub enum JobCommand {
    /// Show one job: its kind, target, state, progress and error.
    Show {
        /// The job id (printed when it was submitted).
        id: i64,
    },
    /// Wait until the job ends, showing its progress; exit 0 when it completed, 1 when it
    /// failed or was cancelled, 3 when --timeout ran out first (the job goes on).
    Wait {
        /// The job id.
        id: i64,
        /// Give up (exit 3) after this long.
        #[arg(long, default_value = "1h")]
        timeout: String,
    },
    /// Ask a job to stop: one not started yet is cancelled at once; a running one stops at
    /// its next safe point (a CloudFront invalidation already sent cannot be stopped).
    Cancel {
        /// The job id.
        id: i64,
    },
    /// The newest jobs, one per line.
    List {
        /// Only jobs of this kind.
        #[arg(long, value_parser = kind_names())]
        kind: Option<String>,
        /// Only jobs on this target.
        #[arg(long)]
        target: Option<String>,
        /// Only jobs in this state.
        #[arg(long, value_parser = state_names())]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value = "20")]
        limit: u32,
    },
}

/// The registered job kinds, for `--kind` (its help lists them; anything else is refused).
fn kind_names() -> clap::builder::PossibleValuesParser {
    crate::registry::job_kinds()
        .into_iter()
        .map(|k| k.name)
        .collect::<Vec<_>>()
        .into()
}

/// The job states, for `--state`.
fn state_names() -> clap::builder::PossibleValuesParser {
    JobState::ALL.map(JobState::as_str).into()
}

#[derive(Debug, clap::Args)]
pub struct JobArgs {
    #[command(flatten)]
    pub(super) client: ClientArgs,
    #[command(subcommand)]
    command: JobCommand,
}

/// A job as one line: `#12 redis_purge on sessions: running (matched 40, deleted 38)`.
fn line(job: &Value) -> String {
    let counts: Vec<String> = job["progress"]
        .as_object()
        .or(job["result"].as_object())
        .into_iter()
        .flatten()
        .filter(|(k, v)| {
            v.is_u64() && matches!(k.as_str(), "matched" | "deleted" | "children" | "receivers")
        })
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let mut out = format!(
        "#{} {}{} on {}: {}",
        job["id"],
        job["kind"].as_str().unwrap_or_default(),
        if job["dry_run"] == true {
            " (dry run)"
        } else {
            ""
        },
        job["target"].as_str().unwrap_or_default(),
        job["state"].as_str().unwrap_or_default(),
    );
    if !counts.is_empty() {
        out.push_str(&format!(" ({})", counts.join(", ")));
    }
    if let Some(e) = job["error"].as_str() {
        out.push_str(&format!(": {e}"));
    }
    out
}

fn print(json: bool, value: &Value, text: impl FnOnce() -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        println!("{}", crate::domain::text::printable(&text()));
    }
}

pub(super) async fn run(args: JobArgs) -> Result<(), Failure> {
    let client = Client::new(&args.client.server, args.client.token.clone())?;
    let json = args.client.json;
    match args.command {
        JobCommand::Show { id } => {
            let (_, job) = client.get(&format!("/api/v1/jobs/{id}")).await?;
            print(json, &job, || line(&job));
            Ok(())
        }
        JobCommand::Wait { id, timeout } => {
            let timeout = super::follow::timeout_arg(&timeout)?;
            let (_, job) = client.get(&format!("/api/v1/jobs/{id}")).await?;
            let follow = Follow {
                route: "/api/v1/jobs",
                poll: Duration::from_secs(1),
                render: &line,
            };
            let job = super::follow::follow(&client, &follow, id, timeout, job).await?;
            super::follow::finish(json, id, &job)
        }
        JobCommand::Cancel { id } => {
            let (_, answer) = client
                .send(
                    reqwest::Method::POST,
                    &format!("/api/v1/jobs/{id}/cancel"),
                    &serde_json::json!({}),
                )
                .await?;
            print(json, &answer, || {
                answer["message"].as_str().unwrap_or_default().to_owned()
            });
            Ok(())
        }
        JobCommand::List {
            kind,
            target,
            state,
            limit,
        } => {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("limit", &limit.to_string());
            for (k, v) in [("kind", kind), ("target", target), ("state", state)] {
                if let Some(v) = v {
                    query.append_pair(k, &v);
                }
            }
            let (_, page) = client
                .get(&format!("/api/v1/jobs?{}", query.finish()))
                .await?;
            print(json, &page, || {
                let jobs = page["jobs"].as_array().cloned().unwrap_or_default();
                if jobs.is_empty() {
                    "No jobs.".to_owned()
                } else {
                    jobs.iter().map(line).collect::<Vec<_>>().join("\n")
                }
            });
            Ok(())
        }
    }
}
