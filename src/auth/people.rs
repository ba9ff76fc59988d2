//! People: the rules for names and passwords, and argon2id hashing (RustCrypto's `argon2`
//! with its defaults: argon2id, 19 MiB, 2 passes, the OWASP recommendation). The hash is a PHC
//! string that carries its parameters, so stronger ones later still verify old hashes.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use secrecy::{ExposeSecret, SecretString};

/// Why a name or a password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

const MIN_PASSWORD: usize = 12;
const MAX_PASSWORD: usize = 1024;

/// A person's name: 1-128 characters, lowercase letters, digits and `. _ - @ +`, starting
/// with a letter or digit, so an e-mail address (what SSO proxies send) fits.
pub fn check_user_name(name: &str) -> Result<(), Refused> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-@+".contains(c);
    match name.chars().next() {
        None => Err(Refused("must not be empty".into())),
        Some(_) if name.len() > 128 => Err(Refused("must be at most 128 characters".into())),
        Some(first) if !(first.is_ascii_lowercase() || first.is_ascii_digit()) => Err(Refused(
            "must start with a lowercase letter or a digit".into(),
        )),
        Some(_) => match name.chars().find(|c| !ok_char(*c)) {
            Some(c) => Err(Refused(format!(
                "may contain only lowercase letters, digits and . _ - @ +; found {c:?}"
            ))),
            None => Ok(()),
        },
    }
}

/// The password rule (length, as NIST SP 800-63B asks, rather than character classes).
pub fn check_password(password: &SecretString) -> Result<(), Refused> {
    let n = password.expose_secret().chars().count();
    if n < MIN_PASSWORD {
        return Err(Refused(format!(
            "must be at least {MIN_PASSWORD} characters (a passphrase is fine)"
        )));
    }
    if n > MAX_PASSWORD {
        return Err(Refused(format!(
            "must be at most {MAX_PASSWORD} characters"
        )));
    }
    Ok(())
}

/// The argon2id PHC string of a password that passed [`check_password`].
pub fn hash_password(password: &SecretString) -> Result<String, Refused> {
    check_password(password)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Refused(format!("cannot hash the password: {e}")))
}

/// Whether `password` is the one `hash` was made from. A malformed hash never matches.
pub fn verify_password(hash: &str, password: &SecretString) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn argon2id_hashes_verify_only_their_password() {
        let h = hash_password(&secret("correct horse battery")).unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, &secret("correct horse battery")));
        assert!(!verify_password(&h, &secret("correct horse batterY")));
        assert!(!verify_password(
            "not a hash",
            &secret("correct horse battery")
        ));
        // Salted: the same password twice gives two hashes.
        assert_ne!(h, hash_password(&secret("correct horse battery")).unwrap());
    }

    #[test]
    fn bad_names_and_passwords_say_the_rule() {
        for (name, ok) in [
            ("alice", true),
            ("alice@example.com", true),
            ("a.b-c_d+e", true),
            ("", false),
            ("Alice", false),
            ("-alice", false),
            ("ali ce", false),
            ("<script>", false),
        ] {
            assert_eq!(check_user_name(name).is_ok(), ok, "{name:?}");
        }
        assert!(
            check_password(&secret("short"))
                .unwrap_err()
                .0
                .contains("at least 12")
        );
        assert!(check_password(&secret(&"x".repeat(1025))).is_err());
        assert!(check_password(&secret("twelve chars")).is_ok());
    }
}
