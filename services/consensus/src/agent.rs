//! The consensus agent's I/O shell (see the crate docs): each tick it reads the Hive head
//! and blocks, the node's reports topic and the nodes module's state, feeds them to the
//! pure [`AgentState`], and carries out what it decides (broadcasts, telemetry, fetching
//! and handing over a snapshot). With a multi-sig key on a chain with the multisig module
//! it does the same for [`MsDuty`]: reads the module's view, hands it the Hive head time,
//! and broadcasts the signatures and assembled transactions it asks for. On such a chain,
//! key or not, it also reconciles the multi-sig account every `reconcile.every`: reads its
//! balance from Hive and the module's books from the store, lets [`Reconciler`] judge, and
//! publishes the verdict (component `multisig` on `/readyz`, the `opentoken_multisig_*_milli`
//! gauges, the `ms_reconcile` document) and the outflows the books say are unpaid.

use crate::broadcast::{Broadcaster, Sent};
use crate::decide::{AgentState, Broadcast, Confirmed, FinalityAction, Identity, Purpose};
use crate::error::AgentError;
use crate::fetch::SnapshotFetcher;
use crate::ms_duty::{AssembledOutcome, MsAction, MsDuty, MsDutyConfig, MsView};
use crate::nodes_source::{NodesKv, NodesSource};
use crate::peer_fetch::{PeerFetchPolicy, PeerFetcher};
use crate::reconcile::{quiet_through, Amounts, Expected, Observation, Outcome, ReconcileConfig, Reconciler, Skip};
use crate::recovery::{lock, take_handover, Handover, RecoverySlot};
use crate::status::{consensus_document, divergence};
use opentoken_checkpointer::NodeKey;
use opentoken_core::ChainSpec;
use opentoken_hive::{HiveClient, HiveError};
use opentoken_hive_tx::PrivateKey;
use opentoken_lifecycle::{sleep_or_cancelled, Backoff, CancellationToken};
use opentoken_log::{Log, TraceContext};
use opentoken_store::{ModuleKv, Store};
use opentoken_telemetry::metrics::AGENT;
use opentoken_telemetry::otel;
use opentoken_telemetry::Telemetry;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// What the agent is told about the node it speaks for.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The node's Hive account.
    pub account: String,
    /// The API URL registered on chain (peers fetch snapshots from it).
    pub domain: String,
    pub version: String,
    /// The modules whose checkpoints make up the consensus hash.
    pub modules: Vec<String>,
    /// Time between ticks (a failing tick waits 2x that, doubling up to 64x).
    pub poll: Duration,
    /// Bounds on fetching a snapshot from a peer when out of consensus.
    pub peer_fetch: PeerFetchPolicy,
    /// How often the multi-sig account is reconciled, and how patiently.
    pub reconcile: ReconcileConfig,
}

/// Everything an [`Agent`] is built from.
pub struct AgentParts {
    pub spec: Arc<ChainSpec>,
    pub config: AgentConfig,
    /// Where the nodes module's committed state is read.
    pub nodes: NodesSource,
    /// Holds the node's reports topic and the modules' operations topics.
    pub log: Arc<dyn Log>,
    /// The ed25519 key reports and the registration's proof of possession are signed with.
    pub key: NodeKey,
    /// Signs with the node account's Hive active key and broadcasts.
    pub broadcaster: Broadcaster,
    pub telemetry: Arc<Telemetry>,
    /// `None` where nothing can restore a snapshot in place (the distributed roles): the
    /// agent then only reports a divergence.
    pub recovery: Option<RecoverySlot>,
    /// The node's multi-sig key (`--ms-key-file`): registered with the node, and, where the
    /// chain has the multisig module, signing its open transactions. Needs the nodes state
    /// read from a store (the multisig module's state is read from the same store).
    pub ms_key: Option<PrivateKey>,
}

