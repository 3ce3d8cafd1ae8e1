//! Hive transactions in Hive's binary format (fc::raw), so opentoken can sign what it
//! broadcasts (reports, multi-sig work) and recompute the ids of what it reads.
//!
//! Consensus-critical and small, so written here rather than taken from a young crate; the
//! golden vectors of `../shared/spec/hive-protocol.md` §2.9 and every custom_json
//! transaction of the bundled mainnet blocks pin it (tests next to each part and in `tests/`).

pub mod block;
mod json;
pub mod keys;
mod operation;
mod schema;
mod signed;
mod transaction;
mod write;

pub use block::{
    block_json_id, merkle_leaf, merkle_root, operation_json_bytes, transaction_json_bytes, transaction_json_ids,
    transaction_json_leaf, verify_block_json, BlockFault, MAX_BLOCK_TRANSACTIONS,
};
pub use keys::{KeyError, PrivateKey, PublicKey, Signature};
pub use operation::{Authority, Operation};
pub use signed::SignedTransaction;
pub use transaction::Transaction;

use thiserror::Error;

/// Hive mainnet's chain id (since HF24).
pub const MAINNET_CHAIN_ID: [u8; 32] = {
    let mut id = [0u8; 32];
    id[0] = 0xbe;
    id[1] = 0xea;
    id[2] = 0xb0;
    id[3] = 0xde;
    id
};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TxError {
    #[error("transaction JSON: {0}")]
    Json(String),
    #[error("operation `{0}` is not supported by opentoken's serializer")]
    Unsupported(String),
}

/// How assets are packed: both are accepted by nodes since HF26; the id depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// `int64 amount` + precision + symbol name (HIVE written as STEEM, HBD as SBD).
    Legacy,
    /// `int64 amount` + `uint32` NAI number with precision.
    Hf26,
}
