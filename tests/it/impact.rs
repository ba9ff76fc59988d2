//! What a change cost (issue 24, first part): a real redis-server driven by a traffic
//! generator of known shape (a steady hit ratio, a purge, a recovery over a known number of
//! intervals), polled as the daemon polls; the purge's `impact` agrees with the generator's
//! truth; overlapping purges split the window; a quiet target is not measurable.

use cachewarden::store::now_ms;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::redis::RedisServer;

struct Stack {
    _redis: RedisServer,
    app: TestApp,
    c: redis::aio::MultiplexedConnection,
    token: String,
}

async fn stack() -> Stack {
    stack_with("").await
}

/// A stack whose configuration has `more` after the target.
async fn stack_with(more: &str) -> Stack {
    let redis = RedisServer::start();
    let toml = format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\n{more}",
        redis.url()
    );
    let app = TestApp::sqlite(&toml).await;
    let c = redis.connection().await;
    let token = app.token("ci", &["purge", "read"], &[]).await;
    // The first poll only learns the counters.
    app.collector().poll_target_once("sessions").await.unwrap();
    Stack {
        _redis: redis,
        app,
        c,
        token,
    }
}

impl Stack {
    /// One interval of `requests` with hit ratio `ratio`, then a poll.
    async fn interval(&mut self, ratio: f64, requests: usize) {
        let hits = (ratio * requests as f64).round() as usize;
        self.app
            .redis_interval(&mut self.c, "sessions", hits, requests - hits)
            .await;
    }

    /// A purge, run to its end by one worker pass; its id and when it started.
    async fn purge(&self) -> (i64, i64) {
        let res = self
            .app
            .post_keyed(
                "/api/v1/purges",
                &self.token,
                None,
                &json!({"target": "sessions", "keys": ["present"]}),
            )
            .await;
        assert_eq!(res.status(), 202);
        let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        self.app.jobs.run_once(now_ms()).await.unwrap();
        let job = self.job(id).await;
        assert_eq!(job["state"], "completed", "{job}");
        (id, job["started_at"].as_i64().unwrap())
    }

    async fn job(&self, id: i64) -> Value {
        self.app
            .get_json(&format!("/api/v1/jobs/{id}"), Some(&self.token))
            .await
    }
}

/// A stack with a webhook receiver `ops` and the alarms (and other sections) in `more`.
async fn alarmed(more: &str) -> (Stack, crate::harness::receiver::TestReceiver) {
    let hook = crate::harness::receiver::TestReceiver::start(0).await;
    let notifier = format!(
        "[[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{}/hook\"\n",
        hook.url
    );
    (stack_with(&format!("{notifier}{more}")).await, hook)
}

fn near(got: f64, want: f64, what: &str) {
    let ok = if want == 0.0 {
        got.abs() < 1e-9
    } else {
        ((got - want) / want).abs() <= 0.10
    };
    assert!(ok, "{what}: measured {got}, the generator's truth {want}");
}

