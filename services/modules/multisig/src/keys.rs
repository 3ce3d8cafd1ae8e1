//! The module's state: key layout, value types and their encoding.
//!
//! | key | value |
//! |---|---|
//! | `bal/<COIN>/<account>` | the account's Layer-2 balance of HIVE or HBD in milli-units, 8-byte big-endian; deleted at 0 |
//! | `tot/bal/<COIN>` | the sum of all `bal/<COIN>/` keys |
//! | `tot/out/<COIN>` | the sum of the amounts of all unpaid outflows (`out/`) of that coin |
//! | `tot/dex/<COIN>` | the coin the DEX holds: escrowed for buy orders (a deposit whose memo is an order, `dex_buy` from a balance) and not yet paid back by a `pay` message; deleted at 0. Only on chains that run the DEX |
//! | `held/<COIN>` | expected holdings of the multi-sig account: deposits in − confirmed outflows out. Always `tot/bal + tot/out + tot/dex` (checked by `apply` after every event) |
//! | `seq` | the next outflow number, 8-byte big-endian; absent before the first outflow (0) |
//! | `out/<seq BE8>` | an unpaid [`Outflow`], canonical JSON |
//! | `paid/<seq BE8>` | a [`PaidOutflow`], canonical JSON; the `keep_paid` highest numbers are kept |
//! | `cnt/paid` | how many `paid/` keys there are |
//! | `anomaly/<block BE8><trx BE4><op BE4>` | an [`Anomaly`]: a transfer out of the account that paid no outflow, canonical JSON; the newest `keep_anomalies` are kept |
//! | `cnt/anomaly` | how many `anomaly/` keys there are |
//! | `tot/anomaly/<COIN>` | the sum of every anomaly ever recorded (never pruned): what left the account unexplained |
//! | `signers` | the [`Signers`] of the account's active authority as the module knows it, canonical JSON; absent until the nodes module sends them |
//! | `wanted` | the [`Signers`] the account's authority should rotate to (the runner set changed), canonical JSON; absent when they are the current signers |
//! | `tx/<checkpoint BE8>` | the open multi-sig transaction ([`OpenTx`]) built at that checkpoint, canonical JSON; at most one exists |
//! | `authanomaly/<block BE8><trx BE4><op BE4>` | an [`AuthorityAnomaly`]: an update of the account's active authority the module did not build; the newest `keep_anomalies` are kept |
//! | `cnt/authanomaly` | how many `authanomaly/` keys there are |
//! | `collateral` | the governance stake (token base units) of the cheapest coalition of signers able to sign, as the nodes module last said; absent before |
//! | `batch` | the most outflows the next transaction carries after one failed fully signed (halved per failure, deleted when one lands); absent: `max_outflows_per_tx` |
//! | `fail/<seq BE8>` | how many times outflow `seq` failed alone in a fully signed transaction; deleted when it is paid or returned |
//! | `sig/<checkpoint BE8>/<account>` | `account`'s accepted signature of that transaction: 130 lower-case hex digits (65 bytes) |
//!
//! `<COIN>` is `HIVE` or `HBD`. Numbers in keys are big-endian so that byte order is
//! creation order (outflows) and chain order (anomalies). Amounts are at most `i64::MAX`
//! (Hive's asset range), and zero amounts are deleted, never stored, so equal ledgers are
//! equal key sets. Canonical JSON is serde_json's output for these structs: fields in
//! declaration order, integers only.

use opentoken_core::{AssetSymbol, ChainPos};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The Hive assets the account holds for its users. VESTS cannot be transferred, so it is
/// not one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Coin {
    #[serde(rename = "HIVE")]
    Hive,
    #[serde(rename = "HBD")]
    Hbd,
}

impl Coin {
    pub const ALL: [Coin; 2] = [Coin::Hive, Coin::Hbd];

    /// The symbol in keys, ops and memos.
    pub fn symbol(self) -> &'static str {
        match self {
            Coin::Hive => "HIVE",
            Coin::Hbd => "HBD",
        }
    }

    /// The coin an `ms_withdraw` names: exactly `HIVE` or `HBD` (not the pre-HF24 Steem
    /// names, not lower case: one spelling per coin).
    pub fn from_symbol(s: &str) -> Option<Self> {
        match s {
            "HIVE" => Some(Coin::Hive),
            "HBD" => Some(Coin::Hbd),
            _ => None,
        }
    }

    pub fn from_asset(symbol: AssetSymbol) -> Option<Self> {
        match symbol {
            AssetSymbol::Hive => Some(Coin::Hive),
            AssetSymbol::Hbd => Some(Coin::Hbd),
            AssetSymbol::Vests => None,
        }
    }

    pub fn asset(self) -> AssetSymbol {
        match self {
            Coin::Hive => AssetSymbol::Hive,
            Coin::Hbd => AssetSymbol::Hbd,
        }
    }

    /// `amount` milli-units as Hive prints it, `1.000 HIVE`.
    pub fn format(self, amount: u64) -> String {
        let scale = 1000;
        format!("{}.{:03} {}", amount / scale, amount % scale, self.symbol())
    }
}

