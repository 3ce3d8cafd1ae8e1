//! The local Hive simulator of `opentoken devnet` and `opentoken run --devnet`: its flags,
//! mapped onto the registry's devnet chain (shape and traffic mix).

use anyhow::{Context, Result};
use clap::Args;
use opentoken_core::ChainSpec;
use opentoken_hive::{SimConfig, SimHandle, Simulator, Tamper, TamperMode};
use opentoken_registry::ChainShape;
use std::net::SocketAddr;
use std::time::Duration;

/// Simulator settings shared by `devnet` and `run --devnet`.
#[derive(Args, Clone, Debug)]
pub(crate) struct SimArgs {
    /// Seed of the generated chain: the same seed gives the same blocks.
    #[arg(long = "sim-seed", default_value_t = 1)]
    pub seed: u64,
    /// Milliseconds between produced blocks.
    #[arg(long = "sim-block-ms", default_value_t = 1000)]
    pub block_ms: u64,
    /// Blocks available at once when the simulator starts.
    #[arg(long = "sim-prefill", default_value_t = 0)]
    pub prefill: u64,
    /// Blocks between head and the last irreversible block.
    #[arg(long = "sim-lag", default_value_t = 1)]
    pub lag: u64,
    /// Generated community ops per block (min,max).
    #[arg(long = "sim-ops", value_delimiter = ',', default_values_t = [1u32, 6u32])]
    pub ops: Vec<u32>,
    /// Share of generated ops that are invalid, per mille.
    #[arg(long = "sim-invalid", default_value_t = 150)]
    pub invalid_per_mille: u32,
    /// Address of the simulator's JSON-RPC endpoint (port 0 = any free port).
    #[arg(long = "sim-listen", default_value = "127.0.0.1:0")]
    pub sim_listen: SocketAddr,
    /// Make this simulator an API node that lies, to test a follower's defences: `insert`
    /// adds a token transfer from the first genesis account to `--sim-tamper-to` into
    /// served blocks and lists a made-up transaction id; `forge` does the same and
    /// recomputes every id, merkle root and link (a consistent chain that is not the real
    /// one). The chain it produces and checks broadcasts against stays the honest one.
    #[arg(long = "sim-tamper", value_parser = ["insert", "forge"])]
    pub tamper: Option<String>,
    /// First block the lie changes.
    #[arg(long = "sim-tamper-from", default_value_t = 1)]
    pub tamper_from: u64,
    /// The lie changes every block whose number is a multiple of this.
    #[arg(long = "sim-tamper-every", default_value_t = 5)]
    pub tamper_every: u64,
    /// Who the inserted transfers credit.
    #[arg(long = "sim-tamper-to", default_value = "mallory")]
    pub tamper_to: String,
    /// Token base units each inserted transfer moves.
    #[arg(long = "sim-tamper-amount", default_value_t = 1)]
    pub tamper_amount: u64,
}

impl SimArgs {
    /// The simulator configuration these flags describe for `spec`'s devnet.
    pub(crate) fn sim_config(&self, spec: &ChainSpec) -> SimConfig {
        let shape = ChainShape {
            seed: self.seed,
            block_interval: Duration::from_millis(self.block_ms),
            prefill_blocks: self.prefill,
            irreversible_lag: self.lag,
        };
        let min = self.ops.first().copied().unwrap_or(1);
        let max = self.ops.get(1).copied().unwrap_or(min);
        let traffic = opentoken_registry::traffic(spec, (min, max), self.invalid_per_mille);
        let mut cfg = opentoken_registry::sim_config(spec, shape, traffic);
        cfg.tamper = self.tamper.as_deref().map(|mode| Tamper {
            mode: if mode == "forge" {
                TamperMode::Forge
            } else {
                TamperMode::Insert
            },
            from: self.tamper_from,
            every: self.tamper_every.max(1),
            to: self.tamper_to.clone(),
            amount: self.tamper_amount,
        });
        cfg
    }

    /// Starts the simulator in this process (it serves until the handle is shut down or
    /// dropped).
    pub(crate) async fn start(&self, spec: &ChainSpec) -> Result<SimHandle> {
        Simulator::start(self.sim_config(spec), self.sim_listen)
            .await
            .with_context(|| format!("starting the Hive simulator on {}", self.sim_listen))
    }
}
