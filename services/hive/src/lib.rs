//! Hive integration: reading blocks from API nodes, and a local simulator of one.

pub mod client;
pub mod devnet_keys;
pub mod simulator;
pub mod traffic;

pub use client::{ClientConfig, DynamicGlobalProperties, HiveClient, HiveError};
pub use devnet_keys::{devnet_key, KeyRole};
pub use simulator::{generate_block, SimConfig, SimHandle, Simulator};
pub use traffic::TrafficConfig;
