//! The processor role: runs one module (or several co-located ones) over their topics.
//!
//! It is stateless between restarts: everything it needs is loaded from the store, and it
//! resumes from the consumed position committed with that state. Records at or below the
//! committed block are skipped, which makes duplicate publication by the ingester harmless.
//!
//! The rooms: [`cursor`] reads the ops topics, [`messages`] is the cross-process message
//! protocol, [`validate`] refuses records that cannot be ours before anything of them is
//! applied, [`checkpoints`] republishes committed checkpoints for a checkpointer elsewhere,
//! and this file drives the engine block by block and group-commits its output.

mod checkpoints;
mod cursor;
mod error;
mod messages;
#[cfg(test)]
mod tests;
mod validate;

pub use error::ProcessorError;
pub use messages::MessageLinks;

use cursor::Cursor;
use messages::Inbox;
use opentoken_core::commitment::LtHash;
use opentoken_core::engine::{Engine, ErasedModule, Output, Slot};
use opentoken_core::{ChainSpec, ModuleCheckpoint, ModuleState, RoutedOp};
use opentoken_log::{Log, TraceContext};
use opentoken_store::{CommitBatch, ModuleCommit, Progress, Store};
use opentoken_telemetry::metrics::PROCESSOR;
use opentoken_telemetry::otel;
use opentoken_telemetry::Telemetry;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// One processor: the engine over its co-located modules, their cursors, and what is
/// processed but not yet committed or published.
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
    /// The distinct traces of the records processed since the last commit (at most
    /// [`COMMIT_TRACES`]): the commit continues the first and links the others, so that
    /// each block's trace shows the commit that made it durable. Filled only while tracing.
    commit_traces: Vec<TraceContext>,
    /// The span context that processed each checkpoint block, until its checkpoint is
    /// published (the checkpointer continues that trace). Filled only while tracing.
    checkpoint_traces: BTreeMap<u64, TraceContext>,
}

/// How many checkpoint blocks' trace contexts wait for their publication at most.
const CHECKPOINT_TRACES: usize = 1024;

/// How many traces one commit continues or links at most.
const COMMIT_TRACES: usize = 32;

