//! `opentoken run`: every role in one process on the embedded log and store, supervised
//! together (a role that ends unexpectedly stops the node with an error naming it).

use super::HiveArgs;
use crate::active_key::{active_key, ms_key};
use crate::api_args::ApiArgs;
use crate::backends::{hive_client, load_spec, open_embedded_keeping, Common};
use crate::consensus::{build_agent, ActiveKeyWif, AgentSetup, HiveIdentity};
use crate::context::{RoleContext, VERSION};
use crate::drive::ProcessorParts;
use crate::fault::FaultHook;
use crate::progress::{watch_balances, LogLag, ProgressLine};
use crate::simulator::SimArgs;
use crate::supervise::{bind_api, serve_api, Lifetime, Listen, Supervisor};
use anyhow::{Context, Result};
use clap::Args;
use opentoken_checkpointer::{Checkpointer, CheckpointerParts, HashSource, NodeKey};
use opentoken_consensus::{NodesSource, RecoverySlot};
use opentoken_ingester::Publisher;
use opentoken_lifecycle::sleep_unless;
use opentoken_processor::{Processor, ProcessorConfig, Step};
use opentoken_store::Restore;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Clone, Debug)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub listen: Listen,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub hive: HiveArgs,
    /// Start a local Hive simulator in this process and follow it (no Hive needed).
    #[arg(long)]
    pub devnet: bool,
    #[command(flatten)]
    pub sim: SimArgs,
    /// Stop once this block is processed and reported.
    #[arg(long)]
    pub until_block: Option<u64>,
    /// Group-commit after this many blocks.
    #[arg(long, default_value_t = 1000)]
    pub commit_every: u64,
    /// This node's Hive account (named in reports).
    #[arg(long, env = "OPENTOKEN_NODE_ACCOUNT", default_value = "")]
    pub node_account: String,
    /// The node account's active key (WIF). With it (and --node-account) the node takes
    /// part in consensus: it registers, broadcasts its reports and follows finality.
    #[arg(long, env = "OPENTOKEN_HIVE_ACTIVE_KEY", hide_env_values = true)]
    pub hive_active_key: Option<ActiveKeyWif>,
    /// A file holding the active key (WIF), readable by its owner only (mode 0600, as
    /// node.key): the recommended way, since a flag shows in process listings.
    #[arg(long, env = "OPENTOKEN_HIVE_ACTIVE_KEY_FILE", conflicts_with = "hive_active_key")]
    pub hive_active_key_file: Option<PathBuf>,
    /// A file holding the node's multi-sig key (WIF), mode 0600. With it the node registers
    /// the key's public half and, on a chain with the multisig module, signs the community
    /// account's transactions and broadcasts them once enough runners signed. Needs the
    /// active key (the signatures go out as the node account's custom_json).
    #[arg(long, env = "OPENTOKEN_MS_KEY_FILE")]
    pub ms_key_file: Option<PathBuf>,
    /// The public URL of this node's API, registered on chain; peers fetch snapshots from
    /// it. Default: http://<--listen>.
    #[arg(long, env = "OPENTOKEN_NODE_DOMAIN")]
    pub domain: Option<String>,
    /// Whole-state snapshots of this many recent checkpoints are kept (what the node and
    /// its peers recover from when out of consensus); 0 keeps none.
    #[arg(long, env = "OPENTOKEN_KEEP_SNAPSHOTS", default_value_t = 4)]
    pub keep_snapshots: usize,
    /// Print a balance line for these accounts every few seconds.
    #[arg(long, value_delimiter = ',')]
    pub watch: Vec<String>,
}

/// How often the ingester asks Hive for new blocks once caught up.
const INGEST_POLL: Duration = Duration::from_millis(500);

