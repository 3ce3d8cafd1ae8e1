//! Wiring of the roles onto the embedded backends.

use crate::{devnet, Common, Listen};
use anyhow::{anyhow, Context, Result};
use clap::Args;
use opentoken_checkpointer::{Checkpointer, NodeKey};
use opentoken_core::engine::ErasedModule;
use opentoken_core::router::RouteTable;
use opentoken_core::ChainSpec;
use opentoken_hive::HiveClient;
use opentoken_ingester::{IngesterConfig, Publisher};
use opentoken_log::Log;
use opentoken_processor::{Processor, ProcessorConfig, Step};
use opentoken_store::Store;
use opentoken_telemetry::Telemetry;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The modules this build runs. Modules only affect each other through messages delivered
/// at the next block (in source-name order), so the order here changes no result.
pub fn modules(spec: &ChainSpec) -> Result<Vec<Arc<dyn ErasedModule>>> {
    let token =
        opentoken_token::TokenModule::from_spec(spec).context("token module configuration in the chain spec")?;
    let nodes =
        opentoken_nodes::NodesModule::from_spec(spec).context("nodes module configuration in the chain spec")?;
    Ok(vec![Arc::new(token), Arc::new(nodes)])
}

/// The message links of a processor running `local` (see [`MessageLinks::between`]).
pub fn message_links(all: &[Arc<dyn ErasedModule>], local: &[String]) -> Option<opentoken_processor::MessageLinks> {
    opentoken_processor::MessageLinks::between(all, local)
}

pub fn route_tables(modules: &[Arc<dyn ErasedModule>]) -> Vec<Arc<dyn RouteTable>> {
    modules.iter().map(|m| Arc::clone(m) as Arc<dyn RouteTable>).collect()
}

pub fn load_spec(path: &Path) -> Result<Arc<ChainSpec>> {
    Ok(Arc::new(
        ChainSpec::load(path).with_context(|| format!("loading chain spec {}", path.display()))?,
    ))
}

/// The embedded backends: one database file in the data directory.
pub fn open_embedded(data_dir: &Path) -> Result<(Arc<dyn Log>, Arc<dyn Store>)> {
    open_embedded_keeping(data_dir, 0)
}

/// [`open_embedded`], keeping whole-state snapshots of the last `keep` checkpoints.
pub fn open_embedded_keeping(data_dir: &Path, keep: usize) -> Result<(Arc<dyn Log>, Arc<dyn Store>)> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let db = opentoken_log::embedded::open_database(&data_dir.join("opentoken.redb"))?;
    let log = opentoken_log::EmbeddedLog::new(db.clone())?;
    let store = opentoken_store::EmbeddedStore::new(db)?.keep_snapshots(keep);
    Ok((Arc::new(log), Arc::new(store)))
}

#[derive(Args, Clone, Debug)]
pub struct HiveArgs {
    /// Hive API nodes (JSON-RPC), tried in order with failover.
    #[arg(long = "hive-api", env = "OPENTOKEN_HIVE_API", value_delimiter = ',')]
    pub hive_api: Vec<String>,
    /// Follow the head block instead of the last irreversible one (forks can then undo ops).
    #[arg(long)]
    pub follow_head: bool,
    /// Blocks per `get_block_range` request (at most 1000).
    #[arg(long, default_value_t = 1000)]
    pub fetch_batch: u32,
}

#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub listen: Listen,
    #[command(flatten)]
    pub hive: HiveArgs,
    /// Start a local Hive simulator in this process and follow it (no Hive needed).
    #[arg(long)]
    pub devnet: bool,
    #[command(flatten)]
    pub sim: devnet::SimArgs,
    /// Stop once this block is processed and reported.
    #[arg(long)]
    pub until_block: Option<u64>,
    /// Group-commit after this many blocks.
    #[arg(long, default_value_t = 1000)]
    pub commit_every: u64,
    /// This node's Hive account (named in reports).
    #[arg(long, env = "OPENTOKEN_NODE_ACCOUNT", default_value = "")]
    pub node_account: String,
    /// The node account's active key (WIF). With it (and --node-account) the node takes
    /// part in consensus: it registers, broadcasts its reports and follows finality.
    #[arg(long, env = "OPENTOKEN_HIVE_ACTIVE_KEY", hide_env_values = true)]
    pub hive_active_key: Option<String>,
    /// The public URL of this node's API, registered on chain; peers fetch snapshots from
    /// it. Default: http://<--listen>.
    #[arg(long, env = "OPENTOKEN_NODE_DOMAIN")]
    pub domain: Option<String>,
    /// Whole-state snapshots of this many recent checkpoints are kept (what the node and
    /// its peers recover from when out of consensus); 0 keeps none.
    #[arg(long, env = "OPENTOKEN_KEEP_SNAPSHOTS", default_value_t = 4)]
    pub keep_snapshots: usize,
    /// Print a balance line for these accounts every few seconds.
    #[arg(long, value_delimiter = ',')]
    pub watch: Vec<String>,
}

