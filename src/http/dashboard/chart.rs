//! Line charts drawn on the server as SVG: labelled axes, gaps shown as gaps, and marks on the
//! same time axis for what happened (jobs, alarm transitions). Each mark is focusable and
//! carries a `<title>`, so hovering or tabbing to it says what and who without JavaScript;
//! `app.js` adds values on hover from each line's `data-points`.

use std::fmt::Write;

use askama::Template;

const W: f64 = 720.0;
const H: f64 = 180.0;
/// Room for the y labels on the left and the time labels below.
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 8.0;
const RIGHT: f64 = 8.0;

/// One series to draw.
pub struct Series<'a> {
    pub label: &'a str,
    pub points: &'a [(i64, f64)],
    /// Drawn in a warm colour: misses, errors, evictions (what costs).
    pub warm: bool,
}

/// A horizontal line at a value: an alarm's threshold, a memory limit.
pub struct Threshold {
    pub y: f64,
    /// Where its label sits: above the line, or below it when the line is near the top.
    pub label_y: f64,
    pub label: String,
}

pub struct Line {
    pub label: String,
    /// `s0`, `s1`, …: the colour, from the stylesheet.
    pub class: String,
    /// The path (numbers only).
    pub d: String,
    /// `ts,value;…` for the hover script.
    pub data: String,
}

pub struct Tick {
    pub at: f64,
    pub label: String,
    /// `start`, `middle` or `end`: the outer time labels stay inside the chart.
    pub anchor: &'static str,
}

/// The smallest 1, 2 or 5 times a power of ten at or above `v`, so axis labels are round.
fn nice_ceiling(v: f64) -> f64 {
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= v)
        .unwrap_or(v)
}

/// Something that happened, drawn as a vertical line.
pub struct Mark {
    pub x: f64,
    /// `job` or `alarm`: the colour.
    pub class: &'static str,
    /// What and who, for the tooltip and screen readers.
    pub label: String,
    pub href: String,
}

/// A stretch of time shaded behind the lines (a change's dip until recovery).
pub struct Band {
    pub x: f64,
    pub w: f64,
    pub label: String,
}

/// What happened, before placing it.
pub struct Happening {
    pub at: i64,
    pub class: &'static str,
    pub label: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "chart.html")]
pub struct Chart {
    pub id: String,
    pub title: String,
    pub unit: String,
    pub lines: Vec<Line>,
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    pub marks: Vec<Mark>,
    pub bands: Vec<Band>,
    pub thresholds: Vec<Threshold>,
    pub empty: bool,
    /// The value at the top of the plot (the y scale).
    hi: f64,
    /// The time range (ms), for the hover script.
    pub from: i64,
    pub to: i64,
    pub w: f64,
    pub h: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub base: f64,
}

/// How values read on the y axis.
#[derive(Clone, Copy)]
pub enum Unit {
    /// 0.0–1.0, shown as percent.
    Ratio,
    /// Counted per interval (hits, evictions).
    Count,
    /// A level at each moment (connections, keys stored).
    Level,
    Bytes,
    Milliseconds,
}

impl Unit {
    /// How a kind's series is drawn: its unit, and for counts whether they are per interval.
    pub fn of(s: &crate::targets::Series) -> Self {
        match s.unit {
            crate::targets::Unit::Ratio => Unit::Ratio,
            crate::targets::Unit::Count if s.counter => Unit::Count,
            crate::targets::Unit::Count => Unit::Level,
            crate::targets::Unit::Bytes => Unit::Bytes,
            crate::targets::Unit::Milliseconds => Unit::Milliseconds,
        }
    }
}

fn value_label(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Ratio => format!("{:.0} %", v * 100.0),
        Unit::Count | Unit::Level if v >= 1e6 => format!("{:.1}M", v / 1e6),
        Unit::Count | Unit::Level if v >= 1e3 => format!("{:.1}k", v / 1e3),
        Unit::Count | Unit::Level => format!("{v:.0}"),
        Unit::Bytes if v >= 1_073_741_824.0 => format!("{:.1} GiB", v / 1_073_741_824.0),
        Unit::Bytes if v >= 1_048_576.0 => format!("{:.1} MiB", v / 1_048_576.0),
        Unit::Bytes => format!("{:.0} KiB", v / 1024.0),
        Unit::Milliseconds if v >= 1000.0 => format!("{:.1} s", v / 1000.0),
        Unit::Milliseconds => format!("{v:.0} ms"),
    }
}

