//! Every record type round-trips, its encoding is deterministic, and the bytes are pinned.

mod common;

use opentoken_codec::*;
use proptest::prelude::*;

fn assert_header(bytes: &[u8], codec: &SingleObjectCodec) {
    assert_eq!(&bytes[..2], &[0xC3, 0x01]);
    assert_eq!(&bytes[2..10], &codec.fingerprint().to_le_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn block_records_round_trip(r in common::block_record()) {
        let b = encode_block_record(&r);
        assert_header(&b, block_record_codec());
        prop_assert_eq!(&b, &encode_block_record(&r), "encoding is deterministic");
        prop_assert_eq!(decode_block_record(&b).unwrap(), r);
    }

    #[test]
    fn messages_round_trip(m in common::message()) {
        let b = encode_message(&m);
        assert_header(&b, message_codec());
        prop_assert_eq!(decode_message(&b).unwrap(), m);
    }

    #[test]
    fn event_records_round_trip(e in common::event_record()) {
        let b = encode_event_record(&e);
        assert_header(&b, event_record_codec());
        prop_assert_eq!(decode_event_record(&b).unwrap(), e);
    }

    #[test]
    fn op_statuses_round_trip(s in common::op_status()) {
        let b = encode_op_status(&s);
        assert_header(&b, op_status_codec());
        prop_assert_eq!(decode_op_status(&b).unwrap(), s);
    }

    #[test]
    fn reports_round_trip(r in common::report()) {
        let b = encode_report(&r);
        assert_header(&b, report_codec());
        prop_assert_eq!(decode_report(&b).unwrap(), r);
    }
}

#[test]
fn samples_round_trip() {
    let (blocks, msg, ev, statuses, report) = common::samples();
    for b in blocks {
        assert_eq!(decode_block_record(&encode_block_record(&b)).unwrap(), b);
    }
    assert_eq!(decode_message(&encode_message(&msg)).unwrap(), msg);
    assert_eq!(decode_event_record(&encode_event_record(&ev)).unwrap(), ev);
    for s in statuses {
        assert_eq!(decode_op_status(&encode_op_status(&s)).unwrap(), s);
    }
    assert_eq!(decode_report(&encode_report(&report)).unwrap(), report);
}

/// Avro's zig-zag varint, written independently of apache-avro.
fn zz(out: &mut Vec<u8>, x: i64) {
    let mut n = ((x << 1) ^ (x >> 63)) as u64;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
}

fn s(out: &mut Vec<u8>, v: &str) {
    zz(out, v.len() as i64);
    out.extend_from_slice(v.as_bytes());
}

#[test]
fn message_bytes_follow_the_avro_spec() {
    // Hand-encoded per the Avro specification, so that the encoding is checked against the
    // spec and not only against apache-avro.
    let (_, msg, _, _, _) = common::samples();
    let mut want = vec![0xC3, 0x01];
    want.extend_from_slice(&message_codec().fingerprint().to_le_bytes());
    s(&mut want, "dex");
    s(&mut want, "token");
    zz(&mut want, 42);
    zz(&mut want, u32::MAX as i64);
    zz(&mut want, 0);
    zz(&mut want, 3);
    s(&mut want, "Credit");
    s(&mut want, r#"{"to":"bob"}"#);
    assert_eq!(encode_message(&msg), want);
}

#[test]
fn single_block_writes_null_last_block_and_ranges_write_the_long() {
    let (blocks, ..) = common::samples();
    let single = encode_block_record(&blocks[0]);
    assert_eq!(*single.last().unwrap(), 0x00, "union branch 0 (null) ends the record");
    let range = encode_block_record(&blocks[1]);
    let mut tail = vec![0x02]; // branch 1 (long)
    zz(&mut tail, 99);
    assert!(range.ends_with(&tail));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Pinned encodings: a change here changes bytes on every topic and in every store, which
/// needs a new schema version (and its predecessor in schemas/history), not an edit here.
#[test]
fn encodings_are_pinned() {
    let (blocks, msg, ev, statuses, report) = common::samples();
    let got = [
        ("block", hex(&encode_block_record(&blocks[1]))),
        ("message", hex(&encode_message(&msg))),
        ("event", hex(&encode_event_record(&ev))),
        ("status", hex(&encode_op_status(&statuses[1]))),
        ("report", hex(&encode_report(&report))),
    ];
    let want = [
        ("block", GOLDEN_BLOCK),
        ("message", GOLDEN_MESSAGE),
        ("event", GOLDEN_EVENT),
        ("status", GOLDEN_STATUS),
        ("report", GOLDEN_REPORT),
    ];
    for ((name, g), (_, w)) in got.iter().zip(want.iter()) {
        assert_eq!(g, w, "{name} encoding changed");
    }
}

const GOLDEN_BLOCK: &str = "c30162d90a9bc4b778b256103030303030303633d6c69fd50c0002c601";
const GOLDEN_MESSAGE: &str =
    "c3018e763bd9a1108b23066465780a746f6b656e54feffffff1f00060c437265646974187b22746f223a22626f62227d";
const GOLDEN_EVENT: &str = "c30183c3c54299ea47b50a746f6b656e54020000165472616e736665727265640ac301010203";
const GOLDEN_STATUS: &str = "c3010e8d2bc9e6e5879c50616261626162616261626162616261626162616261626162616261626162616261626162616261625402020a746f6b656e0873656e640a616c69636502102062616c616e63652030203c2031303030";
const GOLDEN_REPORT: &str = "c3012db74b97abf7bd0908646c7578c8010707070707070707070707070707070707070707070707070707070707070707040664657801010101010101010101010101010101010101010101010101010101010101010a746f6b656e0202020202020202020202020202020202020202020202020202020202020202000a616c6963650a302e312e30030303030303030303030303030303030303030303030303030303030303030304040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404040404";
