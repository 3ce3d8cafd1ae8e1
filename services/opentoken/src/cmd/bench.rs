//! `opentoken bench`: the figures in the README come from here.
//!
//! Two measurements on one generated chain (deterministic, from the simulator's generator):
//! 1. the state machine alone (engine over routed ops, in memory);
//! 2. the embedded pipeline end to end: blocks published to the embedded log, processed,
//!    and group-committed to the embedded store (fsync'd), as `opentoken run` does.
//!
//! `--mix token` (the default) measures the token module's ops; `--mix dex` a chain of DEX
//! traffic only (`--ops-per-block` DEX transactions per block: sells, memo and Layer-2
//! buys, cancels, some invalid) through token, multisig and the DEX, counting DEX order ops;
//! `--mix nft` a chain of NFT traffic only (`--ops-per-block` NFT transactions per block:
//! definitions, mints, gifts, sales, auctions, reserved transfers, melts, cancels, some
//! invalid) through token and the NFT module, counting NFT ops (those the NFT module owns
//! and those the token module escrows for it).

use crate::backends::{load_spec, open_embedded};
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
    let sim_config = opentoken_registry::sim_config(&spec, shape, traffic);
    let first = spec.starting_block.max(1);
    eprintln!("generating {} blocks ...", args.blocks);
    let blocks: Vec<Block> = opentoken_hive::generate_blocks(&sim_config, first..=first + args.blocks - 1)
        .map_err(|e| anyhow::anyhow!("generating the benchmark chain: {e}"))?;

    // 1. State machine alone: the token mix runs the token module's ops; the DEX and NFT
    // mixes every module's (the DEX's orders arrive through token and multisig, the NFT
    // module's payments through token).
    let modules = opentoken_registry::modules(&spec)?;
    let tables: Vec<&dyn RouteTable> = modules.iter().map(|m| -> &dyn RouteTable { m.as_ref() }).collect();
    let router = Router::new(&spec, tables);
    let mut routed: Vec<(u64, u64, BTreeMap<String, Vec<RoutedOp>>)> = Vec::with_capacity(blocks.len());
    let mut counted = 0u64;
    for block in &blocks {
        let mut by_module: BTreeMap<String, Vec<RoutedOp>> = BTreeMap::new();
        for (ti, tx) in block.transactions.iter().enumerate() {
            for (oi, op) in tx.operations.iter().enumerate() {
                let Some(module) = router.route(op) else { continue };
                if args.mix == Mix::Token && module != "token" {
                    continue;
                }
                counted += match args.mix {
                    Mix::Token => 1,
                    Mix::Dex => u64::from(is_dex_op(&spec, op)),
                    Mix::Nft => u64::from(is_nft_op(&spec, module, op)),
                };
                by_module.entry(module.to_string()).or_default().push(RoutedOp {
                    pos: ChainPos::new(block.num, ti as u32, oi as u32),
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
    engine.genesis()?;
    let started = Instant::now();
    let mut rejected = 0u64;
    let mut nft_events: BTreeMap<String, u64> = BTreeMap::new();
    for ((num, ts, ops), block) in routed.iter().zip(&blocks) {
        let by_module: BTreeMap<&str, &[RoutedOp]> = ops.iter().map(|(m, o)| (m.as_str(), o.as_slice())).collect();
        // Chron work at a checkpoint block sees its id, as a processor tells it (NFT mints
        // are drawn with it).
        engine.note_checkpoint_header(*num, &block.id, block.timestamp);
        let out = engine.process_block(*num, *ts, &by_module)?;
        rejected += out
            .statuses
            .iter()
            .filter(|s| matches!(s.outcome, opentoken_core::Outcome::Rejected { .. }))
            .count() as u64;
        if args.mix == Mix::Nft {
            for e in out.events.iter().filter(|e| e.module == opentoken_nft::NAME) {
                *nft_events.entry(e.kind.clone()).or_default() += 1;
            }
        }
    }
    let state_machine = started.elapsed().as_secs_f64();
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
    let started = Instant::now();
    let mut publisher = Publisher::open(spec.clone(), opentoken_registry::route_tables(&modules), log.clone())?;
    for chunk in blocks.chunks(1000) {
        publisher.publish(chunk)?;
    }
    let publish = started.elapsed().as_secs_f64();
    let config = ProcessorConfig {
        commit_every_blocks: args.commit_every,
        until_block: Some(first + args.blocks - 1),
        ..Default::default()
    };
    let mut processor = Processor::open(
        spec.clone(),
        opentoken_registry::modules(&spec)?,
        log,
        store,
        config,
        Arc::new(Telemetry::new()),
    )?;
    let processing = Instant::now();
    while processor.step()? != Step::Done {}
    let process = processing.elapsed().as_secs_f64();
    let total = started.elapsed().as_secs_f64();

    let unit = match args.mix {
        Mix::Token => "token ops",
        Mix::Dex => "DEX order ops",
        Mix::Nft => "NFT ops",
    };
    println!(
        "opentoken bench: {} blocks, {} {unit} ({} ops rejected in all), seed {}",
        args.blocks, token_ops, rejected, args.seed
    );
    if let Some(s) = dex_summary {
        println!("DEX: {s}");
    }
    if let Some(s) = nft_summary {
        println!("NFT: {s}");
    }
    println!("| measurement | seconds | {unit}/s | blocks/s |");
    println!("|---|---|---|---|");
    let row = |name: &str, secs: f64| {
        println!(
            "| {name} | {secs:.3} | {:.0} | {:.0} |",
            token_ops as f64 / secs,
            args.blocks as f64 / secs
        );
    };
    row("state machine alone (engine, in memory)", state_machine);
    row("embedded: publish to log", publish);
    row(
        &format!("embedded: process + commit (every {} blocks)", args.commit_every),
        process,
    );
    row("embedded end to end (publish + process + commit)", total);
    if let Some(brokers) = &args.kafka_brokers {
        kafka_bench(&args, brokers, &spec, &blocks, token_ops)?;
    }
    Ok(())
}

/// Processor throughput in Kafka mode relative to the fastest a consumer can read the same
/// topic: a bare rdkafka consumer that only counts bytes.
fn kafka_bench(args: &BenchArgs, brokers: &str, spec: &ChainSpec, blocks: &[Block], token_ops: u64) -> Result<()> {
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
    let started = Instant::now();
    let mut publisher = Publisher::open(spec.clone(), opentoken_registry::route_tables(&modules), log.clone())?;
    for chunk in blocks.chunks(1000) {
        publisher.publish(chunk)?;
    }
    let publish = started.elapsed().as_secs_f64();
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

    // The processor over the same topic, committing to a fresh embedded store.
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let (_, store) = open_embedded(dir.path(), 0)?;
    let first = spec.starting_block.max(1);
    let config = ProcessorConfig {
        commit_every_blocks: args.commit_every,
        until_block: Some(first + args.blocks - 1),
        ..Default::default()
    };
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
    println!(
        "| kafka: publish to the broker | {publish:.3} | {:.0} | {:.0} |",
        token_ops as f64 / publish,
        args.blocks as f64 / publish
    );
    println!(
        "| kafka: bare rdkafka consumer ({records} records, {bytes} bytes) | {bare:.3} | {:.0} | {:.0} |",
        token_ops as f64 / bare,
        args.blocks as f64 / bare
    );
    println!(
        "| kafka: processor (read + process + commit every {}) | {process:.3} | {:.0} | {:.0} |",
        args.commit_every,
        token_ops as f64 / process,
        args.blocks as f64 / process
    );
    println!(
        "processor / bare consumer throughput ratio: {:.2} (goal >= 0.5)",
        bare / process
    );
    Ok(())
}