/// A current value for people, to the precision a reading needs ("50.0 %", "1,204",
/// "1.0 MiB", "35 ms").
pub fn reading(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Ratio => format!("{:.1} %", v * 100.0),
        Unit::Count | Unit::Level if v.fract() == 0.0 || v >= 100.0 => {
            crate::domain::text::thousands(v)
        }
        Unit::Count | Unit::Level => format!("{v:.2}"),
        Unit::Bytes => crate::domain::text::bytes(v),
        Unit::Milliseconds => format!("{v:.0} ms"),
    }
}

fn time_label(ms: i64, span: i64) -> String {
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
        return String::new();
    };
    if span > 2 * 86_400_000 {
        t.format("%m-%d %H:%M").to_string()
    } else if span < 600_000 {
        // Minutes alone would repeat the same label across a short chart.
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%H:%M").to_string()
    }
}

impl Chart {
    /// Draws a dashed line at `value` (clipped to the plot), saying what it is.
    pub fn with_threshold(mut self, value: f64, label: String) -> Self {
        let v = value.clamp(0.0, self.hi);
        let y = self.top + (self.base - self.top) * (1.0 - v / self.hi);
        let label_y = if y - 14.0 < self.top {
            y + 13.0
        } else {
            y - 4.0
        };
        self.thresholds.push(Threshold { y, label_y, label });
        self
    }

    /// Shades [from_ms, to_ms] (clipped to the chart), saying what it is.
    pub fn with_band(mut self, from_ms: i64, to_ms: i64, label: String) -> Self {
        let span = (self.to - self.from).max(1) as f64;
        let x_of = |ms: i64| {
            let ms = ms.clamp(self.from, self.to);
            self.left + (ms - self.from) as f64 / span * (self.right - self.left)
        };
        let (x1, x2) = (x_of(from_ms), x_of(to_ms));
        if x2 > x1 {
            self.bands.push(Band {
                x: x1,
                w: x2 - x1,
                label,
            });
        }
        self
    }

