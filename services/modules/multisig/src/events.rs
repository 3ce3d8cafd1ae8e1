//! The multi-sig module's events: what `handle` decides, what `apply` writes and what the
//! store keeps, Avro single-object encoded with `schemas/multisig_event.avsc` so that any
//! Avro reader can follow the account's books without opentoken's code.

use crate::keys::Coin;
use apache_avro::types::Value;
use opentoken_codec::value::{long_u32, long_u64, record, Fields};
use opentoken_codec::{CodecError, SingleObjectCodec};
use opentoken_core::{ChainPos, ModuleEvent};
use std::sync::OnceLock;

/// A state change of the multi-sig module. Each carries everything `apply` writes and
/// `describe` says, so that the events alone are the account's books.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultisigEvent {
    /// A deposit credited `account`.
    Deposited { account: String, asset: Coin, amount: u64 },
    /// A deposit that could not be accepted is queued back to its sender as outflow `seq`.
    Refunded {
        seq: u64,
        to: String,
        asset: Coin,
        amount: u64,
        memo: String,
        why: String,
        block: u64,
    },
    /// `account` withdrew: its balance is debited and outflow `seq` pays `to`.
    WithdrawalQueued {
        seq: u64,
        account: String,
        to: String,
        asset: Coin,
        amount: u64,
        memo: String,
        block: u64,
    },
    /// Outflow `seq` was paid by Hive transaction `txid` in `block`.
    OutflowPaid {
        seq: u64,
        to: String,
        asset: Coin,
        amount: u64,
        block: u64,
        txid: String,
    },
    /// The transfer at `pos` left the account without paying an outflow.
    OutflowAnomaly {
        pos: ChainPos,
        txid: String,
        to: String,
        asset: Coin,
        amount: u64,
        memo: String,
        why: String,
    },
}

/// The schema compiled in; a test checks that it is the file under `schemas/`.
pub const SCHEMA: &str = include_str!("../../../../schemas/multisig_event.avsc");

fn codec() -> Result<&'static SingleObjectCodec, CodecError> {
    static CODEC: OnceLock<Result<SingleObjectCodec, CodecError>> = OnceLock::new();
    CODEC
        .get_or_init(|| SingleObjectCodec::new("multisig event", SCHEMA, &[]))
        .as_ref()
        .map_err(Clone::clone)
}

const COINS: [&str; 2] = ["HIVE", "HBD"];

