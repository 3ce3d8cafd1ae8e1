//! The node's stages in this process, over the module registry the binary runs
//! (`opentoken_registry`): generate a devnet chain, publish it to a log, process it into a
//! store, and take the [`Fingerprint`] two nodes must agree on.

use opentoken_core::engine::ErasedModule;
use opentoken_core::{Block, ChainSpec, ModuleCheckpoint};
use opentoken_ingester::Publisher;
use opentoken_log::Log;
use opentoken_processor::{Processor, ProcessorConfig, Step};
use opentoken_registry::ChainShape;
use opentoken_store::Store;
use opentoken_telemetry::Telemetry;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The registry's modules for `spec`.
fn modules(spec: &ChainSpec) -> Vec<Arc<dyn ErasedModule>> {
    opentoken_registry::modules(spec).expect("the chain spec configures every module")
}

/// The first `blocks` blocks of the devnet chain of `seed`: 0 to 8 community ops a block,
/// 15 % of them invalid. `tests/tests/pinned.rs` pins what this chain gives, so these
/// parameters are fixed.
pub fn generate(spec: &ChainSpec, seed: u64, blocks: u64) -> Vec<Block> {
    let shape = ChainShape {
        seed,
        block_interval: Duration::from_millis(10),
        prefill_blocks: 0,
        irreversible_lag: 0,
    };
    let cfg = opentoken_registry::sim_config(spec, shape, opentoken_registry::traffic(spec, (0, 8), 150));
    let first = spec.starting_block.max(1);
    opentoken_hive::generate_blocks(&cfg, first..=first + blocks - 1).expect("the devnet chain seals")
}

/// The embedded log and store of a data directory (one redb database, as `opentoken run`
/// keeps them).
pub fn open(dir: &Path) -> (Arc<dyn Log>, Arc<dyn Store>) {
    let db = opentoken_log::embedded::open_database(&dir.join("opentoken.redb")).expect("open db");
    let log: Arc<dyn Log> = Arc::new(opentoken_log::EmbeddedLog::new(db.clone()).expect("log"));
    let store: Arc<dyn Store> = Arc::new(opentoken_store::EmbeddedStore::new(db).expect("store"));
    (log, store)
}

/// Publishes `blocks` in chunks of `chunk` (the ingester's fetch size decides coalescing).
pub fn publish(spec: &Arc<ChainSpec>, log: &Arc<dyn Log>, blocks: &[Block], chunk: usize) {
    let tables = opentoken_registry::route_tables(&modules(spec));
    let mut p = Publisher::open(spec.clone(), tables, log.clone()).expect("publisher");
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

/// The in-process CQL test server (see `opentoken_store::scylla::cql_test_server`).
pub fn cql_server() -> std::net::SocketAddr {
    opentoken_store::scylla::cql_test_server()
}
