//! The CLI's side of the JSON API: one request with the token, retried on connection errors
//! when that is safe (reads, deletes, and POSTs with an idempotency key), errors mapped to
//! exit codes.

use std::time::Duration;

use serde_json::Value;

use super::Failure;

/// Exit codes of the client commands (documented in the README); 0 is success.
pub mod exit {
    pub const FAILED: u8 = 1;
    pub const INVALID_INPUT: u8 = 2;
    pub const TIMED_OUT: u8 = 3;
    pub const NOT_AUTHORISED: u8 = 4;
    /// The daemon could not take the request now (HTTP 503: its database is full or busy);
    /// nothing about the request was wrong, so retry later.
    pub const UNAVAILABLE: u8 = 5;
}

/// Where the daemon is and how to authenticate, shared by every client command.
#[derive(Debug, clap::Args)]
pub struct ClientArgs {
    /// The cachewarden daemon.
    #[arg(
        long,
        global = true,
        env = "CACHEWARDEN_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// The API token.
    #[arg(long, global = true, env = "CACHEWARDEN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the server's JSON answer on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

pub struct Client {
    http: reqwest::Client,
    server: String,
    token: String,
}

/// `--server` as a URL: http or https, with a host.
pub fn server_url(server: &str) -> Result<url::Url, Failure> {
    url::Url::parse(server)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| Failure {
            code: exit::INVALID_INPUT,
            message: format!(
                "--server: {server:?} is not the daemon's URL, like https://cachewarden.example.com"
            ),
        })
}

/// Connection attempts before giving up on an unreachable daemon.
const ATTEMPTS: u32 = 4;

impl Client {
    pub fn new(server: &str, token: Option<String>) -> Result<Self, Failure> {
        server_url(server)?;
        let token = token.filter(|t| !t.is_empty()).ok_or_else(|| Failure {
            code: exit::NOT_AUTHORISED,
            message: "no token: set CACHEWARDEN_TOKEN (create one with `cachewarden token create`)"
                .into(),
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("cachewarden-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure {
                code: exit::FAILED,
                message: format!("cannot create an HTTP client: {e}"),
            })?;
        Ok(Self {
            http,
            server: server.trim_end_matches('/').to_owned(),
            token,
        })
    }

    pub async fn get(&self, path: &str) -> Result<(u16, Value), Failure> {
        self.call(reqwest::Method::GET, path, None, None).await
    }

    pub async fn delete(&self, path: &str) -> Result<(u16, Value), Failure> {
        self.call(reqwest::Method::DELETE, path, None, None).await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> Result<(u16, Value), Failure> {
        self.call(method, path, None, Some(body)).await
    }

    /// Sends a request; returns the status and the JSON body. Connection failures are retried
    /// with backoff; HTTP errors are mapped to failures with the server's message.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Value), Failure> {
        let url = format!("{}{path}", self.server);
        // A POST without a key might be applied twice if retried after a lost answer.
        let attempts = if method == reqwest::Method::POST && key.is_none() {
            1
        } else {
            ATTEMPTS
        };
        let mut last = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
            }
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.token);
            if let Some(k) = key {
                req = req.header("Idempotency-Key", k);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            match req.send().await {
                Ok(res) => {
                    let status = res.status().as_u16();
                    let json: Value = res.json().await.unwrap_or(Value::Null);
                    return match status {
                        200..=299 => Ok((status, json)),
                        401 | 403 => Err(Failure {
                            code: exit::NOT_AUTHORISED,
                            message: server_message(&json, status),
                        }),
                        400 | 404 | 409 | 413 | 415 | 422 => Err(Failure {
                            code: exit::INVALID_INPUT,
                            message: server_message(&json, status),
                        }),
                        // 5xx: the daemon is there but failing; retrying is safe with the key.
                        500..=599 if attempt + 1 < attempts => {
                            last = server_message(&json, status);
                            continue;
                        }
                        503 => Err(Failure {
                            code: exit::UNAVAILABLE,
                            message: server_message(&json, status),
                        }),
                        _ => Err(Failure {
                            code: exit::FAILED,
                            message: server_message(&json, status),
                        }),
                    };
                }
                Err(e) => last = format!("cannot reach {}: {e}", self.server),
            }
        }
        Err(Failure {
            code: exit::FAILED,
            message: last,
        })
    }
}

/// The server's error message, with the field it names, then each bad element it lists (one
/// per line, so a pipeline's log shows everything to fix at once).
fn server_message(json: &Value, status: u16) -> String {
    let e = &json["error"];
    let details = e["details"].as_array().filter(|d| d.len() > 1);
    // With several bad elements, each line below names its own field.
    let field = e["field"].as_str().filter(|_| details.is_none());
    let mut message = match (e["message"].as_str(), field) {
        (Some(m), Some(f)) if !m.starts_with(f) => format!("{f}: {m} (HTTP {status})"),
        (Some(m), _) => format!("{m} (HTTP {status})"),
        _ => format!("the server answered HTTP {status}"),
    };
    for d in details.into_iter().flatten() {
        let field = d["field"].as_str().unwrap_or("?");
        let rule = d["message"].as_str().unwrap_or_default();
        match d["item"].as_str() {
            Some(item) => message.push_str(&format!("\n  {field} {item:?}: {rule}")),
            None => message.push_str(&format!("\n  {field}: {rule}")),
        }
    }
    message
}
