//! opentoken's core: chain positions, the Hive operation model and its JSON decoding,
//! routing, the module trait, state commitments and the deterministic engine.
//!
//! Nothing here does I/O; everything here is what must be identical on every node.

pub mod account;
pub mod asset;
pub mod commitment;
pub mod engine;
pub mod hive;
pub mod hive_json;
pub mod module;
pub mod pos;
pub mod record;
pub mod router;
pub mod spec;
pub mod state;

pub use asset::{Asset, AssetSymbol};
pub use engine::{consensus_hash, module_checkpoint_hash, Engine, EngineError, ErasedModule, Output, Slot};
pub use hive::{Auth, Block, CustomJsonOp, DelegateVestingSharesOp, HiveOp, Transaction, TransferOp};
pub use module::{BlockContext, Input, Message, Module, OpContext, Outgoing, Reject, RejectCode, Route};
pub use pos::ChainPos;
pub use record::{BlockRecord, EventRecord, ModuleCheckpoint, OpStatus, Outcome, RoutedOp};
pub use spec::ChainSpec;
pub use state::{KvSource, ModuleState, StateRead, StateWrite};
