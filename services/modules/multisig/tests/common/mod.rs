//! The multi-sig module alone on the test chain spec (`msaccount` dlux-cc), in the shared
//! engine harness, and the Hive ops its tests send.
#![allow(dead_code)]

use opentoken_core::test_utils::{op, test_spec, TestNet};
use opentoken_core::{Asset, AssetSymbol, ChainSpec, HiveOp, ModuleState, TransferOp};
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