#[derive(Args, Clone, Debug)]
pub struct IngestArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub hive: HiveArgs,
    #[arg(long)]
    pub until_block: Option<u64>,
    /// Serve /healthz, /readyz and /metrics here.
    #[arg(long, env = "OPENTOKEN_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Args, Clone, Debug)]
pub struct ProcessArgs {
    #[command(flatten)]
    pub common: Common,
    /// The module to run.
    #[arg(long, env = "OPENTOKEN_MODULE", default_value = "token")]
    pub module: String,
    #[arg(long)]
    pub until_block: Option<u64>,
    #[arg(long, env = "OPENTOKEN_COMMIT_EVERY", default_value_t = 1000)]
    pub commit_every: u64,
    /// Serve /healthz, /readyz and /metrics here.
    #[arg(long, env = "OPENTOKEN_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Args, Clone, Debug)]
pub struct TopicsArgs {
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Clone, Debug)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, env = "OPENTOKEN_NODE_ACCOUNT", default_value = "")]
    pub node_account: String,
    /// The node account's active key (WIF): with it the checkpointer also takes part in
    /// consensus (registers the node, broadcasts its reports, watches finality).
    #[arg(long, env = "OPENTOKEN_HIVE_ACTIVE_KEY", hide_env_values = true)]
    pub hive_active_key: Option<String>,
    /// Hive API nodes to broadcast through (with --hive-active-key).
    #[arg(long = "hive-api", env = "OPENTOKEN_HIVE_API", value_delimiter = ',')]
    pub hive_api: Vec<String>,
    /// This node's API (`opentoken serve`), where the nodes module's state is read from.
    #[arg(long, env = "OPENTOKEN_STATE_API")]
    pub state_api: Option<String>,
    /// The public URL of this node's API, registered on chain (default: --state-api).
    #[arg(long, env = "OPENTOKEN_NODE_DOMAIN")]
    pub domain: Option<String>,
    /// Stop once this checkpoint is reported.
    #[arg(long)]
    pub until_block: Option<u64>,
    /// Serve /healthz, /readyz and /metrics here.
    #[arg(long, env = "OPENTOKEN_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub listen: Listen,
    #[arg(long, env = "OPENTOKEN_NODE_ACCOUNT", default_value = "")]
    pub node_account: String,
}

/// Resolves on Ctrl-C or SIGTERM (what Kubernetes and systemd send), naming which.
pub async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "Ctrl-C",
                _ = term.recv() => "SIGTERM",
            },
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); only Ctrl-C stops the node cleanly");
                let _ = tokio::signal::ctrl_c().await;
                "Ctrl-C"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Sets `stop` on Ctrl-C or SIGTERM; the roles finish their current commit and exit.
fn stop_on_ctrl_c(stop: Arc<AtomicBool>) {
    tokio::spawn(async move {
        let which = shutdown_signal().await;
        tracing::info!("stopping ({which}): finishing the current commit");
        stop.store(true, Ordering::Relaxed);
    });
}

async fn bind_api(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the API to {addr}; is the port in use? (--listen)"))
}

async fn serve_api(
    state: opentoken_api::ApiState,
    listener: tokio::net::TcpListener,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    let app = opentoken_api::router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .context("API server")
}

fn hive_client(urls: &[String]) -> Result<HiveClient> {
    if urls.is_empty() {
        return Err(anyhow!(
            "no Hive API node given: pass --hive-api URL (or --devnet for a local simulator)"
        ));
    }
    Ok(HiveClient::new(urls.to_vec())?)
}

fn key_path(common: &Common) -> std::path::PathBuf {
    common.data_dir.join("node.key")
}

/// One line of progress every few seconds (a log line: the node runs as a service).
struct ProgressLine {
    last: Instant,
    last_block: u64,
}

