//! The checkpointer role: at every checkpoint block N (every `checkpoint_interval` blocks)
//! it waits until every module has committed N, combines their state commitments into the
//! consensus hash of N, signs it with the node's ed25519 key and appends the report to the
//! reports topic.
//!
//! Where it resumes is read back from the reports topic itself, so a crash between signing
//! and appending at worst re-publishes an identical report (ed25519 signatures are
//! deterministic).

pub mod key;

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
pub use key::{read_secret_file, KeyError, NodeKey};
use opentoken_codec::{ModuleHash, Report};
use opentoken_core::{consensus_hash, ChainSpec};
use opentoken_log::{Log, LogError, RecordTraces, TraceContext};
use opentoken_store::{Store, StoreError};
use opentoken_telemetry::metrics::CHECKPOINTER;
use opentoken_telemetry::otel;
use opentoken_telemetry::Telemetry;
use std::collections::BTreeMap;
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("module {module} committed block {block} but has no checkpoint for it; its store is damaged — run `opentoken replay`")]
    MissingCheckpoint { module: String, block: u64 },
    #[error("record of {topic} cannot be decoded: {detail}")]
    Decode { topic: String, detail: String },
    #[error("module {module} published two different hashes for checkpoint {block} on {topic}; two processors of this node disagree — stop them and run `opentoken replay`")]
    Conflict { topic: String, module: String, block: u64 },
}

/// Only a log that is away comes back: a damaged store or two disagreeing processors stay so.
impl opentoken_lifecycle::Transient for CheckpointError {
    fn is_transient(&self) -> bool {
        matches!(self, CheckpointError::Log(e) if opentoken_lifecycle::Transient::is_transient(e))
    }
}

/// Where the checkpointer learns each module's hash at a checkpoint block.
pub enum HashSource {
    /// The processors commit to the same store (`opentoken run`, embedded).
    Store(Arc<dyn Store>),
    /// The processors run elsewhere and publish to the checkpoints topic, read from the start.
    Topic {
        topic: String,
        next_offset: u64,
        seen: BTreeMap<u64, BTreeMap<String, [u8; 32]>>,
        /// Per checkpoint block, the trace contexts its records carried and the offset of
        /// each (observability only: never part of the report).
        traces: BTreeMap<u64, Vec<(TraceContext, u64)>>,
    },
}

/// The topic and how far it is read; the store is a trait object and shows as a name.
impl std::fmt::Debug for HashSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HashSource::Store(_) => f.write_str("HashSource::Store"),
            HashSource::Topic {
                topic,
                next_offset,
                seen,
                ..
            } => f
                .debug_struct("HashSource::Topic")
                .field("topic", topic)
                .field("next_offset", next_offset)
                .field("checkpoints_seen", &seen.keys().collect::<Vec<_>>())
                .finish(),
        }
    }
}

impl HashSource {
    pub fn topic(topic: impl Into<String>) -> Self {
        HashSource::Topic {
            topic: topic.into(),
            next_offset: 0,
            seen: BTreeMap::new(),
            traces: BTreeMap::new(),
        }
    }

    fn refresh(&mut self, log: &dyn Log) -> Result<(), CheckpointError> {
        let HashSource::Topic {
            topic,
            next_offset,
            seen,
            traces,
        } = self
        else {
            return Ok(());
        };
        loop {
            let recs = log.read(topic, *next_offset, 1000)?;
            let Some(last) = recs.last() else { return Ok(()) };
            *next_offset = last.offset + 1;
            for r in &recs {
                let c = opentoken_codec::decode_module_checkpoint(&r.value).map_err(|e| CheckpointError::Decode {
                    topic: topic.clone(),
                    detail: format!("offset {}: {e}", r.offset),
                })?;
                if let Some(t) = r.trace {
                    let of_block = traces.entry(c.block).or_default();
                    // Bounded: one per module and republication is all an honest topic has.
                    if of_block.len() < 64 {
                        of_block.push((t, r.offset));
                    }
                }
                let at = seen.entry(c.block).or_default();
                match at.get(&c.module) {
                    Some(h) if *h != c.hash => {
                        return Err(CheckpointError::Conflict {
                            topic: topic.clone(),
                            module: c.module,
                            block: c.block,
                        })
                    }
                    _ => {
                        at.insert(c.module, c.hash);
                    }
                }
            }
        }
    }

