//! The processor role: runs one module (or several co-located ones) over their topics.
//!
//! It is stateless between restarts: everything it needs is loaded from the store, and it
//! resumes from the consumed position committed with that state. Records at or below the
//! committed block are skipped, which makes duplicate publication by the ingester harmless.

use opentoken_core::commitment::LtHash;
use opentoken_core::engine::{Engine, EngineError, ErasedModule, Output, Slot};
use opentoken_core::{BlockRecord, ChainSpec, ModuleCheckpoint, ModuleState, RoutedOp};
use opentoken_log::{Log, LogError};
use opentoken_store::{CommitBatch, ModuleCommit, Progress, Store, StoreError};
use opentoken_telemetry::Telemetry;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

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
    #[error("topic {topic} skips from block {expected} to {got} at offset {offset}; the log is missing blocks — re-ingest from block {expected}")]
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

/// When to group-commit.
#[derive(Debug, Clone)]
pub struct ProcessorConfig {
    /// Commit after this many blocks (and whenever the processor catches up).
    pub commit_every_blocks: u64,
    /// Records fetched from the log per read.
    pub read_batch: usize,
    /// Stop after this block (used by tests, `--until-block` and replay).
    pub until_block: Option<u64>,
    /// Sleep between polls when caught up.
    pub idle_poll: Duration,
    /// Where to publish each committed module checkpoint, for a checkpointer running in
    /// another process (`<community>.checkpoints`); `None` when it shares this store.
    pub checkpoints_topic: Option<String>,
    /// Consumer group under which consumed offsets are committed to the log as a
    /// monitoring hint (Kafka lag); the offset that counts is the one in the store.
    pub consumer_group: Option<String>,
    /// Message exchange with modules in other processes; `None` when every module that
    /// sends to or receives from these ones is co-located.
    pub links: Option<MessageLinks>,
}

/// Which modules in other processes this processor exchanges messages with (from the
/// registry's `sends_to` declarations).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageLinks {
    /// Modules elsewhere that send to a module here: they gate which block may run next.
    pub upstreams: Vec<String>,
    /// `(module here, module elsewhere)` pairs a batch is published for after each span.
    pub downstreams: Vec<(String, String)>,
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
                    (false, true) if !links.upstreams.iter().any(|u| u == name) => {
                        links.upstreams.push(name.to_string())
                    }
                    (true, false) if known => links.downstreams.push((name.to_string(), t.to_string())),
                    _ => {}
                }
            }
        }
        (!links.upstreams.is_empty() || !links.downstreams.is_empty()).then_some(links)
    }
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        Self {
            commit_every_blocks: 1000,
            read_batch: 500,
            until_block: None,
            idle_poll: Duration::from_millis(200),
            checkpoints_topic: None,
            consumer_group: None,
            links: None,
        }
    }
}

struct Cursor {
    topic: String,
    /// Offset of the first record in `queue` (or of the next record to read if empty).
    offset: u64,
    queue: VecDeque<BlockRecord>,
    /// Next offset to read from the log.
    read_offset: u64,
}

/// What one `step` achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Processed (and committed) blocks up to this one.
    Advanced(u64),
    /// Nothing new in the log.
    Idle,
    /// Reached `until_block`.
    Done,
}

pub struct Processor {
    spec: Arc<ChainSpec>,
    engine: Engine,
    log: Arc<dyn Log>,
    store: Arc<dyn Store>,
    cursors: Vec<Cursor>,
    cfg: ProcessorConfig,
    telemetry: Arc<Telemetry>,
    /// Output not yet committed.
    uncommitted: Output,
    blocks_since_commit: u64,
    /// Committed checkpoints not yet on the checkpoints topic.
    unpublished: Vec<ModuleCheckpoint>,
    /// The store keeps snapshots: commits end at checkpoint blocks and carry the state.
    snapshots: bool,
    inbox: Inbox,
    /// Messages to modules elsewhere, emitted but not yet published.
    outbox: Vec<opentoken_core::Message>,
    /// `(through_block, quiet_through)` last published per downstream pair.
    published: BTreeMap<(String, String), (u64, u64)>,
}

