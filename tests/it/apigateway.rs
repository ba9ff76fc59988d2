//! API Gateway invalidations (issue 21): moto serves the control plane (the REST API found by
//! name, a stage with a cache); a stand-in in front of it serves what moto cannot (the flush
//! route, the invoke URL) and checks SigV4 with botocore, the route and `Cache-Control`.
//! Entries one and many (paced at the target's rate), a flush with and without confirm, 429
//! then success, 403, cancel, an event rule on three tiers, the CLI, and bad requests.

use std::time::{Duration, Instant};

use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::apigateway::ApiGatewayStandIn;
use crate::harness::app::expect_error;
use crate::harness::moto::{Moto, create_distribution};
use crate::harness::redis::RedisServer;

const REGION: &str = "eu-west-1";

/// A REST API named `storefront` with a stage `prod` whose cache is on (or off); its id.
async fn rest_api(moto: &Moto, cache: bool) -> String {
    crate::harness::fleet::rest_api(&moto.sdk_config(REGION).await, "storefront", cache, &[]).await
}

fn target(standin: &ApiGatewayStandIn, rate: u32) -> String {
    format!(
        "[aws]\nregion = \"{REGION}\"\n\
         [[targets]]\nname = \"shop-api\"\nkind = \"apigateway\"\napi_name = \"storefront\"\nstage = \"prod\"\n\
         invoke_url = \"{}/prod\"\ncache_key_query = [\"lang\"]\ncache_key_headers = [\"Accept-Language\"]\n\
         invalidation_rate = {rate}\n",
        standin.endpoint()
    )
}

struct Stack {
    moto: Moto,
    standin: ApiGatewayStandIn,
    rest_api_id: String,
    app: TestApp,
    token: String,
}

async fn stack_with(rate: u32, extra: &str) -> Stack {
    let moto = Moto::start();
    let rest_api_id = rest_api(&moto, true).await;
    let standin = ApiGatewayStandIn::start(&moto);
    let toml = format!("{}{extra}", target(&standin, rate));
    let app = TestApp::with_aws_running(&toml, standin.sdk_config(REGION).await).await;
    let token = app.token("ci", &["invalidate"], &["shop-api"]).await;
    Stack {
        moto,
        standin,
        rest_api_id,
        app,
        token,
    }
}

async fn stack(rate: u32) -> Stack {
    stack_with(rate, "").await
}

impl Stack {
    async fn invalidate(&self, body: Value) -> reqwest::Response {
        self.app
            .post_keyed("/api/v1/invalidations", &self.token, None, &body)
            .await
    }

    /// Submits and waits for the job to end.
    async fn run(&self, body: Value) -> Value {
        let res = self.invalidate(body).await;
        assert_eq!(res.status(), 202);
        let job: Value = res.json().await.unwrap();
        self.wait(job["id"].as_i64().unwrap()).await
    }

    async fn wait(&self, id: i64) -> Value {
        self.app
            .get_json(
                &format!("/api/v1/invalidations/{id}?wait=60s"),
                Some(&self.token),
            )
            .await
    }

    /// The requests for entries (not flushes) the stand-in answered.
    fn entries(&self) -> Vec<Value> {
        self.standin
            .requests()
            .into_iter()
            .filter(|r| r.get("flush").is_none())
            .collect()
    }
}