    /// A chart of `series` over [from, to]; a gap longer than `gap_ms` breaks a line.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: &str,
        title: &str,
        unit: Unit,
        series: &[Series],
        happenings: &[Happening],
        from: i64,
        to: i64,
        gap_ms: i64,
    ) -> Self {
        let span = (to - from).max(1);
        let hi = match unit {
            Unit::Ratio => 1.0,
            _ => series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .fold(0.0_f64, f64::max)
                .max(1.0),
        };
        let hi = match unit {
            Unit::Ratio => hi,
            _ => nice_ceiling(hi * 1.05).max(2.0),
        };
        // Cool colours for what is good or neutral, warm ones (vermillion, orange) for what
        // costs; the palette is told apart with red-green colour blindness too.
        let (mut cool, mut warm) = (0, 0);
        let plot_w = W - LEFT - RIGHT;
        let plot_h = H - TOP - BOTTOM;
        let x = |ts: i64| LEFT + (ts - from) as f64 / span as f64 * plot_w;
        let y = |v: f64| TOP + plot_h - (v.clamp(0.0, hi) / hi) * plot_h;
        let lines = series
            .iter()
            .map(|s| {
                let mut d = String::new();
                let mut data = String::new();
                let mut prev: Option<i64> = None;
                for &(ts, v) in s.points {
                    let verb = if prev.is_none_or(|p| ts - p > gap_ms) {
                        'M'
                    } else {
                        'L'
                    };
                    let _ = write!(d, "{verb}{:.1},{:.1} ", x(ts), y(v));
                    if verb == 'M' {
                        // A lone datapoint stays visible as a short stroke.
                        d.push_str("h1 ");
                    }
                    let _ = write!(data, "{ts},{v};");
                    prev = Some(ts);
                }
                let class = if s.warm {
                    warm += 1;
                    format!("w{}", warm - 1)
                } else {
                    cool += 1;
                    format!("s{}", cool - 1)
                };
                Line {
                    label: s.label.to_owned(),
                    class,
                    d: d.trim_end().to_owned(),
                    data,
                }
            })
            .collect();
        let y_ticks = [0.0, 0.5, 1.0]
            .iter()
            .map(|f| Tick {
                at: y(hi * f),
                label: value_label(hi * f, unit),
                anchor: "end",
            })
            .collect();
        let x_ticks = (0..=4)
            .map(|i| {
                let ts = from + span * i / 4;
                Tick {
                    at: x(ts),
                    label: time_label(ts, span),
                    anchor: match i {
                        0 => "start",
                        4 => "end",
                        _ => "middle",
                    },
                }
            })
            .collect();
        let marks = happenings
            .iter()
            .filter(|h| h.at >= from && h.at <= to)
            .map(|h| Mark {
                x: x(h.at),
                class: h.class,
                label: h.label.clone(),
                href: h.href.clone(),
            })
            .collect();
        Self {
            id: id.to_owned(),
            title: title.to_owned(),
            unit: match unit {
                Unit::Ratio => "percent",
                Unit::Count => "count per interval",
                Unit::Level => "count",
                Unit::Bytes => "bytes",
                Unit::Milliseconds => "milliseconds",
            }
            .to_owned(),
            empty: series.iter().all(|s| s.points.is_empty()),
            lines,
            y_ticks,
            x_ticks,
            marks,
            bands: Vec::new(),
            thresholds: Vec::new(),
            hi,
            from,
            to,
            w: W,
            h: H,
            left: LEFT,
            right: W - RIGHT,
            top: TOP,
            base: H - BOTTOM,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_labels_fit_the_span_and_a_band_sits_within_the_plot() {
        let at = 1_764_684_000_000; // 2025-12-02 14:00:00 UTC
        assert_eq!(time_label(at + 5_000, 120_000), "14:00:05");
        assert_eq!(time_label(at, 6 * 3_600_000), "14:00");
        assert_eq!(time_label(at, 7 * 86_400_000), "12-02 14:00");
        let c = Chart::new("c", "hit rate", Unit::Ratio, &[], &[], 0, 100, 20)
            .with_band(50, 200, "dip".into())
            .with_band(30, 30, "empty".into());
        assert_eq!(c.bands.len(), 1, "an empty band is not drawn");
        let b = &c.bands[0];
        assert!(
            (b.x + b.w - c.right).abs() < 1e-9,
            "clipped at the right edge"
        );
        assert!((b.x - (c.left + c.right) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn lines_break_at_gaps_and_marks_sit_on_the_time_axis() {
        let points = [(0, 0.0), (10, 1.0), (100, 0.5)];
        let c = Chart::new(
            "c",
            "hit rate",
            Unit::Ratio,
            &[Series {
                label: "hit rate",
                points: &points,
                warm: false,
            }],
            &[Happening {
                at: 50,
                class: "job",
                label: "purge #1 by alice".into(),
                href: "/jobs/1".into(),
            }],
            0,
            100,
            20,
        );
        let d = &c.lines[0].d;
        assert_eq!(d.matches('M').count(), 2, "a gap between 10 and 100: {d}");
        assert_eq!(d.matches('L').count(), 1, "{d}");
        assert_eq!(c.marks.len(), 1);
        assert!((c.marks[0].x - (LEFT + (W - LEFT - RIGHT) / 2.0)).abs() < 0.01);
        assert_eq!(c.y_ticks.last().unwrap().label, "100 %");
        assert!(!c.empty);
        assert_eq!(nice_ceiling(7.3), 10.0);
        assert_eq!(nice_ceiling(1.2), 2.0);
        assert_eq!(nice_ceiling(420.0), 500.0);
        let c = c.with_threshold(0.8, "alarm hit-rate: below 80 %".into());
        let t = &c.thresholds[0];
        assert!((t.y - (c.top + (c.base - c.top) * 0.2)).abs() < 1e-9);
        let html = c.render().unwrap();
        assert!(html.contains("<title>purge #1 by alice</title>"), "{html}");
        assert!(
            html.contains("<title>alarm hit-rate: below 80 %</title>"),
            "{html}"
        );
    }
}
