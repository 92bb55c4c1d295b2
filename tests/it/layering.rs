//! The house's rooms: every `crate::` path in `src/` (test modules left
//! out) must point at the same layer or one below it, services must not
//! reach into each other except through the interfaces named here, and
//! leaves may lean on other leaves only where this table says so. A new
//! edge is a decision: add it here, and to the module map in the README.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::helpers::repo_path;

/// Top-level modules by layer, lowest first.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaves",
        &[
            "domain",
            "clock",
            "config",
            "pki",
            "metrics",
            "periodic",
            "tls",
            "credentials",
            "http_client",
            "qr",
            "csv_import",
            "csv_line",
            "rate_limit",
        ],
    ),
    ("data", &["store", "profiles"]),
    ("shared policy", &["lockout"]),
    (
        "services",
        &[
            "radius", "snmp", "portal", "gateway", "admin", "coverage", "sso",
        ],
    ),
    ("wiring", &["app"]),
    ("entry", &["cli"]),
];

/// Pure codecs inside service modules: importable from any layer, they
/// import only leaves (and each other).
const CODECS: &[&str] = &[
    "radius::wire",
    "radius::dictionary",
    "radius::chap",
    "radius::mschap",
    "snmp::oid",
    "snmp::value",
    "snmp::ber",
    "admin::totp",
];

/// Leaf-to-leaf edges (anything else among leaves could close a cycle).
const LEAF_EDGES: &[(&str, &str)] = &[("config", "domain"), ("pki", "config")];

/// The named interfaces one service may use of another.
const SERVICE_INTERFACES: &[(&str, &str)] = &[
    // The portal asks RADIUS to send a CoA or Disconnect for a session.
    ("portal", "radius::coa"),
    // The portal's gateway authorizer drives the nftables sets.
    ("portal", "gateway"),
    // The dashboard disconnects sessions and sends CoA through RADIUS.
    ("admin", "radius::coa"),
    // The dashboard adds an AP with the profile SNMP detects.
    ("admin", "snmp::discover"),
    // The dashboard makes voucher codes the way the portal checks them.
    ("admin", "portal::vouchers"),
    // The dashboard and API show floors, predictions and plans.
    ("admin", "coverage::service"),
    // The dashboard registers the provider's clients and rotates its keys.
    ("admin", "sso"),
    // The staff survey page on the portal reads a floor and its model.
    ("portal", "coverage::service"),
    // The provider's sign-in and consent pages and the launcher's app,
    // presence and binding settings are the portal's.
    ("portal", "sso"),
    // Presence finds the APs inside a coverage room's polygon.
    ("sso", "coverage::kpi"),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file below `src/`: `radius/wire.rs` is
/// `radius::wire`, `store/mod.rs` is `store`.
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// `crate::a::b` references outside `#[cfg(test)]` code: (a, a::b).
fn references(text: &str) -> BTreeSet<(String, String)> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let path: Vec<&str> = rest
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap_or("")
            .split("::")
            .filter(|s| !s.is_empty())
            .take(2)
            .collect();
        if let Some(top) = path.first() {
            let two = path.join("::");
            out.insert((top.to_string(), two));
        }
    }
    out
}

fn is_codec(module: &str) -> bool {
    CODECS
        .iter()
        .any(|c| module == *c || module.starts_with(&format!("{c}::")))
}

/// Why `from` may not import `to` (`to_top` its top-level module), if so.
fn violation(from: &str, to_top: &str, to: &str) -> Option<String> {
    let from_top = from.split("::").next().unwrap_or(from);
    if from_top == to_top && !is_codec(from) {
        return None;
    }
    if is_codec(to) {
        return None;
    }
    if is_codec(from) {
        return (layer_of(to_top) != Some(0)).then(|| format!("codec {from} imports {to}"));
    }
    if from_top == to_top {
        return None;
    }
    let (Some(fl), Some(tl)) = (layer_of(from_top), layer_of(to_top)) else {
        return Some(format!(
            "{from} -> {to}: a top-level module missing from the layer table"
        ));
    };
    if tl > fl {
        return Some(format!(
            "{from} ({}) imports {to} from a higher layer ({})",
            LAYERS[fl].0, LAYERS[tl].0
        ));
    }
    if tl == fl && LAYERS[fl].0 == "services" {
        let named = SERVICE_INTERFACES.iter().any(|(f, t)| {
            *f == from_top && (to == *t || to.starts_with(&format!("{t}::")) || to_top == *t)
        });
        if !named {
            return Some(format!(
                "service {from} reaches into service {to} outside the named interfaces"
            ));
        }
    }
    if tl == fl && fl == 0 && !LEAF_EDGES.contains(&(from_top, to_top)) {
        return Some(format!("leaf {from} imports leaf {to} (not in LEAF_EDGES)"));
    }
    None
}

#[test]
fn every_import_points_down_the_house() {
    let src = repo_path("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    let mut edges = 0;
    for file in &files {
        let rel = file.strip_prefix(&src).expect("below src");
        let module = module_of(rel);
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read source");
        if text.contains("crate::{") {
            problems.push(format!(
                "{}: `use crate::{{...}}` is a form this check cannot read; import each path",
                rel.display()
            ));
        }
        for (top, path) in references(&text) {
            edges += 1;
            if let Some(why) = violation(&module, &top, &path) {
                problems.push(format!("{}: {why}", rel.display()));
            }
        }
    }
    assert!(edges > 100, "the scan found the crate's imports ({edges})");
    assert!(problems.is_empty(), "layering:\n{}", problems.join("\n"));
}

#[test]
fn the_checker_catches_what_it_is_for() {
    // Upward, sideways between services, leaf cycles, impure codecs.
    assert!(violation("snmp::cli", "app", "app").is_some());
    assert!(violation("portal::signin", "radius", "radius::server").is_some());
    assert!(violation("config", "portal", "portal").is_some());
    assert!(violation("config", "pki", "pki::names").is_some());
    assert!(violation("radius::wire", "store", "store").is_some());
    // What the house allows.
    assert!(violation("portal::signin", "radius", "radius::coa").is_none());
    assert!(violation("profiles", "radius", "radius::dictionary").is_none());
    assert!(violation("cli::aps", "app", "app").is_none());
    assert!(violation("pki::names", "config", "config").is_none());
    assert_eq!(
        references("use crate::store::Store; fn f() { crate::clock::now_ms(); }\n#[cfg(test)]\nuse crate::app;"),
        [
            ("clock".to_string(), "clock::now_ms".to_string()),
            ("store".to_string(), "store::Store".to_string()),
        ]
        .into_iter()
        .collect()
    );
}
