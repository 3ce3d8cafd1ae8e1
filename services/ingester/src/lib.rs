//! The ingester role: the only writer of the ops topics.
//!
//! It reads irreversible blocks from Hive (batches of up to 1000), decodes every operation
//! once, routes it to its module and publishes one record per block per module topic
//! (runs of blocks without ops for a module are coalesced into one range record). Each
//! topic is published from its own head: the end of the gapless run of blocks it holds
//! ([`heads`]), re-derived from the log at start, and moved only by an append that
//! succeeded. A failed append is therefore retried from the same blocks, and on a log
//! without atomic appends what landed of it becomes a duplicate (or a record stranded past
//! a lost one, superseded by the retry); processors skip both by block number, so a crash
//! or a failure mid-append loses and doubles nothing, and leaves no gap.

use opentoken_core::router::{RouteTable, Router};
use opentoken_core::{Block, BlockRecord, ChainPos, ChainSpec, RoutedOp};
use opentoken_hive::HiveClient;
use opentoken_lifecycle::{sleep_or_cancelled, Backoff, CancellationToken, Transient};
use opentoken_log::{Log, LogError, RecordTraces};
use opentoken_telemetry::metrics::INGESTER;
use opentoken_telemetry::Telemetry;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

mod heads;

#[derive(Debug, Error)]
pub enum IngestError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(
        "a record at the end of topic {topic} cannot be decoded: {detail}; the topic was written by an incompatible version"
    )]
    Decode { topic: String, detail: String },
    #[error("block {num} does not link to block {prev_num}: its previous is {got}, expected {expected}; the Hive API node serves another chain — check --hive-api")]
    Discontinuity {
        num: u64,
        prev_num: u64,
        expected: String,
        got: String,
    },
    #[error("blocks are not consecutive: got {got} after {after}")]
    NotConsecutive { after: u64, got: u64 },
}

/// Only a log that is away comes back: a topic in another format or a Hive node serving
/// another chain stays so.
impl Transient for IngestError {
    fn is_transient(&self) -> bool {
        matches!(self, IngestError::Log(e) if e.is_transient())
    }
}

/// The first wait after a failed Hive call or append, doubling up to [`BACKOFF_MAX`].
const BACKOFF_START: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// The wait before the next try (the backoff has no attempt limit: Hive and the log are
/// waited for until stopped).
fn next_wait(backoff: &mut Backoff) -> Duration {
    backoff.next_delay().unwrap_or(BACKOFF_MAX)
}

/// Where one topic stands.
#[derive(Debug, Clone)]
struct TopicHead {
    topic: String,
    module: &'static str,
    /// Last block the topic holds.
    last_block: Option<u64>,
}

/// Turns decoded blocks into records and appends them. Sync and I/O-light so that tests and
/// `opentoken bench` can drive it without a Hive node.
pub struct Publisher {
    spec: Arc<ChainSpec>,
    tables: Vec<Arc<dyn RouteTable>>,
    log: Arc<dyn Log>,
    heads: Vec<TopicHead>,
    /// Id of the last published block, to check `previous` links.
    last_id: Option<(u64, String)>,
}

