//! Publishing committed module checkpoints to `<community>.checkpoints`, for a checkpointer
//! running in another process: after each commit, and again after a restart for whatever
//! a crash left unpublished.

use crate::{Processor, ProcessorError};
use opentoken_log::RecordTraces;
use std::collections::BTreeMap;

impl Processor {
    /// After a restart, the checkpoints committed to the store but possibly not published
    /// (a crash between the two) are published again; the topic is small (one record per
    /// module per checkpoint), and duplicates carry the same hash.
    pub(crate) fn queue_unpublished_checkpoints(&mut self) -> Result<(), ProcessorError> {
        let Some(topic) = self.cfg.checkpoints_topic.clone() else {
            return Ok(());
        };
        let mut published: BTreeMap<String, u64> = BTreeMap::new();
        let mut offset = 0;
        loop {
            let recs = self.log.read(&topic, offset, 1000)?;
            let Some(last) = recs.last() else { break };
            offset = last.offset + 1;
            for r in &recs {
                let c = opentoken_codec::decode_module_checkpoint(&r.value).map_err(|e| ProcessorError::Decode {
                    topic: topic.clone(),
                    offset: r.offset,
                    detail: e.to_string(),
                })?;
                let e = published.entry(c.module).or_insert(0);
                *e = (*e).max(c.block);
            }
        }
        for slot in self.engine.slots() {
            let name = slot.module.module_name();
            let after = published.get(name).copied().unwrap_or(0);
            self.unpublished
                .extend(self.store.checkpoints(name)?.into_iter().filter(|c| c.block > after));
        }
        self.publish_checkpoints()
    }

    pub(crate) fn publish_checkpoints(&mut self) -> Result<(), ProcessorError> {
        let Some(topic) = &self.cfg.checkpoints_topic else {
            self.unpublished.clear();
            self.checkpoint_traces.clear();
            return Ok(());
        };
        if self.unpublished.is_empty() {
            return Ok(());
        }
        let records = self
            .unpublished
            .iter()
            .map(|c| {
                let mut key = c.module.as_bytes().to_vec();
                key.push(b'/');
                key.extend_from_slice(&c.block.to_be_bytes());
                (key, opentoken_codec::encode_module_checkpoint(c))
            })
            .collect();
        // Each checkpoint record carries the trace of the span that processed its block
        // (only while tracing: the map is empty otherwise), for the checkpointer.
        let traces = [self
            .unpublished
            .iter()
            .map(|c| self.checkpoint_traces.get(&c.block).copied())
            .collect::<Vec<_>>()];
        let traces = if self.checkpoint_traces.is_empty() {
            RecordTraces::None
        } else {
            RecordTraces::PerRecord(&traces)
        };
        self.log.append_traced(&[(topic.clone(), records)], traces)?;
        if let Some(last) = self.unpublished.iter().map(|c| c.block).max() {
            self.checkpoint_traces = self.checkpoint_traces.split_off(&(last + 1));
        }
        self.unpublished.clear();
        Ok(())
    }
}
