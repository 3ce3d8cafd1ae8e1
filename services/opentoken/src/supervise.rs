//! How a role process starts, waits and stops: the stop token and the signals that cancel
//! it, the HTTP servers that shut down with it, retrying what waits for a broker, and the
//! supervision of the role tasks that share one process.
//!
//! The rule of [`Supervisor`]: the roles of a process live and die together. A role that
//! fails, panics or returns while nobody asked it to stop cancels the stop token, the
//! others finish their current step, and the process exits with an error naming the role.
//! A node never keeps answering `/readyz` with "ready" over state that stopped moving.

use anyhow::{anyhow, Context, Result};
use clap::Args;
use opentoken_lifecycle::{retry_blocking, Backoff, CancellationToken, Retried, Transient};
use opentoken_telemetry::metrics::NODE;
use opentoken_telemetry::Telemetry;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::{Id, JoinError, JoinSet};

/// Where the API listens.
#[derive(Args, Clone, Debug)]
pub(crate) struct Listen {
    #[arg(long, env = "OPENTOKEN_LISTEN", default_value = "127.0.0.1:3001")]
    pub listen: SocketAddr,
}

/// Resolves on Ctrl-C or SIGTERM (what Kubernetes and systemd send), naming which.
pub(crate) async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "Ctrl-C",
                _ = term.recv() => "SIGTERM",
            },
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); only Ctrl-C stops the node cleanly");
                let _ = tokio::signal::ctrl_c().await;
                "Ctrl-C"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Cancels `stop` on Ctrl-C or SIGTERM; the roles finish their current commit and exit.
pub(crate) fn cancel_on_signal(stop: CancellationToken) {
    tokio::spawn(async move {
        tokio::select! {
            which = shutdown_signal() => {
                tracing::info!("stopping ({which}): finishing the current commit");
                stop.cancel();
            }
            // Stopped for another reason (a failed role, --until-block): nothing to wait for.
            _ = stop.cancelled() => {}
        }
    });
}

pub(crate) async fn bind_api(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the API to {addr}; is the port in use? (--listen)"))
}

/// Serves the API with `limits` until `stop` is cancelled, then lets the requests in flight
/// finish. Connections carry their peer address, which the per-client rate limit counts by.
pub(crate) async fn serve_api(
    state: opentoken_api::ApiState,
    limits: opentoken_api::ApiLimits,
    listener: tokio::net::TcpListener,
    stop: CancellationToken,
) -> Result<()> {
    let app = opentoken_api::router_with(state, &limits).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
        .context("API server")
}

/// Serves `/healthz`, `/readyz` and `/metrics` on `listen` (when given) until `stop`, for
/// the roles that have no API of their own. A failed probe server is logged, not fatal:
/// the role itself is still doing its job.
pub(crate) async fn serve_probes(
    listen: Option<SocketAddr>,
    telemetry: Arc<Telemetry>,
    stop: CancellationToken,
) -> Result<()> {
    let Some(addr) = listen else { return Ok(()) };
    let listener = bind_api(addr).await?;
    tracing::info!("health, readiness and metrics on http://{}/", listener.local_addr()?);
    let app = opentoken_api::probes_router(telemetry);
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "probe server failed");
        }
    });
    Ok(())
}

/// Calls `f` on this blocking thread until it succeeds, retrying transient errors (a log
/// that is away) with the service backoff and reporting `component` not ready meanwhile;
/// a permanent error is returned. `None` when stopped while waiting.
pub(crate) fn with_retry<T, E: Transient + std::fmt::Display>(
    what: &str,
    component: &str,
    telemetry: &Telemetry,
    stop: &CancellationToken,
    f: impl FnMut() -> Result<T, E>,
) -> Result<Option<T>, E> {
    let on_retry = |e: &E, wait| {
        // The error can name a broker or a ScyllaDB URI: `/readyz` is public, the log is not.
        telemetry.set_not_ready_with_detail(
            component,
            format!("{what}: a backend (log or store) is unavailable; retrying (the error is in the node's log)"),
            e,
        );
        NODE.log_retries.add(telemetry, 1);
        tracing::warn!(error = %e, "{what} failed; retrying in {wait:?}");
    };
    match retry_blocking(stop, Backoff::for_service(), on_retry, f) {
        Retried::Done(value) => Ok(Some(value)),
        Retried::Failed(e) => Err(e),
        Retried::Stopped => Ok(None),
    }
}

