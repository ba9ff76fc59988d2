//! `cachewarden health`: asks a daemon whether it is alive (`/healthz`) or ready (`/readyz`),
//! for container health checks in images that carry no curl. Exit 0 when it says so, 1 when
//! not or unreachable, 2 for a bad `--server`.

use std::time::Duration;

use super::Failure;
use super::client::exit;

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// The daemon.
    #[arg(
        long,
        env = "CACHEWARDEN_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// Check readiness (the database takes writes) instead of liveness.
    #[arg(long)]
    ready: bool,
}

pub(super) async fn run(args: HealthArgs) -> Result<(), Failure> {
    let base = super::client::server_url(&args.server)?;
    let path = if args.ready { "readyz" } else { "healthz" };
    let url = base.join(path).map_err(super::fail)?;
    let unhealthy = |message: String| Failure::new(exit::FAILED, message);
    let answer = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(super::fail)?
        .get(url.clone())
        .send()
        .await
        .map_err(|e| unhealthy(format!("cannot reach {url}: {e}")))?;
    match answer.status().as_u16() {
        200 => Ok(()),
        status => {
            let body = answer.text().await.unwrap_or_default();
            Err(unhealthy(format!(
                "{url} answered {status}: {}",
                body.trim()
            )))
        }
    }
}