/// The engine, where each topic is read and what waits to be committed or published, by
/// count; the log, store and telemetry are skipped.
impl std::fmt::Debug for Processor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cursors: Vec<(&str, u64)> = self.cursors.iter().map(|c| (c.topic.as_str(), c.offset)).collect();
        f.debug_struct("Processor")
            .field("engine", &self.engine)
            .field("cursors", &cursors)
            .field("cfg", &self.cfg)
            .field("blocks_since_commit", &self.blocks_since_commit)
            .field("uncommitted_statuses", &self.uncommitted.statuses.len())
            .field("unpublished_checkpoints", &self.unpublished.len())
            .field("snapshots", &self.snapshots)
            .field("outbox", &self.outbox.len())
            .field("published", &self.published)
            .finish_non_exhaustive()
    }
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
                            detail: "the loaded state does not match its committed commitment (a damaged store, or one written by a node with another commitment version: rebuild it with `opentoken replay` or import a snapshot)".into(),
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
                traces: VecDeque::new(),
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
            commit_traces: Vec::new(),
            checkpoint_traces: BTreeMap::new(),
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
            self.skip_stranded(next)?;
            // Every cursor now starts with a record that covers `next`.
            let mut ops: BTreeMap<&str, &[RoutedOp]> = BTreeMap::new();
            let mut idle_until = u64::MAX;
            let mut timestamp = 0;
            for c in &self.cursors {
                if let Some(r) = c.queue.front() {
                    // A checkpoint block always ends a record: its id and time for chron work.
                    self.engine
                        .note_checkpoint_header(r.last_block, &r.block_id, r.timestamp);
                }
            }
            for (c, slot) in self.cursors.iter().zip(self.engine.slots()) {
                let Some(r) = c.queue.front() else { break };
                if r.ops.is_empty() {
                    idle_until = idle_until.min(r.last_block);
                } else {
                    idle_until = next.saturating_sub(1);
                    timestamp = r.timestamp;
                    ops.insert(slot.module.module_name(), &r.ops);
                }
            }
            let (span, parent) = self.block_span(next);
            let entered = span.enter();
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
            span.record("block.last", otel::int(upto));
            if let Some(t) = parent {
                if self.commit_traces.len() < COMMIT_TRACES
                    && !self.commit_traces.iter().any(|c| c.trace_id() == t.trace_id())
                {
                    self.commit_traces.push(t);
                }
            }
            if self.spec.is_checkpoint(upto) {
                if let Some(t) = otel::current_trace() {
                    self.note_checkpoint_trace(upto, t);
                }
            }
            drop(entered);
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

    /// The span of one engine call from block `next`, child of the trace context of the
    /// record it processes (the ingester's batch), with the other modules' records linked
    /// when they came from another trace; and that context. Disabled (and nothing looked
    /// at) when spans are not exported.
    fn block_span(&self, next: u64) -> (tracing::Span, Option<TraceContext>) {
        let span = tracing::info_span!(
            target: otel::TARGET,
            "process.block",
            block.first = otel::int(next),
            block.last = tracing::field::Empty,
            module = tracing::field::Empty,
            topic = tracing::field::Empty,
            offset = tracing::field::Empty,
        );
        if span.is_disabled() {
            return (span, None);
        }
        let modules: Vec<&str> = self.engine.slots().iter().map(|s| s.module.module_name()).collect();
        span.record("module", modules.join(",").as_str());
        if let Some(c) = self.cursors.first() {
            span.record("topic", c.topic.as_str());
            span.record("offset", otel::int(c.offset));
        }
        let mut parent: Option<TraceContext> = None;
        for t in self.cursors.iter().filter_map(|c| c.traces.front().copied().flatten()) {
            match parent {
                None => {
                    otel::follow(&span, &t);
                    parent = Some(t);
                }
                Some(p) if p.trace_id() != t.trace_id() => otel::link(&span, &t),
                Some(_) => {}
            }
        }
        (span, parent)
    }

    /// Remembers the span that processed checkpoint block `block`, for the checkpoint's
    /// publication (distributed) and for a checkpointer in this process (embedded).
    fn note_checkpoint_trace(&mut self, block: u64, trace: TraceContext) {
        self.checkpoint_traces.insert(block, trace);
        while self.checkpoint_traces.len() > CHECKPOINT_TRACES {
            self.checkpoint_traces.pop_first();
        }
        self.telemetry.note_checkpoint_trace(block, trace);
    }

    fn note_output(&self, out: &Output, blocks: u64) {
        let t = &self.telemetry;
        PROCESSOR.blocks_processed.add(t, blocks);
        for slot in self.engine.slots() {
            let name = slot.module.module_name();
            let (mut processed, mut rejected) = (0u64, 0u64);
            for s in out.statuses.iter().filter(|s| s.module == name) {
                processed += 1;
                rejected += u64::from(matches!(s.outcome, opentoken_core::Outcome::Rejected { .. }));
            }
            // Added even when 0, so that every module this processor runs has its series
            // from the first block (a rate over a series that appears late misses its start).
            PROCESSOR.ops_processed.add(t, name, processed);
            PROCESSOR.ops_rejected.add(t, name, rejected);
        }
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
        let span = tracing::info_span!(
            target: otel::TARGET,
            "process.commit",
            block = otel::int(block),
            module = tracing::field::Empty,
            offset.next = tracing::field::Empty,
        );
        let traces = std::mem::take(&mut self.commit_traces);
        if !span.is_disabled() {
            if let Some((first, others)) = traces.split_first() {
                otel::follow(&span, first);
                for t in others {
                    otel::link(&span, t);
                }
            }
            let modules: Vec<&str> = self.engine.slots().iter().map(|s| s.module.module_name()).collect();
            span.record("module", modules.join(",").as_str());
        }
        let _entered = span.enter();
        // The consumed position: the first record not entirely processed.
        self.drop_consumed(block);
        let mut modules = Vec::new();
        for (slot, c) in self.engine.slots_mut().iter_mut().zip(&self.cursors) {
            let changes = slot.state.take_changes();
            let lattice = slot.state.lattice().to_bytes();
            let snapshot =
                (self.snapshots && block.is_multiple_of(self.spec.checkpoint_interval)).then(|| slot.state.to_map());
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
        if let Some(c) = self.cursors.first() {
            span.record("offset.next", otel::int(c.offset));
        }
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
        PROCESSOR.commits.add(t, 1);
        PROCESSOR.commit_seconds.set(t, started.elapsed().as_secs_f64());
        PROCESSOR.processed_block.set(t, block as f64);
        tracing::debug!(block, "committed");
        Ok(())
    }
}
