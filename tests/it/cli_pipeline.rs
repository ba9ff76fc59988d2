//! The client commands as a pipeline uses them, against real redis-server and memcached:
//! errors as JSON on stdout with `--json`, an unreachable or mistaken `--server` said in one
//! sentence without retrying what cannot work, guard-rail refusals that name the flag, dry
//! runs beyond the rails, `cachewarden job …`, and who the audit log says ran a command.

use async_memcached::AsciiProtocol;
use redis::AsyncCommands;
use serde_json::Value;

use crate::harness::TestApp;
use crate::harness::memcached::Memcached;
use crate::harness::process::free_port;
use crate::harness::redis::RedisServer;

fn config(redis: &str, memcached: &str) -> String {
    format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{redis}\"\npurge_prefixes = [\"product:\"]\n\
         [[targets]]\nname = \"frag\"\nkind = \"memcached\"\naddress = \"{memcached}\"\npurge_prefixes = [\"frag:\"]\n"
    )
}

fn error_of(stdout: &str) -> Value {
    let v: Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout:?}"));
    v["error"].clone()
}

#[tokio::test]
async fn errors_are_json_on_stdout_and_say_how_to_go_ahead() {
    let redis = RedisServer::start();
    let memcached = Memcached::start();
    let mut c = redis.connection().await;
    for i in 0..5 {
        let _: () = c.set(format!("user:{i}"), "v").await.unwrap();
    }
    let app = TestApp::sqlite_scheduled(&config(&redis.url(), &memcached.address())).await;
    let token = app.token("ops", &["purge", "invalidate"], &[]).await;

    // The daemon's error, with its field and request id, for the pipeline to read.
    let bad = app
        .cli(
            Some(&token),
            &["purge", "--target", "sessions", "--pattern", "[", "--json"],
        )
        .await;
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    let e = error_of(&bad.stdout);
    assert_eq!(e["code"], "invalid_items", "{e}");
    assert_eq!(e["field"], "patterns[0]");
    assert!(
        e["request_id"].as_str().is_some_and(|r| !r.is_empty()),
        "{e}"
    );
    assert!(
        bad.stderr
            .contains("is not a valid pattern: it has a [ that no ] closes"),
        "an invalid glob is said to be one: {}",
        bad.stderr
    );
    // An error of our own, in the same shape.
    let local = app
        .cli(
            Some(&token),
            &[
                "purge",
                "--target",
                "sessions",
                "--key",
                "a",
                "--wait",
                "--timeout",
                "soon",
                "--json",
            ],
        )
        .await;
    assert_eq!(local.code, Some(2));
    let e = error_of(&local.stdout);
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("invalid_input"), Some("--timeout"))
    );
    // Without --json, stdout stays empty: one line on stderr.
    let plain = app
        .cli(
            Some(&token),
            &["purge", "--target", "sessions", "--pattern", "user:*"],
        )
        .await;
    assert_eq!(plain.code, Some(2));
    assert_eq!(plain.stdout, "");
    assert!(
        plain
            .stderr
            .contains("patterns[0] \"user:*\" is outside the target's purge_prefixes (product:)")
            && plain
                .stderr
                .contains("add --confirm sessions to purge anyway"),
        "the guard rail names the flag: {}",
        plain.stderr
    );
    assert!(!plain.stderr.contains("\"confirm\""), "{}", plain.stderr);

    // A dry run beyond the rails deletes nothing and says what the purge will need.
    let dry = app
        .cli(
            Some(&token),
            &[
                "purge",
                "--target",
                "sessions",
                "--pattern",
                "user:*",
                "--dry-run",
            ],
        )
        .await;
    assert_eq!(dry.code, Some(0), "{}", dry.stderr);
    assert!(dry.stderr.contains("Would delete 5 keys"), "{}", dry.stderr);
    assert!(
        dry.stderr
            .contains("A purge of this needs --confirm sessions: patterns[0]"),
        "{}",
        dry.stderr
    );
    assert_eq!(c.exists::<_, u64>("user:1").await.unwrap(), 1);

    // Memcached patterns are best effort, and the text output says so.
    let mut m = async_memcached::Client::new(format!("tcp://{}", memcached.address()))
        .await
        .unwrap();
    m.set("frag:1", "v", None, None).await.unwrap();
    let swept = app
        .cli(
            Some(&token),
            &["purge", "--target", "frag", "--pattern", "frag:*", "--wait"],
        )
        .await;
    assert_eq!(swept.code, Some(0), "{}", swept.stderr);
    assert!(
        swept
            .stderr
            .contains("Note: patterns on Memcached are best effort"),
        "{}",
        swept.stderr
    );
}

