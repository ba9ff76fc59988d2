//! `[dashboard]`: the optional SSO proxy people sign in through.

use std::collections::BTreeMap;

use super::{Checker, raw};
use crate::checker::KeyPath;
use crate::config::settings::{AuthProxy, DashboardSettings};
use crate::domain::Role;

/// A header name as HTTP allows it (letters, digits, `-`), lowercased.
fn header(v: &mut Checker, path: KeyPath, name: &str) -> Option<String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        v.error(
            path,
            format!("{name:?} is not a header name like \"X-Forwarded-Email\""),
        );
        return None;
    }
    Some(name.to_ascii_lowercase())
}

pub(super) fn dashboard(
    v: &mut Checker,
    path: &KeyPath,
    raw: raw::Dashboard,
) -> Option<DashboardSettings> {
    let Some(name) = &raw.auth_proxy_header else {
        for (field, set) in [
            (
                "auth_proxy_groups_header",
                raw.auth_proxy_groups_header.is_some(),
            ),
            ("trusted_proxies", raw.trusted_proxies.is_some()),
            ("proxy_roles", raw.proxy_roles.is_some()),
        ] {
            if set {
                v.error(path.key(field), "applies only with auth_proxy_header");
            }
        }
        return Some(DashboardSettings::default());
    };
    let header = header(v, path.key("auth_proxy_header"), name);
    let groups_header = match &raw.auth_proxy_groups_header {
        None => Some(None),
        Some(g) => self::header(v, path.key("auth_proxy_groups_header"), g).map(Some),
    };
    let list = raw.trusted_proxies.unwrap_or_default();
    if list.is_empty() {
        v.error(
            path.key("trusted_proxies"),
            "name the proxies' addresses (CIDR, e.g. \"10.0.0.0/8\"): only they may set the header",
        );
    }
    let mut trusted = Vec::new();
    for (i, cidr) in list.iter().enumerate() {
        // A bare address is a network of one.
        let parsed = cidr
            .parse::<ipnet::IpNet>()
            .or_else(|_| cidr.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
        match parsed {
            Ok(n) => trusted.push(n),
            Err(_) => v.error(
                path.key("trusted_proxies").index(i),
                format!("{cidr:?} is not an address or a CIDR range like \"10.0.0.0/8\""),
            ),
        }
    }
    let mut roles = BTreeMap::new();
    match &raw.proxy_roles {
        None => v.error(
            path.key("proxy_roles"),
            "map people or groups to roles (e.g. \"sre\" = \"operator\"); nobody else may sign in",
        ),
        Some(map) => {
            for (who, role) in map {
                match role.parse::<Role>() {
                    Ok(r) if !who.is_empty() => {
                        roles.insert(who.clone(), r);
                    }
                    Ok(_) => v.error(path.key("proxy_roles"), "a key is empty"),
                    Err(e) => v.error(path.key("proxy_roles").key(who), e.to_string()),
                }
            }
        }
    }
    Some(DashboardSettings {
        auth_proxy: Some(AuthProxy {
            header: header?,
            groups_header: groups_header?,
            trusted,
            roles,
        }),
    })
}
