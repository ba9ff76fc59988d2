//! The application under test, built in-process through `startup::Application` on port 0
//! with a fresh database.

use std::net::SocketAddr;

use cachewarden::auth::manage::{self, TokenRequest};
use cachewarden::cloudfront::CloudFrontApi;
use cachewarden::config::{self, Settings};
use cachewarden::startup::{Application, Overrides};
use cachewarden::store::Store;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestApp {
    pub address: SocketAddr,
    pub store: Store,
    pub settings: Settings,
    /// The configuration in force; drive polls with `collector().poll_target_once(..)`
    /// (nothing polls on a schedule here).
    pub live: Arc<cachewarden::live::Live>,
    /// Reloads as SIGHUP and the API do.
    pub reloader: Arc<cachewarden::reload::Reloader>,
    /// Drive jobs with `jobs.run_once(now)`; nothing runs them on its own here.
    pub jobs: Arc<cachewarden::jobs::Runtime>,
    /// Measure recent changes with `impact.measure_recent(now)`, as the leader does each minute.
    pub impact: Arc<cachewarden::impact::ImpactService>,
    /// Deliver the outbox with `notifications.run_once(now)`.
    pub notifications: Arc<cachewarden::notify::NotifyWorker>,
    /// Run a discovery with `discover_once(name)`; nothing runs it on its own here.
    pub discovery: Arc<cachewarden::discovery::DiscoveryService>,
    pub http: reqwest::Client,
    /// Kept so the SQLite file lives as long as the app.
    pub dir: TempDir,
    /// `/setup?code=…` while nobody exists (what `serve` logs).
    pub setup_link: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// An app on a fresh SQLite file, configured with `toml` (its `[database]` is replaced).
    pub async fn sqlite(toml: &str) -> TestApp {
        let (dir, url) = fresh_sqlite();
        Self::start(toml, &url, dir).await
    }

    /// An app on the given database URL.
    pub async fn on_database(toml: &str, url: &str) -> TestApp {
        Self::start(toml, url, tempfile::tempdir().expect("temp dir")).await
    }

    /// An app on a fresh SQLite file whose AWS clients use `aws` (an emulator).
    pub async fn with_aws(toml: &str, aws: aws_config::SdkConfig) -> TestApp {
        let (dir, url) = fresh_sqlite();
        Self::start_with(toml, &url, dir, Some(aws), false).await
    }

    /// An app on a fresh SQLite file with its scheduler running (polls on their own).
    pub async fn sqlite_scheduled(toml: &str) -> TestApp {
        let (dir, url) = fresh_sqlite();
        Self::start_with(toml, &url, dir, None, true).await
    }

    async fn start(toml: &str, url: &str, dir: TempDir) -> TestApp {
        Self::start_with(toml, url, dir, None, false).await
    }

    async fn start_with(
        toml: &str,
        url: &str,
        dir: TempDir,
        aws: Option<aws_config::SdkConfig>,
        scheduled: bool,
    ) -> TestApp {
        Self::start_full(toml, url, dir, aws, None, scheduled, None).await
    }

    /// An app on a fresh SQLite file whose CloudFront is `api` (a scripted stand-in).
    pub async fn with_cloudfront(toml: &str, api: Arc<dyn CloudFrontApi>) -> TestApp {
        let (dir, url) = fresh_sqlite();
        Self::start_full(toml, &url, dir, None, Some(api), false, None).await
    }

    /// Like [`Self::with_cloudfront`], with the worker and scheduler running on their own
    /// (for clients that wait, such as the CLI).
    pub async fn with_cloudfront_running(toml: &str, api: Arc<dyn CloudFrontApi>) -> TestApp {
        let (dir, url) = fresh_sqlite();
        Self::start_full(toml, &url, dir, None, Some(api), true, None).await
    }

    /// An app on a fresh SQLite file with AWS at `aws`, everything running on its own.
    pub async fn with_aws_running(toml: &str, aws: aws_config::SdkConfig) -> TestApp {
        let (dir, url) = fresh_sqlite();
        Self::start_full(toml, &url, dir, Some(aws), None, true, None).await
    }

    /// An app on an existing SQLite file (a restart).
    pub async fn restart_sqlite(toml: &str, dir: TempDir) -> TestApp {
        let url = format!("sqlite://{}", dir.path().join("cachewarden.db").display());
        Self::start_full(toml, &url, dir, None, None, false, None).await
    }

    /// An app on an existing SQLite file (a restart), with AWS at `aws`.
    pub async fn restart_with_aws(toml: &str, dir: TempDir, aws: aws_config::SdkConfig) -> TestApp {
        let url = format!("sqlite://{}", dir.path().join("cachewarden.db").display());
        Self::start_full(toml, &url, dir, Some(aws), None, false, None).await
    }

    /// An app on an existing SQLite file (a restart), with CloudFront `api`.
    pub async fn restart_with_cloudfront(
        toml: &str,
        dir: TempDir,
        api: Arc<dyn CloudFrontApi>,
    ) -> TestApp {
        let url = format!("sqlite://{}", dir.path().join("cachewarden.db").display());
        Self::start_full(toml, &url, dir, None, Some(api), false, None).await
    }

    /// An app on a fresh SQLite file configured from a file holding `toml` (with this app's
    /// `[server]` and `[database]`), which `reconfigure` rewrites and a reload reads again.
    pub async fn from_file(toml: &str) -> TestApp {
        Self::from_file_with(toml, None).await
    }

    /// Like [`Self::from_file`], with CloudFront `api`.
    pub async fn from_file_with(toml: &str, api: Option<Arc<dyn CloudFrontApi>>) -> TestApp {
        let (dir, url) = fresh_sqlite();
        let file = dir.path().join("cachewarden.toml");
        std::fs::write(&file, with_own_sections(toml, &url)).expect("write the configuration");
        Self::start_full(toml, &url, dir, None, api, false, Some(file)).await
    }

    /// Rewrites the file of an app made by [`Self::from_file`] (not yet reloaded).
    pub fn reconfigure(&self, toml: &str) {
        let url = self.settings.database.url.expose_secret().to_owned();
        std::fs::write(self.config_file(), with_own_sections(toml, &url))
            .expect("write the configuration");
    }

    /// The configuration file of an app made by [`Self::from_file`].
    pub fn config_file(&self) -> std::path::PathBuf {
        self.dir.path().join("cachewarden.toml")
    }

    /// The names of the targets `token` may see, as `/api/v1/targets` lists them.
    pub async fn target_names(&self, token: &str) -> Vec<String> {
        let listed = self.get_json("/api/v1/targets", Some(token)).await;
        listed["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("a target list: {listed}"))
            .iter()
            .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Runs discovery `name` once, as the leader does on its turn, and puts its set in force.
    pub async fn discover_once(&self, name: &str) -> cachewarden::discovery::RunReport {
        cachewarden::startup::discover_now(&self.discovery, &self.live, &self.reloader, name)
            .await
            .unwrap_or_else(|e| panic!("discovery {name} could not run: {e:#}"))
    }

    /// The collector in force (a reload replaces it).
    pub fn collector(&self) -> Arc<cachewarden::collector::Collector> {
        self.live.collector()
    }

    async fn start_full(
        toml: &str,
        url: &str,
        dir: TempDir,
        aws: Option<aws_config::SdkConfig>,
        cloudfront: Option<Arc<dyn CloudFrontApi>>,
        scheduled: bool,
        config_file: Option<std::path::PathBuf>,
    ) -> TestApp {
        let mut settings = config::load_from(Some(toml), Vec::new())
            .unwrap_or_else(|e| panic!("test configuration is invalid:\n{e}"));
        settings.database.url = SecretString::from(url.to_owned());
        settings.server.listen = "127.0.0.1:0".parse().expect("static address");
        let store = Store::connect(&settings.database.url, 5)
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        let overrides = Overrides { aws, cloudfront };
        let app = Application::build_with(settings.clone(), store.clone(), overrides)
            .await
            .expect("build the application");
        let app = if scheduled {
            app
        } else {
            app.without_background()
        };
        let address = app.address();
        let app = match config_file {
            Some(file) => app.reading_config_from(cachewarden::reload::Source {
                file: Some(file),
                listen: None,
            }),
            None => app,
        };
        let live = app.live();
        let reloader = app.reloader();
        let jobs = app.jobs();
        let impact = app.impact();
        let notifications = app.notifications();
        let discovery = app.discovery();
        let setup_link = app.setup_link().map(str::to_owned);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        TestApp {
            address,
            store,
            settings,
            live,
            reloader,
            jobs,
            impact,
            notifications,
            discovery,
            http: reqwest::Client::new(),
            dir,
            setup_link,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:PORT{path}`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Creates a token the way the CLI and the API do, and returns its secret.
    pub async fn token(&self, name: &str, scopes: &[&str], targets: &[&str]) -> String {
        let request = TokenRequest {
            name: name.to_owned(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            targets: targets.iter().map(|s| s.to_string()).collect(),
            expires_in: None,
        };
        let spec = manage::parse_request(&request, &self.settings).expect("valid token request");
        let (secret, _) = manage::create(&self.store, &spec, "test")
            .await
            .expect("create token");
        secret.expose_secret().to_owned()
    }

    /// A request with an optional bearer token and JSON body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> reqwest::Response {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.expect("request reaches the app")
    }

    /// GET with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    /// GET answered with JSON (any status: check `status` in the body's shape if it matters).
    pub async fn get_json(&self, path: &str, token: Option<&str>) -> serde_json::Value {
        self.get(path, token)
            .await
            .json()
            .await
            .expect("a JSON answer")
    }

    /// POST a JSON body with an optional bearer token.
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// POST a JSON body with `token` and an optional `Idempotency-Key`.
    pub async fn post_keyed(
        &self,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        let mut req = self.http.post(self.url(path)).bearer_auth(token).json(body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.expect("request reaches the app")
    }

    /// PATCH a JSON body with an optional bearer token.
    pub async fn patch(
        &self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.send(reqwest::Method::PATCH, path, token, Some(body))
            .await
    }

    /// DELETE with an optional bearer token.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.send(reqwest::Method::DELETE, path, token, None).await
    }

    /// Stops the app and hands back its data directory, to start another on the same data.
    pub async fn stop_keeping_data(mut self) -> TempDir {
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        self.stop().await;
        dir
    }

    /// Stops the app gracefully and checks it stopped without error.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("app task").expect("app stopped cleanly");
        }
    }
}

/// What a CLI client command did.
pub struct CliRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl TestApp {
    /// Runs `cachewarden ARGS` as a client of this app (`CACHEWARDEN_SERVER`, and
    /// `CACHEWARDEN_TOKEN` when given), without blocking the runtime the app is served from.
    pub async fn cli(&self, token: Option<&str>, args: &[&str]) -> CliRun {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_cachewarden"));
        cmd.args(args)
            .env("CACHEWARDEN_SERVER", self.url(""))
            .env_remove("CACHEWARDEN_TOKEN")
            .kill_on_drop(true);
        if let Some(t) = token {
            cmd.env("CACHEWARDEN_TOKEN", t);
        }
        let out = cmd.output().await.expect("run cachewarden");
        CliRun {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    }
}

/// A temporary directory and the URL of a SQLite file in it.
fn fresh_sqlite() -> (TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("cachewarden.db").display());
    (dir, url)
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Checks an error answer: status, stable code, the field named (if any), and that the
/// message contains `message`. Returns the body for further checks.
pub async fn expect_error(
    what: &str,
    res: reqwest::Response,
    status: u16,
    code: &str,
    field: Option<&str>,
    message: &str,
) -> serde_json::Value {
    assert_eq!(res.status().as_u16(), status, "{what}");
    let body: serde_json::Value = res.json().await.expect("an error body is JSON");
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    assert_eq!(body["error"]["field"].as_str(), field, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(message),
        "{what}: {body}"
    );
    body
}

impl TestApp {
    /// One polling interval of a Redis target: traffic (see `redis::traffic`), then a poll,
    /// which must succeed.
    pub async fn redis_interval(
        &self,
        c: &mut ::redis::aio::MultiplexedConnection,
        target: &str,
        hits: usize,
        misses: usize,
    ) {
        super::redis::traffic(c, hits, misses).await;
        let report = self
            .collector()
            .poll_target_once(target)
            .await
            .expect("a configured target");
        assert_eq!(report.error, None, "poll of {target}");
    }

    /// Evaluates the alarms on `target` as if it were `later_ms` from now (reminders, expiry
    /// of holds) without waiting for that time to come.
    pub async fn evaluate_later(&self, target: &str, later_ms: i64) {
        self.collector()
            .alarms()
            .expect("alarms are evaluated")
            .evaluate_once(
                &[target.to_owned()],
                cachewarden::store::now_ms() + later_ms,
            )
            .await
            .expect("evaluate");
    }

    /// A GET sent from a task of its own (for long-polls), answered as JSON.
    pub fn spawn_get(&self, path: &str, token: &str) -> tokio::task::JoinHandle<serde_json::Value> {
        let (http, url, token) = (self.http.clone(), self.url(path), token.to_owned());
        tokio::spawn(async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("JSON")
        })
    }
}

/// `toml` with the `[server]` and `[database]` of a test app, so that reloading the file
/// changes nothing that only a restart applies.
fn with_own_sections(toml: &str, url: &str) -> String {
    format!("[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"{url}\"\n{toml}")
}
