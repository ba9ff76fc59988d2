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