#[tokio::test]
async fn a_purges_dip_extra_misses_and_recovery_agree_with_the_generator() {
    let mut s = stack().await;
    for _ in 0..12 {
        s.interval(0.9, 100).await;
    }
    let (id, started) = s.purge().await;
    // Still recovering: pending, with the figures so far.
    s.interval(0.3, 100).await;
    let job = s.job(id).await;
    assert_eq!(job["impact"]["state"], "pending", "{job}");

    s.interval(0.6, 100).await;
    s.interval(0.8, 100).await;
    let back = now_ms();
    s.interval(0.9, 100).await;
    let back_polled = now_ms();
    s.interval(0.9, 100).await;
    s.interval(0.9, 100).await;

    let impact = s.job(id).await["impact"].clone();
    assert_eq!(impact["state"], "measured", "{impact}");
    near(impact["baseline"].as_f64().unwrap(), 0.9, "baseline");
    near(
        impact["baseline_requests"].as_f64().unwrap(),
        100.0,
        "requests per interval",
    );
    near(impact["dip"].as_f64().unwrap(), 0.3, "dip");
    near(impact["depth"].as_f64().unwrap(), 0.6, "depth");
    // (0.9 − 0.3 + 0.9 − 0.6 + 0.9 − 0.8) × 100 misses the baseline did not predict.
    near(
        impact["extra_misses"].as_f64().unwrap(),
        100.0,
        "extra misses",
    );
    assert_eq!(impact["intervals"], 3);
    // Recovered with the first interval back at 0.9, which was polled between these times.
    let after = impact["recovered_after_ms"].as_i64().unwrap();
    assert!(
        (back - started..=back_polled - started).contains(&after),
        "recovered after {after} ms, the generator says between {} and {}",
        back - started,
        back_polled - started
    );
    assert_eq!(impact["cut_by_job"], Value::Null);
    // The job page says the same for people: percent, points, a count, a duration.
    s.app
        .person("olga", cachewarden::domain::Role::Operator, &[])
        .await;
    let session = s.app.sign_in("olga").await;
    let page = s
        .app
        .page(Some(&session.cookie), &format!("/jobs/{id}"))
        .await;
    // As people see it, in a real browser.
    let browser = crate::harness::browser::Browser::start().await;
    crate::harness::people::sign_in_browser(&browser.client, &s.app, "olga").await;
    browser
        .client
        .goto(&s.app.url(&format!("/jobs/{id}")))
        .await
        .unwrap();
    crate::harness::browser::wait_for(&browser.client, "dd.impact").await;
    // The hit rate around it, the dip shaded until recovery and labelled with its cost.
    let band = crate::harness::browser::wait_for(&browser.client, "#chart-impact rect.band title")
        .await
        .html(true)
        .await
        .unwrap();
    assert_eq!(band, "100 extra misses");
    crate::harness::browser::screenshot(&browser.client, "job-impact").await;
    // The report page: who asked, where, what it cost.
    browser.client.goto(&s.app.url("/impact")).await.unwrap();
    let total = crate::harness::browser::wait_for(&browser.client, "#impact-total")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(total, "1 measured change, 100 extra misses.");
    let costly = crate::harness::browser::wait_for(&browser.client, "#costliest tbody tr")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        costly,
        format!("{id} Redis purge sessions ci 100 under a second")
    );
    crate::harness::browser::screenshot(&browser.client, "impact").await;
    browser.close().await;
    for fact in [
        "<dt>Hit ratio before</dt><dd class=\"impact\">90.0 % (100 requests an interval)</dd>",
        "<dt>Lowest after</dt><dd class=\"impact\">30.0 % (60.0 points down)</dd>",
        "<dt>Extra misses</dt><dd class=\"impact\">100</dd>",
        "<dt>Recovered</dt><dd class=\"impact\">in under a second</dd>",
    ] {
        assert!(page.body.contains(fact), "{fact} not in:\n{}", page.body);
    }
    // The target page's chart marks say what it cost.
    let page = s
        .app
        .page(Some(&session.cookie), "/targets/sessions?span=1h")
        .await;
    let mark = format!(
        "Redis purge #{id} by ci (completed) · 100 extra misses, recovered in under a second"
    );
    assert!(page.body.contains(&mark), "{mark} not in:\n{}", page.body);
    // Final, so stored and counted once on /metrics, however often it is read.
    assert_eq!(s.job(id).await["impact"], impact);
    let metrics = s.app.get("/metrics", None).await.text().await.unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("cachewarden_change_extra_misses_total{"))
        .unwrap_or_else(|| panic!("no extra-misses counter in:\n{metrics}"));
    assert_eq!(
        line,
        "cachewarden_change_extra_misses_total{kind=\"redis_purge\",requester=\"ci\",target=\"sessions\"} 100"
    );
    // Lists stay light: impact is for one job.
    let list = s.app.get_json("/api/v1/jobs", Some(&s.token)).await;
    assert!(list["jobs"][0].get("impact").is_none(), "{list}");
}

