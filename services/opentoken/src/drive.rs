//! Driving a processor on a blocking thread, as `process` and the replica of `serve` do:
//! opened and stepped with retries while the log is away, until stopped or done.

use crate::context::RoleContext;
use crate::progress::{LogLag, ProgressLine};
use anyhow::Result;
use opentoken_core::engine::ErasedModule;
use opentoken_lifecycle::{sleep_unless, Transient};
use opentoken_log::Log;
use opentoken_processor::{Processor, ProcessorConfig, ProcessorError, Step};
use opentoken_store::Store;
use std::sync::Arc;

/// What a processor runs over.
pub(crate) struct ProcessorParts {
    pub modules: Vec<Arc<dyn ErasedModule>>,
    pub log: Arc<dyn Log>,
    pub store: Arc<dyn Store>,
    pub config: ProcessorConfig,
}

impl ProcessorParts {
    /// Opens the processor (it loads and checks the committed state), waiting out log
    /// outages. `None` when stopped meanwhile.
    pub(crate) fn open(&self, ctx: &RoleContext, what: &str) -> Result<Option<Processor>, ProcessorError> {
        ctx.retry(what, "processor", || self.open_once(ctx))
    }

    /// Opens the processor without retrying (the embedded log is never away).
    pub(crate) fn open_once(&self, ctx: &RoleContext) -> Result<Processor, ProcessorError> {
        // From 0, so that the first op, commit or rejection is an increase.
        opentoken_telemetry::metrics::PROCESSOR.init(&ctx.telemetry);
        Processor::open(
            ctx.spec.clone(),
            self.modules.clone(),
            self.log.clone(),
            self.store.clone(),
            self.config.clone(),
            ctx.telemetry.clone(),
        )
    }
}

/// Opens and drives the processor of `parts` until stopped or done (`--until-block`),
/// waiting out log outages; `progress` lines are logged when asked for.
pub(crate) fn run_processor(ctx: &RoleContext, parts: ProcessorParts, what: &str, progress: bool) -> Result<()> {
    let Some(mut processor) = parts.open(ctx, what)? else {
        return Ok(());
    };
    let mut line = progress.then(|| ProgressLine::from(processor.last_block()));
    let mut lag = LogLag::new(&ctx.spec, &parts.modules);
    ctx.telemetry.set_ready("processor");
    while !ctx.stop.is_cancelled() {
        let Some(step) = ctx.retry("processing", "processor", || processor.step())? else {
            break;
        };
        ctx.telemetry.set_ready("processor");
        lag.tick(parts.log.as_ref(), parts.store.as_ref(), &ctx.telemetry);
        match step {
            Step::Done => {
                tracing::info!(block = ?processor.last_block(), "reached --until-block");
                break;
            }
            Step::Idle => {
                sleep_unless(&ctx.stop, parts.config.idle_poll);
            }
            Step::Advanced(block) => {
                if let Some(line) = &mut line {
                    line.tick(block, &ctx.telemetry);
                }
            }
        }
    }
    // Commit what is processed; on a log outage the unpublished checkpoints are published
    // again by the next start.
    if let Err(e) = processor.flush() {
        if !e.is_transient() {
            return Err(e.into());
        }
        tracing::warn!(error = %e, "stopping with checkpoints not yet published; the next start publishes them");
    }
    Ok(())
}
