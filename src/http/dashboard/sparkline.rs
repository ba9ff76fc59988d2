//! A small inline SVG chart of a series (pure): server-rendered, so the dashboard shows
//! numbers over time without JavaScript.

use std::fmt::Write;

/// An SVG polyline of `(ts, value)` points over `[from, to]`, values scaled to `[lo, hi]`.
/// Gaps longer than `gap_ms` break the line (no traffic is no datapoint, not a slope).
/// Empty input gives an empty string.
pub fn svg(
    points: &[(i64, f64)],
    from: i64,
    to: i64,
    lo: f64,
    hi: f64,
    gap_ms: i64,
    label: &str,
) -> String {
    const W: f64 = 160.0;
    const H: f64 = 32.0;
    if points.is_empty() || to <= from || hi <= lo {
        return String::new();
    }
    let x = |ts: i64| (ts - from) as f64 / (to - from) as f64 * W;
    let y = |v: f64| H - ((v.clamp(lo, hi) - lo) / (hi - lo) * (H - 2.0)) - 1.0;
    let mut paths = String::new();
    let mut d = String::new();
    let mut prev: Option<i64> = None;
    for (ts, v) in points {
        if prev.is_none_or(|p| ts - p > gap_ms) {
            // A new segment; the short stroke keeps a lone datapoint visible.
            let _ = write!(d, "M{:.1},{:.1} h2 ", x(*ts), y(*v));
        } else {
            let _ = write!(d, "L{:.1},{:.1} ", x(*ts), y(*v));
        }
        prev = Some(*ts);
    }
    let _ = write!(
        paths,
        r#"<path d="{}" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round"/>"#,
        d.trim_end()
    );
    // A faint box so the time span reads as a chart even while the line is short.
    format!(
        r##"<svg class="spark" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{label}"><rect width="{W}" height="{H}" fill="#eef1f5"/>{paths}</svg>"##
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_points_into_the_box_and_breaks_at_gaps() {
        let s = svg(
            &[(0, 0.0), (50, 1.0), (300, 0.5)],
            0,
            400,
            0.0,
            1.0,
            100,
            "hit rate",
        );
        assert!(
            s.starts_with(r#"<svg class="spark" viewBox="0 0 160 32""#),
            "{s}"
        );
        assert!(
            s.contains(r#"d="M0.0,31.0 h2 L20.0,1.0 M120.0,16.0 h2""#),
            "{s}"
        );
        assert!(s.contains(r#"aria-label="hit rate""#));
        assert_eq!(svg(&[], 0, 1, 0.0, 1.0, 1, "x"), "");
    }
}
