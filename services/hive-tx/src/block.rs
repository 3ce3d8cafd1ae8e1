//! Verifying a block served as JSON by an untrusted Hive API node before using it: every
//! transaction id, the transaction merkle root and the block id are recomputed from the
//! JSON content, so a node that alters, adds, drops or reorders anything under a block id
//! is caught. This proves the JSON *is* the block with that id; that the id belongs to the
//! chain is the caller's part (`previous` links to an id already trusted). The witness
//! signature is hashed into the id but not checked here.
//!
//! Formulas (hived `full_transaction.cpp`, `merkle.cpp`, `block.cpp`):
//! - transaction id: first 20 bytes of SHA-256 of the unsigned transaction bytes;
//! - merkle leaf: SHA-256 of the signed transaction bytes *as stored in the block*, i.e. in
//!   the packing whose id the block lists (legacy for every pre-HF26 block);
//! - merkle root: pairwise SHA-256 of 32-byte digests, an odd last one carried up, then
//!   RIPEMD-160 of the last digest; 20 zero bytes for an empty block;
//! - block id: SHA-224 of the signed header, first 20 bytes, bytes 0..4 replaced by the
//!   block number (big-endian).

use crate::schema::{self, Enc, Ty};
use crate::write::Writer;
use crate::{Packing, TxError};
use ripemd::Ripemd160;
use serde_json::{Map, Value};
use sha2::{Digest, Sha224, Sha256};
use thiserror::Error;

/// More transactions than any real block holds: refused before any work.
pub const MAX_BLOCK_TRANSACTIONS: usize = 10_000;
/// More serialized transaction bytes than any real block holds (hived's hard cap is a few MiB).
const MAX_BLOCK_BYTES: usize = 16 << 20;

/// Why a block (as JSON) is not what its header claims.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlockFault {
    /// Not a block of the expected shape (missing or mistyped field, bad hex, too large, …).
    #[error("malformed block: {0}")]
    BadShape(String),
    /// An operation opentoken cannot serialize, so its id cannot be checked.
    #[error("block {num} transaction {tx}: operation `{op}` is not supported by opentoken's serializer")]
    UnsupportedOp { num: u64, tx: usize, op: String },
    /// A header extension opentoken cannot serialize, so the block id cannot be checked.
    #[error("block {num}: header extension `{what}` is not supported by opentoken's serializer")]
    UnsupportedHeader { num: u64, what: String },
    /// `transaction_ids` and `transactions` differ in length.
    #[error("block {num}: {listed} transaction ids listed for {transactions} transactions")]
    IdCount {
        num: u64,
        listed: usize,
        transactions: usize,
    },
    #[error("block {num} transaction {tx}: listed id {listed}, content hashes to {computed}")]
    TxId {
        num: u64,
        tx: usize,
        listed: String,
        computed: String,
    },
    #[error("block {num}: header merkle root {header}, transactions hash to {computed}")]
    MerkleRoot { num: u64, header: String, computed: String },
    #[error("block {num}: listed block id {listed}, header hashes to {computed}")]
    BlockId { num: u64, listed: String, computed: String },
    /// A field that encodes the block number (`block_id`, `previous`) names another block.
    #[error("block {num}: `{field}` encodes block number {found}")]
    NumberMismatch { num: u64, field: &'static str, found: u64 },
}

impl BlockFault {
    /// True only when opentoken could not serialize something (its own limitation), which is
    /// no proof that the node lied.
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self,
            BlockFault::UnsupportedOp { .. } | BlockFault::UnsupportedHeader { .. }
        )
    }
}

/// fc::raw bytes of one operation given as JSON, in appbase form
/// (`{"type": "transfer_operation", "value": {…}}`, NAI assets) or legacy form
/// (`["transfer", {…}]`, `"1.000 HIVE"` assets).
pub fn operation_json_bytes(op: &Value, packing: Packing) -> Result<Vec<u8>, TxError> {
    let mut w = Writer::default();
    Enc::new(&mut w, packing, None).op(op)?;
    Ok(w.into_bytes())
}

