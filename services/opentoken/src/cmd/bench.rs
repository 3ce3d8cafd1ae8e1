//! `opentoken bench`: the figures in the README come from here.
//!
//! Measurements on one generated chain (deterministic), each with its accepted and
//! rejected ops counted apart and its peak resident memory, as a table and (`--json`) as
//! JSON:
//! 1. the state machine alone (engine over routed ops, in memory);
//! 2. the embedded pipeline end to end: blocks published to the embedded log, processed,
//!    and group-committed to the embedded store (fsync'd), as `opentoken run` does;
//! 3. a replay of the same log into a fresh store;
//! 4. the embedded pipeline again with publishing and processing overlapped on their own
//!    threads, as in `opentoken run`;
//! 5. with `--kafka-brokers`, Kafka mode against a bare rdkafka consumer.
//!
//! `--mix token` (the default) measures the token module's ops over `--accounts` funded
//! accounts (10,000 by default: with a handful, balances run dry and most ops are rejected,
//! which flatters the node), optionally sparse (`--busy-blocks-per-mille`); `--mix dex` a chain of DEX
//! traffic only (`--ops-per-block` DEX transactions per block: sells, memo and Layer-2
//! buys, cancels, some invalid) through token, multisig and the DEX, counting DEX order ops;
//! `--mix nft` a chain of NFT traffic only (`--ops-per-block` NFT transactions per block:
//! definitions, mints, gifts, sales, auctions, reserved transfers, melts, cancels, some
//! invalid) through token and the NFT module, counting NFT ops (those the NFT module owns
//! and those the token module escrows for it).

