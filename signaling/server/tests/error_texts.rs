//! One language per page: every error code the server can send (a REST answer's `code`, a
//! WebSocket `error`'s `code`, and a fatal message type) has its words in Swedish and in
//! English in the pages' strings, so a Swedish page never shows the server's English fallback;
//! and the two languages have the same keys.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literal that is the second argument of each `HttpError::new(` call.
fn rest_codes(source: &str, codes: &mut BTreeSet<String>) {
    for (at, _) in source.match_indices("HttpError::new(") {
        let rest = &source[at + "HttpError::new(".len()..];
        let Some(comma) = rest.find(',') else {
            continue;
        };
        let after = rest[comma + 1..].trim_start();
        if let Some(literal) = after.strip_prefix('"') {
            let code = &literal[..literal.find('"').expect("a closed literal")];
            codes.insert(code.to_owned());
        }
    }
}

/// The variants of the WebSocket `ErrorCode`, as they go over the wire (snake_case).
fn ws_codes(source: &str, codes: &mut BTreeSet<String>) {
    let start = source
        .find("pub enum ErrorCode {")
        .expect("the ErrorCode enum");
    let body = &source[start..start + source[start..].find("\n}").expect("its end")];
    for line in body.lines().skip(1) {
        let line = line.trim();
        if let Some(name) = line.strip_suffix(',') {
            if name.chars().all(|c| c.is_ascii_alphanumeric()) && !name.is_empty() {
                let mut snake = String::new();
                for (i, c) in name.chars().enumerate() {
                    if c.is_ascii_uppercase() && i > 0 {
                        snake.push('_');
                    }
                    snake.push(c.to_ascii_lowercase());
                }
                codes.insert(snake);
            }
        }
    }
}

#[test]
fn every_error_code_has_swedish_and_english_words() {
    let root = repo();
    let mut codes = BTreeSet::new();
    let mut files = Vec::new();
    for dir in ["signaling/server/src", "gateway/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    for file in &files {
        rest_codes(
            &std::fs::read_to_string(file).expect("a source file"),
            &mut codes,
        );
    }
    let rest_found = codes.len();
    ws_codes(
        &std::fs::read_to_string(root.join("signaling/protocol/src/ws.rs")).expect("ws.rs"),
        &mut codes,
    );
    // Messages that end a call and are shown as its last word.
    for fatal in [
        "denied",
        "removed",
        "superseded",
        "opened_elsewhere",
        "meeting_ended",
    ] {
        codes.insert(fatal.to_owned());
    }
    assert!(
        rest_found > 20,
        "found only {rest_found} REST codes: the scan is broken"
    );
    assert!(codes.contains("phone_eid_required") && codes.contains("rate_limited"));

    let read = |lang: &str| {
        std::fs::read_to_string(root.join(format!("admin-ui/app/strings/{lang}.js")))
            .expect("the pages' strings")
    };
    let (sv, en) = (read("sv"), read("en"));
    let (sv, en) = (sv.as_str(), en.as_str());
    let missing: Vec<String> = codes
        .iter()
        .flat_map(|code| {
            let key = format!("'error.{code}':");
            [("sv", sv), ("en", en)]
                .into_iter()
                .filter(move |(_, part)| !part.contains(&key))
                .map(move |(lang, _)| format!("{lang}: error.{code}"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "error codes without words on the pages: {missing:?}"
    );
}

/// The keys of a strings file: lines of the form `  'key': ...`.
fn keys(strings: &str) -> BTreeSet<&str> {
    strings
        .lines()
        .filter_map(|l| l.strip_prefix("  '")?.split_once("':").map(|(k, _)| k))
        .collect()
}

#[test]
fn swedish_and_english_have_the_same_keys() {
    let read = |lang: &str| {
        std::fs::read_to_string(repo().join(format!("admin-ui/app/strings/{lang}.js")))
            .expect("the pages' strings")
    };
    let (sv, en) = (read("sv"), read("en"));
    let (sv, en) = (keys(&sv), keys(&en));
    assert!(
        sv.len() > 300,
        "found only {} keys: the scan is broken",
        sv.len()
    );
    let only_sv: Vec<_> = sv.difference(&en).collect();
    let only_en: Vec<_> = en.difference(&sv).collect();
    assert!(
        only_sv.is_empty() && only_en.is_empty(),
        "only in Swedish: {only_sv:?}; only in English: {only_en:?}"
    );
}
