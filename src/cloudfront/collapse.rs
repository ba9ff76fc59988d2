//! The opt-in collapse policy (`collapse_over` on a target). The paths of one directory beyond
//! a count are sent as one wildcard (`/products/*`). That bills one path instead of many, but
//! it empties more of the cache, which the target's past wildcards' measured impact shows
//! beside the plan. Pure.

use serde::{Deserialize, Serialize};

use crate::domain::{InvalidationItem, coalesce};

/// One directory sent as a wildcard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Collapsed {
    /// What is sent instead (`/products/*`).
    pub wildcard: String,
    /// How many paths it replaced.
    pub paths: usize,
}

/// The directory of a file path, with its trailing `/` (`/a/b/c.html` → `/a/b/`).
fn directory(path: &str) -> &str {
    &path[..path.rfind('/').map_or(0, |i| i + 1)]
}

/// Replaces the paths of each directory holding more than `over` of them with one wildcard,
/// the fullest directories first, as long as the request keeps at most `max_wildcards`
/// wildcards. The result is coalesced again (a new wildcard may cover other items).
pub fn collapse(
    items: Vec<InvalidationItem>,
    over: usize,
    max_wildcards: usize,
) -> (Vec<InvalidationItem>, Vec<Collapsed>) {
    let mut by_dir: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for i in &items {
        if let InvalidationItem::Path(p) = i
            && !i.is_wildcard()
        {
            *by_dir.entry(directory(p).to_owned()).or_default() += 1;
        }
    }
    let mut full: Vec<(String, usize)> = by_dir.into_iter().filter(|(_, n)| *n > over).collect();
    full.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut wildcards = items.iter().filter(|i| i.is_wildcard()).count();
    let mut collapsed = Vec::new();
    let mut out = items;
    for (dir, n) in full {
        if wildcards >= max_wildcards {
            break;
        }
        let Ok(w) = InvalidationItem::parse(&format!("{dir}*")) else {
            continue;
        };
        wildcards += 1;
        collapsed.push(Collapsed {
            wildcard: w.to_string(),
            paths: n,
        });
        out.push(w);
    }
    (coalesce(out), collapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(v: &[&str]) -> Vec<InvalidationItem> {
        v.iter()
            .map(|s| InvalidationItem::parse(s).unwrap())
            .collect()
    }

    fn texts(v: &[InvalidationItem]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn full_directories_become_wildcards_within_the_limit() {
        let many: Vec<String> = (0..5).map(|i| format!("/p/{i}.html")).collect();
        let few: Vec<String> = (0..3).map(|i| format!("/q/{i}.html")).collect();
        let mut all: Vec<&str> = many.iter().chain(&few).map(String::as_str).collect();
        all.extend(["/index.html", "#product"]);
        // (over, max wildcards) → (sent, collapsed)
        type Case<'a> = ((usize, usize), Vec<&'a str>, Vec<(&'a str, usize)>);
        let cases: [Case; 3] = [
            (
                (3, 15),
                vec![
                    "#product",
                    "/index.html",
                    "/p/*",
                    "/q/0.html",
                    "/q/1.html",
                    "/q/2.html",
                ],
                vec![("/p/*", 5)],
            ),
            (
                (2, 15),
                vec!["#product", "/index.html", "/p/*", "/q/*"],
                vec![("/p/*", 5), ("/q/*", 3)],
            ),
            // No wildcard left in the limit: nothing collapses.
            ((2, 0), all.to_vec(), vec![]),
        ];
        for ((over, max), sent, folded) in cases {
            let (out, collapsed) = collapse(items(&all), over, max);
            let mut want: Vec<String> = sent.iter().map(|s| s.to_string()).collect();
            want.sort();
            let mut got = texts(&out);
            got.sort();
            assert_eq!(got, want, "over {over}, max {max}");
            let folded: Vec<Collapsed> = folded
                .into_iter()
                .map(|(w, n)| Collapsed {
                    wildcard: w.into(),
                    paths: n,
                })
                .collect();
            assert_eq!(collapsed, folded, "over {over}, max {max}");
        }
    }
}