    /// Module `m`'s hash at `n`, or `None` if it has not committed `n` yet.
    fn hash(&self, m: &str, n: u64) -> Result<Option<[u8; 32]>, CheckpointError> {
        match self {
            HashSource::Store(store) => {
                let committed = store.progress(m)?.map(|p| p.block);
                if committed.is_none_or(|b| b < n) {
                    return Ok(None);
                }
                Ok(Some(store.checkpoint(m, n)?.ok_or_else(|| {
                    CheckpointError::MissingCheckpoint {
                        module: m.to_string(),
                        block: n,
                    }
                })?))
            }
            HashSource::Topic { seen, .. } => Ok(seen.get(&n).and_then(|at| at.get(m)).copied()),
        }
    }

    /// The trace contexts (and record offsets) that block `n`'s hashes came with: the
    /// checkpoint records' on a topic, the processor's in this process otherwise.
    fn traces(&self, n: u64, telemetry: &Telemetry) -> Vec<(TraceContext, Option<u64>)> {
        match self {
            HashSource::Store(_) => telemetry.checkpoint_trace(n).map(|t| (t, None)).into_iter().collect(),
            HashSource::Topic { traces, .. } => traces
                .get(&n)
                .map(|ts| ts.iter().map(|(t, o)| (*t, Some(*o))).collect())
                .unwrap_or_default(),
        }
    }

    fn forget_before(&mut self, n: u64) {
        if let HashSource::Topic { seen, traces, .. } = self {
            *seen = seen.split_off(&n);
            *traces = traces.split_off(&n);
        }
    }
}

pub struct Checkpointer {
    spec: Arc<ChainSpec>,
    modules: Vec<String>,
    source: HashSource,
    log: Arc<dyn Log>,
    key: NodeKey,
    node: String,
    version: String,
    last_reported: Option<u64>,
    telemetry: Arc<Telemetry>,
}

/// Shows the key by its public half only ([`NodeKey`]'s Debug); skips the log and telemetry.
impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpointer")
            .field("chain", &self.spec.name)
            .field("modules", &self.modules)
            .field("source", &self.source)
            .field("key", &self.key)
            .field("node", &self.node)
            .field("version", &self.version)
            .field("last_reported", &self.last_reported)
            .finish_non_exhaustive()
    }
}

/// What a checkpointer is made of: the node it reports for and where it reads and writes.
pub struct CheckpointerParts {
    pub spec: Arc<ChainSpec>,
    /// The modules whose hashes make up the consensus hash.
    pub modules: Vec<String>,
    pub source: HashSource,
    pub log: Arc<dyn Log>,
    /// Signs the reports.
    pub key: NodeKey,
    /// The node's Hive account, named in reports.
    pub node: String,
    /// The software version, named in reports.
    pub version: String,
    pub telemetry: Arc<Telemetry>,
}

