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

/// Saves what the browser shows as `NAME.png` under `target/screenshots` (or
/// `$CACHEWARDEN_SCREENSHOTS`): the test run's artifacts, to look at.
pub async fn screenshot(c: &fantoccini::Client, name: &str) {
    let dir = std::env::var_os("CACHEWARDEN_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
        });
    std::fs::create_dir_all(&dir).expect("a screenshot folder");
    let png = c.screenshot().await.expect("a screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write a screenshot");
}

/// Clicks the element `css` selects.
pub async fn click(c: &fantoccini::Client, css: &str) {
    c.find(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
}

/// Types `text` into the field `css` selects.
pub async fn fill(c: &fantoccini::Client, css: &str, text: &str) {
    c.find(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
}

/// The element `css` selects, once it is there (fantoccini's wait has a deadline).
pub async fn wait_for(c: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .for_element(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
}
