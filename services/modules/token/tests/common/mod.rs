//! The token module on the devnet chain spec, in the shared engine harness.
#![allow(dead_code)]

use opentoken_core::test_utils::{devnet_spec, TestNet};
use opentoken_token::TokenModule;
use std::sync::Arc;

/// The devnet genesis supply: balances + pow + gov + claimable in `devnet.json`.
pub(crate) const GENESIS_SUPPLY: u64 = 9_950_000 + 350_000 + 1_100_000 + 17_704;

/// The token module alone over `infra/chains/devnet.json`, at genesis.
pub(crate) fn net() -> (TestNet, Arc<TokenModule>) {
    let spec = devnet_spec();
    let module = Arc::new(TokenModule::from_spec(&spec).expect("devnet token config is valid"));
    (TestNet::new(spec, vec![module.clone()]), module)
}