impl ProgressLine {
    fn tick(&mut self, block: u64, telemetry: &Telemetry) {
        if self.last.elapsed() < Duration::from_secs(5) {
            return;
        }
        let secs = self.last.elapsed().as_secs_f64();
        let rate = (block.saturating_sub(self.last_block)) as f64 / secs;
        let head = telemetry.get("opentoken_hive_head_block").unwrap_or(0.0) as u64;
        tracing::info!(
            block,
            behind = head.saturating_sub(block),
            blocks_per_sec = format!("{rate:.1}"),
            "processing"
        );
        telemetry.gauge_set(
            "opentoken_blocks_per_second",
            "Blocks processed per second (last interval)",
            rate,
        );
        self.last = Instant::now();
        self.last_block = block;
    }
}

/// Fault injection for the consensus tests: `OPENTOKEN_FAULT_CORRUPT_STATE_AT=<block>` writes
/// one stray key into the token module's state once the processor has passed that block (as
/// a memory or software fault would), once per process. Never set it on a real node.
fn fault_block() -> Option<u64> {
    std::env::var("OPENTOKEN_FAULT_CORRUPT_STATE_AT").ok()?.parse().ok()
}

pub async fn run(a: RunArgs) -> Result<()> {
    let spec = load_spec(&a.common.chain)?;
    let (log, store) = open_embedded_keeping(&a.common.data_dir, a.keep_snapshots)?;
    let listener = bind_api(a.listen.listen).await?;
    let telemetry = Arc::new(Telemetry::new());
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_ctrl_c(stop.clone());

    let mut urls = a.hive.hive_api.clone();
    let _sim = if a.devnet {
        let sim = devnet::start(&spec, &a.sim).await?;
        println!("Hive simulator: {}", sim.url());
        urls.insert(0, sim.url());
        Some(sim)
    } else {
        None
    };
    let client = hive_client(&urls)?;
    let modules = modules(&spec)?;
    let names: Vec<String> = modules.iter().map(|m| m.module_name().to_string()).collect();
    telemetry.register("processor", "loading state");

    let publisher = Publisher::open(spec.clone(), route_tables(&modules), log.clone())?;
    let icfg = IngesterConfig {
        batch: a.hive.fetch_batch,
        follow_head: a.hive.follow_head,
        poll: Duration::from_millis(500),
        until_block: a.until_block,
    };
    let ingest = tokio::spawn(opentoken_ingester::run(
        publisher,
        client,
        icfg,
        telemetry.clone(),
        stop.clone(),
    ));

    let key = NodeKey::load_or_create(&key_path(&a.common))?;
    tracing::info!(public_key = %key.public_hex(), "node report key");
    let pcfg = ProcessorConfig {
        commit_every_blocks: a.commit_every.max(1),
        until_block: a.until_block,
        ..Default::default()
    };
    let (p_spec, p_log, p_store, p_tel, p_stop) = (
        spec.clone(),
        log.clone(),
        store.clone(),
        telemetry.clone(),
        stop.clone(),
    );
    let node_account = a.node_account.clone();
    let recovery: opentoken_consensus::RecoverySlot = Default::default();
    let p_recovery = recovery.clone();
    let agent_modules = names.clone();
    let fault_at = fault_block();
    let worker = tokio::task::spawn_blocking(move || -> Result<()> {
        let open_checkpointer = |key: NodeKey| {
            Checkpointer::open(
                p_spec.clone(),
                names.clone(),
                opentoken_checkpointer::HashSource::Store(p_store.clone()),
                p_log.clone(),
                key,
                node_account.clone(),
                VERSION.to_string(),
                p_tel.clone(),
            )
        };
        let open_processor = || {
            Processor::open(
                p_spec.clone(),
                modules.clone(),
                p_log.clone(),
                p_store.clone(),
                pcfg.clone(),
                p_tel.clone(),
            )
        };
        let mut processor = open_processor()?;
        let mut checkpointer = open_checkpointer(key.clone())?;
        p_tel.set_ready("processor");
        let mut progress = ProgressLine {
            last: Instant::now(),
            last_block: processor.last_block().unwrap_or(0),
        };
        let mut fault_pending = fault_at;
        while !p_stop.load(Ordering::Relaxed) {
            let restore = p_recovery.lock().unwrap_or_else(|p| p.into_inner()).pending.take();
            if let Some(r) = restore {
                drop(processor);
                p_store
                    .restore(&r)
                    .with_context(|| format!("restoring the verified snapshot of checkpoint {}", r.block))?;
                let reports_end = p_log.end_offset(&p_spec.reports_topic())?;
                processor = open_processor()?;
                checkpointer = open_checkpointer(key.clone())?;
                checkpointer.resume_after(r.block);
                p_recovery.lock().unwrap_or_else(|p| p.into_inner()).applied = Some((r.block, reports_end));
                tracing::warn!(block = r.block, "restored a verified snapshot; re-processing from it");
            }
            let step = processor.step()?;
            if let (Some(at), Some(done)) = (fault_pending, processor.last_block()) {
                if done >= at {
                    if let Some(slot) = processor.engine_mut().slot_mut("token") {
                        opentoken_core::StateWrite::put(
                            &mut slot.state,
                            b"fault/injected".to_vec(),
                            done.to_be_bytes().to_vec(),
                        );
                        tracing::warn!(
                            block = done,
                            "OPENTOKEN_FAULT_CORRUPT_STATE_AT: token state corrupted on purpose"
                        );
                    }
                    fault_pending = None;
                }
            }
            checkpointer.step()?;
            match step {
                Step::Done => {
                    tracing::info!(block = ?processor.last_block(), "reached --until-block");
                    break;
                }
                Step::Idle => std::thread::sleep(pcfg.idle_poll),
                Step::Advanced(b) => progress.tick(b, &p_tel),
            }
        }
        processor.flush()?;
        checkpointer.step()?;
        Ok(())
    });

    let api_state = opentoken_api::ApiState {
        spec: spec.clone(),
        store: store.clone(),
        log: log.clone(),
        telemetry: telemetry.clone(),
        node: a.node_account.clone(),
        version: VERSION.to_string(),
        modules: agent_modules.clone(),
    };
    let api_addr = listener.local_addr()?;
    println!(
        "API: http://{api_addr}/  (try /stats, /@alice, /api/status/<txid>, /report/latest, /consensus, /metrics)"
    );
    // On the built-in devnet the simulator knows every account's key: the node account's
    // is derived the same way, so `run --devnet --node-account X` takes part in consensus.
    let hive_key = match (&a.hive_active_key, a.devnet && !a.node_account.is_empty()) {
        (Some(wif), _) => Some(
            opentoken_hive_tx::PrivateKey::from_wif(wif)
                .map_err(|e| anyhow!("--hive-active-key is not a valid WIF private key: {e}"))?,
        ),
        (None, true) => Some(opentoken_hive::devnet_key(
            &a.node_account,
            opentoken_hive::KeyRole::Active,
        )),
        (None, false) => None,
    };
    if let Some(hive_key) = hive_key {
        if a.node_account.is_empty() {
            return Err(anyhow!(
                "--hive-active-key needs --node-account (the account it is the key of)"
            ));
        }
        let bc = opentoken_consensus::Broadcaster::new(
            Arc::new(hive_client(&urls)?),
            a.node_account.clone(),
            hive_key,
            spec.hive_chain_id(),
        );
        let agent = opentoken_consensus::Agent::new(
            spec.clone(),
            opentoken_consensus::AgentConfig {
                account: a.node_account.clone(),
                domain: a.domain.clone().unwrap_or_else(|| format!("http://{api_addr}")),
                version: VERSION.to_string(),
                modules: agent_modules,
                poll: Duration::from_millis(500),
            },
            opentoken_consensus::NodesSource::Store(store.clone()),
            log.clone(),
            NodeKey::load_or_create(&key_path(&a.common))?,
            bc,
            telemetry.clone(),
            Some(recovery),
        )?;
        tokio::spawn(agent.run(stop.clone()));
    } else {
        tracing::info!("no --node-account/--hive-active-key: following the chain without taking part in consensus");
    }
    let api = tokio::spawn(serve_api(api_state, listener, stop.clone()));
    if !a.watch.is_empty() {
        tokio::spawn(watch_balances(store.clone(), a.watch.clone(), stop.clone()));
    }

    let result = worker.await.context("processor thread")?;
    stop.store(true, Ordering::Relaxed);
    let ingest_result = ingest.await.context("ingester task")?;
    let api_result = api.await.context("API task")?;
    result?;
    ingest_result?;
    api_result?;
    Ok(())
}

