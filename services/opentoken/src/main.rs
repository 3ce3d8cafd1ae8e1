//! `opentoken`: one binary, every role a subcommand.

mod bench;
mod config;
mod devnet;
mod node;
mod replay;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "opentoken", version, about = "A Layer-2 token node for the Hive blockchain")]
struct Cli {
    /// A TOML file of settings (`data_dir = "..."`, `kafka_brokers = "..."`, ...): each key is
    /// the environment variable without `OPENTOKEN_`, lowercased. Flags and environment
    /// variables take precedence over it.
    #[arg(long, env = "OPENTOKEN_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Log filter (tracing env-filter syntax).
    #[arg(long, env = "OPENTOKEN_LOG", default_value = "info", global = true)]
    log: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every role in one process on the embedded log and store.
    Run(Box<node::RunArgs>),
    /// Follow Hive and publish each module's ops to its topic.
    Ingest(node::IngestArgs),
    /// Run one module over its topic.
    Process(node::ProcessArgs),
    /// Create the Kafka topics (idempotent; every role also does it at start).
    Topics(node::TopicsArgs),
    /// Sign and publish consensus reports at checkpoints.
    Checkpoint(node::CheckpointArgs),
    /// Serve the HTTP API from the store.
    Serve(node::ServeArgs),
    /// Rebuild a module from its topic into a fresh store and verify every recorded checkpoint.
    Replay(replay::ReplayArgs),
    /// A local Hive node simulator (JSON-RPC) producing blocks with generated traffic.
    Devnet(devnet::DevnetArgs),
    /// Measure token ops/s through the state machine and end to end on the embedded pipeline.
    Bench(bench::BenchArgs),
}

/// Options every role that touches node data shares.
#[derive(Args, Clone, Debug)]
pub struct Common {
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
}

/// Where the API listens.
#[derive(Args, Clone, Debug)]
pub struct Listen {
    #[arg(long, env = "OPENTOKEN_LISTEN", default_value = "127.0.0.1:3001")]
    pub listen: SocketAddr,
}

fn main() -> Result<()> {
    config::apply_config_file(std::env::args_os().collect())?;
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        match cli.cmd {
            Cmd::Run(a) => node::run(*a).await,
            Cmd::Ingest(a) => node::ingest(a).await,
            Cmd::Process(a) => node::process(a).await,
            Cmd::Checkpoint(a) => node::checkpoint(a).await,
            Cmd::Topics(a) => node::topics(a).await,
            Cmd::Serve(a) => node::serve(a).await,
            Cmd::Replay(a) => replay::replay(a).await,
            Cmd::Devnet(a) => devnet::devnet(a).await,
            Cmd::Bench(a) => bench::bench(a).await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Catches conflicting flags and bad defaults at test time instead of at startup.
    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_role_is_a_subcommand() {
        let cmd = Cli::command();
        let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        for role in [
            "run",
            "ingest",
            "process",
            "checkpoint",
            "serve",
            "replay",
            "devnet",
            "bench",
        ] {
            assert!(names.contains(&role), "{role} missing from {names:?}");
        }
    }
}
