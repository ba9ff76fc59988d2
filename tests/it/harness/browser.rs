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
            // The console is read at the end of every test: an error there (a script that
            // failed, a style or script the CSP refused) fails the test.
            "goog:loggingPrefs": { "browser": "ALL" },
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

    /// Ends the browser session (the driver process stops when dropped), after checking that
    /// nothing the pages did logged an error in the console.
    pub async fn close(self) {
        let errors = console_errors(&self.client).await;
        let _ = self.client.close().await;
        assert!(
            errors.is_empty(),
            "the browser's console has errors: {errors:#?}"
        );
    }
}

/// chromedriver's console log (what the browser logged since the last read).
#[derive(Debug)]
struct ConsoleLog;

impl fantoccini::wd::WebDriverCompatibleCommand for ConsoleLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// The errors the browser logged since the last read: failed scripts, refused resources,
/// Content-Security-Policy violations. A form drawn again with its errors is answered 400
/// (403, 409, 422, 429) on purpose, which Chromium also logs; those are not errors here.
pub async fn console_errors(c: &fantoccini::Client) -> Vec<String> {
    let log = c
        .issue_cmd(ConsoleLog)
        .await
        .expect("the browser's console log");
    let deliberate =
        [400, 403, 409, 422, 429].map(|s| format!("the server responded with a status of {s} "));
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .filter(|m| !deliberate.iter().any(|d| m.contains(d.as_str())))
        .collect()
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
