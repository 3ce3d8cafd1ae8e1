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

/// The modules this build runs, in their fixed order (the order is part of consensus:
/// it orders message delivery).
pub fn modules(spec: &ChainSpec) -> Result<Vec<Arc<dyn ErasedModule>>> {
    let token =
        opentoken_token::TokenModule::from_spec(spec).context("token module configuration in the chain spec")?;
    Ok(vec![Arc::new(token)])
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
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let db = opentoken_log::embedded::open_database(&data_dir.join("opentoken.redb"))?;
    let log = opentoken_log::EmbeddedLog::new(db.clone())?;
    let store = opentoken_store::EmbeddedStore::new(db)?;
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
}

#[derive(Args, Clone, Debug)]
pub struct ProcessArgs {
    #[command(flatten)]
    pub common: Common,
    /// The module to run.
    #[arg(long, default_value = "token")]
    pub module: String,
    #[arg(long)]
    pub until_block: Option<u64>,
    #[arg(long, default_value_t = 1000)]
    pub commit_every: u64,
}

#[derive(Args, Clone, Debug)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, env = "OPENTOKEN_NODE_ACCOUNT", default_value = "")]
    pub node_account: String,
    /// Stop once this checkpoint is reported.
    #[arg(long)]
    pub until_block: Option<u64>,
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

pub async fn run(a: RunArgs) -> Result<()> {
    let spec = load_spec(&a.common.chain)?;
    let (log, store) = open_embedded(&a.common.data_dir)?;
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
    let worker = tokio::task::spawn_blocking(move || -> Result<()> {
        let mut processor = Processor::open(
            p_spec.clone(),
            modules,
            p_log.clone(),
            p_store.clone(),
            pcfg.clone(),
            p_tel.clone(),
        )?;
        let mut checkpointer = Checkpointer::open(
            p_spec,
            names,
            p_store,
            p_log,
            key,
            node_account,
            VERSION.to_string(),
            p_tel.clone(),
        )?;
        p_tel.set_ready("processor");
        let mut progress = ProgressLine {
            last: Instant::now(),
            last_block: processor.last_block().unwrap_or(0),
        };
        while !p_stop.load(Ordering::Relaxed) {
            let step = processor.step()?;
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
    };
    println!(
        "API: http://{}/  (try /stats, /@alice, /api/status/<txid>, /report/latest, /metrics)",
        listener.local_addr()?
    );
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
    struct Kv<'a>(&'a dyn Store);
    impl opentoken_core::KvSource for Kv<'_> {
        fn kv_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
            self.0.get("token", key).map_err(|e| e.to_string())
        }
        fn kv_scan(&self, prefix: &[u8], limit: usize) -> Result<opentoken_core::state::KvPairs, String> {
            self.0.scan_prefix("token", prefix, limit).map_err(|e| e.to_string())
        }
    }
    let mut last = String::new();
    while !stop.load(Ordering::Relaxed) {
        let Some(block) = store.progress("token").ok().flatten().map(|p| p.block) else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        let mut line = String::new();
        for acct in &accounts {
            if let Ok(v) = opentoken_token::account_view(&Kv(store.as_ref()), acct) {
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

pub async fn ingest(a: IngestArgs) -> Result<()> {
    let spec = load_spec(&a.common.chain)?;
    let (log, _store) = open_embedded(&a.common.data_dir)?;
    let telemetry = Arc::new(Telemetry::new());
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_ctrl_c(stop.clone());
    let modules = modules(&spec)?;
    let publisher = Publisher::open(spec, route_tables(&modules), log)?;
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

pub async fn process(a: ProcessArgs) -> Result<()> {
    let spec = load_spec(&a.common.chain)?;
    let (log, store) = open_embedded(&a.common.data_dir)?;
    let telemetry = Arc::new(Telemetry::new());
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_ctrl_c(stop.clone());
    let module = modules(&spec)?
        .into_iter()
        .find(|m| m.module_name() == a.module)
        .ok_or_else(|| anyhow!("no module named {:?} in this build (known: token)", a.module))?;
    let cfg = ProcessorConfig {
        commit_every_blocks: a.commit_every.max(1),
        until_block: a.until_block,
        ..Default::default()
    };
    tokio::task::spawn_blocking(move || -> Result<()> {
        let mut p = Processor::open(spec, vec![module], log, store, cfg, telemetry)?;
        p.run(&stop)?;
        Ok(())
    })
    .await??;
    Ok(())
}

pub async fn checkpoint(a: CheckpointArgs) -> Result<()> {
    let spec = load_spec(&a.common.chain)?;
    let (log, store) = open_embedded(&a.common.data_dir)?;
    let telemetry = Arc::new(Telemetry::new());
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_ctrl_c(stop.clone());
    let names = modules(&spec)?.iter().map(|m| m.module_name().to_string()).collect();
    let key = NodeKey::load_or_create(&key_path(&a.common))?;
    tokio::task::spawn_blocking(move || -> Result<()> {
        let mut c = Checkpointer::open(
            spec,
            names,
            store,
            log,
            key,
            a.node_account,
            VERSION.to_string(),
            telemetry,
        )?;
        while !stop.load(Ordering::Relaxed) {
            c.step()?;
            if a.until_block.is_some_and(|u| c.last_reported().is_some_and(|l| l >= u)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        Ok(())
    })
    .await??;
    Ok(())
}

pub async fn serve(a: ServeArgs) -> Result<()> {
    let spec = load_spec(&a.common.chain)?;
    let (log, store) = open_embedded(&a.common.data_dir)?;
    let telemetry = Arc::new(Telemetry::new());
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_ctrl_c(stop.clone());
    let state = opentoken_api::ApiState {
        spec,
        store,
        log,
        telemetry,
        node: a.node_account,
        version: VERSION.to_string(),
    };
    let listener = bind_api(a.listen.listen).await?;
    println!("API: http://{}/", listener.local_addr()?);
    serve_api(state, listener, stop).await
}