/// Waits until `ready` holds, or fails after `deadline`.
async fn until(deadline: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn one_entry_is_requested_signed_with_max_age_zero_at_the_api_found_by_name() {
    let s = stack(10).await;
    let job = s
        .run(
            json!({"target": "shop-api", "items": ["GET /products/42?lang=en Accept-Language:en"]}),
        )
        .await;
    assert_eq!(job["kind"], "apigateway_invalidation");
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["result"]["rest_api_id"], s.rest_api_id.as_str());
    assert_eq!(job["result"]["done"], 1);
    // Stored in its one written form.
    assert_eq!(
        job["request"]["items"],
        json!(["GET /products/42?lang=en accept-language:en"])
    );
    let got = s.entries();
    assert_eq!(got.len(), 1, "{got:?}");
    let r = &got[0];
    assert_eq!(r["method"], "GET");
    assert_eq!(r["path"], "/prod/products/42");
    assert_eq!(r["query"], "lang=en");
    assert_eq!(r["cache_control"], "max-age=0");
    assert_eq!(r["headers"]["accept-language"], "en");
    assert_eq!(r["signature"], "valid", "{r}");
    assert_eq!(r["status"], 200);

    // The id found by name is kept: a second job asks for the stage, not for every API again.
    let again = s
        .run(json!({"target": "shop-api", "items": ["/products/43"]}))
        .await;
    assert_eq!(again["state"], "completed", "{again}");
    let calls: Vec<String> = s
        .standin
        .forwarded()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["method"].as_str().unwrap(),
                f["path"].as_str().unwrap()
            )
        })
        .collect();
    let lookups = calls.iter().filter(|c| *c == "GET /restapis").count();
    assert_eq!(lookups, 1, "{calls:?}");
    let stage = format!("GET /restapis/{}/stages/prod", s.rest_api_id);
    assert_eq!(
        calls.iter().filter(|c| **c == stage).count(),
        2,
        "{calls:?}"
    );
}

#[tokio::test]
async fn many_entries_are_sent_at_the_target_rate() {
    let rate = 20;
    let s = stack(rate).await;
    let items: Vec<String> = (0..30).map(|i| format!("/products/{i}")).collect();
    let job = s.run(json!({"target": "shop-api", "items": items})).await;
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["result"]["done"], 30);
    let got = s.entries();
    assert_eq!(got.len(), 30);
    assert!(got.iter().all(|r| r["signature"] == "valid"));
    let mut paths: Vec<&str> = got.iter().map(|r| r["path"].as_str().unwrap()).collect();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths.len(), 30, "each entry once");
    // 30 requests at 20 a second leave over at least 29/20 s; unpaced they take milliseconds.
    let at: Vec<f64> = got.iter().map(|r| r["at"].as_f64().unwrap()).collect();
    let span =
        at.iter().cloned().fold(f64::MIN, f64::max) - at.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        span >= 29.0 / rate as f64 * 0.9,
        "30 entries within {span:.3} s"
    );
}

#[tokio::test]
async fn a_flush_needs_confirm_then_empties_the_stage() {
    let s = stack(10).await;
    let res = s
        .invalidate(json!({"target": "shop-api", "flush": true}))
        .await;
    expect_error(
        "flush unconfirmed",
        res,
        422,
        "confirmation_required",
        Some("confirm"),
        "whole cache of stage prod",
    )
    .await;
    let res = s
        .invalidate(json!({"target": "shop-api", "flush": true, "confirm": "shop"}))
        .await;
    expect_error(
        "flush confirmed wrongly",
        res,
        422,
        "confirmation_required",
        Some("confirm"),
        "repeat the target's name",
    )
    .await;
    assert!(s.standin.requests().is_empty(), "nothing was sent");

    let job = s
        .run(json!({"target": "shop-api", "flush": true, "confirm": "shop-api"}))
        .await;
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["result"]["flushed"], true);
    let got = s.standin.requests();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["method"], "DELETE");
    assert_eq!(got[0]["flush"]["rest_api_id"], s.rest_api_id.as_str());
    assert_eq!(got[0]["flush"]["stage"], "prod");
    assert_eq!(
        got[0]["signature"], "valid",
        "signed for apigateway: {}",
        got[0]
    );
}

