//! Headless Chromium driven through chromedriver (Debian's `chromium` and `chromium-driver`).

use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use super::process::{Proc, free_port, http_get};

/// A chromedriver and a WebDriver session in headless Chromium.
pub struct Browser {
    pub client: fantoccini::Client,
    _driver: Proc,
    _dir: TempDir,
}

impl Browser {
    pub async fn start() -> Browser {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut cmd = Command::new("chromedriver");
        cmd.arg(format!("--port={port}"));
        let mut driver = Proc::spawn(
            "chromedriver",
            cmd,
            libc::SIGTERM,
            &dir.path().join("chromedriver.log"),
        );
        driver.wait_ready(Duration::from_secs(20), || {
            http_get(port, "/status").is_some_and(|r| r.contains("\"ready\":true"))
        });
        let profile = dir.path().join("profile");
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-dev-shm-usage", "--no-first-run", "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                    "--window-size=1280,900"
                ]
            }
        });
        let caps = match caps {
            serde_json::Value::Object(m) => m,
            _ => unreachable!(),
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = fantoccini::ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("cannot start headless Chromium: {e}\n{}", driver.log()));
        Browser {
            client,
            _driver: driver,
            _dir: dir,
        }
    }

    /// Ends the browser session (the driver process stops when dropped).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
