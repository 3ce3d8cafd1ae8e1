//! The HTTP API. Routes follow the reference node where it has them (`/@:account`,
//! `/stats`, `/api/status/:txid`, `/api/protocol`, `/coin`), with the same field names, so
//! existing wallets keep working; `/api/multisig` shows the community's multi-sig account
//! on a chain that runs the multisig module; `/dex` and the CoinGecko-style `/api/pairs`,
//! `/api/tickers`, `/api/orderbook`, `/api/recent`, `/api/historical` show the DEX on a chain
//! that runs it; the NFT wallet's `/api/nfts`, `/api/nft`, `/api/sets`, `/api/set`,
//! `/api/auctions`, `/api/mintauctions`, `/api/sales`, `/api/mintsales`, `/api/mintsupply`,
//! `/api/pfp` and `/api/trades` show the NFT module on a chain that runs it; `/healthz`,
//! `/readyz` and `/metrics` are for operators.
//!
//! Every handler reads committed state from the store, never in-flight engine state, so
//! what the API shows is always something the node has durably agreed with itself.
//!
//! Anyone can call every route, so every route is bounded ([`ApiLimits`]): a timeout, a
//! cap on requests in flight, slots and a per-client rate for the routes that read a whole
//! state, a body limit, and CORS for browser wallets. Store reads run on the blocking pool,
//! never on the async workers the node's other roles share.
//!
//! Files: `handlers` (the cheap routes and the probes), `whole_state` (the heavy routes and
//! their caches), `multisig` (the multi-sig account, a heavy route), `dex` (the DEX's
//! markets and `/@:account`'s open orders), `nft` (the NFT module's sets, NFTs and offers),
//! `heavy` (their slots and rate), `limits` (the request-wide bounds), `rate`, `cache`,
//! `cors`, `client` (who is asking), `envelope` (what every answer carries), `reply` (shared
//! answers), `request_id` (every request's `X-Request-Id` and log span), `nodes` (the
//! reference's node routes: `/runners`, `/queue`, `/markets`, `/api/mirrors`,
//! `/report/{account}`), `openapi` (the route table the router is built from, and the
//! OpenAPI 3.1 document at `/openapi.json` generated from it).
//!
//! Ids: every answer carries an `X-Request-Id` header (the client's, when it is a safe
//! token, else a fresh random UUID), and what lists op statuses or multi-sig outflows gives
//! each one an `id`, a name-based UUID from its chain position or number
//! (`opentoken_core::id`), the same on every node.

mod cache;
mod client;
mod cors;
mod dex;
mod envelope;
mod events;
mod handlers;
mod heavy;
mod limits;
mod multisig;
mod nft;
mod nodes;
mod openapi;
mod part;
mod rate;
mod reply;
mod request_id;
mod whole_state;

pub use cors::{CorsOrigins, CorsOriginsError};
pub use limits::ApiLimits;

use axum::body::Bytes;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::Router;
use cache::RecentCache;
use heavy::HeavyRoutes;
use limits::Guard;
use opentoken_core::ChainSpec;
use opentoken_log::Log;
use opentoken_store::Store;
use opentoken_telemetry::Telemetry;
use serde_json::Value;
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use whole_state::SnapshotKey;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub spec: Arc<ChainSpec>,
    pub store: Arc<dyn Store>,
    pub log: Arc<dyn Log>,
    pub telemetry: Arc<Telemetry>,
    /// This node's Hive account ("" if it has none).
    pub node: String,
    pub version: String,
    /// The modules whose checkpoints form the consensus hash (snapshots are served for them).
    pub modules: Vec<String>,
}

/// The node and what it serves; the store, log and telemetry are skipped.
impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("chain", &self.spec.name)
            .field("node", &self.node)
            .field("version", &self.version)
            .field("modules", &self.modules)
            .finish_non_exhaustive()
    }
}

/// What the handlers share: the node's state and the API's own bookkeeping.
pub(crate) struct App {
    pub(crate) api: ApiState,
    pub(crate) heavy: HeavyRoutes,
    /// Encoded checkpoint snapshots, by block and checkpoint hashes.
    pub(crate) snapshots: RecentCache<SnapshotKey, Bytes>,
    /// `/coin`'s sums, by committed block.
    pub(crate) supply: RecentCache<u64, Value>,
}

/// Upper bound on cached `/coin` answers (one per committed block; only the newest is asked).
const SUPPLY_CACHE: usize = 2;

/// The API with the default [`ApiLimits`].
pub fn router(state: ApiState) -> Router {
    router_with(state, &ApiLimits::default())
}

/// The API with `limits`. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`, or every client shares one rate.
pub fn router_with(state: ApiState, limits: &ApiLimits) -> Router {
    let telemetry = state.telemetry.clone();
    // From 0, so that the first refusal is an increase (see `Counter::init`).
    opentoken_telemetry::metrics::API.init(&telemetry);
    let guard = Guard::new(limits, telemetry.clone());
    let app = Arc::new(App {
        heavy: HeavyRoutes::new(limits, telemetry.clone()),
        snapshots: RecentCache::new(limits.snapshot_cache),
        supply: RecentCache::new(SUPPLY_CACHE),
        api: state,
    });
    let mut public = Router::new();
    for r in openapi::routes() {
        public = public.route(r.axum, (r.handler)());
    }
    let doc: Arc<str> = openapi::document(&app.api.version).to_string().into();
    let public = public
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        doc.to_string(),
                    )
                }
            }),
        )
        .with_state(app)
        .layer(from_fn_with_state(guard.clone(), limits::in_flight));
    bounded(public.merge(probes(telemetry)), limits, guard)
}

/// The probes: exempt from the cap on requests in flight, so a busy API is not taken for a
/// dead node.
fn probes(telemetry: Arc<Telemetry>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|axum::extract::State(t): axum::extract::State<Arc<Telemetry>>| async move {
                handlers::ready_response(&t)
            }),
        )
        .route(
            "/metrics",
            get(|axum::extract::State(t): axum::extract::State<Arc<Telemetry>>| async move {
                handlers::metrics_response(&t)
            }),
        )
        .with_state(telemetry)
}

/// The bounds every route gets: the timeout, CORS (outside it, so refusals carry the
/// headers a browser needs to read them), the body limit, and the request id (outermost, so
/// that every answer carries one, the limits' refusals and CORS preflights included).
fn bounded(router: Router, limits: &ApiLimits, guard: Guard) -> Router {
    let router = router.layer(from_fn_with_state(guard, limits::timeout));
    let router = match limits.cors.layer() {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(axum::middleware::from_fn(request_id::tag))
}

/// Health, readiness and metrics alone: what the roles that serve no API (ingester,
/// processor, checkpointer) expose for their probes and for Prometheus.
pub fn probes_router(telemetry: Arc<Telemetry>) -> Router {
    let limits = ApiLimits {
        cors: CorsOrigins::None,
        ..ApiLimits::default()
    };
    let guard = Guard::new(&limits, telemetry.clone());
    bounded(probes(telemetry), &limits, guard)
}
