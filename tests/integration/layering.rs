//! The library's modules import one way: no module reaches, through `crate::` paths, a module
//! that reaches it back. ARCHITECTURE.md draws the layers; this keeps them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::util::root;

/// The top-level modules of the library and, for each, the others its code names through
/// `crate::` paths (comments and doc comments left out).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("src");
    let modules: BTreeSet<String> = std::fs::read_dir(&src)
        .expect("src")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let module = name.strip_suffix(".rs")?;
            (!matches!(module, "lib" | "main" | "commands")).then(|| module.to_string())
        })
        .collect();
    let mut graph = BTreeMap::new();
    for module in &modules {
        let mut files = vec![src.join(format!("{module}.rs"))];
        collect_rs(&src.join(module), &mut files);
        let mut names = BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read source");
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (at, _) in line.match_indices("crate::") {
                    let rest = &line[at + "crate::".len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if name != *module && modules.contains(&name) {
                        names.insert(name);
                    }
                }
            }
        }
        graph.insert(module.clone(), names);
    }
    graph
}

fn collect_rs(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rs(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// A cycle in `graph`, if there is one (depth-first search, in name order).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
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

#[test]
fn modules_import_one_way() {
    let graph = imports();
    assert!(graph.len() >= 10, "found the modules: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("modules import each other: {}", cycle.join(" -> "));
    }
    // The engine is the generic part: it knows no scenario, model or Terway.
    assert_eq!(
        graph["engine"],
        BTreeSet::new(),
        "engine imports {:?}",
        graph["engine"]
    );
    for lower in ["engine", "scenario", "model", "stats"] {
        for upper in ["plan", "report", "sweep", "partial"] {
            assert!(!graph[lower].contains(upper), "{lower} imports {upper}");
        }
    }
    // Partial results sit above the runs and their reductions, below the commands.
    for lower in ["sweep", "plan", "report"] {
        assert!(!graph[lower].contains("partial"), "{lower} imports partial");
    }
}

#[test]
fn a_cycle_is_found() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let mut acyclic = graph.clone();
    acyclic.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&acyclic), None);
}