/// The ed25519 key shows as its public half, the active and multi-sig keys as their public
/// keys (their own Debug impls); the log and telemetry are skipped.
impl std::fmt::Debug for AgentParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentParts")
            .field("chain", &self.spec.name)
            .field("config", &self.config)
            .field("nodes", &self.nodes)
            .field("key", &self.key)
            .field("broadcaster", &self.broadcaster)
            .field("recovery", &self.recovery.is_some())
            .field("ms_key", &self.ms_key)
            .finish_non_exhaustive()
    }
}

/// The `/readyz` component of the multi-sig account's reconciliation.
pub const RECONCILE_COMPONENT: &str = "multisig";

/// The reconciliation of the multi-sig account and the store its books are read from.
struct ReconcileShell {
    core: Reconciler,
    store: Arc<dyn Store>,
    cfg: ReconcileConfig,
    /// When the next check is due; `None` before the first.
    due: Option<tokio::time::Instant>,
    /// The surplus per coin last logged, so a standing one is said once, not every check.
    surplus_said: (u64, u64),
}

/// The multi-sig duty and the store its view is read from.
struct MsShell {
    duty: MsDuty,
    source: MsSource,
    /// The view's read error while it keeps failing: said once, not every poll.
    read_failing: Option<String>,
}

pub struct Agent {
    spec: Arc<ChainSpec>,
    cfg: AgentConfig,
    nodes: NodesSource,
    log: Arc<dyn Log>,
    key: NodeKey,
    bc: Broadcaster,
    telemetry: Arc<Telemetry>,
    recovery: Option<RecoverySlot>,
    /// Signs the registration's multi-sig proof of possession.
    ms_key: Option<PrivateKey>,
    /// `None` without a multi-sig key, or on a chain without the multisig module.
    ms: Option<MsShell>,
    /// `None` on a chain without the multisig module, or without a store to read it from.
    reconcile: Option<ReconcileShell>,
    http: reqwest::Client,
    snapshots: SnapshotFetcher,
    state: AgentState,
    /// The trace context each recent own report was written under, for the span of its
    /// broadcast (observability only; the oldest are forgotten).
    report_traces: std::collections::BTreeMap<u64, TraceContext>,
}

/// How many reports' trace contexts the agent remembers.
const REPORT_TRACES: usize = 64;

