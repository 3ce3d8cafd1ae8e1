//! Proptest strategies for every record type (shared by the test files of this crate).
#![allow(dead_code)]

use opentoken_codec::{ModuleHash, Report};
use opentoken_core::{
    Asset, AssetSymbol, BlockRecord, ChainPos, CustomJsonOp, DelegateVestingSharesOp, EventRecord, HiveOp, Message,
    OpStatus, Outcome, RejectCode, RoutedOp, TransferOp,
};
use proptest::prelude::*;

pub(crate) fn pos() -> impl Strategy<Value = ChainPos> {
    (any::<u64>(), any::<u32>(), any::<u32>()).prop_map(|(b, t, o)| ChainPos::new(b, t, o))
}

fn text() -> impl Strategy<Value = String> {
    // Any unicode, including empty strings and control characters.
    ".{0,12}"
}

fn asset() -> impl Strategy<Value = Asset> {
    (
        any::<i64>(),
        prop_oneof![
            Just(AssetSymbol::Hive),
            Just(AssetSymbol::Hbd),
            Just(AssetSymbol::Vests)
        ],
    )
        .prop_map(|(a, s)| Asset::new(a, s))
}

pub(crate) fn hive_op() -> impl Strategy<Value = HiveOp> {
    prop_oneof![
        (
            proptest::collection::vec(text(), 0..3),
            proptest::collection::vec(text(), 0..3),
            text(),
            text()
        )
            .prop_map(|(a, p, id, json)| HiveOp::CustomJson(CustomJsonOp {
                required_auths: a,
                required_posting_auths: p,
                id,
                json
            })),
        (text(), text(), asset(), text()).prop_map(|(from, to, amount, memo)| HiveOp::Transfer(TransferOp {
            from,
            to,
            amount,
            memo
        })),
        (text(), text(), asset()).prop_map(|(delegator, delegatee, vesting_shares)| {
            HiveOp::DelegateVestingShares(DelegateVestingSharesOp {
                delegator,
                delegatee,
                vesting_shares,
            })
        }),
        (text(), text()).prop_map(|(name, body)| HiveOp::Other { name, body }),
    ]
}

pub(crate) fn block_record() -> impl Strategy<Value = BlockRecord> {
    (
        any::<u64>(),
        prop_oneof![Just(0u64), any::<u64>()],
        text(),
        any::<u64>(),
        proptest::collection::vec((pos(), text(), hive_op()), 0..4),
    )
        .prop_map(|(block_num, extra, block_id, timestamp, ops)| BlockRecord {
            block_num,
            last_block: block_num.wrapping_add(extra),
            block_id,
            timestamp,
            ops: ops
                .into_iter()
                .map(|(pos, txid, op)| RoutedOp { pos, txid, op })
                .collect(),
        })
}

pub(crate) fn message() -> impl Strategy<Value = Message> {
    (text(), text(), pos(), any::<u32>(), text(), text()).prop_map(|(from, to, pos, seq, kind, payload)| Message {
        from,
        to,
        pos,
        seq,
        kind,
        payload,
    })
}

pub(crate) fn event_record() -> impl Strategy<Value = EventRecord> {
    (
        text(),
        pos(),
        any::<u32>(),
        text(),
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(module, pos, seq, kind, data)| EventRecord {
            module,
            pos,
            seq,
            kind,
            data,
        })
}

pub(crate) fn op_status() -> impl Strategy<Value = OpStatus> {
    let outcome = prop_oneof![
        text().prop_map(|summary| Outcome::Applied { summary }),
        (0..RejectCode::ALL.len(), text()).prop_map(|(i, reason)| Outcome::Rejected {
            code: RejectCode::ALL[i],
            reason
        }),
    ];
    (text(), pos(), text(), text(), text(), outcome).prop_map(|(txid, pos, module, op, from, outcome)| OpStatus {
        txid,
        pos,
        module,
        op,
        from,
        outcome,
    })
}

