//! `opentoken process`: run one module over its topic, committing to its own store.

use crate::backends::{load_spec, open_backends, Common};
use crate::context::RoleContext;
use crate::drive::{run_processor, ProcessorParts};
use crate::supervise::serve_probes;
use anyhow::Result;
use clap::Args;
use opentoken_processor::ProcessorConfig;
use std::net::SocketAddr;

#[derive(Args, Clone, Debug)]
pub(crate) struct ProcessArgs {
    #[command(flatten)]
    pub common: Common,
    /// The module to run.
    #[arg(long, env = "OPENTOKEN_MODULE", default_value = "token")]
    pub module: String,
    #[arg(long)]
    pub until_block: Option<u64>,
    #[arg(long, env = "OPENTOKEN_COMMIT_EVERY", default_value_t = 1000)]
    pub commit_every: u64,
    /// Serve /healthz, /readyz and /metrics here.
    #[arg(long, env = "OPENTOKEN_LISTEN")]
    pub listen: Option<SocketAddr>,
}

impl ProcessArgs {
    pub(crate) async fn execute(self) -> Result<()> {
        let ctx = RoleContext::start(load_spec(&self.common.chain)?);
        ctx.telemetry.register("processor", "loading state");
        serve_probes(self.listen, ctx.telemetry.clone(), ctx.stop.clone()).await?;
        let registry = opentoken_registry::modules(&ctx.spec)?;
        let module = opentoken_registry::find(&registry, &self.module)?;
        let links = opentoken_registry::message_links(&registry, std::slice::from_ref(&self.module));
        tokio::task::spawn_blocking(move || -> Result<()> {
            let Some(backends) = open_backends(&self.common, "processor", true, &ctx)? else {
                return Ok(());
            };
            let spec = &ctx.spec;
            let parts = ProcessorParts {
                modules: vec![module],
                log: backends.log.clone(),
                store: backends.store()?,
                config: ProcessorConfig {
                    commit_every_blocks: self.commit_every.max(1),
                    until_block: self.until_block,
                    checkpoints_topic: backends.distributed.then(|| spec.checkpoints_topic()),
                    consumer_group: backends
                        .distributed
                        .then(|| format!("{}.processor.{}", spec.name, self.module)),
                    links,
                    ..Default::default()
                },
            };
            run_processor(&ctx, parts, "opening the processor", true)
        })
        .await?
    }
}
