//! `opentoken bench`: the figures in the README come from here.
//!
//! Two measurements on one generated chain (deterministic, from the simulator's generator):
//! 1. the token state machine alone (engine over routed ops, in memory);
//! 2. the embedded pipeline end to end: blocks published to the embedded log, processed,
//!    and group-committed to the embedded store (fsync'd), as `opentoken run` does.

use crate::backends::{load_spec, open_embedded};
use anyhow::{Context, Result};
use clap::Args;
use opentoken_core::engine::{Engine, Slot};
use opentoken_core::router::{RouteTable, Router};
use opentoken_core::{Block, ChainPos, ChainSpec, ModuleState, RoutedOp};
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
}

impl BenchArgs {
    pub(crate) async fn execute(self) -> Result<()> {
        tokio::task::spawn_blocking(move || bench(self)).await?
    }
}

fn bench(args: BenchArgs) -> Result<()> {
    let spec = load_spec(&args.chain)?;
    let shape = ChainShape {
        seed: args.seed,
        block_interval: Duration::from_millis(1),
        prefill_blocks: 0,
        irreversible_lag: 0,
    };
    let traffic = opentoken_registry::traffic(&spec, (args.ops_per_block, args.ops_per_block), args.invalid_per_mille);
    let sim_config = opentoken_registry::sim_config(&spec, shape, traffic);
    let first = spec.starting_block.max(1);
    eprintln!("generating {} blocks ...", args.blocks);
    let blocks: Vec<Block> = opentoken_hive::generate_blocks(&sim_config, first..=first + args.blocks - 1)
        .map_err(|e| anyhow::anyhow!("generating the benchmark chain: {e}"))?;

    // 1. State machine alone.
    let modules = opentoken_registry::modules(&spec)?;
    let tables: Vec<&dyn RouteTable> = modules.iter().map(|m| -> &dyn RouteTable { m.as_ref() }).collect();
    let router = Router::new(&spec, tables);
    let mut routed: Vec<(u64, u64, Vec<RoutedOp>)> = Vec::with_capacity(blocks.len());
    let mut token_ops = 0u64;
    for block in &blocks {
        let mut ops = Vec::new();
        for (ti, tx) in block.transactions.iter().enumerate() {
            for (oi, op) in tx.operations.iter().enumerate() {
                if router.route(op) == Some("token") {
                    ops.push(RoutedOp {
                        pos: ChainPos::new(block.num, ti as u32, oi as u32),
                        txid: tx.txid.clone(),
                        op: op.clone(),
                    });
                }
            }
        }
        token_ops += ops.len() as u64;
        routed.push((block.num, block.timestamp, ops));
    }
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
    for (num, ts, ops) in &routed {
        let mut by_module = BTreeMap::new();
        by_module.insert("token", ops.as_slice());
        let out = engine.process_block(*num, *ts, &by_module)?;
        rejected += out
            .statuses
            .iter()
            .filter(|s| matches!(s.outcome, opentoken_core::Outcome::Rejected { .. }))
            .count() as u64;
    }
    let state_machine = started.elapsed().as_secs_f64();

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

    println!(
        "opentoken bench: {} blocks, {} token ops ({} rejected), seed {}",
        args.blocks, token_ops, rejected, args.seed
    );
    println!("| measurement | seconds | token ops/s | blocks/s |");
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
