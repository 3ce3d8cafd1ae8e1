//! `opentoken devnet` and the in-process simulator of `opentoken run --devnet`.

use anyhow::{Context, Result};
use clap::Args;
use opentoken_core::ChainSpec;
use opentoken_hive::{SimConfig, SimHandle, Simulator, TrafficConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Simulator settings shared by `devnet` and `run --devnet`.
#[derive(Args, Clone, Debug)]
pub struct SimArgs {
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
}

#[derive(Args, Clone, Debug)]
pub struct DevnetArgs {
    /// Chain spec whose genesis accounts and prefix the traffic uses.
    #[arg(long, env = "OPENTOKEN_CHAIN", default_value = "infra/chains/devnet.json")]
    pub chain: PathBuf,
    #[command(flatten)]
    pub sim: SimArgs,
    /// Print the devnet active key (WIF) of this account and exit, for
    /// `opentoken run --hive-active-key` against this simulator.
    #[arg(long, value_name = "ACCOUNT")]
    pub key_for: Option<String>,
}

/// The generated traffic's participants, from the token genesis of the chain spec.
pub fn traffic(spec: &ChainSpec, sim: &SimArgs) -> TrafficConfig {
    let genesis = spec.module_config("token").and_then(|t| t.get("genesis"));
    let mut accounts: Vec<String> = genesis
        .and_then(|g| g.get("balances"))
        .and_then(|b| b.as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    accounts.sort();
    let nodes: Vec<String> = genesis
        .and_then(|g| g.get("nodes"))
        .and_then(|n| n.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let min = sim.ops.first().copied().unwrap_or(1);
    let max = sim.ops.get(1).copied().unwrap_or(min).max(min);
    TrafficConfig {
        prefix: spec.prefix.clone(),
        accounts,
        nodes,
        delegation_account: spec.delegation_account.clone(),
        ops_per_block: (min, max),
        invalid_per_mille: sim.invalid_per_mille,
    }
}

pub fn sim_config(spec: &ChainSpec, sim: &SimArgs) -> SimConfig {
    SimConfig {
        seed: sim.seed,
        first_block: spec.starting_block.max(1),
        block_interval: Duration::from_millis(sim.block_ms.max(1)),
        prefill_blocks: sim.prefill,
        irreversible_lag: sim.lag,
        traffic: traffic(spec, sim),
    }
}

pub async fn start(spec: &ChainSpec, sim: &SimArgs) -> Result<SimHandle> {
    Simulator::start(sim_config(spec, sim), sim.sim_listen)
        .await
        .with_context(|| format!("starting the Hive simulator on {}", sim.sim_listen))
}

pub async fn devnet(a: DevnetArgs) -> Result<()> {
    if let Some(account) = &a.key_for {
        println!(
            "{}",
            opentoken_hive::devnet_key(account, opentoken_hive::KeyRole::Active).to_wif()
        );
        return Ok(());
    }
    let spec = crate::node::load_spec(&a.chain)?;
    let handle = start(&spec, &a.sim).await?;
    println!("Hive simulator (JSON-RPC): {}", handle.url());
    println!("follow it with: opentoken run --hive-api {}", handle.url());
    let which = crate::node::shutdown_signal().await;
    tracing::info!("stopping the simulator ({which})");
    handle.shutdown().await;
    Ok(())
}
