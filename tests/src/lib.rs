//! Shared helpers of the cross-service tests in `tests/*.rs`.
//!
//! - [`paths`]: where the repository, the `opentoken` binary, the devnet chain spec and the
//!   test Python are.
//! - [`pipeline`]: the node's stages in this process (generate a devnet chain, publish it,
//!   process it, fingerprint the result), over the module registry the binary runs.
//! - [`process`]: the `opentoken` binary as child processes: a test's [`Work`] directory,
//!   the [`Role`] builder, [`Proc`], and the devnet simulator.
//! - [`broker`]: the Kafka-compatible broker (tansu) of the distributed-mode tests.
//! - [`dump`]: state dumps in the reference's `/state` shapes.
//! - [`http`]: one JSON GET for the roles' APIs and probes.
//! - [`nft`]: the NFT module's engine harness (`use opentoken_e2e::nft::*`).
//! - [`routed`]: one block of ops on a `TestNet`, each routed to its module.
//!
//! Everything is re-exported here, so a test needs only `use opentoken_e2e::*`.

pub mod broker;
pub mod dump;
pub mod http;
pub mod nft;
pub mod paths;
pub mod pipeline;
pub mod process;
pub mod routed;

pub use broker::{tansu, Broker};
pub use dump::put_path;
pub use http::http_get_json;
pub use paths::*;
pub use pipeline::*;
pub use process::*;
