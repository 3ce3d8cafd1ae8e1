//! custom_json ops of every module (and delegations) in fuzzer-chosen blocks through the
//! real engine, with the invariants of `opentoken_fuzz::engine::run` after every block.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentoken_fuzz::{engine, seeds, write_seeds_once};

fuzz_target!(
    init: write_seeds_once(|| seeds::engine_inputs().into_iter().map(String::into_bytes).collect()),
    |data: &[u8]| {
        engine::run(&engine::parse(data));
    }
);