#[tokio::test]
async fn a_second_purge_before_recovery_takes_the_rest_of_the_window() {
    let mut s = stack().await;
    for _ in 0..12 {
        s.interval(0.9, 100).await;
    }
    let (first, _) = s.purge().await;
    s.interval(0.4, 100).await;
    s.interval(0.5, 100).await;
    let (second, _) = s.purge().await;
    s.interval(0.3, 100).await;
    for _ in 0..3 {
        s.interval(0.9, 100).await;
    }
    let one = s.job(first).await["impact"].clone();
    assert_eq!(one["state"], "measured", "{one}");
    assert_eq!(one["cut_by_job"], second, "{one}");
    assert_eq!(one["recovered_after_ms"], Value::Null);
    near(
        one["extra_misses"].as_f64().unwrap(),
        90.0,
        "first purge's extra misses",
    );
    let two = s.job(second).await["impact"].clone();
    assert_eq!(two["state"], "measured", "{two}");
    near(
        two["extra_misses"].as_f64().unwrap(),
        60.0,
        "second purge's extra misses",
    );
    assert!(two["recovered_after_ms"].as_i64().is_some(), "{two}");

    // The report adds them up by who asked and where, costliest first.
    let r = s.app.get_json("/api/v1/impact", Some(&s.token)).await;
    assert_eq!(r["changes"], 2, "{r}");
    near(
        r["extra_misses"].as_f64().unwrap(),
        150.0,
        "total extra misses",
    );
    assert_eq!(r["by_requester"][0]["key"], "ci", "{r}");
    assert_eq!(r["by_requester"][0]["changes"], 2);
    assert_eq!(
        r["by_requester"][0]["not_recovered"], 1,
        "the first was cut short"
    );
    assert_eq!(r["by_target"][0]["key"], "sessions");
    assert_eq!(r["costliest"][0]["job"], first);
    assert_eq!(r["costliest"][1]["job"], second);
    let none = s
        .app
        .get_json("/api/v1/impact?requester=someone-else", Some(&s.token))
        .await;
    assert_eq!(none["changes"], 0, "{none}");
}

#[tokio::test]
async fn bad_report_queries_are_refused_naming_the_parameter() {
    use crate::harness::app::expect_error;
    let s = stack().await;
    let cases = [
        (
            "since",
            "/api/v1/impact?since=yesterday",
            "invalid_request",
            "since",
            "RFC 3339",
        ),
        (
            "kind",
            "/api/v1/impact?kind=nope",
            "invalid_request",
            "kind",
            "not a job kind",
        ),
        (
            "requester",
            "/api/v1/impact?requester=a%0Ab",
            "invalid_request",
            "requester",
            "",
        ),
        (
            "unknown",
            "/api/v1/impact?who=ci",
            "invalid_query",
            "who",
            "unknown field",
        ),
    ];
    for (what, path, code, field, message) in cases {
        let res = s.app.get(path, Some(&s.token)).await;
        expect_error(what, res, 400, code, Some(field), message).await;
    }
    let none = s.app.get("/api/v1/impact", None).await;
    assert_eq!(none.status(), 401);
}

#[tokio::test]
async fn a_quiet_target_is_not_measurable_with_the_reason() {
    let mut s = stack().await;
    for _ in 0..12 {
        s.interval(0.5, 4).await;
    }
    let (id, _) = s.purge().await;
    s.interval(0.0, 4).await;
    let impact = s.job(id).await["impact"].clone();
    assert_eq!(impact["state"], "not_measurable", "{impact}");
    let reason = impact["reason"].as_str().unwrap();
    assert!(reason.contains("4.0 requests per interval"), "{reason}");
}

/// The expected-dip window that holds alarms after our own change closes when the target has
/// recovered from it: a later dip with no change behind it pages, although the configured
/// window (1 h) is still open.
#[tokio::test]
async fn the_expected_dip_window_ends_when_the_target_has_recovered() {
    use crate::notifications::deliver;

    let (mut s, hook) = alarmed(
        "[alerting]\nexpected_dip_window = \"1h\"\n\
         [[alarms]]\nname = \"hit\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.8\nnotify = [\"ops\"]\nmute_expected = true\n",
    )
    .await;
    for _ in 0..12 {
        s.interval(0.9, 100).await;
    }
    let (job, _) = s.purge().await;
    // The dip our purge caused: held, annotated.
    s.interval(0.3, 100).await;
    deliver(&s.app, 0).await;
    assert!(
        hook.accepted().iter().all(|m| m.body["kind"] != "alarm"),
        "the expected dip paged: {:?}",
        hook.kinds()
    );
    for _ in 0..3 {
        s.interval(0.9, 100).await;
    }
    let impact = s.job(job).await["impact"].clone();
    assert_eq!(impact["state"], "measured", "{impact}");
    // A dip with no change behind it, inside the hour: it pages, not annotated as expected.
    s.interval(0.3, 100).await;
    deliver(&s.app, 0).await;
    let alarms: Vec<_> = hook
        .accepted()
        .into_iter()
        .filter(|m| m.body["kind"] == "alarm")
        .collect();
    assert_eq!(alarms.len(), 1, "{:?}", hook.kinds());
    assert_eq!(
        alarms[0].body["expected"],
        Value::Null,
        "{}",
        alarms[0].body
    );
}

