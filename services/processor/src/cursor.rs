//! Reading the ops topics: one cursor per co-located module, filled from the log (every
//! record decoded and checked before it is queued) and drained as blocks are processed.
//!
//! A topic may hold records stranded by a failed append: on a log without atomic appends
//! (Kafka) a later record of a batch can land while an earlier one did not, and the
//! ingester then publishes again from the last block it knows the topic holds
//! (docs/architecture.md, "Distributed mode"). The stranded records are superseded by that
//! re-publication, so when the record at the front starts after the next block and a later
//! record covers that block, the records in between are dropped; until such a record
//! arrives the gap is reported as transient ([`ProcessorError::Gap`]) and waited out.

use crate::{validate, Processor, ProcessorError};
use opentoken_core::engine::ErasedModule;
use opentoken_core::{BlockRecord, ChainSpec};
use opentoken_log::{LogRecord, TraceContext};
use std::collections::VecDeque;

/// How many records a cursor reads past a gap looking for the re-published block: far more
/// than one append can strand (a publish carries at most 1000 blocks per topic).
const GAP_LOOKAHEAD: usize = 10_000;

/// The read position of one module's ops topic.
pub(crate) struct Cursor {
    pub(crate) topic: String,
    /// Offset of the first record in `queue` (or of the next record to read if empty).
    pub(crate) offset: u64,
    pub(crate) queue: VecDeque<BlockRecord>,
    /// The trace context each queued record carried (same length and order as `queue`):
    /// observability only, it never reaches the engine.
    pub(crate) traces: VecDeque<Option<TraceContext>>,
    /// Next offset to read from the log.
    pub(crate) read_offset: u64,
}

impl Cursor {
    /// The queued records that follow block `done` without a gap (stranded records past a
    /// gap are not yet known to be the chain's next blocks).
    pub(crate) fn gapless_after(&self, done: u64) -> impl Iterator<Item = &BlockRecord> {
        let mut covered = done;
        self.queue.iter().take_while(move |r| {
            if r.block_num > covered.saturating_add(1) {
                return false;
            }
            covered = covered.max(r.last_block);
            true
        })
    }
}

/// Decodes and checks one record read from the topic of `modules[index]`.
fn read_record(
    topic: &str,
    r: &LogRecord,
    index: usize,
    modules: &[&dyn ErasedModule],
    spec: &ChainSpec,
) -> Result<BlockRecord, ProcessorError> {
    let rec = opentoken_codec::decode_block_record(&r.value).map_err(|e| ProcessorError::Decode {
        topic: topic.to_string(),
        offset: r.offset,
        detail: e.to_string(),
    })?;
    validate::block_record(&rec, index, modules, spec).map_err(|reason| ProcessorError::Refused {
        topic: topic.to_string(),
        offset: r.offset,
        reason,
    })?;
    Ok(rec)
}

impl Processor {
    /// Reads up to `max` records into cursor `i`'s queue; how many were read.
    fn read_into(&mut self, i: usize, max: usize) -> Result<usize, ProcessorError> {
        let modules: Vec<&dyn ErasedModule> = self.engine.slots().iter().map(|s| s.module.as_ref()).collect();
        let c = &mut self.cursors[i];
        let recs = self.log.read(&c.topic, c.read_offset, max)?;
        for r in &recs {
            let rec = read_record(&c.topic, r, i, &modules, &self.spec)?;
            c.queue.push_back(rec);
            c.traces.push_back(r.trace);
            c.read_offset = r.offset + 1;
        }
        Ok(recs.len())
    }

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
        for (i, ahead) in ahead.into_iter().enumerate() {
            if self.cursors[i].queue.len() >= self.cfg.read_batch / 2 || ahead {
                continue;
            }
            self.read_into(i, self.cfg.read_batch)?;
        }
        Ok(())
    }

    /// Makes every non-empty cursor start at or before block `next`: records stranded
    /// before a re-publication of `next` are dropped; a gap nothing re-published yet is a
    /// (transient) [`ProcessorError::Gap`].
    pub(crate) fn skip_stranded(&mut self, next: u64) -> Result<(), ProcessorError> {
        for i in 0..self.cursors.len() {
            loop {
                let c = &self.cursors[i];
                let Some(front) = c.queue.front() else { break };
                if front.block_num <= next {
                    break;
                }
                if let Some(k) = c.queue.iter().position(|r| r.block_num <= next && next <= r.last_block) {
                    let c = &mut self.cursors[i];
                    tracing::warn!(
                        topic = %c.topic,
                        from_offset = c.offset,
                        records = k,
                        block = next,
                        "dropping records stranded by a failed append; block {next} was published again at offset {}",
                        c.offset + k as u64
                    );
                    c.queue.drain(..k);
                    c.traces.drain(..k.min(c.traces.len()));
                    c.offset += k as u64;
                    break;
                }
                let got = front.block_num;
                let room = GAP_LOOKAHEAD.saturating_sub(c.queue.len());
                if room == 0 || self.read_into(i, room.min(self.cfg.read_batch.max(1)))? == 0 {
                    let c = &self.cursors[i];
                    return Err(ProcessorError::Gap {
                        topic: c.topic.clone(),
                        offset: c.offset,
                        expected: next,
                        got,
                    });
                }
            }
        }
        Ok(())
    }

    /// Drops records entirely at or below `done` (already processed, or duplicates).
    pub(crate) fn drop_consumed(&mut self, done: u64) {
        for c in &mut self.cursors {
            while c.queue.front().is_some_and(|r| r.last_block <= done) {
                c.queue.pop_front();
                c.traces.pop_front();
                c.offset += 1;
            }
        }
    }
}
