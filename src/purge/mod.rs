//! Purges of Redis and Memcached: the request as stored, the rules it must pass before
//! anything is deleted (guard rails), and one job kind per engine.

pub mod glob;
pub mod memcached;
pub mod redis;
mod slot;

use serde::{Deserialize, Serialize};

use crate::service_error::{BadItem, ServiceError};

/// Keys kept as a dry run's sample.
pub const SAMPLE: usize = 20;

/// What a purge found so far: keys that matched, keys deleted, and (in a dry run, which
/// deletes nothing) a sample of what it would delete.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tally {
    pub matched: u64,
    pub deleted: u64,
    pub sample: Vec<String>,
}

/// What one node or server of a purge matched and deleted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counts {
    pub matched: u64,
    pub deleted: u64,
}

/// A purge's line for people: what it deleted (or, in a dry run, would), how fast, and about
/// how long is left.
pub fn summary(
    dry_run: bool,
    matched: u64,
    deleted: u64,
    rate: Option<f64>,
    eta_seconds: Option<f64>,
) -> String {
    let keys = crate::domain::text::count(matched as usize, "key", "keys");
    let mut s = if dry_run {
        format!("{keys} would be deleted (dry run)")
    } else {
        format!("{deleted} of {keys} matched deleted")
    };
    if let Some(r) = rate.filter(|r| *r >= 1.0) {
        s.push_str(&format!(", {r:.0} keys/s"));
    }
    if let Some(e) = eta_seconds.filter(|e| *e >= 1.0) {
        s.push_str(&format!(", about {e:.0} s left"));
    }
    s
}

impl Tally {
    /// Counts `n` keys found among `keys`: deleted, or in a dry run sampled.
    pub fn found(&mut self, keys: &[String], n: u64, dry_run: bool) {
        self.matched += n;
        if dry_run {
            let room = SAMPLE.saturating_sub(self.sample.len());
            self.sample.extend(keys.iter().take(room).cloned());
        } else {
            self.deleted += n;
        }
    }
}

/// Exact keys one request may name.
pub const MAX_KEYS: usize = 10_000;
/// Patterns and tags one request may name.
pub const MAX_PATTERNS: usize = 100;
/// The fastest rate a request may ask for, in keys per second.
pub const MAX_RATE: u64 = 1_000_000;

/// A purge as asked for and stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurgeRequest {
    /// Exact keys.
    #[serde(default)]
    #[schema(max_items = 10000)]
    pub keys: Vec<String>,
    /// Redis globs (`product:*`); on Memcached, best effort.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub patterns: Vec<String>,
    /// Tags whose member keys (and set) go (Redis only).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub tags: Vec<String>,
    /// Count (and sample) what would be deleted; delete nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Keys per second at most; none: as fast as the server answers.
    #[schema(minimum = 1, maximum = 1000000)]
    pub rate_limit: Option<u64>,
    /// The target's name repeated: the guard rails are waived.
    pub confirm: Option<String>,
    /// Empty every server of a Memcached pool (with `confirm` only).
    #[serde(default)]
    pub flush_all: bool,
}

impl PurgeRequest {
    /// Whether the caller repeated `target` as confirmation.
    pub fn confirmed(&self, target: &str) -> bool {
        self.confirm.as_deref() == Some(target)
    }
}

fn list_rule(field: &str, items: &[String], max: usize) -> Result<(), ServiceError> {
    if items.len() > max {
        return Err(ServiceError::invalid(
            field,
            format!("at most {max} per request"),
        ));
    }
    let bad = items
        .iter()
        .enumerate()
        .filter_map(|(i, k)| {
            let rule = if k.is_empty() {
                "must not be empty".to_owned()
            } else if k.len() > MAX_ITEM_BYTES {
                format!("must be at most {MAX_ITEM_BYTES} bytes")
            } else {
                return None;
            };
            Some(BadItem {
                field: format!("{field}[{i}]"),
                item: k.chars().take(80).collect(),
                message: rule,
            })
        })
        .collect();
    ServiceError::bad_items("invalid_items", items.len(), bad)
}

/// The longest key, pattern or tag a request may name.
const MAX_ITEM_BYTES: usize = 1024;

