//! Test utilities shared by every module's tests (feature `test-utils`, and this crate's own
//! tests): the way a module is driven in a test is written once, here, on the real engine.
//!
//! - [`TestNet`]: the real [`Engine`](crate::Engine) at genesis over a list of modules, fed
//!   one block at a time as a processor feeds it, with one fake clock ([`block_time`]).
//! - [`ModuleHarness`]: one module's decide/evolve (`handle`, `apply`, `on_block`) on an
//!   in-memory state, without the engine, for unit tests that pick any block in any order.
//! - [`test_spec`] and [`devnet_spec`]: the chain specs tests run on.
//! - [`op`], [`posting_op`], [`custom_json`]: ops as a Hive block carries them;
//!   [`assert_applied`], [`assert_rejected`]: what became of them.
//! - [`CounterModule`]: the smallest module, for tests of the machinery around modules.
//! - [`assert_event_codec`]: the checks every module's event encoding must pass.
//!
//! Enable it from another crate's dev-dependencies:
//! `opentoken-core = { workspace = true, features = ["test-utils"] }`.

mod codec;
mod counter;
pub mod fixtures;
mod harness;
mod net;
mod ops;

pub use codec::{assert_event_codec, assert_writes_like};
pub use counter::{Counted, CounterModule};
pub use harness::ModuleHarness;
pub use net::{BlockOutput, TestNet};
pub use ops::{assert_applied, assert_rejected, custom_json, op, posting_op};

use crate::spec::{ChainSpec, HIVE_MAINNET_CHAIN_ID};
use std::collections::BTreeMap;
use std::path::Path;

/// The custom_json prefix of [`test_spec`] and of `infra/chains/devnet.json`, which
/// [`op`] and [`posting_op`] put before an op's name.
pub const TEST_PREFIX: &str = "dlux_";

/// The fake clock: the timestamp of `block` in every test (Hive makes a block every 3 s).
/// Ops see it; chron work sees it at checkpoint blocks only (see `BlockContext`).
pub fn block_time(block: u64) -> u64 {
    1_700_000_000 + block * 3
}

/// The fake block id of `block` in every test: its number, then a fixed pattern.
pub fn block_id(block: u64) -> String {
    format!("{:08x}{}", block as u32, "5a".repeat(16))
}

/// A small valid chain spec: community `test`, prefix `dlux_`, starting at block 1,
/// checkpoints every 10 blocks, no module sections (add them with
/// [`ChainSpec::with_module`]).
pub fn test_spec() -> ChainSpec {
    ChainSpec {
        name: "test".into(),
        prefix: TEST_PREFIX.into(),
        token: "DLUX".into(),
        precision: 3,
        starting_block: 1,
        leader: "dlux-io".into(),
        msaccount: "dlux-cc".into(),
        delegation_account: "dlux-io".into(),
        checkpoint_interval: 10,
        json_max_bytes: 8192,
        hive_chain_id: HIVE_MAINNET_CHAIN_ID.into(),
        modules: BTreeMap::new(),
    }
}

/// `infra/chains/devnet.json`, the spec `opentoken devnet` runs: real genesis balances and
/// module settings, for tests whose numbers come from it.
pub fn devnet_spec() -> ChainSpec {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/chains/devnet.json");
    ChainSpec::load(Path::new(path)).unwrap_or_else(|e| panic!("{e}"))
}

impl ChainSpec {
    /// This spec with `config` as the `modules.<module>` section (test-only).
    pub fn with_module(mut self, module: &str, config: serde_json::Value) -> Self {
        self.modules.insert(module.to_string(), config);
        self
    }
}
