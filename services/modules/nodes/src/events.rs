//! Nodes events and their Avro encoding (`schemas/nodes_event.avsc`).

use crate::keys::{NodeRecord, Signer, Stake};
use apache_avro::types::Value;
use opentoken_codec::value::{long_u64, record, strings, Fields};
use opentoken_codec::{CodecError, SingleObjectCodec};
use opentoken_dex::protocol::Params;
use std::sync::OnceLock;

/// What a tally's close decided. Carries every list `apply` needs, so `apply` is mechanical
/// and a reader of the event stream sees the whole decision without the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TallyClose {
    /// The checkpoint N.
    pub block: u64,
    pub final_hash: Option<[u8; 32]>,
    /// Tally runners that reported the final hash and are still active (empty if not final).
    pub runners_after: Vec<String>,
    /// Accounts removed from the runner set.
    pub dropped: Vec<String>,
    /// The one node added to the runner set, if any.
    pub elected: Option<String>,
    /// The runner set from now on, sorted.
    pub runners: Vec<String>,
    /// Active nodes that reported N (their `attempts` grow; final tallies only).
    pub reported: Vec<String>,
    /// Active nodes that reported the final hash (`yays`, `last_good`).
    pub agreed: Vec<String>,
    /// Consecutive tallies without finality, after this one.
    pub chaos: u64,
    /// Tokens minted as claimable to each of `runners_after` (0 = none).
    pub reward: u64,
}

/// A state change of the nodes module. `apply` is total over these: `handle` and
/// `on_block` only emit events whose preconditions they checked against the same state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodesEvent {
    RunnersInitialised {
        runners: Vec<String>,
    },
    NodeAdded {
        account: String,
        /// New or previously deleted: the token module is told it is a node.
        registered: bool,
        record: NodeRecord,
    },
    NodeDeleted {
        account: String,
    },
    ReportAccepted {
        account: String,
        block: u64,
        hash: [u8; 32],
        version: String,
        weight: u64,
    },
    CheckpointFinal {
        block: u64,
        hash: [u8; 32],
        /// The block of the report that crossed the line.
        at: u64,
        stake: u64,
        total: u64,
    },
    GovChanged {
        account: String,
        gov: u64,
    },
    TallyOpened {
        block: u64,
        runners: Vec<Stake>,
        total: u64,
    },
    TallyClosed(TallyClose),
    /// The multi-sig signers changed (only on chains with the multisig module): the list
    /// sent to it as a `signers` message, and kept to send only changes (`src/signers.rs`).
    SignersSent {
        signers: Vec<Signer>,
    },
    /// The stake of the cheapest coalition of signers able to sign for the multi-sig
    /// account changed (only on chains with the multisig module): sent to it as a
    /// `collateral` message, the base of its safety limit (`src/signers.rs`).
    CollateralSent {
        stake: u64,
    },
    /// The DEX parameters the runners vote (their stake-weighted `bidRate`, `dm`, `ds`)
    /// changed at a tally close (only on chains that run the DEX): sent to it as a `params`
    /// message (`src/dex.rs`).
    DexParamsSent {
        params: Params,
    },
    /// A final tally closed on a chain with the token economy: `accounts` (the runners that
    /// agreed) get a win each, and `node_rate` is the runner set's average `bidRate`; sent to
    /// the token module as `runner_wins` (`src/economy.rs`).
    WinsSent {
        accounts: Vec<String>,
        node_rate: u64,
    },
}

pub const SCHEMA: &str = include_str!("../../../../schemas/nodes_event.avsc");

/// The first schema (`schemas/history/`), before `SignersSent`: records it wrote are read with
/// the codec's history, each into the union branch of the same name.
const SCHEMA_V1: &str = include_str!("../../../../schemas/history/nodes_event.v1.avsc");

/// The second schema, before `CollateralSent`.
const SCHEMA_V2: &str = include_str!("../../../../schemas/history/nodes_event.v2.avsc");

