//! A daemon as its own process (`cachewarden serve`), as operators run several replicas on
//! one PostgreSQL: started on a free port, asked for its role, killed like a crashed node.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cachewarden::auth::manage::{self, TokenRequest};
use cachewarden::store::Store;
use secrecy::{ExposeSecret, SecretString};

use super::process::{Proc, free_port, http_get};

pub struct Replica {
    pub name: String,
    pub port: u16,
    proc: Proc,
}

impl Replica {
    /// Starts `cachewarden serve --config CONFIG` on a free port, with `env`, in and logging
    /// into `dir`, and waits until it answers `/readyz`.
    pub fn start(name: &str, config: &Path, dir: &Path, env: &[(&str, String)]) -> Replica {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cachewarden"));
        cmd.args(["serve", "--config"])
            .arg(config)
            .current_dir(dir)
            .env("CACHEWARDEN__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info");
        // Credentials only from `env` (aws_env()), never from the machine running the tests.
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.join("no-aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut proc = Proc::spawn(name, cmd, libc::SIGTERM, &dir.join(format!("{name}.log")));
        proc.wait_ready(Duration::from_secs(60), || {
            http_get(port, "/readyz").is_some_and(|r| r.starts_with("HTTP/1.1 200"))
        });
        Replica {
            name: name.to_owned(),
            port,
            proc,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `leader` or `follower`, as `/readyz` says; `None` when it does not answer.
    pub fn role(&self) -> Option<String> {
        let answer = http_get(self.port, "/readyz")?;
        let body = answer.split("\r\n\r\n").nth(1)?;
        let v: serde_json::Value = serde_json::from_str(body.trim()).ok()?;
        v["role"].as_str().map(str::to_owned)
    }

    /// Kills it without warning, as a crashed node.
    pub fn kill(&mut self) {
        self.proc
            .signal_and_wait(libc::SIGKILL, Duration::from_secs(5));
    }

    /// GET `path` with `token`, answered as JSON.
    pub async fn get_json(
        &self,
        http: &reqwest::Client,
        path: &str,
        token: &str,
    ) -> serde_json::Value {
        http.get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("the replica answers")
            .json()
            .await
            .expect("a JSON answer")
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// What it logged.
    pub fn log(&self) -> String {
        self.proc.log()
    }
}

/// What the replicas share: one database, Redis polled every second, a CloudFront
/// distribution in moto, a webhook for the alarm.
pub fn config(pg: &str, moto: &str, distribution: &str, redis: &str, hook: &str) -> String {
    format!(
        "[database]\nurl = \"{pg}\"\n\
         [aws]\nregion = \"us-east-1\"\nendpoint = \"{moto}\"\n\
         [invalidation]\ncoalesce_window = \"200ms\"\n\
         [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"{distribution}\"\n\
         [[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{redis}\"\nevery = \"1s\"\n\
         [[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{hook}/hook\"\nsecret = \"s3cret\"\n\
         [[alarms]]\nname = \"sessions-hit-rate\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.5\nnotify = [\"ops\"]\n"
    )
}

/// Static credentials for moto.
pub fn aws_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// An admin token in the shared database.
pub async fn admin_token(toml: &str, pg: &str) -> String {
    let settings = cachewarden::config::load_from(Some(toml), Vec::new()).expect("valid config");
    let store = Store::connect(&SecretString::from(pg.to_owned()), 2)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let request = TokenRequest {
        name: "root".into(),
        scopes: vec!["admin".into()],
        targets: Vec::new(),
        expires_in: None,
    };
    let spec = manage::parse_request(&request, &settings).expect("token request");
    let (secret, _) = manage::create(&store, &spec, "test").await.expect("token");
    store.close().await;
    secret.expose_secret().to_owned()
}
