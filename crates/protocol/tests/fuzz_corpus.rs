//! Runs the fuzz target's seed corpus (fuzz/corpus/webhook_parser) through the same function
//! the fuzzer calls, plus mutations of each seed, so the parser's robustness is checked on every
//! test run and not only when someone runs the fuzzer.

use std::path::PathBuf;

#[test]
fn seed_corpus_and_simple_mutations_never_panic() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/webhook_parser");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        switchboard_protocol::webhook::fuzz_one(&data);
        // Truncations and byte flips around every position class.
        for cut in (0..data.len()).step_by(7) {
            switchboard_protocol::webhook::fuzz_one(&data[..cut]);
        }
        for pos in (0..data.len()).step_by(13) {
            let mut m = data.clone();
            m[pos] ^= 0x5a;
            switchboard_protocol::webhook::fuzz_one(&m);
        }
        seeds += 1;
    }
    assert!(seeds >= 40, "seed corpus has {seeds} files");
}
