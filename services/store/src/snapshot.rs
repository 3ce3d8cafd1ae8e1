//! A module's snapshot at a checkpoint block and its binary form: what a store keeps to
//! restore from, and what the snapshot API serves to peers (who verify it before use).

use crate::bytes::{DecodeError, Reader, Writer};
use opentoken_core::Message;
use std::collections::BTreeMap;

/// A module's whole state at a checkpoint block and the messages it emitted in that block:
/// everything needed to resume from the checkpoint, and exactly what its checkpoint hash
/// commits to (`opentoken_core::module_checkpoint_hash`), so a copy from anywhere can be
/// verified before it is trusted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModuleSnapshot {
    pub pairs: BTreeMap<Vec<u8>, Vec<u8>>,
    pub outbox: Vec<Message>,
}

/// What the errors of [`decode_snapshot`] name.
const WHAT: &str = "snapshot";
/// A pair is at least its two length prefixes.
const MIN_PAIR_LEN: usize = 8;
/// A message is at least its length prefix.
const MIN_MESSAGE_LEN: usize = 4;

/// Binary form of a [`ModuleSnapshot`]: a `u64` pair count, the length-prefixed pairs in
/// key order, a `u64` message count, the length-prefixed Avro messages. Stored by stores
/// and served by the snapshot API, so it never changes.
pub fn encode_snapshot(s: &ModuleSnapshot) -> Vec<u8> {
    let mut w = Writer::new();
    w.u64(s.pairs.len() as u64);
    for (k, v) in &s.pairs {
        w.bytes(k).bytes(v);
    }
    w.u64(s.outbox.len() as u64);
    for m in &s.outbox {
        w.bytes(&opentoken_codec::encode_message(m));
    }
    w.finish()
}

/// The inverse of [`encode_snapshot`]; bytes from a peer or a damaged store are errors,
/// never panics.
pub fn decode_snapshot(bytes: &[u8]) -> Result<ModuleSnapshot, DecodeError> {
    let mut r = Reader::new(bytes, WHAT);
    let mut snap = ModuleSnapshot::default();
    for _ in 0..r.count(MIN_PAIR_LEN)? {
        let k = r.bytes()?.to_vec();
        let v = r.bytes()?.to_vec();
        // Keys strictly ascending, as encoded: one state has one encoding, and a repeated
        // key cannot silently replace an earlier value.
        if snap.pairs.last_key_value().is_some_and(|(last, _)| *last >= k) {
            return Err(r.item(format_args!("key {} is not after the key before it", hex::encode(&k))));
        }
        snap.pairs.insert(k, v);
    }
    for _ in 0..r.count(MIN_MESSAGE_LEN)? {
        let m = opentoken_codec::decode_message(r.bytes()?).map_err(|e| r.item(format_args!("message: {e}")))?;
        snap.outbox.push(m);
    }
    r.finish()?;
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::ChainPos;

    fn message() -> Message {
        Message {
            from: "dex".into(),
            to: "token".into(),
            pos: ChainPos::new(7, 1, 2),
            seq: 3,
            kind: "Credit".into(),
            payload: "{}".into(),
        }
    }

    fn sample() -> ModuleSnapshot {
        let mut snap = ModuleSnapshot::default();
        snap.pairs.insert(b"a".to_vec(), b"1".to_vec());
        snap.pairs.insert(b"bb".to_vec(), vec![]);
        snap.outbox.push(message());
        snap
    }

    /// The bytes of the format before the shared codec existed (stored snapshots and
    /// peers' snapshot documents must keep decoding).
    #[test]
    fn the_format_is_pinned() {
        assert_eq!(
            hex::encode(encode_snapshot(&sample())),
            "00000000000000020000000161000000013100000002626200000000000000000000000100000022\
             c3018e763bd9a1108b23066465780a746f6b656e0e0204060c437265646974047b7d"
        );
        assert_eq!(
            hex::encode(encode_snapshot(&ModuleSnapshot::default())),
            "00000000000000000000000000000000"
        );
    }

    #[test]
    fn round_trips() {
        for s in [sample(), ModuleSnapshot::default()] {
            assert_eq!(decode_snapshot(&encode_snapshot(&s)), Ok(s));
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = encode_snapshot(&sample());
        for cut in 0..bytes.len() {
            assert!(decode_snapshot(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            decode_snapshot(&long),
            Err(DecodeError::Trailing { what: WHAT, left: 1 })
        );
    }

    #[test]
    fn oversized_lengths_and_counts_are_errors() {
        // A pair count of 2^64-1 with nothing behind it.
        let mut huge_count = u64::MAX.to_be_bytes().to_vec();
        huge_count.extend_from_slice(&[0; 8]);
        assert!(matches!(decode_snapshot(&huge_count), Err(DecodeError::Count { .. })));
        // One pair whose key claims 4 GiB.
        let mut huge_key = 1u64.to_be_bytes().to_vec();
        huge_key.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]);
        assert!(matches!(decode_snapshot(&huge_key), Err(DecodeError::Truncated { .. })));
    }

    /// Found by the `store_bytes` fuzz target: pairs out of key order decoded, sorted, into a
    /// snapshot whose encoding differed from the bytes, and a repeated key silently
    /// replaced the value before it.
    #[test]
    fn keys_out_of_order_or_repeated_are_errors() {
        let pairs = |keys: &[&[u8]]| {
            let mut w = Writer::new();
            w.u64(keys.len() as u64);
            for (i, k) in keys.iter().enumerate() {
                w.bytes(k).bytes(&[i as u8]);
            }
            w.u64(0);
            w.finish()
        };
        assert!(decode_snapshot(&pairs(&[b"a", b"b"])).is_ok());
        for keys in [&[b"b" as &[u8], b"a"][..], &[b"a", b"a"], &[b"a", b"", b"b"]] {
            let e = decode_snapshot(&pairs(keys)).expect_err("keys out of order");
            assert!(e.to_string().contains("is not after the key before it"), "{e}");
        }
    }

    #[test]
    fn an_undecodable_message_is_an_error() {
        let mut bytes = 0u64.to_be_bytes().to_vec();
        bytes.extend_from_slice(&1u64.to_be_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 3, 1, 2, 3]);
        let e = decode_snapshot(&bytes).expect_err("garbage message");
        assert!(e.to_string().starts_with("snapshot: message: "), "{e}");
    }
}
