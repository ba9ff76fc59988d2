//! Reloading the configuration without a restart (issue 13, item 3): over the API and on
//! SIGHUP, against real Redis servers and webhook receivers. Added, changed and removed
//! targets, notifiers and alarms take effect at once; alarm states and the units of
//! unchanged targets are kept; an invalid file is refused whole; a job in flight finishes.

use std::sync::Arc;
use std::time::Duration;

use cachewarden::store::now_ms;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::cloudfront::ScriptedCloudFront;
use crate::harness::process::{http_get, wait_until};
use crate::harness::receiver::TestReceiver;
use crate::harness::redis::RedisServer;
use crate::harness::replica::Replica;
use crate::notifications::deliver;

fn config(sessions: &str, second: (&str, &str), hook: &str) -> String {
    format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{sessions}\"\n\
         [[targets]]\nname = \"{}\"\nkind = \"redis\"\nurl = \"{}\"\n\
         [[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{hook}\"\n\
         [[alarms]]\nname = \"sessions-hit-rate\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.8\ndatapoints = \"1 of 1\"\nnotify = [\"ops\"]\n",
        second.0, second.1
    )
}

async fn reload(app: &TestApp, token: &str) -> (u16, Value) {
    let res = app
        .post("/api/v1/admin/reload", Some(token), &json!({}))
        .await;
    (
        res.status().as_u16(),
        res.json().await.expect("a JSON answer"),
    )
}

async fn metrics(app: &TestApp) -> String {
    app.get("/metrics", None).await.text().await.unwrap()
}

fn gauge(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn sessions_alarm(app: &TestApp, token: &str) -> Value {
    let all = app.get_json("/api/v1/alarms", Some(token)).await;
    all["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alarm"] == "sessions-hit-rate")
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_reload_applies_targets_notifiers_and_alarms_at_once_and_keeps_what_did_not_change() {
    let (a, b) = (RedisServer::start(), RedisServer::start());
    let (before, after) = (TestReceiver::start(0).await, TestReceiver::start(0).await);
    let app = TestApp::from_file(&config(&a.url(), ("carts", &b.url()), &before.url)).await;
    let admin = app.token("root", &["admin"], &[]).await;
    let read = app.token("viewer", &["read"], &[]).await;
    let mut c = a.connection().await;

    // The alarm fires and its message goes to the first receiver; "carts" is on /metrics.
    app.collector().poll_target_once("sessions").await.unwrap();
    app.collector().poll_target_once("carts").await.unwrap();
    app.redis_interval(&mut c, "sessions", 1, 9).await;
    deliver(&app, 0).await;
    assert_eq!(before.kinds(), ["alarm"]);
    let raised = sessions_alarm(&app, &read).await;
    assert_eq!(raised["state"], "alarm");
    assert!(metrics(&app).await.contains("target=\"carts\""));
    let sessions_unit = app.collector().units()[0].clone();

    // "carts" goes, "pages" comes, the notifier moves to another URL; the alarm is unchanged.
    app.reconfigure(&config(&a.url(), ("pages", &b.url()), &after.url));
    let (status, done) = reload(&app, &admin).await;
    assert_eq!(status, 200, "{done}");
    let changes = &done["changes"];
    assert_eq!(changes["targets"]["added"], json!(["pages"]));
    assert_eq!(changes["targets"]["removed"], json!(["carts"]));
    assert_eq!(changes["notifiers"]["changed"], json!(["ops"]));
    assert_eq!(
        changes["alarms"],
        json!({"added": [], "changed": [], "removed": []})
    );
    assert_eq!(changes["restart_required"], json!([]));
    assert_eq!(done["file"], app.config_file().display().to_string());

    // Targets: the API, the collector and /metrics follow at once.
    assert_eq!(app.target_names(&read).await, ["sessions", "pages"]);
    assert!(app.collector().poll_target_once("carts").await.is_none());
    assert_eq!(
        app.collector()
            .poll_target_once("pages")
            .await
            .unwrap()
            .error,
        None
    );
    let text = metrics(&app).await;
    assert!(
        !text.contains("target=\"carts\""),
        "a removed target leaves no series behind"
    );
    assert!(text.contains("target=\"pages\""));
    assert_eq!(
        gauge(&text, "cachewarden_config_last_reload_successful"),
        Some(1.0)
    );
    let reloaded_at = gauge(
        &text,
        "cachewarden_config_last_reload_success_timestamp_seconds",
    )
    .expect("the reload time");
    assert!((reloaded_at * 1000.0 - done["at"].as_f64().unwrap()).abs() < 1.0);

    // The unchanged target kept its unit (connection, counters), and the alarm its state.
    assert!(Arc::ptr_eq(&app.collector().units()[0], &sessions_unit));
    let kept = sessions_alarm(&app, &read).await;
    assert_eq!(kept["state"], "alarm");
    assert_eq!(kept["id"], raised["id"]);
    assert_eq!(kept["since"], raised["since"]);

    // The first interval after the reload resolves it (the kept unit has the counters to
    // compute it), and the resolution goes where the notifier points now.
    app.redis_interval(&mut c, "sessions", 10, 0).await;
    assert_eq!(sessions_alarm(&app, &read).await["state"], "ok");
    deliver(&app, 0).await;
    assert_eq!(before.kinds(), ["alarm"]);
    assert_eq!(after.kinds(), ["resolved"]);

    // Removing the alarm takes it off the list; its history stays in the store.
    app.reconfigure(
        config(&a.url(), ("pages", &b.url()), &after.url)
            .split("[[alarms]]")
            .next()
            .unwrap(),
    );
    let (status, done) = reload(&app, &admin).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        done["changes"]["alarms"]["removed"],
        json!(["sessions-hit-rate"])
    );
    assert_eq!(sessions_alarm(&app, &read).await, Value::Null);
    assert!(
        app.store
            .alarm_state_by_id(kept["id"].as_i64().unwrap())
            .await
            .unwrap()
            .is_some()
    );

    // Both reloads are in the audit log, by the token that asked.
    let audit = app.get_json("/api/v1/audit?limit=100", Some(&admin)).await;
    let reloads: Vec<&Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "config.reload")
        .collect();
    assert_eq!(reloads.len(), 2, "{audit}");
    assert!(
        reloads
            .iter()
            .all(|e| e["actor"] == "root" && e["outcome"] == "ok")
    );
}

