//! Purpose-written Avro encoders and decoders of the records every block touches: block
//! records (the ingester writes one per block and module, every processor reads them), op
//! statuses (one per routed op), state events and module messages.
//!
//! They write the datum straight from the Rust record and read it straight into one, with
//! no intermediate `Value` tree: building and dropping that tree (a heap allocation per field
//! name and string) was most of the cost of a record. The bytes are exactly those of the
//! schema-driven path in `records` (`tests/direct.rs` compares both on every record type
//! and on truncated, flipped and random input, and `tests/roundtrip.rs` pins the bytes
//! against an independent writer), and the reader accepts exactly what that path accepts.
//! Records written with an older schema still go through the schema-driven path.

use opentoken_core::{
    Asset, AssetSymbol, BlockRecord, ChainPos, CustomJsonOp, DelegateVestingSharesOp, EventRecord, HiveOp, Message,
    OpStatus, Outcome, RejectCode, RoutedOp, TransferOp,
};

use crate::direct::{block_count, bytes, len_i64, length, take, zag, zig as long, DirectError};

// ---- writing ----

fn string(s: &str, out: &mut Vec<u8>) {
    bytes(s.as_bytes(), out);
}

fn chain_pos(p: &ChainPos, out: &mut Vec<u8>) {
    long(p.block as i64, out);
    long(i64::from(p.trx_in_block), out);
    long(i64::from(p.op_in_trx), out);
}

/// The `AssetSymbol` enum's index in block_record.avsc.
fn symbol_index(s: AssetSymbol) -> i64 {
    match s {
        AssetSymbol::Hive => 0,
        AssetSymbol::Hbd => 1,
        AssetSymbol::Vests => 2,
    }
}

fn asset(a: &Asset, out: &mut Vec<u8>) {
    long(a.amount, out);
    long(symbol_index(a.symbol), out);
}

fn strings(items: &[String], out: &mut Vec<u8>) {
    if !items.is_empty() {
        long(len_i64(items.len()), out);
        for s in items {
            string(s, out);
        }
    }
    out.push(0);
}

fn hive_op(op: &HiveOp, out: &mut Vec<u8>) {
    match op {
        HiveOp::CustomJson(c) => {
            long(0, out);
            strings(&c.required_auths, out);
            strings(&c.required_posting_auths, out);
            string(&c.id, out);
            string(&c.json, out);
        }
        HiveOp::Transfer(t) => {
            long(1, out);
            string(&t.from, out);
            string(&t.to, out);
            asset(&t.amount, out);
            string(&t.memo, out);
        }
        HiveOp::DelegateVestingShares(d) => {
            long(2, out);
            string(&d.delegator, out);
            string(&d.delegatee, out);
            asset(&d.vesting_shares, out);
        }
        HiveOp::Other { name, body } => {
            long(3, out);
            string(name, out);
            string(body, out);
        }
    }
}

pub(crate) fn block_record(r: &BlockRecord, out: &mut Vec<u8>) {
    long(r.block_num as i64, out);
    string(&r.block_id, out);
    long(r.timestamp as i64, out);
    if !r.ops.is_empty() {
        long(len_i64(r.ops.len()), out);
        for o in &r.ops {
            chain_pos(&o.pos, out);
            string(&o.txid, out);
            hive_op(&o.op, out);
        }
    }
    out.push(0);
    // A single block is written as null (see `records::block_record`).
    if r.last_block == r.block_num {
        long(0, out);
    } else {
        long(1, out);
        long(r.last_block as i64, out);
    }
}

pub(crate) fn message(m: &Message, out: &mut Vec<u8>) {
    string(&m.from, out);
    string(&m.to, out);
    chain_pos(&m.pos, out);
    long(i64::from(m.seq), out);
    string(&m.kind, out);
    string(&m.payload, out);
}

pub(crate) fn event_record(e: &EventRecord, out: &mut Vec<u8>) {
    string(&e.module, out);
    chain_pos(&e.pos, out);
    long(i64::from(e.seq), out);
    string(&e.kind, out);
    bytes(&e.data, out);
}

