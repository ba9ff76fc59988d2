//! What holds notifications, end to end with a real redis-server and a real HTTP receiver:
//! silences (until a time, ended early, until resolved), acknowledgements (reminders held),
//! recurring maintenance windows, and reminders themselves. States keep changing and being
//! recorded underneath; only messages are held.

use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::receiver::TestReceiver;
use crate::harness::redis::RedisServer;
use crate::notifications::{config, deliver};

fn webhook(hook: &TestReceiver) -> String {
    format!(
        "[[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{}/hook\"\n",
        hook.url
    )
}

async fn json_of(res: reqwest::Response) -> Value {
    res.json().await.expect("JSON answer")
}

/// A redis-server, a webhook receiver, and the app watching the one with an alarm that
/// notifies the other (`extra` is appended: more keys of that alarm, or more sections);
/// the first poll has been made.
async fn start(
    extra: &str,
) -> (
    RedisServer,
    TestReceiver,
    TestApp,
    ::redis::aio::MultiplexedConnection,
) {
    let redis = RedisServer::start();
    let hook = TestReceiver::start(0).await;
    let toml = format!(
        "{}{extra}",
        config(&redis.url(), &webhook(&hook), "\"ops\"")
    );
    let app = TestApp::sqlite(&toml).await;
    let c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    (redis, hook, app, c)
}