/// As [`AgentParts`], plus the agent's decision state.
impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("chain", &self.spec.name)
            .field("config", &self.cfg)
            .field("nodes", &self.nodes)
            .field("key", &self.key)
            .field("broadcaster", &self.bc)
            .field("recovery", &self.recovery.is_some())
            .field("ms_key", &self.ms_key)
            .field("ms_duty", &self.ms.as_ref().map(|m| &m.duty))
            .field("reconcile", &self.reconcile.as_ref().map(|r| r.core.status()))
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Agent {
    pub fn new(parts: AgentParts) -> Result<Self, AgentError> {
        let AgentParts {
            spec,
            config: cfg,
            nodes,
            log,
            key,
            broadcaster: bc,
            telemetry,
            recovery,
            ms_key,
        } = parts;
        let report_window = opentoken_nodes::NodesConfig::from_spec(&spec)?.report_window;
        telemetry.register("consensus", "no checkpoint final yet");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap_or_default();
        let ms = ms_shell(&spec, &cfg.account, ms_key.as_ref(), &nodes)?;
        let reconcile = reconcile_shell(&spec, cfg.reconcile, &nodes);
        let identity = Identity {
            domain: cfg.domain.clone(),
            report_key: hex::encode(key.public().to_bytes()),
            mskey: ms_key.as_ref().map(|k| k.public().to_string()),
        };
        let state = AgentState::new(identity, report_window, recovery.is_some());
        let snapshots = SnapshotFetcher {
            peers: PeerFetcher {
                spec: spec.clone(),
                modules: cfg.modules.clone(),
                policy: cfg.peer_fetch.clone(),
            },
            account: cfg.account.clone(),
            log: log.clone(),
        };
        Ok(Self {
            spec,
            cfg,
            nodes,
            log,
            key,
            bc,
            telemetry,
            recovery,
            ms_key,
            ms,
            reconcile,
            http,
            snapshots,
            state,
            report_traces: std::collections::BTreeMap::new(),
        })
    }

    /// Runs until `stop` is cancelled; errors are logged and retried with backoff (a Hive
    /// node or peer being down must not stop the node).
    pub async fn run(mut self, stop: CancellationToken) {
        AGENT.init(&self.telemetry);
        // A Hive node or peer that keeps failing is retried with backoff (up to 64 polls).
        let mut backoff = Backoff::new(self.cfg.poll * 2, self.cfg.poll * 64);
        while !stop.is_cancelled() {
            let result = tokio::select! {
                _ = stop.cancelled() => break,
                r = self.tick() => r,
            };
            let wait = match result {
                Ok(()) => {
                    backoff.reset();
                    self.cfg.poll
                }
                Err(e) => {
                    let wait = backoff.next_delay().unwrap_or(self.cfg.poll * 64);
                    let failures = backoff.failures();
                    tracing::warn!(error = %e, failures, "consensus agent: will retry");
                    AGENT.consensus_errors.add(&self.telemetry, 1);
                    wait
                }
            };
            if !sleep_or_cancelled(&stop, wait).await {
                break;
            }
        }
    }

    /// One round: take the worker's news, read own reports, confirm broadcasts, register or
    /// report, and judge finality.
    pub async fn tick(&mut self) -> Result<(), AgentError> {
        match self.recovery.as_ref().map(take_handover) {
            Some(Handover::Pending) => return Ok(()), // the worker has not restored yet
            Some(Handover::Applied { block, reports_end }) => {
                self.state.restored(block, reports_end);
                tracing::info!(block, "state restored from a verified snapshot; resuming");
            }
            Some(Handover::Idle) | None => {}
        }
        // Log reads block (redb, rdkafka): off the async workers.
        tokio::task::block_in_place(|| self.read_reports())?;
        let head_time = self.confirm().await?;
        self.multisig(head_time).await;
        self.reconcile().await;
        let (view, nodes) = self.nodes.read(&self.http, &self.cfg.account).await?;
        for broadcast in self.state.broadcasts(view.own.as_ref(), view.processed) {
            self.broadcast(broadcast).await?;
        }
        self.check_finality(&view.finals, &nodes).await
    }

    /// Feeds the reports this node's checkpointer made since the last tick to the state.
    fn read_reports(&mut self) -> Result<(), AgentError> {
        let topic = self.spec.reports_topic();
        loop {
            let recs = self.log.read(&topic, self.state.reports_offset(), 1000)?;
            let Some(last) = recs.last() else { return Ok(()) };
            self.state.reports_read_to(last.offset + 1);
            for r in &recs {
                let rep = opentoken_codec::decode_report(&r.value).map_err(|e| AgentError::Decode {
                    topic: topic.clone(),
                    detail: format!("offset {}: {e}", r.offset),
                })?;
                self.state.own_report(rep.block, rep.consensus_hash);
                if let Some(t) = r.trace {
                    self.report_traces.insert(rep.block, t);
                    while self.report_traces.len() > REPORT_TRACES {
                        self.report_traces.pop_first();
                    }
                }
            }
        }
    }

    /// Looks for the in-flight transactions in the blocks up to the head, and drops the
    /// expired ones. Returns the head time, when Hive's answer has a readable one.
    async fn confirm(&mut self) -> Result<Option<u64>, AgentError> {
        let dgp = self.bc.client().dynamic_global_properties().await?;
        let head_time = opentoken_core::hive_json::parse_timestamp(&dgp.time);
        let now = head_time.unwrap_or(0);
        for b in self.state.observe_head(dgp.head_block_number, now) {
            let Some(block) = self.bc.client().get_block(b).await? else {
                break;
            };
            for c in self
                .state
                .block_seen(b, block.transactions.iter().map(|tx| tx.txid.as_str()))
            {
                self.confirmed(&c);
            }
        }
        for e in self.state.expire() {
            let (p, txid) = (e.purpose, e.txid);
            tracing::warn!(?p, %txid, "broadcast expired without being included; will send again if still useful");
            AGENT.broadcasts_expired.add(&self.telemetry, 1);
        }
        Ok(head_time)
    }

    /// One round of the multi-sig duty. Its failures are logged and never fail the tick:
    /// the node's reports must not wait on the community account, and the duty retries by
    /// itself (a signature not seen on chain is sent again, a failed broadcast backs off).
    async fn multisig(&mut self, head_time: Option<u64>) {
        let Some(ms) = self.ms.as_mut() else { return };
        let Some(now) = head_time else {
            tracing::warn!("multi-sig duty: the Hive head has no readable time; skipped this round");
            return;
        };
        let msaccount = &self.spec.msaccount;
        let view = match ms.source.read(&self.http, msaccount).await {
            Ok(view) => view,
            Err(error) => {
                if ms.read_failing.as_ref() != Some(&error) {
                    tracing::warn!(%error, "multi-sig duty: cannot read the multisig module's state; trying again each round");
                    ms.read_failing = Some(error);
                }
                return;
            }
        };
        if ms.read_failing.take().is_some() {
            tracing::info!("multi-sig duty: the multisig module's state is readable again");
        }
        for action in ms.duty.tick(&view, now) {
            ms_action(&mut ms.duty, &self.bc, &self.telemetry, &self.spec.prefix, action).await;
        }
    }

    /// A reconciliation of the multi-sig account when one is due. It never fails the tick:
    /// what it cannot read is a skipped check.
    async fn reconcile(&mut self) {
        let Some(r) = self.reconcile.as_mut() else { return };
        let now = tokio::time::Instant::now();
        if r.due.is_some_and(|due| now < due) {
            return;
        }
        r.due = Some(now + r.cfg.every);
        reconcile_once(r, self.bc.client(), &self.spec.msaccount, &self.telemetry).await;
    }

    fn confirmed(&self, c: &Confirmed) {
        AGENT.broadcasts_confirmed.add(&self.telemetry, 1);
        let (txid, block) = (&c.txid, c.block);
        match c.purpose {
            Purpose::Register => tracing::info!(txid = %txid, block, "node registration included"),
            Purpose::Report(n) => {
                tracing::info!(checkpoint = n, txid = %txid, block, "report included");
                AGENT.report_included_block.set(&self.telemetry, n as f64);
            }
        }
    }

    /// Signs and broadcasts a registration or a report.
    async fn broadcast(&mut self, b: Broadcast) -> Result<(), AgentError> {
        let chain_id = self.spec.hive_chain_id();
        let prefix = &self.spec.prefix;
        let (purpose, sent) = match b {
            Broadcast::Register { pop_block } => {
                let payload = node_add_payload(
                    &Registration {
                        chain_id: &chain_id,
                        prefix,
                        account: &self.cfg.account,
                        domain: &self.cfg.domain,
                        pop_block,
                    },
                    &self.key,
                    self.ms_key.as_ref(),
                );
                let sent = self.bc.custom_json(&format!("{prefix}node_add"), payload).await?;
                let mskey = self.ms_key.as_ref().map(|k| k.public().to_string());
                tracing::info!(txid = %sent.txid, domain = %self.cfg.domain, ?mskey, "registering the node");
                (Purpose::Register, sent)
            }
            Broadcast::Report { checkpoint, hash } => {
                let bytes = opentoken_nodes::report_signing_bytes(&chain_id, prefix, checkpoint, &hash);
                let sig = self.key.sign(&bytes);
                let payload = opentoken_nodes::report_json(checkpoint, &hash, &self.cfg.version, &sig);
                // The last span of the checkpoint's trace: its report on its way to Hive.
                let span = tracing::info_span!(target: otel::TARGET, "report.broadcast", checkpoint.block = otel::int(checkpoint));
                if let Some(t) = self.report_traces.get(&checkpoint) {
                    otel::follow(&span, t);
                }
                let sent =
                    tracing::Instrument::instrument(self.bc.custom_json(&format!("{prefix}report"), payload), span)
                        .await?;
                tracing::debug!(checkpoint, txid = %sent.txid, "report broadcast");
                (Purpose::Report(checkpoint), sent)
            }
        };
        self.sent(purpose, sent);
        Ok(())
    }

    fn sent(&mut self, purpose: Purpose, sent: Sent) {
        self.state.broadcast_sent(purpose, sent);
        AGENT.broadcasts.add(&self.telemetry, 1);
    }

    /// Publishes the verdict; when newly out of consensus, says so and (where the node can
    /// restore in place) hands the worker a verified snapshot of the newest final checkpoint.
    /// `finals` are the newest final checkpoints, newest first; `nodes` is read further only
    /// to recover.
    async fn check_finality(&mut self, finals: &[(u64, [u8; 32])], nodes: &NodesKv) -> Result<(), AgentError> {
        let Some((verdict, action)) = self.state.finality(finals) else {
            return Ok(());
        };
        self.telemetry.set_document("consensus", consensus_document(&verdict));
        AGENT.final_checkpoint.set(&self.telemetry, verdict.latest_final as f64);
        if action == FinalityAction::Agree {
            self.telemetry.set_ready("consensus");
            return Ok(());
        }
        let why = divergence(&verdict, self.state.can_restore());
        self.telemetry.set_not_ready("consensus", why.clone());
        let FinalityAction::Diverged { recover } = action else {
            return Ok(());
        };
        tracing::error!("{why}");
        AGENT.out_of_consensus.add(&self.telemetry, 1);
        let (Some(target), Some(slot)) = (recover, &self.recovery) else {
            return Ok(());
        };
        if let Some(restore) = self.snapshots.fetch_verified(nodes, self.nodes.store(), target).await? {
            self.state.recovery_started(target);
            lock(slot).pending = Some(restore);
        }
        Ok(())
    }
}