/// Whether a role may end before the process is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifetime {
    /// Runs until the stop token is cancelled; ending earlier (even without an error) is a
    /// failure. A role whose end is the process's end (the processor at `--until-block`)
    /// cancels the token itself before it returns.
    UntilStopped,
    /// May finish its part and end while the others go on (an ingester that reached
    /// `--until-block`); an error is still a failure.
    MayFinish,
}

/// The role tasks of one process, run until all have ended; the first that ends
/// unexpectedly stops the rest (see the module docs).
pub(crate) struct Supervisor {
    stop: CancellationToken,
    tasks: JoinSet<Result<()>>,
    roles: HashMap<Id, (&'static str, Lifetime)>,
}

impl Supervisor {
    pub(crate) fn new(stop: CancellationToken) -> Self {
        Self {
            stop,
            tasks: JoinSet::new(),
            roles: HashMap::new(),
        }
    }

    /// Runs an async role.
    pub(crate) fn spawn(
        &mut self,
        role: &'static str,
        lifetime: Lifetime,
        task: impl Future<Output = Result<()>> + Send + 'static,
    ) {
        let handle = self.tasks.spawn(task);
        self.roles.insert(handle.id(), (role, lifetime));
    }

    /// Runs a synchronous role on a blocking thread (it checks the stop token between steps).
    pub(crate) fn spawn_blocking(
        &mut self,
        role: &'static str,
        lifetime: Lifetime,
        task: impl FnOnce() -> Result<()> + Send + 'static,
    ) {
        let handle = self.tasks.spawn_blocking(task);
        self.roles.insert(handle.id(), (role, lifetime));
    }

    /// Waits for every role to end. `Ok` when they all ended because the process was asked
    /// to stop (or finished their part); otherwise the error of the first role that ended
    /// unexpectedly, naming it, after the others have stopped.
    pub(crate) async fn wait(mut self) -> Result<()> {
        let mut first_failure: Option<anyhow::Error> = None;
        while let Some(joined) = self.tasks.join_next_with_id().await {
            let (id, outcome) = match joined {
                Ok((id, outcome)) => (id, outcome),
                Err(e) => (e.id(), Err(panic_error(e))),
            };
            let (role, lifetime) = self
                .roles
                .remove(&id)
                .unwrap_or(("unnamed role", Lifetime::UntilStopped));
            let failure = match outcome {
                Ok(()) if self.stop.is_cancelled() || lifetime == Lifetime::MayFinish => {
                    tracing::debug!(role, "role ended");
                    continue;
                }
                Ok(()) => anyhow!("the {role} ended while the node was running"),
                Err(e) => e.context(format!("the {role} failed")),
            };
            if first_failure.is_some() {
                tracing::warn!(
                    role,
                    error = format!("{failure:#}"),
                    "another role failed while stopping"
                );
                continue;
            }
            tracing::error!(
                role,
                error = format!("{failure:#}"),
                "a role ended unexpectedly; stopping the node"
            );
            self.stop.cancel();
            first_failure = Some(failure);
        }
        first_failure.map_or(Ok(()), Err)
    }
}

/// A role task that did not return: it panicked (or was aborted).
fn panic_error(e: JoinError) -> anyhow::Error {
    if !e.is_panic() {
        return anyhow!("task was cancelled");
    }
    let payload = e.into_panic();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_string());
    anyhow!("panicked: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A well-behaved long-running role: it ends when, and only when, it is asked to stop.
    fn until_stopped(stop: &CancellationToken) -> impl Future<Output = Result<()>> + Send + 'static {
        let stop = stop.clone();
        async move {
            stop.cancelled().await;
            Ok(())
        }
    }

    async fn wait_bounded(supervisor: Supervisor) -> Result<()> {
        tokio::time::timeout(Duration::from_secs(10), supervisor.wait())
            .await
            .expect("the supervisor must not hang once a role failed")
    }

    /// A broker error naming a URL with credentials, as a client library's might.
    #[derive(Debug)]
    struct BrokerAway;

