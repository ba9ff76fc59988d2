//! Redis Cluster hash slots: multi-key commands must stay within one slot (CROSSSLOT
//! otherwise), so deletions are grouped by slot.

/// The slot of `key`: CRC16 (XMODEM) of its hash tag, or of the whole key, modulo 16384.
pub fn of(key: &[u8]) -> u16 {
    crc16::State::<crc16::XMODEM>::calculate(hash_tag(key).unwrap_or(key)) % 16384
}

/// The part between the first `{` and the next `}`, if not empty (Redis's hash tag rule).
fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&b| b == b'{')?;
    let len = key[open + 1..].iter().position(|&b| b == b'}')?;
    (len > 0).then(|| &key[open + 1..open + 1 + len])
}

#[cfg(test)]
mod tests {
    #[test]
    fn slots_as_redis_computes_them() {
        // Values from CLUSTER KEYSLOT on a real server.
        assert_eq!(super::of(b"foo"), 12182);
        assert_eq!(super::of(b"bar"), 5061);
        assert_eq!(
            super::of(b"{user1000}.following"),
            super::of(b"{user1000}.followers")
        );
        assert_eq!(super::of(b"foo{}{bar}"), super::of(b"foo{}{bar}"));
        assert_ne!(
            super::of(b"foo{}{bar}"),
            super::of(b"bar"),
            "an empty tag hashes the whole key"
        );
        assert_eq!(super::of(b"foo{{bar}}zap"), super::of(b"{bar"));
    }
}