#[tokio::test]
async fn a_throttled_entry_is_retried_with_backoff_until_it_succeeds() {
    let s = stack(10).await;
    s.standin.script("/prod/products/7", &[429, 429, 200]);
    let job = s
        .run(json!({"target": "shop-api", "items": ["/products/7", "/products/8"]}))
        .await;
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["result"]["done"], 2);
    assert_eq!(job["result"]["sent"], 4);
    let sevens: Vec<Value> = s
        .entries()
        .into_iter()
        .filter(|r| r["path"] == "/prod/products/7")
        .collect();
    let statuses: Vec<i64> = sevens
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [429, 429, 200]);
    // Backoff: 1 s, then 2 s.
    let gap = sevens[2]["at"].as_f64().unwrap() - sevens[0]["at"].as_f64().unwrap();
    assert!(gap >= 2.7, "retried after {gap:.2} s");
}

#[tokio::test]
async fn a_forbidden_entry_fails_the_job_naming_the_missing_permission() {
    let s = stack(10).await;
    s.standin.script("/prod/admin/report", &[403]);
    let job = s
        .run(json!({"target": "shop-api", "items": ["/admin/report", "/products/1"]}))
        .await;
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().unwrap_or_default();
    assert!(error.contains("1 of 2 entries"), "{error}");
    assert!(error.contains("execute-api:InvalidateCache"), "{error}");
    assert!(
        error.contains(&format!(":{}/prod/GET/admin/report", s.rest_api_id)),
        "{error}"
    );
    let entries = job["progress"]["entries"].as_array().unwrap();
    let states: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["entry"].as_str().unwrap(), e["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [("GET /admin/report", "failed"), ("GET /products/1", "done")]
    );
}

#[tokio::test]
async fn a_stage_without_a_cache_fails_before_any_entry_is_sent() {
    let moto = Moto::start();
    rest_api(&moto, false).await;
    let standin = ApiGatewayStandIn::start(&moto);
    let app =
        TestApp::with_aws_running(&target(&standin, 10), standin.sdk_config(REGION).await).await;
    let token = app.token("ci", &["invalidate"], &["shop-api"]).await;
    let res = app
        .post_keyed(
            "/api/v1/invalidations",
            &token,
            None,
            &json!({"target": "shop-api", "items": ["/a"]}),
        )
        .await;
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let job = app
        .get_json(
            &format!("/api/v1/invalidations/{id}?wait=60s"),
            Some(&token),
        )
        .await;
    assert_eq!(job["state"], "failed");
    assert!(
        job["error"].as_str().unwrap().contains("has no cache"),
        "{job}"
    );
    assert!(standin.requests().is_empty());
}

