//! Expected dips: an invalidation cachewarden ran opens a window on its target; an alarm that
//! fires in it is annotated "expected after invalidation #N", and held when the alarm says
//! `mute_expected = true`. CloudFront and CloudWatch are moto; the receiver is real HTTP.

use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::moto::{Moto, create_distribution, put_metric};
use crate::harness::receiver::TestReceiver;
use crate::invalidations::pass;
use crate::notifications::deliver;

#[tokio::test]
async fn an_alarm_after_our_own_invalidation_is_annotated_and_muted_where_configured() {
    let moto = Moto::start();
    let sdk = moto.sdk_config("us-east-1").await;
    let dist = create_distribution(&cachewarden::aws::cloudfront(&sdk)).await;
    let hook = TestReceiver::start(0).await;
    let toml = format!(
        "[aws]\nregion = \"us-east-1\"\n\
         [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"{dist}\"\n\
         [[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{hook}/hook\"\n\
         [[alarms]]\nname = \"web-hit-rate\"\ntarget = \"web\"\nmetric = \"hit_rate\"\nbelow = 0.8\nnotify = [\"ops\"]\nmute_expected = true\n\
         [[alarms]]\nname = \"web-hit-rate-floor\"\ntarget = \"web\"\nmetric = \"hit_rate\"\nbelow = 0.5\nnotify = [\"ops\"]\n",
        hook = hook.url
    );
    let app = TestApp::with_aws(&toml, sdk.clone()).await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let res = app
        .post(
            "/api/v1/invalidations",
            Some(&ci),
            &json!({ "target": "web", "items": ["/*"] }),
        )
        .await;
    assert_eq!(res.status(), 202);
    let job = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    pass(&app, 2_100).await;
    pass(&app, 10_000).await;

    // The hit rate dips after the invalidation: 20 % of 1,000 requests a minute.
    let cw = cachewarden::aws::cloudwatch(&sdk, Some("us-east-1"));
    let now = chrono::Utc::now().timestamp();
    let minute = now - now % 60 - 120;
    let dims = [("DistributionId", dist.as_str()), ("Region", "Global")];
    put_metric(&cw, "AWS/CloudFront", "CacheHitRate", &dims, minute, 20.0).await;
    put_metric(&cw, "AWS/CloudFront", "Requests", &dims, minute, 1000.0).await;
    let report = app.collector().poll_target_once("web").await.unwrap();
    assert_eq!(report.error, None);

    let label = format!("expected after invalidation #{job}");
    let alarms: Value = app
        .get("/api/v1/alarms", Some(&ci))
        .await
        .json()
        .await
        .unwrap();
    for a in alarms["alarms"].as_array().unwrap() {
        assert_eq!(a["state"], "alarm", "{a}");
        let history: Value = app
            .get(&format!("/api/v1/alarms/{}/history", a["id"]), Some(&ci))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(history["transitions"][0]["evaluation"]["expected"], label);
    }
    deliver(&app, 0).await;
    let got = hook.accepted();
    assert_eq!(got.len(), 1, "the muted alarm sent nothing: {got:?}");
    assert_eq!(got[0].body["alarm"], "web-hit-rate-floor");
    assert_eq!(got[0].body["expected"], label);
    assert_eq!(got[0].body["recent_invalidations"][0]["job"], job);
    let held: Value = app
        .get("/api/v1/outbox?state=held", Some(&ci))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(held["notifications"][0]["payload"]["alarm"], "web-hit-rate");
    assert_eq!(held["notifications"][0]["held_by"], label);
}

/// A dry run changes nothing: a dip right after one is not "expected", is not held by
/// `mute_expected`, the message names no recent change, and the target page draws no mark
/// for it (the jobs list still shows it, as a dry run). Against a real redis-server.
#[tokio::test]
async fn a_dry_run_is_not_a_change_it_marks_mutes_and_reports_nothing() {
    use cachewarden::domain::Role;
    let redis = crate::harness::redis::RedisServer::start();
    let hook = TestReceiver::start(0).await;
    let toml = format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\npurge_prefixes = [\"product:\"]\n\
         [[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{}/hook\"\n\
         [[alarms]]\nname = \"sessions-hit-rate\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.8\n\
         datapoints = \"1 of 1\"\nnotify = [\"ops\"]\nmute_expected = true\n",
        redis.url(),
        hook.url
    );
    let app = TestApp::sqlite(&toml).await;
    let ops = app.token("ops", &["purge", "read"], &[]).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 10, 0).await;

    let res = app
        .post(
            "/api/v1/purges",
            Some(&ops),
            &json!({"target": "sessions", "patterns": ["product:*"], "dry_run": true}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let dry = res.json::<Value>().await.unwrap();
    assert_eq!(dry["dry_run"], true, "{dry}");
    let id = dry["id"].as_i64().unwrap();
    app.jobs
        .run_once(cachewarden::store::now_ms())
        .await
        .unwrap();

    app.redis_interval(&mut c, "sessions", 1, 9).await; // 10 %: the alarm fires
    let alarms = app.get_json("/api/v1/alarms", Some(&ops)).await;
    let alarm = &alarms["alarms"][0];
    assert_eq!(alarm["state"], "alarm", "{alarm}");
    let history = app
        .get_json(
            &format!("/api/v1/alarms/{}/history", alarm["id"]),
            Some(&ops),
        )
        .await;
    assert!(
        history["transitions"][0]["evaluation"]["expected"].is_null(),
        "no expected dip after a dry run: {history}"
    );
    deliver(&app, 0).await;
    let got = hook.accepted();
    assert_eq!(got.len(), 1, "not muted: {got:?}");
    assert_eq!(got[0].body["alarm"], "sessions-hit-rate");
    assert!(got[0].body["expected"].is_null(), "{:?}", got[0].body);
    assert_eq!(
        got[0].body["recent_invalidations"],
        json!([]),
        "a dry run is not a recent change"
    );

    app.person("vera", Role::Viewer, &[]).await;
    let vera = app.sign_in("vera").await;
    let page = app
        .page(Some(&vera.cookie), "/targets/sessions?span=1h")
        .await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains(&format!("/jobs/{id}")),
        "no mark or line for the dry run on the target page"
    );
    let jobs = app.page(Some(&vera.cookie), "/jobs").await;
    let row = jobs
        .body
        .split(&format!("id=\"job-{id}\""))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_default();
    assert!(
        row.contains("dry run"),
        "the jobs list says it was a dry run: {row}"
    );
}
