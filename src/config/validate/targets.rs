//! `[[targets]]`

use std::time::Duration;

use secrecy::SecretString;

use super::{Checker, KeyPath};
use crate::config::raw;
use crate::config::settings::{CacheEngine, Schedule, TargetSettings, TargetSource};
use crate::domain::{TargetKind, TargetName};

pub(super) fn all(v: &mut Checker, raw: Vec<(KeyPath, raw::Target)>) -> Vec<TargetSettings> {
    v.unique_names(raw, "target", |t: &TargetSettings| t.name.as_str(), one)
}

fn one(v: &mut Checker, path: &KeyPath, t: raw::Target) -> Option<TargetSettings> {
    v.unknown(path, &t.unknown);
    let name = v
        .required(path, "name", &t.name)
        .and_then(|n| match TargetName::parse(n) {
            Ok(n) => Some(n),
            Err(e) => {
                v.error(path.key("name"), format!("{n:?} {e}"));
                None
            }
        });
    let kind = v
        .required(path, "kind", &t.kind)
        .and_then(|k| match k.parse::<TargetKind>() {
            Ok(k) => Some(k),
            Err(e) => {
                v.error(path.key("kind"), e.to_string());
                None
            }
        })?;
    let (default_every, default_timeout) = if kind.is_cloudwatch() {
        (Duration::from_secs(60), Duration::from_secs(20))
    } else {
        (Duration::from_secs(15), Duration::from_secs(5))
    };
    let schedule = schedule(v, path, &t, default_every);
    let timeout = v.optional_duration(path, "timeout", &t.timeout, default_timeout);
    let purge_prefixes = t.purge_prefixes.clone().unwrap_or_default();
    if purge_prefixes.iter().any(String::is_empty) {
        v.error(
            path.key("purge_prefixes"),
            "an empty prefix would allow every key; list real prefixes",
        );
    }
    let max_purge_keys = t.max_purge_keys.unwrap_or(100_000);
    if max_purge_keys == 0 {
        v.error(path.key("max_purge_keys"), "must be at least 1");
    }
    let source = source(v, path, kind, t)?;
    Some(TargetSettings {
        name: name?,
        schedule: schedule?,
        timeout: timeout?,
        purge_prefixes,
        max_purge_keys,
        source,
    })
}

fn schedule(
    v: &mut Checker,
    path: &KeyPath,
    t: &raw::Target,
    default: Duration,
) -> Option<Schedule> {
    match (&t.every, &t.cron) {
        (Some(_), Some(_)) => {
            v.error(path.key("cron"), "set either every or cron, not both");
            None
        }
        (Some(every), None) => {
            let d = v.duration(path.key("every"), every)?;
            if d < Duration::from_secs(1) {
                v.error(path.key("every"), "must be at least 1s");
                return None;
            }
            Some(Schedule::Every(d))
        }
        (None, Some(cron)) => {
            v.cron(path.key("cron"), cron)?;
            Some(Schedule::Cron(cron.clone()))
        }
        (None, None) => Some(Schedule::Every(default)),
    }
}

