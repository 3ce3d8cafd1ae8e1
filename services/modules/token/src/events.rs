//! Token events and their Avro encoding (`schemas/token_event.avsc`).

pub use crate::economy::DaoDay;
use crate::keys::{Bucket, Pool, Unlock};
pub use crate::pob::{Mana, PostPayout};
use apache_avro::types::Value;
use opentoken_codec::value::{long_u64, record, Fields};
use opentoken_codec::{CodecError, SingleObjectCodec};
use opentoken_dex::OrderIn;
use opentoken_nft::protocol::Paid;
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
    /// A `dex_sell` (chains that run a DEX): `amount` liquid tokens of `account` move into
    /// the DEX escrow, and `order` goes to the DEX module as its `order` message.
    DexEscrowed {
        account: String,
        amount: u64,
        order: OrderIn,
    },
    /// The DEX released `amount` escrowed tokens to `account`'s liquid balance: a buyer's
    /// fill, the fee account's fee, or a seller's unsold rest (`why`) of order `order`.
    DexCredited {
        account: String,
        amount: u64,
        order: String,
        why: String,
    },
    /// An op that pays the NFT module (chains that run one): `amount` liquid tokens of
    /// `account` move into the NFT escrow, and `paid` goes to the NFT module.
    NftEscrowed {
        account: String,
        amount: u64,
        paid: Paid,
    },
    /// The NFT module released `amount` escrowed tokens to `account` (`why`: sale,
    /// royalty, refund, outbid, bond, fee).
    NftCredited {
        account: String,
        amount: u64,
        why: String,
        item: String,
    },
    /// The NFT module burned `amount` escrowed tokens: they leave the supply.
    NftBurned {
        amount: u64,
        item: String,
    },
    /// The NFT module's price of `item` (0: no longer offered).
    NftPriced {
        item: String,
        price: u64,
    },
    /// Inflation at a mint block (chains with an economy): `amount` new tokens into the
    /// pool `ra`. With `Minted` the only events that create tokens.
    Inflated {
        block: u64,
        amount: u64,
    },
    /// The nodes module's `runner_wins`: each of `accounts` agreed on one more final tally;
    /// `node_rate` is the runners' average `bidRate` (basis points).
    WinsCounted {
        accounts: Vec<String>,
        node_rate: u64,
    },
    /// A DAO day: the split of the pool `ra` into the other pools.
    DaoDay(DaoDay),
    /// A payout from a pool into `account`'s claimable balance.
    PoolPaid {
        pool: Pool,
        account: String,
        amount: u64,
    },
    /// Proof of Brain: a qualifying Hive post waits for its options until `expires`.
    PostPending {
        author: String,
        permlink: String,
        block: u64,
        expires: u64,
    },
    /// A waiting post whose options never came is forgotten.
    PostExpired {
        author: String,
        permlink: String,
        expires: u64,
    },
    /// A post named the beneficiary: votes on it count until `closes`.
    PostRegistered {
        author: String,
        permlink: String,
        block: u64,
        closes: u64,
    },
    /// A staker's vote on a registered post (`value` 0 removes it) and its meters after it.
    VoteCast {
        voter: String,
        author: String,
        permlink: String,
        block: u64,
        value: i64,
        mana: Mana,
    },
    /// A tally's payout curve: the closed posts' weight, the new moving weight, the payout.
    PobTally {
        block: u64,
        weights: u64,
        running: u64,
        payout: u64,
    },
    /// A closed post paid from the content pool into claimable balances.
    PostPaid {
        block: u64,
        payout: PostPayout,
    },
    /// Genesis: what an economy pool holds at the start (a community that moves to opentoken
    /// brings its pools). With `Minted` and `Inflated` the only events that create tokens.
    PoolSeeded {
        pool: Pool,
        amount: u64,
    },
    /// Genesis: an account's vote-mana meters at the start.
    ManaSeeded {
        account: String,
        mana: Mana,
    },
    /// Genesis: the last DAO day before the start (Proof of Brain's daily pool reads it).
    DaySeeded(DaoDay),
    /// Genesis: what a post paid before the start earned.
    PaidSeeded {
        author: String,
        permlink: String,
        paid: crate::pob::PaidPost,
    },
    /// Genesis: what the NFT module holds at the start (its sets' held fees and bonds and
    /// its TOKEN auctions' high bids, brought by `import-state`), created into `tot/nft`
    /// and the supply.
    NftEscrowSeeded {
        amount: u64,
    },
    /// A registered post's votes, summed `check_after` blocks after it registered, are
    /// positive: the leader's Hive vote on it is queued for the next voter round.
    LeaderVoteQueued {
        author: String,
        permlink: String,
        sum: u64,
    },
    /// A voter round: the queued posts share 10,000 basis points by their sums; each vote
    /// is due from the chain's leader until `expires`.
    LeaderVotesDue {
        block: u64,
        expires: u64,
        votes: Vec<crate::pob::LeaderVote>,
    },
    /// The leader's Hive vote on a post it owed one was seen in `block`.
    LeaderVoted {
        author: String,
        permlink: String,
        block: u64,
    },
    /// A due leader vote not seen within `keep_blocks` is no longer listed.
    LeaderVoteExpired {
        author: String,
        permlink: String,
    },
    /// At the DAO day `block`, the records of posts paid more than `paid_keep_blocks`
    /// before it are dropped (each `author/permlink`).
    PaidPruned {
        block: u64,
        posts: Vec<String>,
    },
}

