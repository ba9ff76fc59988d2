//! A stand-in for what moto does not serve of API Gateway (FlushStageCache, a stage's invoke
//! URL), in front of moto, which serves the rest of the control plane. It checks SigV4 with
//! botocore, the route and `Cache-Control`, and records what it answered
//! (`apigateway_standin.py` says how).

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use super::moto::Moto;
use super::process::{Proc, free_port, repo_root};

/// The credentials the SDK signs with in tests (`Credentials::for_tests`).
const ACCESS_KEY: &str = "ANOTREAL";
const SECRET_KEY: &str = "notrealrnrELgWzOk3IfjzDKtFBhDby";

pub struct ApiGatewayStandIn {
    pub port: u16,
    _proc: Proc,
    dir: TempDir,
}

impl ApiGatewayStandIn {
    pub fn start(moto: &Moto) -> ApiGatewayStandIn {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut cmd = Command::new(repo_root().join(".tools/venv/bin/python"));
        cmd.arg(repo_root().join("tests/it/harness/apigateway_standin.py"))
            .arg(port.to_string())
            .arg(moto.endpoint())
            .args([ACCESS_KEY, SECRET_KEY])
            .arg(dir.path());
        let log = dir.path().join("standin.log");
        let mut proc = Proc::spawn("apigateway stand-in", cmd, libc::SIGTERM, &log);
        proc.wait_ready(Duration::from_secs(20), || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains("ready"))
        });
        ApiGatewayStandIn {
            port,
            _proc: proc,
            dir,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SDK settings whose every call goes through the stand-in, with the test credentials.
    pub async fn sdk_config(&self, region: &str) -> aws_config::SdkConfig {
        super::moto::sdk_config_at(&self.endpoint(), region).await
    }

    /// Answers `statuses` in turn to requests for `path` (the last one repeats).
    pub fn script(&self, path: &str, statuses: &[u16]) {
        let file = self.dir.path().join("script.json");
        let mut script: serde_json::Map<String, Value> = std::fs::read_to_string(&file)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        script.insert(path.to_owned(), serde_json::json!(statuses));
        std::fs::write(&file, Value::Object(script).to_string()).expect("write script");
    }

    /// Every request it answered itself (flushes and invoke-URL requests), in order.
    pub fn requests(&self) -> Vec<Value> {
        self.lines("requests.jsonl")
    }

    /// Every request it passed on to moto (`{"method", "path"}`), in order.
    pub fn forwarded(&self) -> Vec<Value> {
        self.lines("forwarded.jsonl")
    }

    fn lines(&self, file: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join(file))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}