fn source(
    v: &mut Checker,
    path: &KeyPath,
    kind: TargetKind,
    t: raw::Target,
) -> Option<TargetSource> {
    let k = kind.as_str();
    if let Some(region) = &t.region {
        v.region(path.key("region"), region);
    }
    match kind {
        TargetKind::Redis => {
            kind_fields(
                v,
                path,
                k,
                &t,
                &[
                    "url",
                    "cluster",
                    "tls_ca_file",
                    "purge_prefixes",
                    "max_purge_keys",
                    "tag_key",
                ],
            );
            let url = v.required(path, "url", &t.url)?;
            let parsed = v.url(path.key("url"), url, &["redis", "rediss"])?;
            // The path selects the database: empty, or a number (`redis://host/2`).
            let db = parsed.path().trim_start_matches('/');
            if !db.is_empty() && db.parse::<u16>().is_err() {
                v.error(
                    path.key("url"),
                    format!("the database {db:?} in the URL's path is not a number like /0"),
                );
                return None;
            }
            let tls_ca_file = match &t.tls_ca_file {
                None => None,
                Some(_) if parsed.scheme() != "rediss" => {
                    v.error(
                        path.key("tls_ca_file"),
                        "applies only to a rediss:// (TLS) URL",
                    );
                    return None;
                }
                Some(file) => Some(v.file(path.key("tls_ca_file"), file)?),
            };
            let tag_key = t.tag_key.clone().unwrap_or_else(|| "tag:{tag}".into());
            if tag_key.matches("{tag}").count() != 1 {
                v.error(
                    path.key("tag_key"),
                    "must contain {tag} once, e.g. \"tag:{tag}\"",
                );
                return None;
            }
            Some(TargetSource::Redis {
                url: SecretString::from(url.clone()),
                cluster: t.cluster.unwrap_or(false),
                tls_ca_file,
                tag_key,
            })
        }
        TargetKind::Memcached => {
            kind_fields(
                v,
                path,
                k,
                &t,
                &["address", "addresses", "purge_prefixes", "max_purge_keys"],
            );
            let address = v.required(path, "address", &t.address)?;
            let host_port = |a: &str| {
                a.rsplit_once(':').is_some_and(|(host, port)| {
                    !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
                })
            };
            if !host_port(address) {
                v.error(
                    path.key("address"),
                    format!("{address:?} is not host:port, like \"127.0.0.1:11211\""),
                );
                return None;
            }
            let pool = t.addresses.clone().unwrap_or_else(|| vec![address.clone()]);
            if let Some(bad) = pool.iter().find(|a| !host_port(a)) {
                v.error(
                    path.key("addresses"),
                    format!("{bad:?} is not host:port, like \"127.0.0.1:11211\""),
                );
                return None;
            }
            if pool.is_empty() {
                v.error(
                    path.key("addresses"),
                    "list the servers of the pool (host:port)",
                );
                return None;
            }
            Some(TargetSource::Memcached {
                address: address.clone(),
                pool,
            })
        }
        TargetKind::Elasticache => {
            kind_fields(v, path, k, &t, &["cache_cluster_id", "engine", "region"]);
            let id = v.required(path, "cache_cluster_id", &t.cache_cluster_id)?;
            let engine = match t.engine.as_deref() {
                None | Some("redis") | Some("valkey") => CacheEngine::Redis,
                Some("memcached") => CacheEngine::Memcached,
                Some(other) => {
                    v.error(
                        path.key("engine"),
                        format!("unknown engine {other:?}: expected redis, valkey or memcached"),
                    );
                    return None;
                }
            };
            Some(TargetSource::Elasticache {
                cache_cluster_id: id.clone(),
                engine,
                region: t.region.clone(),
            })
        }
        TargetKind::Cloudfront => {
            kind_fields(v, path, k, &t, &["distribution_id", "cache_tags"]);
            let id = v.required(path, "distribution_id", &t.distribution_id)?;
            let id_ok = (10..=20).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if !id_ok {
                v.error(
                    path.key("distribution_id"),
                    format!("{id:?} is not a CloudFront distribution id like \"E2QWRUHEXAMPLE\""),
                );
                return None;
            }
            Some(TargetSource::Cloudfront {
                distribution_id: id.clone(),
                cache_tags: t.cache_tags.unwrap_or(false),
            })
        }
        TargetKind::Apigateway => {
            kind_fields(v, path, k, &t, &["api_name", "stage", "region"]);
            let api_name = v.required(path, "api_name", &t.api_name);
            let stage = v.required(path, "stage", &t.stage);
            Some(TargetSource::Apigateway {
                api_name: api_name?.clone(),
                stage: stage?.clone(),
                region: t.region.clone(),
            })
        }
        TargetKind::Dax => {
            kind_fields(v, path, k, &t, &["cluster_id", "region"]);
            let id = v.required(path, "cluster_id", &t.cluster_id)?;
            Some(TargetSource::Dax {
                cluster_id: id.clone(),
                region: t.region.clone(),
            })
        }
    }
}

/// Every kind-specific field outside `allowed` is a mistake for this kind.
fn kind_fields(v: &mut Checker, path: &KeyPath, kind: &str, t: &raw::Target, allowed: &[&str]) {
    if kind == "cloudfront" && t.region.is_some() {
        v.error(
            path.key("region"),
            "CloudFront metrics are always read in us-east-1; remove region",
        );
    }
    let fields = [
        ("region", t.region.is_some() && kind != "cloudfront"),
        ("tls_ca_file", t.tls_ca_file.is_some()),
        ("purge_prefixes", t.purge_prefixes.is_some()),
        ("max_purge_keys", t.max_purge_keys.is_some()),
        ("tag_key", t.tag_key.is_some()),
        ("url", t.url.is_some()),
        ("cluster", t.cluster.is_some()),
        ("address", t.address.is_some()),
        ("addresses", t.addresses.is_some()),
        ("cache_cluster_id", t.cache_cluster_id.is_some()),
        ("engine", t.engine.is_some()),
        ("distribution_id", t.distribution_id.is_some()),
        ("cache_tags", t.cache_tags.is_some()),
        ("api_name", t.api_name.is_some()),
        ("stage", t.stage.is_some()),
        ("cluster_id", t.cluster_id.is_some()),
    ];
    let misplaced: Vec<_> = fields
        .into_iter()
        .filter(|(f, _)| !allowed.contains(f))
        .collect();
    v.not_for_kind(path, kind, &misplaced);
}
