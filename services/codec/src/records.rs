//! Rust records <-> Avro values, field by field in schema order.
//!
//! Values are built explicitly (no serde derive) so that the bytes are a function of the
//! record alone: field order, union branch indices and integer widths are fixed here and
//! covered by golden tests.

use crate::value::{long_u32, long_u64, record, strings, Fields};
use crate::CodecError;
use apache_avro::types::Value;
use opentoken_core::{
    Asset, AssetSymbol, BlockRecord, ChainPos, CustomJsonOp, DelegateVestingSharesOp, EventRecord, HiveOp, Message,
    OpStatus, Outcome, RejectCode, RoutedOp, TransferOp,
};

pub(crate) fn chain_pos(p: &ChainPos) -> Value {
    record(vec![
        ("block", long_u64(p.block)),
        ("trx_in_block", long_u32(p.trx_in_block)),
        ("op_in_trx", long_u32(p.op_in_trx)),
    ])
}

pub(crate) fn chain_pos_from(what: &'static str, v: &Value) -> Result<ChainPos, CodecError> {
    let f = Fields::of(what, v)?;
    Ok(ChainPos {
        block: f.u64("block")?,
        trx_in_block: f.u32("trx_in_block")?,
        op_in_trx: f.u32("op_in_trx")?,
    })
}

const SYMBOLS: [(AssetSymbol, &str); 3] = [
    (AssetSymbol::Hive, "HIVE"),
    (AssetSymbol::Hbd, "HBD"),
    (AssetSymbol::Vests, "VESTS"),
];

fn asset(a: &Asset) -> Value {
    let (idx, name) = match a.symbol {
        AssetSymbol::Hive => (0, "HIVE"),
        AssetSymbol::Hbd => (1, "HBD"),
        AssetSymbol::Vests => (2, "VESTS"),
    };
    record(vec![
        ("amount", Value::Long(a.amount)),
        ("symbol", Value::Enum(idx, name.to_string())),
    ])
}

fn asset_from(what: &'static str, v: &Value) -> Result<Asset, CodecError> {
    let f = Fields::of(what, v)?;
    let sym = f.symbol("symbol")?;
    let symbol = SYMBOLS
        .iter()
        .find(|(_, n)| *n == sym)
        .map(|(s, _)| *s)
        .ok_or_else(|| CodecError::Shape {
            what,
            detail: format!("symbol: unknown asset symbol {sym:?}"),
        })?;
    Ok(Asset {
        amount: f.long("amount")?,
        symbol,
    })
}

/// Union branch indices of `HiveOp` in block_record.avsc (v2).
const OP_CUSTOM_JSON: u32 = 0;
const OP_TRANSFER: u32 = 1;
const OP_DELEGATE: u32 = 2;
const OP_OTHER: u32 = 3;

fn hive_op(op: &HiveOp) -> Value {
    match op {
        HiveOp::CustomJson(c) => Value::Union(
            OP_CUSTOM_JSON,
            Box::new(record(vec![
                ("required_auths", strings(&c.required_auths)),
                ("required_posting_auths", strings(&c.required_posting_auths)),
                ("id", Value::String(c.id.clone())),
                ("json", Value::String(c.json.clone())),
            ])),
        ),
        HiveOp::Transfer(t) => Value::Union(
            OP_TRANSFER,
            Box::new(record(vec![
                ("from", Value::String(t.from.clone())),
                ("to", Value::String(t.to.clone())),
                ("amount", asset(&t.amount)),
                ("memo", Value::String(t.memo.clone())),
            ])),
        ),
        HiveOp::DelegateVestingShares(d) => Value::Union(
            OP_DELEGATE,
            Box::new(record(vec![
                ("delegator", Value::String(d.delegator.clone())),
                ("delegatee", Value::String(d.delegatee.clone())),
                ("vesting_shares", asset(&d.vesting_shares)),
            ])),
        ),
        HiveOp::Other { name, body } => Value::Union(
            OP_OTHER,
            Box::new(record(vec![
                ("name", Value::String(name.clone())),
                ("body", Value::String(body.clone())),
            ])),
        ),
    }
}

fn string_list(what: &'static str, f: &Fields<'_>, name: &str) -> Result<Vec<String>, CodecError> {
    f.array(name)?
        .iter()
        .map(|v| match crate::value::strip_union(v) {
            Value::String(s) => Ok(s.clone()),
            other => Err(CodecError::Shape {
                what,
                detail: format!("{name}: expected strings, found {}", crate::value::kind(other)),
            }),
        })
        .collect()
}

fn hive_op_from(what: &'static str, f: &Fields<'_>) -> Result<HiveOp, CodecError> {
    let (branch, v) = f.union("op")?;
    let o = Fields::of(what, v)?;
    Ok(match branch {
        OP_CUSTOM_JSON => HiveOp::CustomJson(CustomJsonOp {
            required_auths: string_list(what, &o, "required_auths")?,
            required_posting_auths: string_list(what, &o, "required_posting_auths")?,
            id: o.string("id")?,
            json: o.string("json")?,
        }),
        OP_TRANSFER => HiveOp::Transfer(TransferOp {
            from: o.string("from")?,
            to: o.string("to")?,
            amount: asset_from(what, o.get("amount")?)?,
            memo: o.string("memo")?,
        }),
        OP_DELEGATE => HiveOp::DelegateVestingShares(DelegateVestingSharesOp {
            delegator: o.string("delegator")?,
            delegatee: o.string("delegatee")?,
            vesting_shares: asset_from(what, o.get("vesting_shares")?)?,
        }),
        OP_OTHER => HiveOp::Other {
            name: o.string("name")?,
            body: o.string("body")?,
        },
        other => {
            return Err(CodecError::Shape {
                what,
                detail: format!("op: union branch {other} is not a known Hive operation"),
            })
        }
    })
}