/// The leader measures every recent change each minute, so a change nobody looked at is
/// stored and counted too, once.
#[tokio::test]
async fn recent_changes_are_measured_without_anyone_asking() {
    let mut s = stack().await;
    for _ in 0..12 {
        s.interval(0.9, 100).await;
    }
    let (id, _) = s.purge().await;
    s.interval(0.5, 100).await;
    assert_eq!(
        s.app.impact.measure_recent(now_ms()).await.unwrap(),
        0,
        "still pending"
    );
    for _ in 0..3 {
        s.interval(0.9, 100).await;
    }
    assert_eq!(s.app.impact.measure_recent(now_ms()).await.unwrap(), 1);
    assert_eq!(
        s.app.impact.measure_recent(now_ms()).await.unwrap(),
        0,
        "stored: not again"
    );
    let metrics = s.app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains(
            "cachewarden_change_extra_misses_total{kind=\"redis_purge\",requester=\"ci\",target=\"sessions\"} 40"
        ),
        "{metrics}"
    );
    let job = s.job(id).await;
    near(
        job["impact"]["extra_misses"].as_f64().unwrap(),
        40.0,
        "extra misses",
    );
}

/// A `change_cost` alarm: a purge measured over the limit notifies once, naming the job and
/// its requester; a second costly purge is its own episode; the episode ends an hour after
/// the measurement. A cheap purge sends nothing.
#[tokio::test]
async fn a_costly_change_notifies_once_naming_the_job_and_its_requester() {
    use crate::notifications::deliver;

    let (mut s, hook) = alarmed(
        "[[alarms]]\nname = \"costly\"\ntarget = \"sessions\"\nchange_cost = { extra_misses = 30 }\nnotify = [\"ops\"]\n",
    )
    .await;
    for _ in 0..12 {
        s.interval(0.9, 100).await;
    }
    // A purge within the limit (10 extra misses): nothing is sent.
    s.purge().await;
    s.interval(0.8, 100).await;
    for _ in 0..3 {
        s.interval(0.9, 100).await;
    }
    assert_eq!(s.app.impact.measure_recent(now_ms()).await.unwrap(), 1);
    s.interval(0.9, 100).await;
    deliver(&s.app, 0).await;
    assert_eq!(hook.kinds(), Vec::<String>::new(), "a cheap purge notified");

    // A costly one (40 extra misses, over 30): one message, however often it is evaluated.
    let (first, _) = s.purge().await;
    s.interval(0.5, 100).await;
    for _ in 0..3 {
        s.interval(0.9, 100).await;
    }
    assert_eq!(s.app.impact.measure_recent(now_ms()).await.unwrap(), 1);
    for _ in 0..3 {
        s.interval(0.9, 100).await;
        deliver(&s.app, 0).await;
    }
    assert_eq!(hook.kinds(), ["alarm"]);
    let msg = &hook.accepted()[0].body;
    assert_eq!(msg["change"]["job"], first, "{msg}");
    assert_eq!(msg["change"]["requester"], "ci", "{msg}");
    assert_eq!(msg["value"], 40.0, "{msg}");
    assert_eq!(
        msg["threshold"]["change_cost"]["extra_misses"], 30.0,
        "{msg}"
    );
    assert_eq!(
        msg["reason"],
        format!("purge #{first} by ci cost 40 extra misses, over 30"),
        "{msg}"
    );

    // A second costly purge within the hour: the first's episode ends, its own begins.
    let (second, _) = s.purge().await;
    s.interval(0.3, 100).await;
    for _ in 0..3 {
        s.interval(0.9, 100).await;
    }
    s.app.impact.measure_recent(now_ms()).await.unwrap();
    s.interval(0.9, 100).await;
    deliver(&s.app, 0).await;
    assert_eq!(hook.kinds(), ["alarm", "resolved", "alarm"]);
    let msg = &hook.accepted()[2].body;
    assert_eq!(msg["change"]["job"], second, "{msg}");
    assert_eq!(msg["value"], 60.0, "{msg}");

    // An hour after it was measured, the episode ends.
    s.app.evaluate_later("sessions", 3_600_000 + 60_000).await;
    deliver(&s.app, 3_600_000 + 60_000).await;
    assert_eq!(hook.kinds(), ["alarm", "resolved", "alarm", "resolved"]);
}

