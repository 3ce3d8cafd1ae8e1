//! The multi-sig module's events: what `handle` decides, what `apply` writes and what the
//! store keeps, Avro single-object encoded with `schemas/multisig_event.avsc` so that any
//! Avro reader can follow the account's books without opentoken's code.

use crate::keys::{Coin, Signer};
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
    /// The nodes module named the holders of the account's active authority, sorted by
    /// account, and the signatures a transaction needs.
    SignersSet { signers: Vec<Signer>, threshold: u32 },
    /// At checkpoint block `checkpoint` the transaction paying outflows `seqs` was built.
    TxBuilt {
        checkpoint: u64,
        ref_block_num: u16,
        ref_block_prefix: u32,
        /// Unix seconds.
        expiration: u64,
        seqs: Vec<u64>,
        /// Hex of what the signatures sign.
        digest: String,
        txid: String,
    },
    /// `account` signed the transaction of `checkpoint` (verified; lower-case hex).
    SignatureAccepted {
        checkpoint: u64,
        account: String,
        sig: String,
    },
    /// The transaction of `checkpoint` expired unseen; outflows `seqs` are pending again.
    TxExpired { checkpoint: u64, seqs: Vec<u64> },
    /// Every outflow of the transaction of `checkpoint` is paid.
    TxSettled { checkpoint: u64 },
    /// The runner set changed: the account's authority should become `signers`. Outflows
    /// wait until the rotation is on chain. A list equal to the current signers withdraws
    /// the wish.
    SignersWanted { signers: Vec<Signer>, threshold: u32 },
    /// At checkpoint `checkpoint` the rotation of the account's active authority to
    /// `signers` was built, for the current signers to sign.
    RotationBuilt {
        checkpoint: u64,
        ref_block_num: u16,
        ref_block_prefix: u32,
        /// Unix seconds.
        expiration: u64,
        signers: Vec<Signer>,
        threshold: u32,
        digest: String,
        txid: String,
    },
    /// The rotation built at `checkpoint` is on chain: `signers` hold the authority now.
    Rotated {
        checkpoint: u64,
        block: u64,
        txid: String,
        signers: Vec<Signer>,
        threshold: u32,
    },
    /// An update of the account's active authority the module did not build.
    AuthorityAnomaly { pos: ChainPos, txid: String, why: String },
    /// The transaction of `checkpoint` expired fully signed (Hive refused it): `seqs` are
    /// pending again and later transactions carry at most `batch` outflows until one lands.
    TxFailed {
        checkpoint: u64,
        seqs: Vec<u64>,
        batch: u32,
    },
    /// The stake of the cheapest signing coalition, from the nodes module.
    CollateralSet { stake: u64 },
    /// Outflow `seq` could not be paid: it is credited back to `account`.
    OutflowReturned {
        seq: u64,
        account: String,
        asset: Coin,
        amount: u64,
        why: String,
    },
    /// A buy order's coin went into the DEX's escrow (`tot/dex`): a deposit whose memo is
    /// the order (`from_l2: false`; what the account holds grows) or `dex_buy` from
    /// `account`'s Layer-2 balance (`from_l2: true`). `order` is the order exactly as it is
    /// sent to the DEX (`opentoken_dex::OrderIn`, canonical JSON), so the event alone says
    /// what was asked.
    Escrowed {
        module: String,
        account: String,
        asset: Coin,
        amount: u64,
        order: String,
        from_l2: bool,
    },
    /// The DEX released `amount` of its escrow to `account`'s Layer-2 balance (`why`:
    /// `fill`, `return`, for order id `order`). `fallback` says why a payout to Hive the
    /// order asked for was credited instead (a payment is never refused: the coin would be
    /// stuck in the escrow).
    EscrowPaid {
        module: String,
        account: String,
        asset: Coin,
        amount: u64,
        order: String,
        why: String,
        fallback: Option<String>,
    },
    /// The DEX released `amount` of its escrow to `to` on Hive: outflow `seq`, paid like a
    /// withdrawal.
    EscrowPaidOut {
        module: String,
        seq: u64,
        to: String,
        asset: Coin,
        amount: u64,
        memo: String,
        order: String,
        why: String,
        block: u64,
    },
}