use crate::backends::{load_spec, open_embedded, open_embedded_rebuild};
use anyhow::{Context, Result};
use clap::Args;
use opentoken_core::engine::{Engine, Slot};
use opentoken_core::router::{RouteTable, Router};
use opentoken_core::{Block, ChainPos, ChainSpec, ModuleState, RoutedOp, StateRead};
use opentoken_ingester::Publisher;
use opentoken_processor::{Processor, ProcessorConfig, Step};
use opentoken_registry::ChainShape;
use opentoken_telemetry::Telemetry;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Clone, Debug)]
pub(crate) struct BenchArgs {
    /// Chain spec (the devnet spec has the generated accounts).
    #[arg(long, default_value = "infra/chains/devnet.json")]
    pub chain: PathBuf,
    /// Blocks to generate.
    #[arg(long, default_value_t = 5000)]
    pub blocks: u64,
    /// Generated community ops per block.
    #[arg(long, default_value_t = 20)]
    pub ops_per_block: u32,
    /// Share of invalid ops, per mille.
    #[arg(long, default_value_t = 100)]
    pub invalid_per_mille: u32,
    /// Blocks per commit in the pipeline measurement.
    #[arg(long, default_value_t = 1000)]
    pub commit_every: u64,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Also measure Kafka mode against this broker: the processor reading a topic, as a
    /// ratio to a bare rdkafka consumer reading the same topic in the same run.
    #[arg(long, env = "OPENTOKEN_KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,
    /// Kafka topic definitions (default: the built-in copy of infra/kafka/topics.json).
    #[arg(long, env = "OPENTOKEN_KAFKA_TOPICS")]
    pub kafka_topics: Option<PathBuf>,
    /// What to measure: token ops, DEX order ops (needs a chain that runs the DEX, e.g.
    /// infra/chains/devnet-multisig.json), or NFT ops (needs a chain that runs the NFT
    /// module, e.g. infra/chains/devnet-multisig.json).
    #[arg(long, value_enum, default_value_t = Mix::Token)]
    pub mix: Mix,
    /// Token mix: fund this many generated accounts at genesis (besides the chain's own)
    /// and draw every op's actor and recipient from them, so that ops are accepted as
    /// often as on a real chain (with the chain's 11 devnet accounts balances run dry and
    /// most ops are rejected, which skips apply, events and hashing). 0 = the chain's
    /// genesis accounts through the Hive simulator, as before.
    #[arg(long, default_value_t = 10_000)]
    pub accounts: u64,
    /// Token mix with `--accounts`: blocks that carry community ops, per mille; the rest
    /// are empty, as most Hive blocks are for one community (100 with `--ops-per-block 1`
    /// is about one op per 10 blocks).
    #[arg(long, default_value_t = 1000)]
    pub busy_blocks_per_mille: u32,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// One measured phase of a bench run.
#[derive(Debug, serde::Serialize)]
struct Phase {
    name: String,
    seconds: f64,
    ops_per_sec: f64,
    accepted_ops_per_sec: f64,
    blocks_per_sec: f64,
    /// The process's peak resident memory during the phase (Linux; 0 elsewhere).
    peak_rss_bytes: u64,
}

/// What `--json` writes: the run's parameters and counts, then one entry per phase.
#[derive(Debug, serde::Serialize)]
struct Report {
    chain: String,
    mix: String,
    seed: u64,
    blocks: u64,
    accounts: u64,
    busy_blocks_per_mille: u32,
    ops_per_busy_block: u32,
    invalid_per_mille: u32,
    /// Ops of the measured kind (`unit`), and how many of them the state machine accepted
    /// and rejected.
    unit: String,
    ops: u64,
    accepted: u64,
    rejected: u64,
    phases: Vec<Phase>,
    /// Processor / bare rdkafka consumer throughput, when a broker was measured.
    kafka_ratio: Option<f64>,
    /// Genesis in the engine (and its fold), and genesis plus the first block through the
    /// processor into the store: one-off costs, kept out of the phases.
    genesis_seconds: f64,
    genesis_store_seconds: f64,
    genesis_peak_rss_bytes: u64,
}

impl Report {
    fn phase(&mut self, name: &str, seconds: f64, peak_rss_bytes: u64) {
        let per_sec = |n: u64| if seconds > 0.0 { n as f64 / seconds } else { 0.0 };
        self.phases.push(Phase {
            name: name.to_string(),
            seconds,
            ops_per_sec: per_sec(self.ops),
            accepted_ops_per_sec: per_sec(self.accepted),
            blocks_per_sec: per_sec(self.blocks),
            peak_rss_bytes,
        });
    }
}

/// Peak resident memory is read per phase: the high-water mark is reset before the phase
/// (`/proc/self/clear_refs`, Linux 4.0+) and read after it (`VmHWM`).
mod peak_rss {
    pub(super) fn reset() {
        // Best effort: without it the mark covers the run so far, still an upper bound.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }

    pub(super) fn read() -> u64 {
        let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
            return 0;
        };
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}

/// The traffic a bench run generates and counts.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mix {
    Token,
    Dex,
    Nft,
}

/// Whether `op` is a DEX order op: `dex_sell`, `dex_buy`, `dex_clear`, or a deposit to the
/// multi-sig account whose memo is a DEX order.
fn is_dex_op(spec: &ChainSpec, op: &opentoken_core::HiveOp) -> bool {
    match op {
        opentoken_core::HiveOp::CustomJson(c) => ["dex_sell", "dex_buy", "dex_clear"]
            .iter()
            .any(|n| c.id.strip_prefix(spec.prefix.as_str()) == Some(*n)),
        opentoken_core::HiveOp::Transfer(t) => {
            t.to == spec.msaccount && t.memo.starts_with('{') && (t.memo.contains("rate") || t.memo.contains("dex"))
        }
        _ => false,
    }
}

/// Whether `op`, routed to `module`, is an NFT op: one the NFT module owns, or one that
/// pays it through the token module (`opentoken_nft::protocol::PAID_OPS`).
fn is_nft_op(spec: &ChainSpec, module: &str, op: &opentoken_core::HiveOp) -> bool {
    match module {
        opentoken_nft::NAME => true,
        "token" => match op {
            opentoken_core::HiveOp::CustomJson(c) => {
                c.id.strip_prefix(spec.prefix.as_str())
                    .is_some_and(|name| opentoken_nft::protocol::PAID_OPS.iter().any(|(n, _)| *n == name))
            }
            _ => false,
        },
        _ => false,
    }
}

impl BenchArgs {
    pub(crate) async fn execute(self) -> Result<()> {
        tokio::task::spawn_blocking(move || bench(self)).await?
    }
}

fn bench(args: BenchArgs) -> Result<()> {
    let mut spec = load_spec(&args.chain)?;
    let shape = ChainShape {
        seed: args.seed,
        block_interval: Duration::from_millis(1),
        prefill_blocks: 0,
        irreversible_lag: 0,
    };
    let mut traffic =
        opentoken_registry::traffic(&spec, (args.ops_per_block, args.ops_per_block), args.invalid_per_mille);
    if args.mix == Mix::Dex {
        let Some(dex) = traffic.dex.as_mut() else {
            anyhow::bail!(
                "--mix dex needs a chain that runs the DEX (modules.dex and modules.multisig), e.g. infra/chains/devnet-multisig.json; {} runs none",
                args.chain.display()
            );
        };
        dex.per_block = Some(args.ops_per_block);
        traffic.ops_per_block = (0, 0);
        // No consensus agent runs here, so no runner registers a multi-sig key and no
        // collateral is ever sent: with a safety price every buy would be refunded.
        let mut s = (*spec).clone();
        if let Some(ms) = s.modules.get_mut("multisig").and_then(|m| m.as_object_mut()) {
            ms.remove("safety_price");
        }
        spec = Arc::new(s);
    }
    if args.mix == Mix::Nft {
        let Some(nft) = traffic.nft.as_mut() else {
            anyhow::bail!(
                "--mix nft needs a chain that runs the NFT module (modules.nft), e.g. infra/chains/devnet-multisig.json; {} runs none",
                args.chain.display()
            );
        };
        nft.per_block = Some(args.ops_per_block);
        traffic.ops_per_block = (0, 0);
        traffic.msaccount = None;
        traffic.dex = None;
    }
    let first = spec.starting_block.max(1);
    let last = first + args.blocks.max(1) - 1;
    let many_accounts = args.mix == Mix::Token && args.accounts > 0;
    let blocks: Vec<Block> = if many_accounts {
        let accounts = bench_accounts(args.accounts);
        spec = Arc::new(fund_accounts(&spec, &accounts)?);
        traffic.accounts = accounts;
        eprintln!(
            "generating {} blocks ({} per mille with {} ops) over {} funded accounts ...",
            args.blocks, args.busy_blocks_per_mille, args.ops_per_block, args.accounts
        );
        opentoken_hive::traffic::bench_stream(&traffic, args.seed, first..=last, args.busy_blocks_per_mille)
    } else {
        let sim_config = opentoken_registry::sim_config(&spec, shape, traffic);
        eprintln!("generating {} blocks ...", args.blocks);
        opentoken_hive::generate_blocks(&sim_config, first..=last)
            .map_err(|e| anyhow::anyhow!("generating the benchmark chain: {e}"))?
    };

    // 1. State machine alone: the token mix runs the token module's ops; the DEX and NFT
    // mixes every module's (the DEX's orders arrive through token and multisig, the NFT
    // module's payments through token).
    let modules = opentoken_registry::modules(&spec)?;
    let tables: Vec<&dyn RouteTable> = modules.iter().map(|m| -> &dyn RouteTable { m.as_ref() }).collect();
    let router = Router::new(&spec, tables);
    let mut routed: Vec<(u64, u64, BTreeMap<String, Vec<RoutedOp>>)> = Vec::with_capacity(blocks.len());
    let mut counted = 0u64;
    // Positions of the counted ops, to split their statuses into accepted and rejected.
    let mut counted_at: std::collections::BTreeSet<ChainPos> = std::collections::BTreeSet::new();
    for block in &blocks {
        let mut by_module: BTreeMap<String, Vec<RoutedOp>> = BTreeMap::new();
        for (ti, tx) in block.transactions.iter().enumerate() {
            for (oi, op) in tx.operations.iter().enumerate() {
                let Some(module) = router.route(op) else { continue };
                if args.mix == Mix::Token && module != "token" {
                    continue;
                }
                let counts = match args.mix {
                    Mix::Token => true,
                    Mix::Dex => is_dex_op(&spec, op),
                    Mix::Nft => is_nft_op(&spec, module, op),
                };
                let pos = ChainPos::new(block.num, ti as u32, oi as u32);
                if counts {
                    counted += 1;
                    counted_at.insert(pos);
                }
                by_module.entry(module.to_string()).or_default().push(RoutedOp {
                    pos,
                    txid: tx.txid.clone(),
                    op: op.clone(),
                });
            }
        }
        routed.push((block.num, block.timestamp, by_module));
    }
    let token_ops = counted;
    let slots = modules
        .iter()
        .map(|m| Slot {
            module: m.clone(),
            state: ModuleState::new(),
            last_block: None,
        })
        .collect();
    let mut engine = Engine::new(spec.clone(), slots, vec![]);
    // Genesis (with `--accounts`, two keys per account) and its fold are a one-off cost,
    // measured apart so that the phases below are the cost of ops.
    peak_rss::reset();
    let genesis_started = Instant::now();
    engine.genesis()?;
    for slot in engine.slots_mut() {
        slot.state.fold();
    }
    let genesis_secs = genesis_started.elapsed().as_secs_f64();
    let genesis_rss = peak_rss::read();
    peak_rss::reset();
    let started = Instant::now();
    let mut rejected = 0u64;
    let mut rejected_counted = 0u64;
    let mut nft_events: BTreeMap<String, u64> = BTreeMap::new();
    for ((num, ts, ops), block) in routed.iter().zip(&blocks) {
        let by_module: BTreeMap<&str, &[RoutedOp]> = ops.iter().map(|(m, o)| (m.as_str(), o.as_slice())).collect();
        // Chron work at a checkpoint block sees its id, as a processor tells it (NFT mints
        // are drawn with it).
        engine.note_checkpoint_header(*num, &block.id, block.timestamp);
        let out = engine.process_block(*num, *ts, &by_module)?;
        for status in &out.statuses {
            if matches!(status.outcome, opentoken_core::Outcome::Rejected { .. }) {
                rejected += 1;
                rejected_counted += u64::from(counted_at.contains(&status.pos));
            }
        }
        if args.mix == Mix::Nft {
            for e in out.events.iter().filter(|e| e.module == opentoken_nft::NAME) {
                *nft_events.entry(e.kind.clone()).or_default() += 1;
            }
        }
    }
    let state_machine = started.elapsed().as_secs_f64();
    let state_machine_rss = peak_rss::read();
    let dex_summary = (args.mix == Mix::Dex)
        .then(|| {
            engine
                .slots()
                .iter()
                .find(|s| s.module.module_name() == opentoken_dex::NAME)
                .map(|s| {
                    let trades: u64 = opentoken_dex::Pair::ALL
                        .iter()
                        .map(|p| opentoken_dex::views::trades(&s.state, *p, usize::MAX).len() as u64)
                        .sum();
                    let resting = s.state.scan_prefix(b"ord/").count();
                    let sum = opentoken_dex::views::summary(&opentoken_dex::DexConfig::default(), &s.state);
                    format!(
                        "{} orders reached the DEX, {resting} rest at the end, {trades} trades kept",
                        sum.orders_placed
                    )
                })
        })
        .flatten();

    let nft_summary = (args.mix == Mix::Nft)
        .then(|| {
            engine
                .slots()
                .iter()
                .find(|s| s.module.module_name() == opentoken_nft::NAME)
                .map(|s| {
                    let count = |prefix: &[u8]| s.state.scan_prefix(prefix).count();
                    let events = |kind: &str| nft_events.get(kind).copied().unwrap_or(0);
                    format!(
                        "{} sets defined, {} NFTs minted ({} held at the end), {} sales and auctions settled, {} bids, {} offers open at the end, {} payments refunded",
                        events("SetDefined"),
                        events("Minted"),
                        count(b"nft/"),
                        events("Sold"),
                        events("BidPlaced"),
                        count(b"off/"),
                        events("Refunded"),
                    )
                })
        })
        .flatten();

    // 2. Embedded pipeline: publish to the log, process, group-commit.
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let (log, store) = open_embedded(dir.path(), 0)?;
    peak_rss::reset();
    let started = Instant::now();
    let mut publisher = Publisher::open(spec.clone(), opentoken_registry::route_tables(&modules), log.clone())?;
    for chunk in blocks.chunks(1000) {
        publisher.publish(chunk)?;
    }
    let publish = started.elapsed().as_secs_f64();
    let publish_rss = peak_rss::read();
    // A processor reading `log` up to `until` into `store` (it resumes where the store's
    // progress is).
    let open_processor = |log: &Arc<dyn opentoken_log::Log>,
                          store: &Arc<dyn opentoken_store::Store>,
                          commit_every: u64,
                          until: u64|
     -> Result<Processor> {
        let config = ProcessorConfig {
            commit_every_blocks: commit_every,
            until_block: Some(until),
            ..Default::default()
        };
        Ok(Processor::open(
            spec.clone(),
            opentoken_registry::modules(&spec)?,
            log.clone(),
            store.clone(),
            config,
            Arc::new(Telemetry::new()),
        )?)
    };
    // The processor up to `until` on `store`, timed.
    let process = |store: &Arc<dyn opentoken_store::Store>, commit_every: u64, until: u64| -> Result<(f64, u64)> {
        peak_rss::reset();
        let processing = Instant::now();
        let mut processor = open_processor(&log, store, commit_every, until)?;
        while processor.step()? != Step::Done {}
        store.sync()?;
        Ok((processing.elapsed().as_secs_f64(), peak_rss::read()))
    };
    // Genesis and the first block committed first (a one-off, reported apart), then the
    // rest of the chain: the phase measured (its rates count every op, the first block's
    // too: one block in `--blocks` more than it ran).
    let (store_genesis_secs, _) = process(&store, args.commit_every, first)?;
    let (process_secs, process_rss) = process(&store, args.commit_every, last)?;
    let total = publish + process_secs;
    // 3. Replay: the same log into a fresh store, as a node rebuilding does (`opentoken
    // replay` with its default batch of 10,000 blocks).
    let replay_dir = tempfile::tempdir().context("temporary data directory")?;
    let (_, replay_store) = open_embedded_rebuild(replay_dir.path(), opentoken_store::DEFAULT_KEEP_STATUS_BLOCKS)?;
    let replay_every = REPLAY_COMMIT_EVERY.max(args.commit_every);
    process(&replay_store, replay_every, first)?;
    let (replay_secs, replay_rss) = process(&replay_store, replay_every, last)?;

    // 4. End to end as `opentoken run` works: the publisher (the ingester's part) and the
    // processor on their own threads, the processor reading what has been published while
    // the rest is being published. Genesis and the first block first, apart as above.
    let overlap_dir = tempfile::tempdir().context("temporary data directory")?;
    let (overlap_log, overlap_store) = open_embedded(overlap_dir.path(), 0)?;
    let mut publisher = Publisher::open(
        spec.clone(),
        opentoken_registry::route_tables(&modules),
        overlap_log.clone(),
    )?;
    let (head, rest) = blocks.split_at(1.min(blocks.len()));
    publisher.publish(head)?;
    let mut genesis = open_processor(&overlap_log, &overlap_store, args.commit_every, first)?;
    while genesis.step()? != Step::Done {}
    drop(genesis);
    peak_rss::reset();
    let started = Instant::now();
    let mut processor = open_processor(&overlap_log, &overlap_store, args.commit_every, last)?;
    std::thread::scope(|scope| -> Result<()> {
        let publishing = scope.spawn(move || -> Result<()> {
            for chunk in rest.chunks(1000) {
                publisher.publish(chunk)?;
            }
            Ok(())
        });
        loop {
            match processor.step()? {
                Step::Done => break,
                Step::Idle => std::thread::sleep(std::time::Duration::from_millis(1)),
                Step::Advanced(_) => {}
            }
        }
        publishing
            .join()
            .map_err(|_| anyhow::anyhow!("the bench's publisher thread panicked"))?
    })?;
    overlap_store.sync()?;
    let overlapped = started.elapsed().as_secs_f64();
    let overlapped_rss = peak_rss::read();

    let unit = match args.mix {
        Mix::Token => "token ops",
        Mix::Dex => "DEX order ops",
        Mix::Nft => "NFT ops",
    };
    let mut report = Report {
        chain: args.chain.display().to_string(),
        mix: format!("{:?}", args.mix).to_lowercase(),
        seed: args.seed,
        blocks: args.blocks,
        accounts: if many_accounts { args.accounts } else { 0 },
        busy_blocks_per_mille: if many_accounts {
            args.busy_blocks_per_mille
        } else {
            1000
        },
        ops_per_busy_block: args.ops_per_block,
        invalid_per_mille: args.invalid_per_mille,
        unit: unit.to_string(),
        ops: token_ops,
        accepted: token_ops - rejected_counted,
        rejected: rejected_counted,
        phases: Vec::new(),
        kafka_ratio: None,
        genesis_seconds: genesis_secs,
        genesis_store_seconds: store_genesis_secs,
        genesis_peak_rss_bytes: genesis_rss,
    };
    report.phase(
        "state machine alone (engine, in memory)",
        state_machine,
        state_machine_rss,
    );
    report.phase("embedded: publish to log", publish, publish_rss);
    report.phase(
        &format!(
            "embedded: process + commit (every {} blocks, after genesis)",
            args.commit_every
        ),
        process_secs,
        process_rss,
    );
    report.phase(
        "embedded end to end (publish + process + commit)",
        total,
        publish_rss.max(process_rss),
    );
    report.phase(
        "embedded end to end, publish and process overlapped (as `opentoken run`)",
        overlapped,
        overlapped_rss,
    );
    report.phase(
        &format!("replay: the log into a fresh store (commit every {replay_every} blocks)"),
        replay_secs,
        replay_rss,
    );
    if let Some(brokers) = &args.kafka_brokers {
        kafka_bench(&args, brokers, &spec, &blocks, &mut report)?;
    }

    println!(
        "opentoken bench: {} blocks, {} {unit}: {} accepted, {} rejected ({} ops rejected in all), {}, seed {}",
        args.blocks,
        token_ops,
        report.accepted,
        report.rejected,
        rejected,
        if many_accounts {
            format!(
                "{} funded accounts, {} per mille of blocks busy",
                args.accounts, args.busy_blocks_per_mille
            )
        } else {
            "the chain's genesis accounts (Hive simulator)".to_string()
        },
        args.seed
    );
    println!(
        "genesis (not in the phases): {:.3} s in the engine with its fold (peak RSS {:.0} MiB), {:.3} s through the processor with the first block",
        genesis_secs,
        genesis_rss as f64 / (1024.0 * 1024.0),
        store_genesis_secs
    );
    if let Some(s) = dex_summary {
        println!("DEX: {s}");
    }
    if let Some(s) = nft_summary {
        println!("NFT: {s}");
    }
    println!("| measurement | seconds | {unit}/s | accepted/s | blocks/s | peak RSS MiB |");
    println!("|---|---|---|---|---|---|");
    for p in &report.phases {
        println!(
            "| {} | {:.3} | {:.0} | {:.0} | {:.0} | {:.0} |",
            p.name,
            p.seconds,
            p.ops_per_sec,
            p.accepted_ops_per_sec,
            p.blocks_per_sec,
            p.peak_rss_bytes as f64 / (1024.0 * 1024.0)
        );
    }
    if let Some(ratio) = report.kafka_ratio {
        println!("processor / bare consumer throughput ratio: {ratio:.2} (goal >= 0.9)");
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).context("serialising the bench report")?;
        std::fs::write(path, text).with_context(|| format!("writing the bench report to {}", path.display()))?;
    }
    Ok(())
}

