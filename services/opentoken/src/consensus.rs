//! The consensus agent of a node, built one way for `run` (embedded, reads the nodes
//! module from its store, can restore snapshots) and `checkpoint` (distributed, reads it
//! from the node's API, only reports a divergence).

use crate::backends::hive_client;
use crate::context::{RoleContext, VERSION};
use anyhow::{anyhow, Result};
use opentoken_checkpointer::NodeKey;
use opentoken_consensus::{Agent, AgentConfig, AgentParts, Broadcaster, NodesSource, RecoverySlot};
use opentoken_hive_tx::PrivateKey;
use opentoken_log::Log;
use std::sync::Arc;
use std::time::Duration;

/// Time between the agent's rounds.
const AGENT_POLL: Duration = Duration::from_millis(500);

/// The Hive account a node takes part in consensus as, and the active key it signs its
/// registration and reports with.
pub(crate) struct HiveIdentity {
    account: String,
    active_key: PrivateKey,
}

impl HiveIdentity {
    /// From `--node-account` and `--hive-active-key`.
    pub(crate) fn from_wif(account: &str, wif: &str) -> Result<Self> {
        if account.is_empty() {
            return Err(anyhow!(
                "--hive-active-key needs --node-account (the account it is the key of)"
            ));
        }
        let active_key =
            PrivateKey::from_wif(wif).map_err(|e| anyhow!("--hive-active-key is not a valid WIF private key: {e}"))?;
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
        },
        nodes,
        log,
        key,
        broadcaster,
        telemetry: ctx.telemetry.clone(),
        recovery,
    })?)
}