/// The schema compiled in; a test checks that it is the file under `schemas/`.
pub const SCHEMA: &str = include_str!("../../../../schemas/multisig_event.avsc");

/// The first schema (`schemas/history/`), before the transaction builder: records it wrote are read with
/// the codec's history, each into the union branch of the same name.
const SCHEMA_V1: &str = include_str!("../../../../schemas/history/multisig_event.v1.avsc");

/// The second schema, before authority rotation.
const SCHEMA_V2: &str = include_str!("../../../../schemas/history/multisig_event.v2.avsc");

/// The third schema, before failed transactions and returned outflows.
const SCHEMA_V3: &str = include_str!("../../../../schemas/history/multisig_event.v3.avsc");

/// The fourth schema, before the collateral.
const SCHEMA_V4: &str = include_str!("../../../../schemas/history/multisig_event.v4.avsc");

/// The fifth schema, before the DEX escrow.
const SCHEMA_V5: &str = include_str!("../../../../schemas/history/multisig_event.v5.avsc");

/// The sixth schema, when only the DEX escrowed coin: `DexEscrowed`, `DexPaid` and
/// `DexPaidOut`, read today as `Escrowed`, `EscrowPaid` and `EscrowPaidOut` (their
/// aliases) of module `dex` (the default of the field they lacked).
const SCHEMA_V6: &str = include_str!("../../../../schemas/history/multisig_event.v6.avsc");

fn codec() -> Result<&'static SingleObjectCodec, CodecError> {
    static CODEC: OnceLock<Result<SingleObjectCodec, CodecError>> = OnceLock::new();
    CODEC
        .get_or_init(|| {
            SingleObjectCodec::new(
                "multisig event",
                SCHEMA,
                &[SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6],
            )
        })
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

fn optional_string(v: Option<&str>) -> Value {
    match v {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(x) => Value::Union(1, Box::new(s(x))),
    }
}

fn read_optional_string(f: &Fields<'_>, name: &str) -> Result<Option<String>, CodecError> {
    match opentoken_codec::value::strip_union(f.get(name)?) {
        Value::Null => Ok(None),
        Value::String(x) => Ok(Some(x.clone())),
        other => Err(CodecError::Shape {
            what: "multisig event",
            detail: format!(
                "{name}: expected null or string, found {}",
                opentoken_codec::value::kind(other)
            ),
        }),
    }
}

fn read_bool(f: &Fields<'_>, name: &str) -> Result<bool, CodecError> {
    match opentoken_codec::value::strip_union(f.get(name)?) {
        Value::Boolean(b) => Ok(*b),
        other => Err(CodecError::Shape {
            what: "multisig event",
            detail: format!(
                "{name}: expected a boolean, found {}",
                opentoken_codec::value::kind(other)
            ),
        }),
    }
}

fn longs(items: &[u64]) -> Value {
    Value::Array(items.iter().map(|x| long_u64(*x)).collect())
}

fn signer_list(list: &[Signer]) -> Value {
    Value::Array(
        list.iter()
            .map(|x| record(vec![("account", s(&x.account)), ("key", s(&x.key))]))
            .collect(),
    )
}

fn read_signers(f: &Fields<'_>) -> Result<Vec<Signer>, CodecError> {
    f.array("signers")?
        .iter()
        .map(|v| {
            let x = Fields::of("multisig signer", v)?;
            Ok(Signer {
                account: x.string("account")?,
                key: x.string("key")?,
            })
        })
        .collect()
}