fn coin_value(c: Coin) -> Value {
    let i = match c {
        Coin::Hive => 0,
        Coin::Hbd => 1,
    };
    Value::Enum(i, COINS[i as usize].to_string())
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

impl MultisigEvent {
    /// The event type name (the Avro record name).
    pub fn kind(&self) -> &'static str {
        match self {
            MultisigEvent::Deposited { .. } => "Deposited",
            MultisigEvent::Refunded { .. } => "Refunded",
            MultisigEvent::WithdrawalQueued { .. } => "WithdrawalQueued",
            MultisigEvent::OutflowPaid { .. } => "OutflowPaid",
            MultisigEvent::OutflowAnomaly { .. } => "OutflowAnomaly",
        }
    }

    /// The event as the schema's record: a union with one branch per event, in schema
    /// order (a new event is a new branch at the end, a compatible schema change).
    fn to_value(&self) -> Value {
        let (branch, body) = match self {
            MultisigEvent::Deposited { account, asset, amount } => (
                0,
                record(vec![
                    ("account", s(account)),
                    ("asset", coin_value(*asset)),
                    ("amount", long_u64(*amount)),
                ]),
            ),
            MultisigEvent::Refunded {
                seq,
                to,
                asset,
                amount,
                memo,
                why,
                block,
            } => (
                1,
                record(vec![
                    ("seq", long_u64(*seq)),
                    ("to", s(to)),
                    ("asset", coin_value(*asset)),
                    ("amount", long_u64(*amount)),
                    ("memo", s(memo)),
                    ("why", s(why)),
                    ("block", long_u64(*block)),
                ]),
            ),
            MultisigEvent::WithdrawalQueued {
                seq,
                account,
                to,
                asset,
                amount,
                memo,
                block,
            } => (
                2,
                record(vec![
                    ("seq", long_u64(*seq)),
                    ("account", s(account)),
                    ("to", s(to)),
                    ("asset", coin_value(*asset)),
                    ("amount", long_u64(*amount)),
                    ("memo", s(memo)),
                    ("block", long_u64(*block)),
                ]),
            ),
            MultisigEvent::OutflowPaid {
                seq,
                to,
                asset,
                amount,
                block,
                txid,
            } => (
                3,
                record(vec![
                    ("seq", long_u64(*seq)),
                    ("to", s(to)),
                    ("asset", coin_value(*asset)),
                    ("amount", long_u64(*amount)),
                    ("block", long_u64(*block)),
                    ("txid", s(txid)),
                ]),
            ),
            MultisigEvent::OutflowAnomaly {
                pos,
                txid,
                to,
                asset,
                amount,
                memo,
                why,
            } => (
                4,
                record(vec![
                    ("block", long_u64(pos.block)),
                    ("trx", long_u32(pos.trx_in_block)),
                    ("op", long_u32(pos.op_in_trx)),
                    ("txid", s(txid)),
                    ("to", s(to)),
                    ("asset", coin_value(*asset)),
                    ("amount", long_u64(*amount)),
                    ("memo", s(memo)),
                    ("why", s(why)),
                ]),
            ),
        };
        record(vec![("event", Value::Union(branch, Box::new(body)))])
    }

    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec()?.encode(self.to_value())
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let v = codec()?.decode(bytes)?;
        let (branch, body) = Fields::of("multisig event", &v)?.union("event")?;
        let f = Fields::of("multisig event", body)?;
        let shape = |detail: String| CodecError::Shape {
            what: "multisig event",
            detail,
        };
        let coin = |name: &str| -> Result<Coin, CodecError> {
            let sym = f.symbol(name)?;
            Coin::from_symbol(sym).ok_or_else(|| shape(format!("unknown coin {sym}")))
        };
        Ok(match branch {
            0 => MultisigEvent::Deposited {
                account: f.string("account")?,
                asset: coin("asset")?,
                amount: f.u64("amount")?,
            },
            1 => MultisigEvent::Refunded {
                seq: f.u64("seq")?,
                to: f.string("to")?,
                asset: coin("asset")?,
                amount: f.u64("amount")?,
                memo: f.string("memo")?,
                why: f.string("why")?,
                block: f.u64("block")?,
            },
            2 => MultisigEvent::WithdrawalQueued {
                seq: f.u64("seq")?,
                account: f.string("account")?,
                to: f.string("to")?,
                asset: coin("asset")?,
                amount: f.u64("amount")?,
                memo: f.string("memo")?,
                block: f.u64("block")?,
            },
            3 => MultisigEvent::OutflowPaid {
                seq: f.u64("seq")?,
                to: f.string("to")?,
                asset: coin("asset")?,
                amount: f.u64("amount")?,
                block: f.u64("block")?,
                txid: f.string("txid")?,
            },
            4 => MultisigEvent::OutflowAnomaly {
                pos: ChainPos::new(f.u64("block")?, f.u32("trx")?, f.u32("op")?),
                txid: f.string("txid")?,
                to: f.string("to")?,
                asset: coin("asset")?,
                amount: f.u64("amount")?,
                memo: f.string("memo")?,
                why: f.string("why")?,
            },
            other => return Err(shape(format!("unknown event branch {other}"))),
        })
    }
}

impl ModuleEvent for MultisigEvent {
    type CodecError = CodecError;

    fn kind(&self) -> &'static str {
        MultisigEvent::kind(self)
    }

    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        MultisigEvent::encode(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        MultisigEvent::decode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::test_utils::assert_event_codec;

    /// One of each event, with the extreme values the ledger allows.
    pub(crate) fn every_variant() -> Vec<MultisigEvent> {
        vec![
            MultisigEvent::Deposited {
                account: "alice".into(),
                asset: Coin::Hive,
                amount: i64::MAX as u64,
            },
            MultisigEvent::Refunded {
                seq: 0,
                to: "bob".into(),
                asset: Coin::Hbd,
                amount: 1,
                memo: "refund: no module accepts dex yet ot:0".into(),
                why: "no module accepts dex yet".into(),
                block: 7,
            },
            MultisigEvent::WithdrawalQueued {
                seq: u64::MAX,
                account: "alice".into(),
                to: "carol".into(),
                asset: Coin::Hive,
                amount: 1500,
                memo: "rent ✓ ot:18446744073709551615".into(),
                block: u64::MAX,
            },
            MultisigEvent::OutflowPaid {
                seq: 3,
                to: "carol".into(),
                asset: Coin::Hbd,
                amount: 2,
                block: 99,
                txid: "0123456789abcdef0123456789abcdef01234567".into(),
            },
            MultisigEvent::OutflowAnomaly {
                pos: ChainPos::new(12, u32::MAX, 3),
                txid: "ab".repeat(20),
                to: "mallory".into(),
                asset: Coin::Hive,
                amount: 5,
                memo: String::new(),
                why: "the memo names no outflow (ot:<seq>)".into(),
            },
        ]
    }

    #[test]
    fn every_variant_round_trips_through_avro() {
        let all = every_variant();
        let kinds: std::collections::BTreeSet<&str> = all.iter().map(MultisigEvent::kind).collect();
        assert_eq!(kinds.len(), 5, "one of each event");
        assert_event_codec(
            &all,
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../schemas/multisig_event.avsc"),
            SCHEMA,
        );
    }
}