/// Waits until `deleted` keys are within `rate` per second of the pace that started at
/// `from` (time in ms, deletions then), kept in the job's progress so that a new step does
/// not start with a burst. After a stall of more than a second the pace starts afresh rather
/// than catching up.
pub async fn pace(rate: Option<u64>, from: &mut Option<(i64, u64)>, deleted: u64) {
    let Some(rate) = rate else { return };
    let now = crate::store::now_ms();
    let (start, base) = *from.get_or_insert((now, deleted));
    let due = start + (deleted.saturating_sub(base) as f64 * 1000.0 / rate as f64) as i64;
    if now - due > 1000 {
        *from = Some((now, deleted));
    } else if due > now {
        tokio::time::sleep(std::time::Duration::from_millis((due - now) as u64)).await;
    }
}

/// The rules every purge request meets, whatever it targets: something to purge, sane
/// sizes and rate, a confirmation that names the target if there is one. The guard rails
/// (what patterns may touch) come after, per target.
pub fn check_request(r: &PurgeRequest, target: &str) -> Result<(), ServiceError> {
    if r.keys.is_empty() && r.patterns.is_empty() && r.tags.is_empty() && !r.flush_all {
        return Err(ServiceError::invalid(
            "keys",
            "name at least one of keys, patterns or tags (or flush_all on Memcached)",
        ));
    }
    list_rule("keys", &r.keys, MAX_KEYS)?;
    list_rule("patterns", &r.patterns, MAX_PATTERNS)?;
    let bad_globs = r
        .patterns
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            glob::check(p).err().map(|why| BadItem {
                field: format!("patterns[{i}]"),
                item: p.chars().take(80).collect(),
                message: format!("is not a valid pattern: it {why}"),
            })
        })
        .collect();
    ServiceError::bad_items("invalid_items", r.patterns.len(), bad_globs)?;
    list_rule("tags", &r.tags, MAX_PATTERNS)?;
    if let Some(rate) = r.rate_limit
        && !(1..=MAX_RATE).contains(&rate)
    {
        return Err(ServiceError::invalid(
            "rate_limit",
            format!("must be from 1 to {MAX_RATE} keys per second"),
        ));
    }
    if let Some(c) = &r.confirm
        && c != target
    {
        return Err(ServiceError::invalid(
            "confirm",
            format!("must repeat the target's name ({target:?}) exactly"),
        ));
    }
    Ok(())
}

/// What the guard rails say about the patterns of a request on a target with these
/// `prefixes`: each pattern must start with one of them, and a bare `*` (or any pattern with
/// no literal prefix) reaches everything. The answer says which pattern is beyond the rails
/// and why; the target's name in `confirm` waives them. Pure.
pub fn beyond_rails(patterns: &[String], prefixes: &[String]) -> Option<String> {
    patterns.iter().enumerate().find_map(|(i, p)| {
        let prefix = glob::literal_prefix(p);
        if prefix.is_empty() {
            return Some(format!("patterns[{i}] {p:?} can match every key"));
        }
        (!prefixes
            .iter()
            .any(|allowed| prefix.starts_with(allowed.as_str())))
        .then(|| {
            format!(
                "patterns[{i}] {p:?} is outside the target's purge_prefixes ({})",
                if prefixes.is_empty() {
                    "none configured".to_owned()
                } else {
                    prefixes.join(", ")
                }
            )
        })
    })
}