/// Blocks per commit of the replay phase (as `opentoken replay` rebuilds).
const REPLAY_COMMIT_EVERY: u64 = 10_000;

/// Names of `n` generated accounts: valid Hive names, sorted as the traffic generator's
/// account list must be.
fn bench_accounts(n: u64) -> Vec<String> {
    (0..n).map(|i| format!("u{i:07}")).collect()
}

/// `spec` with `accounts` funded at genesis: liquid tokens enough for any generated send
/// and power for power-downs and grants, beside the chain's own genesis.
fn fund_accounts(spec: &ChainSpec, accounts: &[String]) -> Result<ChainSpec> {
    let mut spec = spec.clone();
    let genesis = spec
        .modules
        .get_mut("token")
        .and_then(|t| t.as_object_mut())
        .map(|t| t.entry("genesis").or_insert_with(|| serde_json::json!({})))
        .and_then(|g| g.as_object_mut())
        .context("the bench chain has no token module to fund accounts in")?;
    for (field, amount) in [("balances", 100_000_000u64), ("pow", 10_000_000)] {
        let map = genesis
            .entry(field)
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
            .with_context(|| format!("modules.token.genesis.{field} is not an object"))?;
        for a in accounts {
            map.insert(a.clone(), serde_json::json!(amount));
        }
    }
    Ok(spec)
}