impl fmt::Display for Coin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

pub const BAL_PREFIX: &str = "bal/";
pub const OUT_PREFIX: &[u8] = b"out/";
pub const PAID_PREFIX: &[u8] = b"paid/";
pub const ANOMALY_PREFIX: &[u8] = b"anomaly/";
pub const SEQ: &[u8] = b"seq";
pub const PAID_COUNT: &[u8] = b"cnt/paid";
pub const ANOMALY_COUNT: &[u8] = b"cnt/anomaly";
pub const SIGNERS: &[u8] = b"signers";
pub const WANTED: &[u8] = b"wanted";
pub const BATCH: &[u8] = b"batch";
pub const COLLATERAL: &[u8] = b"collateral";
pub const FAIL_PREFIX: &[u8] = b"fail/";
pub const AUTH_ANOMALY_PREFIX: &[u8] = b"authanomaly/";
pub const AUTH_ANOMALY_COUNT: &[u8] = b"cnt/authanomaly";
pub const TX_PREFIX: &[u8] = b"tx/";
pub const SIG_PREFIX: &[u8] = b"sig/";

/// `bal/<COIN>/`: every balance of a coin, in account order.
pub fn balances_of(coin: Coin) -> Vec<u8> {
    format!("{BAL_PREFIX}{coin}/").into_bytes()
}

pub fn balance(coin: Coin, account: &str) -> Vec<u8> {
    format!("{BAL_PREFIX}{coin}/{account}").into_bytes()
}

pub fn total_balances(coin: Coin) -> Vec<u8> {
    format!("tot/bal/{coin}").into_bytes()
}

pub fn total_pending(coin: Coin) -> Vec<u8> {
    format!("tot/out/{coin}").into_bytes()
}

/// The modules the account escrows coin for (a deposit or a Layer-2 balance held until
/// the module says whom it belongs to).
pub const ESCROW_MODULES: [&str; 2] = ["dex", "nft"];

/// The coin escrowed for `module` (one of [`ESCROW_MODULES`]): part of what the account
/// holds, in no user's balance.
pub fn total_escrow(module: &str, coin: Coin) -> Vec<u8> {
    format!("tot/{module}/{coin}").into_bytes()
}

/// The coin escrowed for the DEX.
pub fn total_dex(coin: Coin) -> Vec<u8> {
    total_escrow("dex", coin)
}

pub fn total_anomalies(coin: Coin) -> Vec<u8> {
    format!("tot/anomaly/{coin}").into_bytes()
}

pub fn held(coin: Coin) -> Vec<u8> {
    format!("held/{coin}").into_bytes()
}

fn numbered(prefix: &[u8], seq: u64) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn outflow(seq: u64) -> Vec<u8> {
    numbered(OUT_PREFIX, seq)
}

pub fn paid(seq: u64) -> Vec<u8> {
    numbered(PAID_PREFIX, seq)
}

pub fn fail(seq: u64) -> Vec<u8> {
    numbered(FAIL_PREFIX, seq)
}

pub fn anomaly(pos: ChainPos) -> Vec<u8> {
    let mut k = ANOMALY_PREFIX.to_vec();
    k.extend_from_slice(&pos.to_key());
    k
}

pub fn auth_anomaly(pos: ChainPos) -> Vec<u8> {
    let mut k = AUTH_ANOMALY_PREFIX.to_vec();
    k.extend_from_slice(&pos.to_key());
    k
}

/// The open transaction built at `checkpoint`.
pub fn tx(checkpoint: u64) -> Vec<u8> {
    numbered(TX_PREFIX, checkpoint)
}

/// `sig/<checkpoint>/`: every accepted signature of that transaction, in account order.
pub fn sigs_of(checkpoint: u64) -> Vec<u8> {
    let mut k = numbered(SIG_PREFIX, checkpoint);
    k.push(b'/');
    k
}

