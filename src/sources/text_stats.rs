//! Parsing the text the servers answer with (pure): Redis `INFO` and memcached `stats`.

use std::collections::HashMap;

/// Redis `INFO`: `key:value` lines grouped under `# Section` headers. Returns every field.
pub fn parse_redis_info(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The total key count from `INFO keyspace` lines such as `db0:keys=12,expires=3,avg_ttl=0`.
pub fn redis_key_count(info: &HashMap<String, String>) -> u64 {
    info.iter()
        .filter(|(k, _)| k.starts_with("db") && k[2..].chars().all(|c| c.is_ascii_digit()))
        .filter_map(|(_, v)| {
            v.split(',')
                .find_map(|kv| kv.strip_prefix("keys="))
                .and_then(|n| n.parse::<u64>().ok())
        })
        .sum()
}

/// A numeric field, if present and numeric.
pub fn number(info: &HashMap<String, String>, key: &str) -> Option<u64> {
    info.get(key).and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "# Server\r\nredis_version:7.0.15\r\nrun_id:abc123\r\nuptime_in_seconds:42\r\n\r\n\
        # Clients\r\nconnected_clients:3\r\n\r\n# Memory\r\nused_memory:1048576\r\nmaxmemory:0\r\n\r\n\
        # Stats\r\nkeyspace_hits:90\r\nkeyspace_misses:10\r\nevicted_keys:2\r\nexpired_keys:5\r\n\r\n\
        # Keyspace\r\ndb0:keys=12,expires=3,avg_ttl=0\r\ndb3:keys=8,expires=0,avg_ttl=0\r\n";

    #[test]
    fn reads_the_fields_the_collector_needs() {
        let info = parse_redis_info(INFO);
        assert_eq!(info["run_id"], "abc123");
        assert_eq!(number(&info, "keyspace_hits"), Some(90));
        assert_eq!(number(&info, "keyspace_misses"), Some(10));
        assert_eq!(number(&info, "used_memory"), Some(1_048_576));
        assert_eq!(number(&info, "connected_clients"), Some(3));
        assert_eq!(number(&info, "redis_version"), None, "not a number");
        assert_eq!(redis_key_count(&info), 20);
    }

    #[test]
    fn an_empty_keyspace_has_no_keys() {
        assert_eq!(redis_key_count(&parse_redis_info("# Keyspace\r\n")), 0);
    }
}
