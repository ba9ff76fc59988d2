//! Alarms evaluated right after each poll, against a real redis-server: states, transitions
//! with the datapoints that caused them, min_volume, and the API that shows them.

use serde_json::Value;

use crate::harness::TestApp;
use crate::harness::redis::RedisServer;

fn config(url: &str, alarm: &str) -> String {
    format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{url}\"\n[[alarms]]\nname = \"sessions-hit-rate\"\ntarget = \"sess*\"\nmetric = \"hit_rate\"\n{alarm}"
    )
}

async fn alarm_state(app: &TestApp, token: &str) -> Value {
    let body: Value = app
        .get("/api/v1/alarms", Some(token))
        .await
        .json()
        .await
        .unwrap();
    body["alarms"][0].clone()
}

#[tokio::test]
async fn a_hit_rate_drop_raises_the_alarm_and_recovery_resolves_it() {
    let redis = RedisServer::start();
    let app = TestApp::sqlite(&config(
        &redis.url(),
        "below = 0.8\ndatapoints = \"2 of 3\"\n",
    ))
    .await;
    let token = app.token("viewer", &["read"], &[]).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap(); // first reading: no interval yet
    assert_eq!(
        alarm_state(&app, &token).await["state"],
        "insufficient_data"
    );

    // One good datapoint cannot rule out 2 breaching of 3 yet: still insufficient data.
    app.redis_interval(&mut c, "sessions", 9, 1).await; // 0.9
    assert_eq!(
        alarm_state(&app, &token).await["state"],
        "insufficient_data"
    );
    app.redis_interval(&mut c, "sessions", 1, 9).await; // 0.1: 1 of 3 breaching, 1 unknown
    assert_eq!(
        alarm_state(&app, &token).await["state"],
        "insufficient_data"
    );
    app.redis_interval(&mut c, "sessions", 2, 8).await; // 0.2: 2 of 3 breaching
    let raised = alarm_state(&app, &token).await;
    assert_eq!(raised["state"], "alarm", "{raised}");
    assert_eq!(
        raised["reason"],
        "2 of the last 3 periods breaching (2 needed), 0 without datapoint"
    );
    assert_eq!(raised["severity"], "warning");

    app.redis_interval(&mut c, "sessions", 10, 0).await;
    app.redis_interval(&mut c, "sessions", 10, 0).await; // 1 of 3 breaching again: resolved
    let resolved = alarm_state(&app, &token).await;
    assert_eq!(resolved["state"], "ok");

    let id = resolved["id"].as_i64().unwrap();
    let history: Value = app
        .get(&format!("/api/v1/alarms/{id}/history"), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let moves: Vec<(String, String)> = history["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|t| {
            (
                t["from"].as_str().unwrap().to_owned(),
                t["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("insufficient_data".into(), "alarm".into()),
            ("alarm".into(), "ok".into())
        ]
    );
    // The transition keeps the datapoints that caused it.
    let to_alarm = &history["transitions"][1];
    assert_eq!(to_alarm["to"], "alarm");
    let values: Vec<f64> = to_alarm["evaluation"]["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [0.9, 0.1, 0.2]);
    assert_eq!(to_alarm["evaluation"]["periods"][2]["volume"], 10.0);
    // Only transitions are stored: an unchanged state adds no history.
    app.redis_interval(&mut c, "sessions", 10, 0).await;
    let again: Value = app
        .get(&format!("/api/v1/alarms/{id}/history"), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["transitions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn min_volume_holds_the_state_through_quiet_intervals() {
    let redis = RedisServer::start();
    let app = TestApp::sqlite(&config(&redis.url(), "below = 0.8\nmin_volume = 50\n")).await;
    let token = app.token("viewer", &["read"], &[]).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 90, 10).await;
    assert_eq!(alarm_state(&app, &token).await["state"], "ok");
    app.redis_interval(&mut c, "sessions", 0, 5).await; // 0 % of 5 requests: noise, held
    let held = alarm_state(&app, &token).await;
    assert_eq!(held["state"], "ok");
    assert!(
        held["reason"]
            .as_str()
            .unwrap()
            .contains("under min_volume 50"),
        "{held}"
    );
    app.redis_interval(&mut c, "sessions", 10, 90).await; // 10 % of 100: real
    assert_eq!(alarm_state(&app, &token).await["state"], "alarm");
}

#[tokio::test]
async fn an_interval_without_traffic_is_missing_data_and_alarm_states_respect_target_limits() {
    let redis = RedisServer::start();
    let app = TestApp::sqlite(&format!(
        "{}missing = \"breaching\"\n[[targets]]\nname = \"other\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1\"\n",
        config(&redis.url(), "below = 0.8\n")
    ))
    .await;
    let limited = app.token("other-only", &["read"], &["other"]).await;
    let all = app.token("viewer", &["read"], &[]).await;
    app.collector().poll_target_once("sessions").await.unwrap();
    // No traffic: the period has no hit-rate datapoint, which counts as breaching here.
    assert_eq!(alarm_state(&app, &all).await["state"], "alarm");
    let listed: Value = app
        .get("/api/v1/alarms", Some(&limited))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["alarms"].as_array().unwrap().len(),
        0,
        "the limited token does not see sessions"
    );
    let id = alarm_state(&app, &all).await["id"].as_i64().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/alarms/{id}/history"), Some(&limited))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.get("/api/v1/alarms/999/history", Some(&all))
            .await
            .status(),
        404
    );
}

/// A token limited to some targets learns nothing about what exists elsewhere (issue 14):
/// an alarm state or job on another target and one that does not exist get the same answer.
#[tokio::test]
async fn a_limited_token_cannot_tell_missing_from_forbidden() {
    let redis = RedisServer::start();
    let url = redis.url();
    let app = TestApp::sqlite(&format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{url}\"\n[[targets]]\nname = \"carts\"\nkind = \"redis\"\nurl = \"{url}\"\n\
         [[alarms]]\nname = \"hit\"\ntarget = \"*\"\nmetric = \"hit_rate\"\nbelow = 0.8\n"
    ))
    .await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.collector().poll_target_once("carts").await.unwrap();
    let carts = app
        .store
        .alarm_state("hit", "carts")
        .await
        .unwrap()
        .unwrap()
        .id;
    let limited = app.token("limited", &["respond"], &["sessions"]).await;
    let admin = app.token("root", &["admin"], &[]).await;
    let answer = |path: String, token: String| {
        let app = &app;
        async move {
            let res = app.get(&path, Some(&token)).await;
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (
                status,
                body["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
    };
    let elsewhere = answer(format!("/api/v1/alarms/{carts}/history"), limited.clone()).await;
    let nowhere = answer("/api/v1/alarms/999999/history".into(), limited.clone()).await;
    assert_eq!(elsewhere, (403, "forbidden".to_owned()));
    assert_eq!(
        nowhere, elsewhere,
        "the same answer for missing and forbidden"
    );
    assert_eq!(
        answer("/api/v1/jobs/999999".into(), limited.clone()).await,
        elsewhere
    );
    // A token for every target is simply told it does not exist.
    assert_eq!(
        answer("/api/v1/alarms/999999/history".into(), admin).await,
        (404, "not_found".to_owned())
    );
}

/// Filter first, then page (issue 14): an active silence older than the newest page of ended
/// ones is still listed as active.
#[tokio::test]
async fn active_silences_are_found_behind_a_page_of_ended_ones() {
    use cachewarden::store::NewSilence;
    let redis = RedisServer::start();
    let app = TestApp::sqlite(&config(&redis.url(), "below = 0.8\n")).await;
    let now = cachewarden::store::now_ms();
    let silence = |comment: &str| NewSilence {
        target: Some("sessions".into()),
        until: Some(now + 3_600_000),
        comment: comment.into(),
        created_by: "test".into(),
        ..NewSilence::default()
    };
    let active = app
        .store
        .create_silence(&silence("the old one, still on"), now)
        .await
        .unwrap();
    for i in 0..120 {
        let s = app
            .store
            .create_silence(&silence(&format!("ended {i}")), now)
            .await
            .unwrap();
        app.store.end_silence(s.id, "test", now).await.unwrap();
    }
    let token = app.token("viewer", &["read"], &[]).await;
    let listed: Value = app
        .get("/api/v1/silences?state=active&limit=100", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<i64> = listed["silences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [active.id]);
    let ended: Value = app
        .get("/api/v1/silences?state=ended&limit=100", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        ended["silences"].as_array().unwrap().len(),
        100,
        "a full page of the ended ones"
    );
}
