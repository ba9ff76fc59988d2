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