#[tokio::test]
async fn an_unreachable_or_mistaken_server_is_one_sentence() {
    let port = free_port();
    let app = TestApp::sqlite("").await;
    let token = app.token("ops", &["read"], &[]).await;
    let run = |server: String| {
        let token = token.clone();
        async move {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cachewarden"))
                .args(["job", "show", "1", "--server", &server, "--json"])
                .env("CACHEWARDEN_TOKEN", token)
                .output()
                .await
                .unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
    };
    let (code, stdout, stderr) = run(format!("http://127.0.0.1:{port}")).await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("the connection was refused (is the daemon running"),
        "{stderr}"
    );
    assert!(
        error_of(&stdout)["message"]
            .as_str()
            .unwrap()
            .contains("refused")
    );
    // https:// to the plain HTTP daemon: said at once, not retried.
    let daemon = app.url("");
    let tls = daemon.replacen("http://", "https://", 1);
    let (code, _, stderr) = run(tls.clone()).await;
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr.trim(),
        format!(
            "cachewarden: cannot reach {tls}: it does not answer TLS; if the daemon serves plain HTTP, use --server {}",
            daemon.trim_end_matches('/')
        )
    );
    let (code, _, stderr) = run("http://no-such-host.invalid:8080".into()).await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("its host name does not resolve"),
        "{stderr}"
    );
}

#[tokio::test]
async fn jobs_are_shown_waited_for_listed_and_cancelled_from_the_command_line() {
    let redis = RedisServer::start();
    let memcached = Memcached::start();
    let mut c = redis.connection().await;
    for i in 0..3000 {
        let _: () = c.set(format!("product:{i}"), "v").await.unwrap();
    }
    let app = TestApp::sqlite_scheduled(&config(&redis.url(), &memcached.address())).await;
    let token = app.token("ops", &["purge"], &[]).await;
    // A slow purge (15 s at 200 keys a second) that times out: the message says how to
    // follow it, and it is still running for the commands below.
    let slow = app
        .cli(
            Some(&token),
            &[
                "purge",
                "--target",
                "sessions",
                "--pattern",
                "product:*",
                "--rate",
                "200",
                "--confirm",
                "sessions",
                "--wait",
                "--timeout",
                "1s",
                "--json",
            ],
        )
        .await;
    assert_eq!(slow.code, Some(3), "{}", slow.stderr);
    let e = error_of(&slow.stdout);
    let id = e["job_id"].as_i64().expect("the job's id");
    assert!(
        slow.stderr
            .contains(&format!("follow it with `cachewarden job wait {id}`")),
        "{}",
        slow.stderr
    );
    let shown = app
        .cli(Some(&token), &["job", "show", &id.to_string()])
        .await;
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    assert!(
        shown
            .stdout
            .starts_with(&format!("#{id} redis_purge on sessions: running")),
        "{}",
        shown.stdout
    );
    let listed = app
        .cli(Some(&token), &["job", "list", "--state", "running"])
        .await;
    assert!(
        listed.stdout.contains(&format!("#{id} redis_purge")),
        "{}",
        listed.stdout
    );
    let cancelled = app
        .cli(Some(&token), &["job", "cancel", &id.to_string()])
        .await;
    assert_eq!(cancelled.code, Some(0), "{}", cancelled.stderr);
    assert!(
        cancelled.stdout.contains("stops at its next safe point"),
        "{}",
        cancelled.stdout
    );
    let waited = app
        .cli(
            Some(&token),
            &["job", "wait", &id.to_string(), "--timeout", "30s", "--json"],
        )
        .await;
    assert_eq!(
        waited.code,
        Some(1),
        "a cancelled job exits 1: {}",
        waited.stderr
    );
    let job: Value = serde_json::from_str(&waited.stdout).expect("only the job on stdout");
    assert_eq!(job["state"], "cancelled");
    // Stopped before the end: keys are left (which ones depends on SCAN's order, so count
    // them rather than naming two that may both have gone).
    let left: Vec<String> = c.keys("product:*").await.unwrap();
    assert!(!left.is_empty(), "the cancelled purge deleted every key");
    let missing = app.cli(Some(&token), &["job", "show", "999999"]).await;
    assert_eq!(missing.code, Some(2));
    assert!(
        missing.stderr.contains("no job 999999"),
        "{}",
        missing.stderr
    );
}
