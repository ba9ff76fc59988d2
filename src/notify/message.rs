//! How receivers put a notification's payload in words (pure): a subject, a text for e-mail
//! and SNS, a one-line summary for chat and paging. The payload itself is the alarm's
//! (`alarms::payload`).

use serde_json::Value;

/// Whether a message of `kind` ends its episode: a receiver closes the incident or alert
/// the alarm message opened (a resolution, or the target's removal).
pub fn ends(kind: &str) -> bool {
    matches!(kind, "resolved" | "target_removed")
}

fn head(p: &Value) -> &'static str {
    match p["kind"].as_str() {
        Some("resolved") => "RESOLVED",
        Some("target_removed") => "ENDED (TARGET REMOVED)",
        Some("reminder") => "STILL ALARM",
        _ => "ALARM",
    }
}

/// A short subject (e-mail, SNS): `ALARM sessions-hit-rate on sessions`, ASCII only and at
/// most 100 characters (SNS's limit).
pub fn subject(p: &Value) -> String {
    let text = format!(
        "{} {} on {}",
        head(p),
        p["alarm"].as_str().unwrap_or_default(),
        p["target"].as_str().unwrap_or_default()
    );
    text.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(100)
        .collect()
}

/// A plain-text message (e-mail, SNS subscribers that read text): the summary, then one line
/// per fact.
pub fn text(p: &Value) -> String {
    let time = |v: &Value| {
        v.as_i64()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    let mut out = format!("{}\n\n", summary(p));
    let fields = [
        ("Alarm", p["alarm"].as_str().unwrap_or_default().to_owned()),
        (
            "Target",
            p["target"].as_str().unwrap_or_default().to_owned(),
        ),
        (
            "Series",
            p["series"].as_str().unwrap_or_default().to_owned(),
        ),
        ("Value", p["value"].to_string()),
        ("Threshold", p["threshold"].to_string()),
        ("State", p["state"].as_str().unwrap_or_default().to_owned()),
        ("Since", time(&p["since"])),
        (
            "Severity",
            p["severity"].as_str().unwrap_or_default().to_owned(),
        ),
        (
            "Reason",
            p["reason"].as_str().unwrap_or_default().to_owned(),
        ),
        (
            "Expected",
            p["expected"].as_str().unwrap_or_default().to_owned(),
        ),
        ("Alarm", p["link"].as_str().unwrap_or_default().to_owned()),
        (
            "Charts",
            p["target_link"].as_str().unwrap_or_default().to_owned(),
        ),
    ];
    for (name, value) in fields.iter().filter(|(_, v)| !v.is_empty()) {
        out.push_str(&format!("{name}: {value}\n"));
    }
    for job in p["recent_invalidations"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "Recent invalidation #{} ({}) by {}: {}\n",
            job["job"],
            job["state"].as_str().unwrap_or_default(),
            job["requester"].as_str().unwrap_or_default(),
            job["items"]
        ));
    }
    out
}

/// `ALARM sessions-hit-rate on sessions: hit_rate 0.20 (below 0.8) — 2 of the last 3 …`
pub fn summary(p: &Value) -> String {
    let head = head(p);
    let value = p["value"]
        .as_f64()
        .map(|v| format!("{v:.3}"))
        .unwrap_or_else(|| "no datapoint".into());
    let threshold = p["threshold"]
        .as_object()
        .and_then(|o| o.iter().next())
        .map(|(k, v)| format!(" ({k} {v})"))
        .unwrap_or_default();
    let mut line = format!(
        "{head} {} on {}: {} {value}{threshold} — {}",
        p["alarm"].as_str().unwrap_or_default(),
        p["target"].as_str().unwrap_or_default(),
        p["series"].as_str().unwrap_or_default(),
        p["reason"].as_str().unwrap_or_default()
    );
    if let Some(expected) = p["expected"].as_str() {
        line.push_str(&format!(" ({expected})"));
    }
    if let Some(jobs) = p["recent_invalidations"]
        .as_array()
        .filter(|j| !j.is_empty())
    {
        line.push_str(&format!(
            ". {} invalidation(s) ran on this target in the previous 30 minutes",
            jobs.len()
        ));
    }
    if let Some(link) = p["link"].as_str() {
        line.push_str(&format!(". {link}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A removal ends the episode for every receiver, and says so instead of "RESOLVED".
    #[test]
    fn a_removed_target_ends_the_episode_in_words_of_its_own() {
        assert!(ends("resolved") && ends("target_removed"));
        assert!(!ends("alarm") && !ends("reminder"));
        let p = json!({ "kind": "target_removed", "alarm": "hit", "target": "t" });
        assert_eq!(subject(&p), "ENDED (TARGET REMOVED) hit on t");
    }
}