/// Where the multi-sig duty reads the multisig module: the store it commits to
/// (`opentoken run`), or the node's API (`GET /v1/state/multisig`, the distributed
/// `opentoken checkpoint`), as the nodes module is read.
enum MsSource {
    Store(Arc<dyn Store>),
    Api(String),
}

impl MsSource {
    /// The view of one round.
    async fn read(&self, http: &reqwest::Client, msaccount: &str) -> Result<MsView, String> {
        match self {
            // Store reads block (redb, ScyllaDB): off the async workers.
            MsSource::Store(store) => tokio::task::block_in_place(|| {
                let kv = ModuleKv {
                    store: store.as_ref(),
                    module: opentoken_multisig::NAME,
                };
                MsView::read(&kv, msaccount).map_err(|e| e.to_string())
            }),
            MsSource::Api(base) => {
                let url = format!("{}/v1/state/multisig", base.trim_end_matches('/'));
                let doc: opentoken_store::ModuleStateDoc = http
                    .get(&url)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .map_err(|e| format!("{url}: {e}"))?
                    .json()
                    .await
                    .map_err(|e| format!("{url}: {e}"))?;
                let mut pairs = std::collections::BTreeMap::new();
                for (k, v) in doc.pairs {
                    let k = hex::decode(&k).map_err(|e| format!("{url}: key {k:?}: {e}"))?;
                    let v = hex::decode(&v).map_err(|e| format!("{url}: value: {e}"))?;
                    pairs.insert(k, v);
                }
                MsView::read(&NodesKv::Pairs(pairs), msaccount).map_err(|e| format!("{url}: {e}"))
            }
        }
    }
}

