//! The dashboard's forms over plain HTTP: what each one stores, and how each refuses bad input
//! (a 400 page naming the rule, nothing stored).

use cachewarden::domain::Role;
use cachewarden::store::{JobFilter, Outcome, Sample, now_ms};
use reqwest::StatusCode;

use crate::harness::TestApp;
use crate::harness::redis::RedisServer;

fn redis_config(url: &str) -> String {
    format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{url}\"\npurge_prefixes = [\"product:\"]\n\
         [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n\
         [[alarms]]\nname = \"hit-rate\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.8\n"
    )
}

/// The path a 303 leads to.
fn to(a: &crate::harness::people::Answer) -> String {
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    a.location.clone().unwrap()
}

#[tokio::test]
async fn a_purge_past_the_guard_rails_asks_for_the_targets_name_for_its_dry_run_and_again_to_purge()
{
    use redis::AsyncCommands;
    let redis = RedisServer::start();
    let app = TestApp::sqlite(&redis_config(&redis.url())).await;
    app.person("olga", Role::Operator, &[]).await;
    let s = app.sign_in("olga").await;
    let mut c = redis.connection().await;
    // A key that tries to be markup: keys are anyone's strings, and the dry run shows them.
    let evil = "product:<img src=x onerror=alert(1)>";
    for k in ["a", "b", evil] {
        let _: () = c.set(k, "v").await.unwrap();
    }
    let purge = |action: &'static str, confirm: &'static str| {
        let (app, s) = (&app, s.clone());
        async move {
            app.submit(
                &s,
                "/purge",
                &[
                    ("target", "sessions"),
                    ("patterns", "*"),
                    ("action", action),
                    ("confirm", confirm),
                    ("key", "form-1"),
                ],
            )
            .await
        }
    };
    // The form states the target's guard rails before anyone asks.
    let form = app.page(Some(&s.cookie), "/purge").await;
    assert!(
        form.body.contains(
            "<dt>sessions</dt><dd>patterns under product: go without confirmation, others need the target&#39;s name typed; so do patterns matching more than 100,000 keys. Exact keys and tags need none.</dd>"
        ),
        "{}",
        form.body
    );
    // A dry run deletes nothing: it runs beyond the guard rails, and says what a purge needs.
    let dry = to(&purge("dry_run", "").await);
    assert!(dry.starts_with("/purge?dry_run="), "{dry}");
    app.jobs.run_once(now_ms()).await.unwrap();
    let shown = app.page(Some(&s.cookie), &dry).await;
    assert!(
        shown
            .body
            .contains("<strong>3</strong> keys would be deleted"),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains("A purge needs the target&#39;s name typed below: patterns[0] &quot;*&quot; can match every key.")
            || shown.body.contains("can match every key"),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains("id=\"confirm\""),
        "the purge asks for the name"
    );
    let refused = purge("purge", "").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("can match every key"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("id=\"confirm\""), "asks for the name");
    let keys: usize = c.exists(&["a", "b", evil]).await.unwrap();
    assert_eq!(keys, 3, "a dry run deletes nothing");
    let job = to(&purge("purge", "sessions").await);
    assert!(job.starts_with("/jobs/"), "{job}");
    app.jobs.run_once(now_ms()).await.unwrap();
    let keys: usize = c.exists(&["a", "b", evil]).await.unwrap();
    assert_eq!(keys, 0);
}