/// Messages from modules in other processes, read from `<community>.messages.<module>`.
#[derive(Default)]
struct Inbox {
    /// Next offset per topic.
    offsets: BTreeMap<String, u64>,
    /// Per sender: every message it emits at or below this block is known here.
    known: BTreeMap<String, u64>,
    /// Per sender: the highest through_block seen (older messages are duplicates).
    seen_through: BTreeMap<String, u64>,
    /// Messages not yet delivered, by the block that emitted them (delivered at block + 1).
    buffered: BTreeMap<u64, Vec<opentoken_core::Message>>,
}

impl Processor {
    /// Loads the modules' state and positions from the store (writing genesis for a fresh
    /// store) and positions the cursors on their topics.
    pub fn open(
        spec: Arc<ChainSpec>,
        modules: Vec<Arc<dyn ErasedModule>>,
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
        cfg: ProcessorConfig,
        telemetry: Arc<Telemetry>,
    ) -> Result<Self, ProcessorError> {
        let mut slots = Vec::new();
        let mut cursors = Vec::new();
        let mut progress_blocks = Vec::new();
        for m in modules {
            let name = m.module_name();
            let loaded = store.load_module(name)?;
            let state = match &loaded.lattice {
                Some(bytes) => {
                    let lattice = LtHash::from_bytes(bytes).ok_or_else(|| ProcessorError::Inconsistent {
                        module: name.to_string(),
                        detail: format!("stored lattice has {} bytes", bytes.len()),
                    })?;
                    let state = ModuleState::from_parts(loaded.pairs, lattice.clone());
                    // Whatever the backend rebuilt must be the state that was committed.
                    if state.recompute_commitment() != lattice.digest() {
                        return Err(ProcessorError::Inconsistent {
                            module: name.to_string(),
                            detail: "the loaded state does not match its committed commitment".into(),
                        });
                    }
                    state
                }
                None if loaded.pairs.is_empty() => ModuleState::new(),
                None => ModuleState::from_pairs(loaded.pairs),
            };
            let topic = spec.ops_topic(name);
            let offset = loaded.progress.map(|p| p.next_offset).unwrap_or(0);
            progress_blocks.push(loaded.progress.map(|p| p.block));
            slots.push(Slot {
                module: m,
                state,
                last_block: loaded.progress.map(|p| p.block),
            });
            cursors.push(Cursor {
                topic,
                offset,
                queue: VecDeque::new(),
                read_offset: offset,
            });
        }
        if progress_blocks.windows(2).any(|w| w[0] != w[1]) {
            return Err(ProcessorError::Inconsistent {
                module: slots
                    .iter()
                    .map(|s| s.module.module_name())
                    .collect::<Vec<_>>()
                    .join(","),
                detail: format!("co-located modules committed different blocks {progress_blocks:?}"),
            });
        }
        let pending = store.pending_messages()?;
        let mut engine = Engine::new(spec.clone(), slots, pending);
        let fresh = engine.slots().iter().all(|s| s.last_block.is_none());
        let genesis = engine.genesis()?;
        let mut p = Self {
            spec,
            engine,
            log,
            store,
            cursors,
            cfg,
            telemetry,
            uncommitted: Output::default(),
            blocks_since_commit: 0,
            unpublished: Vec::new(),
            snapshots: false,
            inbox: Inbox::default(),
            outbox: Vec::new(),
            published: BTreeMap::new(),
        };
        p.snapshots = p.store.wants_snapshots();
        p.queue_unpublished_checkpoints()?;
        if fresh && (!genesis.is_empty() || !p.engine.pending_messages().is_empty()) {
            p.uncommitted = genesis;
            // Genesis is committed as the state before the first block.
            let before_first = p.spec.starting_block.saturating_sub(1);
            p.commit_at(before_first)?;
        }
        Ok(p)
    }

