//! Following a job from the CLI until it is final: what it shows on stderr while it waits
//! (a line per change, or a live spinner line on a terminal), and the exit code a timeout or
//! a failure gives. Shared by every client command that submits a job.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Failure;
use super::client::{Client, exit};
use crate::domain::JobState;

/// How to follow one kind of job.
pub struct Follow<'a> {
    /// The kind's route, e.g. `/api/v1/purges`.
    pub route: &'a str,
    /// How long one long-poll may wait for a state change; progress that changes without a
    /// state change (a purge's counts) wants a short one.
    pub poll: Duration,
    /// The job as one line, without the elapsed time.
    pub render: &'a dyn Fn(&Value) -> String,
}

/// `--timeout`, or exit 2 naming it.
pub fn timeout_arg(text: &str) -> Result<Duration, Failure> {
    humantime::parse_duration(text).map_err(|_| {
        Failure::new(
            exit::INVALID_INPUT,
            format!("--timeout: {text:?} is not a duration like \"15m\""),
        )
    })
}

/// A job submitted by a client command.
pub struct Submitted {
    pub id: i64,
    pub job: Value,
    /// The Idempotency-Key it went with (a fresh one when none was given).
    pub key: String,
    /// An earlier run with the same key had made it.
    pub replayed: bool,
}

/// POSTs `body` to `route` with `key` (a fresh key when none: this run's own retries stay
/// safe), and reads the job the daemon answers with.
pub async fn submit(
    client: &Client,
    route: &str,
    body: &Value,
    key: Option<&str>,
) -> Result<Submitted, Failure> {
    let key = key
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let (status, job) = client
        .call(reqwest::Method::POST, route, Some(&key), Some(body))
        .await?;
    Ok(Submitted {
        id: job_id(&job)?,
        job,
        key,
        replayed: status == 200,
    })
}

impl Submitted {
    /// "Queued" or "Found existing", to start the first line with.
    pub fn verb(&self) -> &'static str {
        if self.replayed {
            "Found existing"
        } else {
            "Queued"
        }
    }
}

/// Prints the job as JSON when asked, and exits as its state says.
pub fn finish(json: bool, id: i64, job: &Value) -> Result<(), Failure> {
    if json {
        println!("{}", serde_json::to_string_pretty(job).unwrap_or_default());
    }
    outcome(id, job).map_err(|mut f| {
        // The job's JSON, with its state and error, is the answer on stdout.
        f.answered = json;
        f
    })
}

/// The id of a job the daemon answered with.
pub fn job_id(job: &Value) -> Result<i64, Failure> {
    job["id"]
        .as_i64()
        .ok_or_else(|| Failure::new(exit::FAILED, "the server answered without a job id"))
}

/// The state of a job the daemon answered with (`None`: it named none this build knows).
pub fn state_of(job: &Value) -> Option<JobState> {
    job["state"].as_str()?.parse().ok()
}

/// Whether the job is final.
pub fn is_final(job: &Value) -> bool {
    state_of(job).is_some_and(JobState::is_final)
}

/// Follows job `id` until it is final or `timeout` passed (exit 3; the job goes on).
pub async fn follow(
    client: &Client,
    f: &Follow<'_>,
    id: i64,
    timeout: Duration,
    mut job: Value,
) -> Result<Value, Failure> {
    let started = Instant::now();
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.enable_steady_tick(Duration::from_millis(120));
        b
    });
    let mut last = String::new();
    loop {
        let line = crate::domain::text::printable(&(f.render)(&job)).into_owned();
        if line != last {
            match &bar {
                Some(b) => b.set_message(line.clone()),
                None => eprintln!("[{:>4}s] {line}", started.elapsed().as_secs()),
            }
            last = line;
        }
        let state = job["state"].as_str().unwrap_or("unknown").to_owned();
        if is_final(&job) {
            if let Some(b) = &bar {
                b.finish_with_message(last.clone());
            }
            if state_of(&job) == Some(JobState::Completed) {
                eprintln!("Completed in {}s.", started.elapsed().as_secs());
            }
            return Ok(job);
        }
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            if let Some(b) = &bar {
                b.abandon();
            }
            let message = format!(
                "job {id} still {state} after {}; it goes on in the daemon: follow it with `cachewarden job wait {id}`",
                humantime::format_duration(timeout),
            );
            let mut failure = Failure::new(exit::TIMED_OUT, message.clone());
            failure.error = Some(serde_json::json!({
                "code": "timed_out", "message": message, "job_id": id, "state": state,
            }));
            return Err(failure);
        }
        let wait_s = left.min(f.poll).as_secs().max(1);
        let (_, next) = client
            .call(
                reqwest::Method::GET,
                &format!("{}/{id}?wait={wait_s}s&seen={state}", f.route),
                None,
                None,
            )
            .await?;
        job = next;
    }
}

/// Exit 1 with the reason when the job failed or was cancelled.
pub fn outcome(id: i64, job: &Value) -> Result<(), Failure> {
    match state_of(job) {
        Some(s @ (JobState::Failed | JobState::Cancelled)) => Err(Failure::new(
            exit::FAILED,
            format!(
                "job {id} {s}: {}",
                job["error"].as_str().unwrap_or("no reason given")
            ),
        )),
        _ => Ok(()),
    }
}
