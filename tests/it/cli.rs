//! The `cachewarden` binary: check-config, print-default-config, token management, and how
//! failures are reported (one line, documented exit codes).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::harness::TestApp;

fn cachewarden(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cachewarden"))
        .args(args)
        .current_dir(dir)
        .env_remove("CACHEWARDEN_CONFIG")
        .env("USER", "alice")
        .output()
        .expect("run cachewarden")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn check_config_reports_all_three_mistakes_with_lines_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        r#"[server]
listen = "localhost"

[[targets]]
name = "sessions"
kind = "redis"
url = "redis://127.0.0.1:6379"
every = "fast"

[[targets]]
name = "web"
kind = "cloudfront"
"#,
    )
    .unwrap();
    let out = cachewarden(&["check-config", "bad.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "bad.toml: line 2: server.listen: \"localhost\" is not an address like \"127.0.0.1:8080\"",
            "bad.toml: line 8: targets[0].every: \"fast\" is not a duration like \"15s\", \"5m\" or \"1h 30m\"",
            "bad.toml: line 10: targets[1].distribution_id: is required",
            "3 errors in bad.toml",
        ]
    );
}

/// The bash completion script is valid bash, and completing `cachewarden inv` and
/// `cachewarden invalidate --idem` gives the subcommand and the flag (issue 13).
#[test]
fn shell_completion_completes_commands_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = cachewarden(&["completions", "bash"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let script = dir.path().join("cachewarden.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    // (words typed, the completion expected among the answers)
    for (words, want) in [
        ("cachewarden inv", "invalidate"),
        ("cachewarden invalidate --idem", "--idempotency-key"),
        ("cachewarden silence cr", "create"),
    ] {
        let probe = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE=\"{words}\"; COMP_POINT=${{#COMP_LINE}}; _cachewarden cachewarden; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let done = Command::new("bash").args(["-c", &probe]).output().unwrap();
        let answers = text(&done.stdout);
        assert!(
            answers.lines().any(|l| l.trim() == want),
            "{words:?} → {answers:?} {}",
            text(&done.stderr)
        );
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = cachewarden(&["completions", shell], dir.path());
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(text(&out.stdout).contains("invalidate"), "{shell}");
    }
    let bad = cachewarden(&["completions", "tcsh"], dir.path());
    assert_eq!(bad.status.code(), Some(2));
}

/// `man --dir` writes a page for every command, and `man` renders them with each flag's help.
#[test]
fn man_pages_cover_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = cachewarden(&["man", "--dir", dir.path().to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let expected = {
        fn walk(cmd: &clap::Command, name: &str, out: &mut Vec<String>) {
            out.push(format!("{name}.1"));
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                walk(sub, &format!("{name}-{}", sub.get_name()), out);
            }
        }
        let mut names = Vec::new();
        walk(&cachewarden::cli::command(), "cachewarden", &mut names);
        names.sort();
        names
    };
    assert_eq!(pages, expected);
    let rendered = Command::new("man")
        .arg("-l")
        .arg(dir.path().join("cachewarden-invalidate.1"))
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .output()
        .expect("man");
    let page = text(&rendered.stdout);
    assert!(
        page.contains("--idempotency-key") && page.contains("Makes re-runs safe"),
        "{page}"
    );
}

/// A command that loads a configuration prints every error in it, not just the first.
#[test]
fn a_command_on_a_bad_configuration_lists_every_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[server]\nlisten = \"localhost\"\n\n[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\n",
    )
    .unwrap();
    let out = cachewarden(&["token", "list", "--config", "bad.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert_eq!(lines[0], "cachewarden: invalid configuration (2 errors):");
    assert!(lines[1].contains("server.listen"), "{stderr}");
    assert!(lines[2].contains("targets[0].distribution_id"), "{stderr}");
}

#[test]
fn the_printed_default_config_passes_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let printed = cachewarden(&["print-default-config"], dir.path());
    assert!(printed.status.success());
    std::fs::write(dir.path().join("example.toml"), &printed.stdout).unwrap();
    let out = cachewarden(&["check-config", "example.toml"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("valid (6 targets, 6 notifiers, 3 alarms, 1 maintenance window, 1 rule)")
    );
}

#[test]
fn a_missing_config_file_is_one_readable_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = cachewarden(&["check-config", "nope.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("nope.toml: (top level): cannot read nope.toml:"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn tokens_made_on_the_command_line_work_against_the_api_and_are_audited() {
    let app = TestApp::sqlite("[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n").await;
    let db = app.dir.path().join("cachewarden.db");
    let config = app.dir.path().join("cw.toml");
    std::fs::write(
        &config,
        format!("[database]\nurl = \"sqlite://{}\"\n[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n", db.display()),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let dir = app.dir.path();

    let out = cachewarden(
        &[
            "token", "create", "--config", config, "--name", "ops", "--scope", "admin",
        ],
        dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let admin = text(&out.stdout).trim().to_owned();
    assert!(
        admin.starts_with("cw_") && !admin.contains('\n'),
        "stdout is the token alone: {admin:?}"
    );
    assert!(text(&out.stderr).contains("shown once"));

    let out = cachewarden(
        &[
            "token",
            "create",
            "--config",
            config,
            "--name",
            "ci",
            "--scope",
            "invalidate",
            "--target",
            "web",
        ],
        dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ci = text(&out.stdout).trim().to_owned();

    assert_eq!(app.get("/api/v1/audit", Some(&admin)).await.status(), 200);
    assert_eq!(app.get("/api/v1/audit", Some(&ci)).await.status(), 403);
    assert_eq!(
        app.get("/api/v1/targets/web", Some(&ci)).await.status(),
        200
    );

    let list = cachewarden(&["token", "list", "--config", config, "--json"], dir);
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        !text(&list.stdout).contains(&admin[3..]),
        "list never shows secrets"
    );

    let out = cachewarden(
        &["token", "revoke", "--config", config, "ci", "--json"],
        dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let revoked: Value = serde_json::from_slice(&out.stdout).expect("--json prints the record");
    assert_eq!(revoked["name"], "ci");
    assert!(revoked["revoked_at"].is_i64(), "{revoked}");

    // --json on create: the record, with the secret once in `token`; and it works.
    let out = cachewarden(
        &[
            "token", "create", "--config", config, "--name", "bot", "--scope", "read", "--json",
        ],
        dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(created["name"], "bot");
    let bot = created["token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/targets", Some(bot)).await.status(), 200);
    assert_eq!(
        app.get("/api/v1/targets/web", Some(&ci)).await.status(),
        401
    );

    let audit: Value = app
        .get("/api/v1/audit", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let cli_entries: Vec<(String, String)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "cli:alice")
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["detail"]["token"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        cli_entries,
        [
            ("token.create".into(), "bot".into()),
            ("token.revoke".into(), "ci".into()),
            ("token.create".into(), "ci".into()),
            ("token.create".into(), "ops".into())
        ]
    );
}

/// `token create` run from another directory, or without `--config`, used to create a new
/// `./cachewarden.db` the daemon never reads (issue 14). A relative `sqlite://` path follows the
/// configuration file, and a command that would start a new, empty database refuses to.
#[tokio::test]
async fn token_commands_and_the_daemon_open_the_same_database_from_any_directory() {
    use crate::harness::replica::Replica;
    let root = tempfile::tempdir().unwrap();
    let (etc, elsewhere) = (root.path().join("etc"), root.path().join("elsewhere"));
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let config = etc.join("cw.toml");
    std::fs::write(&config, "[database]\nurl = \"sqlite://cw.db\"\n").unwrap();
    let config_arg = config.to_str().unwrap();
    let create = ["token", "create", "--name", "ops", "--scope", "admin"];

    // (what, extra arguments) that are refused before anything is created
    for (what, extra) in [
        ("no --config", vec![]),
        (
            "--config naming a database not created yet",
            vec!["--config", config_arg],
        ),
    ] {
        let args: Vec<&str> = create.iter().copied().chain(extra).collect();
        let out = cachewarden(&args, &elsewhere);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(
            stderr.starts_with("cachewarden: there is no database at ")
                && stderr.contains("--config")
                && stderr.contains("--create"),
            "{what}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
    }
    assert!(!elsewhere.join("cachewarden.db").exists());
    assert!(!etc.join("cw.db").exists());

    let args: Vec<&str> = create
        .iter()
        .copied()
        .chain(["--config", config_arg, "--create"])
        .collect();
    let out = cachewarden(&args, &elsewhere);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let admin = text(&out.stdout).trim().to_owned();
    assert!(etc.join("cw.db").exists(), "beside the configuration file");
    assert!(!elsewhere.join("cw.db").exists());

    // The daemon, started from a third directory with the same file, knows the token.
    let daemon = Replica::start("daemon", &config, root.path(), &[]);
    let answer = reqwest::Client::new()
        .get(daemon.url("/api/v1/audit"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{}", daemon.log());
}

/// Bad command lines: each exits non-zero with one readable line.
#[test]
fn bad_token_commands_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "token", "--create", "create", "--name", "x", "--scope", "root",
            ],
            "cachewarden: --scope[0]: unknown scope \"root\"",
        ),
        (
            &[
                "token", "--create", "create", "--name", "Bad Name", "--scope", "read",
            ],
            "cachewarden: --name: \"Bad Name\" may contain only",
        ),
        (
            &[
                "token", "--create", "create", "--name", "x", "--scope", "read", "--target", "web",
            ],
            "cachewarden: --target[0]: \"web\" is not a configured target",
        ),
        (
            &["token", "--create", "revoke", "ghost"],
            "cachewarden: no active token named \"ghost\"",
        ),
    ];
    for (args, want) in cases {
        let out = cachewarden(args, dir.path());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with(want), "{args:?}: {stderr}");
    }
}

#[test]
fn serve_on_a_busy_port_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = cachewarden(&["serve", "--listen", &addr], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let last = text(&out.stderr)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert!(
        last.starts_with(&format!("cachewarden: cannot listen on {addr}")),
        "{last}"
    );
}

/// The daemon logging to a file (not a terminal) writes plain text, without colour codes.
#[test]
fn a_log_file_has_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cachewarden"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("CACHEWARDEN_CONFIG")
        .env_remove("NO_COLOR")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("run cachewarden serve");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let logged = loop {
        let now = std::fs::read_to_string(&log).unwrap_or_default();
        if now.contains("Listening.") || std::time::Instant::now() > deadline {
            break now;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait().unwrap();
    assert!(logged.contains("Listening."), "the daemon logged: {logged}");
    assert!(
        !logged.contains('\u{1b}'),
        "colour codes in a log file: {logged:?}"
    );
}

/// `cachewarden … | head` ends quietly when the reader goes away, as command-line tools do
/// (it panicked on the failed write; issue 14).
#[test]
fn a_closed_pipe_ends_a_client_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader); // the reader is gone before anything is written
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cachewarden"))
        .arg("print-default-config")
        .current_dir(dir.path())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run cachewarden");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}", out.status);
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_server_that_is_not_a_url_is_one_readable_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cachewarden"))
        .args(["alarm", "list", "--server", "not a url"])
        .env("CACHEWARDEN_TOKEN", "cw_x")
        .current_dir(dir.path())
        .output()
        .expect("run cachewarden");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("--server") && err.contains("not a url") && !err.contains("builder"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// Run by cron or systemd, with neither $USER nor $LOGNAME: the audit log names the login
/// name of the process's user, never "cli:unknown".
#[test]
fn without_user_in_the_environment_the_actor_is_the_login_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cachewarden"))
        .args([
            "token", "create", "--create", "--name", "cron", "--scope", "read",
        ])
        .current_dir(dir.path())
        .env_remove("CACHEWARDEN_CONFIG")
        .env_remove("USER")
        .env_remove("LOGNAME")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let me = text(&Command::new("id").arg("-un").output().unwrap().stdout)
        .trim()
        .to_owned();
    let actors = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let url = format!("sqlite://{}", dir.path().join("cachewarden.db").display());
        let store = cachewarden::store::Store::connect(&secrecy::SecretString::from(url), 1)
            .await
            .unwrap();
        let rows = store
            .list_audit(&cachewarden::store::AuditQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.actor.clone())
            .collect::<Vec<_>>()
            .join("\n")
    });
    assert_eq!(actors.trim(), format!("cli:{me}"));
}

/// One run lists every mistake, whatever part of the file it is in: the fixed sections (each
/// key on its own), targets (a wrong type, an unknown key, a key of another kind, a name used
/// twice, and what their kinds check after), notifiers, alarms on those targets (a ratio
/// given as a percentage, an unknown series), maintenance, rules and streams; none hides
/// another, and none is reported because of another.
#[test]
fn check_config_lists_every_mistake_of_every_section_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("every.toml"), EVERY).unwrap();
    let out = cachewarden(&["check-config", "every.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "every.toml: line 2: server.listen: \"nowhere\" is not an address like \"127.0.0.1:8080\"",
            "every.toml: line 5: retention.raw: must be at least 1h (5-minute rollups are computed from raw samples)",
            "every.toml: line 6: retention.alerts: must be at least 1d",
            "every.toml: line 9: cloudwatch.lookback: must be from 2m to 24h",
            "every.toml: line 10: cloudwatch.price_per_1000_metrics: must be a non-negative number of USD",
            "every.toml: line 13: invalidation.coalesce_window: must be at most 60s (pipelines wait for it)",
            "every.toml: line 14: invalidation.price_per_path: must be a non-negative number of USD",
            "every.toml: line 19: targets[0].url: scheme \"http\" is not allowed; use redis or rediss",
            "every.toml: line 20: targets[0].cluster: invalid type: string \"yes\", expected a boolean",
            "every.toml: line 21: targets[0].bogus: unknown key",
            "every.toml: line 24: targets[1].name: \"cache\" is already the name of another target",
            "every.toml: line 27: targets[1].distribution_id: does not apply to kind memcached",
            "every.toml: line 29: notifiers[0].url: is required",
            "every.toml: line 35: notifiers[1].kind: unknown kind \"carrier-pigeon\": expected one of webhook, slack, pagerduty, sns, email, alertmanager",
            "every.toml: line 41: alarms[0].below: 80 is outside 0.0-1.0; ratios are fractions (0.8 means 80 %)",
            "every.toml: line 42: alarms[0].notify[1]: \"missing\" is not a configured notifier",
            "every.toml: line 47: alarms[1].metric: \"no_such_series\" is not a series of the targets it watches; they record commands, connected_clients, evicted_keys, expired_keys, hit_rate, hits, keys, maxmemory, misses, nodes, up, used_memory",
            "every.toml: line 52: maintenance[0].alarms[0]: \"no-such-alarm\" is not a configured alarm",
            "every.toml: line 58: rules[0].redis[0].keys[0]: \"product:{id\": '{' without a matching '}'",
            "every.toml: line 63: streams[0].event: no [[rules]] entry handles events of type \"order.placed\"",
            "20 errors in every.toml",
        ]
    );
}

const EVERY: &str = r#"[server]
listen = "nowhere"

[retention]
raw = "10m"
alerts = "1h"

[cloudwatch]
lookback = "1m"
price_per_1000_metrics = -1.0

[invalidation]
coalesce_window = "2m"
price_per_path = -1.0

[[targets]]
name = "cache"
kind = "redis"
url = "http://x"
cluster = "yes"
bogus = 1

[[targets]]
name = "cache"
kind = "memcached"
address = "127.0.0.1:11211"
distribution_id = "E2QWRUHEXAMPLE"

[[notifiers]]
name = "ops"
kind = "webhook"

[[notifiers]]
name = "pager"
kind = "carrier-pigeon"

[[alarms]]
name = "cache-hit-rate"
target = "cache"
metric = "hit_rate"
below = 80
notify = ["ops", "missing"]

[[alarms]]
name = "cache-nonsense"
target = "cache"
metric = "no_such_series"
above = 1

[[maintenance]]
name = "drill"
alarms = ["no-such-alarm"]
cron = "0 0 3 * * Sun"
duration = "2h"

[[rules]]
event = "product.updated"
redis = [{ target = "cache", keys = ["product:{id"] }]

[[streams]]
name = "products"
table = "products"
event = "order.placed"
"#;
