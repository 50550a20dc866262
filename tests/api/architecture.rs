//! The import rules of `src/` (see `src/lib.rs`), checked on the source itself:
//!
//! - no two top-level modules import each other, directly or around a circle;
//! - `domain/` imports no adapter (`graphql`, `rest`, `jobs`, `ops`), no adapter plumbing
//!   (`web`, `app`), not `config` or `seed`, and neither axum nor async-graphql;
//! - the adapters never import each other;
//! - `infra/` imports nothing of Iris but `error`, and `error` nothing at all;
//! - the shared kernel (`domain/kernel/`) imports only itself and `error`, and no database.
//!
//! An import is any `crate::…` path (in a `use` tree or inline) or `super::…` path that leaves
//! the file's top-level module, outside comments.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

const ADAPTERS: [&str; 4] = ["graphql", "rest", "jobs", "ops"];
const WEB_FRAMEWORKS: [&str; 5] = [
    "axum",
    "async_graphql",
    "async_graphql_axum",
    "tower_http",
    "hyper",
];

/// One Rust file of `src/`: its module path (`["domain", "kernel", "money"]`) and its code
/// without comments.
struct SourceFile {
    path: PathBuf,
    module: Vec<String>,
    code: String,
}

fn source_files() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(&root).expect("under src/");
                let mut module: Vec<String> = relative
                    .with_extension("")
                    .iter()
                    .map(|c| c.to_string_lossy().into_owned())
                    .collect();
                if module.last().is_some_and(|m| m == "mod") {
                    module.pop();
                }
                let text = std::fs::read_to_string(&path).expect("a readable source file");
                files.push(SourceFile {
                    module,
                    code: without_comments(&text),
                    path: relative.to_path_buf(),
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// The text with `//` comments (doc comments included) removed, line by line.
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string (a URL) ends the line early: it cannot hide an import.
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether a path starts at `at` in `code` (not inside a longer name or path).
fn starts_segment(code: &str, at: usize) -> bool {
    at == 0
        || !code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| is_ident(c) || c == ':')
}

/// The module paths `code` names below `crate::`, each as far as it is written out: for
/// `crate::{domain::{Services, kernel::money}, error::AppError}` that is `domain::Services`,
/// `domain::kernel::money`, `error::AppError`.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find("crate::") {
        let at = from + found;
        from = at + "crate::".len();
        if !starts_segment(code, at) {
            continue;
        }
        paths.extend(use_tree(&code[from..], Vec::new()));
    }
    paths
}

/// Leaves of the use tree (or inline path) at the start of `rest`, prefixed with `prefix`.
fn use_tree(rest: &str, prefix: Vec<String>) -> Vec<Vec<String>> {
    let rest = rest.trim_start();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut leaves = Vec::new();
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    leaves.extend(use_tree(&inner[start..i], prefix.clone()));
                    return leaves;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    leaves.extend(use_tree(&inner[start..i], prefix.clone()));
                    start = i + 1;
                }
                _ => {}
            }
        }
        return leaves;
    }
    let segment: String = rest.chars().take_while(|&c| is_ident(c)).collect();
    if segment.is_empty() {
        return vec![prefix].into_iter().filter(|p| !p.is_empty()).collect();
    }
    let mut path = prefix;
    if segment != "self" {
        path.push(segment.clone());
    }
    match rest[segment.len()..].strip_prefix("::") {
        Some(more) => use_tree(more, path),
        None => vec![path],
    }
}

/// The top-level modules `file` imports (other than its own).
fn imports(file: &SourceFile) -> BTreeSet<String> {
    let mut found: BTreeSet<String> = crate_paths(&file.code)
        .into_iter()
        .filter_map(|p| p.first().cloned())
        .collect();
    // `super::x` from a top-level file (`src/app.rs`) names the top-level module `x`.
    if file.module.len() == 1 {
        let mut from = 0;
        while let Some(at) = file.code[from..].find("super::") {
            let at = from + at;
            from = at + "super::".len();
            if starts_segment(&file.code, at) {
                found.extend(
                    use_tree(&file.code[from..], Vec::new())
                        .into_iter()
                        .filter_map(|p| p.first().cloned()),
                );
            }
        }
    }
    found.remove(&file.module[0]);
    found
}

/// The external crates among `names` that `file` uses.
fn uses_crates(file: &SourceFile, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .filter(|name| {
            let pattern = format!("{name}::");
            file.code.match_indices(&pattern).any(|(at, _)| {
                starts_segment(&file.code, at)
                    // `crate::axum` would be ours, not the framework.
                    && !file.code[..at].ends_with("crate::")
            })
        })
        .map(|name| (*name).to_owned())
        .collect()
}

fn is_lib_module(name: &str) -> bool {
    name != "main" && name != "lib"
}