/// Prints the watched accounts' balances whenever they change: the quickest way to see the
/// node doing its job on a terminal.
async fn watch_balances(store: Arc<dyn Store>, accounts: Vec<String>, stop: Arc<AtomicBool>) {
    let mut last = String::new();
    while !stop.load(Ordering::Relaxed) {
        let Some(block) = store.progress("token").ok().flatten().map(|p| p.block) else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        let mut line = String::new();
        for acct in &accounts {
            if let Ok(v) = opentoken_token::account_view(
                &opentoken_store::ModuleKv {
                    store: store.as_ref(),
                    module: "token",
                },
                acct,
            ) {
                line.push_str(&format!(
                    "  @{acct}: {} liquid / {} power / {} gov",
                    v.balance, v.poweredUp, v.gov
                ));
            }
        }
        if line != last {
            println!("block {block}:{line}");
            last = line;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

/// The log and store a role uses: the embedded pair in one database, or Kafka for the log
/// with the store in --data-dir.
pub struct Backends {
    pub log: Arc<dyn Log>,
    /// Opened only for roles that keep state.
    pub store: Option<Arc<dyn Store>>,
    pub distributed: bool,
}

fn kafka_log(brokers: &str, role: &str, spec: &ChainSpec) -> Result<opentoken_log::KafkaLog> {
    let cfg = opentoken_log::KafkaConfig::new(brokers, format!("{}.{role}", spec.name));
    opentoken_log::KafkaLog::new(cfg, opentoken_codec::schema_name_of)
        .with_context(|| format!("setting up the Kafka client for {brokers}"))
}

fn topic_specs(common: &Common, spec: &ChainSpec) -> Result<Vec<opentoken_log::kafka::TopicSpec>> {
    let text = match &common.kafka_topics {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading topic definitions {}", p.display()))?,
        None => opentoken_log::kafka::DEFAULT_TOPICS.to_string(),
    };
    let defs = opentoken_log::kafka::TopicDefinitions::parse(&text)?;
    let mods = modules(spec)?;
    let names: Vec<&str> = mods.iter().map(|m| m.module_name()).collect();
    Ok(defs.expand(&spec.name, &names))
}

/// Retries `f` while the log is unavailable, with backoff, reporting `component` not ready
/// meanwhile; any other error is returned. `None` when stopped while waiting.
fn with_retry<T, E: std::fmt::Display>(
    what: &str,
    component: &str,
    telemetry: &Telemetry,
    stop: &AtomicBool,
    retryable: impl Fn(&E) -> bool,
    mut f: impl FnMut() -> Result<T, E>,
) -> Result<Option<T>, E> {
    let mut backoff = Duration::from_millis(200);
    loop {
        match f() {
            Ok(v) => return Ok(Some(v)),
            Err(e) if retryable(&e) => {
                telemetry.set_not_ready(component, format!("{what}: {e}"));
                telemetry.counter_add(
                    "opentoken_log_retries_total",
                    "Retries while the log was unavailable",
                    1,
                );
                tracing::warn!(error = %e, "{what} failed; retrying in {backoff:?}");
                let until = Instant::now() + backoff;
                while Instant::now() < until {
                    if stop.load(Ordering::Relaxed) {
                        return Ok(None);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e),
        }
    }
}

fn log_unavailable(e: &opentoken_log::LogError) -> bool {
    matches!(e, opentoken_log::LogError::Unavailable(_))
}

/// Opens the backends of `role`; with Kafka, creates the topics first (waiting for the
/// broker if it is not up yet).
pub fn open_backends(
    common: &Common,
    role: &str,
    spec: &ChainSpec,
    need_store: bool,
    telemetry: &Telemetry,
    stop: &AtomicBool,
) -> Result<Backends> {
    let Some(brokers) = &common.kafka_brokers else {
        if common.scylla_uri.is_some() {
            return Err(anyhow!(
                "--scylla-uri needs --kafka-brokers: the ScyllaDB store is for the distributed mode"
            ));
        }
        let (log, store) = open_embedded(&common.data_dir)?;
        return Ok(Backends {
            log,
            store: Some(store),
            distributed: false,
        });
    };
    let log = kafka_log(brokers, role, spec)?;
    let topics = topic_specs(common, spec)?;
    let created = with_retry("creating Kafka topics", role, telemetry, stop, log_unavailable, || {
        log.ensure_topics(&topics)
    })?
    .ok_or_else(|| anyhow!("stopped while waiting for the Kafka broker at {brokers}"))?;
    if !created.is_empty() {
        tracing::info!(?created, "created Kafka topics");
    }
    let store: Option<Arc<dyn Store>> = if let (true, Some(uri)) = (need_store, &common.scylla_uri) {
        let cfg = opentoken_store::ScyllaConfig::from_uri(uri)?;
        Some(Arc::new(
            opentoken_store::ScyllaStore::connect(&cfg).with_context(|| format!("connecting to ScyllaDB at {uri}"))?,
        ))
    } else if need_store {
        std::fs::create_dir_all(&common.data_dir)
            .with_context(|| format!("creating data directory {}", common.data_dir.display()))?;
        let db = opentoken_log::embedded::open_database(&common.data_dir.join("opentoken.redb"))?;
        Some(Arc::new(opentoken_store::EmbeddedStore::new(db)?))
    } else {
        None
    };
    Ok(Backends {
        log: Arc::new(log),
        store,
        distributed: true,
    })
}

fn required_store(b: &Backends) -> Result<Arc<dyn Store>> {
    b.store
        .clone()
        .ok_or_else(|| anyhow!("internal: this role needs a store"))
}

async fn serve_probes(
    listen: Option<std::net::SocketAddr>,
    telemetry: Arc<Telemetry>,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    let Some(addr) = listen else { return Ok(()) };
    let listener = bind_api(addr).await?;
    tracing::info!("health, readiness and metrics on http://{}/", listener.local_addr()?);
    let app = opentoken_api::probes_router(telemetry);
    tokio::spawn(async move {
        let r = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "probe server failed");
        }
    });
    Ok(())
}

pub async fn topics(a: TopicsArgs) -> Result<()> {
    let spec = load_spec(&a.common.chain)?;
    let brokers = a
        .common
        .kafka_brokers
        .clone()
        .ok_or_else(|| anyhow!("`opentoken topics` needs --kafka-brokers (or OPENTOKEN_KAFKA_BROKERS)"))?;
    let specs = topic_specs(&a.common, &spec)?;
    tokio::task::spawn_blocking(move || -> Result<()> {
        let log = kafka_log(&brokers, "topics", &spec)?;
        let created = log.ensure_topics(&specs)?;
        for t in &specs {
            let state = if created.contains(&t.name) { "created" } else { "exists" };
            println!("{state:8} {} (partitions {}, {:?})", t.name, t.partitions, t.config);
        }
        Ok(())
    })
    .await?
}

pub async fn ingest(a: IngestArgs) -> Result<()> {
    let spec = load_spec(&a.common.chain)?;
    let telemetry = Arc::new(Telemetry::new());
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_ctrl_c(stop.clone());
    telemetry.register("ingester", "starting");
    serve_probes(a.listen, telemetry.clone(), stop.clone()).await?;
    let modules = modules(&spec)?;
    let (common, t2, s2, spec2) = (a.common.clone(), telemetry.clone(), stop.clone(), spec.clone());
    let publisher = tokio::task::spawn_blocking(move || -> Result<Option<Publisher>> {
        let b = open_backends(&common, "ingester", &spec2, false, &t2, &s2)?;
        let tables = route_tables(&modules);
        Ok(with_retry(
            "reading the ops topics' last records",
            "ingester",
            &t2,
            &s2,
            |e: &opentoken_ingester::IngestError| matches!(e, opentoken_ingester::IngestError::Log(l) if log_unavailable(l)),
            || Publisher::open(spec2.clone(), tables.clone(), b.log.clone()),
        )?)
    })
    .await??;
    let Some(publisher) = publisher else { return Ok(()) };
    let client = hive_client(&a.hive.hive_api)?;
    let cfg = IngesterConfig {
        batch: a.hive.fetch_batch,
        follow_head: a.hive.follow_head,
        until_block: a.until_block,
        ..Default::default()
    };
    opentoken_ingester::run(publisher, client, cfg, telemetry, stop).await?;
    Ok(())
}

/// Drives a processor until stopped or done, waiting out log outages.
fn drive_processor(
    mut p: Processor,
    telemetry: &Telemetry,
    stop: &AtomicBool,
    idle: Duration,
    mut on_advance: impl FnMut(u64),
) -> Result<()> {
    let retryable = |e: &opentoken_processor::ProcessorError| matches!(e, opentoken_processor::ProcessorError::Log(l) if log_unavailable(l));
    telemetry.set_ready("processor");
    while !stop.load(Ordering::Relaxed) {
        let Some(step) = with_retry("processing", "processor", telemetry, stop, retryable, || p.step())? else {
            break;
        };
        telemetry.set_ready("processor");
        match step {
            Step::Done => {
                tracing::info!(block = ?p.last_block(), "reached --until-block");
                break;
            }
            Step::Idle => std::thread::sleep(idle),
            Step::Advanced(b) => on_advance(b),
        }
    }
    // Commit what is processed; on a log outage the unpublished checkpoints are published
    // again by the next start.
    if let Err(e) = p.flush() {
        if retryable(&e) {
            tracing::warn!(error = %e, "stopping with checkpoints not yet published; the next start publishes them");
        } else {
            return Err(e.into());
        }
    }
    Ok(())
}

pub async fn process(a: ProcessArgs) -> Result<()> {
    let spec = load_spec(&a.common.chain)?;
    let telemetry = Arc::new(Telemetry::new());
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_ctrl_c(stop.clone());
    telemetry.register("processor", "loading state");
    serve_probes(a.listen, telemetry.clone(), stop.clone()).await?;
    let all = modules(&spec)?;
    let known: Vec<&str> = all.iter().map(|m| m.module_name()).collect();
    let module = all
        .iter()
        .find(|m| m.module_name() == a.module)
        .cloned()
        .ok_or_else(|| {
            anyhow!(
                "no module named {:?} in this build (known: {})",
                a.module,
                known.join(", ")
            )
        })?;
    let links = message_links(&all, std::slice::from_ref(&a.module));
    tokio::task::spawn_blocking(move || -> Result<()> {
        let b = open_backends(&a.common, "processor", &spec, true, &telemetry, &stop)?;
        let cfg = ProcessorConfig {
            commit_every_blocks: a.commit_every.max(1),
            until_block: a.until_block,
            checkpoints_topic: b.distributed.then(|| spec.checkpoints_topic()),
            consumer_group: b.distributed.then(|| format!("{}.processor.{}", spec.name, a.module)),
            links,
            ..Default::default()
        };
        let store = required_store(&b)?;
        let idle = cfg.idle_poll;
        let opened = with_retry(
            "opening the processor",
            "processor",
            &telemetry,
            &stop,
            |e: &opentoken_processor::ProcessorError| {
                matches!(e, opentoken_processor::ProcessorError::Log(l) if log_unavailable(l))
            },
            || {
                Processor::open(
                    spec.clone(),
                    vec![module.clone()],
                    b.log.clone(),
                    store.clone(),
                    cfg.clone(),
                    telemetry.clone(),
                )
            },
        )?;
        let Some(p) = opened else { return Ok(()) };
        let mut progress = ProgressLine {
            last: Instant::now(),
            last_block: p.last_block().unwrap_or(0),
        };
        drive_processor(p, &telemetry, &stop, idle, |b| progress.tick(b, &telemetry))
    })
    .await??;
    Ok(())
}

pub async fn checkpoint(a: CheckpointArgs) -> Result<()> {
    let spec = load_spec(&a.common.chain)?;
    let telemetry = Arc::new(Telemetry::new());
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_ctrl_c(stop.clone());
    telemetry.register("checkpointer", "starting");
    serve_probes(a.listen, telemetry.clone(), stop.clone()).await?;
    let names: Vec<String> = modules(&spec)?.iter().map(|m| m.module_name().to_string()).collect();
    let key = NodeKey::load_or_create(&key_path(&a.common))?;
    let agent = match &a.hive_active_key {
        None => None,
        Some(wif) => {
            if a.node_account.is_empty() {
                return Err(anyhow!(
                    "--hive-active-key needs --node-account (the account it is the key of)"
                ));
            }
            let state_api = a.state_api.clone().ok_or_else(|| {
                anyhow!("--hive-active-key needs --state-api: the URL of this node's `opentoken serve`")
            })?;
            let hive_key = opentoken_hive_tx::PrivateKey::from_wif(wif)
                .map_err(|e| anyhow!("--hive-active-key is not a valid WIF private key: {e}"))?;
            let bc = opentoken_consensus::Broadcaster::new(
                Arc::new(hive_client(&a.hive_api)?),
                a.node_account.clone(),
                hive_key,
                spec.hive_chain_id(),
            );
            Some((bc, state_api))
        }
    };
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let distributed = a.common.kafka_brokers.is_some();
        let b = open_backends(&a.common, "checkpointer", &spec, !distributed, &telemetry, &stop)?;
        let source = || match &b.store {
            Some(store) => opentoken_checkpointer::HashSource::Store(store.clone()),
            None => opentoken_checkpointer::HashSource::topic(spec.checkpoints_topic()),
        };
        let retryable = |e: &opentoken_checkpointer::CheckpointError| {
            matches!(e, opentoken_checkpointer::CheckpointError::Log(l) if log_unavailable(l))
        };
        let opened = with_retry("opening the checkpointer", "checkpointer", &telemetry, &stop, retryable, || {
            Checkpointer::open(
                spec.clone(),
                names.clone(),
                source(),
                b.log.clone(),
                key.clone(),
                a.node_account.clone(),
                VERSION.to_string(),
                telemetry.clone(),
            )
        })?;
        let Some(mut c) = opened else { return Ok(()) };
        if let Some((bc, state_api)) = agent {
            let agent = opentoken_consensus::Agent::new(
                spec.clone(),
                opentoken_consensus::AgentConfig {
                    account: a.node_account.clone(),
                    domain: a.domain.clone().unwrap_or_else(|| state_api.clone()),
                    version: VERSION.to_string(),
                    modules: names.clone(),
                    poll: Duration::from_millis(500),
                },
                opentoken_consensus::NodesSource::Api(state_api),
                b.log.clone(),
                key.clone(),
                bc,
                telemetry.clone(),
                None,
            )?;
            runtime.spawn(agent.run(stop.clone()));
        }
        telemetry.set_ready("checkpointer");
        while !stop.load(Ordering::Relaxed) {
            if with_retry("checkpointing", "checkpointer", &telemetry, &stop, retryable, || c.step())?.is_none() {
                break;
            }
            telemetry.set_ready("checkpointer");
            if a.until_block.is_some_and(|u| c.last_reported().is_some_and(|l| l >= u)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        Ok(())
    })
    .await??;
    Ok(())
}

pub async fn serve(a: ServeArgs) -> Result<()> {
    let spec = load_spec(&a.common.chain)?;
    let telemetry = Arc::new(Telemetry::new());
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_ctrl_c(stop.clone());
    let listener = bind_api(a.listen.listen).await?;
    let (common, t2, s2, spec2) = (a.common.clone(), telemetry.clone(), stop.clone(), spec.clone());
    let b = tokio::task::spawn_blocking(move || open_backends(&common, "api", &spec2, true, &t2, &s2)).await??;
    let store = required_store(&b)?;
    // With Kafka and embedded stores, the processors' stores are theirs alone: the API keeps
    // its own replica, built from the same topics by the same deterministic engine. With
    // ScyllaDB it reads the processors' projections directly.
    let replica = if b.distributed && a.common.scylla_uri.is_none() {
        telemetry.register("processor", "loading the API's replica");
        let (spec2, log, store2, t2, s2) = (
            spec.clone(),
            b.log.clone(),
            store.clone(),
            telemetry.clone(),
            stop.clone(),
        );
        let mods = modules(&spec)?;
        Some(tokio::task::spawn_blocking(move || -> Result<()> {
            let cfg = ProcessorConfig {
                consumer_group: Some(format!("{}.api", spec2.name)),
                ..Default::default()
            };
            let idle = cfg.idle_poll;
            let retryable = |e: &opentoken_processor::ProcessorError| matches!(e, opentoken_processor::ProcessorError::Log(l) if log_unavailable(l));
            let opened = with_retry("opening the API replica", "processor", &t2, &s2, retryable, || {
                Processor::open(
                    spec2.clone(),
                    mods.clone(),
                    log.clone(),
                    store2.clone(),
                    cfg.clone(),
                    t2.clone(),
                )
            })?;
            let Some(p) = opened else { return Ok(()) };
            drive_processor(p, &t2, &s2, idle, |_| {})
        }))
    } else {
        None
    };
    let module_names = modules(&spec)?.iter().map(|m| m.module_name().to_string()).collect();
    let state = opentoken_api::ApiState {
        spec,
        store,
        log: b.log,
        telemetry,
        node: a.node_account,
        version: VERSION.to_string(),
        modules: module_names,
    };
    println!("API: http://{}/", listener.local_addr()?);
    serve_api(state, listener, stop.clone()).await?;
    stop.store(true, Ordering::Relaxed);
    if let Some(r) = replica {
        r.await??;
    }
    Ok(())
}
