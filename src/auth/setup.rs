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

    /// Spends the code if `code` is it (constant time): `true` for exactly one caller, however
    /// many arrive at once.
    pub fn take(&self, code: &str) -> bool {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let open = guard.as_deref().is_some_and(|c| same_secret(c, code));
        if open {
            *guard = None;
        }
        open
    }

    /// Opens `code` again after a setup that took it failed before anyone was created.
    pub fn restore(&self, code: &str) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(code.to_owned());
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
        assert!(!setup.take("0"), "a wrong code spends nothing");
        assert!(setup.take(&code));
        assert!(!setup.take(&code), "only once");
        assert!(!setup.matches(&code));
        setup.restore(&code);
        assert!(setup.take(&code), "open again after a failed setup");
        assert!(!SetupCode::default().matches(""));
    }
}
