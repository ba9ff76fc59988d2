//! Redis glob patterns, as `SCAN … MATCH` and `KEYS` read them: `*` any run of bytes, `?` one
//! byte, `[abc]`, `[^a]`, `[a-z]` classes, `\x` the byte x itself. Pure: several patterns of
//! one purge share one scan and are matched here, and guard rails read a pattern's literal
//! prefix.

/// Whether `key` matches `pattern` (Redis semantics, byte-wise, case-sensitive).
pub fn matches(pattern: &[u8], key: &[u8]) -> bool {
    let (mut p, mut k) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, key index it consumed to).
    let mut star: Option<(usize, usize)> = None;
    while k < key.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, k));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => class(pattern, p, key[k]),
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == key[k]).then_some(p + 2),
            Some(&c) => (c == key[k]).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                p = next;
                k += 1;
            }
            // Let the last `*` take one more byte and try again from there.
            (None, Some((after, taken))) => {
                p = after;
                k = taken + 1;
                star = Some((after, taken + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the class opening at `pattern[open]`; the index after it if it does.
fn class(pattern: &[u8], open: usize, c: u8) -> Option<usize> {
    let mut i = open + 1;
    let negate = pattern.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut hit = false;
    while i < pattern.len() && pattern[i] != b']' {
        if pattern[i] == b'\\' && i + 1 < pattern.len() {
            hit |= pattern[i + 1] == c;
            i += 2;
        } else if i + 2 < pattern.len() && pattern[i + 1] == b'-' && pattern[i + 2] != b']' {
            let (lo, hi) = (
                pattern[i].min(pattern[i + 2]),
                pattern[i].max(pattern[i + 2]),
            );
            hit |= (lo..=hi).contains(&c);
            i += 3;
        } else {
            hit |= pattern[i] == c;
            i += 1;
        }
    }
    // An unclosed class runs to the end of the pattern, as in Redis.
    (hit != negate).then_some((i + 1).min(pattern.len()))
}

/// Why `pattern` is not a pattern people mean: a `[` class never closed, or a `\\` with
/// nothing to escape. Redis would read both (to the end of the pattern) rather than refuse
/// them, and what they then match is never what was meant.
pub fn check(pattern: &str) -> Result<(), &'static str> {
    let b = pattern.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 == b.len() => return Err("ends with a \\ that escapes nothing"),
            b'\\' => i += 2,
            b'[' => {
                i += 1;
                if b.get(i) == Some(&b'^') {
                    i += 1;
                }
                loop {
                    match b.get(i) {
                        None => return Err("has a [ that no ] closes (write \\[ for a literal [)"),
                        Some(b']') => break,
                        Some(b'\\') => i += 2,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// The literal text every key matching `pattern` starts with (escapes resolved).
pub fn literal_prefix(pattern: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' | '[' => break,
            '\\' => match chars.next() {
                Some(n) => out.push(n),
                None => break,
            },
            c => out.push(c),
        }
    }
    out
}

/// `text` with every glob character escaped, so that as a pattern it matches only itself
/// (an event's value can never widen a purge).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The longest literal prefix all `patterns` share, as a pattern (`prefix*`): one scan can
/// serve them all with it as its MATCH, the exact patterns being checked here.
pub fn shared_match(patterns: &[String]) -> String {
    let prefixes: Vec<String> = patterns.iter().map(|p| literal_prefix(p)).collect();
    let mut common = prefixes.first().cloned().unwrap_or_default();
    for p in &prefixes[1..] {
        let n = common
            .chars()
            .zip(p.chars())
            .take_while(|(a, b)| a == b)
            .count();
        common = common.chars().take(n).collect();
    }
    if patterns.len() == 1 {
        return patterns[0].clone();
    }
    format!("{}*", escape(&common))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_as_redis_does() {
        // (pattern, key, matches)
        let table = [
            ("product:*", "product:42", true),
            ("product:*", "product:", true),
            ("product:*", "products:1", false),
            ("*", "", true),
            ("*", "anything", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("a*c", "abcbc", true),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h[a-b]llo", "hcllo", false),
            ("user:\\*", "user:*", true),
            ("user:\\*", "user:42", false),
            ("user:[\\]]", "user:]", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("", "", true),
            ("", "x", false),
        ];
        for (pattern, key, expected) in table {
            assert_eq!(
                matches(pattern.as_bytes(), key.as_bytes()),
                expected,
                "{pattern:?} ~ {key:?}"
            );
        }
    }

    #[test]
    fn malformed_patterns_are_named() {
        for ok in ["product:*", "a[bc]d", "a[^b]", "x\\[", "[\\]]", "", "*"] {
            assert_eq!(check(ok), Ok(()), "{ok:?}");
        }
        for bad in ["[", "product:[", "a[bc", "[^", "x\\", "[\\]"] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prefixes_escapes_and_shared_scans() {
        assert_eq!(literal_prefix("product:*"), "product:");
        assert_eq!(literal_prefix("user:\\*:x*"), "user:*:x");
        assert_eq!(literal_prefix("*"), "");
        assert_eq!(literal_prefix("a?b"), "a");
        assert_eq!(escape("*"), "\\*");
        assert_eq!(escape("a[1]?\\"), "a\\[1\\]\\?\\\\");
        for value in ["*", "a[1]?\\", "x*y", "plain"] {
            assert!(
                matches(escape(value).as_bytes(), value.as_bytes()),
                "{value}"
            );
            assert!(!matches(escape(value).as_bytes(), b"other-key"), "{value}");
        }
        assert_eq!(shared_match(&["product:1*".into()]), "product:1*");
        assert_eq!(
            shared_match(&["product:1*".into(), "product:2*".into()]),
            "product:*"
        );
        assert_eq!(shared_match(&["a*".into(), "b*".into()]), "*");
    }
}
