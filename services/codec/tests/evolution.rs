//! Schema evolution: a block record written with the v1 schema (no `last_block`, no
//! DelegateVestingShares branch) decodes with the current reader by Avro schema resolution.

use apache_avro::types::Value;
use apache_avro::Schema;
use opentoken_codec::single_object::fingerprint;
use opentoken_codec::*;
use opentoken_core::{Asset, AssetSymbol, BlockRecord, ChainPos, CustomJsonOp, HiveOp, RoutedOp, TransferOp};

const V1: &str = include_str!("../../../schemas/history/block_record.v1.avsc");

fn rec(fields: Vec<(&str, Value)>) -> Value {
    Value::Record(fields.into_iter().map(|(n, v)| (n.to_string(), v)).collect())
}

fn pos(b: i64, t: i64, o: i64) -> Value {
    rec(vec![
        ("block", Value::Long(b)),
        ("trx_in_block", Value::Long(t)),
        ("op_in_trx", Value::Long(o)),
    ])
}

/// A v1 record as a v1 writer produced it: union branches CustomJson=0, Transfer=1, Other=2.
fn v1_record() -> Value {
    let ops = vec![
        rec(vec![
            ("pos", pos(7, 0, 0)),
            ("txid", Value::String("aa".into())),
            (
                "op",
                Value::Union(
                    0,
                    Box::new(rec(vec![
                        ("required_auths", Value::Array(vec![Value::String("alice".into())])),
                        ("required_posting_auths", Value::Array(vec![])),
                        ("id", Value::String("dlux_send".into())),
                        ("json", Value::String("{}".into())),
                    ])),
                ),
            ),
        ]),
        rec(vec![
            ("pos", pos(7, 1, 0)),
            ("txid", Value::String("bb".into())),
            (
                "op",
                Value::Union(
                    1,
                    Box::new(rec(vec![
                        ("from", Value::String("bob".into())),
                        ("to", Value::String("dlux-cc".into())),
                        (
                            "amount",
                            rec(vec![
                                ("amount", Value::Long(5)),
                                ("symbol", Value::Enum(0, "HIVE".into())),
                            ]),
                        ),
                        ("memo", Value::String("".into())),
                    ])),
                ),
            ),
        ]),
        rec(vec![
            ("pos", pos(7, 2, 0)),
            ("txid", Value::String("cc".into())),
            (
                "op",
                Value::Union(
                    2,
                    Box::new(rec(vec![
                        ("name", Value::String("delegate_vesting_shares".into())),
                        ("body", Value::String("{}".into())),
                    ])),
                ),
            ),
        ]),
    ];
    rec(vec![
        ("block_num", Value::Long(7)),
        ("block_id", Value::String("00000007".into())),
        ("timestamp", Value::Long(1_600_000_000)),
        ("ops", Value::Array(ops)),
    ])
}

#[test]
fn v1_is_a_known_writer_schema_distinct_from_the_current_one() {
    let v1 = Schema::parse_str(V1).unwrap();
    let c = block_record_codec();
    assert_ne!(fingerprint(&v1), c.fingerprint());
    assert!(c.known_fingerprints().contains(&fingerprint(&v1)));
    assert!(c.writer_schema(fingerprint(&v1)).is_some());
}

#[test]
fn v1_record_decodes_with_the_current_reader() {
    let v1 = Schema::parse_str(V1).unwrap();
    let bytes = block_record_codec().encode_with_writer(&v1, v1_record()).unwrap();
    assert_eq!(
        &bytes[2..10],
        &fingerprint(&v1).to_le_bytes(),
        "written with the v1 fingerprint"
    );
    let got = decode_block_record(&bytes).unwrap();
    let want = BlockRecord {
        block_num: 7,
        last_block: 7, // v1 records always covered one block: the default (null) means that
        block_id: "00000007".into(),
        timestamp: 1_600_000_000,
        ops: vec![
            RoutedOp {
                pos: ChainPos::new(7, 0, 0),
                txid: "aa".into(),
                op: HiveOp::CustomJson(CustomJsonOp {
                    required_auths: vec!["alice".into()],
                    required_posting_auths: vec![],
                    id: "dlux_send".into(),
                    json: "{}".into(),
                }),
            },
            RoutedOp {
                pos: ChainPos::new(7, 1, 0),
                txid: "bb".into(),
                op: HiveOp::Transfer(TransferOp {
                    from: "bob".into(),
                    to: "dlux-cc".into(),
                    amount: Asset::new(5, AssetSymbol::Hive),
                    memo: "".into(),
                }),
            },
            RoutedOp {
                pos: ChainPos::new(7, 2, 0),
                txid: "cc".into(),
                // v1's Other (branch 2) resolves to v2's Other (branch 3), not to the new branch.
                op: HiveOp::Other {
                    name: "delegate_vesting_shares".into(),
                    body: "{}".into(),
                },
            },
        ],
    };
    assert_eq!(got, want);
}

#[test]
fn v1_bytes_under_the_current_fingerprint_are_rejected_not_misread() {
    // The fingerprint is what selects the writer schema: v1 bytes labelled as v2 must fail
    // (or at least not silently decode as the same record).
    let v1 = Schema::parse_str(V1).unwrap();
    let mut bytes = block_record_codec().encode_with_writer(&v1, v1_record()).unwrap();
    bytes[2..10].copy_from_slice(&block_record_codec().fingerprint().to_le_bytes());
    assert!(decode_block_record(&bytes).is_err());
}
