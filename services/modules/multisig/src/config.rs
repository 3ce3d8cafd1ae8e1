//! The multi-sig module's part of the chain spec (`modules.multisig`), validated strictly:
//! a node with a mistyped section must refuse to start rather than fork later.
//!
//! ```json
//! "multisig": {
//!   "account": "dlux-cc",
//!   "max_outflows_per_tx": 40,
//!   "min_deposit": 1,
//!   "min_withdrawal": 1,
//!   "keep_paid": 1000,
//!   "keep_anomalies": 1000,
//!   "tx_expiration_secs": 3000,
//!   "return_after_failures": 3,
//!   "safety_price": {"HIVE": 1000, "HBD": 250}
//! }
//! ```
//!
//! Every field has a default, so `"multisig": {}` is a valid section; the section itself
//! is required, as every module's is.

use opentoken_core::account::is_valid_account_name;
use opentoken_core::module::GenesisError;
use opentoken_core::ChainSpec;
use serde::Deserialize;

/// The most transfers one multi-sig transaction may carry. A transfer with the longest
/// outflow memo this module writes is under 350 bytes, and Hive refuses transactions over
/// 64 KiB (signatures of up to 40 owners included), so 150 leaves room; the
/// transaction builder needs no size fallback below it.
pub const MAX_OUTFLOWS_PER_TX: u32 = 150;

/// The most paid outflows and anomalies kept as history: bounded state, whatever the chain.
pub const MAX_KEEP: u64 = 100_000;

/// The range of `tx_expiration_secs`. Hive refuses a transaction that expires more than
/// 3600 s after its head block time, and the expiration is counted from the reference
/// block, which is older than the head when the transaction is broadcast, so 3600 is the
/// most that is always accepted; below a minute the runners could not exchange signatures.
pub const TX_EXPIRATION_SECS: std::ops::RangeInclusive<u64> = 60..=3600;

/// The section as written (the account may be left out: it defaults to the spec's).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    account: Option<String>,
    #[serde(default = "forty")]
    max_outflows_per_tx: u32,
    #[serde(default = "one")]
    min_deposit: u64,
    #[serde(default = "one")]
    min_withdrawal: u64,
    #[serde(default = "thousand")]
    keep_paid: u64,
    #[serde(default = "thousand")]
    keep_anomalies: u64,
    #[serde(default = "three_thousand")]
    tx_expiration_secs: u64,
    #[serde(default = "three")]
    return_after_failures: u32,
    #[serde(default)]
    safety_price: Option<SafetyPrice>,
    #[serde(default)]
    genesis: MultisigGenesis,
}

/// What a running community's multi-sig account owes at the start (brought by
/// `import-state`): the DEX's resting bids, whose coin the account holds, and the outflows
/// the reference had queued and not yet paid. Each adds to what the account is expected to
/// hold; an outflow is paid like any other.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MultisigGenesis {
    /// Resting bids, best first: their coin goes into the DEX's escrow and each order to
    /// the DEX, which rests it at the start of the first block. Only on chains with a DEX.
    #[serde(default)]
    pub dex_orders: Vec<opentoken_dex::OrderIn>,
    /// Outflows queued and unpaid, oldest first.
    #[serde(default)]
    pub outflows: Vec<GenesisOutflow>,
}

/// An outflow the reference had queued (`msa/<key>`: a transfer from the account).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisOutflow {
    pub to: String,
    pub asset: crate::keys::Coin,
    pub amount: u64,
    #[serde(default)]
    pub memo: String,
}

/// Hive's longest transfer memo, in bytes.
pub const MAX_MEMO_BYTES: usize = 2047;
/// The most outflows one genesis may queue.
pub const MAX_GENESIS_OUTFLOWS: usize = 100_000;