/// A transaction's bytes, split where the signatures start.
struct TxBytes {
    unsigned: Vec<u8>,
    /// Varint count + 65 bytes per signature; empty when not asked for.
    signatures: Vec<u8>,
    saw_asset: bool,
    saw_legacy_fee: bool,
}

impl TxBytes {
    /// (transaction id, merkle leaf).
    fn digests(&self) -> ([u8; 20], [u8; 32]) {
        let mut h = Sha256::new();
        h.update(&self.unsigned);
        let full = h.clone().finalize();
        let mut id = [0u8; 20];
        id.copy_from_slice(&full[..20]);
        h.update(&self.signatures);
        (id, h.finalize().into())
    }
}

fn field<'v>(m: &'v Map<String, Value>, k: &str) -> Result<&'v Value, TxError> {
    m.get(k).ok_or_else(|| TxError::Json(format!("`{k}` is missing")))
}

fn tx_bytes(
    tx: &Value,
    packing: Packing,
    fee_symbol: Option<[u8; 8]>,
    with_signatures: bool,
) -> Result<TxBytes, TxError> {
    let m = tx
        .as_object()
        .ok_or_else(|| TxError::Json("transaction is not an object".into()))?;
    let mut w = Writer::default();
    let mut e = Enc::new(&mut w, packing, fee_symbol);
    let ref_block_num: u16 = schema::int(field(m, "ref_block_num")?)?;
    let ref_block_prefix: u32 = schema::int(field(m, "ref_block_prefix")?)?;
    e.w.bytes(&ref_block_num.to_le_bytes());
    e.w.bytes(&ref_block_prefix.to_le_bytes());
    e.value(&Ty::Time, field(m, "expiration")?)
        .map_err(|err| at(err, "expiration"))?;
    let ops = schema::array(field(m, "operations")?)?;
    e.len(ops.len())?;
    for (i, op) in ops.iter().enumerate() {
        e.op(op).map_err(|err| at(err, &format!("operation {i}")))?;
    }
    e.value(&schema::FUTURE_EXTENSIONS, field(m, "extensions")?)
        .map_err(|err| at(err, "extensions"))?;
    let (saw_asset, saw_legacy_fee) = (e.saw_asset, e.saw_legacy_fee);
    let unsigned = w.into_bytes();
    let mut sw = Writer::default();
    if with_signatures {
        let mut e = Enc::new(&mut sw, packing, None);
        let sigs = schema::array(field(m, "signatures")?)?;
        e.len(sigs.len())?;
        for s in sigs {
            e.hash(65, s).map_err(|err| at(err, "signatures"))?;
        }
    }
    Ok(TxBytes {
        unsigned,
        signatures: sw.into_bytes(),
        saw_asset,
        saw_legacy_fee,
    })
}

fn at(e: TxError, what: &str) -> TxError {
    match e {
        TxError::Json(m) => TxError::Json(format!("{what}: {m}")),
        other => other,
    }
}

/// Transaction bytes (ref_block_num u16, ref_block_prefix u32, expiration u32, operations,
/// extensions), followed by the signatures (varint count + 65 raw bytes each) when
/// `with_signatures`.
pub fn transaction_json_bytes(tx: &Value, packing: Packing, with_signatures: bool) -> Result<Vec<u8>, TxError> {
    let b = tx_bytes(tx, packing, None, with_signatures)?;
    let mut out = b.unsigned;
    out.extend_from_slice(&b.signatures);
    Ok(out)
}

/// The transaction id as Hive lists it (hex of the first 20 bytes of SHA-256 of the unsigned
/// bytes), for the legacy and the hf26 packing (equal when no asset is present). The signer
/// chose one packing, so a listed id is valid when it equals either.
pub fn transaction_json_ids(tx: &Value) -> Result<(String, String), TxError> {
    let legacy = tx_bytes(tx, Packing::Legacy, None, false)?;
    let legacy_id = hex::encode(legacy.digests().0);
    if !legacy.saw_asset {
        return Ok((legacy_id.clone(), legacy_id));
    }
    let hf26 = tx_bytes(tx, Packing::Hf26, None, false)?;
    Ok((legacy_id, hex::encode(hf26.digests().0)))
}

