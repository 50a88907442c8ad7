//! Every committed fuzz input, run through its target on stable Rust: a crash once found and
//! fixed stays fixed, and every target keeps working on its seeds.

use std::path::PathBuf;

fn corpus(name: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_target_has_a_corpus_and_survives_all_of_it() {
    for (name, target) in sluss_fuzz_targets::TARGETS {
        let files = corpus(name);
        assert!(!files.is_empty(), "fuzz/corpus/{name} has no inputs");
        for file in files {
            let data = std::fs::read(&file).expect("a corpus file");
            let result = std::panic::catch_unwind(|| target(&data));
            assert!(result.is_ok(), "{name} fails on {}", file.display());
        }
    }
}
