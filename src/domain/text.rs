//! Free text from outside (comments, filters, selectors): it is stored, logged and shown on
//! terminals, so control characters are refused where it comes in. PostgreSQL cannot store
//! NUL in text at all, and escape sequences would reach an operator's terminal.

/// Why a text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must not contain control characters (found U+{0:04X})")]
pub struct ControlCharacter(pub u32);

/// Accepts text without control characters (tabs and newlines included: these are
/// one-line fields).
pub fn plain(text: &str) -> Result<&str, ControlCharacter> {
    match text.chars().find(|c| c.is_control()) {
        Some(c) => Err(ControlCharacter(c as u32)),
        None => Ok(text),
    }
}

/// The longest text a listing filters by (audit actor, target, action; a job's target).
pub const MAX_FILTER_LEN: usize = 200;

/// What [`filter`] accepts, as a regular expression (for the API document).
pub const FILTER_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F]{0,200}$";

/// Text a listing filters by: plain, and at most [`MAX_FILTER_LEN`] characters.
pub fn filter(text: &str) -> Result<&str, String> {
    plain(text).map_err(|e| e.to_string())?;
    let n = text.chars().count();
    if n > MAX_FILTER_LEN {
        return Err(format!(
            "may be at most {MAX_FILTER_LEN} characters (this has {n})"
        ));
    }
    Ok(text)
}

/// Text as it may be written to a terminal: control characters (which could be escape
/// sequences from a daemon or a stored row) are shown escaped, like `\u{1b}`, never sent raw.
/// Tabs stay: they separate the columns of the CLI's lists and move only the cursor.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\t';
    if !text.chars().any(unsafe_char) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if unsafe_char(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// `1 item`, `2 items`: a count with its noun, singular or plural.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A duration for people, to the second ("2m 30s", "under a second").
pub fn duration_text(ms: i64) -> String {
    if ms < 1000 {
        return "under a second".to_owned();
    }
    humantime::format_duration(std::time::Duration::from_secs((ms / 1000) as u64)).to_string()
}

/// A size for people, in binary units to one decimal ("1.5 MiB").
pub fn bytes(v: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = v;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1} {}", UNITS[i])
}

/// A count for people: whole, never negative, thousands separated (`41,200`).
pub fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_separated() {
        assert_eq!(super::thousands(0.4), "0");
        assert_eq!(super::thousands(999.0), "999");
        assert_eq!(super::thousands(41_200.2), "41,200");
        assert_eq!(super::thousands(1_234_567.0), "1,234,567");
        assert_eq!(super::thousands(-3.0), "0");
    }

    #[test]
    fn printable_escapes_what_a_terminal_would_obey() {
        assert_eq!(super::printable("plain ✓"), "plain ✓");
        assert_eq!(super::printable("7\talarm"), "7\talarm");
        assert_eq!(super::printable("\u{1b}[2Jgone\0"), "\\u{1b}[2Jgone\\u{0}");
    }

    #[test]
    fn control_characters_are_refused() {
        for bad in [
            "a\0b",
            "\u{1b}[31mred",
            "line\nbreak",
            "tab\there",
            "\u{7f}",
            "\u{85}",
        ] {
            assert!(super::plain(bad).is_err(), "{bad:?}");
        }
        for good in ["", "cache warming, see INC-42", "ünïcödé ✓", "a*b?[c]"] {
            assert_eq!(super::plain(good), Ok(good));
        }
        assert_eq!(
            super::plain("a\0").unwrap_err().to_string(),
            "must not contain control characters (found U+0000)"
        );
    }
}