pub(crate) fn block_record(r: &BlockRecord) -> Value {
    let ops = r
        .ops
        .iter()
        .map(|o| {
            record(vec![
                ("pos", chain_pos(&o.pos)),
                ("txid", Value::String(o.txid.clone())),
                ("op", hive_op(&o.op)),
            ])
        })
        .collect();
    // A single block is written as null so that v1 readers' meaning (one block per record)
    // and v2's agree, and so that the encoding of a record is unique.
    let last_block = if r.last_block == r.block_num {
        Value::Union(0, Box::new(Value::Null))
    } else {
        Value::Union(1, Box::new(long_u64(r.last_block)))
    };
    record(vec![
        ("block_num", long_u64(r.block_num)),
        ("block_id", Value::String(r.block_id.clone())),
        ("timestamp", long_u64(r.timestamp)),
        ("ops", Value::Array(ops)),
        ("last_block", last_block),
    ])
}

pub(crate) fn block_record_from(v: &Value) -> Result<BlockRecord, CodecError> {
    const WHAT: &str = "block record";
    let f = Fields::of(WHAT, v)?;
    let block_num = f.u64("block_num")?;
    let last_block = match f.optional_long("last_block")? {
        Some(x) => x as u64,
        None => block_num,
    };
    let ops = f
        .array("ops")?
        .iter()
        .map(|o| {
            let of = Fields::of(WHAT, o)?;
            Ok(RoutedOp {
                pos: chain_pos_from(WHAT, of.get("pos")?)?,
                txid: of.string("txid")?,
                op: hive_op_from(WHAT, &of)?,
            })
        })
        .collect::<Result<Vec<_>, CodecError>>()?;
    Ok(BlockRecord {
        block_num,
        last_block,
        block_id: f.string("block_id")?,
        timestamp: f.u64("timestamp")?,
        ops,
    })
}

pub(crate) fn message(m: &Message) -> Value {
    record(vec![
        ("from", Value::String(m.from.clone())),
        ("to", Value::String(m.to.clone())),
        ("pos", chain_pos(&m.pos)),
        ("seq", long_u32(m.seq)),
        ("kind", Value::String(m.kind.clone())),
        ("payload", Value::String(m.payload.clone())),
    ])
}

pub(crate) fn message_from(v: &Value) -> Result<Message, CodecError> {
    const WHAT: &str = "module message";
    let f = Fields::of(WHAT, v)?;
    Ok(Message {
        from: f.string("from")?,
        to: f.string("to")?,
        pos: chain_pos_from(WHAT, f.get("pos")?)?,
        seq: f.u32("seq")?,
        kind: f.string("kind")?,
        payload: f.string("payload")?,
    })
}

pub(crate) fn event_record(e: &EventRecord) -> Value {
    record(vec![
        ("module", Value::String(e.module.clone())),
        ("pos", chain_pos(&e.pos)),
        ("seq", long_u32(e.seq)),
        ("kind", Value::String(e.kind.clone())),
        ("data", Value::Bytes(e.data.clone())),
    ])
}

pub(crate) fn event_record_from(v: &Value) -> Result<EventRecord, CodecError> {
    const WHAT: &str = "state event";
    let f = Fields::of(WHAT, v)?;
    Ok(EventRecord {
        module: f.string("module")?,
        pos: chain_pos_from(WHAT, f.get("pos")?)?,
        seq: f.u32("seq")?,
        kind: f.string("kind")?,
        data: f.bytes("data")?,
    })
}

fn reject_code(code: RejectCode) -> Value {
    Value::Enum(code.index() as u32, code.to_string())
}

pub(crate) fn op_status(s: &OpStatus) -> Value {
    let outcome = match &s.outcome {
        Outcome::Applied { summary } => {
            Value::Union(0, Box::new(record(vec![("summary", Value::String(summary.clone()))])))
        }
        Outcome::Rejected { code, reason } => Value::Union(
            1,
            Box::new(record(vec![
                ("code", reject_code(*code)),
                ("reason", Value::String(reason.clone())),
            ])),
        ),
    };
    record(vec![
        ("txid", Value::String(s.txid.clone())),
        ("pos", chain_pos(&s.pos)),
        ("module", Value::String(s.module.clone())),
        ("op", Value::String(s.op.clone())),
        ("from", Value::String(s.from.clone())),
        ("outcome", outcome),
    ])
}

pub(crate) fn op_status_from(v: &Value) -> Result<OpStatus, CodecError> {
    const WHAT: &str = "op status";
    let f = Fields::of(WHAT, v)?;
    let (branch, ov) = f.union("outcome")?;
    let o = Fields::of(WHAT, ov)?;
    let outcome = match branch {
        0 => Outcome::Applied {
            summary: o.string("summary")?,
        },
        1 => {
            let sym = o.symbol("code")?;
            let code = RejectCode::ALL
                .iter()
                .find(|c| c.to_string() == sym)
                .copied()
                .ok_or_else(|| CodecError::Shape {
                    what: WHAT,
                    detail: format!("code: unknown reject code {sym:?}"),
                })?;
            Outcome::Rejected {
                code,
                reason: o.string("reason")?,
            }
        }
        other => {
            return Err(CodecError::Shape {
                what: WHAT,
                detail: format!("outcome: union branch {other} is neither Applied nor Rejected"),
            })
        }
    };
    Ok(OpStatus {
        txid: f.string("txid")?,
        pos: chain_pos_from(WHAT, f.get("pos")?)?,
        module: f.string("module")?,
        op: f.string("op")?,
        from: f.string("from")?,
        outcome,
    })
}