#[tokio::test]
async fn silences_from_the_alarms_page_last_until_resolved_or_a_time_and_bad_ends_are_refused() {
    let redis = RedisServer::start();
    let app = TestApp::sqlite(&redis_config(&redis.url())).await;
    app.person("rita", Role::Responder, &[]).await;
    let s = app.sign_in("rita").await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    app.redis_interval(&mut c, "sessions", 1, 9).await;
    let id = app.store.list_alarm_states().await.unwrap()[0].id;
    let path = format!("/alarms/{id}/silence");
    let silence = |end: &'static str, until: &str, comment: &'static str| {
        let (app, s, path, until) = (&app, s.clone(), path.clone(), until.to_owned());
        async move {
            app.submit(
                &s,
                &path,
                &[("end", end), ("until", &until), ("comment", comment)],
            )
            .await
        }
    };
    for (case, end, until, comment, message) in [
        ("no reason", "resolved", "", "", "Why: say why"),
        (
            "bad time",
            "at",
            "tomorrow",
            "deploy",
            "Until: give a time as YYYY-MM-DDTHH:MM (UTC)",
        ),
        (
            "bad duration",
            "a while",
            "",
            "deploy",
            "Silence: until resolved, a duration like 4h, or a time",
        ),
        (
            "in the past",
            "at",
            "2001-01-01T00:00",
            "deploy",
            "Until: must end in the future",
        ),
    ] {
        let a = silence(end, until, comment).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{case}: {}", a.body);
        assert!(a.body.contains(message), "{case}: {}", a.body);
    }
    assert!(
        app.store
            .active_silences(now_ms())
            .await
            .unwrap()
            .is_empty()
    );
    let back = format!("/alarms#alarm-{id}");
    assert_eq!(to(&silence("resolved", "", "deploy").await), back);
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    let until = later.format("%Y-%m-%dT%H:%M").to_string();
    assert_eq!(to(&silence("at", &until, "long deploy").await), back);
    let mut made = app.store.active_silences(now_ms()).await.unwrap();
    made.sort_by_key(|x| x.id);
    assert_eq!(made.len(), 2);
    assert_eq!(
        (made[0].until, made[0].alarm_id, made[0].created_by.as_str()),
        (None, Some(id), "rita")
    );
    assert_eq!(
        made[1].until,
        Some(
            chrono::DateTime::parse_from_rfc3339(&format!("{until}:00Z"))
                .unwrap()
                .timestamp_millis()
        )
    );
    let page = app.page(Some(&s.cookie), "/alarms").await;
    assert!(
        page.body.contains(&format!(
            "silenced until the alarm resolves, by rita: deploy (#{})",
            made[0].id
        )),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_queued_job_is_cancelled_from_its_page() {
    let app = TestApp::sqlite(&redis_config("redis://127.0.0.1:1")).await;
    app.person("olga", Role::Operator, &[]).await;
    let s = app.sign_in("olga").await;
    let job = to(&app
        .submit(
            &s,
            "/invalidate",
            &[("target", "web"), ("items", "/a"), ("key", "k")],
        )
        .await);
    let page = app.page(Some(&s.cookie), &job).await;
    assert!(
        page.body.contains(&format!("action=\"{job}/cancel\"")),
        "{}",
        page.body
    );
    assert_eq!(
        to(&app.submit(&s, &format!("{job}/cancel"), &[]).await),
        job
    );
    let stored = app
        .store
        .list_jobs(&JobFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(stored[0].state.as_str(), "cancelled");
    let page = app.page(Some(&s.cookie), &job).await;
    assert!(
        !page.body.contains("/cancel\""),
        "no cancel button on a final job"
    );
    // A person's cancel is what happened, not an error.
    assert!(page.body.contains("<dt>Cancelled</dt>"), "{}", page.body);
    assert!(!page.body.contains("<dt>Error</dt>"), "{}", page.body);
    // Cancelling again says why not, as a page.
    let again = app.submit(&s, &format!("{job}/cancel"), &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
}

#[tokio::test]
async fn a_cluster_targets_page_offers_each_node() {
    let app = TestApp::sqlite(&redis_config("redis://127.0.0.1:1")).await;
    app.person("vera", Role::Viewer, &[]).await;
    let s = app.sign_in("vera").await;
    let now = now_ms();
    app.store
        .upsert_samples(&[
            Sample::ratio("sessions", "", "hit_rate", now - 60_000, 5.0, 10.0),
            Sample::ratio(
                "sessions",
                "10.0.0.1:7000",
                "hit_rate",
                now - 60_000,
                9.0,
                10.0,
            ),
            Sample::ratio(
                "sessions",
                "10.0.0.2:7000",
                "hit_rate",
                now - 60_000,
                1.0,
                10.0,
            ),
        ])
        .await
        .unwrap();
    let whole = app.page(Some(&s.cookie), "/targets/sessions?span=1h").await;
    assert!(
        whole.body.contains("node=10.0.0.1%3A7000"),
        "{}",
        whole.body
    );
    assert!(whole.body.contains("node=10.0.0.2%3A7000"));
    let node = app
        .page(
            Some(&s.cookie),
            "/targets/sessions?span=1h&node=10.0.0.1%3A7000",
        )
        .await;
    // The line carries that node's value, not the whole target's.
    assert!(node.body.contains(",0.9;"), "{}", node.body);
    assert!(!node.body.contains(",0.5;"));
    // An unknown node shows the whole target.
    let unknown = app
        .page(Some(&s.cookie), "/targets/sessions?span=1h&node=nope")
        .await;
    assert!(unknown.body.contains(",0.5;"));
    assert_eq!(
        app.page(Some(&s.cookie), "/targets/nope").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_audit_page_filters_by_who_target_action_and_outcome() {
    let app = TestApp::sqlite(&redis_config("redis://127.0.0.1:1")).await;
    app.person("root", Role::Admin, &[]).await;
    app.person("vera", Role::Viewer, &[]).await;
    let vera = app.sign_in("vera").await;
    let refused = app
        .submit(
            &vera,
            "/invalidate",
            &[("target", "web"), ("items", "/a"), ("key", "k")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let root = app.sign_in("root").await;
    let rows = |path: &'static str| {
        let (app, cookie) = (&app, root.cookie.clone());
        async move {
            let page = app.page(Some(&cookie), path).await;
            assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
            page.body.matches("<tr><td class=\"when\">").count()
        }
    };
    assert_eq!(
        rows("/audit?actor=vera&outcome=denied&action=invalidation").await,
        1
    );
    assert_eq!(rows("/audit?actor=vera&outcome=ok").await, 1, "her sign-in");
    assert_eq!(rows("/audit?action=sign_in").await, 2, "both sign-ins");
    // The refusal says on what and why, not `{}`.
    let denied = app
        .store
        .list_audit(&cachewarden::store::AuditQuery {
            limit: 5,
            actor: Some("vera".into()),
            outcome: Outcome::parse("denied"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(denied[0].action, "invalidation.create");
    assert_eq!(denied[0].target.as_deref(), Some("web"));
    assert!(
        denied[0].detail["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("vera")),
        "{:?}",
        denied[0].detail
    );
    let bad = app.page(Some(&root.cookie), "/audit?outcome=maybe").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body
            .contains("outcome: &#34;maybe&#34; is not an outcome"),
        "{}",
        bad.body
    );
}

/// The purge page reads a running dry run's count from the progress its executor stores (the
/// count was once blank until the dry run ended).
#[tokio::test(flavor = "multi_thread")]
async fn a_running_dry_run_shows_its_count_so_far() {
    let redis = RedisServer::start_with(&["--enable-debug-command", "yes"]);
    let mut c = redis.connection().await;
    // 300,000 keys, scanned ten at a time (the page size a 10 keys/s rate asks for): seconds.
    let _: () = redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(300_000)
        .arg("product")
        .query_async(&mut c)
        .await
        .unwrap();
    let app = TestApp::sqlite_scheduled(&redis_config(&redis.url())).await;
    let ops = app.token("ops", &["purge"], &[]).await;
    let job = app
        .post(
            "/api/v1/purges",
            Some(&ops),
            &serde_json::json!({
                "target": "sessions", "patterns": ["product:*"], "dry_run": true, "rate_limit": 10,
            }),
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let id = job["id"].as_i64().expect("the dry run's id");
    // Once a step has stored a count, hold Redis still so the dry run stays running.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let j = app
            .get_json(&format!("/api/v1/purges/{id}"), Some(&ops))
            .await;
        assert!(
            j["state"] == "queued" || j["state"] == "running",
            "not over yet: {j}"
        );
        if j["progress"]["matched"].as_u64().is_some_and(|m| m > 0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no count stored: {j}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(5000)
        .query_async(&mut c)
        .await
        .unwrap();
    app.person("olga", Role::Operator, &[]).await;
    let olga = app.sign_in("olga").await;
    let page = app
        .page(Some(&olga.cookie), &format!("/purge?dry_run={id}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("<span class=\"state running\">running</span>"),
        "{}",
        page.body
    );
    let count = page
        .body
        .split("id=\"dry-run-count\"><strong>")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the count so far");
    assert!(
        count.replace(',', "").parse::<u64>().is_ok_and(|n| n > 0),
        "{count}"
    );
    app.post(
        &format!("/api/v1/purges/{id}/cancel"),
        Some(&ops),
        &serde_json::json!({}),
    )
    .await;
}

/// An action form with no target to offer says why: nothing of that kind is configured, or
/// the person may not act on what is.
#[tokio::test]
async fn an_empty_action_form_says_whether_nothing_is_configured_or_nothing_is_allowed() {
    let app = TestApp::sqlite(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1\"\n",
    )
    .await;
    app.person("root", Role::Admin, &[]).await;
    let root = app.sign_in("root").await;
    let page = app.page(Some(&root.cookie), "/invalidate").await;
    assert!(
        page.body.contains("id=\"none-configured\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("id=\"not-allowed\""), "{}", page.body);

    let app = TestApp::sqlite(&redis_config("redis://127.0.0.1:1")).await;
    app.person("olga", Role::Operator, &["sessions"]).await;
    let olga = app.sign_in("olga").await;
    let page = app.page(Some(&olga.cookie), "/invalidate").await;
    assert!(page.body.contains("id=\"not-allowed\""), "{}", page.body);
    let page = app.page(Some(&olga.cookie), "/purge").await;
    assert!(
        !page.body.contains("id=\"not-allowed\"") && !page.body.contains("id=\"none-configured\""),
        "sessions is hers to purge: {}",
        page.body
    );
}

/// A range given by hand that cannot be drawn is a 400 page naming the rule.
#[tokio::test]
async fn bad_ranges_on_a_target_page_are_refused_naming_the_rule() {
    let app = TestApp::sqlite(&redis_config("redis://127.0.0.1:1")).await;
    app.person("vera", Role::Viewer, &[]).await;
    let s = app.sign_in("vera").await;
    let now = now_ms();
    for (case, query, rule) in [
        (
            "shorter than a minute",
            format!("from={}&to={}", now - 1_000, now),
            "must be at least a minute before to",
        ),
        (
            "backwards",
            format!("from={now}&to={}", now - 3_600_000),
            "must be at least a minute before to",
        ),
        (
            "too long",
            format!("from=0&to={now}"),
            "the range may be at most 800 days",
        ),
    ] {
        let page = app
            .page(Some(&s.cookie), &format!("/targets/sessions?{query}"))
            .await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{case}: {}",
            page.body
        );
        assert!(page.body.contains(rule), "{case}: {}", page.body);
        // An error page keeps the signed-in person's navigation bar.
        assert!(
            page.body.contains("<nav aria-label=\"Pages\">") && page.body.contains("vera"),
            "{case}: {}",
            page.body
        );
    }
    let missing = app.page(Some(&s.cookie), "/jobs/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.body.contains("<nav aria-label=\"Pages\">"),
        "{}",
        missing.body
    );
}