/// Processor throughput in Kafka mode relative to the fastest a consumer can read the same
/// topic: a bare rdkafka consumer that only counts bytes.
fn kafka_bench(args: &BenchArgs, brokers: &str, spec: &ChainSpec, blocks: &[Block], report: &mut Report) -> Result<()> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    // A community name of its own, so that runs never read each other's topics.
    let mut spec = spec.clone();
    spec.name = format!(
        "bench{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    let spec = Arc::new(spec);
    let log = Arc::new(
        opentoken_log::KafkaLog::new(
            opentoken_log::KafkaConfig::new(brokers, format!("{}.bench", spec.name)),
            opentoken_codec::schema_name_of,
        )
        .with_context(|| format!("Kafka client for {brokers}"))?,
    );
    let text = match &args.kafka_topics {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        None => opentoken_log::kafka::DEFAULT_TOPICS.to_string(),
    };
    let definitions = opentoken_log::kafka::TopicDefinitions::parse(&text)?;
    let modules = opentoken_registry::modules(&spec)?;
    let names: Vec<&str> = modules.iter().map(|m| m.module_name()).collect();
    log.ensure_topics(&definitions.expand(&spec.name, &names))
        .with_context(|| format!("creating bench topics on {brokers}"))?;
    peak_rss::reset();
    let started = Instant::now();
    let mut publisher = Publisher::open(spec.clone(), opentoken_registry::route_tables(&modules), log.clone())?;
    for chunk in blocks.chunks(1000) {
        publisher.publish(chunk)?;
    }
    let publish = started.elapsed().as_secs_f64();
    let publish_rss = peak_rss::read();
    let topic = spec.ops_topic("token");
    let records = opentoken_log::Log::end_offset(log.as_ref(), &topic)?;

    // Bare consumer: read every record once, touching only the bytes.
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{}.bare", spec.name))
        .set("enable.partition.eof", "false")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "50")
        .create()
        .context("bare rdkafka consumer")?;
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, rdkafka::Offset::Beginning)?;
    consumer.assign(&tpl)?;
    peak_rss::reset();
    let started = Instant::now();
    let (mut read, mut bytes) = (0u64, 0u64);
    while read < records {
        if started.elapsed() > Duration::from_secs(300) {
            anyhow::bail!("the bare consumer read only {read} of {records} records in 300 s");
        }
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            bytes += message?.payload().map_or(0, |p| p.len() as u64);
            read += 1;
        }
    }
    let bare = started.elapsed().as_secs_f64();
    let bare_rss = peak_rss::read();

    // The processor over the same topic, committing to a fresh embedded store.
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let (_, store) = open_embedded(dir.path(), 0)?;
    let first = spec.starting_block.max(1);
    let config = ProcessorConfig {
        commit_every_blocks: args.commit_every,
        until_block: Some(first + args.blocks.max(1) - 1),
        ..Default::default()
    };
    peak_rss::reset();
    let started = Instant::now();
    let mut processor = Processor::open(
        spec.clone(),
        modules,
        log.clone(),
        store,
        config,
        Arc::new(Telemetry::new()),
    )?;
    while processor.step()? != Step::Done {
        if started.elapsed() > Duration::from_secs(300) {
            anyhow::bail!(
                "the processor did not reach block {} within 300 s (at {:?}); is the broker at {brokers} responsive?",
                first + args.blocks - 1,
                processor.last_block()
            );
        }
    }
    let process = started.elapsed().as_secs_f64();
    let process_rss = peak_rss::read();
    report.phase("kafka: publish to the broker", publish, publish_rss);
    report.phase(
        &format!("kafka: bare rdkafka consumer ({records} records, {bytes} bytes)"),
        bare,
        bare_rss,
    );
    report.phase(
        &format!("kafka: processor (read + process + commit every {})", args.commit_every),
        process,
        process_rss,
    );
    report.kafka_ratio = Some(bare / process);
    Ok(())
}
