//! The consensus agent loop (see the crate docs).

use crate::broadcast::{BroadcastError, Broadcaster, Sent};
use crate::snapshot::verify_snapshot;
use opentoken_checkpointer::NodeKey;
use opentoken_core::{ChainSpec, ModuleState};
use opentoken_log::{Log, LogError};
use opentoken_store::{Restore, SnapshotDoc, Store, StoreError};
use opentoken_telemetry::Telemetry;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AgentError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Broadcast(#[from] BroadcastError),
    #[error(transparent)]
    Hive(#[from] opentoken_hive::HiveError),
    #[error(transparent)]
    Config(#[from] opentoken_core::module::GenesisError),
    #[error("record of {topic} cannot be decoded: {detail}")]
    Decode { topic: String, detail: String },
    #[error(
        "reading the nodes module's state from {url}: {detail}; is `opentoken serve` running there (--state-api)?"
    )]
    StateApi { url: String, detail: String },
}

/// Hand-over between the agent (which fetches and verifies a snapshot) and the worker that
/// owns the processor (which restores it between two steps).
#[derive(Debug, Default)]
pub struct Recovery {
    /// A verified snapshot waiting to be restored.
    pub pending: Option<Restore>,
    /// Set by the worker after a restore: the checkpoint block and the reports topic's end
    /// offset at that moment (reports before it were made from the state thrown away).
    pub applied: Option<(u64, u64)>,
}

pub type RecoverySlot = Arc<Mutex<Recovery>>;

fn lock(slot: &RecoverySlot) -> std::sync::MutexGuard<'_, Recovery> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where the agent reads the nodes module's committed state.
pub enum NodesSource {
    /// The store the nodes module commits to (`opentoken run`).
    Store(Arc<dyn Store>),
    /// The node's own API (`opentoken serve`, `GET /v1/state/nodes`): the distributed
    /// checkpointer has no store of its own.
    Api(String),
}

#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The node's Hive account.
    pub account: String,
    /// The API URL registered on chain (peers fetch snapshots from it).
    pub domain: String,
    pub version: String,
    /// The modules whose checkpoints make up the consensus hash.
    pub modules: Vec<String>,
    pub poll: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Register,
    Report(u64),
}

pub struct Agent {
    spec: Arc<ChainSpec>,
    cfg: AgentConfig,
    source: NodesSource,
    log: Arc<dyn Log>,
    key: NodeKey,
    bc: Broadcaster,
    telemetry: Arc<Telemetry>,
    /// `None` where nothing can restore a snapshot in place (the distributed roles): the
    /// agent then only reports the divergence.
    recovery: Option<RecoverySlot>,
    http: reqwest::Client,
    reports_offset: u64,
    /// This node's consensus hash per checkpoint (its latest report for the block).
    own: BTreeMap<u64, [u8; 32]>,
    /// Checkpoints whose report is in flight or was included.
    sent: BTreeSet<u64>,
    in_flight: Vec<(Purpose, Sent)>,
    /// Block that included our registration, until the nodes module has processed it.
    registration_included: Option<u64>,
    watch_from: Option<u64>,
    head: u64,
    /// The final checkpoint (and hash) a recovery was started for.
    recovering_to: Option<(u64, [u8; 32])>,
    /// The nodes module's report window: reports are broadcast only while it is open.
    report_window: u64,
}