/// The multi-sig duty of an agent with `ms_key`, where the chain has the multisig module.
fn ms_shell(
    spec: &ChainSpec,
    account: &str,
    ms_key: Option<&PrivateKey>,
    nodes: &NodesSource,
) -> Result<Option<MsShell>, AgentError> {
    let Some(key) = ms_key else { return Ok(None) };
    if !spec.modules.contains_key(opentoken_multisig::NAME) {
        tracing::warn!(
            mskey = %key.public(),
            "the chain has no multisig module: the multi-sig key is registered with the node but signs nothing"
        );
        return Ok(None);
    }
    let source = match nodes {
        NodesSource::Store(store) => MsSource::Store(store.clone()),
        NodesSource::Api(url) => MsSource::Api(url.clone()),
    };
    Ok(Some(MsShell {
        duty: MsDuty::new(account.to_string(), key.clone(), MsDutyConfig::default()),
        source,
        read_failing: None,
    }))
}

/// The reconciliation of an agent on a chain with the multisig module, where it reads the
/// module's books from a store (the distributed agent reads the nodes module from its
/// node's API and has none; that node's own agent, if any, reconciles).
fn reconcile_shell(spec: &ChainSpec, cfg: ReconcileConfig, nodes: &NodesSource) -> Option<ReconcileShell> {
    if !spec.modules.contains_key(opentoken_multisig::NAME) {
        return None;
    }
    let Some(store) = nodes.store() else {
        tracing::info!("this agent reads no store: it does not reconcile the multi-sig account's books with Hive");
        return None;
    };
    Some(ReconcileShell {
        core: Reconciler::new(spec.msaccount.clone(), cfg.confirm_checks),
        store: store.clone(),
        cfg,
        due: None,
        surplus_said: (0, 0),
    })
}