impl RunArgs {
    pub(crate) async fn execute(self) -> Result<()> {
        let fault = FaultHook::from_env()?;
        let spec = load_spec(&self.common.chain)?;
        let (log, store) = open_embedded_keeping(
            &self.common.data_dir,
            self.keep_snapshots,
            self.common.keep_status_blocks(),
        )?;
        let listener = bind_api(self.listen.listen).await?;
        let ctx = RoleContext::start(spec);

        let mut hive_api = self.hive.hive_api.clone();
        let _simulator = if self.devnet {
            let simulator = self.sim.start(&ctx.spec).await?;
            println!("Hive simulator: {}", simulator.url());
            hive_api.insert(0, simulator.url());
            Some(simulator)
        } else {
            None
        };
        let client = hive_client(&hive_api)?;
        let modules = opentoken_registry::modules(&ctx.spec)?;
        let module_names = opentoken_registry::module_names(&modules);
        ctx.telemetry.register("processor", "loading state");
        let publisher = Publisher::open(
            ctx.spec.clone(),
            opentoken_registry::route_tables(&modules),
            log.clone(),
        )?;
        let key = NodeKey::load_or_create(&self.common.key_path())?;
        tracing::info!(public_key = %key.public_hex(), "node report key");

        let api_addr = listener.local_addr()?;
        let active_key = active_key(self.hive_active_key.as_ref(), self.hive_active_key_file.as_deref())?;
        let identity = match (&active_key, self.devnet && !self.node_account.is_empty()) {
            (Some(wif), _) => Some(HiveIdentity::from_wif(&self.node_account, wif)?),
            (None, true) => Some(HiveIdentity::devnet(&self.node_account)),
            (None, false) => None,
        };
        let mut ms_key = ms_key(self.ms_key_file.as_deref())?;
        // On the devnet the simulator knows every account's keys, the multi-sig one too: a
        // devnet node account signs for the multi-sig account as the chain's genesis made it.
        if ms_key.is_none() && active_key.is_none() && self.devnet && !self.node_account.is_empty() {
            ms_key = Some(opentoken_hive::devnet_key(
                &self.node_account,
                opentoken_hive::KeyRole::Multisig,
            ));
        }
        if ms_key.is_some() && identity.is_none() {
            anyhow::bail!(
                "--ms-key-file needs --node-account and --hive-active-key(-file): the node registers the \
                 multi-sig key and broadcasts its signatures as the node account"
            );
        }
        let recovery = RecoverySlot::default();
        let agent = match identity {
            Some(identity) => {
                let setup = AgentSetup {
                    identity,
                    hive_api,
                    domain: self.domain.clone().unwrap_or_else(|| format!("http://{api_addr}")),
                    nodes: NodesSource::Store(store.clone()),
                    recovery: Some(recovery.clone()),
                    ms_key,
                };
                Some(build_agent(
                    &ctx,
                    setup,
                    log.clone(),
                    key.clone(),
                    module_names.clone(),
                )?)
            }
            None => None,
        };

        let mut supervisor = Supervisor::new(ctx.stop.clone());
        let mut ingester_config = self.hive.ingester_config(self.until_block);
        ingester_config.poll = INGEST_POLL;
        let ingester = opentoken_ingester::run(
            publisher,
            client,
            ingester_config,
            ctx.telemetry.clone(),
            ctx.stop.clone(),
        );
        // With --until-block the ingester is done before the processor: that ends nothing.
        let ingester_lifetime = if self.until_block.is_some() {
            Lifetime::MayFinish
        } else {
            Lifetime::UntilStopped
        };
        supervisor.spawn("ingester", ingester_lifetime, async move { Ok(ingester.await?) });

        let pipeline = Pipeline {
            ctx: ctx.clone(),
            processor: ProcessorParts {
                modules,
                log: log.clone(),
                store: store.clone(),
                config: ProcessorConfig {
                    commit_every_blocks: self.commit_every.max(1),
                    until_block: self.until_block,
                    ..Default::default()
                },
            },
            modules: module_names.clone(),
            key,
            node_account: self.node_account.clone(),
            recovery,
            fault,
        };
        supervisor.spawn_blocking("processor and checkpointer", Lifetime::UntilStopped, move || {
            pipeline.run()
        });

        let api_state = opentoken_api::ApiState {
            spec: ctx.spec.clone(),
            store: store.clone(),
            log,
            telemetry: ctx.telemetry.clone(),
            node: self.node_account.clone(),
            version: VERSION.to_string(),
            modules: module_names,
        };
        println!(
            "API: http://{api_addr}/  (try /stats, /@alice, /api/status/<txid>, /v1/report/latest, /consensus, /metrics)"
        );
        match agent {
            Some(agent) => {
                let stop = ctx.stop.clone();
                supervisor.spawn("consensus agent", Lifetime::UntilStopped, async move {
                    agent.run(stop).await;
                    Ok(())
                });
            }
            None => tracing::info!(
                "no --node-account/--hive-active-key: following the chain without taking part in consensus"
            ),
        }
        supervisor.spawn(
            "API",
            Lifetime::UntilStopped,
            serve_api(api_state, self.api.limits(), listener, ctx.stop.clone()),
        );
        if !self.watch.is_empty() {
            let watch = watch_balances(store, self.watch.clone(), ctx.stop.clone());
            supervisor.spawn("balance watch", Lifetime::UntilStopped, async move {
                watch.await;
                Ok(())
            });
        }
        supervisor.wait().await
    }
}