/// The third schema, before `DexParamsSent`.
const SCHEMA_V3: &str = include_str!("../../../../schemas/history/nodes_event.v3.avsc");

/// The fourth schema, before `WinsSent`.
const SCHEMA_V4: &str = include_str!("../../../../schemas/history/nodes_event.v4.avsc");

pub fn codec() -> Result<&'static SingleObjectCodec, CodecError> {
    static CODEC: OnceLock<Result<SingleObjectCodec, CodecError>> = OnceLock::new();
    CODEC
        .get_or_init(|| SingleObjectCodec::new("nodes event", SCHEMA, &[SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4]))
        .as_ref()
        .map_err(Clone::clone)
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn hash_value(h: &[u8; 32]) -> Value {
    Value::Fixed(32, h.to_vec())
}

fn opt(v: Option<Value>) -> Value {
    match v {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(v) => Value::Union(1, Box::new(v)),
    }
}

fn shape(detail: String) -> CodecError {
    CodecError::Shape {
        what: "nodes event",
        detail,
    }
}

fn string_list(f: &Fields<'_>, name: &str) -> Result<Vec<String>, CodecError> {
    f.strings(name)
}

fn optional_string(f: &Fields<'_>, name: &str) -> Result<Option<String>, CodecError> {
    match f.get(name)? {
        Value::Union(_, inner) => match inner.as_ref() {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(shape(format!("{name}: expected null or string"))),
        },
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(shape(format!("{name}: expected null or string"))),
    }
}

fn optional_hash(f: &Fields<'_>, name: &str) -> Result<Option<[u8; 32]>, CodecError> {
    let inner = match f.get(name)? {
        Value::Union(_, inner) => inner.as_ref(),
        other => other,
    };
    match inner {
        Value::Null => Ok(None),
        _ => f.fixed::<32>(name).map(Some),
    }
}

fn bool_field(f: &Fields<'_>, name: &str) -> Result<bool, CodecError> {
    match f.get(name)? {
        Value::Boolean(b) => Ok(*b),
        _ => Err(shape(format!("{name}: expected a boolean"))),
    }
}

fn node_record_value(r: &NodeRecord) -> Value {
    record(vec![
        ("domain", s(&r.domain)),
        ("bid_rate", long_u64(r.bid_rate)),
        ("dm", long_u64(r.dm)),
        ("ds", long_u64(r.ds)),
        ("dv", long_u64(r.dv)),
        ("liquidity", long_u64(r.liquidity)),
        ("report_key", s(&r.report_key)),
        ("mskey", opt(r.mskey.as_deref().map(s))),
        ("active", Value::Boolean(r.active)),
        ("attempts", long_u64(r.attempts)),
        ("yays", long_u64(r.yays)),
        ("wins", long_u64(r.wins)),
        ("strikes", long_u64(r.strikes)),
        ("last_good", long_u64(r.last_good)),
        ("registered_at", long_u64(r.registered_at)),
    ])
}

fn node_record(v: &Value) -> Result<NodeRecord, CodecError> {
    let f = Fields::of("nodes event node record", v)?;
    Ok(NodeRecord {
        domain: f.string("domain")?,
        bid_rate: f.u64("bid_rate")?,
        dm: f.u64("dm")?,
        ds: f.u64("ds")?,
        dv: f.u64("dv")?,
        liquidity: f.u64("liquidity")?,
        report_key: f.string("report_key")?,
        mskey: optional_string(&f, "mskey")?,
        active: bool_field(&f, "active")?,
        attempts: f.u64("attempts")?,
        yays: f.u64("yays")?,
        wins: f.u64("wins")?,
        strikes: f.u64("strikes")?,
        last_good: f.u64("last_good")?,
        registered_at: f.u64("registered_at")?,
    })
}

