//! Event rules (issue 11): one domain event purges Redis keys and tags, invalidates CloudFront
//! paths and tags (in moto) and broadcasts to a real SUBSCRIBE client; replays create
//! nothing; values never widen a purge; bad events are refused naming the field; the CLI.

use futures_util::StreamExt;
use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::moto::{Moto, create_distribution};
use crate::harness::redis::RedisServer;

fn config(redis: &str, distribution: &str) -> String {
    format!(
        "[aws]\nregion = \"eu-west-1\"\n\
         [invalidation]\ncoalesce_window = \"10ms\"\n\
         [[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{redis}\"\npurge_prefixes = [\"product:\", \"price:\", \"page:\"]\n\
         [[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"{distribution}\"\ncache_tags = true\n\
         [[rules]]\nevent = \"product.updated\"\n\
         redis = [{{ target = \"sessions\", keys = [\"product:{{id}}\", \"price:{{id}}\"], tags = [\"product-{{id}}\"] }}]\n\
         cloudfront = [{{ target = \"web\", paths = [\"/products/{{id}}\", \"/products/{{id}}/*\"], tags = [\"product-{{id}}\"] }}]\n\
         broadcast = {{ target = \"sessions\", channel = \"cache-invalidate\" }}\n\
         [[rules]]\nevent = \"catalog.reindexed\"\n\
         redis = [{{ target = \"sessions\", patterns = [\"product:{{category}}:*\"] }}]\n"
    )
}

struct Stack {
    _moto: Moto,
    redis: RedisServer,
    cf: aws_sdk_cloudfront::Client,
    distribution: String,
    app: TestApp,
}

async fn stack() -> Stack {
    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let cf = cachewarden::aws::cloudfront(&sdk);
    let distribution = create_distribution(&cf).await;
    let redis = RedisServer::start();
    let app = TestApp::with_aws_running(&config(&redis.url(), &distribution), sdk).await;
    Stack {
        _moto: moto,
        redis,
        cf,
        distribution,
        app,
    }
}

async fn post_event(
    app: &TestApp,
    token: &str,
    key: Option<&str>,
    body: Value,
) -> reqwest::Response {
    app.post_keyed("/api/v1/events", token, key, &body).await
}

async fn exists(c: &mut redis::aio::MultiplexedConnection, key: &str) -> bool {
    c.exists(key).await.unwrap()
}

#[tokio::test]
async fn one_event_purges_invalidates_and_broadcasts_and_a_replay_makes_nothing_new() {
    let s = stack().await;
    let app = &s.app;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let mut c = s.redis.connection().await;
    for k in [
        "product:42",
        "price:42",
        "page:home",
        "page:42",
        "product:43",
    ] {
        let _: () = c.set(k, "cached").await.unwrap();
    }
    let _: () = c
        .sadd("tag:product-42", &["page:home", "page:42"])
        .await
        .unwrap();

    // An application instance listening for drops.
    let client = redis::Client::open(s.redis.url()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe("cache-invalidate").await.unwrap();
    let received = tokio::spawn(async move {
        let msg = pubsub.on_message().next().await.expect("a message");
        msg.get_payload::<String>().unwrap()
    });

    let res = post_event(
        app,
        &ci,
        Some("change-7"),
        json!({"type": "product.updated", "data": {"id": 42, "category": "shoes"}}),
    )
    .await;
    assert_eq!(res.status(), 202);
    let event: Value = res.json().await.unwrap();
    let id = event["id"].as_i64().unwrap();
    assert_eq!(event["kind"], "event");
    assert_eq!(event["targets"], json!(["sessions", "web"]));

    let done = app
        .get_json(&format!("/api/v1/events/{id}?wait=60s"), Some(&ci))
        .await;
    assert_eq!(done["state"], "completed", "{done}");
    let children = done["children"].as_array().unwrap();
    let kinds: Vec<&str> = children
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["redis_purge", "cloudfront_invalidation", "redis_publish"]
    );
    assert!(
        children
            .iter()
            .all(|c| c["parent_id"] == id && c["state"] == "completed")
    );

    // Redis: the keys and the tag's members are gone, the neighbour stays.
    for k in ["product:42", "price:42", "page:home", "page:42"] {
        assert!(!exists(&mut c, k).await, "{k} purged");
    }
    assert!(exists(&mut c, "product:43").await);

    // CloudFront (moto): one invalidation with the rendered paths and the tag.
    let listed =
        s.cf.list_invalidations()
            .distribution_id(&s.distribution)
            .send()
            .await
            .unwrap();
    let summaries = listed.invalidation_list().unwrap().items();
    assert_eq!(summaries.len(), 1);
    let inv =
        s.cf.get_invalidation()
            .distribution_id(&s.distribution)
            .id(summaries[0].id())
            .send()
            .await
            .unwrap();
    let mut paths: Vec<String> = inv
        .invalidation()
        .unwrap()
        .invalidation_batch()
        .unwrap()
        .paths()
        .unwrap()
        .items()
        .to_vec();
    paths.sort();
    assert_eq!(paths, ["#product-42", "/products/42", "/products/42/*"]);

    // The broadcast: the documented message, and one receiver counted on the event.
    let message: Value = serde_json::from_str(
        &tokio::time::timeout(std::time::Duration::from_secs(10), received)
            .await
            .expect("the subscriber heard it")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(message["event"], "product.updated");
    assert_eq!(message["event_id"], id);
    assert_eq!(message["keys"], json!(["product:42", "price:42"]));
    assert_eq!(message["tags"], json!(["product-42"]));
    assert_eq!(message["at"], done["created_at"]);
    assert_eq!(children[2]["result"]["receivers"], 1);

    // A replay with the same key is the same event; nothing new is made or sent.
    let again = post_event(
        app,
        &ci,
        Some("change-7"),
        json!({"type": "product.updated", "data": {"id": 42, "category": "shoes"}}),
    )
    .await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], id);
    let all = app.get_json("/api/v1/jobs?limit=100", Some(&ci)).await;
    assert_eq!(all["jobs"].as_array().unwrap().len(), 4, "{all}");

    // Listed with its children and outcome.
    let events = app.get_json("/api/v1/events", Some(&ci)).await;
    assert_eq!(events["events"][0]["id"], id);
    assert_eq!(events["events"][0]["children"].as_array().unwrap().len(), 3);

    // The CLI, as a pipeline runs it.
    let _: () = c.set("product:7", "cached").await.unwrap();
    let run = app
        .cli(
            Some(&ci),
            &["event", "product.updated", "id=7", "--wait", "--json"],
        )
        .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let printed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(printed["state"], "completed");
    assert_eq!(printed["data"], json!({"id": 7}));
    assert!(!exists(&mut c, "product:7").await);
    assert!(run.stderr.contains("Queued event"), "{}", run.stderr);
}

