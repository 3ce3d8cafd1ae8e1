//! Decoding never panics, whatever the bytes: random input, random data behind a valid
//! header, and truncated or bit-flipped valid records.

mod common;

use opentoken_codec::*;
use proptest::prelude::*;

fn decode_all(bytes: &[u8]) -> usize {
    // Count successes so that nothing is optimised away; errors are the expected outcome.
    [
        decode_block_record(bytes).is_ok(),
        decode_message(bytes).is_ok(),
        decode_event_record(bytes).is_ok(),
        decode_op_status(bytes).is_ok(),
        decode_report(bytes).is_ok(),
    ]
    .iter()
    .filter(|x| **x)
    .count()
}

fn headers() -> Vec<[u8; 10]> {
    let mut out = Vec::new();
    for c in [
        block_record_codec(),
        message_codec(),
        event_record_codec(),
        op_status_codec(),
        report_codec(),
    ] {
        for fp in c.known_fingerprints() {
            let mut h = [0u8; 10];
            h[0] = 0xC3;
            h[1] = 0x01;
            h[2..].copy_from_slice(&fp.to_le_bytes());
            out.push(h);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        decode_all(&bytes);
    }

    #[test]
    fn random_datum_behind_a_valid_header_never_panics(
        which in 0usize..6,
        tail in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let hs = headers();
        let mut bytes = hs[which % hs.len()].to_vec();
        bytes.extend_from_slice(&tail);
        decode_all(&bytes);
    }

    #[test]
    fn truncated_records_are_errors(r in common::block_record(), cut in any::<prop::sample::Index>()) {
        let b = encode_block_record(&r);
        let n = cut.index(b.len());
        prop_assert!(decode_block_record(&b[..n]).is_err());
    }

    #[test]
    fn mutated_records_never_panic(
        r in common::report(),
        s in common::op_status(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        for mut b in [encode_report(&r), encode_op_status(&s)] {
            for (i, x) in &flips {
                let at = i.index(b.len());
                b[at] ^= x;
            }
            decode_all(&b);
        }
    }
}

#[test]
fn huge_length_prefix_is_an_error_not_an_allocation() {
    // A string length of ~2^62 right after a valid header.
    let mut b = headers()[0].to_vec();
    b.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    assert!(decode_block_record(&b).is_err());
    let mut m = message_codec().fingerprint().to_le_bytes().to_vec();
    m.splice(0..0, [0xC3, 0x01]);
    m.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]); // ~2^47 bytes
    assert!(matches!(decode_message(&m), Err(CodecError::Oversized { .. })));
}