/// One reconciliation: observe, judge, publish.
async fn reconcile_once(
    r: &mut ReconcileShell,
    client: &HiveClient,
    msaccount: &str,
    telemetry: &Telemetry,
) -> Outcome {
    let outcome = match observe(r, client, msaccount).await {
        Ok((expected, observation)) => r.core.check(&expected, &observation),
        Err(skip) => r.core.skip(skip),
    };
    publish(r, &outcome, telemetry);
    // Store reads block (redb, ScyllaDB): off the async workers.
    tokio::task::block_in_place(|| publish_outflows(r.store.as_ref(), telemetry));
    outcome
}

/// The most pending outflows [`publish_outflows`] counts (a scan of their records; the
/// amounts come from the books' totals whatever their number).
const OUTFLOWS_COUNTED: usize = 10_000;

/// The outflows the multi-sig account owes and has not paid, by the books (how many and
/// how much of each coin), for the operator: a queue that grows while the account holds
/// what the books say means the signers are not paying. Read with the reconciliation,
/// whatever Hive answered; a failed read keeps the last values (`read_books` logs why).
fn publish_outflows(store: &dyn Store, telemetry: &Telemetry) {
    use opentoken_core::KvSource;
    let kv = ModuleKv {
        store,
        module: opentoken_multisig::NAME,
    };
    if let Ok(h) = opentoken_multisig::views::holdings(&kv) {
        AGENT.multisig_pending_hive_milli.set(telemetry, h.hive.pending as f64);
        AGENT.multisig_pending_hbd_milli.set(telemetry, h.hbd.pending as f64);
    }
    if let Ok(pending) = kv.kv_scan(opentoken_multisig::keys::OUT_PREFIX, OUTFLOWS_COUNTED) {
        AGENT.multisig_outflows_pending.set(telemetry, pending.len() as f64);
    }
}

/// The account's balance between two reads of the Hive head, then the books (read after,
/// so they are as new as can be), then, when the books are behind that head, the blocks
/// in between, to see whether they leave the account alone. A failure is a skip, logged
/// as a warning with the error.
async fn observe(r: &ReconcileShell, client: &HiveClient, msaccount: &str) -> Result<(Expected, Observation), Skip> {
    fn failed(what: &str, error: &dyn std::fmt::Display) -> Skip {
        tracing::warn!(%error, "multi-sig reconciliation: {what} failed; check skipped");
        Skip::Unavailable(format!("{what} failed"))
    }
    let head = || async {
        client
            .dynamic_global_properties()
            .await
            .map(|d| d.head_block_number)
            .map_err(|e| failed("reading the Hive head", &e))
    };
    let head_before = head().await?;
    let balances = match client.liquid_balances(msaccount).await {
        Ok(Some(b)) => Amounts {
            hive: b.hive,
            hbd: b.hbd,
        },
        Ok(None) => {
            tracing::warn!(account = %msaccount, "multi-sig reconciliation: the Hive API node knows no such account; check skipped");
            return Err(Skip::Unavailable(format!(
                "the Hive API node knows no account @{msaccount}"
            )));
        }
        Err(e) => return Err(failed("reading the account's balance", &e)),
    };
    let head_after = head().await?;
    // Store reads block (redb, ScyllaDB): off the async workers.
    let expected = tokio::task::block_in_place(|| read_books(r.store.as_ref()))?;
    let behind = head_before.saturating_sub(expected.block);
    let mut quiet = None;
    if head_after == head_before && behind > 0 && behind <= r.cfg.max_scan_blocks {
        let count = u32::try_from(behind).unwrap_or(u32::MAX);
        let blocks = client
            .get_block_range(expected.block.saturating_add(1), count)
            .await
            .map_err(|e| failed("reading the blocks after the books", &e))?;
        quiet = quiet_through(expected.block, &blocks, msaccount);
    }
    Ok((
        expected,
        Observation {
            balances,
            head_before,
            head_after,
            quiet_through: quiet,
        },
    ))
}