pub const SCHEMA: &str = include_str!("../../../../schemas/token_event.avsc");

/// The first schema (`schemas/history/`), before the DEX events: records it wrote are read
/// with the codec's history, each into the union branch of the same name.
const SCHEMA_V1: &str = include_str!("../../../../schemas/history/token_event.v1.avsc");

/// The second schema, with the DEX's escrow but before the NFT module's events.
const SCHEMA_V2: &str = include_str!("../../../../schemas/history/token_event.v2.avsc");

/// The third schema, with the NFT module's events but before the economy's.
const SCHEMA_V3: &str = include_str!("../../../../schemas/history/token_event.v3.avsc");

/// The fourth schema, with the economy's events but before Proof of Brain's.
const SCHEMA_V4: &str = include_str!("../../../../schemas/history/token_event.v4.avsc");

/// The fifth schema, with Proof of Brain's events but before genesis pools.
const SCHEMA_V5: &str = include_str!("../../../../schemas/history/token_event.v5.avsc");

/// The sixth schema, with genesis pools but before the rest of an imported state.
const SCHEMA_V6: &str = include_str!("../../../../schemas/history/token_event.v6.avsc");

/// The seventh schema, with the imported economy and Proof of Brain but before the NFT
/// module's escrow at genesis.
const SCHEMA_V7: &str = include_str!("../../../../schemas/history/token_event.v7.avsc");

/// The eighth schema, with the NFT module's escrow at genesis but before the leader's votes.
const SCHEMA_V8: &str = include_str!("../../../../schemas/history/token_event.v8.avsc");

/// The ninth schema, with the leader's votes but before paid records were pruned.
const SCHEMA_V9: &str = include_str!("../../../../schemas/history/token_event.v9.avsc");

