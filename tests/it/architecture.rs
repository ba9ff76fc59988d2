//! The import rules of ARCHITECTURE.md's code map, checked: a folder that must not import a
//! module does not name it outside its tests and comments.

use std::path::{Path, PathBuf};

use crate::harness::process::repo_root;

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if dir.is_file() {
        return vec![dir.to_owned()];
    }
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(sources(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// The code of a file: no comments, nothing from `#[cfg(test)]` on (test modules come last),
/// and no test files.
fn code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn each_folder_imports_only_what_the_code_map_allows() {
    let src = repo_root().join("src");
    // (folder, what it must not name)
    let rules: &[(&str, &[&str])] = &[
        ("domain", &["crate::"]),
        (
            "store",
            &[
                "crate::auth",
                "crate::config",
                "crate::jobs",
                "crate::http",
                "crate::targets",
            ],
        ),
        (
            "jobs",
            &[
                "crate::registry",
                "crate::cloudfront",
                "crate::apigateway",
                "crate::purge",
                "crate::events",
                "crate::http",
            ],
        ),
        (
            "config",
            &[
                "crate::store",
                "crate::http",
                "crate::jobs",
                "crate::status",
            ],
        ),
        (
            "targets",
            &[
                "crate::http",
                "crate::jobs",
                "crate::alarms",
                "crate::status",
            ],
        ),
        ("cloudfront", &["crate::http"]),
        ("apigateway", &["crate::http"]),
        ("impact", &["crate::http", "crate::jobs"]),
        ("purge", &["crate::http"]),
        ("events", &["crate::http"]),
        ("status", &["crate::http"]),
        (
            "discovery",
            &["crate::http", "crate::reload", "crate::jobs"],
        ),
        ("alarms", &["crate::http"]),
        ("auth", &["crate::http"]),
    ];
    let mut broken = Vec::new();
    for (folder, banned) in rules {
        let dir = src.join(folder);
        let dir = if dir.exists() {
            dir
        } else {
            src.join(format!("{folder}.rs"))
        };
        for file in sources(&dir) {
            let code = code(&file);
            for b in *banned {
                if code.contains(b) {
                    broken.push(format!("{} names {b}", file.display()));
                }
            }
        }
    }
    // Handlers go through services: nothing in `http` reaches the store itself.
    for file in sources(&src.join("http")) {
        let code = code(&file);
        if code.contains(".store.") || code.contains("state.store") {
            broken.push(format!("{} calls the store", file.display()));
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}

/// The top-level modules of `src/` and the others each one names.
fn module_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let src = repo_root().join("src");
    let mut graph = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "main" || name == "lib" {
            continue;
        }
        let mut names = std::collections::BTreeSet::new();
        for file in sources(&path) {
            let code = code(&file);
            for part in code.split("crate::").skip(1) {
                let m: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !m.is_empty() && m != name {
                    names.insert(m);
                }
            }
        }
        graph.insert(name, names);
    }
    graph
}

#[test]
fn no_import_circle_between_modules() {
    let graph = module_graph();
    // Depth-first search for a path back to where it started.
    fn path_back(
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        start: &str,
        at: &str,
        seen: &mut std::collections::BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if graph.contains_key(next) && seen.insert(next.clone()) {
                path.push(next.clone());
                if path_back(graph, start, next, seen, path) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    for start in graph.keys() {
        let mut path = vec![start.clone()];
        let found = path_back(
            &graph,
            start,
            start,
            &mut std::collections::BTreeSet::new(),
            &mut path,
        );
        assert!(!found, "an import circle: {}", path.join(" → "));
    }
}
