//! `opentoken ingest`: follow Hive and publish each module's ops to its topic.

use super::HiveArgs;
use crate::backends::{hive_client, load_spec, open_backends, Common};
use crate::context::RoleContext;
use crate::supervise::serve_probes;
use anyhow::Result;
use clap::Args;
use opentoken_ingester::Publisher;
use std::net::SocketAddr;

#[derive(Args, Clone, Debug)]
pub(crate) struct IngestArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub hive: HiveArgs,
    #[arg(long)]
    pub until_block: Option<u64>,
    /// Serve /healthz, /readyz and /metrics here.
    #[arg(long, env = "OPENTOKEN_LISTEN")]
    pub listen: Option<SocketAddr>,
}

impl IngestArgs {
    pub(crate) async fn execute(self) -> Result<()> {
        let ctx = RoleContext::start(load_spec(&self.common.chain)?);
        ctx.telemetry.register("ingester", "starting");
        serve_probes(self.listen, ctx.telemetry.clone(), ctx.stop.clone()).await?;
        let publisher = tokio::task::spawn_blocking({
            let (ctx, common) = (ctx.clone(), self.common.clone());
            move || open_publisher(&ctx, &common)
        })
        .await??;
        let Some(publisher) = publisher else { return Ok(()) };
        let client = hive_client(&self.hive.hive_api)?;
        let config = self.hive.ingester_config(self.until_block);
        opentoken_ingester::run(publisher, client, config, ctx.telemetry, ctx.stop).await?;
        Ok(())
    }
}

/// The publisher, resumed from the ops topics' last records (waiting for the broker).
/// `None` when stopped meanwhile.
fn open_publisher(ctx: &RoleContext, common: &Common) -> Result<Option<Publisher>> {
    let Some(backends) = open_backends(common, "ingester", false, ctx)? else {
        return Ok(None);
    };
    let modules = opentoken_registry::modules(&ctx.spec)?;
    let tables = opentoken_registry::route_tables(&modules);
    Ok(ctx.retry("reading the ops topics' last records", "ingester", || {
        Publisher::open(ctx.spec.clone(), tables.clone(), backends.log.clone())
    })?)
}
