//! `opentoken serve`: the HTTP API over the node's store (in distributed mode with embedded
//! stores, over a replica it builds itself).

use crate::api_args::ApiArgs;
use crate::backends::{load_spec, open_backends, Common};
use crate::context::{RoleContext, VERSION};
use crate::drive::{run_processor, ProcessorParts};
use crate::supervise::{bind_api, serve_api, Lifetime, Listen, Supervisor};
use anyhow::Result;
use clap::Args;
use opentoken_processor::ProcessorConfig;

#[derive(Args, Clone, Debug)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub listen: Listen,
    #[command(flatten)]
    pub api: ApiArgs,
    #[arg(long, env = "OPENTOKEN_NODE_ACCOUNT", default_value = "")]
    pub node_account: String,
}

impl ServeArgs {
    pub(crate) async fn execute(self) -> Result<()> {
        let ctx = RoleContext::start(load_spec(&self.common.chain)?);
        let listener = bind_api(self.listen.listen).await?;
        let backends = tokio::task::spawn_blocking({
            let (ctx, common) = (ctx.clone(), self.common.clone());
            move || open_backends(&common, "api", true, &ctx)
        })
        .await??;
        let Some(backends) = backends else { return Ok(()) };
        let store = backends.store()?;
        let modules = opentoken_registry::modules(&ctx.spec)?;
        let mut supervisor = Supervisor::new(ctx.stop.clone());
        // With Kafka and embedded stores, the processors' stores are theirs alone: the API
        // keeps its own replica, built from the same topics by the same deterministic
        // engine. With ScyllaDB it reads the processors' projections directly.
        if backends.distributed && self.common.scylla_uri.is_none() {
            ctx.telemetry.register("processor", "loading the API's replica");
            let replica = ProcessorParts {
                modules: modules.clone(),
                log: backends.log.clone(),
                store: store.clone(),
                config: ProcessorConfig {
                    consumer_group: Some(format!("{}.api", ctx.spec.name)),
                    ..Default::default()
                },
            };
            let replica_ctx = ctx.clone();
            supervisor.spawn_blocking("API replica (processor)", Lifetime::UntilStopped, move || {
                run_processor(&replica_ctx, replica, "opening the API replica", false)
            });
        }
        let state = opentoken_api::ApiState {
            spec: ctx.spec.clone(),
            store,
            log: backends.log,
            telemetry: ctx.telemetry.clone(),
            node: self.node_account,
            version: VERSION.to_string(),
            modules: opentoken_registry::module_names(&modules),
        };
        println!("API: http://{}/", listener.local_addr()?);
        supervisor.spawn(
            "API",
            Lifetime::UntilStopped,
            serve_api(state, self.api.limits(), listener, ctx.stop.clone()),
        );
        supervisor.wait().await
    }
}