#[tokio::test]
async fn values_never_widen_a_purge_and_bad_events_name_the_field() {
    let s = stack().await;
    let app = &s.app;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let mut c = s.redis.connection().await;
    for k in ["product:*:a", "product:1:a", "product:shoes:a"] {
        let _: () = c.set(k, "cached").await.unwrap();
    }

    // `category = "*"` deletes the key with a literal `*`, not every category.
    let res = post_event(
        app,
        &ci,
        None,
        json!({"type": "catalog.reindexed", "data": {"category": "*"}}),
    )
    .await;
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let done = app
        .get_json(&format!("/api/v1/events/{id}?wait=60s"), Some(&ci))
        .await;
    assert_eq!(done["state"], "completed", "{done}");
    assert!(!exists(&mut c, "product:*:a").await);
    assert!(exists(&mut c, "product:1:a").await);
    assert!(exists(&mut c, "product:shoes:a").await);

    // Bad events: each refused with the field and the rule, nothing stored.
    let viewer = app.token("viewer", &["read"], &[]).await;
    let web_only = app.token("web-only", &["invalidate"], &["web"]).await;
    struct Case {
        what: &'static str,
        token: String,
        body: Value,
        status: u16,
        field: Option<&'static str>,
        says: &'static str,
    }
    let cases = [
        Case {
            what: "a field a template needs is missing",
            token: ci.clone(),
            body: json!({"type": "product.updated", "data": {"category": "shoes"}}),
            status: 400,
            field: Some("data.id"),
            says: "is missing",
        },
        Case {
            what: "no rule for the type",
            token: ci.clone(),
            body: json!({"type": "order.placed", "data": {"id": 1}}),
            status: 400,
            field: Some("type"),
            says: "no rule handles",
        },
        Case {
            what: "a type that is not a name",
            token: ci.clone(),
            body: json!({"type": "Product Updated", "data": {"id": 1}}),
            status: 400,
            field: Some("type"),
            says: "may contain only",
        },
        Case {
            what: "a field that is an object",
            token: ci.clone(),
            body: json!({"type": "product.updated", "data": {"id": {"n": 1}}}),
            status: 400,
            field: Some("data.id"),
            says: "a string, a number or a boolean",
        },
        Case {
            what: "a tag CloudFront cannot hold",
            token: ci.clone(),
            body: json!({"type": "product.updated", "data": {"id": "a,b"}}),
            status: 400,
            field: Some("data.id"),
            says: "cache tag",
        },
        Case {
            what: "an unknown top-level field",
            token: ci.clone(),
            body: json!({"type": "product.updated", "data": {"id": 1}, "force": true}),
            status: 400,
            field: None,
            says: "force",
        },
        Case {
            what: "a read-only token",
            token: viewer,
            body: json!({"type": "product.updated", "data": {"id": 1}}),
            status: 403,
            field: None,
            says: "invalidate",
        },
        Case {
            what: "a token limited to some of the targets the rules touch",
            token: web_only,
            body: json!({"type": "product.updated", "data": {"id": 1}}),
            status: 403,
            field: None,
            says: "sessions",
        },
    ];
    let jobs_before = app.get_json("/api/v1/jobs?limit=100", Some(&ci)).await["jobs"]
        .as_array()
        .unwrap()
        .len();
    for case in cases {
        let res = post_event(app, &case.token, None, case.body.clone()).await;
        assert_eq!(res.status().as_u16(), case.status, "{}", case.what);
        let body: Value = res.json().await.unwrap();
        if let Some(f) = case.field {
            assert_eq!(body["error"]["field"], f, "{}: {body}", case.what);
        }
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(case.says),
            "{}: {body}",
            case.what
        );
    }
    let jobs_after = app.get_json("/api/v1/jobs?limit=100", Some(&ci)).await["jobs"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(jobs_before, jobs_after, "no bad event stored anything");
}