/// The books as of one processed block: its number is read before and after them, and a
/// commit in between (they may then mix two blocks) skips the check.
fn read_books(store: &dyn Store) -> Result<Expected, Skip> {
    let failed = |error: &dyn std::fmt::Display| {
        tracing::warn!(%error, "multi-sig reconciliation: reading the multisig module's books failed; check skipped");
        Skip::Unavailable("reading the multisig module's books failed".into())
    };
    let progress = || {
        store
            .progress(opentoken_multisig::NAME)
            .map(|p| p.map(|p| p.block))
            .map_err(|e| failed(&e))
    };
    let before = progress()?;
    let kv = ModuleKv {
        store,
        module: opentoken_multisig::NAME,
    };
    let holdings = opentoken_multisig::views::holdings(&kv).map_err(|e| failed(&e))?;
    match (before, progress()?) {
        (Some(b), Some(a)) if a == b => Ok(Expected::from_holdings(&holdings, b)),
        (None, None) => Err(Skip::Unavailable(
            "the multisig module has processed no block yet".into(),
        )),
        _ => Err(Skip::Unavailable("the books changed while read".into())),
    }
}

/// The verdict: `/readyz` (not ready while alarmed, with the reason; ready again on a
/// match), gauges and counters, the log, the `ms_reconcile` document.
fn publish(r: &mut ReconcileShell, outcome: &Outcome, telemetry: &Telemetry) {
    let status = r.core.status();
    match *outcome {
        Outcome::Skipped(ref skip) => {
            AGENT.multisig_reconcile_skipped.add(telemetry, 1);
            tracing::debug!(%skip, "multi-sig reconciliation skipped");
        }
        Outcome::Matched { cleared } => {
            if cleared {
                tracing::info!(account = %status.account, "the multi-sig account holds what its books say again");
            }
            telemetry.set_ready(RECONCILE_COMPONENT);
        }
        Outcome::Short { streak, alarm, raised } => {
            AGENT.multisig_reconcile_mismatches.add(telemetry, 1);
            match (&status.alarm, alarm) {
                (Some(why), true) => {
                    if raised {
                        tracing::error!("{why}");
                    }
                    telemetry.set_not_ready(RECONCILE_COMPONENT, why.clone());
                }
                _ => tracing::warn!(
                    account = %status.account,
                    streak,
                    confirm_checks = r.cfg.confirm_checks,
                    "the multi-sig account holds less on Hive than its books; an alarm if it persists"
                ),
            }
        }
    }
    if let (Some(c), false) = (status.last, matches!(outcome, Outcome::Skipped(_))) {
        let [hive, hbd] = c.coins;
        AGENT.multisig_expected_hive_milli.set(telemetry, hive.expected as f64);
        AGENT.multisig_observed_hive_milli.set(telemetry, hive.observed as f64);
        AGENT.multisig_expected_hbd_milli.set(telemetry, hbd.expected as f64);
        AGENT.multisig_observed_hbd_milli.set(telemetry, hbd.observed as f64);
        let surplus = (hive.surplus(), hbd.surplus());
        if surplus != r.surplus_said {
            if let Some(what) = &status.surplus {
                tracing::warn!("{what}");
            }
            r.surplus_said = surplus;
        }
    }
    if let Ok(doc) = serde_json::to_string(status) {
        telemetry.set_document("ms_reconcile", doc);
    }
}