pub fn codec() -> Result<&'static SingleObjectCodec, CodecError> {
    static CODEC: OnceLock<Result<SingleObjectCodec, CodecError>> = OnceLock::new();
    CODEC
        .get_or_init(|| {
            SingleObjectCodec::new(
                "token event",
                SCHEMA,
                &[
                    SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7, SCHEMA_V8, SCHEMA_V9,
                ],
            )
        })
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
            TokenEvent::DexEscrowed { .. } => "DexEscrowed",
            TokenEvent::DexCredited { .. } => "DexCredited",
            TokenEvent::NftEscrowed { .. } => "NftEscrowed",
            TokenEvent::NftCredited { .. } => "NftCredited",
            TokenEvent::NftBurned { .. } => "NftBurned",
            TokenEvent::NftPriced { .. } => "NftPriced",
            TokenEvent::Inflated { .. } => "Inflated",
            TokenEvent::WinsCounted { .. } => "WinsCounted",
            TokenEvent::DaoDay(_) => "DaoDay",
            TokenEvent::PoolPaid { .. } => "PoolPaid",
            TokenEvent::PostPending { .. } => "PostPending",
            TokenEvent::PostExpired { .. } => "PostExpired",
            TokenEvent::PostRegistered { .. } => "PostRegistered",
            TokenEvent::VoteCast { .. } => "VoteCast",
            TokenEvent::PobTally { .. } => "PobTally",
            TokenEvent::PostPaid { .. } => "PostPaid",
            TokenEvent::PoolSeeded { .. } => "PoolSeeded",
            TokenEvent::ManaSeeded { .. } => "ManaSeeded",
            TokenEvent::DaySeeded(_) => "DaySeeded",
            TokenEvent::PaidSeeded { .. } => "PaidSeeded",
            TokenEvent::NftEscrowSeeded { .. } => "NftEscrowSeeded",
            TokenEvent::LeaderVoteQueued { .. } => "LeaderVoteQueued",
            TokenEvent::LeaderVotesDue { .. } => "LeaderVotesDue",
            TokenEvent::LeaderVoted { .. } => "LeaderVoted",
            TokenEvent::LeaderVoteExpired { .. } => "LeaderVoteExpired",
            TokenEvent::PaidPruned { .. } => "PaidPruned",
        }
    }

    fn to_value(&self) -> Result<Value, CodecError> {
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
            TokenEvent::DexEscrowed { account, amount, order } => (
                13,
                record(vec![
                    ("account", s(account)),
                    ("amount", long_u64(*amount)),
                    ("order", Value::String(order_json(order)?)),
                ]),
            ),
            TokenEvent::DexCredited {
                account,
                amount,
                order,
                why,
            } => (
                14,
                record(vec![
                    ("account", s(account)),
                    ("amount", long_u64(*amount)),
                    ("order", s(order)),
                    ("why", s(why)),
                ]),
            ),
            TokenEvent::NftEscrowed { account, amount, paid } => (
                15,
                record(vec![
                    ("account", s(account)),
                    ("amount", long_u64(*amount)),
                    ("paid", Value::String(paid_json(paid)?)),
                ]),
            ),
            TokenEvent::NftCredited {
                account,
                amount,
                why,
                item,
            } => (
                16,
                record(vec![
                    ("account", s(account)),
                    ("amount", long_u64(*amount)),
                    ("why", s(why)),
                    ("item", s(item)),
                ]),
            ),
            TokenEvent::NftBurned { amount, item } => {
                (17, record(vec![("amount", long_u64(*amount)), ("item", s(item))]))
            }
            TokenEvent::NftPriced { item, price } => (18, record(vec![("item", s(item)), ("price", long_u64(*price))])),
            TokenEvent::Inflated { block, amount } => (
                19,
                record(vec![("block", long_u64(*block)), ("amount", long_u64(*amount))]),
            ),
            TokenEvent::WinsCounted { accounts, node_rate } => (
                20,
                record(vec![
                    ("accounts", opentoken_codec::value::strings(accounts)),
                    ("node_rate", long_u64(*node_rate)),
                ]),
            ),
            TokenEvent::DaoDay(d) => (21, record(d.fields().map(|(n, v)| (n, long_u64(v))).to_vec())),
            TokenEvent::PoolPaid { pool, account, amount } => (
                22,
                record(vec![
                    ("pool", s(pool.name())),
                    ("account", s(account)),
                    ("amount", long_u64(*amount)),
                ]),
            ),
            TokenEvent::PostPending {
                author,
                permlink,
                block,
                expires,
            } => (
                23,
                record(vec![
                    ("author", s(author)),
                    ("permlink", s(permlink)),
                    ("block", long_u64(*block)),
                    ("expires", long_u64(*expires)),
                ]),
            ),
            TokenEvent::PostExpired {
                author,
                permlink,
                expires,
            } => (
                24,
                record(vec![
                    ("author", s(author)),
                    ("permlink", s(permlink)),
                    ("expires", long_u64(*expires)),
                ]),
            ),
            TokenEvent::PostRegistered {
                author,
                permlink,
                block,
                closes,
            } => (
                25,
                record(vec![
                    ("author", s(author)),
                    ("permlink", s(permlink)),
                    ("block", long_u64(*block)),
                    ("closes", long_u64(*closes)),
                ]),
            ),
            TokenEvent::VoteCast {
                voter,
                author,
                permlink,
                block,
                value,
                mana,
            } => (
                26,
                record(vec![
                    ("voter", s(voter)),
                    ("author", s(author)),
                    ("permlink", s(permlink)),
                    ("block", long_u64(*block)),
                    ("value", Value::Long(*value)),
                    ("up_power", long_u64(mana.up_power)),
                    ("up_last", long_u64(mana.up_last)),
                    ("down_power", long_u64(mana.down_power)),
                    ("down_last", long_u64(mana.down_last)),
                ]),
            ),
            TokenEvent::PobTally {
                block,
                weights,
                running,
                payout,
            } => (
                27,
                record(vec![
                    ("block", long_u64(*block)),
                    ("weights", long_u64(*weights)),
                    ("running", long_u64(*running)),
                    ("payout", long_u64(*payout)),
                ]),
            ),
            TokenEvent::PostPaid { block, payout } => (
                28,
                record(vec![
                    ("author", s(&payout.author)),
                    ("permlink", s(&payout.permlink)),
                    ("block", long_u64(*block)),
                    ("weight", long_u64(payout.weight)),
                    ("author_share", long_u64(payout.author_share)),
                    (
                        "curators",
                        Value::Array(
                            payout
                                .curators
                                .iter()
                                .map(|(account, amount)| {
                                    record(vec![("account", s(account)), ("amount", long_u64(*amount))])
                                })
                                .collect(),
                        ),
                    ),
                ]),
            ),
            TokenEvent::PoolSeeded { pool, amount } => (
                29,
                record(vec![("pool", s(pool.name())), ("amount", long_u64(*amount))]),
            ),
            TokenEvent::ManaSeeded { account, mana } => (
                30,
                record(vec![
                    ("account", s(account)),
                    ("up_power", long_u64(mana.up_power)),
                    ("up_last", long_u64(mana.up_last)),
                    ("down_power", long_u64(mana.down_power)),
                    ("down_last", long_u64(mana.down_last)),
                ]),
            ),
            TokenEvent::DaySeeded(d) => (31, record(d.fields().map(|(n, v)| (n, long_u64(v))).to_vec())),
            TokenEvent::PaidSeeded { author, permlink, paid } => (
                32,
                record(vec![
                    ("author", s(author)),
                    ("permlink", s(permlink)),
                    ("block", long_u64(paid.block)),
                    ("weight", long_u64(paid.weight)),
                    ("author_share", long_u64(paid.author_share)),
                    ("curation", long_u64(paid.curation)),
                ]),
            ),
            TokenEvent::NftEscrowSeeded { amount } => (33, record(vec![("amount", long_u64(*amount))])),
            TokenEvent::LeaderVoteQueued { author, permlink, sum } => (
                34,
                record(vec![
                    ("author", s(author)),
                    ("permlink", s(permlink)),
                    ("sum", long_u64(*sum)),
                ]),
            ),
            TokenEvent::LeaderVotesDue { block, expires, votes } => (
                35,
                record(vec![
                    ("block", long_u64(*block)),
                    ("expires", long_u64(*expires)),
                    (
                        "votes",
                        Value::Array(
                            votes
                                .iter()
                                .map(|v| {
                                    record(vec![
                                        ("author", s(&v.author)),
                                        ("permlink", s(&v.permlink)),
                                        ("sum", long_u64(v.sum)),
                                        ("weight", long_u64(v.weight)),
                                    ])
                                })
                                .collect(),
                        ),
                    ),
                ]),
            ),
            TokenEvent::LeaderVoted {
                author,
                permlink,
                block,
            } => (
                36,
                record(vec![
                    ("author", s(author)),
                    ("permlink", s(permlink)),
                    ("block", long_u64(*block)),
                ]),
            ),
            TokenEvent::LeaderVoteExpired { author, permlink } => {
                (37, record(vec![("author", s(author)), ("permlink", s(permlink))]))
            }
            TokenEvent::PaidPruned { block, posts } => (
                38,
                record(vec![
                    ("block", long_u64(*block)),
                    ("posts", Value::Array(posts.iter().map(|p| s(p)).collect())),
                ]),
            ),
        };
        Ok(record(vec![("event", Value::Union(branch, Box::new(body)))]))
    }

    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec()?.encode(self.to_value()?)
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
            13 => TokenEvent::DexEscrowed {
                account: f.string("account")?,
                amount: f.u64("amount")?,
                order: serde_json::from_str(&f.string("order")?)
                    .map_err(|e| shape(format!("DexEscrowed.order is not an order: {e}")))?,
            },
            14 => TokenEvent::DexCredited {
                account: f.string("account")?,
                amount: f.u64("amount")?,
                order: f.string("order")?,
                why: f.string("why")?,
            },
            15 => TokenEvent::NftEscrowed {
                account: f.string("account")?,
                amount: f.u64("amount")?,
                paid: serde_json::from_str(&f.string("paid")?)
                    .map_err(|e| shape(format!("NftEscrowed.paid is not a paid op: {e}")))?,
            },
            16 => TokenEvent::NftCredited {
                account: f.string("account")?,
                amount: f.u64("amount")?,
                why: f.string("why")?,
                item: f.string("item")?,
            },
            17 => TokenEvent::NftBurned {
                amount: f.u64("amount")?,
                item: f.string("item")?,
            },
            18 => TokenEvent::NftPriced {
                item: f.string("item")?,
                price: f.u64("price")?,
            },
            19 => TokenEvent::Inflated {
                block: f.u64("block")?,
                amount: f.u64("amount")?,
            },
            20 => TokenEvent::WinsCounted {
                accounts: f.strings("accounts")?,
                node_rate: f.u64("node_rate")?,
            },
            21 => TokenEvent::DaoDay(DaoDay::from_fields(|name| f.u64(name))?),
            22 => TokenEvent::PoolPaid {
                pool: Pool::from_name(&f.string("pool")?).ok_or_else(|| shape("PoolPaid.pool is no pool".into()))?,
                account: f.string("account")?,
                amount: f.u64("amount")?,
            },
            23 => TokenEvent::PostPending {
                author: f.string("author")?,
                permlink: f.string("permlink")?,
                block: f.u64("block")?,
                expires: f.u64("expires")?,
            },
            24 => TokenEvent::PostExpired {
                author: f.string("author")?,
                permlink: f.string("permlink")?,
                expires: f.u64("expires")?,
            },
            25 => TokenEvent::PostRegistered {
                author: f.string("author")?,
                permlink: f.string("permlink")?,
                block: f.u64("block")?,
                closes: f.u64("closes")?,
            },
            26 => TokenEvent::VoteCast {
                voter: f.string("voter")?,
                author: f.string("author")?,
                permlink: f.string("permlink")?,
                block: f.u64("block")?,
                value: f.long("value")?,
                mana: Mana {
                    up_power: f.u64("up_power")?,
                    up_last: f.u64("up_last")?,
                    down_power: f.u64("down_power")?,
                    down_last: f.u64("down_last")?,
                },
            },
            27 => TokenEvent::PobTally {
                block: f.u64("block")?,
                weights: f.u64("weights")?,
                running: f.u64("running")?,
                payout: f.u64("payout")?,
            },
            28 => TokenEvent::PostPaid {
                block: f.u64("block")?,
                payout: PostPayout {
                    author: f.string("author")?,
                    permlink: f.string("permlink")?,
                    weight: f.u64("weight")?,
                    author_share: f.u64("author_share")?,
                    curators: f
                        .array("curators")?
                        .iter()
                        .map(|c| {
                            let c = Fields::of("token event", c)?;
                            Ok((c.string("account")?, c.u64("amount")?))
                        })
                        .collect::<Result<_, CodecError>>()?,
                },
            },
            29 => TokenEvent::PoolSeeded {
                pool: Pool::from_name(&f.string("pool")?).ok_or_else(|| shape("PoolSeeded.pool is no pool".into()))?,
                amount: f.u64("amount")?,
            },
            30 => TokenEvent::ManaSeeded {
                account: f.string("account")?,
                mana: Mana {
                    up_power: f.u64("up_power")?,
                    up_last: f.u64("up_last")?,
                    down_power: f.u64("down_power")?,
                    down_last: f.u64("down_last")?,
                },
            },
            31 => TokenEvent::DaySeeded(DaoDay::from_fields(|name| f.u64(name))?),
            32 => TokenEvent::PaidSeeded {
                author: f.string("author")?,
                permlink: f.string("permlink")?,
                paid: crate::pob::PaidPost {
                    block: f.u64("block")?,
                    weight: f.u64("weight")?,
                    author_share: f.u64("author_share")?,
                    curation: f.u64("curation")?,
                },
            },
            33 => TokenEvent::NftEscrowSeeded {
                amount: f.u64("amount")?,
            },
            34 => TokenEvent::LeaderVoteQueued {
                author: f.string("author")?,
                permlink: f.string("permlink")?,
                sum: f.u64("sum")?,
            },
            35 => TokenEvent::LeaderVotesDue {
                block: f.u64("block")?,
                expires: f.u64("expires")?,
                votes: f
                    .array("votes")?
                    .iter()
                    .map(|v| {
                        let v = Fields::of("token event", v)?;
                        Ok(crate::pob::LeaderVote {
                            author: v.string("author")?,
                            permlink: v.string("permlink")?,
                            sum: v.u64("sum")?,
                            weight: v.u64("weight")?,
                        })
                    })
                    .collect::<Result<_, CodecError>>()?,
            },
            36 => TokenEvent::LeaderVoted {
                author: f.string("author")?,
                permlink: f.string("permlink")?,
                block: f.u64("block")?,
            },
            37 => TokenEvent::LeaderVoteExpired {
                author: f.string("author")?,
                permlink: f.string("permlink")?,
            },
            38 => TokenEvent::PaidPruned {
                block: f.u64("block")?,
                posts: f
                    .array("posts")?
                    .iter()
                    .map(|p| match p {
                        Value::String(p) => Ok(p.clone()),
                        other => Err(shape(format!("a pruned post is {other:?}, not a string"))),
                    })
                    .collect::<Result<_, CodecError>>()?,
            },
            other => return Err(shape(format!("unknown event branch {other}"))),
        })
    }
}