pub(crate) fn op_status(s: &OpStatus, out: &mut Vec<u8>) {
    string(&s.txid, out);
    chain_pos(&s.pos, out);
    string(&s.module, out);
    string(&s.op, out);
    string(&s.from, out);
    match &s.outcome {
        Outcome::Applied { summary } => {
            long(0, out);
            string(summary, out);
        }
        Outcome::Rejected { code, reason } => {
            long(1, out);
            long(code.index() as i64, out);
            string(reason, out);
        }
    }
}

// ---- reading ----

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DirectError> {
        take(&mut self.0, n)
    }

    fn long(&mut self) -> Result<i64, DirectError> {
        zag(&mut self.0)
    }

    fn u64(&mut self) -> Result<u64, DirectError> {
        Ok(self.long()? as u64)
    }

    fn u32(&mut self, name: &str) -> Result<u32, DirectError> {
        let x = self.long()?;
        u32::try_from(x).map_err(|_| DirectError::Malformed(format!("{name}: {x} is not in 0..=4294967295")))
    }

    fn len(&mut self) -> Result<usize, DirectError> {
        length(&mut self.0)
    }

    fn bytes(&mut self) -> Result<Vec<u8>, DirectError> {
        let n = self.len()?;
        Ok(self.take(n)?.to_vec())
    }

    fn string(&mut self) -> Result<String, DirectError> {
        let n = self.len()?;
        let b = self.take(n)?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|e| DirectError::Malformed(format!("a string that is not UTF-8: {e}")))
    }

    /// An array, each item read by `item`; memory reserved is bounded by the bytes left.
    fn array<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T, DirectError>) -> Result<Vec<T>, DirectError> {
        let mut out = Vec::new();
        loop {
            let n = block_count(&mut self.0)?;
            if n == 0 {
                return Ok(out);
            }
            out.reserve(n.min(self.0.len()));
            for _ in 0..n {
                out.push(item(self)?);
            }
        }
    }

    fn index(&mut self, of: usize, what: &str) -> Result<usize, DirectError> {
        let i = self.long()?;
        usize::try_from(i)
            .ok()
            .filter(|i| *i < of)
            .ok_or_else(|| DirectError::Malformed(format!("{what} index {i} of {of}")))
    }

    /// An enum index as apache-avro reads it (an int: out of i32 range is malformed).
    fn enum_index(&mut self, of: usize, what: &str) -> Result<usize, DirectError> {
        let i = self.long()?;
        i32::try_from(i)
            .ok()
            .and_then(|i| usize::try_from(i).ok())
            .filter(|i| *i < of)
            .ok_or_else(|| DirectError::Malformed(format!("{what} index {i} of {of}")))
    }

    fn chain_pos(&mut self) -> Result<ChainPos, DirectError> {
        Ok(ChainPos {
            block: self.u64()?,
            trx_in_block: self.u32("trx_in_block")?,
            op_in_trx: self.u32("op_in_trx")?,
        })
    }

    fn asset(&mut self) -> Result<Asset, DirectError> {
        let amount = self.long()?;
        let symbol = [AssetSymbol::Hive, AssetSymbol::Hbd, AssetSymbol::Vests][self.enum_index(3, "AssetSymbol")?];
        Ok(Asset { amount, symbol })
    }

    fn hive_op(&mut self) -> Result<HiveOp, DirectError> {
        Ok(match self.index(4, "op union")? {
            0 => HiveOp::CustomJson(CustomJsonOp {
                required_auths: self.array(Self::string)?,
                required_posting_auths: self.array(Self::string)?,
                id: self.string()?,
                json: self.string()?,
            }),
            1 => HiveOp::Transfer(TransferOp {
                from: self.string()?,
                to: self.string()?,
                amount: self.asset()?,
                memo: self.string()?,
            }),
            2 => HiveOp::DelegateVestingShares(DelegateVestingSharesOp {
                delegator: self.string()?,
                delegatee: self.string()?,
                vesting_shares: self.asset()?,
            }),
            _ => HiveOp::Other {
                name: self.string()?,
                body: self.string()?,
            },
        })
    }

    fn end(self) -> Result<(), DirectError> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(DirectError::Malformed(format!("{n} bytes after the datum"))),
        }
    }
}