impl Agent {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        spec: Arc<ChainSpec>,
        cfg: AgentConfig,
        source: NodesSource,
        log: Arc<dyn Log>,
        key: NodeKey,
        bc: Broadcaster,
        telemetry: Arc<Telemetry>,
        recovery: Option<RecoverySlot>,
    ) -> Result<Self, AgentError> {
        let report_window = opentoken_nodes::NodesConfig::from_spec(&spec)?.report_window;
        telemetry.register("consensus", "no checkpoint final yet");
        Ok(Self {
            spec,
            cfg,
            source,
            log,
            key,
            bc,
            telemetry,
            recovery,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap_or_default(),
            reports_offset: 0,
            own: BTreeMap::new(),
            sent: BTreeSet::new(),
            in_flight: Vec::new(),
            registration_included: None,
            watch_from: None,
            head: 0,
            recovering_to: None,
            report_window,
        })
    }

    /// Runs until `stop`; errors are logged and retried (a Hive node or peer being down must
    /// not stop the node).
    pub async fn run(mut self, stop: Arc<AtomicBool>) {
        let mut failures = 0u32;
        while !stop.load(Ordering::Relaxed) {
            match self.tick().await {
                Ok(()) => failures = 0,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %e, failures, "consensus agent: will retry");
                    self.telemetry
                        .counter_add("opentoken_consensus_errors_total", "Consensus agent errors", 1);
                }
            }
            // A Hive node or peer that keeps failing is retried with backoff (up to 64 polls).
            tokio::time::sleep(self.cfg.poll * 2u32.pow(failures.min(6))).await;
        }
    }

    /// The nodes module's state and the block it has processed.
    async fn nodes_state(&self) -> Result<(ModuleState, u64), AgentError> {
        match &self.source {
            NodesSource::Store(store) => tokio::task::block_in_place(|| {
                let processed = store.progress("nodes")?.map(|p| p.block).unwrap_or(0);
                Ok((ModuleState::from_pairs(store.load_module("nodes")?.pairs), processed))
            }),
            NodesSource::Api(base) => {
                let url = format!("{}/v1/state/nodes", base.trim_end_matches('/'));
                let fail = |detail: String| AgentError::StateApi {
                    url: url.clone(),
                    detail,
                };
                let doc: opentoken_store::ModuleStateDoc = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .map_err(|e| fail(e.to_string()))?
                    .json()
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                let mut pairs = std::collections::BTreeMap::new();
                for (k, v) in doc.pairs {
                    let k = hex::decode(&k).map_err(|e| fail(format!("key {k:?}: {e}")))?;
                    let v = hex::decode(&v).map_err(|e| fail(format!("value: {e}")))?;
                    pairs.insert(k, v);
                }
                Ok((ModuleState::from_pairs(pairs), doc.processed_block.unwrap_or(0)))
            }
        }
    }

    fn store(&self) -> Option<&Arc<dyn Store>> {
        match &self.source {
            NodesSource::Store(s) => Some(s),
            NodesSource::Api(_) => None,
        }
    }

    pub async fn tick(&mut self) -> Result<(), AgentError> {
        let applied = match &self.recovery {
            Some(slot) => {
                let mut r = lock(slot);
                if r.pending.is_some() {
                    return Ok(()); // the worker has not restored yet
                }
                r.applied.take()
            }
            None => None,
        };
        if let Some((block, reports_end)) = applied {
            self.after_restore(block, reports_end);
        }
        // Log and store reads block (redb, rdkafka): off the async workers.
        tokio::task::block_in_place(|| self.read_reports())?;
        self.confirm().await?;
        let (state, processed) = self.nodes_state().await?;
        let registered = self.register(&state, processed).await?;
        if registered {
            self.broadcast_reports().await?;
        }
        self.check_finality(&state).await?;
        Ok(())
    }

    fn after_restore(&mut self, block: u64, reports_end: u64) {
        self.own.retain(|b, _| *b < block);
        if let Some((b, h)) = self.recovering_to {
            if b == block {
                self.own.insert(block, h);
            }
        }
        self.sent.retain(|b| *b <= block);
        self.reports_offset = self.reports_offset.max(reports_end);
        tracing::info!(block, "state restored from a verified snapshot; resuming");
    }

    fn read_reports(&mut self) -> Result<(), AgentError> {
        let topic = self.spec.reports_topic();
        loop {
            let recs = self.log.read(&topic, self.reports_offset, 1000)?;
            let Some(last) = recs.last() else { return Ok(()) };
            self.reports_offset = last.offset + 1;
            for r in &recs {
                let rep = opentoken_codec::decode_report(&r.value).map_err(|e| AgentError::Decode {
                    topic: topic.clone(),
                    detail: format!("offset {}: {e}", r.offset),
                })?;
                if self.own.insert(rep.block, rep.consensus_hash) != Some(rep.consensus_hash) {
                    // A new (or re-made) report: broadcast it.
                    self.sent.remove(&rep.block);
                }
            }
        }
    }

    async fn confirm(&mut self) -> Result<(), AgentError> {
        let dgp = self.bc.client().dynamic_global_properties().await?;
        self.head = dgp.head_block_number;
        let now = opentoken_core::hive_json::parse_timestamp(&dgp.time).unwrap_or(0);
        if self.in_flight.is_empty() {
            self.watch_from = None;
            return Ok(());
        }
        let mut b = self.watch_from.unwrap_or(self.head + 1);
        while b <= self.head {
            let Some(block) = self.bc.client().get_block(b).await? else {
                break;
            };
            for tx in &block.transactions {
                if let Some(i) = self.in_flight.iter().position(|(_, s)| s.txid == tx.txid) {
                    let (purpose, sent) = self.in_flight.remove(i);
                    self.confirmed(purpose, &sent, b);
                }
            }
            b += 1;
            self.watch_from = Some(b);
        }
        let watched = self.watch_from.unwrap_or(0).saturating_sub(1);
        let mut expired = Vec::new();
        self.in_flight.retain(|(p, s)| {
            // Expired and every block up to the head looked at: Hive will not include it.
            let gone = s.expiration < now && watched >= self.head;
            if gone {
                expired.push((*p, s.txid.clone()));
            }
            !gone
        });
        for (p, txid) in expired {
            tracing::warn!(?p, %txid, "broadcast expired without being included; will send again if still useful");
            self.telemetry.counter_add(
                "opentoken_broadcasts_expired_total",
                "Node transactions that expired unconfirmed",
                1,
            );
            if let Purpose::Report(n) = p {
                self.sent.remove(&n);
            }
        }
        Ok(())
    }

    fn confirmed(&mut self, purpose: Purpose, sent: &Sent, block: u64) {
        self.telemetry.counter_add(
            "opentoken_broadcasts_confirmed_total",
            "Node transactions found in a block",
            1,
        );
        match purpose {
            Purpose::Register => {
                tracing::info!(txid = %sent.txid, block, "node registration included");
                self.registration_included = Some(block);
            }
            Purpose::Report(n) => {
                tracing::info!(checkpoint = n, txid = %sent.txid, block, "report included");
                self.telemetry.gauge_set(
                    "opentoken_report_included_block",
                    "Last checkpoint whose report is on chain",
                    n as f64,
                );
            }
        }
    }

    fn note_sent(&mut self, purpose: Purpose, sent: Sent) {
        let from = sent.head + 1;
        self.watch_from = Some(self.watch_from.map_or(from, |w| w.min(from)));
        self.in_flight.push((purpose, sent));
        self.telemetry
            .counter_add("opentoken_broadcasts_total", "Node transactions broadcast", 1);
    }

    /// Makes sure the chain knows this node with its current key and domain; true when it
    /// does (reports before that would only be rejected).
    async fn register(&mut self, state: &ModuleState, processed: u64) -> Result<bool, AgentError> {
        let key = self.key.public().to_bytes();
        let current = opentoken_nodes::views::node(state, &self.cfg.account)
            .is_some_and(|n| n.active && n.domain == self.cfg.domain && n.report_key == hex::encode(key));
        if current {
            self.registration_included = None;
            return Ok(true);
        }
        let waiting = self.in_flight.iter().any(|(p, _)| *p == Purpose::Register)
            || self.registration_included.is_some_and(|b| processed < b);
        if waiting {
            return Ok(false);
        }
        let pop_block = self.head;
        let bytes = opentoken_nodes::node_add_signing_bytes(
            &self.spec.hive_chain_id(),
            &self.spec.prefix,
            &self.cfg.account,
            &self.cfg.domain,
            &key,
            "",
            pop_block,
        );
        let pop = self.key.sign(&bytes);
        let payload = opentoken_nodes::node_add_json(&self.cfg.domain, &key, pop_block, &pop, None);
        let sent = self
            .bc
            .custom_json(&format!("{}node_add", self.spec.prefix), payload)
            .await?;
        tracing::info!(txid = %sent.txid, domain = %self.cfg.domain, "registering the node");
        self.registration_included = None;
        self.note_sent(Purpose::Register, sent);
        Ok(false)
    }

    async fn broadcast_reports(&mut self) -> Result<(), AgentError> {
        let window = self.report_window;
        let due: Vec<(u64, [u8; 32])> = self
            .own
            .iter()
            .filter(|(n, _)| !self.sent.contains(n) && self.head < **n + window)
            .map(|(n, h)| (*n, *h))
            .collect();
        for (n, hash) in due {
            let bytes = opentoken_nodes::report_signing_bytes(&self.spec.hive_chain_id(), &self.spec.prefix, n, &hash);
            let sig = self.key.sign(&bytes);
            let payload = opentoken_nodes::report_json(n, &hash, &self.cfg.version, &sig);
            let sent = self
                .bc
                .custom_json(&format!("{}report", self.spec.prefix), payload)
                .await?;
            tracing::debug!(checkpoint = n, txid = %sent.txid, "report broadcast");
            self.sent.insert(n);
            self.note_sent(Purpose::Report(n), sent);
        }
        Ok(())
    }

    async fn check_finality(&mut self, state: &ModuleState) -> Result<(), AgentError> {
        let finals = opentoken_nodes::views::finals(state, 64);
        let Some(&(latest, latest_hash)) = finals.first() else {
            return Ok(());
        };
        // The newest final checkpoint this node has its own hash for decides.
        let Some(&(n, final_hash, own)) = finals
            .iter()
            .find_map(|(b, h)| self.own.get(b).map(|o| (*b, *h, *o)))
            .as_ref()
        else {
            return Ok(());
        };
        let doc = json!({
            "in_consensus": own == final_hash,
            "checkpoint": n,
            "final_hash": hex::encode(final_hash),
            "own_hash": hex::encode(own),
            "latest_final": latest,
            "recovering_to": self.recovering_to.map(|r| r.0),
        });
        self.telemetry.set_document("consensus", doc.to_string());
        self.telemetry.gauge_set(
            "opentoken_final_checkpoint",
            "Newest checkpoint final on chain",
            latest as f64,
        );
        if own == final_hash {
            self.telemetry.set_ready("consensus");
            self.recovering_to = None;
            return Ok(());
        }
        let action = if self.recovery.is_some() {
            format!("recovering from a verified snapshot of checkpoint {latest}")
        } else {
            "stop this node's processors and rebuild them (`opentoken replay`, or a backup of a store that \
             agreed), then restart them"
                .to_string()
        };
        let why = format!(
            "out of consensus at checkpoint {n}: this node computed {}, the runners finalised {}; {action}",
            hex::encode(own),
            hex::encode(final_hash)
        );
        self.telemetry.set_not_ready("consensus", why.clone());
        if self.recovering_to.map(|r| r.0) == Some(latest) {
            return Ok(());
        }
        tracing::error!("{why}");
        self.telemetry.counter_add(
            "opentoken_out_of_consensus_total",
            "Times this node found itself out of consensus",
            1,
        );
        let Some(slot) = self.recovery.clone() else {
            self.recovering_to = Some((latest, latest_hash));
            return Ok(());
        };
        if let Some(restore) = self.fetch_verified(state, latest, &latest_hash).await? {
            self.recovering_to = Some((latest, latest_hash));
            lock(&slot).pending = Some(restore);
        }
        Ok(())
    }

    /// A verified snapshot of final checkpoint `block`: from a peer's API, or else this
    /// node's own store at the newest final checkpoint it agrees with.
    async fn fetch_verified(
        &self,
        state: &ModuleState,
        block: u64,
        final_hash: &[u8; 32],
    ) -> Result<Option<Restore>, AgentError> {
        let peers: Vec<(String, String)> = opentoken_nodes::views::nodes(state)
            .into_iter()
            .filter(|(a, n)| n.active && *a != self.cfg.account && !n.domain.is_empty())
            .map(|(a, n)| (a, n.domain))
            .collect();
        for (peer, domain) in peers {
            let url = format!("{}/v1/snapshots/{block}", domain.trim_end_matches('/'));
            let doc: SnapshotDoc = match self.http.get(&url).send().await.and_then(|r| r.error_for_status()) {
                Ok(resp) => match resp.json().await {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!(%peer, %url, error = %e, "peer snapshot unreadable");
                        continue;
                    }
                },
                Err(e) => {
                    tracing::warn!(%peer, %url, error = %e, "peer snapshot not available");
                    continue;
                }
            };
            match verify_snapshot(&self.spec, &self.cfg.modules, &doc, block, final_hash) {
                Ok(r) => {
                    tracing::info!(%peer, block, "snapshot fetched from a peer and verified against the final hash");
                    return Ok(Some(tokio::task::block_in_place(|| self.with_offsets(r))?));
                }
                Err(e) => tracing::warn!(%peer, block, error = %e, "peer snapshot refused"),
            }
        }
        let Some(store) = self.store() else {
            tracing::error!(block, "no verified snapshot available from peers; will retry");
            return Ok(None);
        };
        if let Some(r) = tokio::task::block_in_place(|| self.own_verified(store.as_ref(), state))? {
            return Ok(Some(r));
        }
        tracing::error!(
            block,
            "no verified snapshot available from peers or the store; will retry"
        );
        Ok(None)
    }

    /// This node's own snapshot of the newest final checkpoint it can verify.
    fn own_verified(&self, store: &dyn Store, state: &ModuleState) -> Result<Option<Restore>, AgentError> {
        for b in store.snapshot_blocks()?.into_iter().rev() {
            let Some(fh) = opentoken_nodes::views::final_hash(state, b) else {
                continue;
            };
            let Some(doc) = SnapshotDoc::from_store(store, &self.spec.name, &self.cfg.modules, b)? else {
                continue;
            };
            match verify_snapshot(&self.spec, &self.cfg.modules, &doc, b, &fh) {
                Ok(r) => {
                    tracing::info!(block = b, "restoring this node's own snapshot of a final checkpoint");
                    return Ok(Some(self.with_offsets(r)?));
                }
                Err(e) => tracing::warn!(block = b, error = %e, "own snapshot does not match the final hash"),
            }
        }
        Ok(None)
    }

    fn with_offsets(&self, mut r: Restore) -> Result<Restore, AgentError> {
        for m in &mut r.modules {
            m.next_offset = first_offset_after(self.log.as_ref(), &self.spec.ops_topic(&m.module), r.block)?;
        }
        Ok(r)
    }
}

/// The offset of the first record of `topic` that ends after `block` (records are in block
/// order), i.e. where a module restored at `block` resumes reading.
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
