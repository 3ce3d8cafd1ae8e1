//! Where a module restored at a checkpoint resumes reading its operations topic.

use crate::error::AgentError;
use opentoken_log::Log;

/// The offset of the first record of `topic` that ends after `block` (records are in block
/// order), i.e. where a module restored at `block` resumes reading. A bisection: the topic
/// may hold millions of records.
pub fn first_offset_after(log: &dyn Log, topic: &str, block: u64) -> Result<u64, AgentError> {
    let (mut lo, mut hi) = (0u64, log.end_offset(topic)?);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let recs = log.read(topic, mid, 1)?;
        let Some(r) = recs.first() else { break };
        let rec = opentoken_codec::decode_block_record(&r.value).map_err(|e| AgentError::Decode {
            topic: topic.to_string(),
            detail: format!("offset {mid}: {e}"),
        })?;
        if rec.last_block > block {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(lo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::BlockRecord;
    use opentoken_log::{LogError, LogRecord, TopicBatch};

    /// A topic of block records ending at the given blocks.
    struct Topic(Vec<u64>);

    impl Log for Topic {
        fn append(&self, _batch: &[TopicBatch]) -> Result<(), LogError> {
            unreachable!("the bisection only reads")
        }
        fn read(&self, _topic: &str, from: u64, max: usize) -> Result<Vec<LogRecord>, LogError> {
            Ok(self
                .0
                .iter()
                .enumerate()
                .skip(from as usize)
                .take(max)
                .map(|(i, last)| LogRecord {
                    offset: i as u64,
                    key: Vec::new(),
                    value: opentoken_codec::encode_block_record(&BlockRecord {
                        block_num: *last,
                        last_block: *last,
                        block_id: "00".repeat(20),
                        timestamp: 0,
                        ops: Vec::new(),
                    }),
                    trace: None,
                })
                .collect())
        }
        fn end_offset(&self, _topic: &str) -> Result<u64, LogError> {
            Ok(self.0.len() as u64)
        }
    }

    #[test]
    fn resumes_at_the_first_record_after_the_block() {
        let log = Topic(vec![10, 20, 30, 40, 50]);
        assert_eq!(first_offset_after(&log, "t", 0).ok(), Some(0));
        assert_eq!(first_offset_after(&log, "t", 20).ok(), Some(2));
        assert_eq!(first_offset_after(&log, "t", 25).ok(), Some(2));
        assert_eq!(
            first_offset_after(&log, "t", 50).ok(),
            Some(5),
            "nothing after: the end"
        );
        assert_eq!(first_offset_after(&Topic(vec![]), "t", 7).ok(), Some(0));
    }
}