    /// After a restart, the checkpoints committed to the store but possibly not published
    /// (a crash between the two) are published again; the topic is small (one record per
    /// module per checkpoint), and duplicates carry the same hash.
    fn queue_unpublished_checkpoints(&mut self) -> Result<(), ProcessorError> {
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

    fn publish_checkpoints(&mut self) -> Result<(), ProcessorError> {
        let Some(topic) = &self.cfg.checkpoints_topic else {
            self.unpublished.clear();
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
        self.log.append(&[(topic.clone(), records)])?;
        self.unpublished.clear();
        Ok(())
    }

    /// The last block that may run now (every upstream's promise + 1), or `u64::MAX`.
    fn allowed_through(&self) -> u64 {
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
    /// (emitted before the committed block) and repeated batches are dropped.
    fn read_inbox(&mut self) -> Result<(), ProcessorError> {
        if self.cfg.links.as_ref().is_none_or(|l| l.upstreams.is_empty()) {
            return Ok(());
        }
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
                let Some(last) = recs.last() else { break };
                self.inbox.offsets.insert(topic.clone(), last.offset + 1);
                for r in &recs {
                    let b = opentoken_codec::decode_message_batch(&r.value).map_err(|e| ProcessorError::Decode {
                        topic: topic.clone(),
                        offset: r.offset,
                        detail: e.to_string(),
                    })?;
                    let seen = self.inbox.seen_through.get(&b.from).copied();
                    for m in b.messages {
                        let fresh = seen.is_none_or(|s| m.pos.block > s) && m.pos.block + 1 > done;
                        if fresh && m.to == name && m.pos.block <= b.through_block {
                            self.inbox.buffered.entry(m.pos.block).or_default().push(m);
                        }
                    }
                    let through = seen.map_or(b.through_block, |s| s.max(b.through_block));
                    self.inbox.seen_through.insert(b.from.clone(), through);
                    let k = self.inbox.known.entry(b.from).or_insert(0);
                    *k = (*k).max(b.through_block.max(b.quiet_through));
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
        let c = &self.cursors[i];
        let next_op = c
            .queue
            .iter()
            .find(|r| !r.ops.is_empty() && r.block_num > through)
            .map(|r| r.block_num)
            .or_else(|| c.queue.back().map(|r| r.last_block.max(through) + 1))
            .unwrap_or(through + 1);
        let next_due = slot.module.next_due(&slot.state, through).unwrap_or(u64::MAX);
        next_op.min(next_due).saturating_sub(1).max(through)
    }

    /// Publishes the outbox and this processor's progress and quiet promise to every
    /// downstream module elsewhere (`force` even when nothing changed).
    fn publish_progress(&mut self, force: bool) -> Result<(), ProcessorError> {
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

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Last block committed to the store (None before genesis).
    pub fn last_block(&self) -> Option<u64> {
        self.engine.slots().iter().filter_map(|s| s.last_block).min()
    }

    fn fill(&mut self) -> Result<(), ProcessorError> {
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
    fn drop_consumed(&mut self, done: u64) {
        for c in &mut self.cursors {
            while c.queue.front().is_some_and(|r| r.last_block <= done) {
                c.queue.pop_front();
                c.offset += 1;
            }
        }
    }

    /// Processes what the log has (up to `commit_every_blocks` blocks) and commits.
    pub fn step(&mut self) -> Result<Step, ProcessorError> {
        self.publish_checkpoints()?;
        if let (Some(until), Some(last)) = (self.cfg.until_block, self.last_block()) {
            if last >= until {
                self.flush()?;
                return Ok(Step::Done);
            }
        }
        self.fill()?;
        self.read_inbox()?;
        self.publish_progress(false)?;
        let mut advanced = false;
        loop {
            let next = self.engine.next_block();
            if self.cfg.until_block.is_some_and(|u| next > u) {
                break;
            }
            // The upstream-progress rule: block `next` may run once every module elsewhere
            // that can send here has published everything it emits up to `next - 1`.
            let allowed = self.allowed_through();
            if next > allowed {
                break;
            }
            if let Some(msgs) = self.inbox.buffered.remove(&next.saturating_sub(1)) {
                self.engine.deliver_remote(msgs);
            }
            self.drop_consumed(next.saturating_sub(1));
            if self.cursors.iter().any(|c| c.queue.is_empty()) {
                self.fill()?;
                self.drop_consumed(next.saturating_sub(1));
                if self.cursors.iter().any(|c| c.queue.is_empty()) {
                    break;
                }
            }
            // Every cursor now holds a record ending at or after `next`.
            let mut ops: BTreeMap<&str, &[RoutedOp]> = BTreeMap::new();
            let mut idle_until = u64::MAX;
            let mut timestamp = 0;
            for (c, slot) in self.cursors.iter().zip(self.engine.slots()) {
                let Some(r) = c.queue.front() else { break };
                if r.block_num > next {
                    return Err(ProcessorError::Gap {
                        topic: c.topic.clone(),
                        offset: c.offset,
                        expected: next,
                        got: r.block_num,
                    });
                }
                if r.ops.is_empty() {
                    idle_until = idle_until.min(r.last_block);
                } else {
                    idle_until = next.saturating_sub(1);
                    timestamp = r.timestamp;
                    ops.insert(slot.module.module_name(), &r.ops);
                }
            }
            let upto;
            let out = if ops.is_empty() {
                let mut end = self.cfg.until_block.map_or(idle_until, |u| u.min(idle_until));
                if self.snapshots {
                    // Commits end at checkpoint blocks, so that snapshots are at checkpoints.
                    let i = self.spec.checkpoint_interval;
                    end = end.min(next.div_ceil(i) * i);
                }
                end = end.min(allowed);
                // Messages emitted at block k are delivered at k + 1: stop at k.
                if let Some((&k, _)) = self.inbox.buffered.range(next..).next() {
                    end = end.min(k);
                }
                upto = end;
                self.engine.process_idle_range(next, upto)?
            } else {
                upto = next;
                self.engine.process_block(next, timestamp, &ops)?
            };
            self.note_output(&out, upto - next + 1);
            self.uncommitted.append(out);
            self.blocks_since_commit += upto - next + 1;
            advanced = true;
            if self.blocks_since_commit >= self.cfg.commit_every_blocks
                || (self.snapshots && upto.is_multiple_of(self.spec.checkpoint_interval))
            {
                break;
            }
        }
        if advanced {
            let last = self.engine.next_block() - 1;
            self.commit_at(last)?;
            self.publish_checkpoints()?;
            if self.cfg.until_block.is_some_and(|u| last >= u) {
                return Ok(Step::Done);
            }
            Ok(Step::Advanced(last))
        } else {
            Ok(Step::Idle)
        }
    }

    fn note_output(&self, out: &Output, blocks: u64) {
        let t = &self.telemetry;
        t.counter_add(
            "opentoken_blocks_processed_total",
            "Blocks processed by this processor",
            blocks,
        );
        let rejected = out
            .statuses
            .iter()
            .filter(|s| matches!(s.outcome, opentoken_core::Outcome::Rejected { .. }))
            .count() as u64;
        t.counter_add(
            "opentoken_ops_processed_total",
            "Operations processed",
            out.statuses.len() as u64,
        );
        t.counter_add(
            "opentoken_ops_rejected_total",
            "Operations rejected (recorded with a reason)",
            rejected,
        );
    }

    /// Commits whatever is uncommitted (used before stopping).
    pub fn flush(&mut self) -> Result<(), ProcessorError> {
        if let Some(last) = self.last_block() {
            if !self.uncommitted.is_empty() || self.blocks_since_commit > 0 {
                self.commit_at(last)?;
            }
        }
        self.publish_checkpoints()
    }

    fn commit_at(&mut self, block: u64) -> Result<(), ProcessorError> {
        let started = Instant::now();
        // The consumed position: the first record not entirely processed.
        self.drop_consumed(block);
        let mut modules = Vec::new();
        for (slot, c) in self.engine.slots_mut().iter_mut().zip(&self.cursors) {
            let changes = slot.state.take_changes();
            let lattice = slot.state.lattice().to_bytes();
            let snapshot = (self.snapshots && block.is_multiple_of(self.spec.checkpoint_interval))
                .then(|| slot.state.pairs().clone());
            modules.push(ModuleCommit {
                module: slot.module.module_name().to_string(),
                changes,
                lattice,
                progress: Progress {
                    block,
                    next_offset: c.offset,
                },
                snapshot,
            });
        }
        let out = std::mem::take(&mut self.uncommitted);
        self.outbox.extend(out.remote_messages.iter().cloned());
        // Published before the commit: a crash in between repeats the batch (receivers drop
        // what they have seen) instead of losing it.
        self.publish_progress(true)?;
        let batch = CommitBatch {
            modules,
            events: out.events,
            statuses: out.statuses,
            checkpoints: out.checkpoints,
            pending_messages: self.engine.pending_messages().to_vec(),
        };
        self.store.commit(&batch)?;
        self.blocks_since_commit = 0;
        self.unpublished.extend(batch.checkpoints);
        if let Some(group) = &self.cfg.consumer_group {
            for c in &self.cursors {
                // A hint only: losing it loses nothing, so it never fails the commit.
                if let Err(e) = self.log.commit_hint(group, &c.topic, c.offset) {
                    tracing::debug!(error = %e, "consumer offset hint not committed");
                }
            }
        }
        let t = &self.telemetry;
        t.counter_add("opentoken_commits_total", "Store commits", 1);
        t.gauge_set(
            "opentoken_commit_seconds",
            "Duration of the last commit",
            started.elapsed().as_secs_f64(),
        );
        t.gauge_set(
            "opentoken_processed_block",
            "Last block committed by the processor",
            block as f64,
        );
        tracing::debug!(block, "committed");
        Ok(())
    }

    /// Runs until `stop` is set or `until_block` is reached.
    pub fn run(&mut self, stop: &AtomicBool) -> Result<(), ProcessorError> {
        self.telemetry.set_ready("processor");
        while !stop.load(Ordering::Relaxed) {
            match self.step()? {
                Step::Done => break,
                Step::Idle => std::thread::sleep(self.cfg.idle_poll),
                Step::Advanced(b) => tracing::trace!(block = b, "advanced"),
            }
        }
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::module::{EventDecodeError, GenesisError, InvariantError};
    use opentoken_core::{
        Auth, BlockContext, ChainPos, CustomJsonOp, HiveOp, Input, Module, OpContext, Reject, Route, StateRead,
        StateWrite,
    };
    use opentoken_log::EmbeddedLog;
    use opentoken_store::EmbeddedStore;

    /// Counts `count` ops per signer.
    struct Counter;
    const ROUTES: &[Route] = &[Route {
        name: "count",
        auth: Auth::Posting,
    }];

    impl Module for Counter {
        type Event = String;
        fn name(&self) -> &'static str {
            "counter"
        }
        fn routes(&self) -> &[Route] {
            ROUTES
        }
        fn accepts_hive_op(&self, _: &HiveOp, _: &ChainSpec) -> bool {
            false
        }
        fn genesis(&self, _: &ChainSpec) -> Result<Vec<String>, GenesisError> {
            Ok(vec!["genesis".into()])
        }
        fn handle(&self, _: &OpContext, input: Input, _: &dyn StateRead) -> Result<Vec<String>, Reject> {
            match input {
                Input::CustomJson { from, .. } => Ok(vec![from.to_string()]),
                _ => Err(Reject::field("unexpected")),
            }
        }
        fn on_block(&self, _: &BlockContext, _: &dyn StateRead) -> Result<Vec<String>, InvariantError> {
            Ok(vec![])
        }
        fn next_due_block(&self, _: &dyn StateRead, _: u64) -> Option<u64> {
            None
        }
        fn apply(&self, who: &String, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
            let key = format!("n/{who}").into_bytes();
            let n = state.get(&key).map(|v| v.len()).unwrap_or(0);
            state.put(key, vec![0; n + 1]);
            Ok(())
        }
        fn event_kind(&self, _: &String) -> &'static str {
            "Counted"
        }
        fn encode_event(&self, e: &String) -> Result<Vec<u8>, InvariantError> {
            Ok(e.as_bytes().to_vec())
        }
        fn decode_event(&self, b: &[u8]) -> Result<String, EventDecodeError> {
            String::from_utf8(b.to_vec()).map_err(|e| EventDecodeError {
                module: "counter".into(),
                why: e.to_string(),
            })
        }
        fn describe(&self, e: &String) -> String {
            format!("counted {e}")
        }
    }

    fn spec() -> Arc<ChainSpec> {
        Arc::new(
            ChainSpec::from_json(
                r#"{"name":"t","prefix":"x_","token":"T","precision":3,"starting_block":1,"leader":"lead",
                    "msaccount":"msig","delegation_account":"lead","checkpoint_interval":10}"#,
            )
            .unwrap(),
        )
    }

    fn rec(block: u64, last: u64, who: &[&str]) -> BlockRecord {
        BlockRecord {
            block_num: block,
            last_block: last,
            block_id: format!("{last:08x}"),
            timestamp: last * 3,
            ops: who
                .iter()
                .enumerate()
                .map(|(i, w)| RoutedOp {
                    pos: ChainPos::new(block, i as u32, 0),
                    txid: format!("t{block}-{i}"),
                    op: HiveOp::CustomJson(CustomJsonOp {
                        required_auths: vec![],
                        required_posting_auths: vec![w.to_string()],
                        id: "x_count".into(),
                        json: "{}".into(),
                    }),
                })
                .collect(),
        }
    }

    struct Env {
        _dir: tempfile::TempDir,
        log: Arc<dyn Log>,
        store: Arc<dyn Store>,
    }

    fn env() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = opentoken_log::embedded::open_database(&dir.path().join("db.redb")).unwrap();
        Env {
            log: Arc::new(EmbeddedLog::new(db.clone()).unwrap()),
            store: Arc::new(EmbeddedStore::new(db).unwrap()),
            _dir: dir,
        }
    }

    fn append(e: &Env, recs: &[BlockRecord]) {
        let batch = vec![(
            "t.ops.counter".to_string(),
            recs.iter()
                .map(|r| (vec![], opentoken_codec::encode_block_record(r)))
                .collect(),
        )];
        e.log.append(&batch).unwrap();
    }

    fn open(e: &Env, every: u64, until: Option<u64>) -> Processor {
        let cfg = ProcessorConfig {
            commit_every_blocks: every,
            until_block: until,
            read_batch: 4,
            ..Default::default()
        };
        Processor::open(
            spec(),
            vec![Arc::new(Counter)],
            e.log.clone(),
            e.store.clone(),
            cfg,
            Arc::new(Telemetry::new()),
        )
        .unwrap()
    }

    fn drain(p: &mut Processor) -> Step {
        loop {
            match p.step().unwrap() {
                Step::Advanced(_) => continue,
                other => return other,
            }
        }
    }

    fn count(e: &Env, who: &str) -> usize {
        e.store
            .get("counter", format!("n/{who}").as_bytes())
            .unwrap()
            .map(|v| v.len())
            .unwrap_or(0)
    }

    #[test]
    fn resumes_after_restart_and_skips_duplicates() {
        let e = env();
        append(&e, &[rec(1, 1, &["a"]), rec(2, 5, &[]), rec(6, 6, &["a", "b"])]);
        let mut p = open(&e, 2, None);
        assert_eq!(drain(&mut p), Step::Idle);
        assert_eq!(p.last_block(), Some(6));
        drop(p);
        // A second ingester republishes blocks 5..6 and then continues.
        append(
            &e,
            &[
                rec(2, 5, &[]),
                rec(6, 6, &["a", "b"]),
                rec(7, 12, &[]),
                rec(13, 13, &["b"]),
            ],
        );
        let mut p = open(&e, 100, None);
        assert_eq!(drain(&mut p), Step::Idle);
        assert_eq!(p.last_block(), Some(13));
        assert_eq!(count(&e, "a"), 2, "duplicate block 6 applied once");
        assert_eq!(count(&e, "b"), 2);
        assert_eq!(
            e.store.progress("counter").unwrap(),
            Some(Progress {
                block: 13,
                next_offset: 7
            })
        );
        assert_eq!(
            e.store
                .checkpoints("counter")
                .unwrap()
                .iter()
                .map(|c| c.block)
                .collect::<Vec<_>>(),
            vec![10]
        );
        assert_eq!(e.store.statuses("t6-1").unwrap().len(), 1);
    }

    #[test]
    fn stops_inside_a_range_and_resumes_there() {
        let e = env();
        append(&e, &[rec(1, 30, &[]), rec(31, 31, &["a"])]);
        let mut p = open(&e, 1000, Some(15));
        assert_eq!(drain(&mut p), Step::Done);
        assert_eq!(
            e.store.progress("counter").unwrap(),
            Some(Progress {
                block: 15,
                next_offset: 0
            })
        );
        drop(p);
        let mut p = open(&e, 1000, None);
        assert_eq!(drain(&mut p), Step::Idle);
        assert_eq!(p.last_block(), Some(31));
        assert_eq!(count(&e, "a"), 1);
        assert_eq!(e.store.checkpoints("counter").unwrap().len(), 3);
    }

    #[test]
    fn a_gap_in_the_topic_is_an_error_naming_the_block() {
        let e = env();
        append(&e, &[rec(1, 3, &[]), rec(5, 5, &["a"])]);
        let mut p = open(&e, 10, None);
        let err = loop {
            match p.step() {
                Ok(Step::Advanced(_)) => continue,
                Ok(other) => panic!("expected an error, got {other:?}"),
                Err(err) => break err,
            }
        };
        assert!(
            matches!(
                err,
                ProcessorError::Gap {
                    expected: 4,
                    got: 5,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn an_undecodable_record_is_an_error_not_a_panic() {
        let e = env();
        e.log
            .append(&[("t.ops.counter".to_string(), vec![(vec![], vec![1, 2, 3])])])
            .unwrap();
        let mut p = open(&e, 10, None);
        assert!(matches!(p.step(), Err(ProcessorError::Decode { offset: 0, .. })));
    }
}
