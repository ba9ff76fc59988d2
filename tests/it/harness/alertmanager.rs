//! Prometheus Alertmanager (Debian's prometheus-alertmanager), alone: no cluster, one receiver
//! that sends nowhere. Tests read what it holds through its own v2 API.

use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use super::process::{Proc, free_port, http_get};

pub struct Alertmanager {
    pub port: u16,
    _proc: Proc,
    _dir: TempDir,
}

impl Alertmanager {
    pub fn start() -> Alertmanager {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(
            &config,
            "route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n",
        )
        .unwrap();
        let port = free_port();
        let mut cmd = Command::new("prometheus-alertmanager");
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=");
        let mut proc = Proc::spawn(
            "alertmanager",
            cmd,
            libc::SIGTERM,
            &dir.path().join("alertmanager.log"),
        );
        proc.wait_ready(Duration::from_secs(30), || {
            http_get(port, "/-/ready").is_some_and(|r| r.starts_with("HTTP/1.1 200"))
        });
        Alertmanager {
            port,
            _proc: proc,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The alerts it holds (`GET /api/v2/alerts`), active and resolved.
    pub async fn alerts(&self) -> Vec<serde_json::Value> {
        reqwest::get(format!(
            "{}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true",
            self.url()
        ))
        .await
        .expect("alertmanager answers")
        .json()
        .await
        .expect("a JSON list")
    }
}