fn read_longs(f: &Fields<'_>, name: &str) -> Result<Vec<u64>, CodecError> {
    f.array(name)?
        .iter()
        .map(|v| match v {
            Value::Long(x) => Ok(*x as u64),
            _ => Err(CodecError::Shape {
                what: "multisig event",
                detail: format!("{name}: an item is not a long"),
            }),
        })
        .collect()
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
            MultisigEvent::SignersSet { .. } => "SignersSet",
            MultisigEvent::TxBuilt { .. } => "TxBuilt",
            MultisigEvent::SignatureAccepted { .. } => "SignatureAccepted",
            MultisigEvent::TxExpired { .. } => "TxExpired",
            MultisigEvent::TxSettled { .. } => "TxSettled",
            MultisigEvent::SignersWanted { .. } => "SignersWanted",
            MultisigEvent::RotationBuilt { .. } => "RotationBuilt",
            MultisigEvent::Rotated { .. } => "Rotated",
            MultisigEvent::AuthorityAnomaly { .. } => "AuthorityAnomaly",
            MultisigEvent::TxFailed { .. } => "TxFailed",
            MultisigEvent::OutflowReturned { .. } => "OutflowReturned",
            MultisigEvent::CollateralSet { .. } => "CollateralSet",
            MultisigEvent::Escrowed { .. } => "Escrowed",
            MultisigEvent::EscrowPaid { .. } => "EscrowPaid",
            MultisigEvent::EscrowPaidOut { .. } => "EscrowPaidOut",
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
            MultisigEvent::SignersSet { signers, threshold } => (
                5,
                record(vec![
                    ("signers", signer_list(signers)),
                    ("threshold", long_u32(*threshold)),
                ]),
            ),
            MultisigEvent::TxBuilt {
                checkpoint,
                ref_block_num,
                ref_block_prefix,
                expiration,
                seqs,
                digest,
                txid,
            } => (
                6,
                record(vec![
                    ("checkpoint", long_u64(*checkpoint)),
                    ("ref_block_num", long_u32(u32::from(*ref_block_num))),
                    ("ref_block_prefix", long_u32(*ref_block_prefix)),
                    ("expiration", long_u64(*expiration)),
                    ("seqs", longs(seqs)),
                    ("digest", s(digest)),
                    ("txid", s(txid)),
                ]),
            ),
            MultisigEvent::SignatureAccepted {
                checkpoint,
                account,
                sig,
            } => (
                7,
                record(vec![
                    ("checkpoint", long_u64(*checkpoint)),
                    ("account", s(account)),
                    ("sig", s(sig)),
                ]),
            ),
            MultisigEvent::TxExpired { checkpoint, seqs } => (
                8,
                record(vec![("checkpoint", long_u64(*checkpoint)), ("seqs", longs(seqs))]),
            ),
            MultisigEvent::TxSettled { checkpoint } => (9, record(vec![("checkpoint", long_u64(*checkpoint))])),
            MultisigEvent::SignersWanted { signers, threshold } => (
                10,
                record(vec![
                    ("signers", signer_list(signers)),
                    ("threshold", long_u32(*threshold)),
                ]),
            ),
            MultisigEvent::RotationBuilt {
                checkpoint,
                ref_block_num,
                ref_block_prefix,
                expiration,
                signers,
                threshold,
                digest,
                txid,
            } => (
                11,
                record(vec![
                    ("checkpoint", long_u64(*checkpoint)),
                    ("ref_block_num", long_u32(u32::from(*ref_block_num))),
                    ("ref_block_prefix", long_u32(*ref_block_prefix)),
                    ("expiration", long_u64(*expiration)),
                    ("signers", signer_list(signers)),
                    ("threshold", long_u32(*threshold)),
                    ("digest", s(digest)),
                    ("txid", s(txid)),
                ]),
            ),
            MultisigEvent::Rotated {
                checkpoint,
                block,
                txid,
                signers,
                threshold,
            } => (
                12,
                record(vec![
                    ("checkpoint", long_u64(*checkpoint)),
                    ("block", long_u64(*block)),
                    ("txid", s(txid)),
                    ("signers", signer_list(signers)),
                    ("threshold", long_u32(*threshold)),
                ]),
            ),
            MultisigEvent::AuthorityAnomaly { pos, txid, why } => (
                13,
                record(vec![
                    ("block", long_u64(pos.block)),
                    ("trx", long_u32(pos.trx_in_block)),
                    ("op", long_u32(pos.op_in_trx)),
                    ("txid", s(txid)),
                    ("why", s(why)),
                ]),
            ),
            MultisigEvent::TxFailed {
                checkpoint,
                seqs,
                batch,
            } => (
                14,
                record(vec![
                    ("checkpoint", long_u64(*checkpoint)),
                    ("seqs", longs(seqs)),
                    ("batch", long_u32(*batch)),
                ]),
            ),
            MultisigEvent::OutflowReturned {
                seq,
                account,
                asset,
                amount,
                why,
            } => (
                15,
                record(vec![
                    ("seq", long_u64(*seq)),
                    ("account", s(account)),
                    ("asset", coin_value(*asset)),
                    ("amount", long_u64(*amount)),
                    ("why", s(why)),
                ]),
            ),
            MultisigEvent::CollateralSet { stake } => (16, record(vec![("stake", long_u64(*stake))])),
            MultisigEvent::Escrowed {
                module,
                account,
                asset,
                amount,
                order,
                from_l2,
            } => (
                17,
                record(vec![
                    ("module", s(module)),
                    ("account", s(account)),
                    ("asset", coin_value(*asset)),
                    ("amount", long_u64(*amount)),
                    ("order", s(order)),
                    ("from_l2", Value::Boolean(*from_l2)),
                ]),
            ),
            MultisigEvent::EscrowPaid {
                module,
                account,
                asset,
                amount,
                order,
                why,
                fallback,
            } => (
                18,
                record(vec![
                    ("module", s(module)),
                    ("account", s(account)),
                    ("asset", coin_value(*asset)),
                    ("amount", long_u64(*amount)),
                    ("order", s(order)),
                    ("why", s(why)),
                    ("fallback", optional_string(fallback.as_deref())),
                ]),
            ),
            MultisigEvent::EscrowPaidOut {
                module,
                seq,
                to,
                asset,
                amount,
                memo,
                order,
                why,
                block,
            } => (
                19,
                record(vec![
                    ("module", s(module)),
                    ("seq", long_u64(*seq)),
                    ("to", s(to)),
                    ("asset", coin_value(*asset)),
                    ("amount", long_u64(*amount)),
                    ("memo", s(memo)),
                    ("order", s(order)),
                    ("why", s(why)),
                    ("block", long_u64(*block)),
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
            5 => MultisigEvent::SignersSet {
                signers: read_signers(&f)?,
                threshold: f.u32("threshold")?,
            },
            6 => MultisigEvent::TxBuilt {
                checkpoint: f.u64("checkpoint")?,
                ref_block_num: u16::try_from(f.u32("ref_block_num")?)
                    .map_err(|_| shape("ref_block_num is not a u16".into()))?,
                ref_block_prefix: f.u32("ref_block_prefix")?,
                expiration: f.u64("expiration")?,
                seqs: read_longs(&f, "seqs")?,
                digest: f.string("digest")?,
                txid: f.string("txid")?,
            },
            7 => MultisigEvent::SignatureAccepted {
                checkpoint: f.u64("checkpoint")?,
                account: f.string("account")?,
                sig: f.string("sig")?,
            },
            8 => MultisigEvent::TxExpired {
                checkpoint: f.u64("checkpoint")?,
                seqs: read_longs(&f, "seqs")?,
            },
            9 => MultisigEvent::TxSettled {
                checkpoint: f.u64("checkpoint")?,
            },
            10 => MultisigEvent::SignersWanted {
                signers: read_signers(&f)?,
                threshold: f.u32("threshold")?,
            },
            11 => MultisigEvent::RotationBuilt {
                checkpoint: f.u64("checkpoint")?,
                ref_block_num: u16::try_from(f.u32("ref_block_num")?)
                    .map_err(|_| shape("ref_block_num is not a u16".into()))?,
                ref_block_prefix: f.u32("ref_block_prefix")?,
                expiration: f.u64("expiration")?,
                signers: read_signers(&f)?,
                threshold: f.u32("threshold")?,
                digest: f.string("digest")?,
                txid: f.string("txid")?,
            },
            12 => MultisigEvent::Rotated {
                checkpoint: f.u64("checkpoint")?,
                block: f.u64("block")?,
                txid: f.string("txid")?,
                signers: read_signers(&f)?,
                threshold: f.u32("threshold")?,
            },
            13 => MultisigEvent::AuthorityAnomaly {
                pos: ChainPos::new(f.u64("block")?, f.u32("trx")?, f.u32("op")?),
                txid: f.string("txid")?,
                why: f.string("why")?,
            },
            14 => MultisigEvent::TxFailed {
                checkpoint: f.u64("checkpoint")?,
                seqs: read_longs(&f, "seqs")?,
                batch: f.u32("batch")?,
            },
            16 => MultisigEvent::CollateralSet { stake: f.u64("stake")? },
            15 => MultisigEvent::OutflowReturned {
                seq: f.u64("seq")?,
                account: f.string("account")?,
                asset: coin("asset")?,
                amount: f.u64("amount")?,
                why: f.string("why")?,
            },
            17 => MultisigEvent::Escrowed {
                module: f.string("module")?,
                account: f.string("account")?,
                asset: coin("asset")?,
                amount: f.u64("amount")?,
                order: f.string("order")?,
                from_l2: read_bool(&f, "from_l2")?,
            },
            18 => MultisigEvent::EscrowPaid {
                module: f.string("module")?,
                account: f.string("account")?,
                asset: coin("asset")?,
                amount: f.u64("amount")?,
                order: f.string("order")?,
                why: f.string("why")?,
                fallback: read_optional_string(&f, "fallback")?,
            },
            19 => MultisigEvent::EscrowPaidOut {
                module: f.string("module")?,
                seq: f.u64("seq")?,
                to: f.string("to")?,
                asset: coin("asset")?,
                amount: f.u64("amount")?,
                memo: f.string("memo")?,
                order: f.string("order")?,
                why: f.string("why")?,
                block: f.u64("block")?,
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
            MultisigEvent::SignersSet {
                signers: vec![
                    Signer {
                        account: "alice".into(),
                        key: "STM6LLegbAgLAy28EHrffBVuANFWcFgmqRMW13wBmTExqFE9SCkg4".into(),
                    },
                    Signer {
                        account: "bob".into(),
                        key: "STM5wJarof5LWBiQu2umDUWgg1xD5QHpKQC1Z97sE2aoQdwQ8DwMf".into(),
                    },
                ],
                threshold: 2,
            },
            MultisigEvent::TxBuilt {
                checkpoint: u64::MAX,
                ref_block_num: u16::MAX,
                ref_block_prefix: u32::MAX,
                expiration: u64::from(u32::MAX),
                seqs: vec![0, 7, u64::MAX],
                digest: "ab".repeat(32),
                txid: "cd".repeat(20),
            },
            MultisigEvent::SignatureAccepted {
                checkpoint: 100,
                account: "alice".into(),
                sig: "1f".repeat(65),
            },
            MultisigEvent::TxExpired {
                checkpoint: 100,
                seqs: vec![],
            },
            MultisigEvent::TxSettled { checkpoint: 0 },
            MultisigEvent::SignersWanted {
                signers: vec![Signer {
                    account: "carol".into(),
                    key: "STM6LLegbAgLAy28EHrffBVuANFWcFgmqRMW13wBmTExqFE9SCkg4".into(),
                }],
                threshold: 1,
            },
            MultisigEvent::RotationBuilt {
                checkpoint: 200,
                ref_block_num: 200,
                ref_block_prefix: 7,
                expiration: 1_700_000_000,
                signers: vec![],
                threshold: 40,
                digest: "ef".repeat(32),
                txid: "01".repeat(20),
            },
            MultisigEvent::Rotated {
                checkpoint: 200,
                block: u64::MAX,
                txid: "01".repeat(20),
                signers: vec![Signer {
                    account: "dave".into(),
                    key: "STM5wJarof5LWBiQu2umDUWgg1xD5QHpKQC1Z97sE2aoQdwQ8DwMf".into(),
                }],
                threshold: 1,
            },
            MultisigEvent::AuthorityAnomaly {
                pos: ChainPos::new(9, 1, u32::MAX),
                txid: "02".repeat(20),
                why: "not built by the module".into(),
            },
            MultisigEvent::TxFailed {
                checkpoint: 40,
                seqs: vec![3, 4, 9],
                batch: 1,
            },
            MultisigEvent::OutflowReturned {
                seq: 3,
                account: "ghost-hunter".into(),
                asset: Coin::Hbd,
                amount: 1,
                why: "failed alone 3 times".into(),
            },
            MultisigEvent::CollateralSet { stake: i64::MAX as u64 },
            MultisigEvent::Escrowed {
                module: "dex".into(),
                account: "alice".into(),
                asset: Coin::Hbd,
                amount: i64::MAX as u64,
                order: r#"{"id":"DLUXQm","from":"alice","pair":"HBD","side":"bid","amount":1}"#.into(),
                from_l2: true,
            },
            MultisigEvent::Escrowed {
                module: "dex".into(),
                account: "bob".into(),
                asset: Coin::Hive,
                amount: 1,
                order: String::new(),
                from_l2: false,
            },
            MultisigEvent::EscrowPaid {
                module: "dex".into(),
                account: "carol".into(),
                asset: Coin::Hive,
                amount: 10,
                order: "DLUXQmabc".into(),
                why: "fill".into(),
                fallback: None,
            },
            MultisigEvent::EscrowPaid {
                module: "dex".into(),
                account: "carol".into(),
                asset: Coin::Hbd,
                amount: i64::MAX as u64,
                order: "DLUXQmabc".into(),
                why: "return".into(),
                fallback: Some("the outflow counter is exhausted ✓".into()),
            },
            MultisigEvent::EscrowPaidOut {
                module: "dex".into(),
                seq: u64::MAX,
                to: "dave".into(),
                asset: Coin::Hbd,
                amount: 3,
                memo: "DLUX DEX fill DLUXQmabc ot:18446744073709551615".into(),
                order: "DLUXQmabc".into(),
                why: "fill".into(),
                block: u64::MAX,
            },
        ]
    }

    #[test]
    fn every_variant_round_trips_through_avro() {
        let all = every_variant();
        let kinds: std::collections::BTreeSet<&str> = all.iter().map(MultisigEvent::kind).collect();
        assert_eq!(kinds.len(), 20, "one of each event");
        opentoken_core::test_utils::assert_writes_like(&every_variant(), |e| {
            codec()
                .expect("the codec")
                .encode_with_apache_avro(e.to_value())
                .expect("apache-avro writes it")
        });
        assert_event_codec(
            &all,
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../schemas/multisig_event.avsc"),
            SCHEMA,
        );
    }

    /// Events written before the transaction builder (schema v1, `schemas/history/`) decode
    /// with today's reader to the same events: the union only grew at its end.
    #[test]
    fn records_of_the_first_schema_still_decode() {
        let codec = codec().expect("compiled schemas");
        let v1 = apache_avro::Schema::parse_str(SCHEMA_V1).expect("v1 parses");
        assert_ne!(
            codec.fingerprint(),
            opentoken_codec::SingleObjectCodec::new("v1", SCHEMA_V1, &[])
                .unwrap()
                .fingerprint(),
            "v1 is another writer schema"
        );
        // The union only grew at its end: v1's branches are today's first ones, unchanged.
        let branches =
            |s: &apache_avro::Schema| opentoken_codec::single_object::event_union_branches(s).expect("an event union");
        let (old_branches, new_branches) = (branches(&v1), branches(codec.schema()));
        assert_eq!(old_branches.len(), 5);
        assert_eq!(old_branches[..], new_branches[..5], "append only");
        let old: Vec<MultisigEvent> = every_variant().into_iter().take(5).collect();
        assert_eq!(old.last().map(MultisigEvent::kind), Some("OutflowAnomaly"));
        for e in old {
            let bytes = codec.encode_with_writer(&v1, e.to_value()).expect("fits v1");
            assert_ne!(bytes, e.encode().unwrap(), "written with the old fingerprint");
            assert_eq!(MultisigEvent::decode(&bytes).expect("v1 record decodes"), e);
        }
        // Records of the second schema (before rotation) decode too.
        let v2 = apache_avro::Schema::parse_str(SCHEMA_V2).expect("v2 parses");
        for e in every_variant().into_iter().take(10) {
            let bytes = codec.encode_with_writer(&v2, e.to_value()).expect("fits v2");
            assert_eq!(MultisigEvent::decode(&bytes).expect("v2 record decodes"), e);
        }
        let rotated = every_variant()
            .into_iter()
            .find(|e| e.kind() == "Rotated")
            .expect("variants");
        assert!(codec.encode_with_writer(&v2, rotated.to_value()).is_err());
        // Records of the fifth schema (before the module escrows) decode too; the escrow events are new
        // branches at the end.
        let v5 = apache_avro::Schema::parse_str(SCHEMA_V5).expect("v5 parses");
        let (v5_branches, now) = (branches(&v5), branches(codec.schema()));
        assert_eq!(v5_branches.len(), 17);
        assert_eq!(v5_branches[..], now[..17], "append only");
        for e in every_variant() {
            let fits_v5 = codec.encode_with_writer(&v5, e.to_value());
            if e.kind().starts_with("Escrow") {
                assert!(fits_v5.is_err(), "{} is new", e.kind());
            } else {
                let bytes = fits_v5.expect("fits v5");
                assert_eq!(MultisigEvent::decode(&bytes).expect("v5 record decodes"), e);
            }
        }
        // A new event does not fit the old schema: it is a new branch.
        let new = MultisigEvent::TxSettled { checkpoint: 1 };
        assert!(codec.encode_with_writer(&v1, new.to_value()).is_err());
    }

    /// Records of the sixth schema (the DEX's escrow, before the NFT module made escrows
    /// per module) decode: their escrow events under the names they had then, without a
    /// module, come back as today's events of module `dex`.
    #[test]
    fn records_of_the_dex_only_escrow_schema_still_decode() {
        use apache_avro::types::Value;
        let codec = codec().expect("compiled schemas");
        let v6 = apache_avro::Schema::parse_str(SCHEMA_V6).expect("v6 parses");
        assert_ne!(
            codec.fingerprint(),
            opentoken_codec::SingleObjectCodec::new("v6", SCHEMA_V6, &[])
                .unwrap()
                .fingerprint(),
            "v6 is another writer schema"
        );
        let mut escrows = 0;
        for e in every_variant() {
            let mut value = e.to_value();
            if e.kind().starts_with("Escrow") {
                // The v6 shape: the same branch position, no module field.
                let Value::Record(outer) = &mut value else {
                    panic!("a record")
                };
                let Value::Union(_, inner) = &mut outer[0].1 else {
                    panic!("a union")
                };
                let Value::Record(fields) = inner.as_mut() else {
                    panic!("a record")
                };
                let before = fields.len();
                fields.retain(|(name, _)| name != "module");
                assert_eq!(fields.len(), before - 1, "{} had a module", e.kind());
                escrows += 1;
            }
            let bytes = codec.encode_with_writer(&v6, value).expect("fits v6");
            assert_ne!(bytes, e.encode().unwrap(), "written with the old fingerprint");
            assert_eq!(
                MultisigEvent::decode(&bytes).expect("v6 record decodes"),
                e,
                "{}",
                e.kind()
            );
        }
        assert_eq!(escrows, 5, "every escrow event of the DEX was read back");
    }
}
