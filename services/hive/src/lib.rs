//! Hive integration: reading blocks from API nodes, and a local simulator of one.

pub mod client;
pub mod devnet_keys;
pub mod seal;
pub mod simulator;
pub mod traffic;
pub mod verified;

pub use client::{ClientConfig, DynamicGlobalProperties, HiveClient, HiveError};
pub use devnet_keys::{devnet_key, KeyRole};
pub use seal::SealedBlock;
pub use simulator::{generate_blocks, SimConfig, SimHandle, Simulator, Tamper, TamperMode};
pub use traffic::TrafficConfig;
pub use verified::VerifiedRange;
