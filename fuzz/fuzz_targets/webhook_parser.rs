//! Fuzz target: the webhook parser and signature check never panic, whatever the bytes.
//! Run: `cargo +nightly fuzz run webhook_parser` (seed corpus in fuzz/corpus/webhook_parser).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    switchboard_protocol::webhook::fuzz_one(data);
});