impl MultisigGenesis {
    fn validate(&self, starting_block: u64) -> Result<(), GenesisError> {
        if self.dex_orders.len() > opentoken_dex::protocol::MAX_GENESIS_ORDERS
            || self.outflows.len() > MAX_GENESIS_OUTFLOWS
        {
            return Err(bad(format!(
                "genesis: at most {} dex_orders and {MAX_GENESIS_OUTFLOWS} outflows",
                opentoken_dex::protocol::MAX_GENESIS_ORDERS
            )));
        }
        let mut ids = std::collections::BTreeSet::new();
        let mut held = [0u64; 2];
        for o in &self.dex_orders {
            if let Some(why) = o.genesis_fault(opentoken_dex::Side::Bid, starting_block) {
                return Err(bad(format!("genesis.dex_orders: {why}")));
            }
            if !ids.insert(o.id.as_str()) {
                return Err(bad(format!("genesis.dex_orders: order {} twice", o.id)));
            }
            let i = usize::from(o.pair == opentoken_dex::Pair::Hbd);
            held[i] = held[i]
                .checked_add(o.amount)
                .ok_or_else(|| bad("genesis: the account's holdings overflow"))?;
        }
        for (i, out) in self.outflows.iter().enumerate() {
            if !is_valid_account_name(&out.to) || out.amount == 0 || out.memo.len() > MAX_MEMO_BYTES {
                return Err(bad(format!(
                    "genesis.outflows[{i}]: a transfer of more than 0 to a Hive account, with a memo of at most {MAX_MEMO_BYTES} bytes"
                )));
            }
            let c = usize::from(out.asset == crate::keys::Coin::Hbd);
            held[c] = held[c]
                .checked_add(out.amount)
                .ok_or_else(|| bad("genesis: the account's holdings overflow"))?;
        }
        if held.iter().any(|h| *h > i64::MAX as u64) {
            return Err(bad("genesis: the account would hold more than i64::MAX of a coin"));
        }
        Ok(())
    }
}

/// What one whole token of the signers' governance stake counts for, in milli-HIVE and
/// milli-HBD, when the safety limit is computed: `HIVE: 1000` values a token at 1.000 HIVE.
/// A chain setting: the DEX's market price takes its place once there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyPrice {
    #[serde(rename = "HIVE")]
    pub hive: u64,
    #[serde(rename = "HBD")]
    pub hbd: u64,
}

fn three() -> u32 {
    3
}

