//! The `Log` trait: append-only topics of opaque (Avro) records, read from an offset.
//!
//! Offsets start at 0 and are dense per topic. The embedded backend stores topics in the
//! same embedded database as the store; the Kafka backend maps topics one to one.

use thiserror::Error;

pub mod embedded;
pub use embedded::EmbeddedLog;
pub mod trace;
pub use trace::{RecordTraces, TraceContext};
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "kafka")]
pub use kafka::{KafkaConfig, KafkaLog};

#[derive(Debug, Error)]
pub enum LogError {
    #[error("log backend failed during {op} on topic {topic}: {detail}")]
    Backend {
        op: &'static str,
        topic: String,
        detail: String,
    },
    #[error("log unavailable: {0}")]
    Unavailable(String),
}

/// A broker that is away comes back; a backend that failed an operation fails it again.
impl opentoken_lifecycle::Transient for LogError {
    fn is_transient(&self) -> bool {
        matches!(self, LogError::Unavailable(_))
    }
}

/// One record read back, with its offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub offset: u64,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// The trace context the writer attached (observability only: never consensus data,
    /// see [`trace`]); `None` for records written without one, or with a garbage one.
    pub trace: Option<TraceContext>,
}

/// A record to append: `(key, value)`.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// Records to append to one topic.
pub type TopicBatch = (String, Vec<KeyValue>);

pub trait Log: Send + Sync {
    /// Appends records to several topics; atomically across topics where the backend can.
    /// Each record is `(key, value)`. Returns nothing: offsets are dense, read `end_offset`.
    fn append(&self, batch: &[TopicBatch]) -> Result<(), LogError>;
    /// [`Log::append`] with a trace context for the records (a Kafka `traceparent` header;
    /// kept in memory for a while by the embedded log), so that a reader in another process
    /// continues the writer's trace. A backend that cannot carry one appends without it.
    fn append_traced(&self, batch: &[TopicBatch], traces: RecordTraces<'_>) -> Result<(), LogError> {
        let _ = traces;
        self.append(batch)
    }
    /// Up to `max` records from `from` on (fewer at the end of the topic).
    fn read(&self, topic: &str, from: u64, max: usize) -> Result<Vec<LogRecord>, LogError>;
    /// The offset the next appended record will get (0 for an empty or unknown topic).
    fn end_offset(&self, topic: &str) -> Result<u64, LogError>;
    /// Tells the backend how far consumer `group` has durably consumed `topic`, for
    /// monitoring only (Kafka consumer-group lag); nothing reads it back to resume.
    fn commit_hint(&self, _group: &str, _topic: &str, _next_offset: u64) -> Result<(), LogError> {
        Ok(())
    }
    /// The last record of a topic, if any (the ingester resumes from it).
    fn last(&self, topic: &str) -> Result<Option<LogRecord>, LogError> {
        let end = self.end_offset(topic)?;
        if end == 0 {
            return Ok(None);
        }
        Ok(self.read(topic, end - 1, 1)?.into_iter().next())
    }
}
