//! The overview and a target's page as an on-call engineer reads them, over HTTP against real
//! redis-server: evictions summed over the overview's window (not the latest interval's), and
//! a target that went down shown as down, with its last values dated.

use cachewarden::domain::Role;
use redis::AsyncCommands;

use crate::harness::TestApp;
use crate::harness::redis::{RedisServer, traffic};

/// The text of the overview's row for `target`.
fn row<'a>(html: &'a str, target: &str) -> &'a str {
    html.split(&format!("href=\"/targets/{target}\""))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row for {target} in {html}"))
}

/// Writes `n` values of 1 KiB: past `maxmemory`, Redis evicts.
async fn fill(c: &mut redis::aio::MultiplexedConnection, from: usize, n: usize) {
    let value = "x".repeat(1024);
    for i in from..from + n {
        let _: () = c.set(format!("blob:{i}"), &value).await.unwrap();
    }
}

async fn evicted(c: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(c)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("evicted_keys:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn evictions_are_summed_over_the_day_and_a_down_target_says_so() {
    let cache =
        RedisServer::start_with(&["--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru"]);
    let mut gone = RedisServer::start();
    let toml = format!(
        "[[targets]]\nname = \"cache\"\nkind = \"redis\"\nurl = \"{}\"\n\
         [[targets]]\nname = \"gone\"\nkind = \"redis\"\nurl = \"{}\"\n",
        cache.url(),
        gone.url()
    );
    let app = TestApp::sqlite(&toml).await;
    let poll = |t: &'static str| {
        let c = app.collector();
        async move { c.poll_target_once(t).await.unwrap() }
    };
    let mut c = cache.connection().await;
    assert_eq!(poll("cache").await.error, None);
    fill(&mut c, 0, 4000).await;
    assert_eq!(poll("cache").await.error, None);
    fill(&mut c, 4000, 4000).await;
    assert_eq!(poll("cache").await.error, None);
    // A quiet interval last: the newest evictions sample is 0. Redis under its limit may
    // still evict a key while answering a poll, so poll until an interval evicted nothing.
    let mut total = evicted(&mut c).await;
    for _ in 0..10 {
        assert_eq!(poll("cache").await.error, None);
        let now = evicted(&mut c).await;
        if now == total {
            break;
        }
        total = now;
    }
    assert!(total > 1000, "Redis evicted: {total}");

    // The other one had a hit rate, then stopped answering.
    let mut g = gone.connection().await;
    assert_eq!(poll("gone").await.error, None);
    traffic(&mut g, 9, 1).await;
    assert_eq!(poll("gone").await.error, None);
    gone.stop();
    assert!(poll("gone").await.error.is_some());

    app.person("vera", Role::Viewer, &[]).await;
    let vera = app.sign_in("vera").await;
    let page = app.page(Some(&vera.cookie), "/").await;
    assert_eq!(page.status, 200);
    let shown = {
        let mut s = total.to_string();
        if total >= 1000 {
            s.insert(s.len() - 3, ',');
        }
        s
    };
    let cache_row = row(&page.body, "cache");
    assert!(
        cache_row.contains(&format!(">{shown}<")),
        "the day's {shown} evictions in {cache_row}"
    );
    let gone_row = row(&page.body, "gone");
    assert!(gone_row.contains("state down"), "{gone_row}");
    assert!(
        gone_row.contains("90.0 % (at ") && gone_row.contains("target down)"),
        "the last hit rate, dated: {gone_row}"
    );
    assert!(gone_row.contains("(before it went down)"), "{gone_row}");

    let target = app.page(Some(&vera.cookie), "/targets/gone").await;
    assert_eq!(target.status, 200);
    assert!(
        target.body.contains("id=\"target-state\">down<"),
        "the page says it is down"
    );
    let status = target
        .body
        .split("id=\"target-status\">")
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .unwrap();
    assert!(
        status.starts_with("Down: the poll at ") && status.contains("Last up at "),
        "{status}"
    );
    let up = app.page(Some(&vera.cookie), "/targets/cache").await;
    assert!(up.body.contains("id=\"target-state\">up<"));
}

/// The names of the targets the overview lists, in order, and its section headings.
fn listed(html: &str) -> (Vec<String>, Vec<String>) {
    let names = html
        .split("<tr><td><a href=\"/targets/")
        .skip(1)
        .filter_map(|r| r.split('"').next().map(str::to_owned))
        .collect();
    let headings = html
        .split("<h2>")
        .skip(1)
        .filter_map(|h| h.split("</h2>").next().map(str::to_owned))
        .collect();
    (names, headings)
}

/// A fleet read by account, region, group and tag: each filter narrows the list to what it
/// names, and the sections follow what the list is grouped by.
#[tokio::test]
async fn the_overview_filters_and_groups_by_account_region_group_and_tag() {
    let toml = "[aws]\nregion = \"eu-west-1\"\n\
        [[targets]]\nname = \"sessions-a\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1\"\ngroup = \"sessions\"\ntags = { env = \"prod\" }\n\
        [[targets]]\nname = \"sessions-b\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:1\"\ngroup = \"sessions\"\ntags = { env = \"staging\" }\n\
        [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\ntags = { env = \"prod\" }\n\
        role_arn = \"arn:aws:iam::111111111111:role/cachewarden\"\n\
        [[targets]]\nname = \"orders\"\nkind = \"dax\"\ncluster_id = \"orders\"\nregion = \"us-east-1\"\n";
    let app = TestApp::sqlite(toml).await;
    app.person("vera", Role::Viewer, &[]).await;
    let vera = app.sign_in("vera").await;
    let get = |path: &'static str| {
        let app = &app;
        let cookie = vera.cookie.clone();
        async move {
            let page = app.page(Some(&cookie), path).await;
            assert_eq!(page.status, 200, "{path}");
            listed(&page.body)
        }
    };
    let (all, tiers) = get("/").await;
    assert_eq!(all, ["web", "orders", "sessions-a", "sessions-b"]);
    assert_eq!(tiers, ["CloudFront", "DAX", "Redis"]);
    assert_eq!(get("/?tag=env%3Dprod").await.0, ["web", "sessions-a"]);
    assert_eq!(
        get("/?group=sessions").await.0,
        ["sessions-a", "sessions-b"]
    );
    assert_eq!(get("/?account=111111111111").await.0, ["web"]);
    assert_eq!(get("/?region=us-east-1").await.0, ["web", "orders"]);
    assert_eq!(
        get("/?region=eu-west-1&tag=env%3Dprod").await.0,
        Vec::<String>::new()
    );
    let (names, groups) = get("/?by=group").await;
    assert_eq!(groups, ["Group sessions", "No group"]);
    assert_eq!(names, ["sessions-a", "sessions-b", "web", "orders"]);
    let (_, regions) = get("/?by=region").await;
    assert_eq!(regions, ["Region us-east-1", "No region (polled directly)"]);
    // The filters offer what there is.
    let page = app.page(Some(&vera.cookie), "/").await.body;
    for option in [
        "111111111111",
        "us-east-1",
        "sessions",
        "env=prod",
        "env=staging",
    ] {
        assert!(
            page.contains(&format!("<option value=\"{option}\"")),
            "{option}"
        );
    }
    app.stop().await;
}