/// The merkle leaf of a transaction in legacy packing: SHA-256 of its bytes with signatures.
/// A block stores (and hashes) each transaction in the packing it was signed in, so for a
/// transaction signed in hf26 packing the leaf is [`transaction_json_leaf`] with
/// [`Packing::Hf26`]; [`verify_block_json`] picks the packing whose id the block lists.
pub fn merkle_leaf(tx: &Value) -> Result<[u8; 32], TxError> {
    transaction_json_leaf(tx, Packing::Legacy)
}

/// The merkle leaf of a transaction stored in `packing`: SHA-256 of its bytes with signatures.
pub fn transaction_json_leaf(tx: &Value, packing: Packing) -> Result<[u8; 32], TxError> {
    Ok(tx_bytes(tx, packing, None, true)?.digests().1)
}

/// The transaction merkle root of a block from its leaves (20 zero bytes for none).
pub fn merkle_root(leaves: &[[u8; 32]]) -> [u8; 20] {
    let mut level: Vec<[u8; 32]> = leaves.to_vec();
    if level.is_empty() {
        return [0u8; 20];
    }
    while level.len() > 1 {
        let next: Vec<[u8; 32]> = level
            .chunks(2)
            .map(|c| match c {
                [l, r] => {
                    let mut h = Sha256::new();
                    h.update(l);
                    h.update(r);
                    h.finalize().into()
                }
                [odd] => *odd,
                _ => [0u8; 32], // chunks(2) yields one or two items
            })
            .collect();
        level = next;
    }
    Ripemd160::digest(level[0]).into()
}

fn shape(num: u64, what: impl std::fmt::Display) -> BlockFault {
    BlockFault::BadShape(format!("block {num}: {what}"))
}

fn header_fault(num: u64, e: TxError) -> BlockFault {
    match e {
        TxError::Unsupported(what) => BlockFault::UnsupportedHeader { num, what },
        TxError::Json(m) => shape(num, m),
    }
}

fn block_number(num: u64) -> Result<u32, BlockFault> {
    u32::try_from(num)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| shape(num, "block numbers are 1..=u32::MAX"))
}

/// A 20-byte id given as 40 lower-case hex digits.
fn id20(num: u64, name: &str, v: Option<&Value>) -> Result<[u8; 20], BlockFault> {
    let s = v
        .and_then(Value::as_str)
        .ok_or_else(|| shape(num, format!("`{name}` is missing or not a string")))?;
    let b = schema::hex_bytes(s).map_err(|e| shape(num, format!("`{name}`: {e}")))?;
    b.try_into()
        .map_err(|_| shape(num, format!("`{name}` is not 20 bytes")))
}

fn num_in(id: &[u8; 20]) -> u64 {
    u64::from(u32::from_be_bytes([id[0], id[1], id[2], id[3]]))
}

/// The id of a block from its header fields (`previous`, `timestamp`, `witness`,
/// `transaction_merkle_root`, `extensions`, `witness_signature`) and its number, which
/// `previous` must agree with.
pub fn block_json_id(block: &Value, num: u64) -> Result<String, BlockFault> {
    Ok(hex::encode(block_id_bytes(block, num)?))
}

