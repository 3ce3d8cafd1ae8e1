//! The chain spec: community constants every node of a community must share.
//!
//! They live in a file (`infra/chains/*.json`), never in code, and are validated at start:
//! a node with an incomplete spec must refuse to run rather than fork later.

use crate::account::is_valid_account_name;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    /// Community name, used in topic names (`<name>.ops.<module>`).
    pub name: String,
    /// custom_json id prefix, e.g. `dlux_`.
    pub prefix: String,
    /// Token symbol, e.g. `DLUX`.
    pub token: String,
    /// Decimal places of the token (amounts are integers in 10^-precision units).
    pub precision: u8,
    /// First Hive block the community processes.
    pub starting_block: u64,
    pub leader: String,
    /// The community's multi-signature Hive account.
    pub msaccount: String,
    /// Hive delegations to this account drive delegator rewards.
    pub delegation_account: String,
    /// Blocks between consensus checkpoints.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval: u64,
    /// Hive's custom_json size limit; larger payloads are rejected.
    #[serde(default = "default_json_max")]
    pub json_max_bytes: usize,
    /// The Hive chain id (hex) transactions are signed for; node signatures (reports,
    /// registrations) bind it too, so a signature made for a testnet is void on mainnet.
    #[serde(default = "default_hive_chain_id")]
    pub hive_chain_id: String,
    /// Per-module parameters and genesis, parsed by each module.
    #[serde(default)]
    pub modules: BTreeMap<String, serde_json::Value>,
}

fn default_checkpoint_interval() -> u64 {
    100
}
fn default_json_max() -> usize {
    8192
}
/// Hive mainnet's chain id.
pub const HIVE_MAINNET_CHAIN_ID: &str = "beeab0de00000000000000000000000000000000000000000000000000000000";
fn default_hive_chain_id() -> String {
    HIVE_MAINNET_CHAIN_ID.to_string()
}

#[derive(Debug, Error)]
pub enum SpecError {
    #[error("cannot read chain spec {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("chain spec {path} is not valid: {source}")]
    Parse { path: String, source: serde_json::Error },
    #[error("chain spec field `{field}` is invalid: {why}")]
    Invalid { field: &'static str, why: String },
}

impl ChainSpec {
    /// Whether `block` is a consensus checkpoint (every `checkpoint_interval` blocks).
    pub fn is_checkpoint(&self, block: u64) -> bool {
        self.checkpoint_interval > 0 && block.is_multiple_of(self.checkpoint_interval)
    }

    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let spec: ChainSpec = serde_json::from_str(&text).map_err(|source| SpecError::Parse {
            path: path.display().to_string(),
            source,
        })?;
        spec.validate()?;
        Ok(spec)
    }

    pub fn from_json(text: &str) -> Result<Self, SpecError> {
        let spec: ChainSpec = serde_json::from_str(text).map_err(|source| SpecError::Parse {
            path: "<inline>".into(),
            source,
        })?;
        spec.validate()?;
        Ok(spec)
    }

    pub fn validate(&self) -> Result<(), SpecError> {
        let inv = |field, why: &str| {
            Err(SpecError::Invalid {
                field,
                why: why.to_string(),
            })
        };
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return inv("name", "must be non-empty [A-Za-z0-9_-]");
        }
        if self.prefix.is_empty() || self.prefix.len() >= 32 {
            return inv("prefix", "must be 1..31 chars (custom_json ids are at most 32)");
        }
        if self.token.is_empty() {
            return inv("token", "must be non-empty");
        }
        if self.precision > 8 {
            return inv("precision", "must be at most 8");
        }
        for (field, acct) in [
            ("leader", &self.leader),
            ("msaccount", &self.msaccount),
            ("delegation_account", &self.delegation_account),
        ] {
            if !is_valid_account_name(acct) {
                return inv(field, "must be a valid Hive account name");
            }
        }
        if self.checkpoint_interval == 0 {
            return inv("checkpoint_interval", "must be > 0");
        }
        if self.json_max_bytes == 0 {
            return inv("json_max_bytes", "must be > 0");
        }
        if self.parse_chain_id().is_none() {
            return inv("hive_chain_id", "must be 64 hex digits");
        }
        Ok(())
    }

    fn parse_chain_id(&self) -> Option<[u8; 32]> {
        let s = self.hive_chain_id.as_bytes();
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in s.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Some(out)
    }

    /// The Hive chain id as bytes (validated at load; mainnet if the spec was built by hand
    /// with a bad value).
    pub fn hive_chain_id(&self) -> [u8; 32] {
        self.parse_chain_id().unwrap_or([
            0xbe, 0xea, 0xb0, 0xde, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ])
    }

    /// The Kafka/log topic a module's ops are published to.
    pub fn ops_topic(&self, module: &str) -> String {
        format!("{}.ops.{}", self.name, module)
    }

    /// Where processors in their own processes publish module checkpoints.
    pub fn checkpoints_topic(&self) -> String {
        format!("{}.checkpoints", self.name)
    }

    pub fn reports_topic(&self) -> String {
        format!("{}.reports", self.name)
    }

    pub fn module_config(&self, module: &str) -> Option<&serde_json::Value> {
        self.modules.get(module)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::test_spec;

    #[test]
    fn validation() {
        assert!(test_spec().validate().is_ok());
        let mut s = test_spec();
        s.leader = "Not A Name".into();
        assert!(s.validate().is_err());
        let mut s = test_spec();
        s.checkpoint_interval = 0;
        assert!(s.validate().is_err());
        assert!(ChainSpec::from_json("{\"name\":\"x\"}").is_err());
    }

    #[test]
    fn topics() {
        assert_eq!(test_spec().ops_topic("token"), "test.ops.token");
        assert_eq!(test_spec().reports_topic(), "test.reports");
    }
}
