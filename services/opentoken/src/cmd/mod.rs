//! One file per subcommand: its arguments (`*Args`) and its `execute`. A command uses the
//! shared plumbing beside `cmd/`, never another command.

pub(crate) mod bench;
pub(crate) mod checkpoint;
pub(crate) mod devnet;
pub(crate) mod import_state;
pub(crate) mod ingest;
pub(crate) mod process;
pub(crate) mod replay;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod topics;

use clap::Args;

/// Where to read blocks from: Hive API nodes (shared by `run` and `ingest`).
#[derive(Args, Clone, Debug)]
pub(crate) struct HiveArgs {
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

impl HiveArgs {
    /// How the ingester follows Hive with these flags (stopping after `until_block`).
    pub(crate) fn ingester_config(&self, until_block: Option<u64>) -> opentoken_ingester::IngesterConfig {
        opentoken_ingester::IngesterConfig {
            batch: self.fetch_batch,
            follow_head: self.follow_head,
            until_block,
            ..Default::default()
        }
    }
}
