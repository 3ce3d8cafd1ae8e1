//! The API's limits as flags of the commands that serve it (`run`, `serve`). Every route
//! is public, so each bound is settable; the defaults are `opentoken_api::ApiLimits`'s.

use clap::Args;
use opentoken_api::{ApiLimits, CorsOrigins};
use std::time::Duration;

#[derive(Args, Clone, Debug)]
pub(crate) struct ApiArgs {
    /// Answer every API request within this many seconds; 504 after it.
    #[arg(long, env = "OPENTOKEN_API_TIMEOUT_SECS", default_value_t = ApiLimits::default().timeout.as_secs())]
    pub api_timeout_secs: u64,
    /// API requests served at once (the probes /healthz, /readyz, /metrics excepted); more
    /// get 503 with Retry-After.
    #[arg(long, env = "OPENTOKEN_API_MAX_IN_FLIGHT", default_value_t = ApiLimits::default().max_in_flight)]
    pub api_max_in_flight: usize,
    /// Requests served at once by each whole-state route (/consensus, /v1/state/nodes,
    /// /v1/snapshots, /coin); more get 503 with Retry-After.
    #[arg(long, env = "OPENTOKEN_API_HEAVY_CONCURRENCY", default_value_t = ApiLimits::default().heavy_concurrency)]
    pub api_heavy_concurrency: usize,
    /// Whole-state requests per minute per client address (an IPv6 client per /64), after
    /// a burst of --api-heavy-burst; more get 429 with Retry-After. 0: no limit. Behind a
    /// reverse proxy every client is the proxy: limit there instead.
    #[arg(long, env = "OPENTOKEN_API_HEAVY_PER_MINUTE", default_value_t = ApiLimits::default().heavy_per_minute)]
    pub api_heavy_per_minute: u32,
    #[arg(long, env = "OPENTOKEN_API_HEAVY_BURST", default_value_t = ApiLimits::default().heavy_burst)]
    pub api_heavy_burst: u32,
    /// Request bodies above this many bytes are refused (413): the API has no write route.
    #[arg(long, env = "OPENTOKEN_API_MAX_BODY_BYTES", default_value_t = ApiLimits::default().max_body_bytes)]
    pub api_max_body_bytes: usize,
    /// Encoded checkpoint snapshots kept in memory for /v1/snapshots (each about twice the
    /// size of the whole state); 0 keeps none.
    #[arg(long, env = "OPENTOKEN_API_SNAPSHOT_CACHE", default_value_t = ApiLimits::default().snapshot_cache)]
    pub api_snapshot_cache: usize,
    /// Web pages allowed to read the API from a browser (CORS): `*` (any: every route is a
    /// GET of public data and no cookies are used), `none`, or a comma-separated list of
    /// origins such as `https://wallet.example`.
    #[arg(long, env = "OPENTOKEN_CORS_ORIGINS", default_value = "*")]
    pub cors_origins: CorsOrigins,
}

impl ApiArgs {
    pub(crate) fn limits(&self) -> ApiLimits {
        ApiLimits {
            timeout: Duration::from_secs(self.api_timeout_secs.max(1)),
            max_in_flight: self.api_max_in_flight,
            heavy_concurrency: self.api_heavy_concurrency,
            heavy_per_minute: self.api_heavy_per_minute,
            heavy_burst: self.api_heavy_burst,
            max_body_bytes: self.api_max_body_bytes,
            cors: self.cors_origins.clone(),
            snapshot_cache: self.api_snapshot_cache,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        api: ApiArgs,
    }

    #[test]
    fn the_defaults_are_the_api_crates() {
        let cli = Cli::try_parse_from(["t"]).expect("defaults parse");
        assert_eq!(cli.api.limits(), ApiLimits::default());
    }

    #[test]
    fn origins_are_parsed_and_bad_ones_refused_at_start() {
        let cli = Cli::try_parse_from(["t", "--cors-origins", "https://a.example,https://b.example"]).expect("parses");
        assert_eq!(
            cli.api.limits().cors,
            CorsOrigins::Only(vec!["https://a.example".into(), "https://b.example".into()])
        );
        let e = Cli::try_parse_from(["t", "--cors-origins", "a.example"])
            .err()
            .expect("not an origin");
        assert!(e.to_string().contains("not an origin"), "{e}");
    }
}