/// An invalidation's impact read from CloudFront's own metrics in moto's CloudWatch
/// (`PutMetricData` with a synthetic dip): the extra misses are requests the origin served.
/// moto serves only datapoints already written and the daemon measures up to now, so the dip
/// is written for minutes already past and the job's times are moved back to just before it
/// (the test's stand-in for twenty minutes passing). The next wildcard's dry run shows the
/// measured cost of this one.
#[tokio::test]
async fn an_invalidations_impact_is_read_from_cloudfronts_metrics() {
    use crate::harness::moto::{Moto, create_distribution, put_metric};

    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let cf = cachewarden::aws::cloudfront(&sdk);
    let us = cachewarden::aws::cloudwatch(&sdk, Some("us-east-1"));
    let id = create_distribution(&cf).await;
    let now = chrono::Utc::now().timestamp();
    let last = now - now % 60 - 60;
    // Minutes (oldest first): 12 at 90 % of 1,000 requests, the invalidation at 30 s into the
    // 13th, which falls to 40 % and then 70 %, and back to 90 % for the rest.
    let ratios = [
        90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 40.0, 70.0, 90.0,
        90.0, 90.0, 90.0,
    ];
    let first = last - 60 * (ratios.len() as i64 - 1);
    let dims = [("DistributionId", id.as_str()), ("Region", "Global")];
    for (k, r) in ratios.iter().enumerate() {
        let minute = first + 60 * k as i64;
        put_metric(&us, "AWS/CloudFront", "CacheHitRate", &dims, minute, *r).await;
        put_metric(&us, "AWS/CloudFront", "Requests", &dims, minute, 1000.0).await;
    }
    let job_at = (first + 60 * 12 + 30) * 1000;

    let config = format!(
        "[aws]\nregion = \"eu-west-1\"\n[cloudwatch]\nlookback = \"30m\"\n\
         [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"{id}\"\n"
    );
    let app = TestApp::with_aws(&config, sdk).await;
    let ci = app.token("ci", &["invalidate", "read"], &[]).await;
    let res = app
        .post_keyed(
            "/api/v1/invalidations",
            &ci,
            None,
            &json!({"target": "web", "items": ["/assets/*"]}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let job = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    crate::invalidations::pass(&app, 2_100).await;
    crate::invalidations::pass(&app, 10_000).await;
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        app.dir.path().join("cachewarden.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("UPDATE jobs SET created_at = $1 - 1000, started_at = $1, completed_at = $1 + 5000 WHERE id = $2")
        .bind(job_at)
        .bind(job)
        .execute(&db)
        .await
        .unwrap();
    db.close().await;

    let reports = app.collector().poll_all_once().await;
    assert!(reports.iter().all(|r| r.error.is_none()), "{reports:?}");
    let view = app
        .get_json(&format!("/api/v1/jobs/{job}"), Some(&ci))
        .await;
    assert_eq!(view["state"], "completed", "{view}");
    let impact = &view["impact"];
    assert_eq!(impact["state"], "measured", "{impact}");
    near(impact["baseline"].as_f64().unwrap(), 0.9, "baseline");
    near(impact["dip"].as_f64().unwrap(), 0.4, "dip");
    // (0.9 − 0.4) × 1,000 + (0.9 − 0.7) × 1,000 requests the origin served.
    near(
        impact["extra_misses"].as_f64().unwrap(),
        700.0,
        "extra misses",
    );
    // Back at 90 % from the minute that ended 2.5 minutes after the invalidation.
    assert_eq!(impact["recovered_after_ms"], 150_000, "{impact}");

    // The next wildcard's dry run shows what this one cost: the trade-off, measured.
    let res = app
        .post_keyed(
            "/api/v1/invalidations",
            &ci,
            None,
            &json!({"target": "web", "items": ["/img/*"], "dry_run": true}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let dry = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    crate::invalidations::pass(&app, 0).await;
    let plan = app
        .get_json(&format!("/api/v1/jobs/{dry}"), Some(&ci))
        .await["result"]
        .clone();
    let past = &plan["past_wildcards"];
    assert_eq!(past["changes"], 1, "{plan}");
    near(
        past["median_extra_misses"].as_f64().unwrap(),
        700.0,
        "past wildcards",
    );
}
