//! The consensus agent of a node, built one way for `run` (embedded, reads the nodes
//! module from its store, can restore snapshots) and `checkpoint` (distributed, reads it
//! from the node's API, only reports a divergence).

use crate::backends::hive_client;
use crate::context::{RoleContext, VERSION};
use anyhow::{anyhow, Result};
use opentoken_checkpointer::NodeKey;
use opentoken_consensus::{Agent, AgentConfig, AgentParts, Broadcaster, NodesSource, PeerFetchPolicy, RecoverySlot};
use opentoken_hive_tx::PrivateKey;
use opentoken_log::Log;
use std::sync::Arc;
use std::time::Duration;

/// Time between the agent's rounds.
const AGENT_POLL: Duration = Duration::from_millis(500);

/// `--hive-active-key` as given (WIF). The commands' `*Args` derive Debug, so the key is held
/// in this wrapper whose Debug never prints it.
#[derive(Clone)]
pub(crate) struct ActiveKeyWif(String);

impl From<String> for ActiveKeyWif {
    fn from(wif: String) -> Self {
        Self(wif)
    }
}

impl std::fmt::Debug for ActiveKeyWif {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The Hive account a node takes part in consensus as, and the active key it signs its
/// registration and reports with.
pub(crate) struct HiveIdentity {
    account: String,
    active_key: PrivateKey,
}

impl HiveIdentity {
    /// From `--node-account` and `--hive-active-key`.
    pub(crate) fn from_wif(account: &str, wif: &ActiveKeyWif) -> Result<Self> {
        if account.is_empty() {
            return Err(anyhow!(
                "--hive-active-key needs --node-account (the account it is the key of)"
            ));
        }
        let active_key = PrivateKey::from_wif(&wif.0)
            .map_err(|e| anyhow!("--hive-active-key is not a valid WIF private key: {e}"))?;
        Ok(Self {
            account: account.to_string(),
            active_key,
        })
    }

    /// On the built-in devnet the simulator knows every account's key: the node account's
    /// is derived the same way, so `run --devnet --node-account X` takes part in consensus.
    pub(crate) fn devnet(account: &str) -> Self {
        Self {
            account: account.to_string(),
            active_key: opentoken_hive::devnet_key(account, opentoken_hive::KeyRole::Active),
        }
    }
}

/// What differs between the agent of `run` and that of `checkpoint`.
pub(crate) struct AgentSetup {
    pub identity: HiveIdentity,
    /// Hive API nodes to broadcast through.
    pub hive_api: Vec<String>,
    /// The public URL of this node's API, registered on chain.
    pub domain: String,
    pub nodes: NodesSource,
    /// Where verified snapshots are handed to the processor (`None`: nothing can restore).
    pub recovery: Option<RecoverySlot>,
    /// The node's multi-sig key (`--ms-key-file`).
    pub ms_key: Option<PrivateKey>,
}

/// The consensus agent of this node; `modules` make up its consensus hash.
pub(crate) fn build_agent(
    ctx: &RoleContext,
    setup: AgentSetup,
    log: Arc<dyn Log>,
    key: NodeKey,
    modules: Vec<String>,
) -> Result<Agent> {
    let AgentSetup {
        identity,
        hive_api,
        domain,
        nodes,
        recovery,
        ms_key,
    } = setup;
    let broadcaster = Broadcaster::new(
        Arc::new(hive_client(&hive_api)?),
        identity.account.clone(),
        identity.active_key,
        ctx.spec.hive_chain_id(),
    );
    Ok(Agent::new(AgentParts {
        spec: ctx.spec.clone(),
        config: AgentConfig {
            account: identity.account,
            domain,
            version: VERSION.to_string(),
            modules,
            poll: AGENT_POLL,
            // Non-public peers only where the chain lets nodes register them (devnets).
            peer_fetch: PeerFetchPolicy::for_chain(&ctx.spec)?,
            reconcile: Default::default(),
        },
        nodes,
        log,
        key,
        broadcaster,
        telemetry: ctx.telemetry.clone(),
        recovery,
        ms_key,
    })?)
}

#[cfg(test)]
mod tests {
    use crate::{Cli, Cmd};
    use clap::Parser;

    const WIF: &str = "5JdeC9P7Pbd1uGdFVEsJ41EkEnADbbHGq6p1BwFxm6txNBsQnsw";

    #[test]
    fn the_active_key_is_not_in_the_debug_of_the_commands_that_take_it() {
        let run = Cli::try_parse_from(["opentoken", "run", "--node-account", "alice", "--hive-active-key", WIF]);
        let Ok(Cli {
            cmd: Cmd::Run(args), ..
        }) = run
        else {
            panic!("run parses");
        };
        let shown = format!("{args:?}");
        assert!(shown.contains("alice") && !shown.contains(WIF), "{shown}");
        let checkpoint = Cli::try_parse_from(["opentoken", "checkpoint", "--hive-active-key", WIF]);
        let Ok(Cli {
            cmd: Cmd::Checkpoint(args),
            ..
        }) = checkpoint
        else {
            panic!("checkpoint parses");
        };
        let shown = format!("{args:?}");
        assert!(shown.contains("redacted") && !shown.contains(WIF), "{shown}");
    }
}
