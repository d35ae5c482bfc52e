//! Guards of the code's shape (ARCHITECTURE.md): the app's top-level modules depend on
//! each other without a cycle, and no source file grows past what one reader holds.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A unit-test module kept in its own file (`tests.rs`, `property_tests.rs`).
fn is_test_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with("tests.rs"))
}

/// The code of a file without its inline unit tests.
fn without_tests(source: &str) -> &str {
    match source.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &source[..at],
        None => source,
    }
}

/// The top-level modules `source` names through `crate::` paths, grouped ones included.
fn crate_references(source: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    for (at, _) in source.match_indices("crate::") {
        let rest = &source[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            // `crate::{a::b, c}`: the first segment of each item (nested braces are rare
            // and still start with a module name).
            for item in group.split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found
}

/// Each top-level module of `app/src` and the top-level modules it uses.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = workspace().join("app/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let module_of = |path: &Path| -> String {
        let relative = path.strip_prefix(&src).expect("under app/src");
        let first = relative.components().next().expect("a component");
        let name = first.as_os_str().to_string_lossy();
        name.trim_end_matches(".rs").to_string()
    };
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(f))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for file in &files {
        let module = module_of(file);
        let Some(uses) = graph.get_mut(&module) else {
            continue;
        };
        if is_test_file(file) {
            continue;
        }
        let source = std::fs::read_to_string(file).expect("reading a source file");
        for used in crate_references(without_tests(&source)) {
            if used != module && modules.contains(&used) {
                uses.insert(used);
            }
        }
    }
    graph
}

/// A cycle through `graph`, as the path that closes it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in &graph[node] {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

/// The domain is its own crate, so Cargo forbids it to reach the app; this keeps it
/// from reaching I/O on its own (sea-orm is there for its derive alone).
#[test]
fn the_domain_crate_depends_on_nothing_that_does_io() {
    let manifest = std::fs::read_to_string(workspace().join("app/domain/Cargo.toml"))
        .expect("reading app/domain/Cargo.toml");
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a [dependencies] table");
    let names: BTreeSet<&str> = dependencies
        .lines()
        .filter_map(|line| line.split('=').next())
        .map(str::trim)
        .filter(|name| !name.is_empty() && !name.starts_with('#'))
        .map(|name| name.trim_end_matches(".workspace"))
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["chrono", "clap", "sea-orm", "serde"]),
        "the domain's dependencies changed: is the new one pure?"
    );
    let lib = std::fs::read_to_string(workspace().join("app/domain/src/lib.rs")).unwrap();
    assert!(
        !lib.contains("tokio") && !lib.contains("std::fs"),
        "no I/O in the domain"
    );
}

#[test]
fn the_apps_top_level_modules_form_no_cycle() {
    let graph = module_graph();
    // The guard must see the layers it guards: the web uses services, services the
    // ledger, and nothing below uses the web.
    assert!(graph["web"].contains("services"), "{graph:?}");
    assert!(graph["services"].contains("ledger"), "{graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "the modules {} depend on each other in a cycle; the layers are listed in \
             ARCHITECTURE.md",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.into(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let refs = crate_references("use crate::{db::x, ledger::{A, B}};\nlet _ = crate::web::y;");
    for module in ["db", "ledger", "web"] {
        assert!(refs.contains(module), "{module} in {refs:?}");
    }
}

/// What one reader holds: longer files are split along their jobs (ARCHITECTURE.md).
const MAX_LINES: usize = 700;

/// Source files of the app and its crates whose code (tests aside) is over `MAX_LINES`.
fn oversized_files() -> Vec<(PathBuf, usize)> {
    let mut files = vec![];
    for dir in ["app/src", "entity/src", "migration/src"] {
        rust_files(&workspace().join(dir), &mut files);
    }
    let mut oversized: Vec<(PathBuf, usize)> = files
        .into_iter()
        .filter(|path| !is_test_file(path))
        .filter_map(|path| {
            let source = std::fs::read_to_string(&path).expect("reading a source file");
            let lines = without_tests(&source).lines().count();
            (lines > MAX_LINES).then_some((path, lines))
        })
        .collect();
    oversized.sort();
    oversized
}

#[test]
fn no_source_file_is_over_700_lines() {
    let oversized = oversized_files();
    assert!(
        oversized.is_empty(),
        "split these along their jobs (at most {MAX_LINES} lines of code each): {oversized:?}"
    );
}
