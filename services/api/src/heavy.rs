//! The routes that read or hash a whole module's state, or many keys of it (`/consensus`,
//! `/v1/state/nodes`, `/v1/snapshots/{block}`, `/coin`, `/api/multisig`, the DEX's `/dex`,
//! `/api/orderbook`, `/api/recent`, `/api/historical`, and the NFT module's lists: `/api/nfts`,
//! `/api/set`, `/api/trades`, `/api/sets` and the NFT market routes, `/v1/events`): their work runs on the
//! blocking pool, each route has a fixed number of slots (a request finds a free one or is
//! refused at once with 503 and `Retry-After`, never queued), and each client address has
//! one rate for all of them.

use crate::client::ClientIp;
use crate::limits::{ApiLimits, BUSY_RETRY_SECS};
use crate::rate::RateLimiter;
use crate::reply::{blocking, refuse};
use axum::http::StatusCode;
use axum::response::Response;
use opentoken_telemetry::metrics::API;
use opentoken_telemetry::Telemetry;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// One whole-state route's slots.
#[derive(Debug)]
pub(crate) struct HeavyRoute {
    name: &'static str,
    slots: Arc<Semaphore>,
    size: usize,
}

impl HeavyRoute {
    fn new(name: &'static str, size: usize) -> Self {
        let size = size.max(1);
        Self {
            name,
            slots: Arc::new(Semaphore::new(size)),
            size,
        }
    }
}

#[derive(Debug)]
pub(crate) struct HeavyRoutes {
    pub(crate) consensus: HeavyRoute,
    pub(crate) nodes_state: HeavyRoute,
    pub(crate) snapshots: HeavyRoute,
    pub(crate) coin: HeavyRoute,
    pub(crate) multisig: HeavyRoute,
    pub(crate) dex: HeavyRoute,
    pub(crate) dex_book: HeavyRoute,
    pub(crate) dex_trades: HeavyRoute,
    pub(crate) nft_holdings: HeavyRoute,
    pub(crate) nft_market: HeavyRoute,
    pub(crate) events: HeavyRoute,
    rate: Option<RateLimiter>,
    telemetry: Arc<Telemetry>,
}

impl HeavyRoutes {
    pub(crate) fn new(limits: &ApiLimits, telemetry: Arc<Telemetry>) -> Self {
        let slots = limits.heavy_concurrency;
        Self {
            consensus: HeavyRoute::new("/consensus", slots),
            nodes_state: HeavyRoute::new("/v1/state/nodes", slots),
            snapshots: HeavyRoute::new("/v1/snapshots", slots),
            coin: HeavyRoute::new("/coin", slots),
            multisig: HeavyRoute::new("/api/multisig", slots),
            dex: HeavyRoute::new("/dex", slots),
            dex_book: HeavyRoute::new("/api/orderbook", slots),
            dex_trades: HeavyRoute::new("/api/recent and /api/historical", slots),
            nft_holdings: HeavyRoute::new("/api/nfts, /api/set and /api/trades", slots),
            nft_market: HeavyRoute::new(
                "/api/sets, /api/auctions, /api/mintauctions, /api/sales, /api/mintsales and /api/mintsupply",
                slots,
            ),
            events: HeavyRoute::new("/v1/events", slots),
            rate: RateLimiter::new(limits.heavy_per_minute, limits.heavy_burst),
            telemetry,
        }
    }

    /// Runs `work` on the blocking pool in one of `route`'s slots, or refuses: 429 when
    /// `client` is over its rate, 503 when every slot is taken. The slot is held until
    /// `work` returns, even when the request timed out meanwhile.
    pub(crate) async fn run(
        &self,
        route: &HeavyRoute,
        client: ClientIp,
        work: impl FnOnce() -> Response + Send + 'static,
    ) -> Response {
        if let Some(rate) = &self.rate {
            if let Err(wait) = rate.take(client.0) {
                API.rate_limited.add(&self.telemetry, 1);
                let secs = wait.as_secs_f64().ceil() as u64;
                return refuse(
                    StatusCode::TOO_MANY_REQUESTS,
                    secs,
                    format!(
                        "too many whole-state requests from your address (--api-heavy-per-minute); retry in {secs} s"
                    ),
                );
            }
        }
        let Ok(slot) = route.slots.clone().try_acquire_owned() else {
            API.busy.add(&self.telemetry, 1);
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                BUSY_RETRY_SECS,
                format!(
                    "{} is busy: all {} of its slots are taken (--api-heavy-concurrency); retry shortly",
                    route.name, route.size
                ),
            );
        };
        blocking(move || {
            let _slot = slot;
            work()
        })
        .await
    }
}