#[tokio::test]
async fn a_silence_holds_the_messages_but_the_alarm_still_changes_state_and_ending_it_releases_the_alarm()
 {
    let (_redis, hook, app, mut c) = start("").await;
    let oncall = app.token("oncall", &["respond"], &[]).await;
    let admin = app.token("root", &["admin"], &[]).await;
    app.redis_interval(&mut c, "sessions", 9, 1).await; // ok

    let res = app
        .post(
            "/api/v1/silences",
            Some(&oncall),
            &json!({ "target": "sessions", "for": "1h", "comment": "load test on sessions" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let silence = json_of(res).await;
    assert_eq!(silence["active"], true);
    assert_eq!(silence["created_by"], "oncall");
    let sid = silence["id"].as_i64().unwrap();

    app.redis_interval(&mut c, "sessions", 1, 9).await; // alarm, held
    deliver(&app, 0).await;
    deliver(&app, 60_000).await;
    assert!(hook.accepted().is_empty(), "nothing sent while silenced");
    let alarms = app.get_json("/api/v1/alarms", Some(&oncall)).await;
    let a = &alarms["alarms"][0];
    assert_eq!(a["state"], "alarm", "the state still changes");
    assert_eq!(a["silenced_by"], json!([sid]));
    let id = a["id"].as_i64().unwrap();
    let history = app
        .get_json(&format!("/api/v1/alarms/{id}/history"), Some(&oncall))
        .await;
    assert_eq!(history["transitions"][0]["to"], "alarm", "and is recorded");
    let held = app
        .get_json("/api/v1/outbox?state=held", Some(&oncall))
        .await;
    assert_eq!(held["notifications"].as_array().unwrap().len(), 1);
    assert_eq!(
        held["notifications"][0]["held_by"],
        format!("silence #{sid} by oncall")
    );

    // Ending the silence while the alarm still fires: the alarm message goes out at the
    // next evaluation, once.
    let ended = json_of(
        app.delete(&format!("/api/v1/silences/{sid}"), Some(&oncall))
            .await,
    )
    .await;
    assert_eq!(ended["active"], false);
    assert_eq!(ended["ended_by"], "oncall");
    app.redis_interval(&mut c, "sessions", 2, 8).await;
    app.redis_interval(&mut c, "sessions", 2, 8).await;
    deliver(&app, 0).await;
    assert_eq!(hook.kinds(), ["alarm"]);
    assert_eq!(hook.accepted()[0].body["value"], 0.2);
    app.redis_interval(&mut c, "sessions", 10, 0).await; // resolved
    deliver(&app, 0).await;
    assert_eq!(hook.kinds(), ["alarm", "resolved"]);
    // Still listed once ended, and both changes are audited.
    let all = app
        .get_json("/api/v1/silences?state=all", Some(&oncall))
        .await;
    assert_eq!(all["silences"].as_array().unwrap().len(), 1);
    let active = app.get_json("/api/v1/silences", Some(&oncall)).await;
    assert!(active["silences"].as_array().unwrap().is_empty());
    let audit = app
        .get_json("/api/v1/audit?actor=oncall", Some(&admin))
        .await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["silence.end", "silence.create"]);
}

#[tokio::test]
async fn a_silence_until_resolved_ends_with_the_alarm_and_the_resolution_still_goes_where_the_alarm_went()
 {
    let (_redis, hook, app, mut c) = start("").await;
    let oncall = app.token("oncall", &["respond"], &[]).await;
    app.redis_interval(&mut c, "sessions", 0, 10).await; // alarm, sent
    deliver(&app, 0).await;
    assert_eq!(hook.kinds(), ["alarm"]);
    let alarms = app.get_json("/api/v1/alarms", Some(&oncall)).await;
    let id = alarms["alarms"][0]["id"].as_i64().unwrap();
    let res = app
        .post(
            "/api/v1/silences",
            Some(&oncall),
            &json!({ "alarm_id": id, "until": "resolved", "comment": "known: cache warming" }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let silence = json_of(res).await;
    assert_eq!(silence["until_resolved"], true);
    assert_eq!(silence["covers"], json!([id]));

    app.redis_interval(&mut c, "sessions", 10, 0).await; // resolved
    deliver(&app, 0).await;
    assert_eq!(
        hook.kinds(),
        ["alarm", "resolved"],
        "the recovery reaches whoever heard of the alarm"
    );
    let s = app
        .get_json(
            &format!("/api/v1/silences/{}", silence["id"]),
            Some(&oncall),
        )
        .await;
    assert_eq!(
        (s["active"].clone(), s["ended_by"].clone()),
        (json!(false), json!("resolved"))
    );
    app.redis_interval(&mut c, "sessions", 0, 10).await; // a new episode: not silenced
    deliver(&app, 0).await;
    assert_eq!(hook.kinds(), ["alarm", "resolved", "alarm"]);
}

#[tokio::test]
async fn reminders_repeat_while_in_alarm_and_an_acknowledgement_holds_them_until_resolved() {
    let (_redis, hook, app, mut c) = start("repeat = \"10s\"\n").await;
    let oncall = app.token("oncall", &["respond"], &[]).await;
    let reader = app.token("dash", &["read"], &[]).await;
    app.redis_interval(&mut c, "sessions", 0, 10).await; // alarm
    app.evaluate_later("sessions", 5_000).await; // not due yet
    app.evaluate_later("sessions", 11_000).await; // due
    deliver(&app, 20_000).await;
    assert_eq!(hook.kinds(), ["alarm", "reminder"]);
    let reminder = &hook.accepted()[1].body;
    assert_eq!(
        reminder["since"],
        hook.accepted()[0].body["since"],
        "since the episode began"
    );

    let alarms = app.get_json("/api/v1/alarms", Some(&oncall)).await;
    let id = alarms["alarms"][0]["id"].as_i64().unwrap();
    let ack = format!("/api/v1/alarms/{id}/ack");
    assert_eq!(
        app.post(&ack, Some(&reader), &json!({})).await.status(),
        403,
        "acknowledging needs the respond scope"
    );
    let res = app
        .post(
            &ack,
            Some(&oncall),
            &json!({ "comment": "looking into it" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let acked = json_of(res).await;
    assert_eq!(acked["acknowledged"]["by"], "oncall");
    assert_eq!(acked["acknowledged"]["comment"], "looking into it");
    app.evaluate_later("sessions", 40_000).await; // would be due: held
    deliver(&app, 60_000).await;
    assert_eq!(hook.kinds(), ["alarm", "reminder"]);

    // Withdrawn: reminders resume.
    assert_eq!(app.delete(&ack, Some(&oncall)).await.status(), 200);
    app.evaluate_later("sessions", 40_000).await;
    deliver(&app, 60_000).await;
    assert_eq!(hook.kinds(), ["alarm", "reminder", "reminder"]);

    // Acknowledged again, then resolved: the resolution is sent and the ack ends with it.
    assert_eq!(
        app.post(&ack, Some(&oncall), &json!({})).await.status(),
        200
    );
    app.redis_interval(&mut c, "sessions", 10, 0).await;
    deliver(&app, 60_000).await;
    assert_eq!(hook.kinds(), ["alarm", "reminder", "reminder", "resolved"]);
    let alarms = app.get_json("/api/v1/alarms", Some(&oncall)).await;
    assert_eq!(alarms["alarms"][0]["acknowledged"], Value::Null);
    crate::harness::app::expect_error(
        "ack of an ok alarm",
        app.post(&ack, Some(&oncall), &json!({})).await,
        409,
        "conflict",
        None,
        "only an alarm in state alarm can be acknowledged",
    )
    .await;
}

#[tokio::test]
async fn a_maintenance_window_holds_the_messages_of_the_alarms_it_covers() {
    // A window that started within the last second and lasts an hour: open now.
    let (_redis, hook, app, mut c) = start(
        "[[maintenance]]\nname = \"failover-drill\"\ntarget = \"sess*\"\ncron = \"* * * * * *\"\nduration = \"1h\"\n",
    )
    .await;
    let reader = app.token("dash", &["read"], &[]).await;
    app.redis_interval(&mut c, "sessions", 0, 10).await; // alarm, held
    app.redis_interval(&mut c, "sessions", 10, 0).await; // resolved, held with it
    deliver(&app, 0).await;
    assert!(hook.accepted().is_empty());
    let held = app
        .get_json("/api/v1/outbox?state=held", Some(&reader))
        .await;
    let held_by: Vec<&str> = held["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["held_by"].as_str().unwrap())
        .collect();
    assert_eq!(
        held_by,
        [
            "its alarm message was held",
            "maintenance window failover-drill"
        ]
    );
    let alarms = app.get_json("/api/v1/alarms", Some(&reader)).await;
    assert_eq!(alarms["alarms"][0]["state"], "ok");
}

#[tokio::test]
async fn bad_silence_and_ack_requests_are_refused_naming_the_field_and_rule() {
    use crate::harness::app::expect_error;
    let (_redis, _hook, app, mut c) = start("").await;
    let oncall = app.token("oncall", &["respond"], &[]).await;
    app.redis_interval(&mut c, "sessions", 10, 0).await; // ok
    let long = "x".repeat(1001);
    let why = "deploy";
    let cases: Vec<(&str, Value, &str, Option<&str>, &str)> = vec![
        (
            "nothing named",
            json!({ "for": "1h", "comment": why }),
            "invalid_request",
            Some("alarm_id"),
            "name what to silence",
        ),
        (
            "alarm_id with a target",
            json!({ "alarm_id": 1, "target": "sessions", "for": "1h", "comment": why }),
            "invalid_request",
            Some("alarm_id"),
            "leave alarm and target out",
        ),
        (
            "unknown alarm state",
            json!({ "alarm_id": 999, "for": "1h", "comment": why }),
            "invalid_request",
            Some("alarm_id"),
            "there is no alarm state 999",
        ),
        (
            "unknown alarm",
            json!({ "alarm": "nope", "for": "1h", "comment": why }),
            "invalid_request",
            Some("alarm"),
            "is not a configured alarm",
        ),
        (
            "bad glob",
            json!({ "target": "[", "for": "1h", "comment": why }),
            "invalid_request",
            Some("target"),
            "is not a valid glob",
        ),
        (
            "glob matching nothing",
            json!({ "target": "orders-*", "for": "1h", "comment": why }),
            "invalid_request",
            Some("target"),
            "matches no configured target",
        ),
        (
            "no end",
            json!({ "target": "sessions", "comment": why }),
            "invalid_request",
            Some("until"),
            "exactly one of until",
        ),
        (
            "two ends",
            json!({ "target": "sessions", "until": "resolved", "for": "1h", "comment": why }),
            "invalid_request",
            Some("until"),
            "exactly one of until",
        ),
        (
            "unparsable time",
            json!({ "target": "sessions", "until": "tomorrow", "comment": why }),
            "invalid_request",
            Some("until"),
            "neither RFC 3339",
        ),
        (
            "a time of the wrong type",
            json!({ "target": "sessions", "until": true, "comment": why }),
            "invalid_request",
            Some("until"),
            "must be RFC 3339, milliseconds",
        ),
        (
            "past end",
            json!({ "target": "sessions", "until": "2020-01-01T00:00:00Z", "comment": why }),
            "invalid_request",
            Some("until"),
            "must end in the future",
        ),
        (
            "bad duration",
            json!({ "target": "sessions", "for": "soon", "comment": why }),
            "invalid_request",
            Some("for"),
            "is not a duration",
        ),
        (
            "too long",
            json!({ "target": "sessions", "for": "365d", "comment": why }),
            "invalid_request",
            Some("for"),
            "within 90 days",
        ),
        (
            "resolved without an alarm",
            json!({ "target": "sessions", "until": "resolved", "comment": why }),
            "invalid_request",
            Some("until"),
            "needs alarm_id",
        ),
        (
            "no comment",
            json!({ "target": "sessions", "for": "1h" }),
            "invalid_request",
            Some("comment"),
            "say why",
        ),
        (
            "blank comment",
            json!({ "target": "sessions", "for": "1h", "comment": "  " }),
            "invalid_request",
            Some("comment"),
            "say why",
        ),
        (
            "comment too long",
            json!({ "target": "sessions", "for": "1h", "comment": long }),
            "invalid_request",
            Some("comment"),
            "at most 1000",
        ),
        // A NUL gave a 500 on PostgreSQL, and escape sequences reach terminals (issue 14).
        (
            "NUL in a comment",
            json!({ "target": "sessions", "for": "1h", "comment": "a\u{0}b" }),
            "invalid_request",
            Some("comment"),
            "control characters",
        ),
        (
            "an escape sequence in a comment",
            json!({ "target": "sessions", "for": "1h", "comment": "\u{1b}[31mred" }),
            "invalid_request",
            Some("comment"),
            "control characters",
        ),
        (
            "NUL in a target",
            json!({ "target": "sess\u{0}", "for": "1h", "comment": why }),
            "invalid_request",
            Some("target"),
            "control characters",
        ),
        (
            "unknown field",
            json!({ "targets": "sessions", "for": "1h", "comment": why }),
            "invalid_json",
            Some("targets"),
            "unknown field",
        ),
    ];
    for (what, body, code, field, message) in cases {
        let res = app.post("/api/v1/silences", Some(&oncall), &body).await;
        expect_error(what, res, 400, code, field, message).await;
    }
    let listed = app
        .get_json("/api/v1/silences?state=all", Some(&oncall))
        .await;
    assert!(
        listed["silences"].as_array().unwrap().is_empty(),
        "nothing refused was stored"
    );

    // Who may silence what.
    let reader = app.token("dash", &["read"], &[]).await;
    let limited = app.token("team", &["respond"], &["sessions"]).await;
    let body = json!({ "target": "sess*", "for": "1h", "comment": why });
    assert_eq!(
        app.post("/api/v1/silences", None, &body).await.status(),
        401
    );
    assert_eq!(
        app.post("/api/v1/silences", Some(&reader), &body)
            .await
            .status(),
        403
    );
    assert_eq!(
        app.post("/api/v1/silences", Some(&limited), &body)
            .await
            .status(),
        403,
        "a limited token cannot silence a glob"
    );
    let exact = json!({ "target": "sessions", "for": "1h", "comment": why });
    let res = app.post("/api/v1/silences", Some(&limited), &exact).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    // Changing: bad input, a silence that ended, one that does not exist.
    let path = format!("/api/v1/silences/{id}");
    expect_error(
        "patch to the past",
        app.patch(
            &path,
            Some(&oncall),
            &json!({ "until": "2020-01-01T00:00:00Z" }),
        )
        .await,
        400,
        "invalid_request",
        Some("until"),
        "must end in the future",
    )
    .await;
    let longer: Value = app
        .patch(
            &path,
            Some(&oncall),
            &json!({ "for": "3h", "comment": "deploy, slower" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(longer["comment"], "deploy, slower");
    assert!(longer["until"].as_i64().unwrap() > cachewarden::store::now_ms() + 2 * 3_600_000);
    assert_eq!(app.delete(&path, Some(&oncall)).await.status(), 200);
    expect_error(
        "patch of an ended silence",
        app.patch(&path, Some(&oncall), &json!({ "for": "1h" }))
            .await,
        409,
        "conflict",
        None,
        "has ended",
    )
    .await;
    assert_eq!(
        app.delete("/api/v1/silences/999", Some(&oncall))
            .await
            .status(),
        404
    );

    // Acknowledging: a body that is not JSON, an alarm that does not exist.
    let alarms = app.get_json("/api/v1/alarms", Some(&oncall)).await;
    let alarm = alarms["alarms"][0]["id"].as_i64().unwrap();
    let res = app
        .http
        .post(app.url(&format!("/api/v1/alarms/{alarm}/ack")))
        .bearer_auth(&oncall)
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_error(
        "ack with a broken body",
        res,
        400,
        "invalid_request",
        Some("body"),
        "is not a JSON object",
    )
    .await;
    assert_eq!(
        app.post("/api/v1/alarms/999/ack", Some(&oncall), &json!({}))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_gap_in_the_data_neither_pages_twice_nor_loses_the_resolution() {
    let (_redis, hook, app, mut c) = start("").await;
    let reader = app.token("dash", &["read"], &[]).await;
    app.redis_interval(&mut c, "sessions", 0, 10).await; // alarm, sent
    app.redis_interval(&mut c, "sessions", 0, 0).await; // no traffic: insufficient data
    app.redis_interval(&mut c, "sessions", 1, 9).await; // alarm again: the same episode
    app.redis_interval(&mut c, "sessions", 0, 0).await; // insufficient data
    deliver(&app, 0).await;
    assert_eq!(hook.kinds(), ["alarm"], "one page for one episode");
    app.redis_interval(&mut c, "sessions", 10, 0).await; // ok: the episode ends
    deliver(&app, 0).await;
    assert_eq!(hook.kinds(), ["alarm", "resolved"]);
    let alarms = app.get_json("/api/v1/alarms", Some(&reader)).await;
    let id = alarms["alarms"][0]["id"].as_i64().unwrap();
    let history = app
        .get_json(&format!("/api/v1/alarms/{id}/history"), Some(&reader))
        .await;
    let path: Vec<&str> = history["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        path,
        [
            "alarm",
            "insufficient_data",
            "alarm",
            "insufficient_data",
            "ok"
        ],
        "every change is still recorded"
    );
}