/// Carries out one of the duty's actions and reports back what became of it.
async fn ms_action(duty: &mut MsDuty, bc: &Broadcaster, telemetry: &Telemetry, prefix: &str, action: MsAction) {
    match action {
        MsAction::SubmitSignature {
            checkpoint,
            sig_hex: _,
            json,
        } => match bc.custom_json(&format!("{prefix}ms_sign"), json).await {
            Ok(sent) => {
                tracing::info!(checkpoint, txid = %sent.txid, "multi-sig signature broadcast");
                AGENT.multisig_signatures.add(telemetry, 1);
                duty.signature_sent(checkpoint, sent.txid);
            }
            // Sent again once `resubmit_after_secs` pass without it on chain.
            Err(e) => tracing::warn!(checkpoint, error = %e, "multi-sig signature not broadcast; will send again"),
        },
        MsAction::BroadcastAssembled { txid, tx_json } => {
            let result = bc.client().broadcast_transaction(&tx_json).await;
            let outcome = assembled_outcome(&result);
            match &outcome {
                AssembledOutcome::Accepted | AssembledOutcome::Duplicate => {
                    tracing::info!(%txid, ?outcome, "assembled multi-sig transaction broadcast");
                    AGENT.multisig_broadcasts.add(telemetry, 1);
                }
                AssembledOutcome::Expired => {
                    tracing::warn!(%txid, "assembled multi-sig transaction expired before Hive took it")
                }
                AssembledOutcome::Failed(why) => {
                    tracing::warn!(%txid, error = %why, "assembled multi-sig transaction not broadcast; will retry")
                }
            }
            duty.assembled_outcome(&txid, outcome);
        }
        MsAction::NotSigning(why) => tracing::warn!("{why}"),
        MsAction::Alarm(alarm) => {
            tracing::error!("{alarm}");
            AGENT.multisig_alarms.add(telemetry, 1);
        }
    }
}

/// What Hive's answer to `broadcast_transaction` means for the duty.
fn assembled_outcome(result: &Result<serde_json::Value, HiveError>) -> AssembledOutcome {
    match result {
        Ok(_) => AssembledOutcome::Accepted,
        // The node's rejection text is in the error's message (`... JSON-RPC error: <why>`).
        Err(e) => AssembledOutcome::of_error(&e.to_string()),
    }
}

/// What a `node_add` binds besides the keys (see [`opentoken_nodes::node_add_signing_bytes`]).
#[derive(Debug, Clone, Copy)]
struct Registration<'a> {
    chain_id: &'a [u8; 32],
    prefix: &'a str,
    account: &'a str,
    domain: &'a str,
    pop_block: u64,
}

/// The `node_add` JSON: the report key with its ed25519 proof of possession and, with a
/// multi-sig key, that key (`STM...`) with its secp256k1 proof over the SHA-256 of the same
/// signing bytes, as the nodes module checks them.
fn node_add_payload(r: &Registration<'_>, key: &NodeKey, ms_key: Option<&PrivateKey>) -> String {
    let report_key = key.public().to_bytes();
    let mskey = ms_key.map(|k| k.public().to_string());
    let bytes = opentoken_nodes::node_add_signing_bytes(
        r.chain_id,
        r.prefix,
        r.account,
        r.domain,
        &report_key,
        mskey.as_deref().unwrap_or(""),
        r.pop_block,
    );
    let pop = key.sign(&bytes);
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    let ms_pop = ms_key.map(|k| k.sign(&digest));
    let ms = mskey
        .as_deref()
        .zip(ms_pop.as_ref())
        .map(|(text, sig)| (text, sig.as_bytes()));
    opentoken_nodes::node_add_json(r.domain, &report_key, r.pop_block, &pop, ms)
}

#[cfg(test)]
mod tests;