#[tokio::test]
async fn an_event_opens_the_expected_dip_window_on_the_targets_it_touched() {
    let redis = RedisServer::start();
    let app = TestApp::sqlite(&format!(
        "[[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{}\"\npurge_prefixes = [\"product:\"]\n\
         [[alarms]]\nname = \"sessions-hit-rate\"\ntarget = \"sessions\"\nmetric = \"hit_rate\"\nbelow = 0.8\ndatapoints = \"1 of 1\"\n\
         [[rules]]\nevent = \"product.updated\"\nredis = [{{ target = \"sessions\", keys = [\"product:{{id}}\"] }}]\n",
        redis.url()
    ))
    .await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let mut c = redis.connection().await;
    app.collector().poll_target_once("sessions").await.unwrap();
    let res = post_event(
        &app,
        &ci,
        None,
        json!({"type": "product.updated", "data": {"id": 1}}),
    )
    .await;
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    for later in [0, 1_000] {
        app.jobs
            .run_once(cachewarden::store::now_ms() + later)
            .await
            .unwrap();
    }
    let event = app
        .get_json(&format!("/api/v1/events/{id}"), Some(&ci))
        .await;
    assert_eq!(event["state"], "completed", "{event}");
    let purge = event["children"][0]["id"].as_i64().unwrap();

    // The cache is cold after the purge: the alarm fires, annotated as expected.
    app.redis_interval(&mut c, "sessions", 1, 9).await;
    let alarms = app.get_json("/api/v1/alarms", Some(&ci)).await;
    let alarm = &alarms["alarms"][0];
    assert_eq!(alarm["state"], "alarm", "{alarm}");
    let history = app
        .get_json(
            &format!("/api/v1/alarms/{}/history", alarm["id"]),
            Some(&ci),
        )
        .await;
    assert_eq!(
        history["transitions"][0]["evaluation"]["expected"],
        format!("expected after purge #{purge}")
    );
}

#[tokio::test]
async fn a_queued_event_cancels_and_a_running_one_names_its_children() {
    // moto: the invalidation waits out the coalescing window, which keeps the event running.
    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let cf = cachewarden::aws::cloudfront(&sdk);
    let distribution = create_distribution(&cf).await;
    let app = TestApp::with_aws(
        &format!(
            "[[targets]]\nname = \"web\"\nkind = \"cloudfront\"\ndistribution_id = \"{distribution}\"\n\
             [[rules]]\nevent = \"page.published\"\ncloudfront = [{{ target = \"web\", paths = [\"/pages/{{slug}}\"] }}]\n"
        ),
        sdk,
    )
    .await;
    let ci = app.token("ci", &["invalidate"], &[]).await;
    let submit = |slug: &'static str| {
        let app = &app;
        let ci = ci.clone();
        async move {
            post_event(
                app,
                &ci,
                None,
                json!({"type": "page.published", "data": {"slug": slug}}),
            )
            .await
            .json::<Value>()
            .await
            .unwrap()["id"]
                .as_i64()
                .unwrap()
        }
    };
    let cancel = |id: i64| {
        let (app, ci) = (&app, ci.clone());
        async move {
            app.post(&format!("/api/v1/jobs/{id}/cancel"), Some(&ci), &json!({}))
                .await
        }
    };

    // Queued: cancelled at once, and it never makes children.
    let queued = submit("a").await;
    assert_eq!(cancel(queued).await.status(), 200);

    // Running (its invalidation waits out the coalescing window): refused, saying how.
    let running = submit("b").await;
    app.jobs
        .run_once(cachewarden::store::now_ms())
        .await
        .unwrap();
    let res = cancel(running).await;
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cancel them one by one"),
        "{body}"
    );
    for later in [2_100, 30_000, 60_000] {
        app.jobs
            .run_once(cachewarden::store::now_ms() + later)
            .await
            .unwrap();
    }
    let sent = cf
        .list_invalidations()
        .distribution_id(&distribution)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.invalidation_list().unwrap().items().len(),
        1,
        "only the running event's invalidation was sent"
    );
    let done = app
        .get_json(&format!("/api/v1/events/{running}"), Some(&ci))
        .await;
    assert_eq!(done["state"], "completed", "{done}");
    let gone = app
        .get_json(&format!("/api/v1/events/{queued}"), Some(&ci))
        .await;
    assert_eq!(gone["state"], "cancelled");
    assert_eq!(gone["children"], json!([]));
}
