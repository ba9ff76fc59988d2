//! `cachewarden alarm …` and `cachewarden silence …` as on-call people run them against a
//! daemon watching a real redis-server: lines on stdout, one readable line and an exit code on
//! failure.

use crate::harness::TestApp;
use crate::harness::receiver::TestReceiver;
use crate::harness::redis::RedisServer;
use crate::notifications::config;

#[tokio::test]
async fn on_call_lists_acknowledges_and_silences_from_the_terminal() {
    let redis = RedisServer::start();
    let hook = TestReceiver::start(0).await;
    let notifiers = format!(
        "[[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url
    );
    let app = TestApp::sqlite(&config(&redis.url(), &notifiers, "\"ops\"")).await;
    let oncall = app.token("oncall", &["respond"], &[]).await;
    let reader = app.token("dash", &["read"], &[]).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 0, 10).await; // alarm

    let list = app.cli(Some(&reader), &["alarm", "list"]).await;
    assert_eq!(list.code, Some(0), "{}", list.stderr);
    let line = list.stdout.lines().next().unwrap_or_default().to_owned();
    assert!(
        line.contains("\talarm\tsessions-hit-rate on sessions\tsince "),
        "{line:?}"
    );
    let id = line.split('\t').next().unwrap().to_owned();

    let denied = app.cli(Some(&reader), &["alarm", "ack", &id]).await;
    assert_eq!(denied.code, Some(4));
    assert!(
        denied.stderr.contains("lacks the respond scope"),
        "{}",
        denied.stderr
    );
    let ack = app
        .cli(Some(&oncall), &["alarm", "ack", &id, "--comment", "on it"])
        .await;
    assert_eq!(ack.code, Some(0), "{}", ack.stderr);
    assert!(
        ack.stdout.contains("acknowledged by oncall"),
        "{}",
        ack.stdout
    );

    let made = app
        .cli(
            Some(&oncall),
            &[
                "silence",
                "create",
                "--target",
                "sess*",
                "--for",
                "2h",
                "--comment",
                "failover drill",
            ],
        )
        .await;
    assert_eq!(made.code, Some(0), "{}", made.stderr);
    assert!(
        made.stdout.starts_with("#1\tactive\ttarget sess*\tuntil "),
        "{}",
        made.stdout
    );
    let listed = app.cli(Some(&reader), &["silence", "list"]).await;
    assert!(
        listed.stdout.contains("by oncall: failover drill"),
        "{}",
        listed.stdout
    );
    let alarms = app.cli(Some(&reader), &["alarm", "list"]).await;
    assert!(
        alarms.stdout.contains("silenced by #1"),
        "{}",
        alarms.stdout
    );

    // Bad input: one readable line naming the field, exit 2; nothing created.
    let bad = app
        .cli(
            Some(&oncall),
            &[
                "silence",
                "create",
                "--target",
                "sessions",
                "--for",
                "soon",
                "--comment",
                "x",
            ],
        )
        .await;
    assert_eq!(bad.code, Some(2));
    assert_eq!(bad.stderr.trim().lines().count(), 1, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("for: \"soon\" is not a duration"),
        "{}",
        bad.stderr
    );

    let ended = app.cli(Some(&oncall), &["silence", "end", "1"]).await;
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    assert!(ended.stdout.starts_with("#1\tended"), "{}", ended.stdout);
    let all = app
        .cli(
            Some(&reader),
            &["silence", "list", "--state", "all", "--json"],
        )
        .await;
    let body: serde_json::Value = serde_json::from_str(&all.stdout).unwrap();
    assert_eq!(body["silences"].as_array().unwrap().len(), 1);
    let none = app.cli(None, &["alarm", "list"]).await;
    assert_eq!(none.code, Some(4));
}
