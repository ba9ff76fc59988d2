//! The dashboard in a real headless Chromium: signing in, the overview, a target's charts
//! with what happened on them, alarms, jobs and the forms that change caches.

use cachewarden::domain::Role;
use cachewarden::store::{Sample, now_ms};
use fantoccini::{Client, Locator};

use crate::harness::TestApp;
use crate::harness::browser::{Browser, click, fill, screenshot, wait_for};
use crate::harness::people::{PASSWORD, sign_in_browser};

/// The drawing (`d`) of the first line `css` selects; empty when it draws nothing.
async fn line(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .attr("d")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Moves the mouse over the chart `svg`, `x` pixels right of its centre.
async fn hover_at(c: &Client, svg: &str, x: f64) {
    use fantoccini::actions::{InputSource, MouseActions, PointerAction};
    let element = c.find(Locator::Css(svg)).await.unwrap();
    c.perform_actions(
        MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
            element,
            duration: None,
            x,
            y: 0.0,
        }),
    )
    .await
    .unwrap();
}

async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.text().await.unwrap());
    }
    out
}

#[tokio::test]
async fn setup_link_then_first_admin_then_sign_in() {
    let app = TestApp::sqlite("").await;
    let browser = Browser::start().await;
    let c = &browser.client;
    // A signed-out browser lands on the sign-in page, which (nobody exists yet) leads to setup.
    c.goto(&app.url("/alarms")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/setup");
    screenshot(c, "setup-without-link").await;
    c.goto(&app.url(app.setup_link.as_deref().unwrap()))
        .await
        .unwrap();
    fill(c, "input[name=name]", "root").await;
    fill(c, "input[name=password]", PASSWORD).await;
    fill(c, "input[name=confirm]", PASSWORD).await;
    screenshot(c, "setup").await;
    click(c, "#setup button").await;
    let who = wait_for(c, "#who").await;
    assert_eq!(who.text().await.unwrap(), "root · admin");
    // The zero-configuration first run: no targets, and how to add one.
    let empty = c.find(Locator::Css("#empty-state")).await.unwrap();
    assert!(
        empty
            .text()
            .await
            .unwrap()
            .contains("cachewarden print-default-config > cachewarden.toml")
    );
    assert_eq!(
        empty.css_value("border-left-color").await.unwrap(),
        "rgba(31, 111, 235, 1)",
        "the stylesheet applies"
    );
    screenshot(c, "overview-empty").await;
    click(c, "form.who button").await;
    wait_for(c, "#sign-in").await;
    screenshot(c, "sign-in").await;
    // Signed out: pages lead back to the sign-in page, which then returns to them.
    c.goto(&app.url("/jobs")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/sign-in");
    fill(c, "input[name=name]", "root").await;
    fill(c, "input[name=password]", PASSWORD).await;
    click(c, "#sign-in button").await;
    wait_for(c, "#who").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/jobs");
    browser.close().await;
}

#[tokio::test]
async fn the_overview_groups_targets_by_tier_with_a_day_of_hit_rate() {
    use redis::AsyncCommands;
    let redis = crate::harness::redis::RedisServer::start();
    let app = TestApp::sqlite(&format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\n\
         [[targets]]\nname = \"carts\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1\"\n\
         [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n",
        redis.url()
    ))
    .await;
    app.person("vera", Role::Viewer, &[]).await;
    // carts: a hit rate of 95 % and memory nearly full, from samples (it is never polled).
    let t = now_ms();
    app.store
        .upsert_samples(&[
            Sample::ratio("carts", "", "hit_rate", t, 95.0, 100.0),
            Sample::new("carts", "", "used_memory", t, 95.0 * 1_048_576.0),
            Sample::new("carts", "", "maxmemory", t, 100.0 * 1_048_576.0),
        ])
        .await
        .unwrap();
    let mut c = redis.connection().await;
    let _: () = c.set("k", "v").await.unwrap();
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 1, 1).await;
    // Two earlier hours of hit rate, four hours apart: the sparkline draws them as two pieces.
    let now = now_ms();
    let earlier = [
        Sample::ratio("sessions", "", "hit_rate", now - 7 * 3_600_000, 9.0, 10.0),
        Sample::ratio("sessions", "", "hit_rate", now - 3 * 3_600_000, 3.0, 10.0),
    ];
    app.store.upsert_samples(&earlier).await.unwrap();
    app.store.rollup(now - 8 * 3_600_000, now).await.unwrap();

    let browser = Browser::start().await;
    let b = &browser.client;
    sign_in_browser(b, &app, "vera").await;
    // CloudFront (the edge) comes before Redis.
    assert_eq!(texts(b, "section.tier h2").await, ["CloudFront", "Redis"]);
    // A summary above the tables: how many are up, down and not polled yet.
    assert_eq!(
        texts(b, "#target-summary .pill").await,
        ["1 up", "2 not polled yet"]
    );
    let rows = texts(b, "table.targets tbody tr").await;
    assert_eq!(rows[0], "web CloudFront pending not yet");
    // Kinds by their names, the last poll rather than the schedule (which is its title).
    assert!(rows[2].starts_with("sessions Redis up 50.0 %"), "{rows:?}");
    let polled = b
        .find(Locator::Css("a[href='/targets/sessions']"))
        .await
        .unwrap()
        .find(Locator::XPath("../../td[9]"))
        .await
        .unwrap();
    assert!(polled.text().await.unwrap().ends_with(" ago"));
    assert_eq!(
        polled.attr("title").await.unwrap().as_deref(),
        Some("every 15s")
    );
    // A low hit rate and a nearly full memory are marked.
    assert_eq!(texts(b, "td.low").await, ["50.0 %"]);
    assert_eq!(texts(b, "td.full").await, ["95.0 MiB of 100.0 MiB"]);
    // Sorting by hit rate, lowest first, then highest first.
    let names = |b: &'_ Client| {
        let b = b.clone();
        async move { texts(&b, "section.tier:nth-of-type(2) tbody td:first-child").await }
    };
    assert_eq!(names(b).await, ["carts", "sessions"]);
    click(b, "section.tier:nth-of-type(2) th:nth-child(4) button").await;
    assert_eq!(names(b).await, ["sessions", "carts"]);
    click(b, "section.tier:nth-of-type(2) th:nth-child(4) button").await;
    assert_eq!(names(b).await, ["carts", "sessions"]);
    let sorted = b
        .find(Locator::Css("section.tier:nth-of-type(2) th[aria-sort]"))
        .await
        .unwrap();
    assert_eq!(
        sorted.attr("aria-sort").await.unwrap().as_deref(),
        Some("descending")
    );
    let chart = b
        .find(Locator::Css("a[href='/targets/sessions']"))
        .await
        .unwrap();
    assert_eq!(chart.text().await.unwrap(), "sessions");
    let spark = b
        .find(Locator::Css(
            "svg.spark[aria-label='hit rate of sessions, last 24 hours']",
        ))
        .await
        .unwrap();
    let d = spark
        .find(Locator::Css("path"))
        .await
        .unwrap()
        .attr("d")
        .await
        .unwrap()
        .unwrap_or_default();
    // Seven and three hours ago (hourly rollups), and the polls just now (5-minute ones):
    // three pieces, none joined across the hours without data.
    assert_eq!(d.matches('M').count(), 3, "{d}");
    screenshot(b, "overview").await;
    // Filtering by tier.
    b.goto(&app.url("/?tier=redis")).await.unwrap();
    assert_eq!(texts(b, "section.tier h2").await, ["Redis"]);
    b.goto(&app.url("/?q=nothing-like-this")).await.unwrap();
    assert!(b.find(Locator::Css("#no-match")).await.is_ok());
    browser.close().await;
}

