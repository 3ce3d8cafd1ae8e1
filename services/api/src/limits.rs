//! How much the API does for anyone who asks. Every route is unauthenticated, so each
//! bound here is what keeps a flood of requests from starving the node it runs in (in
//! `opentoken run` the API shares its runtime with the ingester and the consensus agent):
//!
//! - every request is answered within `timeout` (504 after it, saying so);
//! - at most `max_in_flight` requests are served at once over the public routes; more get
//!   503 with `Retry-After` at once, never an unbounded queue. The probes (`/healthz`,
//!   `/readyz`, `/metrics`) are exempt, so a busy API is not mistaken for a dead node;
//! - each whole-state route has `heavy_concurrency` slots of its own and every client a
//!   rate for them together (see [`crate::heavy`]);
//! - request bodies are refused above `max_body_bytes` (413): the API has no write route.

use crate::cors::CorsOrigins;
use crate::reply::{fail, refuse};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use opentoken_telemetry::metrics::API;
use opentoken_telemetry::Telemetry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// When a refused client should try again, in seconds.
pub(crate) const BUSY_RETRY_SECS: u64 = 1;

/// The API's limits (the `--api-*` and `--cors-origins` flags of `run` and `serve`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiLimits {
    /// Every request is answered within this; 504 after it.
    pub timeout: Duration,
    /// Requests served at once over the public routes (not the probes); 503 beyond.
    pub max_in_flight: usize,
    /// Requests served at once per whole-state route; 503 beyond.
    pub heavy_concurrency: usize,
    /// Whole-state requests per minute per client address, after a burst of `heavy_burst`;
    /// 429 beyond. 0: no rate limit.
    pub heavy_per_minute: u32,
    pub heavy_burst: u32,
    /// Request bodies above this are refused (413).
    pub max_body_bytes: usize,
    /// Which web pages may read the API from a browser.
    pub cors: CorsOrigins,
    /// Encoded checkpoint snapshots kept for `/v1/snapshots` (each is the size of the whole
    /// state, hex-encoded); 0 keeps none.
    pub snapshot_cache: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_in_flight: 256,
            heavy_concurrency: 2,
            heavy_per_minute: 120,
            heavy_burst: 20,
            max_body_bytes: 4096,
            cors: CorsOrigins::Any,
            snapshot_cache: 2,
        }
    }
}

/// What the request-wide middlewares share.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    in_flight: Arc<Semaphore>,
    timeout: Duration,
    telemetry: Arc<Telemetry>,
}

impl Guard {
    pub(crate) fn new(limits: &ApiLimits, telemetry: Arc<Telemetry>) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
            timeout: limits.timeout,
            telemetry,
        }
    }
}

/// Refuses a request at once when `max_in_flight` are being served.
pub(crate) async fn in_flight(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let Ok(_slot) = guard.in_flight.clone().try_acquire_owned() else {
        API.busy.add(&guard.telemetry, 1);
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            BUSY_RETRY_SECS,
            "the API is serving as many requests as it allows (--api-max-in-flight); retry shortly",
        );
    };
    next.run(request).await
}

/// Answers 504 when a request takes longer than the timeout. Work already on the blocking
/// pool finishes in the background, still holding its route's slot, so timed-out requests
/// cannot pile up work.
pub(crate) async fn timeout(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(guard.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            API.timeouts.add(&guard.telemetry, 1);
            fail(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "the request took longer than {:?} (--api-timeout-secs); the node is busy, retry later",
                    guard.timeout
                ),
            )
        }
    }
}
