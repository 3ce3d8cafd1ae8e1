//! The cross-process message protocol (docs/architecture.md, "Messages between
//! processes"): which modules elsewhere a processor exchanges messages with, the inbox of
//! batches read from `<community>.messages.<module>`, the upstream-progress rule that gates
//! the next block, and the batches (messages, progress and quiet promise) published
//! downstream after each span.

use crate::{Processor, ProcessorError};
use opentoken_core::engine::ErasedModule;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which modules in other processes this processor exchanges messages with (from the
/// registry's `sends_to` declarations).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageLinks {
    /// Modules elsewhere that send to a module here: they gate which block may run next.
    pub upstreams: Vec<String>,
    /// `(module here, module elsewhere)` pairs a batch is published for after each span.
    pub downstreams: Vec<(String, String)>,
    /// `(module elsewhere, module here)` pairs: the only batches a messages topic here may
    /// hold (anything else on it is refused).
    pub senders: Vec<(String, String)>,
}

impl MessageLinks {
    /// The links of a processor running the modules `local` when the whole registry is
    /// `all`: who it waits for and whom it publishes to; `None` when nothing crosses
    /// processes.
    pub fn between(all: &[Arc<dyn ErasedModule>], local: &[String]) -> Option<Self> {
        let is_local = |m: &str| local.iter().any(|l| l == m);
        let mut links = Self::default();
        for m in all {
            let name = m.module_name();
            for t in m.targets() {
                let known = all.iter().any(|o| o.module_name() == *t);
                match (is_local(name), is_local(t)) {
                    (false, true) => {
                        if !links.upstreams.iter().any(|u| u == name) {
                            links.upstreams.push(name.to_string());
                        }
                        links.senders.push((name.to_string(), t.to_string()));
                    }
                    (true, false) if known => links.downstreams.push((name.to_string(), t.to_string())),
                    _ => {}
                }
            }
        }
        (!links.upstreams.is_empty() || !links.downstreams.is_empty()).then_some(links)
    }
}

/// Messages from modules in other processes, read from `<community>.messages.<module>`.
#[derive(Default)]
pub(crate) struct Inbox {
    /// Next offset per topic.
    pub(crate) offsets: BTreeMap<String, u64>,
    /// Per sender: every message it emits at or below this block is known here.
    pub(crate) known: BTreeMap<String, u64>,
    /// Per sender: the highest through_block seen (older messages are duplicates).
    pub(crate) seen_through: BTreeMap<String, u64>,
    /// Messages not yet delivered, by the block that emitted them (delivered at block + 1).
    pub(crate) buffered: BTreeMap<u64, Vec<opentoken_core::Message>>,
}

impl Processor {
    /// The last block that may run now (every upstream's promise + 1), or `u64::MAX`.
    pub(crate) fn allowed_through(&self) -> u64 {
        let Some(links) = &self.cfg.links else { return u64::MAX };
        links
            .upstreams
            .iter()
            .map(|u| {
                self.inbox
                    .known
                    .get(u)
                    .map_or(self.spec.starting_block.saturating_sub(1), |k| k.saturating_add(1))
            })
            .min()
            .unwrap_or(u64::MAX)
    }

    fn messages_topic(&self, module: &str) -> String {
        format!("{}.messages.{module}", self.spec.name)
    }