fn forty() -> u32 {
    40
}
fn one() -> u64 {
    1
}
fn thousand() -> u64 {
    1000
}
fn three_thousand() -> u64 {
    3000
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultisigConfig {
    /// The community's multi-signature Hive account. It is the chain spec's `msaccount`
    /// (the API announces that one as the multi-sig): a different value here is refused
    /// rather than leaving two answers to "which account holds the funds".
    pub account: String,
    /// How many outflows one multi-sig transaction carries, the oldest first
    /// (1..=[`MAX_OUTFLOWS_PER_TX`]).
    pub max_outflows_per_tx: u32,
    /// The least deposit, in milli-HIVE / milli-HBD, credited; smaller ones are refunded.
    /// It keeps dust out of the balance keys. At least 1 (0.001).
    pub min_deposit: u64,
    /// The least withdrawal, in milli-units; smaller ones are rejected. At least 1.
    pub min_withdrawal: u64,
    /// Paid outflows kept as history (`paid/<seq>`); older ones are deleted. 0 keeps none.
    pub keep_paid: u64,
    /// Anomalies kept as records (`anomaly/<pos>`); their totals are kept forever.
    pub keep_anomalies: u64,
    /// How long after its reference block's time a multi-sig transaction expires: the time
    /// the runners have to sign and broadcast it ([`TX_EXPIRATION_SECS`]). The reference
    /// node uses 300 s; 3000 s (1000 blocks) leaves room for signatures that travel as
    /// custom_json and for a checkpoint interval of 100 blocks.
    pub tx_expiration_secs: u64,
    /// How many times an outflow may fail alone in a fully signed transaction (Hive
    /// refused it: the recipient does not exist, say) before it is credited back to its
    /// owner instead of blocking the queue (1..=100).
    pub return_after_failures: u32,
    /// The safety limit: with a price, the account may hold per coin at most the
    /// collateral (the stake of the cheapest coalition of signers that can sign, from the
    /// nodes module) times this price; a deposit that would take it past that is refunded.
    /// Colluding signers would lose more stake than they could take. `None`: no limit.
    pub safety_price: Option<SafetyPrice>,
    /// What the account owes at the start (an imported community's).
    pub genesis: MultisigGenesis,
}

fn bad(why: impl Into<String>) -> GenesisError {
    GenesisError {
        module: crate::NAME.into(),
        why: why.into(),
    }
}

impl MultisigConfig {
    pub fn from_spec(spec: &ChainSpec) -> Result<Self, GenesisError> {
        let v = spec
            .module_config(crate::NAME)
            .ok_or_else(|| bad("the chain spec has no `modules.multisig` section"))?;
        if !v.is_object() {
            return Err(bad("`modules.multisig` is invalid: it must be a JSON object"));
        }
        let raw: RawConfig =
            serde_json::from_value(v.clone()).map_err(|e| bad(format!("`modules.multisig` is invalid: {e}")))?;
        let account = raw.account.unwrap_or_else(|| spec.msaccount.clone());
        if !is_valid_account_name(&account) {
            return Err(bad(format!(
                "`modules.multisig.account` {account:?} is not a valid Hive account name"
            )));
        }
        if account != spec.msaccount {
            return Err(bad(format!(
                "`modules.multisig.account` is @{account} but the chain's `msaccount` is @{}: they must name the same account",
                spec.msaccount
            )));
        }
        let cfg = MultisigConfig {
            account,
            max_outflows_per_tx: raw.max_outflows_per_tx,
            min_deposit: raw.min_deposit,
            min_withdrawal: raw.min_withdrawal,
            keep_paid: raw.keep_paid,
            keep_anomalies: raw.keep_anomalies,
            tx_expiration_secs: raw.tx_expiration_secs,
            return_after_failures: raw.return_after_failures,
            safety_price: raw.safety_price,
            genesis: raw.genesis,
        };
        cfg.validate()?;
        cfg.genesis.validate(spec.starting_block)?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), GenesisError> {
        if !is_valid_account_name(&self.account) {
            return Err(bad(format!(
                "account {:?} is not a valid Hive account name",
                self.account
            )));
        }
        if !(1..=MAX_OUTFLOWS_PER_TX).contains(&self.max_outflows_per_tx) {
            return Err(bad(format!(
                "`max_outflows_per_tx` must be 1..={MAX_OUTFLOWS_PER_TX}, got {}",
                self.max_outflows_per_tx
            )));
        }
        for (name, v) in [
            ("min_deposit", self.min_deposit),
            ("min_withdrawal", self.min_withdrawal),
        ] {
            if v == 0 {
                return Err(bad(format!("`{name}` must be at least 1 (0.001)")));
            }
            if v > i64::MAX as u64 {
                return Err(bad(format!("`{name}` exceeds i64::MAX")));
            }
        }
        for (name, v) in [("keep_paid", self.keep_paid), ("keep_anomalies", self.keep_anomalies)] {
            if v > MAX_KEEP {
                return Err(bad(format!("`{name}` must be at most {MAX_KEEP}, got {v}")));
            }
        }
        if let Some(p) = self.safety_price {
            if p.hive > i64::MAX as u64 || p.hbd > i64::MAX as u64 {
                return Err(bad("`safety_price` amounts must be at most i64::MAX"));
            }
        }
        if !(1..=100).contains(&self.return_after_failures) {
            return Err(bad(format!(
                "`return_after_failures` must be 1..=100, got {}",
                self.return_after_failures
            )));
        }
        if !TX_EXPIRATION_SECS.contains(&self.tx_expiration_secs) {
            return Err(bad(format!(
                "`tx_expiration_secs` must be {}..={} (Hive refuses expirations over an hour ahead), got {}",
                TX_EXPIRATION_SECS.start(),
                TX_EXPIRATION_SECS.end(),
                self.tx_expiration_secs
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::test_utils::test_spec;
    use serde_json::json;

    fn config(section: serde_json::Value) -> Result<MultisigConfig, GenesisError> {
        MultisigConfig::from_spec(&test_spec().with_module("multisig", section))
    }

    #[test]
    fn an_empty_section_takes_the_defaults_and_the_spec_account() {
        let cfg = config(json!({})).expect("defaults");
        assert_eq!(
            cfg,
            MultisigConfig {
                account: "dlux-cc".into(),
                max_outflows_per_tx: 40,
                min_deposit: 1,
                min_withdrawal: 1,
                keep_paid: 1000,
                keep_anomalies: 1000,
                tx_expiration_secs: 3000,
                return_after_failures: 3,
                safety_price: None,
                genesis: MultisigGenesis::default(),
            }
        );
        let priced = config(json!({"safety_price": {"HIVE": 1000, "HBD": 250}})).expect("a price");
        assert_eq!(priced.safety_price, Some(SafetyPrice { hive: 1000, hbd: 250 }));
        let cfg = config(
            json!({"account": "dlux-cc", "max_outflows_per_tx": 150, "min_deposit": 100,
            "min_withdrawal": 5, "keep_paid": 0, "keep_anomalies": 100000, "tx_expiration_secs": 60}),
        )
        .expect("explicit");
        assert_eq!((cfg.min_deposit, cfg.keep_paid, cfg.tx_expiration_secs), (100, 0, 60));
        assert_eq!(
            config(json!({"tx_expiration_secs": 3600}))
                .expect("an hour")
                .tx_expiration_secs,
            3600
        );
    }

    #[test]
    fn a_bad_section_refuses_to_start_naming_the_field() {
        assert!(MultisigConfig::from_spec(&test_spec())
            .unwrap_err()
            .why
            .contains("no `modules.multisig`"));
        let cases = [
            (json!({"account": "dlux-io"}), "must name the same account"),
            (json!({"account": "Not_Valid"}), "not a valid Hive account name"),
            (json!({"account": 7}), "invalid"),
            (json!({"max_outflows_per_tx": 0}), "max_outflows_per_tx"),
            (json!({"max_outflows_per_tx": 151}), "max_outflows_per_tx"),
            (json!({"max_outflows_per_tx": -1}), "invalid"),
            (json!({"min_deposit": 0}), "min_deposit"),
            (json!({"min_withdrawal": 0}), "min_withdrawal"),
            (json!({"min_withdrawal": u64::MAX}), "i64::MAX"),
            (json!({"min_deposit": 1.5}), "invalid"),
            (json!({"keep_paid": 100001}), "keep_paid"),
            (json!({"keep_anomalies": 100001}), "keep_anomalies"),
            (json!({"tx_expiration_secs": 59}), "tx_expiration_secs"),
            (json!({"tx_expiration_secs": 3601}), "tx_expiration_secs"),
            (json!({"tx_expiration_secs": -1}), "invalid"),
            (json!({"safety_limit": 5}), "safety_limit"),
            (json!({"return_after_failures": 0}), "return_after_failures"),
            (json!({"safety_price": {"HIVE": 1}}), "invalid"),
            (json!({"safety_price": {"HIVE": 1, "HBD": 1, "VESTS": 1}}), "invalid"),
            (json!({"safety_price": {"HIVE": -1, "HBD": 1}}), "invalid"),
            (json!({"safety_price": {"HIVE": u64::MAX, "HBD": 1}}), "i64::MAX"),
            (json!({"return_after_failures": 101}), "return_after_failures"),
            (json!([]), "invalid"),
        ];
        for (section, needle) in cases {
            match config(section.clone()) {
                Err(e) => assert!(e.why.contains(needle), "{section}: {:?} does not name {needle}", e.why),
                Ok(c) => panic!("{section} was accepted: {c:?}"),
            }
        }
    }
}
