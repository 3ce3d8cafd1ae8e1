//! What the roles read and write: the chain spec, the log and the store (embedded in one
//! database file, or Kafka with the store in --data-dir or ScyllaDB), and the Hive API.
//! Every command opens them through here, so each is opened one way.

use crate::context::RoleContext;
use anyhow::{anyhow, Context, Result};
use clap::Args;
use opentoken_core::ChainSpec;
use opentoken_hive::HiveClient;
use opentoken_log::Log;
use opentoken_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Options every role that touches node data shares.
#[derive(Args, Clone, Debug)]
pub(crate) struct Common {
    /// Directory holding the embedded database and the node key.
    #[arg(long, env = "OPENTOKEN_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Chain spec (community constants and genesis).
    #[arg(long, env = "OPENTOKEN_CHAIN", default_value = "infra/chains/devnet.json")]
    pub chain: PathBuf,
    /// Kafka bootstrap servers (`host:port,...`). When set, the log is Kafka and the roles
    /// run as separate processes; the store stays in --data-dir.
    #[arg(long, env = "OPENTOKEN_KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,
    /// Kafka topic definitions (default: the built-in copy of infra/kafka/topics.json).
    #[arg(long, env = "OPENTOKEN_KAFKA_TOPICS")]
    pub kafka_topics: Option<PathBuf>,
    /// ScyllaDB (`scylla://host:port[,host:port]/keyspace`). When set, module state lives
    /// there instead of --data-dir: processors are stateless and the API reads it directly.
    #[arg(long, env = "OPENTOKEN_SCYLLA_URI")]
    pub scylla_uri: Option<String>,
    /// Blocks of op statuses (`/api/status/<txid>`) the store keeps behind each module's
    /// progress (default 201600: 7 days of 3 s blocks); older ones are deleted and answered
    /// as expired. On ScyllaDB it overrides the URI's `keep_status_blocks`.
    #[arg(long, env = "OPENTOKEN_KEEP_STATUS_BLOCKS", value_parser = clap::value_parser!(u64).range(1..))]
    pub keep_status_blocks: Option<u64>,
}

impl Common {
    /// The status window of --keep-status-blocks, or the default.
    pub(crate) fn keep_status_blocks(&self) -> u64 {
        self.keep_status_blocks
            .unwrap_or(opentoken_store::DEFAULT_KEEP_STATUS_BLOCKS)
    }

    /// The node's ed25519 report key, created on first start.
    pub(crate) fn key_path(&self) -> PathBuf {
        self.data_dir.join("node.key")
    }
}

pub(crate) fn load_spec(path: &Path) -> Result<Arc<ChainSpec>> {
    Ok(Arc::new(
        ChainSpec::load(path).with_context(|| format!("loading chain spec {}", path.display()))?,
    ))
}

/// The embedded database of `data_dir` (created if missing): the log's topics and the
/// store's tables live in it.
fn open_database(data_dir: &Path) -> Result<Arc<redb::Database>> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating data directory {}", data_dir.display()))?;
    Ok(opentoken_log::embedded::open_database(
        &data_dir.join("opentoken.redb"),
    )?)
}

/// The embedded backends: one database file in the data directory, keeping whole-state
/// snapshots of the last `keep_snapshots` checkpoints (0: none).
pub(crate) fn open_embedded(data_dir: &Path, keep_snapshots: usize) -> Result<(Arc<dyn Log>, Arc<dyn Store>)> {
    open_embedded_keeping(data_dir, keep_snapshots, opentoken_store::DEFAULT_KEEP_STATUS_BLOCKS)
}

/// The embedded pair for a rebuild into a fresh directory (`opentoken replay`): commits are
/// durable at most every [`REBUILD_DURABLE_EVERY`] (a crash loses at most that much of the
/// rebuild, which resumes from the last durable commit); the caller ends with
/// [`Store::sync`].
pub(crate) fn open_embedded_rebuild(
    data_dir: &Path,
    keep_status_blocks: u64,
) -> Result<(Arc<dyn Log>, Arc<dyn Store>)> {
    open_embedded_with(data_dir, |store| {
        store
            .keep_status_blocks(keep_status_blocks)
            .relaxed_durability(REBUILD_DURABLE_EVERY)
    })
}

/// How often a rebuild's commits are made durable.
pub(crate) const REBUILD_DURABLE_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// [`open_embedded`], keeping the statuses of the last `keep_status_blocks` blocks.
pub(crate) fn open_embedded_keeping(
    data_dir: &Path,
    keep_snapshots: usize,
    keep_status_blocks: u64,
) -> Result<(Arc<dyn Log>, Arc<dyn Store>)> {
    open_embedded_with(data_dir, |store| {
        store
            .keep_snapshots(keep_snapshots)
            .keep_status_blocks(keep_status_blocks)
    })
}

