//! `opentoken devnet`: a local Hive node simulator (JSON-RPC) producing blocks with
//! generated traffic, until Ctrl-C or SIGTERM.

use crate::backends::load_spec;
use crate::simulator::SimArgs;
use crate::supervise::shutdown_signal;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub(crate) struct DevnetArgs {
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

impl DevnetArgs {
    pub(crate) async fn execute(self) -> Result<()> {
        if let Some(account) = &self.key_for {
            println!(
                "{}",
                opentoken_hive::devnet_key(account, opentoken_hive::KeyRole::Active).to_wif()
            );
            return Ok(());
        }
        let spec = load_spec(&self.chain)?;
        let handle = self.sim.start(&spec).await?;
        println!("Hive simulator (JSON-RPC): {}", handle.url());
        println!("follow it with: opentoken run --hive-api {}", handle.url());
        let which = shutdown_signal().await;
        tracing::info!("stopping the simulator ({which})");
        handle.shutdown().await;
        Ok(())
    }
}
