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
        .ok_or_else(|| Failure::new(exit::INVALID_INPUT, format!(
                "--server: {server:?} is not the daemon's URL, like https://cachewarden.example.com"
            )))
}

/// Connection attempts before giving up on an unreachable daemon.
const ATTEMPTS: u32 = 4;

impl Client {
    pub fn new(server: &str, token: Option<String>) -> Result<Self, Failure> {
        server_url(server)?;
        let token = token.filter(|t| !t.is_empty()).ok_or_else(|| {
            Failure::new(
                exit::NOT_AUTHORISED,
                "no token: set CACHEWARDEN_TOKEN (create one with `cachewarden token create`)",
            )
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("cachewarden-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                Failure::new(exit::FAILED, format!("cannot create an HTTP client: {e}"))
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

    /// Sends a request; returns the status and the JSON body. Failures to connect that may
    /// pass (refused while the daemon restarts, a timeout) are retried with backoff; ones
    /// that will not (a name that does not resolve, TLS against a plain HTTP daemon) stop at
    /// once with what is wrong. HTTP errors become failures carrying the daemon's error.
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
        let mut last = Failure::new(exit::FAILED, String::new());
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
            let res = match req.send().await {
                Ok(res) => res,
                Err(e) => {
                    let (message, retry) = unreachable(&e, &self.server);
                    last = Failure::new(exit::FAILED, message);
                    if retry {
                        continue;
                    }
                    return Err(last);
                }
            };
            let status = res.status().as_u16();
            let json: Value = res.json().await.unwrap_or(Value::Null);
            if (200..300).contains(&status) {
                return Ok((status, json));
            }
            let code = match status {
                401 | 403 => exit::NOT_AUTHORISED,
                400 | 404 | 409 | 413 | 415 | 422 => exit::INVALID_INPUT,
                503 => exit::UNAVAILABLE,
                _ => exit::FAILED,
            };
            let mut failure = Failure::new(code, server_message(&json, status));
            failure.error = json.get("error").cloned();
            // 5xx: the daemon is there but failing; retrying is safe with the key.
            if status >= 500 && attempt + 1 < attempts {
                last = failure;
                continue;
            }
            return Err(failure);
        }
        Err(last)
    }
}

/// Why `server` could not be reached, in one sentence, and whether trying again may help.
fn unreachable(e: &reqwest::Error, server: &str) -> (String, bool) {
    let causes: Vec<&(dyn std::error::Error + 'static)> =
        std::iter::successors(std::error::Error::source(e), |c| c.source()).collect();
    let detail = causes
        .last()
        .map_or_else(|| e.to_string(), ToString::to_string);
    let all = causes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
        .to_lowercase();
    let io = causes
        .iter()
        .find_map(|c| c.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    let plain = server.replacen("https://", "http://", 1);
    if io == Some(std::io::ErrorKind::ConnectionRefused) {
        (
            format!(
                "cannot reach {server}: the connection was refused (is the daemon running and listening there?)"
            ),
            true,
        )
    } else if all.contains("dns error") || all.contains("failed to lookup address") {
        (
            format!("cannot reach {server}: its host name does not resolve ({detail})"),
            false,
        )
    } else if all.contains("invalidcontenttype") || all.contains("corrupt message") {
        (
            format!(
                "cannot reach {server}: it does not answer TLS; if the daemon serves plain HTTP, use --server {plain}"
            ),
            false,
        )
    } else if all.contains("certificate") || all.contains("handshake") || all.contains("tls") {
        (
            format!("cannot reach {server}: the TLS handshake failed ({detail})"),
            false,
        )
    } else if e.is_timeout() {
        (format!("{server} did not answer in time ({detail})"), true)
    } else {
        (format!("cannot reach {server}: {detail}"), true)
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