/// The canonical JSON of a paid op: the payload of the `paid` message to the NFT module
/// and the `paid` field of `NftEscrowed`.
pub fn paid_json(paid: &Paid) -> Result<String, CodecError> {
    serde_json::to_string(paid).map_err(|e| CodecError::Encode {
        what: "token event",
        detail: format!("paid {}: {e}", paid.op),
    })
}

/// The canonical JSON of an order: the payload of the `order` message to the DEX and the
/// `order` field of `DexEscrowed`, so the event records exactly what was sent.
pub fn order_json(order: &OrderIn) -> Result<String, CodecError> {
    serde_json::to_string(order).map_err(|e| CodecError::Encode {
        what: "token event",
        detail: format!("order {}: {e}", order.id),
    })
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
            TokenEvent::DexEscrowed {
                account: a(),
                amount: 3000,
                order: OrderIn {
                    id: opentoken_dex::order::order_id("DLUX", "alice", "00ab", 0),
                    from: a(),
                    pair: opentoken_dex::Pair::Hbd,
                    side: opentoken_dex::Side::Ask,
                    amount: 3000,
                    price: 333_334,
                    expires: u64::MAX,
                    payout: opentoken_dex::Payout::L2,
                    txid: "00ab".into(),
                    block: 7,
                    time: 1_700_000_021,
                },
            },
            TokenEvent::DexCredited {
                account: "rn".into(),
                amount: 15,
                order: "DLUXQmXyz".into(),
                why: "fee".into(),
            },
            TokenEvent::NftEscrowed {
                account: a(),
                amount: 1500,
                paid: Paid {
                    op: "nft_bid".into(),
                    from: a(),
                    amount: 1500,
                    payload: r#"{"set":"cards","uid":"0A","bid_amount":1500}"#.into(),
                    txid: "ab".repeat(20),
                    block: 77,
                    trx: 1,
                    op_in_trx: 0,
                },
            },
            TokenEvent::NftCredited {
                account: "bob".into(),
                amount: 1425,
                why: "sale".into(),
                item: "ls/cards:0A".into(),
            },
            TokenEvent::NftBurned {
                amount: 50_000,
                item: "set/cards".into(),
            },
            TokenEvent::NftPriced {
                item: "ls/cards:0A".into(),
                price: 0,
            },
            TokenEvent::Inflated {
                block: 50_015_300,
                amount: 57_200,
            },
            TokenEvent::WinsCounted {
                accounts: vec![a(), "bob".into()],
                node_rate: 800,
            },
            TokenEvent::DaoDay(DaoDay {
                block: 50_015_305,
                minted: 57_200,
                node_rate: 800,
                marketing_rate: 2_500,
                delegation_rate: 2_000,
                to_nodes: 4_576,
                to_marketing: 14_300,
                overflow: 13_300,
                to_delegators: 11_440,
                to_content: 26_884,
            }),
            TokenEvent::PoolPaid {
                pool: Pool::Delegators,
                account: a(),
                amount: u64::MAX >> 1,
            },
            TokenEvent::PostPending {
                author: a(),
                permlink: "my-3d-gallery".into(),
                block: 50_000_000,
                expires: 50_028_800,
            },
            TokenEvent::PostExpired {
                author: a(),
                permlink: "p".into(),
                expires: 50_028_800,
            },
            TokenEvent::PostRegistered {
                author: a(),
                permlink: "p".into(),
                block: 50_000_003,
                closes: 50_201_603,
            },
            TokenEvent::VoteCast {
                voter: "bob".into(),
                author: a(),
                permlink: "p".into(),
                block: 50_000_010,
                value: -490,
                mana: Mana {
                    up_power: 50_000,
                    up_last: 49_000_000,
                    down_power: 48_510,
                    down_last: 50_000_010,
                },
            },
            TokenEvent::PobTally {
                block: 50_201_700,
                weights: 5_000,
                running: 2,
                payout: 4_934,
            },
            TokenEvent::PostPaid {
                block: 50_201_700,
                payout: PostPayout {
                    author: a(),
                    permlink: "p".into(),
                    weight: 5_000,
                    author_share: 2_467,
                    curators: vec![("bob".into(), 1_973), ("carol".into(), 493)],
                },
            },
            TokenEvent::PoolSeeded {
                pool: Pool::Content,
                amount: 40_184,
            },
            TokenEvent::ManaSeeded {
                account: "bob".into(),
                mana: Mana {
                    up_power: 196_000,
                    up_last: 8,
                    down_power: 200_000,
                    down_last: 0,
                },
            },
            TokenEvent::DaySeeded(DaoDay {
                block: 50_015_305,
                minted: 57_200,
                node_rate: 2_500,
                marketing_rate: 2_500,
                delegation_rate: 2_000,
                to_nodes: 14_300,
                to_marketing: 14_300,
                overflow: 0,
                to_delegators: 11_440,
                to_content: 17_160,
            }),
            TokenEvent::PaidSeeded {
                author: a(),
                permlink: "gallery".into(),
                paid: crate::pob::PaidPost {
                    block: 200,
                    weight: 5_000,
                    author_share: 2_303,
                    curation: 2_302,
                },
            },
            TokenEvent::NftEscrowSeeded { amount: 7_500 },
            TokenEvent::LeaderVoteQueued {
                author: "alice".into(),
                permlink: "p1".into(),
                sum: 900,
            },
            TokenEvent::LeaderVotesDue {
                block: 3_002,
                expires: 31_802,
                votes: vec![crate::pob::LeaderVote {
                    author: "alice".into(),
                    permlink: "p1".into(),
                    sum: 900,
                    weight: 10_000,
                }],
            },
            TokenEvent::LeaderVoted {
                author: "alice".into(),
                permlink: "p1".into(),
                block: 3_010,
            },
            TokenEvent::LeaderVoteExpired {
                author: "alice".into(),
                permlink: "p1".into(),
            },
            TokenEvent::PaidPruned {
                block: 50_015_305,
                posts: vec!["alice/p1".into(), "bob/p2".into()],
            },
        ]
    }

    #[test]
    fn every_variant_round_trips_through_avro() {
        let all = every_variant();
        let kinds: std::collections::BTreeSet<&str> = all.iter().map(TokenEvent::kind).collect();
        assert_eq!(kinds.len(), 39, "one of each event");
        opentoken_core::test_utils::assert_writes_like(&every_variant(), |e| {
            codec()
                .expect("the codec")
                .encode_with_apache_avro(e.to_value().expect("a value"))
                .expect("apache-avro writes it")
        });
        assert_event_codec(
            &all,
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../schemas/token_event.avsc"),
            SCHEMA,
        );
    }

    /// The order is stored as the exact payload sent to the DEX, and a stored order that is
    /// not one is a decoding error, not a guess.
    #[test]
    fn an_escrow_event_stores_the_order_message_payload() {
        let e = every_variant().into_iter().find(|e| e.kind() == "DexEscrowed").unwrap();
        let TokenEvent::DexEscrowed { order, .. } = &e else {
            unreachable!()
        };
        let Value::Record(fields) = e.to_value().unwrap() else {
            panic!("a record")
        };
        let Value::Union(13, body) = &fields[0].1 else {
            panic!("branch 13")
        };
        let Value::Record(body) = &**body else {
            panic!("a record")
        };
        assert_eq!(
            body[2],
            ("order".to_string(), Value::String(order_json(order).unwrap()))
        );
        let broken = record(vec![(
            "event",
            Value::Union(
                13,
                Box::new(record(vec![
                    ("account", s("alice")),
                    ("amount", long_u64(1)),
                    ("order", s("{\"id\":\"x\"}")),
                ])),
            ),
        )]);
        let bytes = codec().unwrap().encode(broken).unwrap();
        let err = TokenEvent::decode(&bytes).unwrap_err().to_string();
        assert!(err.contains("DexEscrowed.order"), "{err}");
    }

    /// Events written with each older schema (`schemas/history/`: v1 before the DEX, v2
    /// before the NFT module, v3 before the economy, v4 before Proof of Brain, v5 before genesis pools, v6 before the rest of the imported state, v7 before the NFT escrow at genesis, v8 before the leader's votes, v9 before paid records were pruned) decode with today's reader to the same
    /// events: the union only grew at its end, and a newer event does not fit an old schema.
    #[test]
    fn records_of_every_older_schema_still_decode() {
        let codec = codec().expect("compiled schemas");
        let branches =
            |s: &apache_avro::Schema| opentoken_codec::single_object::event_union_branches(s).expect("an event union");
        let new_branches = branches(codec.schema());
        assert_eq!(new_branches.len(), 39);
        for (name, text, known, last) in [
            ("v1", SCHEMA_V1, 13, "NodeRemoved"),
            ("v2", SCHEMA_V2, 15, "DexCredited"),
            ("v3", SCHEMA_V3, 19, "NftPriced"),
            ("v4", SCHEMA_V4, 23, "PoolPaid"),
            ("v5", SCHEMA_V5, 29, "PostPaid"),
            ("v6", SCHEMA_V6, 30, "PoolSeeded"),
            ("v7", SCHEMA_V7, 33, "PaidSeeded"),
            ("v8", SCHEMA_V8, 34, "NftEscrowSeeded"),
            ("v9", SCHEMA_V9, 38, "LeaderVoteExpired"),
        ] {
            let old_schema = apache_avro::Schema::parse_str(text).expect("parses");
            assert_ne!(
                codec.fingerprint(),
                SingleObjectCodec::new(name, text, &[]).unwrap().fingerprint(),
                "{name} is another writer schema"
            );
            let old_branches = branches(&old_schema);
            assert_eq!(old_branches.len(), known, "{name}");
            assert_eq!(old_branches[..], new_branches[..known], "{name}: append only");
            let old: Vec<TokenEvent> = every_variant().into_iter().take(known).collect();
            assert_eq!(old.last().map(TokenEvent::kind), Some(last), "{name}");
            for e in old {
                let bytes = codec
                    .encode_with_writer(&old_schema, e.to_value().unwrap())
                    .expect("fits");
                assert_ne!(bytes, e.encode().unwrap(), "{name}: written with the old fingerprint");
                assert_eq!(TokenEvent::decode(&bytes).expect("old record decodes"), e, "{name}");
            }
            for e in every_variant().into_iter().skip(known) {
                assert!(
                    codec.encode_with_writer(&old_schema, e.to_value().unwrap()).is_err(),
                    "{name}: {e:?}"
                );
            }
        }
    }
}
