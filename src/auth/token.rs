//! Token secrets: generated from the OS random source, shown once, stored as SHA-256.
//!
//! A plain SHA-256 (not a password hash) is right here: the secret is 256 random bits, so
//! there is nothing to brute-force, and lookups stay a single indexed equality.

use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Every token starts with this, so leaked tokens are easy to recognise in code and logs.
pub const TOKEN_PREFIX: &str = "cw_";

/// A token's secret as presented by a client.
pub struct TokenSecret(SecretString);

impl TokenSecret {
    /// Wraps what a client sent.
    pub fn new(s: &str) -> Self {
        Self(SecretString::from(s.to_owned()))
    }

    /// The hash it is stored under.
    pub fn hash(&self) -> String {
        hash_token(self.0.expose_secret())
    }
}

/// A freshly generated token: the secret to show once, and what to store.
pub struct IssuedToken {
    pub secret: SecretString,
    pub hash: String,
    /// The first characters, kept to recognise the token in lists.
    pub prefix: String,
}

/// `N` bytes from the OS random source, as hex: tokens, session ids, CSRF tokens, codes.
pub fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether a presented secret is the expected one, in constant time (`subtle`). An empty
/// expectation matches nothing.
pub fn same_secret(expected: &str, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// Generates a new token.
pub fn issue() -> IssuedToken {
    let secret = format!("{TOKEN_PREFIX}{}", random_hex::<32>());
    IssuedToken {
        hash: hash_token(&secret),
        prefix: secret[..TOKEN_PREFIX.len() + 8].to_owned(),
        secret: SecretString::from(secret),
    }
}

/// Hex SHA-256 of a token.
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_are_unique_and_hash_to_what_is_stored() {
        let a = issue();
        let b = issue();
        assert_ne!(a.secret.expose_secret(), b.secret.expose_secret());
        assert!(a.secret.expose_secret().starts_with("cw_"));
        assert_eq!(a.secret.expose_secret().len(), 3 + 64);
        assert_eq!(TokenSecret::new(a.secret.expose_secret()).hash(), a.hash);
        assert!(a.secret.expose_secret().starts_with(&a.prefix));
    }
}
