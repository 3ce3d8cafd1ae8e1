//! The NFT module's engine harness for `tests/nft*.rs`: a [`TestNet`] of the devnet with
//! `modules.nft`, ops routed as the ingester routes them (the ops that pay to token, the
//! rest of `nft_*`/`ft_*` to nft), and reads of both modules' state.

use opentoken_core::test_utils::{custom_json, BlockOutput, TestNet};
use opentoken_core::{ChainSpec, HiveOp, ModuleEvent, Outcome, StateRead};
use opentoken_nft::keys::{self as nkeys, Set};
use opentoken_nft::{views, NftEvent};
use serde_json::json;

use crate::paths::devnet_spec;

/// The devnet with `modules.nft` set to `nft`.
pub fn spec(nft: serde_json::Value) -> ChainSpec {
    let mut spec = (*devnet_spec()).clone();
    spec.modules.insert("nft".into(), nft);
    spec
}

pub fn net() -> TestNet {
    let spec = spec(json!({}));
    let modules = opentoken_registry::modules(&spec).expect("modules");
    TestNet::new(spec, modules)
}

pub fn cj(from: &str, name: &str, json: serde_json::Value) -> HiveOp {
    custom_json(&format!("dlux_{name}"), &[from], &[], &json.to_string())
}

pub fn posting(from: &str, name: &str, json: serde_json::Value) -> HiveOp {
    custom_json(&format!("dlux_{name}"), &[], &[from], &json.to_string())
}

pub const PAID: &[&str] = &[
    "nft_define",
    "nft_buy",
    "nft_bid",
    "nft_reserve_complete",
    "ft_buy",
    "ft_bid",
    "ft_escrow_complete",
];

pub fn module_of(op: &HiveOp) -> &'static str {
    match op {
        HiveOp::CustomJson(c) if PAID.iter().any(|p| c.id == format!("dlux_{p}")) => "token",
        HiveOp::CustomJson(c) if c.id.starts_with("dlux_nft_") || c.id.starts_with("dlux_ft_") => "nft",
        HiveOp::Transfer(_) => "multisig",
        _ => "token",
    }
}

/// Runs one block with `ops` (each routed to its module), returns the outcomes in op
/// order.
pub fn block(net: &mut TestNet, ops: Vec<HiveOp>) -> Vec<Outcome> {
    crate::routed::run_routed(net, ops, module_of).1
}

pub fn one(net: &mut TestNet, op: HiveOp) -> Outcome {
    block(net, vec![op]).remove(0)
}

pub fn ok(o: &Outcome) {
    assert!(matches!(o, Outcome::Applied { .. }), "expected applied, got {o:?}");
}

pub fn idle(net: &mut TestNet, blocks: u64) {
    for _ in 0..blocks {
        net.run_modules(vec![]);
    }
}

/// Runs empty blocks through the next checkpoint (mints are drawn there).
pub fn to_checkpoint(net: &mut TestNet) {
    let interval = net.spec().checkpoint_interval;
    while !net.next_block().is_multiple_of(interval) {
        net.run_modules(vec![]);
    }
    net.run_modules(vec![]);
}

pub fn num(state: &dyn StateRead, key: &[u8]) -> u64 {
    state
        .get(key)
        .and_then(|v| <[u8; 8]>::try_from(v).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

pub fn bal(net: &TestNet, account: &str) -> u64 {
    num(net.state("token"), format!("bal/{account}").as_bytes())
}

pub fn supply(net: &TestNet) -> u64 {
    num(net.state("token"), b"sup")
}

pub fn fts(net: &TestNet, account: &str, set: &str) -> u64 {
    num(net.state("nft"), &nkeys::ft(account, set))
}

pub fn define_json(name: &str, end: &str, royalty: u64) -> serde_json::Value {
    json!({"name": name, "type": 1, "script": "QmRenderer", "permlink": "the-set",
           "start": "0", "end": end, "royalty": royalty, "handling": "svg", "max_fee": 500_000})
}

pub fn set_of(net: &TestNet, name: &str) -> Set {
    views::set(net.state("nft"), name).expect("the set exists")
}

pub fn nfts_of(net: &TestNet, account: &str) -> Vec<(String, String)> {
    views::account_nfts(net.state("nft"), account, 10_000)
}

/// Defines `name` by alice (16 uids, 5% royalty) and settles it.
pub fn defined(net: &mut TestNet, name: &str) {
    ok(&one(net, cj("alice", "nft_define", define_json(name, "F", 500))));
    idle(net, 2);
    assert!(views::set(net.state("nft"), name).is_some(), "set {name} defined");
}

/// Redeems `n` of alice's mint tokens of `set` in one block and runs through the
/// checkpoint that draws them; alice's NFTs of `set`, in uid order.
pub fn minted(net: &mut TestNet, set: &str, n: usize) -> Vec<String> {
    block(
        net,
        (0..n).map(|_| cj("alice", "nft_mint", json!({"set": set}))).collect(),
    )
    .iter()
    .for_each(ok);
    to_checkpoint(net);
    nfts_of(net, "alice")
        .into_iter()
        .filter(|(s, _)| s == set)
        .map(|(_, u)| u)
        .collect()
}

/// The NFT module's events of one block, decoded (a record that does not decode fails the
/// test: the store would refuse it too).
pub fn nft_events(out: &BlockOutput) -> Vec<NftEvent> {
    out.out
        .events
        .iter()
        .filter(|e| e.module == opentoken_nft::NAME)
        .map(|e| NftEvent::decode(&e.data).unwrap_or_else(|err| panic!("an nft event does not decode: {err}")))
        .collect()
}

/// Runs `blocks` empty blocks; the NFT module's events in them, in order.
pub fn idle_events(net: &mut TestNet, blocks: u64) -> Vec<NftEvent> {
    (0..blocks).flat_map(|_| nft_events(&net.run_modules(vec![]))).collect()
}
