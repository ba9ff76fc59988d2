//! The one-time setup link: with no user at all, `serve` logs a link with a random code; the
//! page it opens creates the first admin. The code lives only in this process, so it is valid
//! until used or until the daemon restarts (each replica logs its own).

use std::sync::Mutex;

use super::{random_hex, same_secret};

#[derive(Default)]
pub struct SetupCode(Mutex<Option<String>>);

impl SetupCode {
    /// A fresh code, to put in the link.
    pub fn issue() -> (Self, String) {
        let code = random_hex::<16>();
        (Self(Mutex::new(Some(code.clone()))), code)
    }

    /// Whether `code` is the open code (constant time).
    pub fn matches(&self, code: &str) -> bool {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_deref().is_some_and(|c| same_secret(c, code))
    }

    /// Ends the code (the first admin exists).
    pub fn spend(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_opens_once() {
        let (setup, code) = SetupCode::issue();
        assert_eq!(code.len(), 32);
        assert!(setup.matches(&code));
        assert!(!setup.matches("0"));
        assert!(!setup.matches(""));
        setup.spend();
        assert!(!setup.matches(&code));
        assert!(!SetupCode::default().matches(""));
    }
}