#[tokio::test]
async fn an_invalid_file_is_refused_whole_with_every_error_and_the_running_one_stays() {
    let redis = RedisServer::start();
    let hook = TestReceiver::start(0).await;
    let good = config(&redis.url(), ("carts", &redis.url()), &hook.url);
    let app = TestApp::from_file(&good).await;
    let admin = app.token("root", &["admin"], &[]).await;
    let read = app.token("viewer", &["read"], &[]).await;

    // Only admin may reload; without a token it is 401.
    let (status, body) = reload(&app, &read).await;
    assert_eq!(status, 403, "{body}");
    let none = app.post("/api/v1/admin/reload", None, &json!({})).await;
    assert_eq!(none.status(), 401);

    // Two mistakes plus a valid new target: nothing of it is applied.
    let bad = format!(
        "{}[[targets]]\nname = \"pages\"\nkind = \"redis\"\nurl = \"{}\"\n",
        good.replace("kind = \"webhook\"", "kind = \"carrier-pigeon\"")
            .replace("below = 0.8", "below = 8"),
        redis.url()
    );
    app.reconfigure(&bad);
    let (status, body) = reload(&app, &admin).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_configuration");
    let details = body["error"]["details"].as_array().unwrap();
    let fields: Vec<&str> = details
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"notifiers[0].kind"), "{body}");
    assert!(fields.iter().any(|f| f.starts_with("alarms[0]")), "{body}");
    assert!(
        details.iter().all(|d| d["line"].as_u64().is_some()),
        "each error has its line: {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the running configuration stays")
    );

    assert_eq!(app.target_names(&read).await, ["sessions", "carts"]);
    assert!(app.collector().poll_target_once("pages").await.is_none());
    let text = metrics(&app).await;
    assert_eq!(
        gauge(&text, "cachewarden_config_last_reload_successful"),
        Some(0.0)
    );
    let audit = app.get_json("/api/v1/audit?limit=100", Some(&admin)).await;
    let refused = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "config.reload" && e["actor"] == "root")
        .cloned()
        .expect("the refused reload is audited");
    assert_eq!(refused["outcome"], "invalid");

    // Fixed, it goes through and the gauge says so again.
    app.reconfigure(&good);
    assert_eq!(reload(&app, &admin).await.0, 200);
    assert_eq!(
        gauge(
            &metrics(&app).await,
            "cachewarden_config_last_reload_successful"
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn an_invalidation_in_flight_finishes_after_a_reload_removes_its_target() {
    const CDN: &str = "[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n";
    let cf = Arc::new(ScriptedCloudFront::in_progress_for(1));
    let app = TestApp::from_file_with(CDN, Some(cf.clone())).await;
    let admin = app.token("root", &["admin"], &[]).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let res = app
        .post(
            "/api/v1/invalidations",
            Some(&ci),
            &json!({"target": "web", "items": ["/index.html"]}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    app.jobs.run_once(now_ms() + 2_100).await.unwrap();
    let path = format!("/api/v1/invalidations/{id}");
    assert_eq!(app.get_json(&path, Some(&ci)).await["state"], "running");

    app.reconfigure("");
    let (status, done) = reload(&app, &admin).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["changes"]["targets"]["removed"], json!(["web"]));

    // Tracked to its end by the executors of the new configuration.
    app.jobs.run_once(now_ms() + 60_000).await.unwrap();
    app.jobs.run_once(now_ms() + 120_000).await.unwrap();
    assert_eq!(app.get_json(&path, Some(&ci)).await["state"], "completed");
    assert_eq!(cf.calls().len(), 1);
    // A new one for the removed target is refused.
    let res = app
        .post(
            "/api/v1/invalidations",
            Some(&ci),
            &json!({"target": "web", "items": ["/a"]}),
        )
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn a_maintenance_window_added_by_a_reload_holds_messages_at_once() {
    let redis = RedisServer::start();
    let hook = TestReceiver::start(0).await;
    let plain = config(&redis.url(), ("carts", &redis.url()), &hook.url);
    let app = TestApp::from_file(&plain).await;
    let admin = app.token("root", &["admin"], &[]).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();

    // A window that opened within the last second and lasts an hour.
    app.reconfigure(&format!(
        "{plain}[[maintenance]]\nname = \"drill\"\ntarget = \"sessions\"\ncron = \"* * * * * *\"\nduration = \"1h\"\n"
    ));
    let (status, done) = reload(&app, &admin).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["changes"]["maintenance"]["added"], json!(["drill"]));
    app.redis_interval(&mut c, "sessions", 0, 10).await; // alarm, held by the new window
    deliver(&app, 0).await;
    assert!(hook.accepted().is_empty());
    let held = app
        .get_json("/api/v1/outbox?state=held", Some(&admin))
        .await;
    assert_eq!(
        held["notifications"][0]["held_by"], "maintenance window drill",
        "{held}"
    );
}

/// The daemon as operators run it: `serve --config FILE`, then SIGHUP.
#[tokio::test]
async fn sighup_reloads_the_file_the_daemon_was_started_with() {
    let (a, b) = (RedisServer::start(), RedisServer::start());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cachewarden.toml");
    let target = |name: &str, url: &str| {
        format!(
            "[[targets]]\nname = \"{name}\"\nkind = \"redis\"\nurl = \"{url}\"\nevery = \"1h\"\n"
        )
    };
    std::fs::write(&file, target("sessions", &a.url())).unwrap();
    let replica = Replica::start("hup", &file, dir.path(), &[]);
    let metric = |name: &'static str| {
        let port = replica.port;
        move || {
            let answer = http_get(port, "/metrics").unwrap_or_default();
            gauge(&answer, name)
        }
    };
    let up = |target: &'static str| {
        let port = replica.port;
        move || {
            http_get(port, "/metrics")
                .unwrap_or_default()
                .lines()
                .any(|l| {
                    l.starts_with("cachewarden_target_up{")
                        && l.contains(&format!("target=\"{target}\""))
                })
        }
    };
    let sessions_up = up("sessions");
    wait_until("the first poll", Duration::from_secs(20), || async {
        sessions_up()
    })
    .await;

    let hangup = |pid: u32| {
        // SAFETY: signalling the child this test started.
        unsafe { libc::kill(pid as i32, libc::SIGHUP) };
    };
    std::fs::write(
        &file,
        format!(
            "{}{}",
            target("sessions", &a.url()),
            target("carts", &b.url())
        ),
    )
    .unwrap();
    hangup(replica.pid());
    // The leader polls a new target at once, although its schedule is hourly.
    let carts_up = up("carts");
    wait_until("the new target polled", Duration::from_secs(20), || async {
        carts_up()
    })
    .await;
    let ok = metric("cachewarden_config_last_reload_successful");
    assert_eq!(ok(), Some(1.0));

    std::fs::write(&file, "[[targets]]\nname = \"broken\"\nkind = \"redis\"\n").unwrap();
    hangup(replica.pid());
    wait_until("the refusal", Duration::from_secs(20), || async {
        ok() == Some(0.0)
    })
    .await;
    assert!(up("carts")(), "the running configuration stays");
    let log = replica.log();
    assert!(
        log.contains("targets[0].url: is required"),
        "the log names the error: {log}"
    );
    assert!(log.contains("Refused the new configuration"));

    // Both are in the audit log, by the signal, with what changed or what was wrong.
    let store = cachewarden::store::Store::connect(
        &secrecy::SecretString::from(format!(
            "sqlite://{}",
            dir.path().join("cachewarden.db").display()
        )),
        1,
    )
    .await
    .unwrap();
    let reloads = || async {
        store
            .list_audit(&cachewarden::store::AuditQuery {
                limit: 10,
                before_id: None,
                actor: Some("signal:SIGHUP".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "config.reload")
            .collect::<Vec<_>>()
    };
    // The refusal's metric is set before its audit entry is written.
    wait_until(
        "the refusal's audit entry",
        Duration::from_secs(20),
        || async { reloads().await.len() == 2 },
    )
    .await;
    let all = reloads().await;
    let mut entries: Vec<_> = all.iter().collect();
    entries.sort_by_key(|e| e.id);
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0].outcome.as_str(), "ok");
    assert_eq!(
        entries[0].detail["changes"]["targets"]["added"],
        json!(["carts"])
    );
    assert_eq!(entries[1].outcome.as_str(), "invalid");
    assert!(
        entries[1].detail["errors"][0]
            .as_str()
            .unwrap()
            .contains("targets[0].url")
    );
}
