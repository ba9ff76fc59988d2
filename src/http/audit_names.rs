//! What each mutating route does, named as the command line's own audit entries are
//! (`noun.verb`: `token.create`, `purge.create`), so the audit log reads one way whoever
//! acted and wherever from: the API, a dashboard form or the CLI. Keyed by the route's
//! pattern, which actix knows even for a request refused before its handler (401, 403), so
//! refusals are named like successes. A route missing here fails a test.

/// (method, route pattern, action)
const ACTIONS: &[(&str, &str, &str)] = &[
    ("POST", "/api/v1/tokens", "token.create"),
    ("DELETE", "/api/v1/tokens/{name}", "token.revoke"),
    ("POST", "/api/v1/admin/reload", "config.reload"),
    ("POST", "/api/v1/events", "event.submit"),
    ("POST", "/api/v1/alarms/{id}/ack", "alarm.ack"),
    ("DELETE", "/api/v1/alarms/{id}/ack", "alarm.unack"),
    ("POST", "/api/v1/silences", "silence.create"),
    ("PATCH", "/api/v1/silences/{id}", "silence.update"),
    ("DELETE", "/api/v1/silences/{id}", "silence.end"),
    ("POST", "/api/v1/invalidations", "invalidation.create"),
    ("POST", "/api/v1/invalidations/{id}/cancel", "job.cancel"),
    ("POST", "/api/v1/purges", "purge.create"),
    ("POST", "/api/v1/purges/{id}/cancel", "job.cancel"),
    ("POST", "/api/v1/jobs", "job.create"),
    ("POST", "/api/v1/jobs/{id}/cancel", "job.cancel"),
    ("POST", "/sign-in", "session.sign_in"),
    ("POST", "/sign-out", "session.sign_out"),
    ("POST", "/setup", "user.setup"),
    ("POST", "/alarms/{id}/ack", "alarm.ack"),
    ("POST", "/alarms/{id}/silence", "silence.create"),
    ("POST", "/alarms/{id}/unack", "alarm.unack"),
    ("POST", "/silences/{id}/end", "silence.end"),
    ("POST", "/jobs/{id}/cancel", "job.cancel"),
    ("POST", "/invalidate", "invalidation.create"),
    ("POST", "/purge", "purge.create"),
    ("POST", "/tokens", "token.create"),
    ("POST", "/tokens/{name}/revoke", "token.revoke"),
];

/// The action of a mutating request to `route` (its pattern), or `None` for a route not
/// named here (a request that matched no route at all, for one).
pub fn action(method: &str, route: &str) -> Option<&'static str> {
    ACTIONS
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map(|(_, _, a)| *a)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every mutating operation of the API document has a name.
    #[test]
    fn every_api_mutation_is_named() {
        let doc = serde_json::to_value(crate::http::openapi::document()).unwrap();
        let mut missing = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in ["post", "patch", "delete", "put"] {
                if item.get(method).is_some() && action(&method.to_uppercase(), path).is_none() {
                    missing.push(format!("{method} {path}"));
                }
            }
        }
        assert!(missing.is_empty(), "name these in ACTIONS: {missing:?}");
    }

    /// Every form of the dashboard posts to a named route.
    #[test]
    fn every_dashboard_form_is_named() {
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/templates")).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for form in text.split("<form").skip(1) {
                let head = form.split('>').next().unwrap_or_default();
                if !head.contains("method=\"post\"") {
                    continue;
                }
                let Some(to) = head
                    .split("action=\"")
                    .nth(1)
                    .and_then(|a| a.split('"').next())
                else {
                    continue;
                };
                // `/jobs/{{ job.id }}/cancel` → `/jobs/{id}/cancel`
                let route: String = to
                    .split('/')
                    .map(|seg| match seg {
                        s if s.contains("name") && s.starts_with("{{") => "{name}",
                        s if s.starts_with("{{") => "{id}",
                        s => s,
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                if action("POST", &route).is_none() {
                    missing.push(route);
                }
            }
        }
        assert!(missing.is_empty(), "name these in ACTIONS: {missing:?}");
    }

    #[test]
    fn names_are_noun_dot_verb() {
        for (_, _, a) in ACTIONS {
            let (noun, verb) = a.split_once('.').unwrap_or_default();
            assert!(
                !noun.is_empty()
                    && !verb.is_empty()
                    && a.chars()
                        .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "{a}"
            );
        }
    }
}