/// The guard rails as a rule: a purge beyond them needs confirmation. A dry run deletes
/// nothing and is never refused: it reports what a purge would need instead, so people can
/// look before they confirm.
pub fn guard_patterns(
    r: &PurgeRequest,
    target: &str,
    prefixes: &[String],
) -> Result<(), ServiceError> {
    match beyond_rails(&r.patterns, prefixes) {
        Some(why) if !r.dry_run && !r.confirmed(target) => {
            Err(ServiceError::needs_confirmation(why))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purge_says_what_it_deleted_how_fast_and_what_is_left() {
        let cases = [
            (
                summary(false, 1, 1, Some(250.4), None),
                "1 of 1 key matched deleted, 250 keys/s",
            ),
            (
                summary(true, 12, 0, None, None),
                "12 keys would be deleted (dry run)",
            ),
            (
                summary(false, 900, 400, Some(0.2), Some(31.6)),
                "400 of 900 keys matched deleted, about 32 s left",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    fn req(keys: &[&str], patterns: &[&str], tags: &[&str]) -> PurgeRequest {
        PurgeRequest {
            keys: keys.iter().map(|s| s.to_string()).collect(),
            patterns: patterns.iter().map(|s| s.to_string()).collect(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
            ..PurgeRequest::default()
        }
    }

    fn field(e: ServiceError) -> String {
        match e {
            ServiceError::Invalid { field, .. } => field.unwrap_or_default(),
            other => format!("not invalid: {other}"),
        }
    }

    #[test]
    fn bad_requests_name_the_field() {
        let mut fast = req(&["k"], &[], &[]);
        fast.rate_limit = Some(0);
        let mut wrong = req(&["k"], &[], &[]);
        wrong.confirm = Some("other".into());
        let many: Vec<String> = (0..=MAX_KEYS).map(|i| format!("k{i}")).collect();
        let mut too_many = req(&[], &[], &[]);
        too_many.keys = many;
        // (what, request, field)
        let table = [
            ("nothing to purge", req(&[], &[], &[]), "keys"),
            ("empty key", req(&["a", ""], &[], &[]), "keys[1]"),
            ("empty pattern", req(&[], &[""], &[]), "patterns[0]"),
            ("empty tag", req(&[], &[], &[""]), "tags[0]"),
            ("too many keys", too_many, "keys"),
            ("zero rate", fast, "rate_limit"),
            ("confirm names another target", wrong, "confirm"),
            (
                "an unclosed class",
                req(&[], &["product:[", "ok:*", "["], &[]),
                "patterns[0]",
            ),
            (
                "an escape of nothing",
                req(&[], &["a\\"], &[]),
                "patterns[0]",
            ),
        ];
        for (what, r, expected) in table {
            let e = check_request(&r, "sessions").expect_err(what);
            assert_eq!(field(e), expected, "{what}");
        }
        assert!(check_request(&req(&["k"], &["p:*"], &["t"]), "sessions").is_ok());
    }

    #[test]
    fn every_bad_item_is_listed() {
        let long = "k".repeat(MAX_ITEM_BYTES + 1);
        let r = req(&["", "fine", long.as_str(), ""], &[], &[]);
        let Err(ServiceError::Invalid { details, .. }) = check_request(&r, "sessions") else {
            panic!("three bad keys must be refused");
        };
        let fields: Vec<&str> = details.iter().filter_map(|d| d["field"].as_str()).collect();
        assert_eq!(fields, ["keys[0]", "keys[2]", "keys[3]"]);
    }

    #[test]
    fn guard_rails() {
        let prefixes = vec!["product:".to_owned(), "session:".to_owned()];
        // (patterns, confirmed, dry run, allowed)
        let table = [
            (&["product:*"][..], false, false, true),
            (&["product:42:*", "session:?"], false, false, true),
            (&["*"], false, false, false),
            (&["*product:*"], false, false, false),
            (&["user:*"], false, false, false),
            (&["prod*"], false, false, false),
            (&["product:*", "user:*"], false, false, false),
            (&["*"], true, false, true),
            (&["user:*"], true, false, true),
            (&["user:*"], false, true, true),
        ];
        for (patterns, confirmed, dry_run, allowed) in table {
            let mut r = req(&[], patterns, &[]);
            r.dry_run = dry_run;
            r.confirm = confirmed.then(|| "sessions".to_owned());
            let outcome = guard_patterns(&r, "sessions", &prefixes);
            assert_eq!(
                outcome.is_ok(),
                allowed,
                "{patterns:?} confirmed={confirmed} dry_run={dry_run}"
            );
            if let Err(ServiceError::Refused { field, .. }) = outcome {
                assert_eq!(field, Some("confirm"), "names what waives it");
            }
        }
        assert!(
            beyond_rails(&["x:*".to_owned()], &[]).is_some(),
            "no prefixes: nothing without confirmation"
        );
        assert_eq!(
            beyond_rails(&["*".to_owned()], &prefixes).as_deref(),
            Some("patterns[0] \"*\" can match every key")
        );
    }
}