/// Every top-level import: importer → imported → the files that import it.
fn module_graph(files: &[SourceFile]) -> BTreeMap<String, BTreeMap<String, Vec<PathBuf>>> {
    let mut graph: BTreeMap<String, BTreeMap<String, Vec<PathBuf>>> = BTreeMap::new();
    for file in files.iter().filter(|f| is_lib_module(&f.module[0])) {
        let node = graph.entry(file.module[0].clone()).or_default();
        for imported in imports(file) {
            node.entry(imported).or_default().push(file.path.clone());
        }
    }
    graph
}

/// A circle of imports, if there is one: `a → b → … → a`.
fn find_circle(graph: &BTreeMap<String, BTreeMap<String, Vec<PathBuf>>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeMap<String, Vec<PathBuf>>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut circle = path[start..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flat_map(|edges| edges.keys()) {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

/// Every broken rule, one line each, naming the file and what it imports.
fn violations(files: &[SourceFile]) -> Vec<String> {
    let mut problems = Vec::new();
    let graph = module_graph(files);
    if let Some(circle) = find_circle(&graph) {
        let steps: Vec<String> = circle
            .windows(2)
            .map(|pair| {
                let files = &graph[&pair[0]][&pair[1]];
                format!("{} → {} (in {})", pair[0], pair[1], files[0].display())
            })
            .collect();
        problems.push(format!("import circle: {}", steps.join(", ")));
    }
    for file in files.iter().filter(|f| is_lib_module(&f.module[0])) {
        let top = file.module[0].as_str();
        let imported = imports(file);
        let mut refuse = |what: &str, rule: &str| {
            problems.push(format!("{} imports {what}: {rule}", file.path.display()));
        };
        match top {
            "domain" => {
                for bad in [
                    "graphql", "rest", "jobs", "ops", "web", "app", "config", "seed",
                ] {
                    if imported.contains(bad) {
                        refuse(bad, "the domain imports no adapter, app wiring or config");
                    }
                }
                for framework in uses_crates(file, &WEB_FRAMEWORKS) {
                    refuse(&framework, "the domain knows no web framework");
                }
                if file.module.get(1).is_some_and(|m| m == "kernel") {
                    for path in crate_paths(&file.code) {
                        let allowed = path.first().is_some_and(|m| m == "error")
                            || path.starts_with(&["domain".to_owned(), "kernel".to_owned()]);
                        if !allowed {
                            refuse(&path.join("::"), "the kernel uses only itself and error");
                        }
                    }
                    for store in uses_crates(file, &["sea_orm", "entity"]) {
                        refuse(&store, "the kernel does no I/O");
                    }
                }
            }
            adapter if ADAPTERS.contains(&adapter) => {
                for other in ADAPTERS.iter().filter(|a| **a != adapter) {
                    if imported.contains(*other) {
                        refuse(other, "adapters never import each other");
                    }
                }
            }
            "infra" => {
                for other in imported.iter().filter(|m| *m != "error") {
                    refuse(other, "infra imports nothing of Iris but error");
                }
            }
            "error" => {
                for other in &imported {
                    refuse(other, "error imports nothing of Iris");
                }
            }
            _ => {}
        }
    }
    problems
}

#[test]
fn the_import_rules_of_src_hold() {
    let files = source_files();
    assert!(
        files.len() > 50,
        "expected the whole of src/, found {}",
        files.len()
    );
    let problems = violations(&files);
    assert!(
        problems.is_empty(),
        "import rules broken:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_checker_sees_what_it_must_refuse() {
    let file = |path: &str, code: &str| SourceFile {
        path: PathBuf::from(path),
        module: path
            .trim_end_matches(".rs")
            .split('/')
            .map(str::to_owned)
            .collect(),
        code: without_comments(code),
    };
    let bad = [
        file(
            "domain/x.rs",
            "use crate::{error::AppError, graphql::{self, AppSchema}};",
        ),
        file("domain/y.rs", "fn f() -> axum::Router { todo!() }"),
        file("rest/z.rs", "fn f() { crate::graphql::sdl(); }"),
        file("infra/w.rs", "use crate::domain::Services;"),
        file("domain/kernel/v.rs", "use sea_orm::Select;"),
        file("app.rs", "use super::web::ApiState;"),
        file("web.rs", "use crate::app::X;"),
    ];
    let problems = violations(&bad);
    for expected in [
        "domain/x.rs imports graphql",
        "domain/y.rs imports axum",
        "rest/z.rs imports graphql",
        "infra/w.rs imports domain",
        "domain/kernel/v.rs imports sea_orm",
        "import circle: app → web",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(expected)),
            "expected a problem starting with {expected:?}, got {problems:#?}"
        );
    }
    // Comments and the crate's own paths are not imports.
    let fine = [file(
        "domain/ok.rs",
        "//! Built by `crate::config`.\nuse crate::domain::kernel::money::Money; // not crate::graphql",
    )];
    assert_eq!(violations(&fine), Vec::<String>::new());
}
