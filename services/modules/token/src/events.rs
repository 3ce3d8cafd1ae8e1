//! Token events and their Avro encoding (`schemas/token_event.avsc`).

use crate::keys::{Bucket, Unlock};
use apache_avro::types::Value;
use opentoken_codec::value::{long_u64, record, Fields};
use opentoken_codec::{CodecError, SingleObjectCodec};
use std::sync::OnceLock;

/// A state change of the ledger. `apply` is total over these: `handle` only emits events
/// whose preconditions it checked against the same state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenEvent {
    Minted {
        account: String,
        bucket: Bucket,
        amount: u64,
    },
    Transferred {
        from: String,
        to: String,
        amount: u64,
    },
    PoweredUp {
        account: String,
        amount: u64,
    },
    GovLocked {
        account: String,
        amount: u64,
    },
    Claimed {
        account: String,
        liquid: u64,
        locked: u64,
        to_gov: bool,
    },
    WithdrawalScheduled {
        account: String,
        unlock: Unlock,
        total: u64,
        installments: Vec<(u64, u64)>,
    },
    WithdrawalCancelled {
        account: String,
        unlock: Unlock,
    },
    WithdrawalPaid {
        account: String,
        unlock: Unlock,
        block: u64,
        scheduled: u64,
        paid: u64,
    },
    PowerGranted {
        from: String,
        to: String,
        previous: u64,
        amount: u64,
    },
    DelegationSet {
        account: String,
        vests: u64,
    },
    DelegationRemoved {
        account: String,
    },
    NodeRegistered {
        account: String,
    },
    NodeRemoved {
        account: String,
    },
}

pub const SCHEMA: &str = include_str!("../../../../schemas/token_event.avsc");

pub fn codec() -> Result<&'static SingleObjectCodec, CodecError> {
    static CODEC: OnceLock<Result<SingleObjectCodec, CodecError>> = OnceLock::new();
    CODEC
        .get_or_init(|| SingleObjectCodec::new("token event", SCHEMA, &[]))
        .as_ref()
        .map_err(Clone::clone)
}

const BUCKETS: [&str; 4] = ["LIQUID", "POWER", "GOV", "CLAIMABLE"];
const UNLOCKS: [&str; 2] = ["POWER", "GOV"];

fn bucket_value(b: Bucket) -> Value {
    let i = match b {
        Bucket::Liquid => 0,
        Bucket::Power => 1,
        Bucket::Gov => 2,
        Bucket::Claimable => 3,
    };
    Value::Enum(i, BUCKETS[i as usize].to_string())
}

