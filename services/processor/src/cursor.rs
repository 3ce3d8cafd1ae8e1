//! Reading the ops topics: one cursor per co-located module, filled from the log and
//! drained as blocks are processed.

use crate::{Processor, ProcessorError};
use opentoken_core::BlockRecord;
use std::collections::VecDeque;

/// The read position of one module's ops topic.
pub(crate) struct Cursor {
    pub(crate) topic: String,
    /// Offset of the first record in `queue` (or of the next record to read if empty).
    pub(crate) offset: u64,
    pub(crate) queue: VecDeque<BlockRecord>,
    /// Next offset to read from the log.
    pub(crate) read_offset: u64,
}

impl Processor {
    /// Tops up the queue of every cursor that is running low (and is not ahead of the others).
    pub(crate) fn fill(&mut self) -> Result<(), ProcessorError> {
        // A topic whose queued records already reach past every other topic's is not the
        // bottleneck: reading it again would only wait at its end (a Kafka fetch waits for
        // data), e.g. a module with few ops whose empty runs are coalesced far ahead.
        let horizon = |c: &Cursor| c.queue.back().map(|r| r.last_block);
        let ahead: Vec<bool> = self
            .cursors
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let Some(mine) = horizon(c) else { return false };
                self.cursors
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .all(|(_, o)| horizon(o).is_some_and(|theirs| mine >= theirs))
                    && self.cursors.len() > 1
            })
            .collect();
        for (c, ahead) in self.cursors.iter_mut().zip(ahead) {
            if c.queue.len() >= self.cfg.read_batch / 2 || ahead {
                continue;
            }
            let recs = self.log.read(&c.topic, c.read_offset, self.cfg.read_batch)?;
            for r in recs {
                let rec = opentoken_codec::decode_block_record(&r.value).map_err(|e| ProcessorError::Decode {
                    topic: c.topic.clone(),
                    offset: r.offset,
                    detail: e.to_string(),
                })?;
                c.queue.push_back(rec);
                c.read_offset = r.offset + 1;
            }
        }
        Ok(())
    }

    /// Drops records entirely at or below `done` (already processed, or duplicates).
    pub(crate) fn drop_consumed(&mut self, done: u64) {
        for c in &mut self.cursors {
            while c.queue.front().is_some_and(|r| r.last_block <= done) {
                c.queue.pop_front();
                c.offset += 1;
            }
        }
    }
}
