//! The dashboard in a real headless Chromium.

use fantoccini::Locator;

use crate::harness::TestApp;
use crate::harness::browser::Browser;

#[tokio::test]
async fn the_home_page_shows_the_empty_state_styled_by_the_stylesheet() {
    let app = TestApp::sqlite("").await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&app.url("/")).await.unwrap();
    assert_eq!(c.title().await.unwrap(), "Targets · cachewarden");
    let empty = c.find(Locator::Css("#empty-state")).await.unwrap();
    let text = empty.text().await.unwrap();
    assert!(text.contains("No cache targets yet"), "{text}");
    assert!(
        text.contains("cachewarden print-default-config > cachewarden.toml"),
        "{text}"
    );
    // The accent border comes from /static/app.css: the stylesheet was served and applied.
    assert_eq!(
        empty.css_value("border-left-color").await.unwrap(),
        "rgba(31, 111, 235, 1)"
    );
    assert!(
        c.find(Locator::Css("table.targets")).await.is_err(),
        "no table without targets"
    );
    if let Ok(dir) = std::env::var("CACHEWARDEN_SCREENSHOTS") {
        std::fs::write(
            std::path::Path::new(&dir).join("home-empty.png"),
            c.screenshot().await.unwrap(),
        )
        .unwrap();
    }
    browser.close().await;
}

#[tokio::test]
async fn the_home_page_lists_configured_targets() {
    let app = TestApp::sqlite(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\n\
         [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n",
    )
    .await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&app.url("/")).await.unwrap();
    let rows = c
        .find_all(Locator::Css("table.targets tbody tr"))
        .await
        .unwrap();
    let mut seen = Vec::new();
    for row in rows {
        seen.push(row.text().await.unwrap());
    }
    assert_eq!(
        seen,
        [
            "sessions redis pending every 15s",
            "web cloudfront pending every 1m"
        ]
    );
    assert!(c.find(Locator::Css("#empty-state")).await.is_err());
    browser.close().await;
}

#[tokio::test]
async fn each_target_shows_its_hit_rate_over_time_as_a_chart() {
    use redis::AsyncCommands;
    let redis = crate::harness::redis::RedisServer::start();
    let app = TestApp::sqlite(&format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\n",
        redis.url()
    ))
    .await;
    let mut c = redis.connection().await;
    let _: () = c.set("k", "v").await.unwrap();
    app.collector().poll_target_once("sessions").await.unwrap();
    for hits in [3, 1] {
        for _ in 0..hits {
            let _: Option<String> = c.get("k").await.unwrap();
        }
        let _: Option<String> = c.get("missing").await.unwrap();
        app.collector().poll_target_once("sessions").await.unwrap();
    }
    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&app.url("/")).await.unwrap();
    let row = b
        .find(Locator::Css("table.targets tbody tr"))
        .await
        .unwrap();
    assert!(
        row.text()
            .await
            .unwrap()
            .starts_with("sessions redis up 50.0 %"),
        "{}",
        row.text().await.unwrap()
    );
    let chart = row
        .find(Locator::Css("svg.spark"))
        .await
        .expect("a chart in the row");
    assert_eq!(
        chart.attr("aria-label").await.unwrap().as_deref(),
        Some("hit rate of sessions, last 6 hours")
    );
    let path = chart
        .find(Locator::Css("path"))
        .await
        .unwrap()
        .attr("d")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        path.matches(['M', 'L']).count(),
        2,
        "two datapoints (0.75 then 0.5): {path}"
    );
    if let Ok(dir) = std::env::var("CACHEWARDEN_SCREENSHOTS") {
        std::fs::write(
            std::path::Path::new(&dir).join("home-targets.png"),
            b.screenshot().await.unwrap(),
        )
        .unwrap();
    }
    browser.close().await;
}

#[tokio::test]
async fn alarms_show_their_state_first_and_who_holds_their_messages() {
    let redis = crate::harness::redis::RedisServer::start();
    let app = TestApp::sqlite(&format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\n\
         [[alarms]]\nname = \"hit-rate\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.8\n\
         [[alarms]]\nname = \"evictions\"\ntarget = \"sessions\"\nmetric = \"evicted_keys\"\nabove = 1000.0\n",
        redis.url()
    ))
    .await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 1, 9).await;
    let oncall = app.token("oncall", &["respond"], &[]).await;
    let alarms = app.get_json("/api/v1/alarms", Some(&oncall)).await;
    let firing = alarms["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["state"] == "alarm")
        .expect("the hit-rate alarm fires")["id"]
        .clone();
    let res = app
        .post(
            &format!("/api/v1/alarms/{firing}/ack"),
            Some(&oncall),
            &serde_json::json!({ "comment": "not shown on the page" }),
        )
        .await;
    assert_eq!(res.status(), 200);

    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&app.url("/")).await.unwrap();
    let rows = b
        .find_all(Locator::Css("table.alarms tbody tr"))
        .await
        .unwrap();
    let mut seen = Vec::new();
    for row in &rows {
        seen.push(row.text().await.unwrap());
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0].starts_with("hit-rate sessions alarm ")
            && seen[0].ends_with(" acknowledged by oncall"),
        "{seen:?}"
    );
    assert!(seen[1].starts_with("evictions sessions ok "), "{seen:?}");
    assert!(
        !seen[0].contains("not shown"),
        "comments stay behind the API"
    );
    let badge = rows[0].find(Locator::Css(".state")).await.unwrap();
    assert_eq!(
        badge.css_value("background-color").await.unwrap(),
        "rgba(253, 226, 225, 1)"
    );
    if let Ok(dir) = std::env::var("CACHEWARDEN_SCREENSHOTS") {
        std::fs::write(
            std::path::Path::new(&dir).join("home-alarms.png"),
            b.screenshot().await.unwrap(),
        )
        .unwrap();
    }
    browser.close().await;
}