    impl std::fmt::Display for BrokerAway {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("connect to sasl://user:pass@broker.internal:9093 refused")
        }
    }

    impl Transient for BrokerAway {
        fn is_transient(&self) -> bool {
            true
        }
    }

    #[test]
    fn a_retried_error_shows_on_readyz_without_its_text() {
        let telemetry = Telemetry::new();
        let mut failures = 1;
        let done = with_retry(
            "checkpointing",
            "checkpointer",
            &telemetry,
            &CancellationToken::new(),
            || {
                if failures > 0 {
                    failures -= 1;
                    return Err(BrokerAway);
                }
                Ok(())
            },
        );
        assert!(matches!(done, Ok(Some(()))));
        let reasons = telemetry
            .readiness()
            .expect_err("still not ready until the role says so");
        let text = format!("{reasons:?}");
        assert!(text.contains("checkpointing") && text.contains("unavailable"), "{text}");
        assert!(
            !text.contains("user:pass") && !text.contains("broker.internal"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_failing_role_stops_the_others_and_is_named() {
        let stop = CancellationToken::new();
        let mut supervisor = Supervisor::new(stop.clone());
        supervisor.spawn("API", Lifetime::UntilStopped, until_stopped(&stop));
        supervisor.spawn("ingester", Lifetime::UntilStopped, async {
            Err(anyhow!("block 12 does not link to block 11"))
        });
        let e = wait_bounded(supervisor)
            .await
            .expect_err("the node must stop with an error");
        assert!(stop.is_cancelled(), "the other roles were told to stop");
        let text = format!("{e:#}");
        assert!(text.contains("the ingester failed"), "{text}");
        assert!(text.contains("does not link"), "{text}");
    }

    #[tokio::test]
    async fn a_role_that_returns_while_running_is_a_failure() {
        let stop = CancellationToken::new();
        let mut supervisor = Supervisor::new(stop.clone());
        supervisor.spawn("API", Lifetime::UntilStopped, until_stopped(&stop));
        supervisor.spawn("consensus agent", Lifetime::UntilStopped, async { Ok(()) });
        let e = wait_bounded(supervisor)
            .await
            .expect_err("a silent end is not a clean stop");
        assert!(
            e.to_string()
                .contains("consensus agent ended while the node was running"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_panicking_blocking_role_is_named_with_its_panic() {
        let stop = CancellationToken::new();
        let mut supervisor = Supervisor::new(stop.clone());
        supervisor.spawn("API", Lifetime::UntilStopped, until_stopped(&stop));
        let blocking_stop = stop.clone();
        supervisor.spawn_blocking("processor", Lifetime::UntilStopped, move || {
            blocking_stop.cancel();
            panic!("index out of bounds");
        });
        let text = format!(
            "{:#}",
            wait_bounded(supervisor).await.expect_err("a panic is a failure")
        );
        assert!(text.contains("the processor failed"), "{text}");
        assert!(text.contains("index out of bounds"), "{text}");
    }

    #[tokio::test]
    async fn a_stop_ends_every_role_cleanly() {
        let stop = CancellationToken::new();
        let mut supervisor = Supervisor::new(stop.clone());
        supervisor.spawn("API", Lifetime::UntilStopped, until_stopped(&stop));
        let blocking_stop = stop.clone();
        supervisor.spawn_blocking("processor", Lifetime::UntilStopped, move || {
            while opentoken_lifecycle::sleep_unless(&blocking_stop, Duration::from_millis(20)) {}
            Ok(())
        });
        stop.cancel();
        wait_bounded(supervisor)
            .await
            .expect("a requested stop is not a failure");
    }

    #[tokio::test]
    async fn a_role_that_may_finish_leaves_the_others_running() {
        let stop = CancellationToken::new();
        let mut supervisor = Supervisor::new(stop.clone());
        supervisor.spawn("ingester", Lifetime::MayFinish, async { Ok(()) });
        let blocking_stop = stop.clone();
        supervisor.spawn_blocking("processor", Lifetime::UntilStopped, move || {
            std::thread::sleep(Duration::from_millis(100));
            assert!(!blocking_stop.is_cancelled(), "the ingester's end stopped nothing");
            blocking_stop.cancel(); // reached --until-block: the node's end
            Ok(())
        });
        supervisor.spawn("API", Lifetime::UntilStopped, until_stopped(&stop));
        wait_bounded(supervisor).await.expect("finishing is not failing");
    }

    #[tokio::test]
    async fn a_finished_role_still_fails_the_node_with_an_error() {
        let stop = CancellationToken::new();
        let mut supervisor = Supervisor::new(stop.clone());
        supervisor.spawn("ingester", Lifetime::MayFinish, async { Err(anyhow!("decode")) });
        supervisor.spawn("API", Lifetime::UntilStopped, until_stopped(&stop));
        let e = wait_bounded(supervisor).await.expect_err("an error is an error");
        assert!(e.to_string().contains("the ingester failed"), "{e}");
    }
}
