//! Where a topic stands, re-derived from the log when the publisher opens.
//!
//! The last record of a topic is not always the topic's head. On a log without atomic
//! appends (Kafka) a failed append can land a later record of a batch and lose an earlier
//! one; the publisher retries from its old head while it runs, but after a restart the
//! last record would claim blocks whose predecessors never landed, the ingester would go
//! on after them, and the gap would never be filled. So the head is the end of the gapless
//! run of blocks, read the way processors read: in offset order, duplicates skipped, and
//! records stranded past a gap skipped when a later record publishes the missing block
//! again. Publishing from there re-publishes the missing blocks (and repeats the stranded
//! ones, which processors drop as duplicates).

use crate::IngestError;
use opentoken_core::BlockRecord;
use opentoken_log::{Log, LogError};

/// Records read back from the end of a topic. A gap can only follow a failed append,
/// whose records (at most one per block of a batch of at most 1000) are the last ones of
/// the topic: the publisher appends nothing after a failure but the same blocks again.
const TAIL_RECORDS: u64 = 2_000;

/// The last block of a topic's gapless run and that block's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) last_block: u64,
    pub(crate) block_id: String,
}

/// The head of `topic`, `None` when it is empty.
pub(crate) fn topic_head(log: &dyn Log, topic: &str) -> Result<Option<Head>, IngestError> {
    let end = log.end_offset(topic)?;
    let mut offset = end.saturating_sub(TAIL_RECORDS);
    let mut records = Vec::new();
    while offset < end {
        let page = log.read(topic, offset, (end - offset) as usize)?;
        let Some(last) = page.last() else {
            // A head derived from part of the tail could restart far too early (or at
            // the starting block); wait for the log instead (transient).
            return Err(IngestError::Log(LogError::Unavailable(format!(
                "topic {topic} returned nothing at offset {offset} of {end} while reading its tail"
            ))));
        };
        offset = last.offset + 1;
        for r in page {
            let rec = opentoken_codec::decode_block_record(&r.value).map_err(|e| IngestError::Decode {
                topic: topic.to_string(),
                detail: format!("offset {}: {e}", r.offset),
            })?;
            records.push(rec);
        }
    }
    Ok(gapless_head(&records))
}

/// The end of the gapless run that starts with the first record (the oldest one read,
/// taken as published after a gapless past).
pub(crate) fn gapless_head(records: &[BlockRecord]) -> Option<Head> {
    let mut head: Option<Head> = None;
    for (i, r) in records.iter().enumerate() {
        let Some(h) = &head else {
            head = Some(Head {
                last_block: r.last_block,
                block_id: r.block_id.clone(),
            });
            continue;
        };
        let missing = h.last_block + 1;
        if r.last_block < missing {
            continue; // a duplicate
        }
        if r.block_num > missing {
            let republished = records[i + 1..]
                .iter()
                .any(|x| x.block_num <= missing && missing <= x.last_block);
            if republished {
                continue; // stranded, and superseded by what follows
            }
            break; // the gap is still open: publish again from `missing`
        }
        head = Some(Head {
            last_block: r.last_block,
            block_id: r.block_id.clone(),
        });
    }
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(first: u64, last: u64) -> BlockRecord {
        BlockRecord {
            block_num: first,
            last_block: last,
            block_id: format!("id{last}"),
            timestamp: 0,
            ops: vec![],
        }
    }

    fn head(recs: &[(u64, u64)]) -> Option<u64> {
        let recs: Vec<BlockRecord> = recs.iter().map(|&(a, b)| rec(a, b)).collect();
        gapless_head(&recs).map(|h| h.last_block)
    }

    #[test]
    fn the_head_ends_the_gapless_run() {
        assert_eq!(head(&[]), None);
        assert_eq!(head(&[(1, 1), (2, 5), (6, 6)]), Some(6));
        // Duplicates (a restarted or second ingester) change nothing.
        assert_eq!(head(&[(1, 1), (2, 5), (2, 5), (6, 6), (1, 6)]), Some(6));
        // Block 3 was lost, 4..5 landed: publish again from 3.
        assert_eq!(head(&[(1, 1), (2, 2), (4, 4), (5, 5)]), Some(2));
        // ... and once 3 is published again the run goes on through the repeats.
        assert_eq!(head(&[(1, 1), (2, 2), (4, 4), (3, 3), (4, 4), (5, 9)]), Some(9));
        // A later gap after a filled one is found too.
        assert_eq!(head(&[(1, 2), (4, 4), (3, 4), (5, 5), (7, 7)]), Some(5));
    }

    #[test]
    fn the_block_id_is_that_of_the_head() {
        let recs = [rec(1, 1), rec(2, 2), rec(4, 4)];
        assert_eq!(
            gapless_head(&recs),
            Some(Head {
                last_block: 2,
                block_id: "id2".into()
            })
        );
    }
}