/// Where each topic stands and the modules routed to; the log is skipped.
impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let modules: Vec<&str> = self.tables.iter().map(|t| t.module_name()).collect();
        f.debug_struct("Publisher")
            .field("chain", &self.spec.name)
            .field("modules", &modules)
            .field("heads", &self.heads)
            .field("last_id", &self.last_id)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    pub fn open(
        spec: Arc<ChainSpec>,
        tables: Vec<Arc<dyn RouteTable>>,
        log: Arc<dyn Log>,
    ) -> Result<Self, IngestError> {
        let mut heads = Vec::new();
        let mut last_id: Option<(u64, String)> = None;
        for t in &tables {
            let topic = spec.ops_topic(t.module_name());
            // Not the last record: the end of the gapless run (see `heads`).
            let last = match heads::topic_head(log.as_ref(), &topic)? {
                Some(head) => {
                    if last_id.as_ref().is_none_or(|(b, _)| head.last_block < *b) {
                        last_id = Some((head.last_block, head.block_id.clone()));
                    }
                    Some(head.last_block)
                }
                None => None,
            };
            heads.push(TopicHead {
                topic,
                module: t.module_name(),
                last_block: last,
            });
        }
        // Only the minimum over topics is known to be linked; a fresh topic resets the check.
        if heads.iter().any(|h| h.last_block.is_none()) {
            last_id = None;
        }
        Ok(Self {
            spec,
            tables,
            log,
            heads,
            last_id,
        })
    }

    /// The next block to fetch: one after the least advanced topic.
    /// The last block published (number, id): the next range must link to it.
    pub fn last_link(&self) -> Option<&(u64, String)> {
        self.last_id.as_ref()
    }

    pub fn next_block(&self) -> u64 {
        self.heads
            .iter()
            .map(|h| h.last_block.map(|b| b + 1).unwrap_or(self.spec.starting_block))
            .min()
            .unwrap_or(self.spec.starting_block)
    }

    /// Routes and appends consecutive blocks (starting at `next_block()` or earlier; blocks a
    /// topic already holds are skipped for that topic).
    pub fn publish(&mut self, blocks: &[Block]) -> Result<PublishStats, IngestError> {
        let mut stats = PublishStats::default();
        if blocks.is_empty() {
            return Ok(stats);
        }
        // Every module is named, with 0 when none of its ops came: its series then exists
        // from the first publish, and a rate over it reads 0 rather than nothing.
        for head in &self.heads {
            stats.ops_by_module.insert(head.module, 0);
        }
        for w in blocks.windows(2) {
            if w[1].num != w[0].num + 1 {
                return Err(IngestError::NotConsecutive {
                    after: w[0].num,
                    got: w[1].num,
                });
            }
            if w[1].previous != w[0].id {
                return Err(IngestError::Discontinuity {
                    num: w[1].num,
                    prev_num: w[0].num,
                    expected: w[0].id.clone(),
                    got: w[1].previous.clone(),
                });
            }
        }
        if let Some((n, id)) = &self.last_id {
            if let Some(first) = blocks.iter().find(|b| b.num == n + 1) {
                if &first.previous != id {
                    return Err(IngestError::Discontinuity {
                        num: first.num,
                        prev_num: *n,
                        expected: id.clone(),
                        got: first.previous.clone(),
                    });
                }
            }
        }
        // One trace per published batch: the processors and the checkpointer continue it
        // from the records' trace context (opentoken_telemetry::otel).
        let span = tracing::info_span!(
            target: opentoken_telemetry::otel::TARGET,
            "ingest.batch",
            block.first = opentoken_telemetry::otel::int(blocks[0].num),
            block.last = opentoken_telemetry::otel::int(blocks[blocks.len() - 1].num),
            blocks = opentoken_telemetry::otel::int(blocks.len() as u64),
            records = tracing::field::Empty,
        );
        let _entered = span.enter();
        let table_refs: Vec<&dyn RouteTable> = self.tables.iter().map(|t| t.as_ref()).collect();
        let router = Router::new(&self.spec, table_refs);
        // Route every op once.
        let mut per_block: Vec<BTreeMap<&'static str, Vec<RoutedOp>>> = Vec::with_capacity(blocks.len());
        for b in blocks {
            let mut m: BTreeMap<&'static str, Vec<RoutedOp>> = BTreeMap::new();
            for (ti, tx) in b.transactions.iter().enumerate() {
                for (oi, op) in tx.operations.iter().enumerate() {
                    stats.ops_seen += 1;
                    if let Some(module) = router.route(op) {
                        stats.ops_routed += 1;
                        *stats.ops_by_module.entry(module).or_default() += 1;
                        m.entry(module).or_default().push(RoutedOp {
                            pos: ChainPos::new(b.num, ti as u32, oi as u32),
                            txid: tx.txid.clone(),
                            op: op.clone(),
                        });
                    }
                }
            }
            per_block.push(m);
        }
        let mut batch = Vec::new();
        // Heads move only once the append succeeded: a failed append is retried from the
        // same blocks (what did reach the log becomes a duplicate, which processors drop).
        let mut new_heads = Vec::new();
        for head in &self.heads {
            let mut records: Vec<BlockRecord> = Vec::new();
            for (b, routed) in blocks.iter().zip(per_block.iter_mut()) {
                if head.last_block.is_some_and(|l| b.num <= l) {
                    continue;
                }
                let ops = routed.remove(head.module).unwrap_or_default();
                match records.last_mut() {
                    // A run of empty blocks never continues past a checkpoint block, so the
                    // record of a checkpoint block always carries its id and time.
                    Some(r) if ops.is_empty() && r.ops.is_empty() && !self.spec.is_checkpoint(r.last_block) => {
                        r.last_block = b.num;
                        r.block_id = b.id.clone();
                        r.timestamp = b.timestamp;
                    }
                    _ => records.push(BlockRecord {
                        block_num: b.num,
                        last_block: b.num,
                        block_id: b.id.clone(),
                        timestamp: b.timestamp,
                        ops,
                    }),
                }
            }
            if let Some(r) = records.last() {
                new_heads.push((head.topic.clone(), r.last_block));
            }
            stats.records += records.len() as u64;
            let encoded: Vec<(Vec<u8>, Vec<u8>)> = records
                .iter()
                .map(|r| {
                    (
                        r.block_num.to_be_bytes().to_vec(),
                        opentoken_codec::encode_block_record(r),
                    )
                })
                .collect();
            if !encoded.is_empty() {
                batch.push((head.topic.clone(), encoded));
            }
        }
        span.record("records", opentoken_telemetry::otel::int(stats.records));
        let trace = opentoken_telemetry::otel::current_trace();
        let traces = trace.as_ref().map_or(RecordTraces::None, RecordTraces::All);
        self.log.append_traced(&batch, traces)?;
        for (topic, last) in new_heads {
            if let Some(h) = self.heads.iter_mut().find(|h| h.topic == topic) {
                h.last_block = Some(last);
            }
        }
        if let Some(last) = blocks.last() {
            self.last_id = Some((last.num, last.id.clone()));
            stats.last_block = Some(last.num);
        }
        Ok(stats)
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PublishStats {
    pub ops_seen: u64,
    pub ops_routed: u64,
    /// `ops_routed` by module, every module of the publisher named (0 when none came).
    pub ops_by_module: BTreeMap<&'static str, u64>,
    pub records: u64,
    pub last_block: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct IngesterConfig {
    /// Blocks per `get_block_range` call (at most 1000).
    pub batch: u32,
    /// Follow the head instead of the last irreversible block (not recommended: forks).
    pub follow_head: bool,
    /// Sleep when caught up.
    pub poll: Duration,
    /// Stop after publishing this block.
    pub until_block: Option<u64>,
}

impl Default for IngesterConfig {
    fn default() -> Self {
        Self {
            batch: 1000,
            follow_head: false,
            poll: Duration::from_millis(1000),
            until_block: None,
        }
    }
}

/// The async loop: poll Hive, publish, repeat; waits with backoff while Hive or the log is
/// unavailable and reports not-ready meanwhile. Returns when `stop` is cancelled (at once,
/// also in the middle of a Hive call or a wait) or after `until_block`.
pub async fn run(
    mut publisher: Publisher,
    client: HiveClient,
    cfg: IngesterConfig,
    telemetry: Arc<Telemetry>,
    stop: CancellationToken,
) -> Result<(), IngestError> {
    let max_batch = cfg.batch.clamp(1, 1000);
    // Halved after a timeout or an oversized answer, doubled back after each success.
    let mut batch = max_batch;
    let mut backoff = Backoff::new(BACKOFF_START, BACKOFF_MAX);
    telemetry.register("ingester", "connecting to Hive");
    // Counters from 0, each module's too, so that the first op routed is an increase.
    INGESTER.init(&telemetry);
    for head in &publisher.heads {
        INGESTER.ingested_ops.add(&telemetry, head.module, 0);
    }
    while !stop.is_cancelled() {
        let next = publisher.next_block();
        if cfg.until_block.is_some_and(|u| next > u) {
            break;
        }
        let props = tokio::select! {
            _ = stop.cancelled() => break,
            props = client.dynamic_global_properties() => props,
        };
        let props = match props {
            Ok(p) => p,
            Err(e) => {
                let wait = next_wait(&mut backoff);
                telemetry.set_not_ready_with_detail(
                    "ingester",
                    "Hive API unavailable; retrying (the error is in the node's log; check --hive-api)",
                    &e,
                );
                tracing::warn!(error = %e, "Hive API unavailable; retrying in {:?}", wait);
                sleep_or_cancelled(&stop, wait).await;
                continue;
            }
        };
        let target = if cfg.follow_head {
            props.head_block_number
        } else {
            props.last_irreversible_block_num
        };
        INGESTER.hive_head_block.set(&telemetry, props.head_block_number as f64);
        INGESTER.hive_irreversible_block.set(&telemetry, target as f64);
        let lag = target.saturating_sub(next.saturating_sub(1));
        INGESTER.ingest_lag_blocks.set(&telemetry, lag as f64);
        let target = cfg.until_block.map_or(target, |u| u.min(target));
        if next > target {
            telemetry.set_ready("ingester");
            sleep_or_cancelled(&stop, cfg.poll).await;
            continue;
        }
        let count = ((target - next + 1).min(batch as u64)) as u32;
        INGESTER.ingest_batch_blocks.set(&telemetry, f64::from(batch));
        let fetched = tokio::select! {
            _ = stop.cancelled() => break,
            fetched = client.get_verified_range(next, count, publisher.last_link()) => fetched,
        };
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) => {
                if e.is_heavy() && batch > 1 {
                    batch = (batch / 2).max(1);
                    tracing::info!(
                        batch,
                        "asking for fewer blocks per fetch after timeouts or oversized answers"
                    );
                }
                if matches!(e, opentoken_hive::HiveError::Unverified { .. }) {
                    INGESTER.hive_bad_answers.add(&telemetry, 1);
                }
                let wait = next_wait(&mut backoff);
                telemetry.set_not_ready_with_detail(
                    "ingester",
                    format!("no Hive API node served blocks from {next} that pass verification, or none answered; retrying (the reasons are in the node's log; check --hive-api)"),
                    &e,
                );
                tracing::warn!(error = %e, next, "block fetch failed; retrying in {:?}", wait);
                sleep_or_cancelled(&stop, wait).await;
                continue;
            }
        };
        for (node, why) in &fetched.refused {
            INGESTER.hive_bad_answers.add(&telemetry, 1);
            tracing::warn!(%node, next, reason = %why, "refused an API node's answer; using another node");
        }
        if !fetched.dissenters.is_empty() {
            INGESTER
                .hive_disagreements
                .add(&telemetry, fetched.dissenters.len() as u64);
            tracing::warn!(next, dissenters = ?fetched.dissenters, "API nodes outvoted: they name other block ids than the majority");
        }
        INGESTER
            .hive_accepted_by_agreement
            .add(&telemetry, fetched.accepted_by_agreement);
        // Only irreversible blocks, in order, from `next`.
        let blocks: Vec<Block> = fetched
            .blocks
            .into_iter()
            .filter(|b| b.num >= next && b.num <= target)
            .collect();
        if blocks.first().is_none_or(|b| b.num != next) {
            tracing::warn!(next, "API node returned no block {next}; retrying");
            sleep_or_cancelled(&stop, next_wait(&mut backoff)).await;
            continue;
        }
        batch = batch.saturating_mul(2).min(max_batch);
        // Appending blocks (a Kafka append waits for acknowledgements): off the async
        // worker where the runtime allows it.
        let published = match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(|| publisher.publish(&blocks)),
            _ => publisher.publish(&blocks),
        };
        match published {
            Ok(stats) => {
                backoff.reset();
                telemetry.set_ready("ingester");
                INGESTER.ingested_blocks.add(&telemetry, blocks.len() as u64);
                for (module, ops) in &stats.ops_by_module {
                    INGESTER.ingested_ops.add(&telemetry, module, *ops);
                }
                if let Some(b) = stats.last_block {
                    INGESTER.ingested_block.set(&telemetry, b as f64);
                    tracing::debug!(block = b, routed = stats.ops_routed, "published");
                }
            }
            // Any log error is waited out (not only an unavailable broker): the heads did not
            // move, so the same blocks are appended again.
            Err(IngestError::Log(e)) => {
                let wait = next_wait(&mut backoff);
                telemetry.set_not_ready_with_detail(
                    "ingester",
                    "log unavailable; retrying (the error is in the node's log; check the broker or the data directory)",
                    &e,
                );
                tracing::warn!(error = %e, "log append failed; retrying in {:?}", wait);
                sleep_or_cancelled(&stop, wait).await;
            }
            // Blocks that do not link to what was published (a node serving another chain
            // got past verification only if nothing was published before): never applied,
            // never a silent stop — not ready, and retried from another node.
            Err(e @ (IngestError::Discontinuity { .. } | IngestError::NotConsecutive { .. })) => {
                let wait = next_wait(&mut backoff);
                client.skip_preferred();
                telemetry.set_not_ready_with_detail(
                    "ingester",
                    format!("blocks from {next} do not link to the published chain; retrying on another Hive API node"),
                    &e,
                );
                tracing::warn!(error = %e, "blocks refused; retrying in {:?}", wait);
                sleep_or_cancelled(&stop, wait).await;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
