//! `cachewarden purge` as people and pipelines run it against a real redis-server: a dry run
//! that shows what it would delete, a purge followed to the end with progress lines on
//! stderr and the job as JSON on stdout, and the exit codes for bad input, refusals, missing
//! authorisation and timeouts.

use redis::AsyncCommands;
use serde_json::Value;

use crate::harness::TestApp;
use crate::harness::redis::RedisServer;

fn config(url: &str) -> String {
    format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{url}\"\npurge_prefixes = [\"product:\"]\n"
    )
}

#[tokio::test]
async fn a_dry_run_then_a_purge_followed_to_the_end() {
    let redis = RedisServer::start();
    let mut c = redis.connection().await;
    for i in 0..300 {
        let _: () = c.set(format!("product:{i}"), "v").await.unwrap();
    }
    let _: () = c.set("keep", "v").await.unwrap();
    let app = TestApp::sqlite_scheduled(&config(&redis.url())).await;
    let token = app.token("ops", &["purge"], &["sessions"]).await;

    let dry = app
        .cli(
            Some(&token),
            &[
                "purge",
                "--target",
                "sessions",
                "--pattern",
                "product:*",
                "--dry-run",
                "--rate",
                "100",
            ],
        )
        .await;
    assert_eq!(dry.code, Some(0), "{}", dry.stderr);
    assert!(
        dry.stderr
            .contains("Would delete 300 keys (about 3s at 100 keys/s)"),
        "{}",
        dry.stderr
    );
    assert_eq!(
        c.exists::<_, u64>("product:1").await.unwrap(),
        1,
        "a dry run deletes nothing"
    );

    let run = app
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
                "--wait",
                "--json",
            ],
        )
        .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let job: Value = serde_json::from_str(&run.stdout).expect("the job as JSON");
    assert_eq!(job["state"], "completed");
    assert_eq!(job["result"]["deleted"], 300);
    assert!(
        run.stderr.contains("deleted, "),
        "progress lines while it runs: {}",
        run.stderr
    );
    assert!(run.stderr.contains("Completed in"), "{}", run.stderr);
    let left: Vec<String> = c.keys("*").await.unwrap();
    assert_eq!(left, ["keep"]);
}

#[tokio::test]
async fn exit_codes_for_bad_input_refusals_authorisation_and_timeouts() {
    let redis = RedisServer::start();
    let mut c = redis.connection().await;
    for i in 0..50 {
        let _: () = c.set(format!("product:{i}"), "v").await.unwrap();
    }
    let app = TestApp::sqlite_scheduled(&config(&redis.url())).await;
    let token = app.token("ops", &["purge"], &[]).await;
    let reader = app.token("reader", &["read"], &[]).await;
    // (what, token, args, exit code, stderr mentions)
    type Case<'a> = (&'a str, Option<&'a str>, Vec<&'a str>, i32, &'a str);
    let table: [Case; 6] = [
        (
            "nothing to purge",
            Some(&token),
            vec!["--target", "sessions"],
            2,
            "nothing to purge",
        ),
        (
            "bare star",
            Some(&token),
            vec!["--target", "sessions", "--pattern", "*"],
            2,
            "confirm",
        ),
        (
            "unknown target",
            Some(&token),
            vec!["--target", "nope", "--key", "a"],
            2,
            "not a configured target",
        ),
        (
            "bad timeout",
            Some(&token),
            vec![
                "--target",
                "sessions",
                "--key",
                "a",
                "--wait",
                "--timeout",
                "soon",
            ],
            2,
            "--timeout",
        ),
        (
            "no token",
            None,
            vec!["--target", "sessions", "--key", "a"],
            4,
            "token",
        ),
        (
            "read scope",
            Some(&reader),
            vec!["--target", "sessions", "--key", "a"],
            4,
            "purge",
        ),
    ];
    for (what, t, args, code, mentions) in table {
        let run = app.cli(t, &[&["purge"][..], &args].concat()).await;
        assert_eq!(run.code, Some(code), "{what}: {}", run.stderr);
        assert!(run.stderr.contains(mentions), "{what}: {}", run.stderr);
        assert_eq!(
            run.stderr.trim().lines().count(),
            1,
            "{what}: one readable line: {}",
            run.stderr
        );
    }
    // A slow purge and a short timeout: exit 3, and the purge goes on in the daemon.
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
                "10",
                "--wait",
                "--timeout",
                "1s",
            ],
        )
        .await;
    assert_eq!(slow.code, Some(3), "{}", slow.stderr);
    assert!(
        slow.stderr.contains("goes on in the daemon"),
        "{}",
        slow.stderr
    );
}

#[tokio::test]
async fn on_a_terminal_progress_is_one_live_line() {
    let redis = RedisServer::start();
    let mut c = redis.connection().await;
    for i in 0..600 {
        let _: () = c.set(format!("product:{i}"), "v").await.unwrap();
    }
    let app = TestApp::sqlite_scheduled(&config(&redis.url())).await;
    let token = app.token("ops", &["purge"], &[]).await;
    // `script` runs the command on a pseudo-terminal, as a person at a shell would.
    let command = format!(
        "'{}' purge --target sessions --pattern 'product:*' --rate 300 --wait",
        env!("CARGO_BIN_EXE_cachewarden")
    );
    let out = tokio::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("CACHEWARDEN_SERVER", app.url(""))
        .env("CACHEWARDEN_TOKEN", &token)
        .output()
        .await
        .expect("run script (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("deleted") && text.contains("Completed in"),
        "{text}"
    );
    assert!(
        text.contains('\r') || text.contains("\u{1b}["),
        "redrawn in place: {text:?}"
    );
    assert!(
        !text.contains("[   0s]"),
        "no progress lines on a terminal: {text}"
    );
}