#[tokio::test]
async fn an_invalidation_from_the_form_shows_bad_items_then_completes_and_marks_the_chart() {
    let moto = crate::harness::moto::Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let cf = cachewarden::aws::cloudfront(&sdk);
    let id = crate::harness::moto::create_distribution(&cf).await;
    let app = TestApp::with_aws(
        &format!("[aws]\nregion = \"eu-west-1\"\n[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"{id}\"\n"),
        sdk,
    )
    .await;
    app.person("olga", Role::Operator, &[]).await;
    let browser = Browser::start().await;
    let b = &browser.client;
    sign_in_browser(b, &app, "olga").await;
    b.goto(&app.url("/invalidate")).await.unwrap();
    let items = b.find(Locator::Css("textarea[name=items]")).await.unwrap();
    items
        .send_keys("/index.html\nassets/app.js\n/css/*")
        .await
        .unwrap();
    click(b, "#invalidate button").await;
    // The bad item, and only it, carries its error beside it.
    let bad = wait_for(b, "#items li.bad").await;
    let text = bad.text().await.unwrap();
    assert!(text.starts_with("assets/app.js "), "{text}");
    assert!(text.contains("must start with /"), "{text}");
    assert_eq!(
        b.find_all(Locator::Css("#items li.bad"))
            .await
            .unwrap()
            .len(),
        1
    );
    // The banner counts lines from 1, as the list beside it does.
    assert_eq!(
        b.find(Locator::Css("#form-error"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "Line 2: must start with / (a path) or # (a cache tag)"
    );
    screenshot(b, "invalidate-error").await;
    let items = b.find(Locator::Css("textarea[name=items]")).await.unwrap();
    items.clear().await.unwrap();
    items
        .send_keys("/index.html\n/assets/app.js\n/css/*")
        .await
        .unwrap();
    click(b, "#invalidate button").await;
    let state = wait_for(b, "#job-state").await;
    assert_eq!(state.text().await.unwrap(), "queued");
    let job_path = b.current_url().await.unwrap().path().to_owned();
    // The worker sends it to moto and follows it; the open page updates by itself.
    crate::invalidations::pass(&app, 2_100).await;
    crate::invalidations::pass(&app, 10_000).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        // The live part is replaced while we read it: an element gone stale is read again.
        let s = match b.find(Locator::Css("#job-state")).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if s == "completed" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the page still says {s}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The JSON as stored is behind a disclosure; the page says what, and how long it took.
    let cloudfront = b
        .find(Locator::Css("#field-result"))
        .await
        .unwrap()
        .prop("textContent")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(cloudfront.contains("invalidation_id"), "{cloudfront}");
    assert!(
        b.find(Locator::Css("#field-result"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .is_empty(),
        "the JSON is folded away"
    );
    let what = texts(b, "#job-what").await;
    assert!(what[0].starts_with("/index.html"), "{what:?}");
    assert!(texts(b, "#job-took").await[0].starts_with("took "));
    screenshot(b, "job-completed").await;
    // The target page marks the invalidation on the charts' time axis, saying what and who.
    b.goto(&app.url("/targets/web?span=1h")).await.unwrap();
    let job_id = job_path.trim_start_matches("/jobs/");
    let mark = b
        .find(Locator::Css("#chart-hit-rate a.mark.job"))
        .await
        .unwrap();
    let title = mark
        .find(Locator::Css("title"))
        .await
        .unwrap()
        .html(true)
        .await
        .unwrap();
    // The job page measured it (no traffic before it: not measurable) and the mark says so.
    assert_eq!(
        title,
        format!("CloudFront invalidation #{job_id} by olga (completed) · impact not measurable")
    );
    assert_eq!(
        mark.attr("href").await.unwrap().as_deref(),
        Some(job_path.as_str())
    );
    // Reached by keyboard, a mark says the same in the chart's tip, not only a focus box.
    b.execute(
        "document.querySelector('#chart-hit-rate a.mark.job').focus()",
        vec![],
    )
    .await
    .unwrap();
    let tip = wait_for(b, "#chart-hit-rate .tip").await;
    assert_eq!(
        tip.text().await.unwrap(),
        format!("CloudFront invalidation #{job_id} by olga (completed) · impact not measurable")
    );
    let listed = texts(b, "#happenings li").await;
    assert!(
        listed[0].ends_with(&format!(
            "CloudFront invalidation #{job_id} by olga (completed) · impact not measurable"
        )),
        "{listed:?}"
    );
    screenshot(b, "target").await;
    // The jobs page lists it.
    b.goto(&app.url("/jobs")).await.unwrap();
    let rows = texts(b, "table.jobs tbody tr").await;
    assert!(
        rows[0].starts_with(&format!(
            "{job_id} CloudFront invalidation web /index.html, /assets/app.js, /css/* completed olga"
        )),
        "{rows:?}"
    );
    // Its progress in words, not a batch's counters.
    assert!(
        rows[0].contains("3 paths sent in batch 1 as CloudFront invalidation "),
        "{rows:?}"
    );
    screenshot(b, "jobs").await;
    // The form says where each target lives, what this month has cost, and what was sent.
    b.goto(&app.url("/invalidate")).await.unwrap();
    assert_eq!(
        texts(b, "#invalidate-facts dd").await,
        [format!("distribution {id}")]
    );
    let month = texts(b, "#month-cost").await;
    assert!(
        month[0].contains(
            ": 3 paths billed so far, 997 of the 1,000 free paths left; about $0.00 this month."
        ),
        "{month:?}"
    );
    let recent = texts(b, "#recent tbody tr").await;
    assert!(
        recent[0].starts_with(&format!("{job_id} CloudFront invalidation web")),
        "{recent:?}"
    );
    screenshot(b, "invalidate").await;
    browser.close().await;
}

#[tokio::test]
async fn the_target_page_charts_each_series_with_labelled_axes_and_gaps() {
    let app = TestApp::sqlite("[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1\"\nevery = \"1m\"\n\
        [[alarms]]\nname = \"low-hit\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.5\n").await;
    app.person("vera", Role::Viewer, &[]).await;
    let now = now_ms() / 60_000 * 60_000;
    let mut samples = Vec::new();
    // Forty minutes of data with a twenty-minute hole in the middle.
    for m in (0..60).filter(|m| !(20..40).contains(m)) {
        let ts = now - (60 - m) * 60_000;
        samples.push(Sample::ratio("sessions", "", "hit_rate", ts, 8.0, 10.0));
        samples.push(Sample::new("sessions", "", "hits", ts, 8.0));
        samples.push(Sample::new("sessions", "", "misses", ts, 2.0));
        samples.push(Sample::new(
            "sessions",
            "",
            "used_memory",
            ts,
            5.0 * 1_048_576.0,
        ));
    }
    app.store.upsert_samples(&samples).await.unwrap();
    let browser = Browser::start().await;
    let b = &browser.client;
    sign_in_browser(b, &app, "vera").await;
    // The page opens on the last hour, where a fresh install's first minutes show.
    b.goto(&app.url("/targets/sessions")).await.unwrap();
    assert_eq!(texts(b, ".spans .current").await, ["1 hour"]);
    let captions = texts(b, "figure.chart figcaption").await;
    // Hit rate, traffic, evictions, memory, connections, keys and commands: a Redis target's
    // charts.
    assert_eq!(captions.len(), 7, "{captions:?}");
    assert!(
        captions[5].starts_with("Keys stored (count)"),
        "a level, not a count per interval: {captions:?}"
    );
    assert!(
        captions[0].starts_with("Hit rate (percent)"),
        "{captions:?}"
    );
    assert!(
        captions[1].contains("hits") && captions[1].contains("misses"),
        "{captions:?}"
    );
    let d = line(b, "#chart-hit-rate path.line").await;
    assert_eq!(
        d.matches('M').count(),
        2,
        "the hole is a gap, not a slope: {d}"
    );
    let ylabels = texts(b, "#chart-hit-rate text.ylabel").await;
    assert_eq!(ylabels, ["0 %", "50 %", "100 %"]);
    let memory = texts(b, "#chart-memory text.ylabel").await;
    assert!(memory.last().unwrap().ends_with("MiB"), "{memory:?}");
    // The latest values in a row above the charts, in units.
    let current = texts(b, "#current div").await;
    for want in ["hit rate\n80.0 %", "misses\n2", "used memory\n5.0 MiB"] {
        assert!(current.iter().any(|c| c == want), "{want:?} in {current:?}");
    }
    // Misses in a warm colour, hits in a cool one; the alarm's threshold drawn where it fires.
    let misses = b
        .find(Locator::Css(
            "#chart-traffic path.line[data-label='misses']",
        ))
        .await
        .unwrap();
    assert_eq!(
        misses.attr("class").await.unwrap().as_deref(),
        Some("line w0")
    );
    assert_eq!(
        texts(b, "#chart-hit-rate .threshold text").await,
        ["alarm low-hit: below 50.0 %"]
    );
    // Values on hover (the script reads each line's points).
    hover_at(b, "#chart-hit-rate svg", 100.0).await;
    let tip = wait_for(b, "#chart-hit-rate .tip").await;
    assert!(
        tip.text()
            .await
            .unwrap()
            .starts_with("hit rate: 80.0 % at "),
        "{}",
        tip.text().await.unwrap()
    );
    // Near the right edge the tip turns to the left of the pointer, inside the chart.
    let width = b
        .find(Locator::Css("#chart-hit-rate svg"))
        .await
        .unwrap()
        .rectangle()
        .await
        .unwrap()
        .2;
    hover_at(b, "#chart-hit-rate svg", width / 2.0 - 4.0).await;
    let inside: bool = serde_json::from_value(
        b.execute(
            "const f = document.querySelector('#chart-hit-rate').getBoundingClientRect(); \
             const t = document.querySelector('#chart-hit-rate .tip').getBoundingClientRect(); \
             return !document.querySelector('#chart-hit-rate .tip').hidden && t.right <= f.right + 1 \
               && document.documentElement.scrollWidth <= document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert!(inside, "the tip overflows the chart near its right edge");
    screenshot(b, "target-charts").await;
    // Selecting a stretch of a chart zooms into it: the page opens on that range.
    let svg = b.find(Locator::Css("#chart-hit-rate svg")).await.unwrap();
    {
        use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
        b.perform_actions(
            MouseActions::new("mouse".into())
                .then(PointerAction::MoveToElement {
                    element: svg.clone(),
                    duration: None,
                    x: -200.0,
                    y: 0.0,
                })
                .then(PointerAction::Down {
                    button: MOUSE_BUTTON_LEFT,
                })
                .then(PointerAction::MoveToElement {
                    element: svg,
                    duration: None,
                    x: 100.0,
                    y: 0.0,
                })
                .then(PointerAction::Up {
                    button: MOUSE_BUTTON_LEFT,
                }),
        )
        .await
        .unwrap();
    }
    let range = wait_for(b, "#custom-range").await.text().await.unwrap();
    assert!(range.contains(" to "), "{range}");
    let url = b.current_url().await.unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    let (from, to): (i64, i64) = (q["from"].parse().unwrap(), q["to"].parse().unwrap());
    assert!(
        to - from > 60_000 && to - from < 3_600_000,
        "a stretch of the hour: {from}..{to}"
    );
    assert_eq!(texts(b, "figure.chart figcaption").await.len(), 7);
    // A day reads 5-minute rollups; the minutes not rolled up yet (here: all of them) follow
    // as raw samples, so the chart is not empty.
    b.goto(&app.url("/targets/sessions?span=24h"))
        .await
        .unwrap();
    assert_eq!(texts(b, ".spans .meta").await[0], "5-minute averages");
    let d = line(b, "#chart-hit-rate path.line").await;
    assert!(d.contains('M'), "the day's chart is empty: {d:?}");
    assert!(
        b.find(Locator::Css("#chart-hit-rate .no-data"))
            .await
            .is_err()
    );
    // Longer spans read rollups.
    b.goto(&app.url("/targets/sessions?span=30d"))
        .await
        .unwrap();
    assert_eq!(texts(b, ".spans .meta").await[0], "hourly averages");
    browser.close().await;
}

#[tokio::test]
async fn a_responder_acknowledges_an_alarm_and_sees_no_purge_button() {
    let redis = crate::harness::redis::RedisServer::start();
    let app = TestApp::sqlite(&format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\n\
         [[alarms]]\nname = \"hit-rate\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.8\n",
        redis.url()
    ))
    .await;
    app.person("rita", Role::Responder, &[]).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 1, 9).await;
    let browser = Browser::start().await;
    let b = &browser.client;
    sign_in_browser(b, &app, "rita").await;
    assert!(
        b.find(Locator::Css("a[href='/purge']")).await.is_err(),
        "no purge link for a responder"
    );
    b.goto(&app.url("/alarms")).await.unwrap();
    let card = b.find(Locator::Css(".alarm-card")).await.unwrap();
    assert!(
        card.text()
            .await
            .unwrap()
            .starts_with("In alarm hit-rate on sessions")
    );
    // A comment that tries to be markup stays text.
    let evil = "<script>window.pwned=1</script>\"><img src=x onerror=\"window.pwned=2\">";
    card.find(Locator::Css("form.ack input[name=comment]"))
        .await
        .unwrap()
        .send_keys(evil)
        .await
        .unwrap();
    card.find(Locator::Css("form.ack button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let held = wait_for(b, ".alarm-card .held.ack span").await;
    assert_eq!(
        held.text().await.unwrap(),
        format!("acknowledged by rita: {evil}")
    );
    assert!(
        b.find(Locator::Css(".alarm-card img")).await.is_err(),
        "no element from the comment"
    );
    let pwned = b
        .execute("return window.pwned === undefined", vec![])
        .await
        .unwrap();
    assert_eq!(pwned, serde_json::Value::Bool(true));
    assert!(
        b.find(Locator::Css("form.ack")).await.is_err(),
        "acknowledged once"
    );
    screenshot(b, "alarms").await;
    // The acknowledgement is the person's, in the store and in the audit log.
    let states = app.store.list_alarm_states().await.unwrap();
    assert_eq!(states[0].acked_by.as_deref(), Some("rita"));
    let audit = app
        .store
        .list_audit(&cachewarden::store::AuditQuery {
            limit: 10,
            before_id: None,
            actor: Some("rita".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        audit.iter().any(|e| e.action == "alarm.ack"
            && e.outcome.as_str() == "ok"
            && e.target.as_deref() == Some("sessions")),
        "{audit:?}"
    );
    browser.close().await;
}

/// An alarm's card says what it fires on, its value now, who it tells, and draws the series
/// with its threshold; a responder withdraws an acknowledgement, makes a silence (a refused
/// form keeps what was typed), sees it listed and ends it; the notification log is on the page.
#[tokio::test]
async fn a_responder_manages_acks_and_silences_and_reads_the_notification_log() {
    use crate::harness::receiver::TestReceiver;
    let redis = crate::harness::redis::RedisServer::start();
    let hook = TestReceiver::start(0).await;
    let app = TestApp::sqlite(&format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\n\
         [[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{}/hook\"\n\
         [[alarms]]\nname = \"hit-rate\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.8\nseverity = \"critical\"\nnotify = [\"ops\"]\n\
         [[alarms]]\nname = \"too-good\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nabove = 0.99\n",
        redis.url(),
        hook.url
    ))
    .await;
    app.person("rita", Role::Responder, &[]).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 1, 9).await;
    crate::notifications::deliver(&app, 0).await;
    assert_eq!(hook.kinds(), ["alarm"]);
    let browser = Browser::start().await;
    let b = &browser.client;
    sign_in_browser(b, &app, "rita").await;
    b.goto(&app.url("/alarms")).await.unwrap();
    assert_eq!(
        texts(b, "#alarm-summary .pill").await,
        ["1 in alarm", "1 ok", "0 active silences"]
    );
    let firing = "section.alarm-card:nth-of-type(1)";
    assert_eq!(texts(b, &format!("{firing} .severity")).await, ["CRITICAL"]);
    assert_eq!(
        texts(b, &format!("{firing} .watches")).await,
        ["hit rate below 80.0 % in the latest period"]
    );
    assert_eq!(
        texts(b, &format!("{firing} .current-value")).await,
        ["10.0 %"]
    );
    assert_eq!(texts(b, &format!("{firing} .receivers")).await, ["ops"]);
    assert_eq!(
        texts(b, &format!("{firing} .threshold text")).await,
        ["fires below 80.0 %"]
    );
    // An alarm that is ok cannot be silenced "until it resolves" (that would hold its whole
    // next episode); the firing one offers it first.
    let ok = "section.alarm-card:nth-of-type(2)";
    assert_eq!(
        texts(b, &format!("{ok} .receivers")).await,
        ["nobody (its states are recorded only)"]
    );
    let ok_ends: Vec<String> = texts(b, &format!("{ok} select[name=end] option")).await;
    assert!(
        !ok_ends.iter().any(|o| o.contains("resolves")),
        "{ok_ends:?}"
    );
    assert_eq!(
        texts(b, &format!("{ok} select[name=end] option:checked")).await,
        ["for 1 hour"]
    );
    assert_eq!(
        texts(b, &format!("{firing} select[name=end] option:checked")).await,
        ["until it resolves"]
    );
    // The target was polled just now and nothing is rolled up yet: its page shows the first
    // minutes at once, on a day's span as on the hour's.
    for span in ["", "?span=24h"] {
        b.goto(&app.url(&format!("/targets/sessions{span}")))
            .await
            .unwrap();
        let d = line(b, "#chart-hit-rate path.line").await;
        assert!(d.contains('M'), "{span}: an empty hit-rate chart");
    }
    b.goto(&app.url("/alarms")).await.unwrap();
    // The notification log.
    let log = texts(b, "table.notifications tbody tr").await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(
        log[0].contains("hit-rate sessions alarm ops delivered"),
        "{log:?}"
    );

    // Acknowledge, then withdraw it (after a confirmation).
    fill(
        b,
        &format!("{firing} form.ack input[name=comment]"),
        "looking",
    )
    .await;
    click(b, &format!("{firing} form.ack button")).await;
    let ack = wait_for(b, ".alarm-card .held.ack span").await;
    assert_eq!(ack.text().await.unwrap(), "acknowledged by rita: looking");
    click(b, ".alarm-card .held.ack button").await;
    b.accept_alert().await.unwrap();
    wait_for(b, &format!("{firing} form.ack")).await;
    assert!(b.find(Locator::Css(".held.ack")).await.is_err());

    // "Until the time given" without a time: the form comes back with why and what was typed.
    let form = b
        .find(Locator::Css(&format!("{firing} form.silence")))
        .await
        .unwrap();
    form.find(Locator::Css("select[name=end]"))
        .await
        .unwrap()
        .select_by_value("at")
        .await
        .unwrap();
    fill(
        b,
        &format!("{firing} form.silence input[name=comment]"),
        "deploy",
    )
    .await;
    click(b, &format!("{firing} form.silence button")).await;
    let error = wait_for(b, ".alarm-card form.silence .error").await;
    assert_eq!(
        error.text().await.unwrap(),
        "Until: choose when the silence ends"
    );
    let kept = b
        .find(Locator::Css(&format!(
            "{firing} form.silence input[name=comment]"
        )))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("deploy"));
    assert_eq!(
        texts(b, &format!("{firing} select[name=end] option:checked")).await,
        ["until the time given (UTC)"]
    );
    screenshot(b, "alarms-silence-refused").await;
    // For an hour: on the card and in the list, then ended from the list.
    b.find(Locator::Css(&format!(
        "{firing} form.silence select[name=end]"
    )))
    .await
    .unwrap()
    .select_by_value("1h")
    .await
    .unwrap();
    click(b, &format!("{firing} form.silence button")).await;
    let held = wait_for(b, ".alarm-card .held.silence span").await;
    let text = held.text().await.unwrap();
    assert!(
        text.starts_with("silenced until ") && text.ends_with(", by rita: deploy (#1)"),
        "{text}"
    );
    let listed = texts(b, "table.silences tbody tr").await;
    assert!(
        listed[0].starts_with("1 hit-rate on sessions until "),
        "{listed:?}"
    );
    screenshot(b, "alarms").await;
    click(b, "table.silences tbody tr button").await;
    b.accept_alert().await.unwrap();
    wait_for(b, "table.silences tbody tr.ended").await;
    let listed = texts(b, "table.silences tbody tr").await;
    assert!(
        listed[0].contains(" ended ") && listed[0].ends_with(" by rita rita deploy"),
        "{listed:?}"
    );
    assert!(
        b.find(Locator::Css(".alarm-card .held.silence"))
            .await
            .is_err()
    );
    assert_eq!(
        crate::harness::browser::console_errors(b).await,
        Vec::<String>::new()
    );
    browser.close().await;
}

/// A Redis target `sessions` (with `more` configuration) holding product:0…4 and `other`, an
/// operator signed in, and a dry run of `product:*` from the form, run.
async fn purge_dry_run(
    more: &str,
) -> (
    crate::harness::redis::RedisServer,
    TestApp,
    redis::aio::MultiplexedConnection,
    Vec<String>,
    Browser,
) {
    use redis::AsyncCommands;
    let redis = crate::harness::redis::RedisServer::start();
    let app = TestApp::sqlite(&format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\npurge_prefixes = [\"product:\"]\n{more}",
        redis.url()
    ))
    .await;
    app.person("olga", Role::Operator, &[]).await;
    let mut c = redis.connection().await;
    let products: Vec<String> = (0..5).map(|i| format!("product:{i}")).collect();
    for key in &products {
        let _: () = c.set(key, "v").await.unwrap();
    }
    let _: () = c.set("other", "v").await.unwrap();
    let browser = Browser::start().await;
    let b = &browser.client;
    sign_in_browser(b, &app, "olga").await;
    b.goto(&app.url("/purge")).await.unwrap();
    fill(b, "textarea[name=patterns]", "product:*").await;
    click(b, "button[value=dry_run]").await;
    wait_for(b, ".dry-run").await;
    app.jobs.run_once(now_ms()).await.unwrap();
    (redis, app, c, products, browser)
}

#[tokio::test]
async fn a_purge_shows_its_dry_run_then_deletes() {
    use redis::AsyncCommands;
    let (_redis, app, mut c, products, browser) = purge_dry_run("").await;
    let b = &browser.client;
    let count = wait_for(b, "#dry-run-count").await;
    assert!(
        count.text().await.unwrap().starts_with(
            "5 keys would be deleted, 83.3 % of the 6 keys on the scanned nodes, holding about "
        ),
        "{}",
        count.text().await.unwrap()
    );
    let n: usize = c.exists(&products).await.unwrap();
    assert_eq!(n, 5, "a dry run deletes nothing");
    screenshot(b, "purge-dry-run").await;
    click(b, "button[value=purge]").await;
    wait_for(b, "#job-state").await;
    app.jobs.run_once(now_ms()).await.unwrap();
    let n: usize = c.exists(&products).await.unwrap();
    assert_eq!(n, 0);
    let other: bool = c.exists("other").await.unwrap();
    assert!(other);
    // The job page (it refreshes itself while the job runs) shows the scan as a bar.
    let meter = wait_for(b, "#job-meters li").await;
    let text = meter.text().await.unwrap();
    assert!(
        text.starts_with("keys scanned") && text.ends_with("(100 %)"),
        "{text}"
    );
    screenshot(b, "job-purge").await;
    browser.close().await;
}

#[tokio::test]
async fn admins_create_a_token_shown_once_and_read_the_audit_log() {
    let app = TestApp::sqlite("").await;
    app.person("root", Role::Admin, &[]).await;
    let browser = Browser::start().await;
    let b = &browser.client;
    sign_in_browser(b, &app, "root").await;
    b.goto(&app.url("/tokens")).await.unwrap();
    // Three mistakes at once: each is listed, and what was typed stays.
    fill(b, "#new-token input[name=name]", "deploy").await;
    fill(b, "#new-token input[name=targets]", "nope").await;
    fill(b, "#new-token input[name=expires_in]", "soon").await;
    click(b, "#new-token button").await;
    wait_for(b, "#form-error li").await;
    let errors = texts(b, "#form-error li").await;
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors[0].starts_with("scopes: must name at least one"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("targets[0]: \"nope\" is not a configured target"),
        "{errors:?}"
    );
    assert!(
        errors[2].starts_with("expires_in: \"soon\" is not a duration"),
        "{errors:?}"
    );
    let kept = |css: &'static str| async move {
        b.find(Locator::Css(css))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    };
    assert_eq!(kept("#new-token input[name=name]").await, "deploy");
    assert_eq!(kept("#new-token input[name=targets]").await, "nope");
    for css in [
        "#new-token input[name=targets]",
        "#new-token input[name=expires_in]",
    ] {
        b.find(Locator::Css(css))
            .await
            .unwrap()
            .clear()
            .await
            .unwrap();
    }
    click(b, "#new-token input[value=invalidate]").await;
    click(b, "#new-token button").await;
    let secret = wait_for(b, "#token-secret").await.text().await.unwrap();
    assert!(secret.starts_with("cw_"), "{secret}");
    screenshot(b, "tokens").await;
    // The token works against the API, with the scope chosen.
    let listed = app.get_json("/api/v1/jobs", Some(&secret)).await;
    assert!(listed["jobs"].is_array(), "{listed}");
    let tokens = app.get_json("/api/v1/tokens", Some(&secret)).await;
    assert_eq!(
        tokens["error"]["code"], "forbidden",
        "not an admin token: {tokens}"
    );
    b.goto(&app.url("/tokens")).await.unwrap();
    assert!(
        b.find(Locator::Css("#token-secret")).await.is_err(),
        "shown once"
    );
    b.goto(&app.url("/audit?actor=root")).await.unwrap();
    let rows = texts(b, "table.audit tbody tr").await;
    assert!(
        rows.iter()
            .any(|r| r.contains("token.create") && r.contains("deploy")),
        "{rows:?}"
    );
    screenshot(b, "audit").await;
    browser.close().await;
}

/// A dry run from the form: the job page says what would be sent and what it would cost, and
/// nothing reaches CloudFront.
#[tokio::test]
async fn a_dry_run_from_the_form_shows_the_plan_and_the_price() {
    let cf = std::sync::Arc::new(crate::harness::cloudfront::ScriptedCloudFront::default());
    let app = TestApp::with_cloudfront(
        "[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n",
        cf.clone(),
    )
    .await;
    app.person("olga", Role::Operator, &[]).await;
    let browser = Browser::start().await;
    let b = &browser.client;
    sign_in_browser(b, &app, "olga").await;
    b.goto(&app.url("/invalidate")).await.unwrap();
    fill(
        b,
        "textarea[name=items]",
        "/index.html\n/assets/*\n/assets/app.js",
    )
    .await;
    click(b, "#dry-run").await;
    click(b, "#invalidate button").await;
    wait_for(b, "#job-state").await;
    let job_path = b.current_url().await.unwrap().path().to_owned();
    crate::invalidations::pass(&app, 0).await;
    b.goto(&app.url(&job_path)).await.unwrap();
    let progress = wait_for(b, "#job-progress").await.text().await.unwrap();
    assert_eq!(
        progress,
        "dry run: would send 2 paths (2 billed, 0.00 USD; 1000 free paths left this month)"
    );
    assert!(cf.calls().is_empty(), "nothing reached CloudFront");
    let facts = texts(b, "dl.facts dt").await;
    assert!(facts.contains(&"Started".to_owned()), "{facts:?}");
    screenshot(b, "invalidate-dry-run").await;
    browser.close().await;
}

/// The API reference page: composed schemas show their fields (the body of a purge), prose
/// shows code as code and no Rust words, and a contents list links every operation.
#[tokio::test]
async fn the_api_docs_show_the_fields_of_composed_bodies_and_a_contents_list() {
    let app = TestApp::sqlite("").await;
    let browser = Browser::start().await;
    let b = &browser.client;
    b.goto(&app.url("/api/docs")).await.unwrap();
    wait_for(b, "#contents").await;
    let purge_fields: Vec<String> = serde_json::from_value(
        b.execute(
            "const op = [...document.querySelectorAll('section.op')].find(s => \
               s.querySelector('.path').textContent === '/api/v1/purges' && \
               s.querySelector('.method').textContent === 'post'); \
             return [...op.querySelectorAll('table.fields tr td:first-child code')].map(c => c.textContent);",
            vec![],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    for want in ["target", "keys", "patterns", "dry_run"] {
        assert!(
            purge_fields.iter().any(|f| f == want),
            "{want} in {purge_fields:?}"
        );
    }
    // A job is one of its kinds; each kind's schema shows the common fields and its own.
    let one_of = texts(b, "#schema-JobView p").await;
    assert!(
        one_of.iter().any(|p| p.contains("Job_redis_purge")),
        "{one_of:?}"
    );
    let job_fields = texts(
        b,
        "#schema-Job_redis_purge table.fields tr td:first-child code",
    )
    .await;
    assert!(
        job_fields.iter().any(|f| f == "state") && job_fields.iter().any(|f| f == "request"),
        "{job_fields:?}"
    );
    let text = b
        .find(Locator::Css("#reference"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains('`'), "a backtick shows");
    assert!(!text.contains("None"), "a Rust word shows");
    let links = texts(b, "#contents li li a").await;
    assert!(
        links.iter().any(|l| l == "POST /api/v1/purges"),
        "{links:?}"
    );
    assert_eq!(
        crate::harness::browser::console_errors(b).await,
        Vec::<String>::new()
    );
    screenshot(b, "api-docs").await;
    browser.close().await;
}

/// The purge form's confirm flow after a dry run over the key limit: the dry run says the
/// purge needs the target's name; a purge without it comes back refused with the dry run
/// still shown and the dry run still possible; with the name typed, it purges.
#[tokio::test]
async fn a_purge_over_the_key_limit_is_confirmed_by_name_after_its_dry_run() {
    use redis::AsyncCommands;
    let (_redis, app, mut c, products, browser) = purge_dry_run("max_purge_keys = 2\n").await;
    let b = &browser.client;
    let needs = wait_for(b, "#dry-run-confirm").await.text().await.unwrap();
    assert!(
        needs.contains("more than the target's max_purge_keys (2)"),
        "the dry run says it is over the limit: {needs}"
    );
    // Purge without the name: refused on the form, the dry run still above it.
    click(b, "button[value=purge]").await;
    let error = wait_for(b, "#form-error").await.text().await.unwrap();
    assert!(error.contains("max_purge_keys"), "{error}");
    assert!(
        texts(b, "#dry-run-count").await[0].starts_with("5 keys would be deleted"),
        "the dry run stays shown"
    );
    let confirm = b.find(Locator::Css("#confirm")).await.unwrap();
    assert_eq!(
        confirm.attr("required").await.unwrap(),
        None,
        "a dry run can still be asked for"
    );
    let n: usize = c.exists(&products).await.unwrap();
    assert_eq!(n, 5, "nothing deleted");
    screenshot(b, "purge-confirm").await;
    // With the name typed, it purges.
    fill(b, "#confirm", "sessions").await;
    click(b, "button[value=purge]").await;
    wait_for(b, "#job-state").await;
    app.jobs.run_once(now_ms()).await.unwrap();
    let n: usize = c.exists(&products).await.unwrap();
    assert_eq!(n, 0);
    assert_eq!(
        crate::harness::browser::console_errors(b).await,
        Vec::<String>::new()
    );
    browser.close().await;
}

/// The jobs page's tabs and filters, in the browser: a tab per action, state and target
/// filters that narrow the list, and a filter that names nothing real is a page saying so
/// (with the navigation bar).
#[tokio::test]
async fn the_jobs_tabs_and_filters_narrow_the_list() {
    let app = TestApp::sqlite(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1\"\n\
         [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n",
    )
    .await;
    app.person("olga", Role::Operator, &[]).await;
    let token = app.token("ci", &["purge", "invalidate"], &[]).await;
    for (path, body) in [
        (
            "/api/v1/invalidations",
            serde_json::json!({"target": "web", "items": ["/a"]}),
        ),
        (
            "/api/v1/purges",
            serde_json::json!({"target": "sessions", "keys": ["k"]}),
        ),
    ] {
        let res = app.post_keyed(path, &token, None, &body).await;
        assert_eq!(res.status(), 202);
    }
    let browser = Browser::start().await;
    let b = &browser.client;
    sign_in_browser(b, &app, "olga").await;
    b.goto(&app.url("/jobs")).await.unwrap();
    assert_eq!(texts(b, "table.jobs tbody tr").await.len(), 2);
    click(b, "nav.spans a[href='/jobs?action=purge']").await;
    wait_for(b, "nav.spans a.current[href='/jobs?action=purge']").await;
    let rows = texts(b, "table.jobs tbody tr").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("Redis purge sessions"), "{rows:?}");
    // State and target filters.
    b.goto(&app.url("/jobs?state=queued&target=web"))
        .await
        .unwrap();
    let rows = texts(b, "table.jobs tbody tr").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("CloudFront invalidation web"), "{rows:?}");
    b.goto(&app.url("/jobs?state=completed")).await.unwrap();
    assert!(b.find(Locator::Css("#no-jobs")).await.is_ok());
    // A filter naming nothing real: a page that says which, with the navigation bar.
    b.goto(&app.url("/jobs?state=done")).await.unwrap();
    let error = wait_for(b, "#error").await.text().await.unwrap();
    assert!(error.contains("state"), "{error}");
    assert!(
        b.find(Locator::Css("header nav a[href='/jobs']"))
            .await
            .is_ok()
    );
    screenshot(b, "jobs-filtered-error").await;
    browser.close().await;
}
