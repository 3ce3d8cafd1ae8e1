//! `opentoken checkpoint`: sign and publish consensus reports at checkpoints, and with an
//! active key take part in consensus.

use crate::active_key::{active_key, ms_key};
use crate::backends::{load_spec, open_backends, Common};
use crate::consensus::{build_agent, ActiveKeyWif, AgentSetup, HiveIdentity};
use crate::context::{RoleContext, VERSION};
use crate::supervise::{serve_probes, Lifetime, Supervisor};
use anyhow::{anyhow, Result};
use clap::Args;
use opentoken_checkpointer::{Checkpointer, CheckpointerParts, HashSource, NodeKey};
use opentoken_consensus::NodesSource;
use opentoken_lifecycle::sleep_unless;
use opentoken_log::Log;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Clone, Debug)]
pub(crate) struct CheckpointArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, env = "OPENTOKEN_NODE_ACCOUNT", default_value = "")]
    pub node_account: String,
    /// The node account's active key (WIF): with it the checkpointer also takes part in
    /// consensus (registers the node, broadcasts its reports, watches finality).
    #[arg(long, env = "OPENTOKEN_HIVE_ACTIVE_KEY", hide_env_values = true)]
    pub hive_active_key: Option<ActiveKeyWif>,
    /// A file holding the active key (WIF), readable by its owner only (mode 0600, as
    /// node.key): the recommended way, since a flag shows in process listings.
    #[arg(long, env = "OPENTOKEN_HIVE_ACTIVE_KEY_FILE", conflicts_with = "hive_active_key")]
    pub hive_active_key_file: Option<PathBuf>,
    /// The node's multi-sig key (WIF) in a file readable by its owner only (0600): with it
    /// (and --hive-active-key) the node registers the key and, while it is one of the
    /// community account's signers, signs the account's transactions, reading the multisig
    /// module's open transaction from --state-api (`/v1/state/multisig`).
    #[arg(long, env = "OPENTOKEN_MS_KEY_FILE")]
    pub ms_key_file: Option<PathBuf>,
    /// Hive API nodes to broadcast through (with --hive-active-key).
    #[arg(long = "hive-api", env = "OPENTOKEN_HIVE_API", value_delimiter = ',')]
    pub hive_api: Vec<String>,
    /// This node's API (`opentoken serve`), where the nodes module's state is read from.
    #[arg(long, env = "OPENTOKEN_STATE_API")]
    pub state_api: Option<String>,
    /// The public URL of this node's API, registered on chain (default: --state-api).
    #[arg(long, env = "OPENTOKEN_NODE_DOMAIN")]
    pub domain: Option<String>,
    /// Stop once this checkpoint is reported.
    #[arg(long)]
    pub until_block: Option<u64>,
    /// Serve /healthz, /readyz and /metrics here.
    #[arg(long, env = "OPENTOKEN_LISTEN")]
    pub listen: Option<SocketAddr>,
}

/// How often the checkpointer looks for newly committed checkpoints.
const CHECKPOINT_POLL: Duration = Duration::from_millis(300);

impl CheckpointArgs {
    pub(crate) async fn execute(self) -> Result<()> {
        let ms_key = ms_key(self.ms_key_file.as_deref())?;
        let ctx = RoleContext::start(load_spec(&self.common.chain)?);
        ctx.telemetry.register("checkpointer", "starting");
        serve_probes(self.listen, ctx.telemetry.clone(), ctx.stop.clone()).await?;
        let modules = opentoken_registry::module_names(&opentoken_registry::modules(&ctx.spec)?);
        let key = NodeKey::load_or_create(&self.common.key_path())?;
        let active_key = active_key(self.hive_active_key.as_ref(), self.hive_active_key_file.as_deref())?;
        if ms_key.is_some() && active_key.is_none() {
            return Err(anyhow!(
                "--ms-key-file needs --node-account and --hive-active-key(-file): the node registers the \
                 multi-sig key and broadcasts its signatures as the node account"
            ));
        }
        let consensus = match &active_key {
            None => None,
            Some(wif) => {
                let identity = HiveIdentity::from_wif(&self.node_account, wif)?;
                let state_api = self.state_api.clone().ok_or_else(|| {
                    anyhow!("--hive-active-key needs --state-api: the URL of this node's `opentoken serve`")
                })?;
                Some((identity, state_api))
            }
        };

        let opened = tokio::task::spawn_blocking({
            let (ctx, args, key, modules) = (ctx.clone(), self.clone(), key.clone(), modules.clone());
            move || args.open(&ctx, key, modules)
        })
        .await??;
        let Some((log, checkpointer)) = opened else {
            return Ok(());
        };

        let mut supervisor = Supervisor::new(ctx.stop.clone());
        if let Some((identity, state_api)) = consensus {
            let setup = AgentSetup {
                identity,
                hive_api: self.hive_api.clone(),
                domain: self.domain.clone().unwrap_or_else(|| state_api.clone()),
                nodes: NodesSource::Api(state_api),
                recovery: None,
                ms_key,
            };
            let agent = build_agent(&ctx, setup, log, key, modules)?;
            let stop = ctx.stop.clone();
            supervisor.spawn("consensus agent", Lifetime::UntilStopped, async move {
                agent.run(stop).await;
                Ok(())
            });
        }
        let until_block = self.until_block;
        supervisor.spawn_blocking("checkpointer", Lifetime::UntilStopped, move || {
            report_checkpoints(&ctx, checkpointer, until_block)
        });
        supervisor.wait().await
    }

    /// Opens the backends and the checkpointer (waiting for the broker). The hashes come
    /// from the store in embedded mode and from the checkpoints topic in distributed mode.
    /// `None` when stopped meanwhile.
    fn open(
        &self,
        ctx: &RoleContext,
        key: NodeKey,
        modules: Vec<String>,
    ) -> Result<Option<(Arc<dyn Log>, Checkpointer)>> {
        let distributed = self.common.kafka_brokers.is_some();
        let Some(backends) = open_backends(&self.common, "checkpointer", !distributed, ctx)? else {
            return Ok(None);
        };
        let source = || match &backends.store {
            Some(store) => HashSource::Store(store.clone()),
            None => HashSource::topic(ctx.spec.checkpoints_topic()),
        };
        let opened = ctx.retry("opening the checkpointer", "checkpointer", || {
            Checkpointer::open(CheckpointerParts {
                spec: ctx.spec.clone(),
                modules: modules.clone(),
                source: source(),
                log: backends.log.clone(),
                key: key.clone(),
                node: self.node_account.clone(),
                version: VERSION.to_string(),
                telemetry: ctx.telemetry.clone(),
            })
        })?;
        Ok(opened.map(|checkpointer| (backends.log, checkpointer)))
    }
}

/// Reports every checkpoint the modules have committed, until stopped or `until_block` is
/// reported (which ends the process), waiting out log outages.
fn report_checkpoints(ctx: &RoleContext, mut checkpointer: Checkpointer, until_block: Option<u64>) -> Result<()> {
    ctx.telemetry.set_ready("checkpointer");
    while !ctx.stop.is_cancelled() {
        if ctx
            .retry("checkpointing", "checkpointer", || checkpointer.step())?
            .is_none()
        {
            break;
        }
        ctx.telemetry.set_ready("checkpointer");
        if until_block.is_some_and(|until| checkpointer.last_reported().is_some_and(|last| last >= until)) {
            ctx.stop.cancel();
            break;
        }
        sleep_unless(&ctx.stop, CHECKPOINT_POLL);
    }
    Ok(())
}
