//! Pinned results of a fixed devnet chain: the module checkpoint hashes, the consensus
//! hash of every checkpoint and the final token balances. A refactor that claims "no behaviour
//! change" must leave every value here untouched; a change that means to alter consensus
//! updates them in its own commit and says why.

use opentoken_core::consensus_hash;
use opentoken_e2e::*;
use std::collections::BTreeMap;

/// Seed, length and traffic of the pinned chain (the determinism test's generator).
const SEED: u64 = 20_261_130;
const BLOCKS: u64 = 1_000;

fn hex32(h: &[u8; 32]) -> String {
    hex::encode(h)
}

#[test]
fn fixed_devnet_chain_gives_the_pinned_hashes_and_balances() {
    let spec = devnet_spec();
    let blocks = generate(&spec, SEED, BLOCKS);
    let last = blocks.last().expect("blocks").num;
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, store) = open(dir.path());
    publish(&spec, &log, &blocks, 100);
    process(&spec, &log, &store, 25, last);

    // Module checkpoint hashes (every module of the registry, in registry order: token,
    // nodes, and multisig on a chain that configures it) and the consensus hash over all of
    // them, as the checkpointer reports it, at every checkpoint.
    let names = opentoken_registry::module_names(&opentoken_registry::modules(&spec).expect("modules"));
    let mut by_block: BTreeMap<u64, BTreeMap<String, [u8; 32]>> = BTreeMap::new();
    for module in &names {
        for cp in store.checkpoints(module).expect("checkpoints") {
            by_block.entry(cp.block).or_default().insert(module.clone(), cp.hash);
        }
    }
    let mut got = Vec::new();
    for (block, hashes) in &by_block {
        assert_eq!(hashes.len(), names.len(), "every module checkpoints block {block}");
        let mut line = block.to_string();
        for module in &names {
            line.push_str(&format!(" {module}={}", hex32(&hashes[module])));
        }
        line.push_str(&format!(
            " consensus={}",
            hex32(&consensus_hash(&spec.name, *block, hashes))
        ));
        got.push(line);
    }

    // Final balances (liquid, power, gov, claimable) of every genesis account.
    let token = store.load_module("token").expect("token state").pairs;
    for (key, value) in &token {
        let k = String::from_utf8_lossy(key);
        if ["bal/", "pow/", "gov/", "clm/"].iter().any(|p| k.starts_with(p)) {
            let amount = u64::from_be_bytes(value.as_slice().try_into().expect("8-byte amount"));
            got.push(format!("{k}={amount}"));
        }
    }
    let got = got.join("\n");
    let pinned = include_str!("pinned.txt").trim_end();
    if got != pinned && std::env::var_os("OPENTOKEN_REPIN").is_some() {
        std::fs::write(repo_root().join("tests/tests/pinned.txt"), format!("{got}\n")).expect("write pins");
        return;
    }
    assert_eq!(
        got, pinned,
        "the pinned devnet results changed (OPENTOKEN_REPIN=1 rewrites tests/tests/pinned.txt; do so only for a change that means to alter consensus)"
    );
}
