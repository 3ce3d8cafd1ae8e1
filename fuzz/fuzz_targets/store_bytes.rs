//! The store's byte codecs on any bytes (a peer's snapshot, a damaged row): the first byte
//! picks the decoder (0: snapshot, 1: the ScyllaDB backend's changes blob, 2: its
//! pending-message list), the rest is its input. A snapshot that decodes re-encodes to the
//! same snapshot, and to the same bytes when it carries no message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentoken_store::scylla::fuzzing::{decode_changes, decode_messages};
use opentoken_store::{decode_snapshot, encode_snapshot};

fuzz_target!(
    init: opentoken_fuzz::write_seeds_once(opentoken_fuzz::seeds::store_bytes),
    |data: &[u8]| {
        let Some((&tag, rest)) = data.split_first() else { return };
        match tag % 3 {
            0 => {
                if let Ok(snap) = decode_snapshot(rest) {
                    let bytes = encode_snapshot(&snap);
                    assert_eq!(decode_snapshot(&bytes).as_ref(), Ok(&snap), "a snapshot changes through encode and decode");
                    // The pairs' encoding is canonical; an Avro message may carry an overlong
                    // varint that re-encodes shorter (verification is by hash of the content).
                    if snap.outbox.is_empty() {
                        assert_eq!(bytes, rest, "a snapshot's encoding is not canonical");
                    }
                }
            }
            1 => {
                let _ = decode_changes(rest);
            }
            _ => {
                let _ = decode_messages(rest);
            }
        }
    }
);
