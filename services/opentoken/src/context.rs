//! What every role process starts with, opened once: the chain spec, the telemetry its
//! probes and API read, and the stop token its tasks and threads watch.

use crate::supervise::{cancel_on_signal, with_retry};
use opentoken_core::ChainSpec;
use opentoken_lifecycle::{CancellationToken, Transient};
use opentoken_telemetry::Telemetry;
use std::sync::Arc;

/// The software version named in reports, registrations and the API.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Cheap to clone: every task and blocking thread of a role takes its own copy.
#[derive(Clone)]
pub(crate) struct RoleContext {
    pub spec: Arc<ChainSpec>,
    pub telemetry: Arc<Telemetry>,
    /// Cancelled on SIGTERM/Ctrl-C, when a role of the process fails, or when the process
    /// is done (`--until-block`).
    pub stop: CancellationToken,
}

impl RoleContext {
    /// A context nothing stops but the process itself (one-shot commands such as replay).
    pub(crate) fn new(spec: Arc<ChainSpec>) -> Self {
        Self {
            spec,
            telemetry: Arc::new(Telemetry::new()),
            stop: CancellationToken::new(),
        }
    }

    /// The context of a long-running role: SIGTERM and Ctrl-C cancel its stop token.
    /// Call within the runtime.
    pub(crate) fn start(spec: Arc<ChainSpec>) -> Self {
        let ctx = Self::new(spec);
        // From 0, so that the first retry is an increase (see `Counter::init`).
        opentoken_telemetry::metrics::NODE.init(&ctx.telemetry);
        // Over OTLP too when configured (a no-op otherwise); /metrics is unchanged.
        opentoken_telemetry::otel::observe(&ctx.telemetry);
        cancel_on_signal(ctx.stop.clone());
        ctx
    }

    /// [`with_retry`] with this context's telemetry and stop token: retries transient
    /// errors of `f`, reporting `component` not ready meanwhile. `None` when stopped.
    pub(crate) fn retry<T, E: Transient + std::fmt::Display>(
        &self,
        what: &str,
        component: &str,
        f: impl FnMut() -> Result<T, E>,
    ) -> Result<Option<T>, E> {
        with_retry(what, component, &self.telemetry, &self.stop, f)
    }
}
