//! Shared helpers of the cross-service tests in `tests/*.rs`.

use opentoken_core::engine::ErasedModule;
use opentoken_core::router::RouteTable;
use opentoken_core::{Block, ChainSpec, ModuleCheckpoint};
use opentoken_hive::{SimConfig, TrafficConfig};
use opentoken_ingester::Publisher;
use opentoken_log::Log;
use opentoken_processor::{Processor, ProcessorConfig, Step};
use opentoken_store::Store;
use opentoken_telemetry::Telemetry;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn devnet_spec_path() -> PathBuf {
    repo_root().join("infra/chains/devnet.json")
}

pub fn devnet_spec() -> Arc<ChainSpec> {
    Arc::new(ChainSpec::load(&devnet_spec_path()).expect("devnet chain spec loads"))
}

/// The `opentoken` binary built by `make test` (cargo builds it before the tests run).
pub fn bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let p = target.join("debug/opentoken");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build -p opentoken` first (make test does)",
        p.display()
    );
    p
}

/// The binary's module registry (same order: it is part of consensus).
pub fn modules(spec: &ChainSpec) -> Vec<Arc<dyn ErasedModule>> {
    vec![
        Arc::new(opentoken_token::TokenModule::from_spec(spec).expect("token config")),
        Arc::new(opentoken_nodes::NodesModule::from_spec(spec).expect("nodes config")),
    ]
}

pub fn tables(modules: &[Arc<dyn ErasedModule>]) -> Vec<Arc<dyn RouteTable>> {
    modules.iter().map(|m| Arc::clone(m) as Arc<dyn RouteTable>).collect()
}

pub fn sim_config(spec: &ChainSpec, seed: u64, ops: (u32, u32), invalid_per_mille: u32) -> SimConfig {
    let genesis = &spec.modules["token"]["genesis"];
    let mut accounts: Vec<String> = genesis["balances"]
        .as_object()
        .expect("balances")
        .keys()
        .cloned()
        .collect();
    accounts.sort();
    let nodes = genesis["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    SimConfig {
        seed,
        first_block: spec.starting_block.max(1),
        block_interval: Duration::from_millis(10),
        prefill_blocks: 0,
        irreversible_lag: 0,
        traffic: TrafficConfig {
            prefix: spec.prefix.clone(),
            accounts,
            nodes,
            delegation_account: spec.delegation_account.clone(),
            ops_per_block: ops,
            invalid_per_mille,
        },
    }
}

pub fn generate(spec: &ChainSpec, seed: u64, blocks: u64) -> Vec<Block> {
    let cfg = sim_config(spec, seed, (0, 8), 150);
    let first = spec.starting_block.max(1);
    (first..first + blocks)
        .map(|n| opentoken_hive::generate_block(&cfg, n))
        .collect()
}

pub fn open(dir: &Path) -> (Arc<dyn Log>, Arc<dyn Store>) {
    let db = opentoken_log::embedded::open_database(&dir.join("opentoken.redb")).expect("open db");
    let log: Arc<dyn Log> = Arc::new(opentoken_log::EmbeddedLog::new(db.clone()).expect("log"));
    let store: Arc<dyn Store> = Arc::new(opentoken_store::EmbeddedStore::new(db).expect("store"));
    (log, store)
}

/// Publishes `blocks` in chunks of `chunk` (the ingester's fetch size decides coalescing).
pub fn publish(spec: &Arc<ChainSpec>, log: &Arc<dyn Log>, blocks: &[Block], chunk: usize) {
    let mods = modules(spec);
    let mut p = Publisher::open(spec.clone(), tables(&mods), log.clone()).expect("publisher");
    for c in blocks.chunks(chunk) {
        p.publish(c).expect("publish");
    }
}

/// Processes everything up to `until` with commits every `commit_every` blocks.
pub fn process(spec: &Arc<ChainSpec>, log: &Arc<dyn Log>, store: &Arc<dyn Store>, commit_every: u64, until: u64) {
    let cfg = ProcessorConfig {
        commit_every_blocks: commit_every,
        until_block: Some(until),
        ..Default::default()
    };
    let mut p = Processor::open(
        spec.clone(),
        modules(spec),
        log.clone(),
        store.clone(),
        cfg,
        Arc::new(Telemetry::new()),
    )
    .expect("processor");
    loop {
        match p.step().expect("step") {
            Step::Done => break,
            Step::Advanced(_) => {}
            Step::Idle => panic!("log ended before block {until}"),
        }
    }
}

/// Everything that must be identical between two nodes: checkpoints and the whole state.
#[derive(Debug, PartialEq, Eq)]
pub struct Fingerprint {
    pub checkpoints: Vec<ModuleCheckpoint>,
    pub state: BTreeMap<Vec<u8>, Vec<u8>>,
    pub progress_block: Option<u64>,
}

/// The token module's [`Fingerprint`].
pub fn fingerprint(store: &Arc<dyn Store>) -> Fingerprint {
    fingerprint_of(store, "token")
}

pub fn fingerprint_of(store: &Arc<dyn Store>, module: &str) -> Fingerprint {
    let loaded = store.load_module(module).expect("load");
    Fingerprint {
        checkpoints: store.checkpoints(module).expect("checkpoints"),
        state: loaded.pairs,
        progress_block: loaded.progress.map(|p| p.block),
    }
}

/// A child process killed (SIGKILL) and reaped when dropped, so a failing test leaves
/// nothing running.
pub struct Proc(pub std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    /// Waits for the process to exit successfully within `secs`; panics naming `what`.
    pub fn wait_ok(&mut self, what: &str, secs: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.0.try_wait().expect("try_wait") {
                assert!(status.success(), "{what} exited with {status}");
                return;
            }
            if std::time::Instant::now() > deadline {
                panic!("{what} did not finish within {secs} s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    pub fn exited(&mut self) -> bool {
        self.0.try_wait().expect("try_wait").is_some()
    }
}

/// `opentoken devnet` on a random port: the simulated Hive chain is a function of `seed`.
pub fn start_devnet(seed: u64, block_ms: u64, prefill: u64, lag: u64) -> (Proc, String) {
    start_devnet_with(
        &devnet_spec_path(),
        &[
            "--sim-seed",
            &seed.to_string(),
            "--sim-block-ms",
            &block_ms.to_string(),
            "--sim-prefill",
            &prefill.to_string(),
            "--sim-lag",
            &lag.to_string(),
            "--sim-ops",
            "0,8",
        ],
    )
}

/// `opentoken devnet` for the chain spec at `spec` with simulator flags `args`; returns
/// the process and the simulator's URL.
pub fn start_devnet_with(spec: &Path, args: &[&str]) -> (Proc, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(bin())
        .args(["devnet", "--chain"])
        .arg(spec)
        .args(args)
        .args(["--sim-listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn devnet");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = std::io::BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("devnet prints its URL");
    // Keep draining its stdout: a closed pipe would make its next line fail.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let url = line.rsplit(' ').next().expect("url").trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "unexpected devnet banner {line:?}"
    );
    (Proc(child), url)
}

/// The Python with the test requirements (`make test` creates `target/pyenv`), or
/// `OPENTOKEN_PYTHON`.
pub fn python() -> PathBuf {
    let python = std::env::var_os("OPENTOKEN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/pyenv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: make test creates it (python3 -m venv target/pyenv && pip install -r tests/python/requirements.txt)",
        python.display()
    );
    python
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The in-process CQL test server (see `opentoken_store::scylla::cql_test_server`).
pub fn cql_server() -> std::net::SocketAddr {
    opentoken_store::scylla::cql_test_server()
}
