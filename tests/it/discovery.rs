//! Discovery (issue 22): `[[discover]]` finds ElastiCache nodes, DAX clusters, CloudFront
//! distributions and cached API Gateway stages in moto, across two accounts (two roles: moto
//! keeps each role's account apart) and two regions, filtered by tags. A cluster that goes is
//! removed after two discoveries in a row miss it and its firing alarm ends with a "target
//! removed" message; a new one is picked up by an alarm that selects by tag; a discovery that
//! cannot reach AWS keeps the set; a restart starts from the kept set.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::TestApp;
use crate::harness::fleet::{self, assumed, in_region};
use crate::harness::moto::{Moto, create_distribution};
use crate::harness::receiver::TestReceiver;

const ONE: &str = "arn:aws:iam::111111111111:role/cachewarden";
const TWO: &str = "arn:aws:iam::222222222222:role/cachewarden";

fn names(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}

/// Two accounts × two regions, every kind, only what is tagged env=prod: every target is
/// found once, named `{account}-{region}-{id}`, labelled, polled, listed by the API, audited.
#[tokio::test]
async fn two_accounts_and_two_regions_are_discovered_with_tag_filters() {
    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let one = assumed(&sdk, ONE).await;
    let two = assumed(&sdk, TWO).await;
    let prod = [("env", "prod"), ("team", "catalog")];
    let catalog = fleet::replication_group(&one, "catalog", 2, &prod).await;
    fleet::replication_group(&one, "scratch", 1, &[("env", "dev")]).await;
    fleet::dax_cluster(&in_region(&one, "us-east-1"), "orders", &prod).await;
    fleet::memcached_cluster(&two, "sessions", &prod).await;
    let cf = cachewarden::aws::cloudfront(&two);
    let web = create_distribution(&cf).await;
    fleet::tag_distribution(&cf, &web, &prod).await;
    let untagged = create_distribution(&cf).await;
    let api = fleet::rest_api(&in_region(&two, "us-east-1"), "storefront", true, &prod).await;
    fleet::rest_api(&in_region(&two, "us-east-1"), "uncached", false, &prod).await;
    // The default account has a prod cluster too: it is not one of the accounts asked.
    fleet::replication_group(&sdk, "elsewhere", 1, &prod).await;

    let config = format!(
        "[aws]\nregion = \"eu-west-1\"\n\
         [[discover]]\nname = \"prod\"\nkinds = [\"elasticache\", \"cloudfront\", \"apigateway\", \"dax\"]\n\
         regions = [\"eu-west-1\", \"us-east-1\"]\n\
         accounts = [{{ role_arn = \"{ONE}\", external_id = \"ext-1\" }}, {{ role_arn = \"{TWO}\" }}]\n\
         tags = {{ env = \"prod\", team = \"cat*\" }}\nevery = \"5m\"\n\
         [discover.targets]\nevery = \"2m\"\n"
    );
    let app = TestApp::with_aws(&config, sdk.clone()).await;
    let report = app.discover_once("prod").await;
    assert_eq!(report.diff.errors, Vec::<String>::new());
    let mut want: BTreeSet<String> = catalog
        .iter()
        .map(|n| format!("111111111111-eu-west-1-{n}"))
        .collect();
    want.extend([
        "111111111111-us-east-1-orders".to_owned(),
        "222222222222-eu-west-1-sessions-0001".to_owned(),
        "222222222222-eu-west-1-sessions-0002".to_owned(),
        format!("222222222222-us-east-1-{}", web.to_lowercase()),
        format!("222222222222-us-east-1-{}-prod", api.to_lowercase()),
    ]);
    assert_eq!(
        names(&report.diff.added),
        want,
        "untagged {untagged}, dev and uncached are left out"
    );
    assert_eq!(report.targets, want.len());

    // In force: labelled, on its kind's schedule from [discover.targets], in its account.
    let settings = app.live.settings();
    let node = settings
        .targets
        .iter()
        .find(|t| t.name.as_str() == format!("111111111111-eu-west-1-{}", catalog[0]))
        .expect("a catalog node");
    assert_eq!(node.labels.group.as_deref(), Some("catalog"));
    assert_eq!(
        node.labels.tags.get("env").map(String::as_str),
        Some("prod")
    );
    assert_eq!(node.labels.discovered_by.as_deref(), Some("prod"));
    assert_eq!(node.account.as_ref().map(|a| a.role_arn()), Some(ONE));
    assert_eq!(node.schedule.hint_ms(), 120_000);

    // Polled in their accounts and regions; a Memcached node by its cluster and node id.
    let cw = cachewarden::aws::cloudwatch(&two, Some("eu-west-1"));
    let now = chrono::Utc::now().timestamp();
    let minute = now - now % 60 - 120;
    let dims = [("CacheClusterId", "sessions"), ("CacheNodeId", "0002")];
    crate::harness::moto::put_metric(&cw, "AWS/ElastiCache", "GetHits", &dims, minute, 42.0).await;
    let reports = app.collector().poll_all_once().await;
    let polled: BTreeSet<String> = app.collector().targets().map(str::to_owned).collect();
    assert_eq!(polled, want);
    assert!(reports.iter().all(|r| r.error.is_none()), "{reports:?}");

    // The API shows each target's account, region, group and tags, and the run.
    let token = app.token("reader", &["read"], &[]).await;
    let listed = app.get_json("/api/v1/targets", Some(&token)).await;
    let row = listed["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "111111111111-us-east-1-orders")
        .cloned()
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(row["account"], "111111111111");
    assert_eq!(row["region"], "us-east-1");
    assert_eq!(row["tags"]["team"], "catalog");
    assert_eq!(row["discovered_by"], "prod");
    let node = app
        .get_json(
            "/api/v1/targets/222222222222-eu-west-1-sessions-0002",
            Some(&token),
        )
        .await;
    assert_eq!(node["current"]["hits"], 42.0, "{node}");
    assert_eq!(node["group"], "sessions");
    let d = app.get_json("/api/v1/discovery", Some(&token)).await;
    let d = &d["discoveries"][0];
    assert_eq!(d["name"], "prod");
    assert_eq!(d["targets"], want.len());
    assert_eq!(d["runs"][0]["outcome"], "ok");
    assert_eq!(
        d["runs"][0]["diff"]["added"].as_array().unwrap().len(),
        want.len()
    );

    // /metrics labels each target with where it lives and its tags.
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    let info = format!(
        "cachewarden_target_info{{account=\"111111111111\",discovery=\"prod\",group=\"catalog\",kind=\"elasticache\",region=\"eu-west-1\",tag_env=\"prod\",tag_team=\"catalog\",target=\"111111111111-eu-west-1-{}\"}} 1",
        catalog[0]
    );
    assert!(metrics.contains(&info), "{info} in\n{metrics}");

    // Audited as the discovery's own action.
    let admin = app.token("auditor", &["admin"], &[]).await;
    let audit = app
        .get_json("/api/v1/audit?actor=discovery:prod", Some(&admin))
        .await;
    let entry = &audit["entries"][0];
    assert_eq!(entry["action"], "discovery.run", "{audit}");
    assert_eq!(
        entry["detail"]["diff"]["added"].as_array().unwrap().len(),
        want.len()
    );

    // A second run changes nothing and is not audited again.
    let again = app.discover_once("prod").await;
    assert!(
        again.diff.added.is_empty()
            && again.diff.removed.is_empty()
            && again.diff.changed.is_empty()
    );
    let audit = app
        .get_json("/api/v1/audit?actor=discovery:prod", Some(&admin))
        .await;
    assert_eq!(audit["entries"].as_array().unwrap().len(), 1);
    app.stop().await;
}

fn fleet_config(hook: &str) -> String {
    format!(
        "[aws]\nregion = \"eu-west-1\"\n\
         [[discover]]\nname = \"caches\"\nkinds = [\"elasticache\"]\ntags = {{ env = \"prod\" }}\n\
         [[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{hook}/hook\"\n\
         [[notifiers]]\nname = \"pager\"\nkind = \"pagerduty\"\nrouting_key = \"0123456789abcdef0123456789abcdef\"\nurl = \"{hook}/pd\"\n\
         [[alarms]]\nname = \"prod-hit-rate\"\ntarget_tags = {{ env = \"prod\" }}\nmetric = \"hit_rate\"\n\
         below = 0.8\nmissing = \"breaching\"\nnotify = [\"ops\", \"pager\"]\n"
    )
}

/// The kinds of the webhook's messages, in order.
fn webhook(hook: &TestReceiver) -> Vec<String> {
    hook.accepted()
        .iter()
        .filter(|m| m.path == "/hook")
        .map(|m| m.body["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Alarm states, by target.
async fn states(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let v = app.get_json("/api/v1/alarms", Some(token)).await;
    let mut out: Vec<(String, String)> = v["alarms"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|a| {
            (
                a["target"].as_str().unwrap_or_default().to_owned(),
                a["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn evaluate(app: &TestApp) {
    let names: Vec<String> = app
        .live
        .settings()
        .targets
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    app.collector()
        .alarms()
        .expect("alarms are evaluated")
        .evaluate_once(&names, cachewarden::store::now_ms())
        .await
        .expect("evaluate");
}

/// A cluster added and one deleted between discoveries: the new one is watched by the alarm
/// that selects by tag; the deleted one stays through one miss, goes at the second, and its
/// firing alarm ends with a "target removed" message, never a "resolved".
#[tokio::test]
async fn a_cluster_added_and_one_deleted_between_discoveries() {
    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let hook = TestReceiver::start(0).await;
    let prod = [("env", "prod")];
    let a = fleet::replication_group(&sdk, "alpha", 1, &prod).await;
    let b = fleet::replication_group(&sdk, "beta", 1, &prod).await;
    let app = TestApp::with_aws(&fleet_config(&hook.url), sdk.clone()).await;
    let token = app.token("reader", &["read"], &[]).await;
    app.discover_once("caches").await;
    let name = |node: &str| format!("123456789012-eu-west-1-{node}");
    let (alpha, beta) = (name(&a[0]), name(&b[0]));

    // No datapoints, missing counts as breaching: both fire, and both are announced.
    evaluate(&app).await;
    assert_eq!(
        states(&app, &token).await,
        [
            (alpha.clone(), "alarm".to_owned()),
            (beta.clone(), "alarm".to_owned())
        ]
    );
    crate::notifications::deliver(&app, 0).await;
    assert_eq!(webhook(&hook), ["alarm", "alarm"]);

    // gamma appears, beta is deleted.
    let c = fleet::replication_group(&sdk, "gamma", 1, &prod).await;
    let gamma = name(&c[0]);
    fleet::delete_replication_group(&sdk, "beta").await;
    let first = app.discover_once("caches").await;
    assert_eq!(first.diff.added, std::slice::from_ref(&gamma));
    assert_eq!(
        first.diff.missing,
        std::slice::from_ref(&beta),
        "one miss keeps it"
    );
    assert!(first.diff.removed.is_empty());
    evaluate(&app).await;
    let now = states(&app, &token).await;
    assert!(
        now.contains(&(gamma.clone(), "alarm".to_owned())),
        "the tag alarm watches the new one: {now:?}"
    );
    assert!(now.contains(&(beta.clone(), "alarm".to_owned())));

    let second = app.discover_once("caches").await;
    assert_eq!(second.diff.removed, std::slice::from_ref(&beta));
    assert!(app.live.settings().target(&beta.parse().unwrap()).is_none());
    crate::notifications::deliver(&app, 0).await;
    let received = hook.accepted();
    let ended: Vec<&Value> = received
        .iter()
        .filter(|m| m.path == "/hook")
        .map(|m| &m.body)
        .filter(|b| b["target"] == beta.as_str())
        .collect();
    // PagerDuty closes the incident the alarm opened.
    let paged: Vec<&Value> = received
        .iter()
        .filter(|m| m.path == "/pd")
        .map(|m| &m.body)
        .filter(|b| b["payload"]["source"] == beta.as_str())
        .collect();
    assert_eq!(
        paged
            .iter()
            .map(|b| b["event_action"].as_str().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["trigger", "resolve"]
    );
    assert!(
        paged[1]["payload"]["summary"]
            .as_str()
            .unwrap_or_default()
            .starts_with("ENDED (TARGET REMOVED)"),
        "{}",
        paged[1]
    );
    assert_eq!(
        ended
            .iter()
            .map(|b| b["kind"].as_str().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["alarm", "target_removed"],
        "the episode ends with the removal, never with a resolution"
    );
    let last = ended[1];
    assert_eq!(last["state"], "insufficient_data");
    assert!(
        last["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("target removed"),
        "{last}"
    );
    assert!(
        hook.kinds().iter().all(|k| k != "resolved"),
        "{:?}",
        hook.kinds()
    );
    // What is left: alpha and gamma, still firing; beta is no longer listed.
    let left: Vec<String> = states(&app, &token)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(left, [alpha, gamma]);
    app.stop().await;
}

/// A discovery that cannot reach AWS keeps the whole set (however often it fails) and says
/// so on the API and /metrics; the daemon stays ready. After a restart the kept set is in
/// force before any discovery runs.
#[tokio::test]
async fn a_failing_discovery_keeps_the_set_and_a_restart_starts_from_it() {
    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let a = fleet::replication_group(&sdk, "alpha", 2, &[("env", "prod")]).await;
    let config = "[aws]\nregion = \"eu-west-1\"\n\
         [[discover]]\nname = \"caches\"\nkinds = [\"elasticache\"]\n";
    let app = TestApp::with_aws(config, sdk.clone()).await;
    let token = app.token("reader", &["read"], &[]).await;
    assert_eq!(app.discover_once("caches").await.targets, a.len());
    let before: Vec<String> = app.target_names(&token).await;
    assert_eq!(before.len(), a.len());

    drop(moto);
    for _ in 0..3 {
        let failed = app.discover_once("caches").await;
        assert_eq!(
            failed.outcome,
            cachewarden::domain::DiscoveryOutcome::Failed
        );
        assert!(
            failed.diff.errors[0].contains("elasticache:")
                || failed.diff.errors[0].contains("sts:GetCallerIdentity"),
            "the failure names the action: {:?}",
            failed.diff.errors
        );
        assert!(failed.diff.missing.is_empty() && failed.diff.removed.is_empty());
        assert_eq!(app.target_names(&token).await, before);
    }
    let d = app.get_json("/api/v1/discovery", Some(&token)).await;
    assert_eq!(d["discoveries"][0]["runs"][0]["outcome"], "failed");
    assert_eq!(d["discoveries"][0]["targets"], a.len());
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("cachewarden_discovery_up{discovery=\"caches\"} 0"),
        "{metrics}"
    );
    assert!(metrics.contains(&format!(
        "cachewarden_discovery_targets{{discovery=\"caches\"}} {}",
        a.len()
    )));
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    // The overview says so above the targets it keeps.
    app.person("vera", cachewarden::domain::Role::Viewer, &[])
        .await;
    let vera = app.sign_in("vera").await;
    let page = app.page(Some(&vera.cookie), "/").await.body;
    let warning = page
        .split("<p class=\"warning discovery-warning\">")
        .nth(1)
        .and_then(|w| w.split("</p>").next())
        .unwrap_or_else(|| panic!("no discovery warning in {page}"));
    assert!(
        warning.starts_with("Discovery caches could not ask everything at ")
            && warning.ends_with(&format!(
                "What it could not see stays as it was; it has {} targets in force.",
                a.len()
            )),
        "{warning}"
    );

    // A reload builds the kept set with the configuration read again; it asks AWS nothing.
    let runs = || async {
        app.get_json("/api/v1/discovery", Some(&token)).await["discoveries"][0]["runs"]
            .as_array()
            .map_or(0, Vec::len)
    };
    let before_reload = runs().await;
    let reread = cachewarden::config::load_from(Some(config), Vec::new()).unwrap();
    app.reloader.apply(reread).await;
    assert_eq!(app.target_names(&token).await, before);
    assert_eq!(runs().await, before_reload, "no discovery ran");

    // A restart (AWS still unreachable) polls the kept set from the start.
    let dir = app.stop_keeping_data().await;
    let again = TestApp::restart_with_aws(config, dir, sdk).await;
    let token = again.token("reader2", &["read"], &[]).await;
    assert_eq!(again.target_names(&token).await, before);
    again.stop().await;
}

/// Nobody drives it: the leader discovers at start, puts what it found in force, and polls
/// the new targets at once.
#[tokio::test]
async fn the_leader_discovers_on_its_own_and_polls_what_it_found() {
    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let nodes = fleet::replication_group(&sdk, "alpha", 1, &[("env", "prod")]).await;
    let config = "[aws]\nregion = \"eu-west-1\"\n\
         [[discover]]\nname = \"caches\"\nkinds = [\"elasticache\"]\n";
    let app = TestApp::with_aws_running(config, sdk).await;
    let token = app.token("reader", &["read"], &[]).await;
    let name = format!("123456789012-eu-west-1-{}", nodes[0]);
    let path = format!("/api/v1/targets/{name}");
    crate::harness::process::wait_until(
        "the discovered node is polled",
        std::time::Duration::from_secs(20),
        || async { app.get_json(&path, Some(&token)).await["last_poll_at"].is_i64() },
    )
    .await;
    let polled = app.get_json(&path, Some(&token)).await;
    assert_eq!(polled["discovered_by"], "caches");
    app.stop().await;
}

/// The dashboard as an SRE reads a discovered fleet: sections by account, a filter by tag
/// chosen in the form, and a target's page saying where it lives.
#[tokio::test]
async fn the_dashboard_shows_a_discovered_fleet_by_account_and_tag() {
    use crate::harness::browser::{Browser, click, screenshot};
    use cachewarden::domain::Role;
    use cachewarden::store::{Sample, now_ms};
    use fantoccini::Locator;
    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let one = assumed(&sdk, ONE).await;
    let two = assumed(&sdk, TWO).await;
    let catalog = fleet::replication_group(&one, "catalog", 1, &[("env", "prod")]).await;
    fleet::replication_group(&one, "search", 1, &[("env", "staging")]).await;
    fleet::dax_cluster(&two, "orders", &[("env", "prod")]).await;
    let config = format!(
        "[aws]\nregion = \"eu-west-1\"\n\
         [[discover]]\nname = \"fleet\"\nkinds = [\"elasticache\", \"dax\"]\n\
         accounts = [{{ role_arn = \"{ONE}\" }}, {{ role_arn = \"{TWO}\" }}]\n"
    );
    let app = TestApp::with_aws(&config, sdk).await;
    let report = app.discover_once("fleet").await;
    assert_eq!(report.targets, 3);
    // A day of hit rates, so the sparklines have something to draw.
    let now = now_ms();
    let mut samples = Vec::new();
    for (i, t) in app.live.settings().targets.iter().enumerate() {
        let (name, series) = (
            t.name.as_str(),
            t.kind
                .series_with(cachewarden::targets::Role::HitRatio)
                .unwrap()
                .name,
        );
        for h in 0..24_i64 {
            let hits = 80.0 + ((h * 7 + i as i64 * 5) % 19) as f64;
            samples.push(Sample::ratio(
                name,
                "",
                series,
                now - h * 3_600_000,
                hits,
                100.0,
            ));
        }
    }
    app.store.upsert_samples(&samples).await.unwrap();
    app.store.rollup(now - 25 * 3_600_000, now).await.unwrap();
    app.person("vera", Role::Viewer, &[]).await;

    let browser = Browser::start().await;
    let b = &browser.client;
    crate::harness::people::sign_in_browser(b, &app, "vera").await;
    b.goto(&app.url("/?by=account")).await.unwrap();
    let headings = texts(b, "section.tier h2").await;
    assert_eq!(headings, ["Account 111111111111", "Account 222222222222"]);
    // Choose a tag in the form, as a person would.
    b.find(Locator::Css("#filter-tag option[value='env=prod']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(b, "form.filter button[type=submit]").await;
    crate::harness::browser::wait_for(b, "#filter-tag option[value='env=prod'][selected]").await;
    let names = texts(b, "table.targets tbody td:first-child").await;
    assert_eq!(
        names,
        [
            format!("111111111111-eu-west-1-{}", catalog[0]),
            "222222222222-eu-west-1-orders".to_owned()
        ]
    );
    screenshot(b, "overview-fleet-by-account").await;
    b.goto(&app.url(&format!("/targets/111111111111-eu-west-1-{}", catalog[0])))
        .await
        .unwrap();
    let placed = texts(b, "#target-placed").await;
    assert_eq!(
        placed,
        [format!(
            "node {} · account 111111111111 · eu-west-1 · group catalog · env=prod · found by discovery fleet",
            catalog[0]
        )]
    );
    screenshot(b, "target-discovered").await;
    // AWS out of reach: the overview says which discovery could not ask what.
    drop(moto);
    app.discover_once("fleet").await;
    b.goto(&app.url("/")).await.unwrap();
    let warnings = texts(b, "p.discovery-warning").await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("(and 3 more)"),
        "four scopes failed: {warnings:?}"
    );
    screenshot(b, "overview-discovery-failed").await;
    browser.close().await;
    app.stop().await;
}

async fn texts(c: &fantoccini::Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(fantoccini::Locator::Css(css)).await.unwrap() {
        out.push(e.text().await.unwrap());
    }
    out
}

/// The invalidations of distribution `id` in moto.
async fn invalidations(cf: &aws_sdk_cloudfront::Client, id: &str) -> usize {
    cf.list_invalidations()
        .distribution_id(id)
        .send()
        .await
        .expect("ListInvalidations")
        .invalidation_list()
        .map_or(0, |l| l.items().len())
}

/// A rule that selects by tag acts on every discovered target with the tag, and on one
/// discovered after it was written.
#[tokio::test]
async fn a_rule_by_tag_invalidates_every_distribution_found_with_it() {
    use serde_json::json;
    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let cf = cachewarden::aws::cloudfront(&sdk);
    let mut prod = Vec::new();
    for _ in 0..2 {
        let id = create_distribution(&cf).await;
        fleet::tag_distribution(&cf, &id, &[("env", "prod")]).await;
        prod.push(id);
    }
    let dev = create_distribution(&cf).await;
    fleet::tag_distribution(&cf, &dev, &[("env", "dev")]).await;
    let config = "[aws]\nregion = \"eu-west-1\"\n[invalidation]\ncoalesce_window = \"10ms\"\n\
         [[discover]]\nname = \"edge\"\nkinds = [\"cloudfront\"]\n\
         [[rules]]\nevent = \"product.updated\"\n\
         cloudfront = [{ target_tags = { env = \"prod\" }, paths = [\"/products/{id}\"] }]\n";
    let app = TestApp::with_aws_running(config, sdk).await;
    app.discover_once("edge").await;
    let name = |id: &str| format!("123456789012-us-east-1-{}", id.to_lowercase());
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let post = |n: u32| {
        let (app, ci) = (&app, ci.clone());
        async move {
            let res = app
                .post_keyed(
                    "/api/v1/events",
                    &ci,
                    Some(&format!("change-{n}")),
                    &json!({ "type": "product.updated", "data": { "id": n } }),
                )
                .await;
            assert_eq!(res.status(), 202);
            let event: Value = res.json().await.unwrap();
            let id = event["id"].as_i64().unwrap();
            let done = app
                .get_json(&format!("/api/v1/events/{id}?wait=60s"), Some(&ci))
                .await;
            assert_eq!(done["state"], "completed", "{done}");
            let mut targets: Vec<String> = event["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_owned())
                .collect();
            targets.sort();
            targets
        }
    };
    let mut want: Vec<String> = prod.iter().map(|id| name(id)).collect();
    want.sort();
    assert_eq!(post(1).await, want);
    for id in &prod {
        assert_eq!(invalidations(&cf, id).await, 1, "{id}");
    }
    assert_eq!(invalidations(&cf, &dev).await, 0, "env=dev is not selected");

    // A distribution tagged later is found by the next discovery, and the rule reaches it.
    let third = create_distribution(&cf).await;
    fleet::tag_distribution(&cf, &third, &[("env", "prod")]).await;
    app.discover_once("edge").await;
    want.push(name(&third));
    want.sort();
    assert_eq!(post(2).await, want);
    assert_eq!(invalidations(&cf, &third).await, 1);
    app.stop().await;
}

/// moto answers DescribeClusters (DAX) 100 clusters a page: all 150 are found, through every
/// page.
#[tokio::test]
async fn every_page_of_dax_clusters_is_read() {
    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    for i in 0..150 {
        fleet::dax_cluster(&sdk, &format!("dax-{i:03}"), &[("env", "prod")]).await;
    }
    let config = "[aws]\nregion = \"eu-west-1\"\n\
         [[discover]]\nname = \"dax\"\nkinds = [\"dax\"]\n";
    let app = TestApp::with_aws(config, sdk).await;
    let report = app.discover_once("dax").await;
    assert_eq!(report.targets, 150, "{:?}", report.diff.errors);
    app.stop().await;
}