/// The embedded pair in `data_dir`'s database, the store set up by `setup`.
fn open_embedded_with(
    data_dir: &Path,
    setup: impl FnOnce(opentoken_store::EmbeddedStore) -> opentoken_store::EmbeddedStore,
) -> Result<(Arc<dyn Log>, Arc<dyn Store>)> {
    let db = open_database(data_dir)?;
    let log = opentoken_log::EmbeddedLog::new(db.clone())?;
    let store = setup(opentoken_store::EmbeddedStore::new(db)?);
    Ok((Arc::new(log), Arc::new(store)))
}

/// The log and store a role uses: the embedded pair in one database, or Kafka for the log
/// with the store in --data-dir (or ScyllaDB).
pub(crate) struct Backends {
    pub log: Arc<dyn Log>,
    /// Opened only for roles that keep state.
    pub store: Option<Arc<dyn Store>>,
    pub distributed: bool,
}

impl Backends {
    /// The store of a role that asked for one.
    pub(crate) fn store(&self) -> Result<Arc<dyn Store>> {
        self.store
            .clone()
            .ok_or_else(|| anyhow!("internal: this role needs a store"))
    }
}

/// Opens the backends of `role` (on a blocking thread); with Kafka, creates the topics
/// first, waiting for the broker if it is not up yet. `None` when stopped while waiting.
pub(crate) fn open_backends(
    common: &Common,
    role: &str,
    need_store: bool,
    ctx: &RoleContext,
) -> Result<Option<Backends>> {
    let Some(brokers) = &common.kafka_brokers else {
        if common.scylla_uri.is_some() {
            return Err(anyhow!(
                "--scylla-uri needs --kafka-brokers: the ScyllaDB store is for the distributed mode"
            ));
        }
        let (log, store) = open_embedded_keeping(&common.data_dir, 0, common.keep_status_blocks())?;
        return Ok(Some(Backends {
            log,
            store: Some(store),
            distributed: false,
        }));
    };
    let log = kafka_log(brokers, role, &ctx.spec)?;
    let topics = topic_specs(common, &ctx.spec)?;
    let Some(created) = ctx.retry("creating Kafka topics", role, || log.ensure_topics(&topics))? else {
        tracing::info!("stopped while waiting for the Kafka broker at {brokers}");
        return Ok(None);
    };
    if !created.is_empty() {
        tracing::info!(?created, "created Kafka topics");
    }
    let store: Option<Arc<dyn Store>> = match (need_store, &common.scylla_uri) {
        (false, _) => None,
        (true, Some(uri)) => {
            let mut cfg = opentoken_store::ScyllaConfig::from_uri(uri)?;
            if let Some(blocks) = common.keep_status_blocks {
                cfg.keep_status_blocks = blocks;
            }
            Some(Arc::new(
                opentoken_store::ScyllaStore::connect(&cfg)
                    .with_context(|| format!("connecting to ScyllaDB at {uri}"))?,
            ))
        }
        (true, None) => Some(Arc::new(
            opentoken_store::EmbeddedStore::new(open_database(&common.data_dir)?)?
                .keep_status_blocks(common.keep_status_blocks()),
        )),
    };
    Ok(Some(Backends {
        log: Arc::new(log),
        store,
        distributed: true,
    }))
}

/// The Kafka log of `role` (its consumer group hint is `<community>.<role>`).
pub(crate) fn kafka_log(brokers: &str, role: &str, spec: &ChainSpec) -> Result<opentoken_log::KafkaLog> {
    let cfg = opentoken_log::KafkaConfig::new(brokers, format!("{}.{role}", spec.name));
    opentoken_log::KafkaLog::new(cfg, opentoken_codec::schema_name_of)
        .with_context(|| format!("setting up the Kafka client for {brokers}"))
}

/// The Kafka topics of `spec`'s community: the definitions of --kafka-topics (or the
/// built-in ones) expanded for every module of the registry.
pub(crate) fn topic_specs(common: &Common, spec: &ChainSpec) -> Result<Vec<opentoken_log::kafka::TopicSpec>> {
    let text = match &common.kafka_topics {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading topic definitions {}", p.display()))?,
        None => opentoken_log::kafka::DEFAULT_TOPICS.to_string(),
    };
    let definitions = opentoken_log::kafka::TopicDefinitions::parse(&text)?;
    let modules = opentoken_registry::modules(spec)?;
    let names = opentoken_registry::module_names(&modules);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    Ok(definitions.expand(&spec.name, &names))
}

/// A client of the Hive API nodes `urls` (tried in order with failover).
pub(crate) fn hive_client(urls: &[String]) -> Result<HiveClient> {
    if urls.is_empty() {
        return Err(anyhow!(
            "no Hive API node given: pass --hive-api URL (or --devnet for a local simulator)"
        ));
    }
    Ok(HiveClient::new(urls.to_vec())?)
}
