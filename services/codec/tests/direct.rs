//! The direct writer and reader (`src/direct.rs`) against apache-avro's own: the same bytes
//! for every record of every type, and the same answer (the same value, or an error) for
//! every valid record, truncated record, bit-flipped record and datum of random bytes.

mod common;

use opentoken_codec::single_object::SingleObjectCodec;
use opentoken_codec::*;
use proptest::prelude::*;

fn same_answer(codec: &SingleObjectCodec, bytes: &[u8]) -> Result<(), TestCaseError> {
    let direct = codec.decode(bytes).ok();
    let apache = codec.decode_with_apache_avro(bytes).ok();
    prop_assert_eq!(direct, apache, "{} on {:02x?}", codec.what(), bytes);
    Ok(())
}

fn mutations(bytes: &[u8], flips: &[(prop::sample::Index, u8)], cut: prop::sample::Index) -> Vec<Vec<u8>> {
    let mut flipped = bytes.to_vec();
    for (i, x) in flips {
        let at = i.index(flipped.len());
        flipped[at] ^= x;
    }
    vec![bytes.to_vec(), flipped, bytes[..cut.index(bytes.len())].to_vec()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn block_records_match_apache_avro(
        r in common::block_record(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let c = block_record_codec();
        let bytes = encode_block_record(&r);
        let value = c.decode(&bytes).expect("decodes");
        prop_assert_eq!(&c.encode_with_apache_avro(value).expect("apache-avro writes it"), &bytes);
        for b in mutations(&bytes, &flips, cut) {
            same_answer(c, &b)?;
        }
    }

    #[test]
    fn other_records_match_apache_avro(
        m in common::message(),
        e in common::event_record(),
        s in common::op_status(),
        rep in common::report(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        for (c, bytes) in [
            (message_codec(), encode_message(&m)),
            (event_record_codec(), encode_event_record(&e)),
            (op_status_codec(), encode_op_status(&s)),
            (report_codec(), encode_report(&rep)),
        ] {
            let value = c.decode(&bytes).expect("decodes");
            prop_assert_eq!(&c.encode_with_apache_avro(value).expect("apache-avro writes it"), &bytes);
            for b in mutations(&bytes, &flips, cut) {
                same_answer(c, &b)?;
            }
        }
    }

    #[test]
    fn random_datums_match_apache_avro(which in 0usize..5, tail in proptest::collection::vec(any::<u8>(), 0..96)) {
        let c = [block_record_codec(), message_codec(), event_record_codec(), op_status_codec(), report_codec()][which];
        for fp in c.known_fingerprints() {
            let mut b = vec![0xC3, 0x01];
            b.extend_from_slice(&fp.to_le_bytes());
            b.extend_from_slice(&tail);
            same_answer(c, &b)?;
        }
    }
}

/// The purpose-written readers and writers (`src/wire.rs`) against the schema-driven path:
/// the same bytes for every record, the same record or an error for every mutation.
mod wire {
    use super::*;

    fn same<T: PartialEq + std::fmt::Debug>(
        bytes: &[u8],
        fast: fn(&[u8]) -> Result<T, CodecError>,
        slow: fn(&[u8]) -> Result<T, CodecError>,
    ) -> Result<(), TestCaseError> {
        let (f, s) = (fast(bytes), slow(bytes));
        prop_assert_eq!(f.is_ok(), s.is_ok(), "{:?} vs {:?} on {:02x?}", &f, &s, bytes);
        if let (Ok(f), Ok(s)) = (f, s) {
            prop_assert_eq!(f, s);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn records_are_written_and_read_as_the_schema_driven_path_does(
            b in common::block_record(),
            m in common::message(),
            e in common::event_record(),
            s in common::op_status(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let bytes = encode_block_record(&b);
            prop_assert_eq!(&bytes, &encode_block_record_via_values(&b));
            for x in mutations(&bytes, &flips, cut) {
                same(&x, decode_block_record, decode_block_record_via_values)?;
            }
            let bytes = encode_message(&m);
            prop_assert_eq!(&bytes, &encode_message_via_values(&m));
            for x in mutations(&bytes, &flips, cut) {
                same(&x, decode_message, decode_message_via_values)?;
            }
            let bytes = encode_event_record(&e);
            prop_assert_eq!(&bytes, &encode_event_record_via_values(&e));
            for x in mutations(&bytes, &flips, cut) {
                same(&x, decode_event_record, decode_event_record_via_values)?;
            }
            let bytes = encode_op_status(&s);
            prop_assert_eq!(&bytes, &encode_op_status_via_values(&s));
            for x in mutations(&bytes, &flips, cut) {
                same(&x, decode_op_status, decode_op_status_via_values)?;
            }
        }

        #[test]
        fn random_datums_are_read_as_the_schema_driven_path_does(tail in proptest::collection::vec(any::<u8>(), 0..96)) {
            let framed = |c: &SingleObjectCodec| {
                let mut b = vec![0xC3, 0x01];
                b.extend_from_slice(&c.fingerprint().to_le_bytes());
                b.extend_from_slice(&tail);
                b
            };
            same(&framed(block_record_codec()), decode_block_record, decode_block_record_via_values)?;
            same(&framed(message_codec()), decode_message, decode_message_via_values)?;
            same(&framed(event_record_codec()), decode_event_record, decode_event_record_via_values)?;
            same(&framed(op_status_codec()), decode_op_status, decode_op_status_via_values)?;
        }
    }
}