/// The processor and the checkpointer of `run`, sharing one blocking thread: the
/// checkpointer steps after every processor step, and a verified snapshot the consensus
/// agent hands over is restored between two steps.
struct Pipeline {
    ctx: RoleContext,
    processor: ProcessorParts,
    /// The modules whose hashes make up the consensus hash.
    modules: Vec<String>,
    key: NodeKey,
    node_account: String,
    recovery: RecoverySlot,
    fault: FaultHook,
}

impl Pipeline {
    fn open_checkpointer(&self) -> Result<Checkpointer> {
        Ok(Checkpointer::open(CheckpointerParts {
            spec: self.ctx.spec.clone(),
            modules: self.modules.clone(),
            source: HashSource::Store(self.processor.store.clone()),
            log: self.processor.log.clone(),
            key: self.key.clone(),
            node: self.node_account.clone(),
            version: VERSION.to_string(),
            telemetry: self.ctx.telemetry.clone(),
        })?)
    }

    /// Steps until stopped or `--until-block`, then commits what is processed and stops
    /// the node.
    fn run(mut self) -> Result<()> {
        let mut processor = self.processor.open_once(&self.ctx)?;
        let mut checkpointer = self.open_checkpointer()?;
        self.ctx.telemetry.set_ready("processor");
        let mut progress = ProgressLine::from(processor.last_block());
        let mut lag = LogLag::new(&self.ctx.spec, &self.processor.modules);
        while !self.ctx.stop.is_cancelled() {
            let handed_over = opentoken_consensus::recovery::lock(&self.recovery).pending.take();
            if let Some(restore) = handed_over {
                (processor, checkpointer) = self.restore(processor, &restore)?;
            }
            let step = processor.step()?;
            self.fault.after_step(&mut processor);
            checkpointer.step()?;
            let parts = &self.processor;
            lag.tick(parts.log.as_ref(), parts.store.as_ref(), &self.ctx.telemetry);
            match step {
                Step::Done => {
                    tracing::info!(block = ?processor.last_block(), "reached --until-block");
                    break;
                }
                Step::Idle => {
                    sleep_unless(&self.ctx.stop, self.processor.config.idle_poll);
                }
                Step::Advanced(block) => progress.tick(block, &self.ctx.telemetry),
            }
        }
        processor.flush()?;
        checkpointer.step()?;
        // Stopped or done: either way the node's work ends with this thread.
        self.ctx.stop.cancel();
        Ok(())
    }

    /// Replaces the state in the store by the verified snapshot `restore` and reopens the
    /// processor and the checkpointer on it: the checkpoints after it are made again.
    fn restore(&self, processor: Processor, restore: &Restore) -> Result<(Processor, Checkpointer)> {
        drop(processor);
        self.processor
            .store
            .restore(restore)
            .with_context(|| format!("restoring the verified snapshot of checkpoint {}", restore.block))?;
        let reports_end = self.processor.log.end_offset(&self.ctx.spec.reports_topic())?;
        let processor = self.processor.open_once(&self.ctx)?;
        let mut checkpointer = self.open_checkpointer()?;
        checkpointer.resume_after(restore.block);
        opentoken_consensus::recovery::lock(&self.recovery).applied = Some((restore.block, reports_end));
        tracing::warn!(
            block = restore.block,
            "restored a verified snapshot; re-processing from it"
        );
        Ok((processor, checkpointer))
    }
}
