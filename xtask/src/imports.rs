//! The import-loop check (`cargo xtask check`, and the test below that CI runs): no two
//! modules of a crate may depend on each other, directly or round a circle. Dependencies are
//! the paths a file names — `use` trees and paths in code that start with `crate::`, `super::`
//! or `self::` (test modules, comments and string literals left out). An edge between two
//! files counts between the two sibling modules that hold them under their lowest common
//! ancestor: so `a/x.rs → b.rs → a/mod.rs` is the loop `a ↔ b`, while a module using its own
//! parent's items, or a parent re-exporting its children, is structure, not a loop.
//!
//! Written here rather than taken from `cargo modules dependencies --acyclic`: that tool
//! builds rust-analyzer (many minutes on CI's two cores) to answer what a few hundred lines of
//! path reading answer for this code base, whose modules are files (no `#[path]`, no macros
//! that declare modules).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path inside one crate (`["executor", "local", "process"]`; the root is empty).
type ModPath = Vec<String>;

/// One crate's source files by module path.
struct Crate {
    name: String,
    files: BTreeMap<ModPath, PathBuf>,
}

/// The module path of `file` under the crate's `src`.
fn module_of(src: &Path, file: &Path) -> Option<ModPath> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?;
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_owned());
    }
    Some(parts)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The library (or, without one, the binary) of the crate whose sources are in `src`. A
/// binary beside a library reaches it by the crate's name, like any other crate.
fn read_crate(name: &str, src: &Path) -> Crate {
    let mut found = Vec::new();
    rust_files(src, &mut found);
    let has_lib = src.join("lib.rs").exists();
    let files = found
        .into_iter()
        .filter(|f| !(has_lib && f == &src.join("main.rs")))
        .filter(|f| !f.starts_with(src.join("bin")))
        .filter_map(|f| module_of(src, &f).map(|m| (m, f)))
        .collect();
    Crate {
        name: name.to_owned(),
        files,
    }
}

/// `text` without comments, string and character literals, and the test module (from
/// `#[cfg(test)]` on, which by this code base's convention ends the file).
fn code_of(text: &str) -> String {
    let test_module = text.match_indices("#[cfg(test)]").map(|(i, _)| i).find(|&i| {
        let next = text[i + "#[cfg(test)]".len()..].trim_start();
        ["mod ", "pub mod ", "pub(crate) mod ", "pub(super) mod "]
            .iter()
            .any(|m| next.starts_with(m))
    });
    let text = test_module.map_or(text, |i| &text[..i]);
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                && !b.get(i.wrapping_sub(1)).is_some_and(u8::is_ascii_alphanumeric) =>
            {
                let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                i += 2 + hashes;
                let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
                while i < b.len() && !b[i..].starts_with(&close) {
                    i += 1;
                }
                i += close.len();
                out.push_str("\"\"");
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            // A character literal ('x', '\n', '"'); a lifetime ('a) is left as it is.
            b'\'' if b.get(i + 1) == Some(&b'\\') || b.get(i + 2) == Some(&b'\'') => {
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("' '");
            }
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

/// Expands a `use` tree (`super::{a, b::{C, D as E}, self}`) into its paths.
fn expand_use(tree: &str) -> Vec<Vec<String>> {
    fn split_top(s: &str) -> Vec<&str> {
        let (mut depth, mut start, mut parts) = (0, 0, Vec::new());
        for (i, c) in s.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&s[start..]);
        parts
    }
    // `x as y` names x: drop each ` as y`, then the spaces.
    let words: Vec<&str> = tree.split_whitespace().collect();
    let mut kept = String::new();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "as" {
            // The alias, and whatever punctuation followed it (`E},`).
            let alias = words.get(i + 1).copied().unwrap_or_default();
            kept.push_str(alias.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_'));
            i += 2;
        } else {
            kept.push_str(words[i]);
            i += 1;
        }
    }
    let tree = kept;
    let mut out = Vec::new();
    let mut stack = vec![(Vec::<String>::new(), tree)];
    while let Some((prefix, rest)) = stack.pop() {
        if let Some(open) = rest.find('{') {
            let head: Vec<String> = rest[..open]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let inner = rest[open + 1..].trim_end_matches('}');
            for part in split_top(inner).into_iter().filter(|p| !p.is_empty()) {
                let mut p = prefix.clone();
                p.extend(head.iter().cloned());
                stack.push((p, part.to_owned()));
            }
        } else {
            let mut p = prefix.clone();
            p.extend(
                rest.split("::")
                    .filter(|s| !s.is_empty() && *s != "self")
                    .map(str::to_owned),
            );
            out.push(p);
        }
    }
    out
}

/// The paths `code` names from its own crate, relative to `crate`, `super` or `self`.
fn named_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    // `use` trees (a `use` inside a function counts as well).
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let end = rest.find(';').unwrap_or(rest.len());
        paths.extend(expand_use(&rest[..end]));
        rest = &rest[end..];
    }
    // Paths in code: `crate::a::b`, `super::x`.
    let b = code.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        for (i, _) in code.match_indices(start) {
            if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b':') {
                continue;
            }
            let path: String = code[i..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            paths.push(path.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect());
        }
    }
    paths
}

