//! opentoken's core: chain positions, the Hive operation model and its JSON decoding,
//! routing, the module trait, state commitments and the deterministic engine.
//!
//! Nothing here does I/O; everything here is what must be identical on every node.

pub mod account;
pub mod asset;
pub mod checkpoint_hash;
pub mod commitment;
pub mod counter;
pub mod custom_json;
pub mod engine;
pub mod erased;
pub mod field;
pub mod hive;
pub mod hive_json;
pub mod id;
pub mod module;
pub mod pos;
pub mod record;
pub mod router;
pub mod spec;
pub mod state;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use asset::{Asset, AssetSymbol};
pub use checkpoint_hash::{consensus_hash, module_checkpoint_hash};
pub use engine::{Engine, EngineError, Output, Slot};
pub use erased::ErasedModule;
pub use hive::{Auth, Block, CustomJsonOp, DelegateVestingSharesOp, HiveOp, Transaction, TransferOp};
pub use module::{
    BlockContext, BlockHeader, Input, Message, Module, ModuleEvent, OpContext, Outgoing, Reject, RejectCode, Route,
};
pub use pos::ChainPos;
pub use record::{BlockRecord, EventRecord, ModuleCheckpoint, OpStatus, Outcome, RoutedOp};
pub use spec::ChainSpec;
pub use state::{KvSource, ModuleState, StateRead, StateWrite};