fn block_id_bytes(block: &Value, num: u64) -> Result<[u8; 20], BlockFault> {
    let n = block_number(num)?;
    let m = block.as_object().ok_or_else(|| shape(num, "not an object"))?;
    let previous = id20(num, "previous", m.get("previous"))?;
    if num_in(&previous) != num - 1 {
        return Err(BlockFault::NumberMismatch {
            num,
            field: "previous",
            found: num_in(&previous),
        });
    }
    let mut w = Writer::default();
    let mut e = Enc::new(&mut w, Packing::Legacy, None);
    e.w.bytes(&previous);
    let get = |k: &str| m.get(k).ok_or_else(|| shape(num, format!("`{k}` is missing")));
    for (k, ty) in [
        ("timestamp", &Ty::Time),
        ("witness", &Ty::Str),
        ("transaction_merkle_root", &Ty::Hash(20)),
        ("extensions", &schema::HEADER_EXTENSIONS),
        ("witness_signature", &Ty::Hash(65)),
    ] {
        e.value(ty, get(k)?).map_err(|err| header_fault(num, at(err, k)))?;
    }
    let digest = Sha224::digest(w.into_bytes());
    let mut id = [0u8; 20];
    id.copy_from_slice(&digest[..20]);
    id[..4].copy_from_slice(&n.to_be_bytes());
    Ok(id)
}

fn tx_fault(num: u64, tx: usize, e: TxError) -> BlockFault {
    match e {
        TxError::Unsupported(op) => BlockFault::UnsupportedOp { num, tx, op },
        TxError::Json(m) => shape(num, format!("transaction {tx}: {m}")),
    }
}

/// The merkle leaf of transaction `tx` of block `num`, once its content reproduces `listed`.
/// Returns the leaf and the number of bytes serialized.
fn checked_leaf(num: u64, i: usize, tx: &Value, listed: &[u8; 20]) -> Result<([u8; 32], usize), BlockFault> {
    let legacy = tx_bytes(tx, Packing::Legacy, None, true).map_err(|e| tx_fault(num, i, e))?;
    let size = legacy.unsigned.len() + legacy.signatures.len();
    let (id, leaf) = legacy.digests();
    if id == *listed {
        return Ok((leaf, size));
    }
    let mut computed = hex::encode(id);
    if legacy.saw_asset {
        let hf26 = tx_bytes(tx, Packing::Hf26, None, true).map_err(|e| tx_fault(num, i, e))?;
        let (id26, leaf26) = hf26.digests();
        if id26 == *listed {
            return Ok((leaf26, size));
        }
        computed = format!("{computed} (hf26 packing: {})", hex::encode(id26));
    }
    if legacy.saw_legacy_fee {
        for sym in schema::OBSOLETE_FEE_SYMBOLS {
            for packing in [Packing::Legacy, Packing::Hf26] {
                let b = tx_bytes(tx, packing, Some(sym), true).map_err(|e| tx_fault(num, i, e))?;
                let (id, leaf) = b.digests();
                if id == *listed {
                    return Ok((leaf, size));
                }
            }
        }
    }
    Err(BlockFault::TxId {
        num,
        tx: i,
        listed: hex::encode(listed),
        computed,
    })
}

