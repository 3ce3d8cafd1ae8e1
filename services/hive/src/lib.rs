//! Hive integration: reading blocks from API nodes, and a local simulator of one.

pub mod authority;
pub mod broadcast;
pub mod client;
pub mod devnet_keys;
pub mod dex_traffic;
pub mod ledger;
pub mod nft_traffic;
pub mod pob_traffic;
pub mod seal;
pub mod simulator;
pub mod traffic;
pub mod verified;

pub use client::{ClientConfig, DynamicGlobalProperties, HiveClient, HiveError};
pub use devnet_keys::{devnet_key, devnet_multisig_authority, KeyRole};
pub use dex_traffic::DexTraffic;
pub use ledger::{Account, GenesisConfig, Ledger};
pub use nft_traffic::NftTraffic;
pub use pob_traffic::PobTraffic;
pub use seal::SealedBlock;
pub use simulator::{generate_blocks, generate_chain, SimConfig, SimHandle, Simulator, Tamper, TamperMode};
pub use traffic::TrafficConfig;
pub use verified::VerifiedRange;
