//! DynamoDB Streams as an event source (issue 11, item 3), against moto's DynamoDB and
//! DynamoDB Streams: inserts, updates and deletes purge the matching Redis keys; a restart
//! between writes skips no record and repeats none.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, StreamSpecification, StreamViewType,
};
use cachewarden::store::now_ms;
use redis::AsyncCommands;
use serde_json::Value;

use crate::harness::TestApp;
use crate::harness::moto::Moto;
use crate::harness::redis::RedisServer;

fn config(redis: &str) -> String {
    format!(
        "[aws]\nregion = \"eu-west-1\"\n\
         [[targets]]\nname = \"sessions\"\nkind = \"redis\"\nurl = \"{redis}\"\npurge_prefixes = [\"product:\", \"category:\"]\n\
         [[rules]]\nevent = \"product.changed\"\n\
         redis = [{{ target = \"sessions\", keys = [\"product:{{id}}\", \"category:{{category}}\"] }}]\n\
         [[streams]]\nname = \"products\"\ntable = \"products\"\nevent = \"product.changed\"\nfields = [\"category\"]\nstart = \"trim_horizon\"\n"
    )
}

async fn table(ddb: &aws_sdk_dynamodb::Client) {
    ddb.create_table()
        .table_name("products")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::N)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("CreateTable in moto");
}

async fn put(ddb: &aws_sdk_dynamodb::Client, id: u32, category: &str) {
    ddb.put_item()
        .table_name("products")
        .item("id", AttributeValue::N(id.to_string()))
        .item("category", AttributeValue::S(category.into()))
        .send()
        .await
        .unwrap();
}

/// Reads the stream once and runs the jobs it made to their end.
async fn read_and_run(app: &TestApp) -> cachewarden::streams::PassReport {
    let report = app.live.streams()[0].read_once(now_ms()).await;
    for later in [0, 1_000, 2_000] {
        app.jobs.run_once(now_ms() + later).await.unwrap();
    }
    report
}

async fn cache(c: &mut redis::aio::MultiplexedConnection, keys: &[&str]) {
    for k in keys {
        let _: () = c.set(*k, "cached").await.unwrap();
    }
}

async fn present(c: &mut redis::aio::MultiplexedConnection, keys: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for k in keys {
        if c.exists::<_, bool>(*k).await.unwrap() {
            out.push(k.to_string());
        }
    }
    out
}

#[tokio::test]
async fn item_changes_purge_their_keys_and_a_restart_skips_and_repeats_nothing() {
    let moto = Moto::start();
    let sdk = moto.sdk_config("eu-west-1").await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    table(&ddb).await;
    let redis = RedisServer::start();
    let mut c = redis.connection().await;
    let toml = config(&redis.url());
    let app = TestApp::with_aws(&toml, sdk.clone()).await;
    let reader = app.token("viewer", &["read"], &[]).await;

    // Insert, then update: each change purges the item's key and its category's.
    let all = [
        "product:1",
        "product:2",
        "category:shoes",
        "category:boots",
        "category:hats",
    ];
    cache(&mut c, &all).await;
    put(&ddb, 1, "shoes").await;
    put(&ddb, 2, "boots").await;
    let first = read_and_run(&app).await;
    assert_eq!(first.records, 2);
    assert_eq!(present(&mut c, &all).await, ["category:hats"]);

    cache(&mut c, &all).await;
    put(&ddb, 2, "hats").await; // an update: the new image's category
    ddb.delete_item()
        .table_name("products")
        .key("id", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap(); // a delete: the old image's category
    assert_eq!(read_and_run(&app).await.records, 2);
    assert_eq!(present(&mut c, &all).await, ["category:boots"]);

    // Shown with its lag, records and checkpoint.
    let streams = app.get_json("/api/v1/streams", Some(&reader)).await;
    let s = &streams["streams"][0];
    assert_eq!(s["name"], "products");
    assert_eq!(s["records"], 4);
    assert_eq!(s["last_error"], Value::Null);
    assert!(
        s["stream_arn"]
            .as_str()
            .unwrap()
            .contains(":table/products/stream/")
    );
    assert!(s["shards"][0]["sequence"].as_str().is_some(), "{s}");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("cachewarden_stream_records_total{stream=\"products\"} 4"));
    assert!(metrics.contains("cachewarden_stream_lag_seconds{stream=\"products\"}"));

    // Stopped; items change while it is down; started again on the same database.
    let dir = app.stop_keeping_data().await;
    cache(&mut c, &all).await;
    put(&ddb, 3, "shoes").await;
    let app = TestApp::restart_with_aws(&toml, dir, sdk).await;
    let after = read_and_run(&app).await;
    assert_eq!(after.records, 1, "only the record written while down");
    assert_eq!(
        present(&mut c, &all).await,
        ["product:1", "product:2", "category:boots", "category:hats"]
    );
    // Nothing read again after its checkpoint: one event per change, five in all.
    assert_eq!(read_and_run(&app).await.records, 0);
    let ci = app.token("ci", &["read"], &[]).await;
    let events = app.get_json("/api/v1/events?limit=100", Some(&ci)).await;
    let list = events["events"].as_array().unwrap();
    assert_eq!(list.len(), 5, "{events}");
    assert!(
        list.iter()
            .all(|e| e["state"] == "completed" && e["requester"] == "stream.products")
    );
}
