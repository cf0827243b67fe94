//! The core decides; it must not reach the outside world. A core module that imports `worker`,
//! reads a clock or draws randomness fails this test (and the native build, for `worker`).

mod common;

use common::rust_files;
use std::fs;
use std::path::Path;

const FORBIDDEN: &[(&str, &str)] = &[
    ("worker::", "imports the Worker runtime"),
    ("use worker", "imports the Worker runtime"),
    ("js_sys", "touches JavaScript"),
    ("web_sys", "touches JavaScript"),
    ("SystemTime", "reads the clock"),
    ("Instant::now", "reads the clock"),
    ("Utc::now", "reads the clock"),
    ("Local::now", "reads the clock"),
    ("Date::now", "reads the clock"),
    ("getrandom", "draws randomness"),
    ("rand::", "draws randomness"),
    ("thread_rng", "draws randomness"),
];

#[test]
fn core_modules_do_not_import_worker_or_read_a_clock() {
    let mut files = vec![];
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core"),
        &mut files,
    );
    assert!(files.len() > 5, "found the core modules");
    let found: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let text = fs::read_to_string(file).expect("readable source");
            violations(&text)
                .into_iter()
                .map(move |v| format!("{}:{v}", file.display()))
        })
        .collect();
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// `line: why: code` for each forbidden use; comments are ignored.
fn violations(text: &str) -> Vec<String> {
    let mut out = vec![];
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for (needle, why) in FORBIDDEN {
            if code.contains(needle) {
                out.push(format!("{}: {why}: {}", n + 1, line.trim()));
            }
        }
    }
    out
}

#[test]
fn the_check_catches_what_it_looks_for() {
    assert_eq!(violations("use worker::Env;").len(), 2);
    assert_eq!(violations("let t = chrono::Utc::now();").len(), 1);
    assert_eq!(violations("let t = std::time::SystemTime::now();").len(), 1);
    assert!(violations("// the worker:: shell passes now in").is_empty());
    assert!(violations("pub fn handle(now: Millis)").is_empty());
}
