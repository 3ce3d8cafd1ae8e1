//! Why the processor stopped, phrased so that the operator knows what to do next.

use opentoken_core::engine::EngineError;
use opentoken_log::LogError;
use opentoken_store::StoreError;
use thiserror::Error;

/// A failed `open`, `step` or `flush`. An unavailable log and a gap in a topic are worth
/// retrying as they are ([`opentoken_lifecycle::Transient`]); every other variant needs an
/// operator.
#[derive(Debug, Error)]
pub enum ProcessorError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("record at offset {offset} of topic {topic} cannot be decoded: {detail}; the topic holds data this version cannot read — check the ingester version")]
    Decode { topic: String, offset: u64, detail: String },
    #[error("record at offset {offset} of topic {topic} is refused: {reason}; no opentoken writer of this community produces such a record, so nothing of it was applied — find what else writes to the topic (or which version wrote it) and remove the record's cause before restarting")]
    Refused { topic: String, offset: u64, reason: String },
    #[error("topic {topic} skips from block {expected} to {got} at offset {offset}; waiting for the ingester to publish block {expected} again (it does after a failed append) — if it never does, re-ingest from block {expected}")]
    Gap {
        topic: String,
        offset: u64,
        expected: u64,
        got: u64,
    },
    #[error(
        "stored state of module {module} is inconsistent: {detail}; restore from a snapshot or run `opentoken replay`"
    )]
    Inconsistent { module: String, detail: String },
}

impl opentoken_lifecycle::Transient for ProcessorError {
    /// The log (a Kafka broker) may come back, and a gap is filled when the ingester
    /// publishes the missing block again; the store, the engine and a refused or undecodable
    /// record will not change by themselves.
    fn is_transient(&self) -> bool {
        matches!(self, Self::Log(LogError::Unavailable(_)) | Self::Gap { .. })
    }
}
