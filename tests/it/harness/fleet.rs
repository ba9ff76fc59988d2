//! AWS resources made in moto for the tests of accounts and discovery: an account reached
//! through a role (moto keeps each account in the role's ARN apart), ElastiCache replication
//! groups and clusters, DAX clusters, REST APIs with a cached stage, tagged distributions.

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_apigateway::types::{CacheClusterSize, IntegrationType};

/// The configuration as the owner of `role`'s account reaches it: the role assumed by the SDK.
pub async fn assumed(sdk: &aws_config::SdkConfig, role: &str) -> aws_config::SdkConfig {
    let provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("owner")
        .configure(sdk)
        .build()
        .await;
    sdk.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

/// `sdk` in another region.
pub fn in_region(sdk: &aws_config::SdkConfig, region: &str) -> aws_config::SdkConfig {
    sdk.to_builder()
        .region(aws_config::Region::new(region.to_owned()))
        .build()
}

/// A Redis replication group of `nodes` nodes tagged `tags`; its member node ids.
pub async fn replication_group(
    sdk: &aws_config::SdkConfig,
    id: &str,
    nodes: i32,
    tags: &[(&str, &str)],
) -> Vec<String> {
    let ec = aws_sdk_elasticache::Client::new(sdk);
    let mut req = ec
        .create_replication_group()
        .replication_group_id(id)
        .replication_group_description("cachewarden test")
        .engine("redis")
        .cache_node_type("cache.t3.micro")
        .num_cache_clusters(nodes);
    for (k, v) in tags {
        req = req.tags(
            aws_sdk_elasticache::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build(),
        );
    }
    let out = req.send().await.expect("CreateReplicationGroup");
    out.replication_group()
        .expect("a replication group")
        .member_clusters()
        .to_vec()
}

/// Deletes a replication group (moto then lists it as "deleting", as AWS does for a while).
pub async fn delete_replication_group(sdk: &aws_config::SdkConfig, id: &str) {
    aws_sdk_elasticache::Client::new(sdk)
        .delete_replication_group()
        .replication_group_id(id)
        .send()
        .await
        .expect("DeleteReplicationGroup");
}

/// A Memcached cluster outside any group, tagged `tags`.
pub async fn memcached_cluster(sdk: &aws_config::SdkConfig, id: &str, tags: &[(&str, &str)]) {
    let mut req = aws_sdk_elasticache::Client::new(sdk)
        .create_cache_cluster()
        .cache_cluster_id(id)
        .engine("memcached")
        .cache_node_type("cache.t3.micro")
        .num_cache_nodes(2);
    for (k, v) in tags {
        req = req.tags(
            aws_sdk_elasticache::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build(),
        );
    }
    req.send().await.expect("CreateCacheCluster");
}

/// A DAX cluster tagged `tags`.
pub async fn dax_cluster(sdk: &aws_config::SdkConfig, name: &str, tags: &[(&str, &str)]) {
    let mut req = aws_sdk_dax::Client::new(sdk)
        .create_cluster()
        .cluster_name(name)
        .node_type("dax.t3.small")
        .replication_factor(1)
        .iam_role_arn("arn:aws:iam::123456789012:role/dax");
    for (k, v) in tags {
        req = req.tags(aws_sdk_dax::types::Tag::builder().key(*k).value(*v).build());
    }
    req.send().await.expect("CreateCluster (DAX)");
}

/// Tags distribution `id`.
pub async fn tag_distribution(cf: &aws_sdk_cloudfront::Client, id: &str, tags: &[(&str, &str)]) {
    use aws_sdk_cloudfront::types::{Tag, Tags};
    let arn = cf
        .get_distribution()
        .id(id)
        .send()
        .await
        .expect("GetDistribution")
        .distribution()
        .expect("a distribution")
        .arn()
        .to_owned();
    let items: Vec<Tag> = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build().expect("a tag"))
        .collect();
    cf.tag_resource()
        .resource(arn)
        .tags(Tags::builder().set_items(Some(items)).build())
        .send()
        .await
        .expect("TagResource (CloudFront)");
}

/// A REST API `name` (tagged `tags`) with a stage `prod` whose cache is on or off; its id.
pub async fn rest_api(
    sdk: &aws_config::SdkConfig,
    name: &str,
    cache: bool,
    tags: &[(&str, &str)],
) -> String {
    let gw = aws_sdk_apigateway::Client::new(sdk);
    let mut req = gw.create_rest_api().name(name);
    for (k, v) in tags {
        req = req.tags(*k, *v);
    }
    let api = req.send().await.expect("CreateRestApi");
    let id = api.id().expect("an id").to_owned();
    // A deployment needs a method: GET / answered by a mock integration.
    let resources = gw
        .get_resources()
        .rest_api_id(&id)
        .send()
        .await
        .expect("GetResources");
    let root = resources.items()[0]
        .id()
        .expect("the root resource")
        .to_owned();
    gw.put_method()
        .rest_api_id(&id)
        .resource_id(&root)
        .http_method("GET")
        .authorization_type("NONE")
        .send()
        .await
        .expect("PutMethod");
    gw.put_integration()
        .rest_api_id(&id)
        .resource_id(&root)
        .http_method("GET")
        .r#type(IntegrationType::Mock)
        .send()
        .await
        .expect("PutIntegration");
    let deployment = gw
        .create_deployment()
        .rest_api_id(&id)
        .send()
        .await
        .expect("CreateDeployment");
    gw.create_stage()
        .rest_api_id(&id)
        .stage_name("prod")
        .deployment_id(deployment.id().expect("a deployment id"))
        .cache_cluster_enabled(cache)
        .cache_cluster_size(CacheClusterSize::Size0Point5Gb)
        .send()
        .await
        .expect("CreateStage");
    id
}