impl NodesEvent {
    /// The event type name (the Avro record name).
    pub fn kind(&self) -> &'static str {
        match self {
            NodesEvent::RunnersInitialised { .. } => "RunnersInitialised",
            NodesEvent::NodeAdded { .. } => "NodeAdded",
            NodesEvent::NodeDeleted { .. } => "NodeDeleted",
            NodesEvent::ReportAccepted { .. } => "ReportAccepted",
            NodesEvent::CheckpointFinal { .. } => "CheckpointFinal",
            NodesEvent::GovChanged { .. } => "GovChanged",
            NodesEvent::TallyOpened { .. } => "TallyOpened",
            NodesEvent::TallyClosed(_) => "TallyClosed",
            NodesEvent::SignersSent { .. } => "SignersSent",
            NodesEvent::CollateralSent { .. } => "CollateralSent",
            NodesEvent::DexParamsSent { .. } => "DexParamsSent",
            NodesEvent::WinsSent { .. } => "WinsSent",
        }
    }

    fn to_value(&self) -> Value {
        let (branch, body) = match self {
            NodesEvent::RunnersInitialised { runners } => (0, record(vec![("runners", strings(runners))])),
            NodesEvent::NodeAdded {
                account,
                registered,
                record: r,
            } => (
                1,
                record(vec![
                    ("account", s(account)),
                    ("registered", Value::Boolean(*registered)),
                    ("record", node_record_value(r)),
                ]),
            ),
            NodesEvent::NodeDeleted { account } => (2, record(vec![("account", s(account))])),
            NodesEvent::ReportAccepted {
                account,
                block,
                hash,
                version,
                weight,
            } => (
                3,
                record(vec![
                    ("account", s(account)),
                    ("block", long_u64(*block)),
                    ("hash", hash_value(hash)),
                    ("version", s(version)),
                    ("weight", long_u64(*weight)),
                ]),
            ),
            NodesEvent::CheckpointFinal {
                block,
                hash,
                at,
                stake,
                total,
            } => (
                4,
                record(vec![
                    ("block", long_u64(*block)),
                    ("hash", hash_value(hash)),
                    ("at", long_u64(*at)),
                    ("stake", long_u64(*stake)),
                    ("total", long_u64(*total)),
                ]),
            ),
            NodesEvent::GovChanged { account, gov } => {
                (5, record(vec![("account", s(account)), ("gov", long_u64(*gov))]))
            }
            NodesEvent::TallyOpened { block, runners, total } => (
                6,
                record(vec![
                    ("block", long_u64(*block)),
                    (
                        "runners",
                        Value::Array(
                            runners
                                .iter()
                                .map(|r| record(vec![("account", s(&r.account)), ("stake", long_u64(r.stake))]))
                                .collect(),
                        ),
                    ),
                    ("total", long_u64(*total)),
                ]),
            ),
            NodesEvent::TallyClosed(c) => (
                7,
                record(vec![
                    ("block", long_u64(c.block)),
                    ("final_hash", opt(c.final_hash.as_ref().map(hash_value))),
                    ("runners_after", strings(&c.runners_after)),
                    ("dropped", strings(&c.dropped)),
                    ("elected", opt(c.elected.as_deref().map(s))),
                    ("runners", strings(&c.runners)),
                    ("reported", strings(&c.reported)),
                    ("agreed", strings(&c.agreed)),
                    ("chaos", long_u64(c.chaos)),
                    ("reward", long_u64(c.reward)),
                ]),
            ),
            NodesEvent::SignersSent { signers } => (
                8,
                record(vec![(
                    "signers",
                    Value::Array(
                        signers
                            .iter()
                            .map(|x| record(vec![("account", s(&x.account)), ("key", s(&x.key))]))
                            .collect(),
                    ),
                )]),
            ),
            NodesEvent::CollateralSent { stake } => (9, record(vec![("stake", long_u64(*stake))])),
            NodesEvent::DexParamsSent { params } => (
                10,
                record(vec![
                    ("fee_ppm", long_u64(params.fee_ppm)),
                    ("dex_max_bp", long_u64(params.dex_max_bp)),
                    ("dex_slope_bp", long_u64(params.dex_slope_bp)),
                ]),
            ),
            NodesEvent::WinsSent { accounts, node_rate } => (
                11,
                record(vec![
                    ("accounts", strings(accounts)),
                    ("node_rate", long_u64(*node_rate)),
                ]),
            ),
        };
        record(vec![("event", Value::Union(branch, Box::new(body)))])
    }

    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec()?.encode(self.to_value())
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let v = codec()?.decode(bytes)?;
        let outer = Fields::of("nodes event", &v)?;
        let (branch, body) = outer.union("event")?;
        let f = Fields::of("nodes event", body)?;
        Ok(match branch {
            0 => NodesEvent::RunnersInitialised {
                runners: string_list(&f, "runners")?,
            },
            1 => NodesEvent::NodeAdded {
                account: f.string("account")?,
                registered: bool_field(&f, "registered")?,
                record: node_record(f.get("record")?)?,
            },
            2 => NodesEvent::NodeDeleted {
                account: f.string("account")?,
            },
            3 => NodesEvent::ReportAccepted {
                account: f.string("account")?,
                block: f.u64("block")?,
                hash: f.fixed::<32>("hash")?,
                version: f.string("version")?,
                weight: f.u64("weight")?,
            },
            4 => NodesEvent::CheckpointFinal {
                block: f.u64("block")?,
                hash: f.fixed::<32>("hash")?,
                at: f.u64("at")?,
                stake: f.u64("stake")?,
                total: f.u64("total")?,
            },
            5 => NodesEvent::GovChanged {
                account: f.string("account")?,
                gov: f.u64("gov")?,
            },
            6 => {
                let mut runners = Vec::new();
                for item in f.array("runners")? {
                    let r = Fields::of("nodes event stake", item)?;
                    runners.push(Stake {
                        account: r.string("account")?,
                        stake: r.u64("stake")?,
                    });
                }
                NodesEvent::TallyOpened {
                    block: f.u64("block")?,
                    runners,
                    total: f.u64("total")?,
                }
            }
            7 => NodesEvent::TallyClosed(TallyClose {
                block: f.u64("block")?,
                final_hash: optional_hash(&f, "final_hash")?,
                runners_after: string_list(&f, "runners_after")?,
                dropped: string_list(&f, "dropped")?,
                elected: optional_string(&f, "elected")?,
                runners: string_list(&f, "runners")?,
                reported: string_list(&f, "reported")?,
                agreed: string_list(&f, "agreed")?,
                chaos: f.u64("chaos")?,
                reward: f.u64("reward")?,
            }),
            8 => {
                let mut signers = Vec::new();
                for item in f.array("signers")? {
                    let x = Fields::of("nodes event signer", item)?;
                    signers.push(Signer {
                        account: x.string("account")?,
                        key: x.string("key")?,
                    });
                }
                NodesEvent::SignersSent { signers }
            }
            9 => NodesEvent::CollateralSent { stake: f.u64("stake")? },
            10 => NodesEvent::DexParamsSent {
                params: Params {
                    fee_ppm: f.u64("fee_ppm")?,
                    dex_max_bp: f.u64("dex_max_bp")?,
                    dex_slope_bp: f.u64("dex_slope_bp")?,
                },
            },
            11 => NodesEvent::WinsSent {
                accounts: string_list(&f, "accounts")?,
                node_rate: f.u64("node_rate")?,
            },
            other => return Err(shape(format!("unknown event branch {other}"))),
        })
    }
}