pub(crate) fn block_record_from(datum: &[u8]) -> Result<BlockRecord, DirectError> {
    let mut r = Reader(datum);
    let block_num = r.u64()?;
    let block_id = r.string()?;
    let timestamp = r.u64()?;
    let ops = r.array(|r| {
        Ok(RoutedOp {
            pos: r.chain_pos()?,
            txid: r.string()?,
            op: r.hive_op()?,
        })
    })?;
    let last_block = match r.index(2, "last_block union")? {
        0 => block_num,
        _ => r.u64()?,
    };
    r.end()?;
    Ok(BlockRecord {
        block_num,
        last_block,
        block_id,
        timestamp,
        ops,
    })
}

pub(crate) fn message_from(datum: &[u8]) -> Result<Message, DirectError> {
    let mut r = Reader(datum);
    let m = Message {
        from: r.string()?,
        to: r.string()?,
        pos: r.chain_pos()?,
        seq: r.u32("seq")?,
        kind: r.string()?,
        payload: r.string()?,
    };
    r.end()?;
    Ok(m)
}

pub(crate) fn event_record_from(datum: &[u8]) -> Result<EventRecord, DirectError> {
    let mut r = Reader(datum);
    let e = EventRecord {
        module: r.string()?,
        pos: r.chain_pos()?,
        seq: r.u32("seq")?,
        kind: r.string()?,
        data: r.bytes()?,
    };
    r.end()?;
    Ok(e)
}

pub(crate) fn op_status_from(datum: &[u8]) -> Result<OpStatus, DirectError> {
    let mut r = Reader(datum);
    let txid = r.string()?;
    let pos = r.chain_pos()?;
    let module = r.string()?;
    let op = r.string()?;
    let from = r.string()?;
    let outcome = match r.index(2, "outcome union")? {
        0 => Outcome::Applied { summary: r.string()? },
        _ => {
            let code = RejectCode::ALL
                .get(r.enum_index(RejectCode::ALL.len(), "RejectCode")?)
                .copied()
                .ok_or_else(|| DirectError::Malformed("RejectCode".into()))?;
            Outcome::Rejected {
                code,
                reason: r.string()?,
            }
        }
    };
    r.end()?;
    Ok(OpStatus {
        txid,
        pos,
        module,
        op,
        from,
        outcome,
    })
}

#[cfg(test)]
mod tests {
    use apache_avro::Schema;

    fn symbols(schema: &str, name: &str) -> Vec<String> {
        fn find(s: &Schema, name: &str) -> Option<Vec<String>> {
            match s {
                Schema::Enum(e) if e.name.name == name => Some(e.symbols.clone()),
                Schema::Record(r) => r.fields.iter().find_map(|f| find(&f.schema, name)),
                Schema::Array(a) => find(&a.items, name),
                Schema::Union(u) => u.variants().iter().find_map(|v| find(v, name)),
                _ => None,
            }
        }
        find(&Schema::parse_str(schema).expect("parses"), name).expect("the enum")
    }

    /// The enums the writer numbers by hand are in the schemas' order.
    #[test]
    fn enum_indices_are_the_schemas() {
        let rejects = symbols(crate::OP_STATUS, "RejectCode");
        let ours: Vec<String> = opentoken_core::RejectCode::ALL.iter().map(|c| c.to_string()).collect();
        assert_eq!(rejects, ours);
        for (i, c) in opentoken_core::RejectCode::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
        }
        assert_eq!(symbols(crate::BLOCK_RECORD, "AssetSymbol"), ["HIVE", "HBD", "VESTS"]);
    }
}
