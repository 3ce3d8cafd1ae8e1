//! The multi-sig module alone on the test chain spec (`msaccount` dlux-cc), in the shared
//! engine harness, and the Hive ops its tests send.
#![allow(dead_code)]

use opentoken_core::test_utils::{op, test_spec, TestNet};
use opentoken_core::{Asset, AssetSymbol, ChainSpec, HiveOp, ModuleState, TransferOp};
use opentoken_hive_tx::PrivateKey;
use opentoken_multisig::{MultisigModule, NAME};
use serde_json::json;
use std::sync::Arc;

/// The multi-sig account of [`test_spec`].
pub(crate) const MS: &str = "dlux-cc";

/// The test spec with `section` as `modules.multisig`.
pub(crate) fn spec(section: serde_json::Value) -> ChainSpec {
    test_spec().with_module(NAME, section)
}

/// The module over `section`, at genesis.
pub(crate) fn net_with(section: serde_json::Value) -> (TestNet, Arc<MultisigModule>) {
    let spec = spec(section);
    let module = Arc::new(MultisigModule::from_spec(&spec).expect("valid multisig config"));
    (TestNet::new(spec, vec![module.clone()]), module)
}

/// Defaults, except a minimum deposit of 0.010 and a minimum withdrawal of 0.005 so that
/// both limits can be crossed.
pub(crate) fn net() -> TestNet {
    net_with(json!({"min_deposit": 10, "min_withdrawal": 5})).0
}

pub(crate) fn state(net: &TestNet) -> &ModuleState {
    net.state(NAME)
}

pub(crate) fn transfer(from: &str, to: &str, amount: i64, symbol: AssetSymbol, memo: &str) -> HiveOp {
    HiveOp::Transfer(TransferOp {
        from: from.into(),
        to: to.into(),
        amount: Asset::new(amount, symbol),
        memo: memo.into(),
    })
}

/// A deposit of `amount` milli-HIVE by `from` to the multi-sig account.
pub(crate) fn deposit(from: &str, amount: i64, memo: &str) -> HiveOp {
    transfer(from, MS, amount, AssetSymbol::Hive, memo)
}

pub(crate) fn deposit_hbd(from: &str, amount: i64, memo: &str) -> HiveOp {
    transfer(from, MS, amount, AssetSymbol::Hbd, memo)
}

/// A transfer of `amount` milli-HIVE from the multi-sig account.
pub(crate) fn pay(to: &str, amount: i64, memo: &str) -> HiveOp {
    transfer(MS, to, amount, AssetSymbol::Hive, memo)
}

/// `ms_withdraw` with `json`, signed with active authority.
pub(crate) fn withdraw(signer: &str, json: &str) -> HiveOp {
    op(signer, "ms_withdraw", json)
}

/// The runners of the tests and their signing keys: `RUNNERS[i]` holds `key(i)`.
pub(crate) const RUNNERS: &[&str] = &["alice", "bob", "carol", "dave"];

/// A runner's private key (a fixed secret per index).
pub(crate) fn key(i: usize) -> PrivateKey {
    PrivateKey::from_secret([i as u8 + 1; 32]).expect("a valid scalar")
}

/// The payload of a `signers` message naming `who` (indexes into [`RUNNERS`]) with their
/// keys.
pub(crate) fn signers_payload(who: &[usize]) -> String {
    let list: Vec<_> = who
        .iter()
        .map(|i| json!({"account": RUNNERS[*i], "key": key(*i).public().to_string()}))
        .collect();
    json!({ "signers": list }).to_string()
}

/// Sends the `signers` message naming every runner; it is delivered at the next block.
pub(crate) fn set_all_signers(net: &mut TestNet) {
    net.deliver("nodes", NAME, "signers", signers_payload(&[0, 1, 2, 3]));
}

/// `ms_sign` of `checkpoint` with signature `sig` (hex), signed with active authority.
pub(crate) fn sign(signer: &str, checkpoint: u64, sig: &str) -> HiveOp {
    op(
        signer,
        "ms_sign",
        &json!({"checkpoint": checkpoint, "sig": sig}).to_string(),
    )
}

/// Runner `i`'s signature of a digest given in hex, as hex.
pub(crate) fn signature(i: usize, digest_hex: &str) -> String {
    let digest: [u8; 32] = hex_bytes(digest_hex).try_into().expect("32 bytes");
    hex(key(i).sign(&digest).as_bytes())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The signature with S replaced by n − S and the recovery id flipped: by the same key, a
/// valid ECDSA signature, but high S, which hived refuses.
pub(crate) fn high_s(sig_hex: &str) -> String {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae,
        0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
    ];
    let mut b = hex_bytes(sig_hex);
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(N[i]) - i16::from(b[33 + i]) - borrow;
        borrow = i16::from(d < 0);
        b[33 + i] = (d + 256 * borrow) as u8;
    }
    b[0] = 31 + ((b[0] - 31) ^ 1);
    hex(&b)
}