    /// Reads new batches addressed to this processor's modules. Messages already delivered
    /// (emitted before the committed block) and repeated batches are dropped; a batch that
    /// cannot be ours (`validate::message_batch`) stops the processor before any of it is
    /// used.
    pub(crate) fn read_inbox(&mut self) -> Result<(), ProcessorError> {
        let senders = match &self.cfg.links {
            Some(l) if !l.upstreams.is_empty() => l.senders.clone(),
            _ => return Ok(()),
        };
        let done = self.last_block().unwrap_or(0);
        let names: Vec<String> = self
            .engine
            .slots()
            .iter()
            .map(|s| s.module.module_name().to_string())
            .collect();
        for name in names {
            let topic = self.messages_topic(&name);
            loop {
                let from = self.inbox.offsets.get(&topic).copied().unwrap_or(0);
                let recs = self.log.read(&topic, from, 1000)?;
                if recs.is_empty() {
                    break;
                }
                for r in &recs {
                    let b = opentoken_codec::decode_message_batch(&r.value).map_err(|e| ProcessorError::Decode {
                        topic: topic.clone(),
                        offset: r.offset,
                        detail: e.to_string(),
                    })?;
                    crate::validate::message_batch(&b, &name, &senders).map_err(|reason| ProcessorError::Refused {
                        topic: topic.clone(),
                        offset: r.offset,
                        reason,
                    })?;
                    let seen = self.inbox.seen_through.get(&b.from).copied();
                    for m in b.messages {
                        let fresh = seen.is_none_or(|s| m.pos.block > s) && m.pos.block + 1 > done;
                        if fresh {
                            self.inbox.buffered.entry(m.pos.block).or_default().push(m);
                        }
                    }
                    let through = seen.map_or(b.through_block, |s| s.max(b.through_block));
                    self.inbox.seen_through.insert(b.from.clone(), through);
                    let k = self.inbox.known.entry(b.from).or_insert(0);
                    *k = (*k).max(b.through_block.max(b.quiet_through));
                    // Past a batch only once it is used: a refused one stays the next.
                    self.inbox.offsets.insert(topic.clone(), r.offset + 1);
                }
            }
        }
        Ok(())
    }

    /// A lower bound on the blocks at which `module` can emit nothing (beyond what is
    /// published): before its next op, its next chron work and, if it reacts to messages,
    /// the next message it is due.
    fn quiet_through(&self, module: &str, through: u64) -> u64 {
        let Some((i, slot)) = self
            .engine
            .slots()
            .iter()
            .enumerate()
            .find(|(_, s)| s.module.module_name() == module)
        else {
            return through;
        };
        if slot.module.sends_on_messages() && self.cfg.links.as_ref().is_some_and(|l| !l.upstreams.is_empty()) {
            return through;
        }
        // Only records that follow `through` without a gap say anything about the next
        // blocks: a block missing before a stranded record may hold ops.
        let mut covered = through;
        let mut next_op = None;
        for r in self.cursors[i].gapless_after(through) {
            if !r.ops.is_empty() && r.block_num > through {
                next_op = Some(r.block_num);
                break;
            }
            covered = covered.max(r.last_block);
        }
        let next_op = next_op.unwrap_or(covered + 1);
        let next_due = slot.module.next_due(&slot.state, through).unwrap_or(u64::MAX);
        next_op.min(next_due).saturating_sub(1).max(through)
    }

    /// Publishes the outbox and this processor's progress and quiet promise to every
    /// downstream module elsewhere (`force` even when nothing changed).
    pub(crate) fn publish_progress(&mut self, force: bool) -> Result<(), ProcessorError> {
        let Some(links) = self.cfg.links.clone() else {
            return Ok(());
        };
        // Before the first block, genesis is what has been "processed".
        let through = self
            .engine
            .slots()
            .iter()
            .map(|s| s.last_block.unwrap_or(self.spec.starting_block.saturating_sub(1)))
            .min()
            .unwrap_or(0);
        let mut batches = Vec::new();
        for (from, to) in &links.downstreams {
            let quiet = self.quiet_through(from, through);
            let messages: Vec<_> = self
                .outbox
                .iter()
                .filter(|m| &m.from == from && &m.to == to)
                .cloned()
                .collect();
            let key = (from.clone(), to.clone());
            if !force && messages.is_empty() && self.published.get(&key) == Some(&(through, quiet)) {
                continue;
            }
            let batch = opentoken_codec::MessageBatch {
                from: from.clone(),
                to: to.clone(),
                through_block: through,
                quiet_through: quiet,
                messages,
            };
            batches.push((
                self.messages_topic(to),
                vec![(
                    through.to_be_bytes().to_vec(),
                    opentoken_codec::encode_message_batch(&batch),
                )],
            ));
            self.published.insert(key, (through, quiet));
        }
        if !batches.is_empty() {
            self.log.append(&batches)?;
        }
        self.outbox.clear();
        Ok(())
    }
}
