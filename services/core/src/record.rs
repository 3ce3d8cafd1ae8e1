//! What the ingester publishes to a module's topic, and what the processors produce.

use crate::hive::HiveOp;
use crate::module::RejectCode;
use crate::pos::ChainPos;
use serde::{Deserialize, Serialize};

/// One Hive operation routed to a module, with its chain position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutedOp {
    pub pos: ChainPos,
    pub txid: String,
    pub op: HiveOp,
}

/// One record per block per module topic. Runs of blocks with no ops for the module may be
/// coalesced into one record (`block_num..=last_block`, no ops), so that every module still
/// sees every block number (chron work is due at block numbers) without a record per block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRecord {
    pub block_num: u64,
    pub last_block: u64,
    /// Id of `last_block`.
    pub block_id: String,
    /// Timestamp of `last_block`, seconds since the Unix epoch.
    pub timestamp: u64,
    pub ops: Vec<RoutedOp>,
}

impl BlockRecord {
    pub fn is_range(&self) -> bool {
        self.last_block > self.block_num
    }
}

/// The recorded outcome of one op: what `/api/status/:txid` serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpStatus {
    pub txid: String,
    pub pos: ChainPos,
    pub module: String,
    /// custom_json name or Hive op name.
    pub op: String,
    /// The signer or the Hive op's acting account ("" if none).
    pub from: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Applied { summary: String },
    Rejected { code: RejectCode, reason: String },
}

/// One state event as persisted: position, order within the position, type and Avro bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    pub module: String,
    pub pos: ChainPos,
    pub seq: u32,
    pub kind: String,
    pub data: Vec<u8>,
}

/// A module's state commitment at a checkpoint block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleCheckpoint {
    pub module: String,
    pub block: u64,
    pub hash: [u8; 32],
}