pub fn sig(checkpoint: u64, account: &str) -> Vec<u8> {
    let mut k = sigs_of(checkpoint);
    k.extend_from_slice(account.as_bytes());
    k
}

/// The checkpoint and account of a `sig/` key.
pub fn sig_of(key: &[u8]) -> Option<(u64, &str)> {
    let rest = key.strip_prefix(SIG_PREFIX)?;
    if rest.len() < 9 || rest[8] != b'/' {
        return None;
    }
    let checkpoint = u64::from_be_bytes(rest[..8].try_into().ok()?);
    Some((checkpoint, std::str::from_utf8(&rest[9..]).ok()?))
}

/// The number of an `out/`, `paid/` or `tx/` key.
pub fn seq_of(key: &[u8], prefix: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(prefix)?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

/// The chain position of an `anomaly/` or `authanomaly/` key.
pub fn pos_of(key: &[u8]) -> Option<ChainPos> {
    let rest = key
        .strip_prefix(ANOMALY_PREFIX)
        .or_else(|| key.strip_prefix(AUTH_ANOMALY_PREFIX))?;
    if rest.len() != 16 {
        return None;
    }
    Some(ChainPos::new(
        u64::from_be_bytes(rest[..8].try_into().ok()?),
        u32::from_be_bytes(rest[8..12].try_into().ok()?),
        u32::from_be_bytes(rest[12..].try_into().ok()?),
    ))
}

pub fn encode_u64(v: u64) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

pub fn decode_u64(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.try_into().ok()?))
}

/// Why an outflow exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutflowReason {
    /// An `ms_withdraw` of a Layer-2 balance.
    Withdrawal,
    /// A deposit the module could not accept goes back to its sender; the text says why.
    Refund(String),
    /// Coin a module released from its escrow (the DEX to an order's owner, `why`:
    /// `fill`, `return`; the NFT module to a seller, a refunded or outbid payer), paid out
    /// to Hive.
    Module { module: String, order: String, why: String },
}

impl fmt::Display for OutflowReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutflowReason::Withdrawal => f.write_str("withdrawal"),
            OutflowReason::Refund(why) => write!(f, "refund:{why}"),
            OutflowReason::Module { module, order, why } => write!(f, "{module}:{why}:{order}"),
        }
    }
}

/// Where an unpaid outflow is in its way out. `InTx` is for the transaction builder: the
/// outflow is in the multi-sig transaction built at that checkpoint; an expired one goes
/// back to `Pending` and into a later transaction. A confirmation pays either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutflowState {
    Pending,
    InTx(u64),
}

/// A Hive transfer the multi-sig account owes: from the account to `to`, of `amount`
/// `asset`, with exactly `memo`, which ends with the outflow's id `ot:<seq>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outflow {
    pub to: String,
    pub amount: u64,
    pub asset: Coin,
    pub memo: String,
    pub reason: OutflowReason,
    pub created_block: u64,
    pub state: OutflowState,
    /// Whose money it is when that is not `to`: who withdrew it to another account. An
    /// outflow that cannot be paid is credited back to its owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl Outflow {
    /// Whose Layer-2 balance it came from (or a refund is for).
    pub fn owner(&self) -> &str {
        self.owner.as_deref().unwrap_or(&self.to)
    }
}

/// An outflow whose transfer was seen on chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaidOutflow {
    pub to: String,
    pub amount: u64,
    pub asset: Coin,
    pub memo: String,
    pub reason: OutflowReason,
    pub created_block: u64,
    pub paid_block: u64,
    /// The Hive transaction that paid it.
    pub txid: String,
}

/// A transfer out of the multi-sig account that paid no outflow (no id, an unknown or paid
/// one, or a different recipient, amount, coin or memo than the outflow it names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anomaly {
    pub txid: String,
    pub to: String,
    pub amount: u64,
    pub asset: Coin,
    /// The transfer's memo, cut to [`crate::memo::MAX_RECORDED_MEMO`] bytes.
    pub memo: String,
    pub why: String,
}

/// One holder of the account's active authority: a runner's account and the public key
/// (`STM…`) whose signatures the module accepts for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signer {
    pub account: String,
    pub key: String,
}

/// Who signs the account's transfers, sorted by account, and how many signatures a
/// transaction needs: more than two thirds, `floor(2n/3) + 1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signers {
    pub signers: Vec<Signer>,
    pub threshold: u32,
}