fn unlock_value(u: Unlock) -> Value {
    let i = match u {
        Unlock::Power => 0,
        Unlock::Gov => 1,
    };
    Value::Enum(i, UNLOCKS[i as usize].to_string())
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

impl TokenEvent {
    /// The event type name (the Avro record name).
    pub fn kind(&self) -> &'static str {
        match self {
            TokenEvent::Minted { .. } => "Minted",
            TokenEvent::Transferred { .. } => "Transferred",
            TokenEvent::PoweredUp { .. } => "PoweredUp",
            TokenEvent::GovLocked { .. } => "GovLocked",
            TokenEvent::Claimed { .. } => "Claimed",
            TokenEvent::WithdrawalScheduled { .. } => "WithdrawalScheduled",
            TokenEvent::WithdrawalCancelled { .. } => "WithdrawalCancelled",
            TokenEvent::WithdrawalPaid { .. } => "WithdrawalPaid",
            TokenEvent::PowerGranted { .. } => "PowerGranted",
            TokenEvent::DelegationSet { .. } => "DelegationSet",
            TokenEvent::DelegationRemoved { .. } => "DelegationRemoved",
            TokenEvent::NodeRegistered { .. } => "NodeRegistered",
            TokenEvent::NodeRemoved { .. } => "NodeRemoved",
        }
    }

    fn to_value(&self) -> Value {
        let (branch, body) = match self {
            TokenEvent::Minted {
                account,
                bucket,
                amount,
            } => (
                0,
                record(vec![
                    ("account", s(account)),
                    ("bucket", bucket_value(*bucket)),
                    ("amount", long_u64(*amount)),
                ]),
            ),
            TokenEvent::Transferred { from, to, amount } => (
                1,
                record(vec![("from", s(from)), ("to", s(to)), ("amount", long_u64(*amount))]),
            ),
            TokenEvent::PoweredUp { account, amount } => {
                (2, record(vec![("account", s(account)), ("amount", long_u64(*amount))]))
            }
            TokenEvent::GovLocked { account, amount } => {
                (3, record(vec![("account", s(account)), ("amount", long_u64(*amount))]))
            }
            TokenEvent::Claimed {
                account,
                liquid,
                locked,
                to_gov,
            } => (
                4,
                record(vec![
                    ("account", s(account)),
                    ("liquid", long_u64(*liquid)),
                    ("locked", long_u64(*locked)),
                    ("to_gov", Value::Boolean(*to_gov)),
                ]),
            ),
            TokenEvent::WithdrawalScheduled {
                account,
                unlock,
                total,
                installments,
            } => (
                5,
                record(vec![
                    ("account", s(account)),
                    ("unlock", unlock_value(*unlock)),
                    ("total", long_u64(*total)),
                    (
                        "installments",
                        Value::Array(
                            installments
                                .iter()
                                .map(|(b, a)| record(vec![("block", long_u64(*b)), ("amount", long_u64(*a))]))
                                .collect(),
                        ),
                    ),
                ]),
            ),
            TokenEvent::WithdrawalCancelled { account, unlock } => (
                6,
                record(vec![("account", s(account)), ("unlock", unlock_value(*unlock))]),
            ),
            TokenEvent::WithdrawalPaid {
                account,
                unlock,
                block,
                scheduled,
                paid,
            } => (
                7,
                record(vec![
                    ("account", s(account)),
                    ("unlock", unlock_value(*unlock)),
                    ("block", long_u64(*block)),
                    ("scheduled", long_u64(*scheduled)),
                    ("paid", long_u64(*paid)),
                ]),
            ),
            TokenEvent::PowerGranted {
                from,
                to,
                previous,
                amount,
            } => (
                8,
                record(vec![
                    ("from", s(from)),
                    ("to", s(to)),
                    ("previous", long_u64(*previous)),
                    ("amount", long_u64(*amount)),
                ]),
            ),
            TokenEvent::DelegationSet { account, vests } => {
                (9, record(vec![("account", s(account)), ("vests", long_u64(*vests))]))
            }
            TokenEvent::DelegationRemoved { account } => (10, record(vec![("account", s(account))])),
            TokenEvent::NodeRegistered { account } => (11, record(vec![("account", s(account))])),
            TokenEvent::NodeRemoved { account } => (12, record(vec![("account", s(account))])),
        };
        record(vec![("event", Value::Union(branch, Box::new(body)))])
    }

    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec()?.encode(self.to_value())
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let v = codec()?.decode(bytes)?;
        let outer = Fields::of("token event", &v)?;
        let (branch, body) = outer.union("event")?;
        let f = Fields::of("token event", body)?;
        let shape = |detail: String| CodecError::Shape {
            what: "token event",
            detail,
        };
        let bucket = |name: &str| -> Result<Bucket, CodecError> {
            match f.symbol(name)? {
                "LIQUID" => Ok(Bucket::Liquid),
                "POWER" => Ok(Bucket::Power),
                "GOV" => Ok(Bucket::Gov),
                "CLAIMABLE" => Ok(Bucket::Claimable),
                other => Err(shape(format!("unknown bucket {other}"))),
            }
        };
        let unlock = |name: &str| -> Result<Unlock, CodecError> {
            match f.symbol(name)? {
                "POWER" => Ok(Unlock::Power),
                "GOV" => Ok(Unlock::Gov),
                other => Err(shape(format!("unknown unlock {other}"))),
            }
        };
        Ok(match branch {
            0 => TokenEvent::Minted {
                account: f.string("account")?,
                bucket: bucket("bucket")?,
                amount: f.u64("amount")?,
            },
            1 => TokenEvent::Transferred {
                from: f.string("from")?,
                to: f.string("to")?,
                amount: f.u64("amount")?,
            },
            2 => TokenEvent::PoweredUp {
                account: f.string("account")?,
                amount: f.u64("amount")?,
            },
            3 => TokenEvent::GovLocked {
                account: f.string("account")?,
                amount: f.u64("amount")?,
            },
            4 => TokenEvent::Claimed {
                account: f.string("account")?,
                liquid: f.u64("liquid")?,
                locked: f.u64("locked")?,
                to_gov: matches!(f.get("to_gov")?, Value::Boolean(true)),
            },
            5 => {
                let mut installments = Vec::new();
                for item in f.array("installments")? {
                    let i = Fields::of("token event installment", item)?;
                    installments.push((i.u64("block")?, i.u64("amount")?));
                }
                TokenEvent::WithdrawalScheduled {
                    account: f.string("account")?,
                    unlock: unlock("unlock")?,
                    total: f.u64("total")?,
                    installments,
                }
            }
            6 => TokenEvent::WithdrawalCancelled {
                account: f.string("account")?,
                unlock: unlock("unlock")?,
            },
            7 => TokenEvent::WithdrawalPaid {
                account: f.string("account")?,
                unlock: unlock("unlock")?,
                block: f.u64("block")?,
                scheduled: f.u64("scheduled")?,
                paid: f.u64("paid")?,
            },
            8 => TokenEvent::PowerGranted {
                from: f.string("from")?,
                to: f.string("to")?,
                previous: f.u64("previous")?,
                amount: f.u64("amount")?,
            },
            9 => TokenEvent::DelegationSet {
                account: f.string("account")?,
                vests: f.u64("vests")?,
            },
            10 => TokenEvent::DelegationRemoved {
                account: f.string("account")?,
            },
            11 => TokenEvent::NodeRegistered {
                account: f.string("account")?,
            },
            12 => TokenEvent::NodeRemoved {
                account: f.string("account")?,
            },
            other => return Err(shape(format!("unknown event branch {other}"))),
        })
    }
}