/// Checks a block object of `block_api.get_block` / `get_block_range` (appbase form) against
/// itself: the listed `block_id` starts with `num` and equals the id recomputed from the
/// header; every `transaction_ids[i]` is an id of `transactions[i]`; the merkle root of the
/// transactions equals the header's `transaction_merkle_root`.
pub fn verify_block_json(block: &Value, num: u64) -> Result<(), BlockFault> {
    block_number(num)?;
    let m = block.as_object().ok_or_else(|| shape(num, "not an object"))?;
    let listed_id = id20(num, "block_id", m.get("block_id"))?;
    if num_in(&listed_id) != num {
        return Err(BlockFault::NumberMismatch {
            num,
            field: "block_id",
            found: num_in(&listed_id),
        });
    }
    let txs = m
        .get("transactions")
        .and_then(Value::as_array)
        .ok_or_else(|| shape(num, "`transactions` is missing or not an array"))?;
    let ids = m
        .get("transaction_ids")
        .and_then(Value::as_array)
        .ok_or_else(|| shape(num, "`transaction_ids` is missing or not an array"))?;
    if txs.len() > MAX_BLOCK_TRANSACTIONS {
        return Err(shape(
            num,
            format!("{} transactions is more than a block holds", txs.len()),
        ));
    }
    if ids.len() != txs.len() {
        return Err(BlockFault::IdCount {
            num,
            listed: ids.len(),
            transactions: txs.len(),
        });
    }
    let header_root = id20(num, "transaction_merkle_root", m.get("transaction_merkle_root"))?;

    let mut leaves = Vec::with_capacity(txs.len());
    let mut total = 0usize;
    for (i, (tx, listed)) in txs.iter().zip(ids).enumerate() {
        let listed = id20(num, &format!("transaction_ids[{i}]"), Some(listed))?;
        let (leaf, size) = checked_leaf(num, i, tx, &listed)?;
        total = total.saturating_add(size);
        if total > MAX_BLOCK_BYTES {
            return Err(shape(num, "transactions are larger than a block holds"));
        }
        leaves.push(leaf);
    }
    let root = merkle_root(&leaves);
    if root != header_root {
        return Err(BlockFault::MerkleRoot {
            num,
            header: hex::encode(header_root),
            computed: hex::encode(root),
        });
    }
    let id = block_id_bytes(block, num)?;
    if id != listed_id {
        return Err(BlockFault::BlockId {
            num,
            listed: hex::encode(listed_id),
            computed: hex::encode(id),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Signature, MAINNET_CHAIN_ID};
    use serde_json::json;

    fn sha(parts: &[&[u8]]) -> [u8; 32] {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        h.finalize().into()
    }

    fn rip(x: &[u8; 32]) -> [u8; 20] {
        Ripemd160::digest(x).into()
    }

    #[test]
    fn merkle_root_shapes() {
        let l: Vec<[u8; 32]> = (1u8..=5).map(|i| [i; 32]).collect();
        assert_eq!(merkle_root(&[]), [0u8; 20]);
        assert_eq!(merkle_root(&l[..1]), rip(&l[0]));
        let ab = sha(&[&l[0], &l[1]]);
        assert_eq!(merkle_root(&l[..2]), rip(&ab));
        // Three: (a·b)·c, the odd c carried up unchanged.
        assert_eq!(merkle_root(&l[..3]), rip(&sha(&[&ab, &l[2]])));
        // Five: ((a·b)·(c·d))·e.
        let cd = sha(&[&l[2], &l[3]]);
        let abcd = sha(&[&ab, &cd]);
        assert_eq!(merkle_root(&l), rip(&sha(&[&abcd, &l[4]])));
        // Order matters.
        let mut swapped = l.clone();
        swapped.swap(0, 1);
        assert_ne!(merkle_root(&swapped), merkle_root(&l));
    }

    /// hive-protocol.md §2.9 vectors 1 and 2, through the JSON path.
    #[test]
    fn golden_vectors_from_json() {
        let vote = json!({"ref_block_num": 34559, "ref_block_prefix": 1271006404,
            "expiration": "2021-12-13T11:31:33", "extensions": [], "signatures": [],
            "operations": [{"type": "vote_operation", "value":
                {"voter": "otom", "author": "c0ff33a", "permlink": "ewxhnjbj", "weight": 2200}}]});
        assert_eq!(
            hex::encode(transaction_json_bytes(&vote, Packing::Legacy, true).expect("bytes")),
            "ff86c404c24b152fb7610100046f746f6d076330666633336108657778686e6a626a98080000"
        );
        let id = "da8ca54c9c3acad06915ae9d93988c367f5cd164".to_string();
        assert_eq!(transaction_json_ids(&vote), Ok((id.clone(), id)));

        for amount in [
            json!({"amount": "300000", "precision": 3, "nai": "@@000000021"}),
            json!("300.000 HIVE"),
        ] {
            let transfer = json!({"ref_block_num": 1959, "ref_block_prefix": 3625727107u32,
                "expiration": "2023-11-09T22:01:24", "extensions": [],
                "operations": [{"type": "transfer_operation", "value": {"from": "oneplus7",
                    "to": "kryptogames", "amount": amount, "memo": "Roll under 50 4d434bd943616"}}]});
            assert_eq!(
                transaction_json_ids(&transfer),
                Ok((
                    "7f34699e9eea49d1bcc10c88f96e38897839ece3".to_string(),
                    "3725c81634f152011e2043eb7119911b953d4267".to_string()
                ))
            );
            let unsigned = transaction_json_bytes(&transfer, Packing::Hf26, false).expect("bytes");
            assert_eq!(
                hex::encode(sha(&[&MAINNET_CHAIN_ID, &unsigned])),
                "8758db23c6aea40564697620ff61625b45c3b538cda21ded9fd6ec229caa1ee9"
            );
        }
    }

    /// A real mainnet account_update2 (hive-protocol.md §2.9 vector 3, wax `signatureTransaction`):
    /// its signature recovers the account's key over our bytes. Absent optional fields (no
    /// owner/active/posting/memo_key) are how nodes render them.
    #[test]
    fn real_signature_recovers_over_our_bytes() {
        let tx = json!({"expiration": "2024-02-21T06:55:40", "extensions": [],
            "operations": [{"type": "account_update2_operation", "value": {
                "account": "thatcryptodave", "extensions": [], "json_metadata": "",
                "posting_json_metadata": "{\"name\":\"David P.\",\"about\":\"\",\"website\":\"\",\"location\":\"Ontario, Canada\",\"birthday\":\"03.28.1984\",\"profile\":{\"name\":\"David P.\",\"about\":\"\",\"website\":\"\",\"location\":\"Ontario, Canada\",\"birthday\":\"03.28.1984\",\"profile_image\":\"\",\"cover_image\":\"\"}}"}}],
            "signatures": ["1f6ad21ddf9f57f1a94c1462185744cb0ea779ec1e99899f2556a3ce02b18d1b810fcddaccb349a53037798aea8023909447df756db461235ba5b63984d515c977"],
            "ref_block_num": 26295, "ref_block_prefix": 26859167});
        let unsigned = transaction_json_bytes(&tx, Packing::Legacy, false).expect("bytes");
        let digest = sha(&[&MAINNET_CHAIN_ID, &unsigned]);
        assert_eq!(
            hex::encode(digest),
            "9ddb48ff8a84ce8783613ad30cbf6a245a058cf554e1de6019257a36bfdb3579"
        );
        let sig = Signature::from_hex(tx["signatures"][0].as_str().expect("sig")).expect("sig");
        assert_eq!(
            sig.recover(&digest).map(|k| k.to_string()).as_deref(),
            Ok("STM5wJarof5LWBiQu2umDUWgg1xD5QHpKQC1Z97sE2aoQdwQ8DwMf")
        );
        let signed = transaction_json_bytes(&tx, Packing::Legacy, true).expect("bytes");
        assert_eq!(signed.len(), unsigned.len() + 1 + 65);
    }

    /// The pow transaction of mainnet block 1,000,012 (2016) as wax's reference data records
    /// it: its listed id and the block's merkle root.
    #[test]
    fn pow_of_block_1000012() {
        let tx = json!({"expiration": "2016-04-29T05:12:33", "extensions": [], "operations": [{
            "type": "pow_operation", "value": {
                "block_id": "000f424b4e3f3a6069ef7ff86e39ca43628208ad", "nonce": "7402656884829255743",
                "props": {"account_creation_fee": {"amount": "1", "nai": "@@000000021", "precision": 3},
                    "hbd_interest_rate": 1000, "maximum_block_size": 131072},
                "work": {"input": "62a5ccd974a8f3fb08c75aa8969a9fe518a3b25dbd1c45ffe519dd1b13da1564",
                    "signature": "2017904d537351ea950ec133f1b2c06c114d5250f798ab977e8e6357d1b759c8865db3827a0bf9dc5b05f108745575b28431f9ec97d4b69172cc1d21a886e35bd7",
                    "work": "00000009b8dae9e6e043afd09c3d7fade06e7a93ea059d3cc42aa651a336ee31",
                    "worker": "STM7D7oC3o7YYLoVVd47qXr3tMaABtGGsvWiraQQt2jtnX8gZAjdB"},
                "worker_account": "hr803"}}],
            "ref_block_num": 16971, "ref_block_prefix": 1614430030, "signatures": []});
        let (legacy, _) = transaction_json_ids(&tx).expect("ids");
        assert_eq!(legacy, "5ab7fb8138ef8f701661d68f7d654df5f8e2fcfc");
        let root = merkle_root(&[merkle_leaf(&tx).expect("leaf")]);
        assert_eq!(hex::encode(root), "b373963ebfd9e8016fb1bd40278e0f6b3db9d1dd");
    }

    /// Mainnet block 26,012,918 (HF20 vote period, wax reference data): both header
    /// extension kinds in the id.
    #[test]
    fn header_extensions_in_the_block_id() {
        let mut header = json!({"previous": "018ca4f536a6dff7701e10dbb659f406acd27f38",
            "timestamp": "2018-09-15T23:18:30", "witness": "c0ff33a",
            "transaction_merkle_root": "549a1d5e48cbd55d4a0ee97dd996ea6b92b48ff9",
            "extensions": [{"type": "version", "value": "0.20.0"},
                {"type": "hardfork_version_vote", "value": {"hf_time": "2018-09-25T15:00:00", "hf_version": "0.20.0"}}],
            "witness_signature": "206755695d45d061b3135be8e9a6a889de8b941907a04c255f82f45b3f9ec9a2f92595a696408d51d39def6f0fa7300fc26db1651a728034924fe652d89c2ffdf3"});
        let want = "018ca4f6465b584e528fa6f18465cc30d9d02dc2";
        assert_eq!(block_json_id(&header, 0x018c_a4f6).as_deref(), Ok(want));
        // The condenser form of the same extensions.
        header["extensions"] = json!([[1, "0.20.0"], [2, {"hf_version": "0.20.0", "hf_time": "2018-09-25T15:00:00"}]]);
        assert_eq!(block_json_id(&header, 0x018c_a4f6).as_deref(), Ok(want));
        // Another hardfork vote is another block.
        header["extensions"][1][1]["hf_version"] = json!("0.21.0");
        assert_ne!(block_json_id(&header, 0x018c_a4f6).as_deref(), Ok(want));
        header["extensions"] = json!([{"type": "required_automated_actions", "value": []}]);
        assert!(block_json_id(&header, 0x018c_a4f6).is_err_and(|e| e.is_unsupported()));
        assert!(matches!(
            block_json_id(&header, 0x018c_a4f7),
            Err(BlockFault::NumberMismatch { field: "previous", .. })
        ));
        for num in [0, 1 << 32] {
            assert!(matches!(block_json_id(&header, num), Err(BlockFault::BadShape(_))));
        }
    }

    /// A 2016 witness_update whose fee was signed with an obsolete symbol (JSON shows plain
    /// HIVE) is found by trying the obsolete serializations.
    #[test]
    fn obsolete_fee_symbols_are_tried() {
        let tx = json!({"ref_block_num": 1, "ref_block_prefix": 2, "expiration": "2016-06-01T00:00:00",
            "extensions": [], "signatures": [], "operations": [["witness_update", {"owner": "w",
                "url": "u", "block_signing_key": "STM1111111111111111111111111111111114T1Anm",
                "props": {"account_creation_fee": "0.100 STEEM", "maximum_block_size": 131072,
                    "sbd_interest_rate": 1000}, "fee": "0.000 STEEM"}]]});
        let odd = tx_bytes(&tx, Packing::Legacy, Some(schema::OBSOLETE_FEE_SYMBOLS[0]), true).expect("bytes");
        let (id, leaf) = odd.digests();
        assert_eq!(checked_leaf(1, 0, &tx, &id).map(|(l, _)| l), Ok(leaf));
        assert!(matches!(
            checked_leaf(1, 0, &tx, &[7u8; 20]),
            Err(BlockFault::TxId { .. })
        ));
    }
}