/// The file (module) that `path`, named in module `from`, leads to: the longest prefix of it
/// that is a module of the crate; `None` for another crate's or the standard library's.
fn resolve(krate: &Crate, from: &ModPath, path: &[String]) -> Option<ModPath> {
    let mut base = from.clone();
    let mut segs = path.iter().peekable();
    match segs.peek().map(|s| s.as_str()) {
        Some("crate") => {
            base.clear();
            segs.next();
        }
        Some("super") => {
            while segs.peek().is_some_and(|s| *s == "super") {
                base.pop()?;
                segs.next();
            }
        }
        Some("self") => {
            segs.next();
        }
        _ => return None,
    }
    let mut target = base.clone();
    for s in segs {
        let mut next = target.clone();
        next.push(s.clone());
        if !krate.files.contains_key(&next) {
            break;
        }
        target = next;
    }
    krate.files.contains_key(&target).then_some(target)
}

/// The loops of one crate: each a list of sibling modules (under the parent named first).
fn loops_of(krate: &Crate) -> Vec<String> {
    // Edges between siblings under their lowest common ancestor.
    let mut edges: BTreeMap<ModPath, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (module, file) in &krate.files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for path in named_paths(&code_of(&text)) {
            let Some(target) = resolve(krate, module, &path) else {
                continue;
            };
            let common = module.iter().zip(&target).take_while(|(a, b)| a == b).count();
            // A module and its ancestor: structure, not a dependency between modules.
            if common == module.len() || common == target.len() {
                continue;
            }
            edges
                .entry(module[..common].to_vec())
                .or_default()
                .entry(module[common].clone())
                .or_default()
                .insert(target[common].clone());
        }
    }
    let mut found = Vec::new();
    for (parent, graph) in &edges {
        for component in strongly_connected(graph) {
            let at = if parent.is_empty() {
                krate.name.clone()
            } else {
                format!("{}::{}", krate.name, parent.join("::"))
            };
            let ties: Vec<String> = component
                .iter()
                .flat_map(|a| {
                    graph[a]
                        .iter()
                        .filter(|b| component.contains(*b))
                        .map(move |b| format!("{a} → {b}"))
                })
                .collect();
            found.push(format!("in {at}: {}", ties.join(", ")));
        }
    }
    found
}

/// The strongly connected components of more than one node (Tarjan's algorithm, recursive:
/// module graphs are tens of nodes deep at most).
fn strongly_connected(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.insert(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// The import loops of every crate of the workspace under `root` (none: empty).
pub fn loops(root: &Path) -> Vec<String> {
    let mut crates = vec![
        read_crate("server", &root.join("server/src")),
        read_crate("app", &root.join("app/src")),
        read_crate("frontend", &root.join("frontend/src")),
        read_crate("xtask", &root.join("xtask/src")),
    ];
    if let Ok(entries) = std::fs::read_dir(root.join("crates")) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            crates.push(read_crate(&name, &e.path().join("src")));
        }
    }
    crates.iter().flat_map(loops_of).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn krate(files: &[(&str, &str)]) -> (tempfile_dir::Dir, Crate) {
        let dir = tempfile_dir::Dir::new();
        for (path, text) in files {
            let p = dir.0.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        let c = read_crate("t", &dir.0);
        (dir, c)
    }

    /// A scratch directory removed on drop (xtask has no dev-dependencies).
    mod tempfile_dir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                let p = std::env::temp_dir().join(format!(
                    "xtask-imports-{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                let _ = std::fs::remove_dir_all(&p);
                std::fs::create_dir_all(&p).expect("mkdir");
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn use_trees_expand_to_paths() {
        let got = expand_use("super::{a, b::{C, D as E}, self}");
        assert!(got.contains(&vec!["super".into(), "a".into()]));
        assert!(got.contains(&vec!["super".into(), "b".into(), "C".into()]));
        assert!(got.contains(&vec!["super".into(), "b".into(), "D".into()]));
        assert!(got.contains(&vec!["super".into()]));
    }

    #[test]
    fn comments_and_strings_name_nothing() {
        let code = code_of(
            "// crate::a\nlet s = \"crate::b\"; let r = r#\"crate::c\"#; let c = '\"'; crate::d::f();\n#[cfg(test)]\nmod tests { use crate::e; }",
        );
        let paths = named_paths(&code);
        assert_eq!(paths, vec![vec!["crate".to_owned(), "d".into(), "f".into()]]);
    }

    #[test]
    fn loops_between_siblings_are_found_and_structure_is_not() {
        let (_d, c) = krate(&[
            ("lib.rs", "mod a; mod b; mod c;"),
            ("a/mod.rs", "mod x; pub use x::X; pub struct A;"),
            ("a/x.rs", "use super::A; use crate::b::B; pub struct X;"),
            ("b.rs", "pub struct B; fn f() { let _ = crate::a::A; }"),
            ("c.rs", "use crate::b::B;"),
        ]);
        assert_eq!(loops_of(&c), vec!["in t: a → b, b → a".to_owned()]);
        let (_d, c) = krate(&[
            ("lib.rs", "mod a; mod b;"),
            ("a/mod.rs", "mod x; pub use x::X; pub struct A;"),
            ("a/x.rs", "use super::A; use crate::b::B; pub struct X;"),
            ("b.rs", "pub struct B;"),
        ]);
        assert!(loops_of(&c).is_empty());
    }

    #[test]
    fn the_workspace_has_no_import_loops() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let found = loops(&root);
        assert!(found.is_empty(), "import loops:\n{}", found.join("\n"));
    }
}