impl opentoken_core::ModuleEvent for TokenEvent {
    type CodecError = CodecError;
    fn kind(&self) -> &'static str {
        TokenEvent::kind(self)
    }
    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        TokenEvent::encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        TokenEvent::decode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::test_utils::assert_event_codec;

    fn every_variant() -> Vec<TokenEvent> {
        let a = || "alice".to_string();
        vec![
            TokenEvent::Minted {
                account: a(),
                bucket: Bucket::Claimable,
                amount: 5,
            },
            TokenEvent::Transferred {
                from: a(),
                to: "bob".into(),
                amount: u64::MAX / 2,
            },
            TokenEvent::PoweredUp {
                account: a(),
                amount: 1,
            },
            TokenEvent::GovLocked {
                account: a(),
                amount: 2,
            },
            TokenEvent::Claimed {
                account: a(),
                liquid: 3,
                locked: 4,
                to_gov: true,
            },
            TokenEvent::WithdrawalScheduled {
                account: a(),
                unlock: Unlock::Gov,
                total: 10,
                installments: vec![(100, 2), (200, 2), (300, 2), (400, 4)],
            },
            TokenEvent::WithdrawalCancelled {
                account: a(),
                unlock: Unlock::Power,
            },
            TokenEvent::WithdrawalPaid {
                account: a(),
                unlock: Unlock::Power,
                block: 9,
                scheduled: 5,
                paid: 4,
            },
            TokenEvent::PowerGranted {
                from: a(),
                to: "bob".into(),
                previous: 1,
                amount: 0,
            },
            TokenEvent::DelegationSet {
                account: a(),
                vests: 4_096_123_457,
            },
            TokenEvent::DelegationRemoved { account: a() },
            TokenEvent::NodeRegistered { account: a() },
            TokenEvent::NodeRemoved { account: a() },
        ]
    }

    #[test]
    fn every_variant_round_trips_through_avro() {
        assert_event_codec(
            &every_variant(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../schemas/token_event.avsc"),
            SCHEMA,
        );
    }
}