impl opentoken_core::ModuleEvent for NodesEvent {
    type CodecError = CodecError;
    fn kind(&self) -> &'static str {
        NodesEvent::kind(self)
    }
    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        NodesEvent::encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        NodesEvent::decode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::test_utils::assert_event_codec;

    fn rec(mskey: Option<&str>) -> NodeRecord {
        NodeRecord {
            domain: "https://alice.example".into(),
            bid_rate: 500,
            dm: 10000,
            ds: 0,
            dv: 1500,
            liquidity: 100,
            report_key: "ab".repeat(32),
            mskey: mskey.map(str::to_string),
            active: true,
            attempts: 1,
            yays: 2,
            wins: 3,
            strikes: 4,
            last_good: 500,
            registered_at: u64::MAX,
        }
    }

    fn every_variant() -> Vec<NodesEvent> {
        let a = || "alice".to_string();
        vec![
            NodesEvent::RunnersInitialised {
                runners: vec![a(), "bob".into()],
            },
            NodesEvent::RunnersInitialised { runners: vec![] },
            NodesEvent::NodeAdded {
                account: a(),
                registered: true,
                record: rec(None),
            },
            NodesEvent::NodeAdded {
                account: a(),
                registered: false,
                record: rec(Some("STM5abc")),
            },
            NodesEvent::NodeDeleted { account: a() },
            NodesEvent::ReportAccepted {
                account: a(),
                block: 100,
                hash: [7; 32],
                version: "opentoken/0.1.0".into(),
                weight: 40,
            },
            NodesEvent::CheckpointFinal {
                block: 100,
                hash: [8; 32],
                at: 101,
                stake: 75,
                total: 100,
            },
            NodesEvent::GovChanged {
                account: a(),
                gov: u64::MAX,
            },
            NodesEvent::TallyOpened {
                block: 200,
                runners: vec![
                    Stake {
                        account: a(),
                        stake: 40,
                    },
                    Stake {
                        account: "bob".into(),
                        stake: 0,
                    },
                ],
                total: 40,
            },
            NodesEvent::TallyClosed(TallyClose {
                block: 200,
                final_hash: Some([9; 32]),
                runners_after: vec![a()],
                dropped: vec!["bob".into()],
                elected: Some("carol".into()),
                runners: vec![a(), "carol".into()],
                reported: vec![a(), "bob".into(), "carol".into()],
                agreed: vec![a(), "carol".into()],
                chaos: 0,
                reward: 5,
            }),
            NodesEvent::TallyClosed(TallyClose {
                block: 300,
                final_hash: None,
                runners_after: vec![],
                dropped: vec![],
                elected: None,
                runners: vec![a()],
                reported: vec![],
                agreed: vec![],
                chaos: 3,
                reward: 0,
            }),
            NodesEvent::SignersSent {
                signers: vec![
                    Signer {
                        account: a(),
                        key: "STM6LLegbAgLAy28EHrffBVuANFWcFgmqRMW13wBmTExqFE9SCkg4".into(),
                    },
                    Signer {
                        account: "bob".into(),
                        key: "STM5wJarof5LWBiQu2umDUWgg1xD5QHpKQC1Z97sE2aoQdwQ8DwMf".into(),
                    },
                ],
            },
            NodesEvent::CollateralSent { stake: u64::MAX >> 1 },
            NodesEvent::DexParamsSent {
                params: Params {
                    fee_ppm: 5000,
                    dex_max_bp: 10_000,
                    dex_slope_bp: 0,
                },
            },
            NodesEvent::DexParamsSent {
                params: Params {
                    fee_ppm: u64::MAX >> 1,
                    dex_max_bp: 1,
                    dex_slope_bp: 10_000,
                },
            },
            NodesEvent::WinsSent {
                accounts: vec![a(), "bob".into()],
                node_rate: 800,
            },
        ]
    }

    #[test]
    fn every_variant_round_trips_through_avro() {
        opentoken_core::test_utils::assert_writes_like(&every_variant(), |e| {
            codec()
                .expect("the codec")
                .encode_with_apache_avro(e.to_value())
                .expect("apache-avro writes it")
        });
        assert_event_codec(
            &every_variant(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../schemas/nodes_event.avsc"),
            SCHEMA,
        );
    }

    /// Events written before `SignersSent` (schema v1, `schemas/history/`) decode with
    /// today's reader to the same events: the union only grew at its end.
    #[test]
    fn records_of_the_first_schema_still_decode() {
        let codec = codec().expect("compiled schemas");
        let v1 = apache_avro::Schema::parse_str(SCHEMA_V1).expect("v1 parses");
        assert_ne!(
            codec.fingerprint(),
            opentoken_codec::SingleObjectCodec::new("v1", SCHEMA_V1, &[])
                .unwrap()
                .fingerprint(),
            "v1 is another writer schema"
        );
        // The union only grew at its end: v1's branches are today's first ones, unchanged.
        let branches =
            |s: &apache_avro::Schema| opentoken_codec::single_object::event_union_branches(s).expect("an event union");
        let (old_branches, new_branches) = (branches(&v1), branches(codec.schema()));
        assert_eq!((old_branches.len(), new_branches.len()), (8, 12));
        assert_eq!(old_branches[..], new_branches[..8], "append only");
        let newer = ["SignersSent", "CollateralSent", "DexParamsSent", "WinsSent"];
        let old: Vec<NodesEvent> = every_variant()
            .into_iter()
            .filter(|e| !newer.contains(&e.kind()))
            .collect();
        assert_eq!(old.len(), every_variant().len() - 5);
        for e in old {
            let bytes = codec.encode_with_writer(&v1, e.to_value()).expect("fits v1");
            assert_ne!(bytes, e.encode().unwrap(), "written with the old fingerprint");
            assert_eq!(NodesEvent::decode(&bytes).expect("v1 record decodes"), e);
        }
        // The new event does not fit the old schema: it is a new branch.
        let new = NodesEvent::SignersSent { signers: vec![] };
        assert!(codec.encode_with_writer(&v1, new.to_value()).is_err());
    }

    /// Records of the second schema (before `CollateralSent`), the third (before
    /// `DexParamsSent`) and the fourth (before `WinsSent`) decode with today's reader to the same events; each later event is
    /// a new branch at the end, which the older schema cannot write.
    #[test]
    fn records_of_the_later_schemas_still_decode() {
        let codec = codec().expect("compiled schemas");
        // (schema, its branches, the events it cannot write, how many of every_variant's it can)
        let all = every_variant().len();
        for (name, text, branches, unknown, fits) in [
            (
                "v2",
                SCHEMA_V2,
                9,
                &["CollateralSent", "DexParamsSent", "WinsSent"][..],
                all - 4,
            ),
            ("v3", SCHEMA_V3, 10, &["DexParamsSent", "WinsSent"][..], all - 3),
            ("v4", SCHEMA_V4, 11, &["WinsSent"][..], all - 1),
        ] {
            let old = apache_avro::Schema::parse_str(text).expect("parses");
            let old_branches = opentoken_codec::single_object::event_union_branches(&old).expect("an event union");
            assert_eq!(old_branches.len(), branches, "{name}");
            assert_ne!(
                codec.fingerprint(),
                opentoken_codec::SingleObjectCodec::new(name, text, &[])
                    .unwrap()
                    .fingerprint(),
                "{name} is another writer schema"
            );
            let mut decoded = 0;
            for e in every_variant() {
                let bytes = codec.encode_with_writer(&old, e.to_value());
                if unknown.contains(&e.kind()) {
                    assert!(bytes.is_err(), "{name} cannot write {}", e.kind());
                    continue;
                }
                let bytes = bytes.expect("fits the older schema");
                assert_ne!(bytes, e.encode().unwrap(), "{name}: written with the old fingerprint");
                assert_eq!(NodesEvent::decode(&bytes).expect("older record decodes"), e, "{name}");
                decoded += 1;
            }
            assert_eq!(decoded, fits, "{name}");
        }
    }

    #[test]
    fn a_truncated_record_is_an_error() {
        let mut bytes = every_variant()[2].encode().unwrap();
        bytes.truncate(bytes.len() - 3);
        assert!(NodesEvent::decode(&bytes).is_err(), "truncated record");
    }
}