pub(crate) fn report() -> impl Strategy<Value = Report> {
    (
        text(),
        any::<u64>(),
        any::<[u8; 32]>(),
        proptest::collection::vec((text(), any::<[u8; 32]>()), 0..4),
        text(),
        text(),
        any::<[u8; 32]>(),
        proptest::collection::vec(any::<u8>(), 64),
    )
        .prop_map(
            |(community, block, consensus_hash, hashes, node, version, public_key, sig)| {
                let mut signature = [0u8; 64];
                signature.copy_from_slice(&sig);
                Report {
                    community,
                    block,
                    consensus_hash,
                    module_hashes: hashes
                        .into_iter()
                        .map(|(module, hash)| ModuleHash { module, hash })
                        .collect(),
                    node,
                    version,
                    public_key,
                    signature,
                }
            },
        )
}

/// One sample of every record type and every union branch, for golden and schema tests.
pub(crate) fn samples() -> (Vec<BlockRecord>, Message, EventRecord, Vec<OpStatus>, Report) {
    let p = ChainPos::new(42, 1, 0);
    let ops = vec![
        RoutedOp {
            pos: p,
            txid: "ab".repeat(20),
            op: HiveOp::CustomJson(CustomJsonOp {
                required_auths: vec![],
                required_posting_auths: vec!["alice".into()],
                id: "dlux_send".into(),
                json: r#"{"to":"bob","amount":1000}"#.into(),
            }),
        },
        RoutedOp {
            pos: ChainPos::new(42, 2, 0),
            txid: "cd".repeat(20),
            op: HiveOp::Transfer(TransferOp {
                from: "bob".into(),
                to: "dlux-cc".into(),
                amount: Asset::new(1_000, AssetSymbol::Hbd),
                memo: "buy".into(),
            }),
        },
        RoutedOp {
            pos: ChainPos::new(42, 3, 1),
            txid: "ef".repeat(20),
            op: HiveOp::DelegateVestingShares(DelegateVestingSharesOp {
                delegator: "carol".into(),
                delegatee: "dlux-io".into(),
                vesting_shares: Asset::new(4_096_123_457, AssetSymbol::Vests),
            }),
        },
        RoutedOp {
            pos: ChainPos::new(42, 4, 0),
            txid: "01".repeat(20),
            op: HiveOp::Other {
                name: "vote".into(),
                body: r#"{"voter":"dave"}"#.into(),
            },
        },
    ];
    let blocks = vec![
        BlockRecord {
            block_num: 42,
            last_block: 42,
            block_id: "0000002a".into(),
            timestamp: 1_700_000_000,
            ops,
        },
        BlockRecord {
            block_num: 43,
            last_block: 99,
            block_id: "00000063".into(),
            timestamp: 1_700_000_171,
            ops: vec![],
        },
    ];
    let msg = Message {
        from: "dex".into(),
        to: "token".into(),
        pos: ChainPos::block_end(42),
        seq: 3,
        kind: "Credit".into(),
        payload: r#"{"to":"bob"}"#.into(),
    };
    let ev = EventRecord {
        module: "token".into(),
        pos: p,
        seq: 0,
        kind: "Transferred".into(),
        data: vec![0xC3, 0x01, 1, 2, 3],
    };
    let statuses = vec![
        OpStatus {
            txid: "ab".repeat(20),
            pos: p,
            module: "token".into(),
            op: "send".into(),
            from: "alice".into(),
            outcome: Outcome::Applied {
                summary: "alice sent 1.000 DLUX to bob".into(),
            },
        },
        OpStatus {
            txid: "ab".repeat(20),
            pos: ChainPos::new(42, 1, 1),
            module: "token".into(),
            op: "send".into(),
            from: "alice".into(),
            outcome: Outcome::Rejected {
                code: RejectCode::InsufficientFunds,
                reason: "balance 0 < 1000".into(),
            },
        },
    ];
    let report = Report {
        community: "dlux".into(),
        block: 100,
        consensus_hash: [7; 32],
        module_hashes: vec![
            ModuleHash {
                module: "dex".into(),
                hash: [1; 32],
            },
            ModuleHash {
                module: "token".into(),
                hash: [2; 32],
            },
        ],
        node: "alice".into(),
        version: "0.1.0".into(),
        public_key: [3; 32],
        signature: [4; 64],
    };
    (blocks, msg, ev, statuses, report)
}