/// More than two thirds of `n` signers.
pub fn threshold_of(n: usize) -> u32 {
    (2 * n / 3 + 1) as u32
}

/// The multi-sig transaction that pays outflows `seqs`, built at `checkpoint` from that
/// block's id and time: every node builds the same bytes, so the runners' signatures of
/// `digest` combine into one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenTx {
    pub checkpoint: u64,
    pub ref_block_num: u16,
    pub ref_block_prefix: u32,
    /// Unix seconds.
    pub expiration: u64,
    /// The outflows it pays, one transfer each, in this (ascending) order.
    pub seqs: Vec<u64>,
    /// What each signature signs: SHA-256 of the chain id and the transaction (legacy
    /// asset packing), 64 hex digits.
    pub digest: String,
    /// The Hive transaction id (legacy packing), 40 hex digits.
    pub txid: String,
    /// A rotation: the transaction is one `account_update2` giving the account's active
    /// authority to these signers (and `seqs` is empty). Absent for outflow transactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate: Option<Signers>,
}

/// An update of the account's active authority that the module did not build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityAnomaly {
    pub txid: String,
    pub why: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_keys_sort_by_number_and_parse_back() {
        assert!(outflow(255) < outflow(256));
        assert!(outflow(9) < outflow(10), "not decimal text order");
        assert_eq!(seq_of(&outflow(300), OUT_PREFIX), Some(300));
        assert_eq!(seq_of(&paid(7), PAID_PREFIX), Some(7));
        assert_eq!(seq_of(b"out/short", OUT_PREFIX), None);
        let (a, b) = (ChainPos::new(5, 9, 1), ChainPos::new(6, 0, 0));
        assert!(anomaly(a) < anomaly(b));
        assert_eq!(pos_of(&anomaly(a)), Some(a));
        assert!(tx(9) < tx(10));
        assert_eq!(seq_of(&tx(300), TX_PREFIX), Some(300));
        assert!(sig(10, "alice").starts_with(&sigs_of(10)));
        assert!(!sig(1, "alice").starts_with(&sigs_of(256)));
        assert_eq!(sig_of(&sig(77, "dlux-io")), Some((77, "dlux-io")));
        assert_eq!(sig_of(b"sig/short"), None);
        assert_eq!(
            [1, 2, 3, 4, 5, 6, 40].map(threshold_of),
            [1, 2, 3, 3, 4, 5, 27],
            "more than two thirds"
        );
    }

    #[test]
    fn records_are_canonical_json() {
        let o = Outflow {
            to: "bob".into(),
            amount: 1500,
            asset: Coin::Hbd,
            memo: "hi ot:3".into(),
            reason: OutflowReason::Refund("below the minimum".into()),
            created_block: 12,
            state: OutflowState::InTx(100),
            owner: None,
        };
        let text = serde_json::to_string(&o).unwrap();
        assert_eq!(
            text,
            r#"{"to":"bob","amount":1500,"asset":"HBD","memo":"hi ot:3","reason":{"refund":"below the minimum"},"created_block":12,"state":{"in_tx":100}}"#
        );
        assert_eq!(serde_json::from_str::<Outflow>(&text).unwrap(), o);
        let owned = Outflow {
            owner: Some("carol".into()),
            ..o.clone()
        };
        let text = serde_json::to_string(&owned).unwrap();
        assert!(text.ends_with(r#""state":{"in_tx":100},"owner":"carol"}"#), "{text}");
        assert_eq!((owned.owner(), o.owner()), ("carol", "bob"));
        let pending = serde_json::to_string(&OutflowState::Pending).unwrap();
        assert_eq!(pending, r#""pending""#);
        assert_eq!(
            serde_json::to_string(&OutflowReason::Withdrawal).unwrap(),
            r#""withdrawal""#
        );
        assert_eq!(OutflowReason::Refund("x".into()).to_string(), "refund:x");
        let dex = OutflowReason::Module {
            module: "dex".into(),
            order: "DLUXQm1".into(),
            why: "fill".into(),
        };
        assert_eq!(
            serde_json::to_string(&dex).unwrap(),
            r#"{"module":{"module":"dex","order":"DLUXQm1","why":"fill"}}"#
        );
        assert_eq!(dex.to_string(), "dex:fill:DLUXQm1");
        assert_eq!(total_dex(Coin::Hbd), b"tot/dex/HBD");
        assert_eq!(Coin::Hive.format(1), "0.001 HIVE");
        assert_eq!(Coin::Hbd.format(12_345), "12.345 HBD");
    }
}