#[tokio::test]
async fn cancel_stops_between_entries() {
    let s = stack(2).await;
    let items: Vec<String> = (0..20).map(|i| format!("/slow/{i}")).collect();
    let res = s
        .invalidate(json!({"target": "shop-api", "items": items}))
        .await;
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    until(Duration::from_secs(30), "the first entry", || {
        !s.entries().is_empty()
    })
    .await;
    let res = s
        .app
        .post_keyed(
            &format!("/api/v1/invalidations/{id}/cancel"),
            &s.token,
            None,
            &json!({}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let job = s.wait(id).await;
    assert_eq!(job["state"], "cancelled", "{job}");
    let sent = s.entries().len();
    assert!(sent < 20, "{sent} of 20 entries were sent after the cancel");
    assert!(
        job["error"]
            .as_str()
            .unwrap_or_default()
            .contains("cancelled on request"),
        "{job}"
    );
}

#[tokio::test]
async fn one_event_invalidates_cloudfront_purges_redis_and_invalidates_api_gateway() {
    let redis = RedisServer::start();
    let moto = Moto::start();
    rest_api(&moto, true).await;
    let cf = cachewarden::aws::cloudfront(&moto.sdk_config(REGION).await);
    let distribution = create_distribution(&cf).await;
    let standin = ApiGatewayStandIn::start(&moto);
    let toml = format!(
        "{}[invalidation]\ncoalesce_window = \"10ms\"\n\
         [[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\n\
         [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"{distribution}\"\n\
         [[rules]]\nevent = \"product.updated\"\n\
         cloudfront = [{{ target = \"web\", paths = [\"/products/{{id}}\"] }}]\n\
         apigateway = [{{ target = \"shop-api\", items = [\"GET /products/{{id}}?lang={{lang}}\"] }}]\n\
         redis = [{{ target = \"sessions\", keys = [\"product:{{id}}\"] }}]\n",
        target(&standin, 10),
        redis.url()
    );
    let app = TestApp::with_aws_running(&toml, standin.sdk_config(REGION).await).await;
    let token = app.token("ci", &["invalidate"], &[]).await;
    let mut c = redis.connection().await;
    let _: () = c.set("product:4 2", "cached").await.unwrap();

    // A value with a space and a slash stays inside its segment, percent-encoded.
    let res = app
        .post_keyed(
            "/api/v1/events",
            &token,
            Some("change-1"),
            &json!({"type": "product.updated", "data": {"id": "4 2", "lang": "en/gb"}}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let done = app
        .get_json(&format!("/api/v1/events/{id}?wait=60s"), Some(&token))
        .await;
    assert_eq!(done["state"], "completed", "{done}");
    let kinds: Vec<&str> = done["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    // From the origin outwards.
    assert_eq!(
        kinds,
        [
            "redis_purge",
            "apigateway_invalidation",
            "cloudfront_invalidation"
        ]
    );

    assert!(
        !c.exists::<_, bool>("product:4 2").await.unwrap(),
        "the Redis key is gone"
    );
    let got = standin.requests();
    let entry = got
        .iter()
        .find(|r| r.get("flush").is_none())
        .expect("an entry request");
    assert_eq!(entry["path"], "/prod/products/4%202");
    assert_eq!(entry["query"], "lang=en%2Fgb");
    assert_eq!(entry["signature"], "valid");
    let list = cf
        .list_invalidations()
        .distribution_id(&distribution)
        .send()
        .await
        .unwrap();
    assert_eq!(list.invalidation_list().map(|l| l.quantity()), Some(1));
}

#[tokio::test]
async fn the_cli_invalidates_entries_and_flushes_with_confirm() {
    let s = stack(10).await;
    let run = s
        .app
        .cli(
            Some(&s.token),
            &[
                "invalidate",
                "--target",
                "shop-api",
                "--entry",
                "GET /products/1?lang=en",
                "--path",
                "/products/2",
                "--wait",
                "--timeout",
                "60s",
                "--json",
            ],
        )
        .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let job: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(job["state"], "completed");
    assert_eq!(job["result"]["done"], 2);
    assert_eq!(s.entries().len(), 2);

    let run = s
        .app
        .cli(
            Some(&s.token),
            &["invalidate", "--target", "shop-api", "--flush"],
        )
        .await;
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("repeat the target's name"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);

    let run = s
        .app
        .cli(
            Some(&s.token),
            &[
                "invalidate",
                "--target",
                "shop-api",
                "--flush",
                "--confirm",
                "shop-api",
                "--wait",
                "--timeout",
                "60s",
            ],
        )
        .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("the whole stage"), "{}", run.stderr);
    assert_eq!(
        s.standin
            .requests()
            .iter()
            .filter(|r| r.get("flush").is_some())
            .count(),
        1
    );
}

#[tokio::test]
async fn bad_requests_are_refused_naming_the_field_and_nothing_is_sent() {
    let s = stack_with(10, "[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n").await;
    let admin = s.app.token("admin", &["invalidate"], &[]).await;
    let cases: &[(&str, Value, &str, Option<&str>, &str)] = &[
        (
            "no entries",
            json!({"target": "shop-api", "items": []}),
            "invalid_request",
            Some("items"),
            "at least one entry",
        ),
        (
            "wildcard",
            json!({"target": "shop-api", "items": ["/products/*"]}),
            "invalid_items",
            Some("items[0]"),
            "no wildcard invalidation",
        ),
        (
            "query not in the cache key",
            json!({"target": "shop-api", "items": ["/p?page=2"]}),
            "invalid_items",
            Some("items[0]"),
            "\"page\" is not a query parameter the stage caches by",
        ),
        (
            "header not in the cache key",
            json!({"target": "shop-api", "items": ["/p user-agent:x"]}),
            "invalid_items",
            Some("items[0]"),
            "\"user-agent\" is not a header",
        ),
        (
            "method",
            json!({"target": "shop-api", "items": ["FETCH /p"]}),
            "invalid_items",
            Some("items[0]"),
            "\"FETCH\" is not an HTTP method",
        ),
        (
            "relative path",
            json!({"target": "shop-api", "items": ["GET p"]}),
            "invalid_items",
            Some("items[0]"),
            "must start with /",
        ),
        (
            "bad escape",
            json!({"target": "shop-api", "items": ["/p%zz"]}),
            "invalid_items",
            Some("items[0]"),
            "does not start an escape",
        ),
        (
            "flush and items",
            json!({"target": "shop-api", "items": ["/p"], "flush": true, "confirm": "shop-api"}),
            "invalid_request",
            Some("items"),
            "not both",
        ),
        (
            "unknown field",
            json!({"target": "shop-api", "items": ["/p"], "paths": ["/p"]}),
            "invalid_request",
            Some("paths"),
            "unknown field",
        ),
        (
            "flush on CloudFront",
            json!({"target": "web", "flush": true}),
            "invalid_request",
            Some("flush"),
            "unknown field",
        ),
        (
            "unknown target",
            json!({"target": "nope", "items": ["/p"]}),
            "invalid_request",
            Some("target"),
            "not a configured target",
        ),
    ];
    for (what, body, code, field, message) in cases {
        let res = s
            .app
            .post_keyed("/api/v1/invalidations", &admin, None, body)
            .await;
        expect_error(what, res, 400, code, *field, message).await;
    }
    assert!(s.standin.requests().is_empty(), "nothing was sent");
    // Kept: the moto container is used by the stack.
    let _ = &s.moto;
}

/// The dashboard's invalidate form takes API Gateway entries (a bad one marked beside it) and
/// a flush, which it refuses until the target's name is typed.
#[tokio::test]
async fn the_dashboard_form_invalidates_entries_and_flushes_a_confirmed_stage() {
    use crate::harness::browser::{Browser, click, fill, screenshot, wait_for};
    use cachewarden::domain::Role;
    use fantoccini::Locator;

    let s = stack(10).await;
    s.app.person("olga", Role::Operator, &[]).await;
    let browser = Browser::start().await;
    let b = &browser.client;
    crate::harness::people::sign_in_browser(b, &s.app, "olga").await;
    b.goto(&s.app.url("/invalidate")).await.unwrap();
    fill(
        b,
        "textarea[name=items]",
        "GET /products/1?lang=en\n/products/*",
    )
    .await;
    click(b, "#invalidate button").await;
    let bad = wait_for(b, "#items li.bad").await;
    let text = bad.text().await.unwrap();
    assert!(text.contains("no wildcard invalidation"), "{text}");
    screenshot(b, "invalidate-apigateway-error").await;

    // A flush without the name typed is refused on the form; nothing reaches API Gateway.
    click(b, "#flush").await;
    click(b, "#invalidate button").await;
    // The page before also had an error: read the new one once the page has been replaced.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let error = match b.find(Locator::Css("#form-error")).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if error.contains("repeat the target's name") {
            break;
        }
        assert!(Instant::now() < deadline, "the form says {error:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(s.standin.requests().is_empty());
    assert!(
        b.find(Locator::Css("#flush:checked")).await.is_ok(),
        "the box stays ticked"
    );
    fill(b, "#confirm", "shop-api").await;
    click(b, "#invalidate button").await;
    wait_for(b, "#job-state").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = match b.find(Locator::Css("#job-state")).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if state == "completed" {
            break;
        }
        assert!(Instant::now() < deadline, "the page still says {state}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    screenshot(b, "job-apigateway-flush").await;
    let flushes = s.standin.requests();
    assert_eq!(flushes.len(), 1);
    assert_eq!(flushes[0]["flush"]["stage"], "prod");
    browser.close().await;
}