/// Shows the key by its public half only ([`NodeKey`]'s Debug); skips the log and telemetry.
impl std::fmt::Debug for CheckpointerParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointerParts")
            .field("chain", &self.spec.name)
            .field("modules", &self.modules)
            .field("source", &self.source)
            .field("key", &self.key)
            .field("node", &self.node)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Checkpointer {
    /// Resumes after the last report in the reports topic.
    pub fn open(parts: CheckpointerParts) -> Result<Self, CheckpointError> {
        let CheckpointerParts {
            spec,
            modules,
            source,
            log,
            key,
            node,
            version,
            telemetry,
        } = parts;
        // From 0, so that the first report is an increase (see `Counter::init`).
        CHECKPOINTER.init(&telemetry);
        let topic = spec.reports_topic();
        let last_reported = match log.last(&topic)? {
            Some(r) => Some(
                opentoken_codec::decode_report(&r.value)
                    .map_err(|e| CheckpointError::Decode {
                        topic: topic.clone(),
                        detail: e.to_string(),
                    })?
                    .block,
            ),
            None => None,
        };
        Ok(Self {
            spec,
            modules,
            source,
            log,
            key,
            node,
            version,
            last_reported,
            telemetry,
        })
    }

    /// The next checkpoint block this node will report.
    pub fn next_checkpoint(&self) -> u64 {
        let i = self.spec.checkpoint_interval;
        match self.last_reported {
            Some(b) => b + i,
            None => self.spec.starting_block.div_ceil(i).max(1) * i,
        }
    }

    /// Continue as if `block` were the last checkpoint reported: after the node restored a
    /// verified snapshot of `block`, the checkpoints after it are made again.
    pub fn resume_after(&mut self, block: u64) {
        self.last_reported = Some(block);
        self.source.forget_before(block + 1);
    }

    pub fn last_reported(&self) -> Option<u64> {
        self.last_reported
    }

    /// Publishes every checkpoint all modules have committed; returns the reports made.
    pub fn step(&mut self) -> Result<Vec<Report>, CheckpointError> {
        let mut made = Vec::new();
        loop {
            let n = self.next_checkpoint();
            self.source.refresh(self.log.as_ref())?;
            let mut hashes = BTreeMap::new();
            for m in &self.modules {
                match self.source.hash(m, n)? {
                    Some(h) => {
                        hashes.insert(m.clone(), h);
                    }
                    None => return Ok(made),
                }
            }
            let span = self.report_span(n);
            let _entered = span.enter();
            let report = self.build(n, &hashes);
            // The report record continues the trace, for the consensus agent's broadcast.
            let trace = otel::current_trace();
            self.log.append_traced(
                &[(
                    self.spec.reports_topic(),
                    vec![(n.to_be_bytes().to_vec(), opentoken_codec::encode_report(&report))],
                )],
                trace.as_ref().map_or(RecordTraces::None, RecordTraces::All),
            )?;
            self.last_reported = Some(n);
            self.source.forget_before(n + 1);
            CHECKPOINTER.checkpoint_block.set(&self.telemetry, n as f64);
            CHECKPOINTER.reports.add(&self.telemetry, 1);
            tracing::info!(block = n, hash = %hex::encode(report.consensus_hash), "checkpoint reported");
            made.push(report);
        }
    }

    /// The span of checkpoint `n`'s report: a child of the first module's checkpoint trace
    /// (the block's ingested batch), linked to the other modules' when they differ.
    fn report_span(&self, n: u64) -> tracing::Span {
        let span = tracing::info_span!(
            target: otel::TARGET,
            "checkpoint.report",
            checkpoint.block = otel::int(n),
            module = tracing::field::Empty,
            offset = tracing::field::Empty,
        );
        if span.is_disabled() {
            return span;
        }
        span.record("module", self.modules.join(",").as_str());
        let mut parent: Option<TraceContext> = None;
        for (t, offset) in self.source.traces(n, &self.telemetry) {
            match parent {
                None => {
                    otel::follow(&span, &t);
                    if let Some(o) = offset {
                        span.record("offset", otel::int(o));
                    }
                    parent = Some(t);
                }
                Some(p) if p.trace_id() != t.trace_id() => otel::link(&span, &t),
                Some(_) => {}
            }
        }
        span
    }

    fn build(&self, block: u64, hashes: &BTreeMap<String, [u8; 32]>) -> Report {
        let mut report = Report {
            community: self.spec.name.clone(),
            block,
            consensus_hash: consensus_hash(&self.spec.name, block, hashes),
            module_hashes: hashes
                .iter()
                .map(|(m, h)| ModuleHash {
                    module: m.clone(),
                    hash: *h,
                })
                .collect(),
            node: self.node.clone(),
            version: self.version.clone(),
            public_key: self.key.public().to_bytes(),
            signature: [0u8; 64],
        };
        report.signature = self.key.sign(&report.signing_bytes());
        report
    }
}

/// Checks a report's signature against the key it names and that its consensus hash is the
/// combination of its module hashes.
pub fn verify_report(r: &Report) -> Result<(), String> {
    let key = VerifyingKey::from_bytes(&r.public_key).map_err(|e| format!("bad public key: {e}"))?;
    let sig = Signature::from_bytes(&r.signature);
    key.verify(&r.signing_bytes(), &sig)
        .map_err(|_| "signature does not verify".to_string())?;
    let hashes: BTreeMap<String, [u8; 32]> = r.module_hashes.iter().map(|m| (m.module.clone(), m.hash)).collect();
    if consensus_hash(&r.community, r.block, &hashes) != r.consensus_hash {
        return Err("consensus hash does not match the module hashes".into());
    }
    Ok(())
}
