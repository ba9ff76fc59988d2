use super::*;

fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn errors_of(text: &str) -> Vec<String> {
    load_from(Some(text), env(&[]))
        .expect_err("should be refused")
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn no_configuration_gives_the_embedded_defaults() {
    let s = load_from(None, env(&[])).unwrap();
    assert_eq!(s.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&s.database.url),
        "sqlite://cachewarden.db"
    );
    assert!(s.targets.is_empty());
}

#[test]
fn the_example_configuration_is_valid() {
    let s = load_from(Some(&example_config()), env(&[])).unwrap_or_else(|e| panic!("{e}"));
    // One example of every kind and every receiver.
    assert_eq!(s.targets.len(), crate::targets::KINDS.len());
    assert_eq!(s.notifiers.len(), crate::notify::RECEIVERS.len());
    assert_eq!(s.alarms[0].datapoints, (3, 5));
    assert_eq!(
        s.alarms[1].condition,
        Condition::Drop {
            points: 0.15,
            baseline: Baseline::Trailing(std::time::Duration::from_secs(3600))
        }
    );
}

#[test]
fn environment_overrides_replace_and_extend_the_file() {
    let text = "[server]\nlisten = \"127.0.0.1:1\"\n[[targets]]\nname = \"a\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\n";
    let s = load_from(
        Some(text),
        env(&[
            ("CACHEWARDEN__SERVER__LISTEN", "0.0.0.0:9000"),
            ("CACHEWARDEN__TARGETS__0__EVERY", "30s"),
            ("CACHEWARDEN__DATABASE__MAX_CONNECTIONS", "3"),
            ("UNRELATED", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(s.server.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(
        s.targets[0].schedule,
        Schedule::Every(std::time::Duration::from_secs(30))
    );
    assert_eq!(s.database.max_connections, 3);
}

#[test]
fn an_error_from_an_override_names_the_variable() {
    let e = load_from(None, env(&[("CACHEWARDEN__SERVER__LISTEN", "nowhere")])).unwrap_err();
    let all: Vec<String> = e.iter().map(ToString::to_string).collect();
    assert_eq!(
        all,
        [
            "CACHEWARDEN__SERVER__LISTEN: server.listen: \"nowhere\" is not an address like \"127.0.0.1:8080\""
        ]
    );
}

#[test]
fn three_mistakes_are_all_reported_with_their_lines() {
    let text = r#"
[[targets]]
name = "sessions"
kind = "rediss"
url = "redis://127.0.0.1:6379"

[[targets]]
name = "web"
kind = "cloudfront"
every = "soon"

[[alarms]]
name = "x"
target = "sessions"
metric = "hit_rate"
below = 80
"#;
    assert_eq!(
        errors_of(text),
        [
            "line 4: targets[0].kind: unknown kind \"rediss\": expected one of cloudfront, apigateway, elasticache, dax, redis, memcached",
            "line 7: targets[1].distribution_id: is required",
            "line 10: targets[1].every: \"soon\" is not a duration like \"15s\", \"5m\" or \"1h 30m\"",
            "line 16: alarms[0].below: 80 is outside 0.0-1.0; ratios are fractions (0.8 means 80 %)",
        ]
    );
}

/// Checks that each case (what it breaks, the configuration, the error it must give) is
/// refused with that error.
fn refused_each(cases: &[(&str, String, &str)]) {
    for (what, text, want) in cases {
        let errors = errors_of(text);
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "{what}: wanted an error containing {want:?}, got {errors:?}"
        );
    }
}

/// Each bad input, what it breaks, and the error it must give.
#[test]
fn bad_configurations_are_refused_with_the_rule() {
    let redis = "[[targets]]\nname = \"r\"\nkind = \"redis\"\nurl = \"redis://h:1\"\n";
    let cases: &[(&str, String, &str)] = &[
        ("unknown section", "[servr]\n".into(), "servr: unknown section"),
        ("unknown key", "[server]\nlisen = \"x\"\n".into(), "server.lisen: unknown key"),
        ("syntax", "[server\n".into(), "line 1: (top level): "),
        ("wrong type", "[database]\nmax_connections = \"ten\"\n".into(), "database.max_connections: invalid type: string \"ten\""),
        ("bad database", "[database]\nurl = \"mysql://x\"\n".into(), "database.url: must start with sqlite://"),
        ("missing name", "[[targets]]\nkind = \"redis\"\nurl = \"redis://h:1\"\n".into(), "targets[0].name: is required"),
        ("bad name", "[[targets]]\nname = \"Web\"\nkind = \"dax\"\ncluster_id = \"c\"\n".into(), "targets[0].name: \"Web\" may contain only"),
        ("duplicate", format!("{redis}{redis}"), "targets[1].name: \"r\" is already the name of another target"),
        ("every and cron", format!("{redis}every = \"1s\"\ncron = \"* * * * * *\"\n"), "targets[0].cron: set either every or cron"),
        ("bad cron", format!("{redis}cron = \"* * *\"\n"), "targets[0].cron: \"* * *\" is not a six-field cron"),
        ("too fast", format!("{redis}every = \"10ms\"\n"), "targets[0].every: must be at least 1s"),
        ("field of other kind", format!("{redis}distribution_id = \"E2QWRUHEXAMPLE\"\n"), "targets[0].distribution_id: does not apply to kind redis"),
        ("bad redis scheme", "[[targets]]\nname = \"r\"\nkind = \"redis\"\nurl = \"http://h:1\"\n".into(), "targets[0].url: scheme \"http\" is not allowed"),
        ("a redis database that is not a number (issue 14)", "[[targets]]\nname = \"r\"\nkind = \"redis\"\nurl = \"redis://h:1/x9\"\n".into(), "targets[0].url: the database \"x9\" in the URL's path is not a number"),
        ("memcached address", "[[targets]]\nname = \"m\"\nkind = \"memcached\"\naddress = \"h\"\n".into(), "targets[0].address: \"h\" is not host:port"),
        ("role on redis", format!("{redis}role_arn = \"arn:aws:iam::111111111111:role/cw\"\n"), "targets[0].role_arn: does not apply to kind redis: cachewarden makes no AWS call for it"),
        ("role not an ARN", "[[targets]]\nname = \"w\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\nrole_arn = \"cachewarden\"\n".into(), "targets[0].role_arn: \"cachewarden\" is not an IAM role ARN like \"arn:aws:iam::111111111111:role/cachewarden\""),
        ("external id alone", "[[targets]]\nname = \"w\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\nexternal_id = \"abc\"\n".into(), "targets[0].external_id: needs role_arn"),
        ("session name", "[[targets]]\nname = \"w\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\nrole_arn = \"arn:aws:iam::111111111111:role/cw\"\nsession_name = \"a b\"\n".into(), "targets[0].session_name: must be 2 to 64 letters, digits or _+=,.@-"),
        ("role not a string", "[[targets]]\nname = \"w\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\nrole_arn = 5\n".into(), "targets[0].role_arn: must be a string"),
        ("cloudfront region", "[[targets]]\nname = \"w\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\nregion = \"eu-west-1\"\n".into(), "targets[0].region: CloudFront metrics are always read in us-east-1"),
        ("missing dimension", "[[targets]]\nname = \"a\"\nkind = \"apigateway\"\napi_name = \"x\"\n".into(), "targets[0].stage: is required"),
        ("bad region", "[aws]\nregion = \"Ireland\"\n".into(), "aws.region: \"Ireland\" is not an AWS region"),
        ("datapoints", format!("{redis}[[alarms]]\nname = \"a\"\ntarget = \"r\"\nmetric = \"hit_rate\"\nbelow = 0.5\ndatapoints = \"5 of 3\"\n"), "alarms[0].datapoints: \"5 of 3\" is not \"M of N\""),
        ("a series the target does not record (issue 14)", format!("{redis}[[alarms]]\nname = \"a\"\ntarget = \"r\"\nmetric = \"hit_rte\"\nbelow = 0.5\n"), "alarms[0].metric: \"hit_rte\" is not a series of the targets it watches; they record commands, connected_clients, evicted_keys"),
        ("a series of another kind", format!("{redis}[[alarms]]\nname = \"a\"\ntarget = \"r\"\nmetric = \"item_hit_rate\"\nbelow = 0.5\n"), "alarms[0].metric: \"item_hit_rate\" is not a series"),
        ("two conditions", format!("{redis}[[alarms]]\nname = \"a\"\ntarget = \"r\"\nmetric = \"hit_rate\"\nbelow = 0.5\nabove = 0.9\n"), "alarms[0]: needs exactly one of below, above, drop or change_cost (found below, above)"),
        ("change cost with a series", format!("{redis}[[alarms]]\nname = \"a\"\ntarget = \"r\"\nmetric = \"hit_rate\"\nchange_cost = {{ extra_misses = 10 }}\n"), "alarms[0].metric: applies only to an alarm on a series; a change_cost alarm watches each change's measured cost"),
        ("change cost with datapoints", format!("{redis}[[alarms]]\nname = \"a\"\ntarget = \"r\"\ndatapoints = \"2 of 3\"\nchange_cost = {{ extra_misses = 10 }}\n"), "alarms[0].datapoints: applies only to an alarm on a series"),
        ("change cost without a limit", format!("{redis}[[alarms]]\nname = \"a\"\ntarget = \"r\"\nchange_cost = {{}}\n"), "alarms[0].change_cost: needs extra_misses, recovery or both"),
        ("change cost negative", format!("{redis}[[alarms]]\nname = \"a\"\ntarget = \"r\"\nchange_cost = {{ extra_misses = -1 }}\n"), "alarms[0].change_cost.extra_misses: must be a count of misses, 0 or more"),
        ("change cost recovery", format!("{redis}[[alarms]]\nname = \"a\"\ntarget = \"r\"\nchange_cost = {{ recovery = \"soon\" }}\n"), "alarms[0].change_cost.recovery: \"soon\" is not a duration"),
        ("change cost key", format!("{redis}[[alarms]]\nname = \"a\"\ntarget = \"r\"\nchange_cost = {{ misses = 3 }}\n"), "alarms[0].change_cost.misses: unknown field `misses`, expected `extra_misses` or `recovery`"),
        ("unknown notifier", format!("{redis}[[alarms]]\nname = \"a\"\ntarget = \"r\"\nmetric = \"hit_rate\"\nbelow = 0.5\nnotify = [\"nobody\"]\n"), "alarms[0].notify[0]: \"nobody\" is not a configured notifier"),
        ("notifier kind", "[[notifiers]]\nname = \"n\"\nkind = \"fax\"\n".into(), "notifiers[0].kind: unknown kind \"fax\""),
        ("pagerduty key", "[[notifiers]]\nname = \"n\"\nkind = \"pagerduty\"\nrouting_key = \"short\"\n".into(), "notifiers[0].routing_key: must be the 32-character"),
        ("rule on wrong kind", format!("{redis}[[rules]]\nevent = \"x\"\ncloudfront = [{{ target = \"r\", paths = [\"/a\"] }}]\n"), "rules[0].cloudfront[0].target: \"r\" is a redis target; this action needs cloudfront"),
        ("template", format!("{redis}[[rules]]\nevent = \"x\"\nredis = [{{ target = \"r\", keys = [\"p:{{id\"] }}]\n"), "rules[0].redis[0].keys[0]: \"p:{id\": '{' without a matching '}'"),
        ("tls ca on plain redis", format!("{redis}tls_ca_file = \"/etc/hostname\"\n"), "targets[0].tls_ca_file: applies only to a rediss://"),
        ("missing ca file", "[[targets]]\nname = \"r\"\nkind = \"redis\"\nurl = \"rediss://h:1\"\ntls_ca_file = \"/nope.pem\"\n".into(), "targets[0].tls_ca_file: \"/nope.pem\" is not a readable file"),
        ("sns arn", "[[notifiers]]\nname = \"n\"\nkind = \"sns\"\ntopic_arn = \"alerts\"\n".into(), "notifiers[0].topic_arn: \"alerts\" is not a topic ARN"),
        ("sns region", "[[notifiers]]\nname = \"n\"\nkind = \"sns\"\ntopic_arn = \"arn:aws:sns:eu-west-1:123456789012:alerts\"\nregion = \"us-east-1\"\n".into(), "notifiers[0].region: \"us-east-1\" is not the topic's region \"eu-west-1\""),
        ("email address", "[[notifiers]]\nname = \"n\"\nkind = \"email\"\nhost = \"smtp\"\nfrom = \"me\"\nto = [\"a@b.c\"]\n".into(), "notifiers[0].from: \"me\" is not an e-mail address"),
        ("email no recipient", "[[notifiers]]\nname = \"n\"\nkind = \"email\"\nhost = \"smtp\"\nfrom = \"me@b.c\"\nto = []\n".into(), "notifiers[0].to: must list at least one address"),
        ("email ca file", "[[notifiers]]\nname = \"n\"\nkind = \"email\"\nhost = \"smtp\"\nfrom = \"me@b.c\"\nto = [\"a@b.c\"]\ntls_ca_file = \"/nope.pem\"\n".into(), "notifiers[0].tls_ca_file: \"/nope.pem\" is not a readable file"),
        ("ca file on webhook", "[[notifiers]]\nname = \"n\"\nkind = \"webhook\"\nurl = \"https://h/\"\ntls_ca_file = \"/etc/hostname\"\n".into(), "notifiers[0].tls_ca_file: does not apply to kind webhook"),
        ("dip window", "[alerting]\nexpected_dip_window = \"2d\"\n".into(), "alerting.expected_dip_window: must be at most 24h"),
        ("alerting key", "[alerting]\nexpected_dip = \"10m\"\n".into(), "alerting.expected_dip: unknown key"),
        ("proxy without trust", "[dashboard]\nauth_proxy_header = \"X-Forwarded-Email\"\n[dashboard.proxy_roles]\nsre = \"operator\"\n".into(), "dashboard.trusted_proxies: name the proxies' addresses"),
        ("proxy cidr", "[dashboard]\nauth_proxy_header = \"X-Forwarded-Email\"\ntrusted_proxies = [\"10.0.0.0/33\"]\n[dashboard.proxy_roles]\nsre = \"operator\"\n".into(), "dashboard.trusted_proxies[0]: \"10.0.0.0/33\" is not an address or a CIDR range"),
        ("proxy role", "[dashboard]\nauth_proxy_header = \"X-Forwarded-Email\"\ntrusted_proxies = [\"10.0.0.1\"]\n[dashboard.proxy_roles]\nsre = \"root\"\n".into(), "dashboard.proxy_roles.sre: \"root\" is not a role"),
        ("proxy no roles", "[dashboard]\nauth_proxy_header = \"X-Forwarded-Email\"\ntrusted_proxies = [\"10.0.0.1\"]\n".into(), "dashboard.proxy_roles: map people or groups to roles"),
        ("proxy header", "[dashboard]\nauth_proxy_header = \"X Email\"\ntrusted_proxies = [\"10.0.0.1\"]\n[dashboard.proxy_roles]\nsre = \"operator\"\n".into(), "dashboard.auth_proxy_header: \"X Email\" is not a header name"),
        ("proxy fields alone", "[dashboard]\ntrusted_proxies = [\"10.0.0.1\"]\n".into(), "dashboard.trusted_proxies: applies only with auth_proxy_header"),
        ("window cron", format!("{redis}[[maintenance]]\nname = \"w\"\ncron = \"0 3 * * *\"\nduration = \"1h\"\n"), "maintenance[0].cron: \"0 3 * * *\" is not a six-field cron"),
        ("window duration", format!("{redis}[[maintenance]]\nname = \"w\"\ncron = \"0 0 3 * * *\"\n"), "maintenance[0].duration: is required"),
        ("window too long", format!("{redis}[[maintenance]]\nname = \"w\"\ncron = \"0 0 3 * * *\"\nduration = \"60d\"\n"), "maintenance[0].duration: must be at most 31 days"),
        ("window target", format!("{redis}[[maintenance]]\nname = \"w\"\ntarget = \"web*\"\ncron = \"0 0 3 * * *\"\nduration = \"1h\"\n"), "maintenance[0].target: \"web*\" matches no configured target"),
        ("window alarm", format!("{redis}[[maintenance]]\nname = \"w\"\nalarms = [\"nope\"]\ncron = \"0 0 3 * * *\"\nduration = \"1h\"\n"), "maintenance[0].alarms[0]: \"nope\" is not a configured alarm"),
        ("window zone", format!("{redis}[[maintenance]]\nname = \"w\"\ncron = \"0 0 3 * * *\"\nduration = \"1h\"\ntimezone = \"CEST\"\n"), "maintenance[0].timezone: \"CEST\" is not an IANA time zone"),
        ("window name", format!("{redis}[[maintenance]]\nname = \"w\"\ncron = \"0 0 3 * * *\"\nduration = \"1h\"\n[[maintenance]]\nname = \"w\"\ncron = \"0 0 4 * * *\"\nduration = \"1h\"\n"), "maintenance[1].name: \"w\" is already the name of another window"),
        ("collector limit", "[collector]\nmax_concurrent_polls = 0\n".into(), "collector.max_concurrent_polls: must be at least 1"),
        ("short raw retention", "[retention]\nraw = \"10m\"\n".into(), "retention.raw: must be at least 1h"),
        ("lookback", "[cloudwatch]\nlookback = \"30s\"\n".into(), "cloudwatch.lookback: must be from 2m to 24h"),
        ("empty rule", format!("{redis}[[rules]]\nevent = \"x\"\n"), "rules[0]: does nothing"),
        ("rule section unknown", format!("{redis}[[rules]]\nevent = \"x\"\nvarnish = [{{ target = \"r\" }}]\n"), "rules[0].varnish: unknown key; a rule has event, broadcast and the sections cloudfront, apigateway, redis"),
        ("rule entry key", format!("{redis}[[rules]]\nevent = \"x\"\nredis = [{{ target = \"r\", key = [\"a\"] }}]\n"), "rules[0].redis[0].key: unknown key"),
        ("rule memcached tags", "[[targets]]\nname = \"m\"\nkind = \"memcached\"\naddresses = [\"h:1\"]\n[[rules]]\nevent = \"x\"\nredis = [{ target = \"m\", tags = [\"t\"] }]\n".into(), "rules[0].redis[0].tags: this kind has no tags"),
        ("rule cloudfront path", "[[targets]]\nname = \"w\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n[[rules]]\nevent = \"x\"\ncloudfront = [{ target = \"w\", paths = [\"a\"], tags = [\"t\"] }]\n".into(), "rules[0].cloudfront[0].paths[0]: \"a\" must start with /"),
        ("rule apigateway entry", "[[targets]]\nname = \"api\"\nkind = \"apigateway\"\napi_name = \"shop\"\nstage = \"prod\"\ncache_key_query = [\"lang\"]\n[[rules]]\nevent = \"x\"\napigateway = [{ target = \"api\", items = [\"GET /p/{id}?page={n}\"] }]\n".into(), "rules[0].apigateway[0].items[0]: \"GET /p/{id}?page={n}\": \"page\" is not a query parameter the stage caches by (cache_key_query: lang)"),
        ("rule apigateway wildcard", "[[targets]]\nname = \"api\"\nkind = \"apigateway\"\napi_name = \"shop\"\nstage = \"prod\"\n[[rules]]\nevent = \"x\"\napigateway = [{ target = \"api\", items = [\"/p/*\"] }]\n".into(), "rules[0].apigateway[0].items[0]: \"/p/*\": API Gateway has no wildcard invalidation"),
        ("apigateway rate", "[[targets]]\nname = \"api\"\nkind = \"apigateway\"\napi_name = \"shop\"\nstage = \"prod\"\ninvalidation_rate = 0\n".into(), "targets[0].invalidation_rate: 0 is outside 0-1000 entries a second"),
        ("apigateway id", "[[targets]]\nname = \"api\"\nkind = \"apigateway\"\napi_name = \"shop\"\nstage = \"prod\"\nrest_api_id = \"a/b\"\n".into(), "targets[0].rest_api_id: \"a/b\" is not a REST API id"),
        ("apigateway invoke url", "[[targets]]\nname = \"api\"\nkind = \"apigateway\"\napi_name = \"shop\"\nstage = \"prod\"\ninvoke_url = \"ftp://x\"\n".into(), "targets[0].invoke_url:"),
        ("rule cloudfront tags", "[[targets]]\nname = \"w\"\nkind = \"cloudfront\"\ndistribution_id = \"E2QWRUHEXAMPLE\"\n[[rules]]\nevent = \"x\"\ncloudfront = [{ target = \"w\", tags = [\"t\"] }]\n".into(), "rules[0].cloudfront[0].tags: the target does not have cache_tags = true"),
    ];
    refused_each(cases);
}

/// `[[discover]]` and alarms over a fleet: each bad input and the error it must give.
#[test]
fn bad_discoveries_and_selectors_are_refused_with_the_rule() {
    let d = "[[discover]]\nname = \"prod\"\n";
    let ec = format!("{d}kinds = [\"elasticache\"]\n");
    let redis = "[[targets]]\nname = \"r\"\nkind = \"redis\"\nurl = \"redis://h:1\"\n";
    let cases: &[(&str, String, &str)] = &[
        (
            "no kinds",
            d.into(),
            "discover[0].kinds: is required: a list of cloudfront, apigateway, elasticache, dax",
        ),
        (
            "empty kinds",
            format!("{d}kinds = []\n"),
            "discover[0].kinds: must name at least one of",
        ),
        (
            "a direct kind",
            format!("{d}kinds = [\"redis\"]\n"),
            "discover[0].kinds[0]: \"redis\" cannot be discovered (it is reached directly); write it in [[targets]]",
        ),
        (
            "an unknown kind",
            format!("{d}kinds = [\"varnish\"]\n"),
            "discover[0].kinds[0]: unknown kind \"varnish\": expected one of",
        ),
        (
            "no name",
            "[[discover]]\nkinds = [\"dax\"]\n".into(),
            "discover[0].name: is required",
        ),
        (
            "a bad name",
            "[[discover]]\nname = \"Prod\"\nkinds = [\"dax\"]\n".into(),
            "discover[0].name:",
        ),
        (
            "two of one name",
            format!("{ec}{ec}"),
            "discover[1].name: \"prod\" is already the name of another discovery",
        ),
        (
            "unknown key",
            format!("{ec}region = \"eu-west-1\"\n"),
            "discover[0].region: unknown key; expected one of name, kinds, regions",
        ),
        (
            "a bad region",
            format!("{ec}regions = [\"Ireland\"]\n"),
            "discover[0].regions[0]: \"Ireland\" is not an AWS region",
        ),
        (
            "regions not a list",
            format!("{ec}regions = \"eu-west-1\"\n"),
            "discover[0].regions: must be a list of strings",
        ),
        (
            "an account without a role",
            format!("{ec}accounts = [{{ external_id = \"x\" }}]\n"),
            "discover[0].accounts[0].role_arn: is required",
        ),
        (
            "an account that is not a role",
            format!("{ec}accounts = [{{ role_arn = \"arn:aws:iam::1:user/x\" }}]\n"),
            "discover[0].accounts[0].role_arn:",
        ),
        (
            "an account key",
            format!(
                "{ec}accounts = [{{ role_arn = \"arn:aws:iam::111111111111:role/cw\", region = \"x\" }}]\n"
            ),
            "discover[0].accounts[0].region: unknown key; expected role_arn, external_id or session_name",
        ),
        (
            "an account twice",
            format!(
                "{ec}accounts = [{{ role_arn = \"arn:aws:iam::111111111111:role/cw\" }}, {{ role_arn = \"arn:aws:iam::111111111111:role/cw\" }}]\n"
            ),
            "discover[0].accounts[1].role_arn: is listed twice",
        ),
        (
            "a tag that is not a string",
            format!("{ec}tags = {{ env = 1 }}\n"),
            "discover[0].tags.env: must be a string (a glob over the tag's values)",
        ),
        (
            "a bad glob",
            format!("{ec}names = [\"[a\"]\n"),
            "discover[0].names[0]: \"[a\" is not a valid glob",
        ),
        (
            "too often",
            format!("{ec}every = \"5s\"\n"),
            "discover[0].every: must be at least 30s",
        ),
        (
            "a template without the id",
            format!("{ec}name_template = \"{{account}}-{{region}}\"\n"),
            "discover[0].name_template: \"{account}-{region}\" must contain {id}",
        ),
        (
            "a template place",
            format!("{ec}name_template = \"{{acount}}-{{id}}\"\n"),
            "discover[0].name_template: {acount} is not a place a name can use",
        ),
        (
            "a key discovery sets",
            format!("{ec}[discover.targets]\nname = \"x\"\n"),
            "discover[0].targets.name: cannot be set here; expected every, cron, timeout, or a table per kind",
        ),
        (
            "a kind key it fills",
            format!("{ec}[discover.targets.elasticache]\ncache_cluster_id = \"x\"\n"),
            "discover[0].targets.elasticache.cache_cluster_id: is set by discovery for each target found",
        ),
        (
            "a kind not discovered",
            format!("{ec}[discover.targets.dax]\nregion = \"eu-west-1\"\n"),
            "discover[0].targets.dax: must be a table of that kind's keys, and the kind must be in kinds",
        ),
        (
            "a key the kind lacks",
            format!(
                "{d}kinds = [\"cloudfront\"]\n[discover.targets.cloudfront]\nengine = \"redis\"\n"
            ),
            "discover[0].targets.engine: does not apply to kind cloudfront",
        ),
        (
            "a bad shared value",
            format!("{ec}[discover.targets]\nevery = \"0s\"\n"),
            "discover[0].targets.every:",
        ),
        (
            "alarm without a selector",
            format!("{redis}[[alarms]]\nname = \"a\"\nmetric = \"hit_rate\"\nbelow = 0.5\n"),
            "alarms[0].target: is required: a target name or glob (or select by target_tags or group)",
        ),
        (
            "alarm tags select nothing",
            format!(
                "{redis}[[alarms]]\nname = \"a\"\ntarget_tags = {{ env = \"prod\" }}\nmetric = \"hit_rate\"\nbelow = 0.5\n"
            ),
            "alarms[0].target_tags: selects no configured target (* with env=prod), and no [[discover]] could find one",
        ),
        (
            "alarm group glob",
            format!(
                "{redis}[[alarms]]\nname = \"a\"\ngroup = \"[x\"\nmetric = \"hit_rate\"\nbelow = 0.5\n"
            ),
            "alarms[0].group: \"[x\" is not a valid glob",
        ),
        (
            "target tags not strings",
            format!("{redis}tags = {{ env = 1 }}\n"),
            "targets[0].tags.env: must be a string",
        ),
        (
            "target group",
            format!("{redis}group = \"\"\n"),
            "targets[0].group: must be a non-empty string",
        ),
        ("rule by name and tags", format!("{redis}[[rules]]\nevent = \"x\"\nredis = [{{ target = \"r\", target_tags = {{ env = \"prod\" }}, keys = [\"a\"] }}]\n"), "rules[0].redis[0].target: name one target, or select targets by target_tags and group; not both"),
        ("rule selects nothing", format!("{redis}[[rules]]\nevent = \"x\"\nredis = [{{ target_tags = {{ env = \"prod\" }}, keys = [\"a\"] }}]\n"), "rules[0].redis[0].target_tags: selects no configured redis target (* with env=prod), and no [[discover]] could find one"),
        ("rule selector entry", "[[discover]]\nname = \"d\"\nkinds = [\"cloudfront\"]\n[[rules]]\nevent = \"x\"\ncloudfront = [{ group = \"web\", paths = [\"a\"] }]\n".into(), "rules[0].cloudfront[0].paths[0]: \"a\" must start with /"),
        ("rule tag glob", "[[discover]]\nname = \"d\"\nkinds = [\"cloudfront\"]\n[[rules]]\nevent = \"x\"\ncloudfront = [{ target_tags = { env = 1 }, paths = [\"/a\"] }]\n".into(), "rules[0].cloudfront[0].target_tags.env: must be a string"),
    ];
    refused_each(cases);
}

/// An alarm by tag or glob that matches no written target is fine when targets are
/// discovered; a written target's tags and group select it.
#[test]
fn fleet_selectors_are_accepted_where_they_can_match() {
    let ok = "[aws]\nregion = \"eu-west-1\"\n[[discover]]\nname = \"prod\"\nkinds = [\"elasticache\", \"cloudfront\"]\n\
              [discover.targets]\nevery = \"2m\"\n[discover.targets.cloudfront]\ncollapse_over = 20\n\
              [[alarms]]\nname = \"a\"\ntarget = \"111111111111-*\"\ntarget_tags = { env = \"prod\" }\ngroup = \"catalog*\"\nmetric = \"hit_rate\"\nbelow = 0.5\n\
              [[alarms]]\nname = \"b\"\ntarget_tags = { tier = \"cat*\" }\nmetric = \"hit_rate\"\nbelow = 0.5\n";
    let s = load_from(Some(ok), Vec::new()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.discover[0].kinds.len(), 2);
    assert_eq!(s.alarms[1].targets.describe(), "* with tier=cat*");
    let written = "[[targets]]\nname = \"r\"\nkind = \"redis\"\nurl = \"redis://h:1\"\ngroup = \"sessions\"\ntags = { env = \"prod\" }\n\
                   [[alarms]]\nname = \"a\"\ntarget_tags = { env = \"prod\" }\ngroup = \"sess*\"\nmetric = \"hit_rate\"\nbelow = 0.5\n";
    let s = load_from(Some(written), Vec::new()).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.alarms[0].watches(&s.targets[0]));
}

#[test]
fn an_all_digit_secret_from_the_environment_is_a_string_and_never_shown() {
    use secrecy::ExposeSecret;
    let text = "[[notifiers]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"https://hooks.example.com/x\"\n";
    let s = load_from(
        Some(text),
        env(&[("CACHEWARDEN__NOTIFIERS__0__SECRET", "987654321012345")]),
    )
    .unwrap_or_else(|e| panic!("an all-digit secret is refused: {e}"));
    let webhook = s.notifiers[0]
        .config::<crate::notify::webhook::Config>()
        .expect("a webhook");
    assert_eq!(
        webhook
            .secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            .as_deref(),
        Some("987654321012345")
    );
    // A string key given digits elsewhere fails on its own rule, and the message does not
    // repeat a secret given beside it.
    let e = load_from(
        Some(text),
        env(&[
            ("CACHEWARDEN__NOTIFIERS__0__SECRET", "987654321012345"),
            ("CACHEWARDEN__NOTIFIERS__0__URL", "12345"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("CACHEWARDEN__NOTIFIERS__0__URL"), "{e}");
    assert!(!e.contains("987654321012345"), "{e}");
    // A numeric key still takes a number.
    let s = load_from(
        None,
        env(&[("CACHEWARDEN__DATABASE__MAX_CONNECTIONS", "7")]),
    )
    .unwrap();
    assert_eq!(s.database.max_connections, 7);
}
