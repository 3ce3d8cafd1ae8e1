//! A table-driven fc::raw serializer for every non-virtual Hive operation given as JSON, so
//! that transaction ids and merkle roots of blocks served by untrusted API nodes can be
//! recomputed from the JSON itself.
//!
//! Field orders are the `FC_REFLECT` orders of hived's `hive_operations.hpp`,
//! `dhf_operations.hpp`, `base.hpp`, `block_header.hpp` and `version.hpp`, not the order of
//! the C++ struct members (they differ for `limit_order_create2` and `escrow_transfer`).
//!
//! The reader is strict where the node's own JSON rendering is canonical: unknown fields, sets
//! that are not strictly ascending and upper-case hex are refused. Several JSON spellings of
//! one set would otherwise verify against one id while a consumer reads them differently
//! (e.g. a duplicated name in `required_auths`).

use crate::operation::write_asset;
use crate::write::Writer;
use crate::{Packing, TxError};
use opentoken_core::{Asset, AssetSymbol};
use ripemd::{Digest, Ripemd160};
use serde_json::{Map, Value};

/// Longest string or byte field accepted: hived caps a block at a few MiB, so anything larger
/// is not a real block and is refused before it is copied.
pub(crate) const MAX_FIELD_BYTES: usize = 4 << 20;
/// Longest array accepted inside one operation or transaction.
pub(crate) const MAX_ITEMS: usize = 100_000;

/// How one value is written.
#[derive(Debug)]
pub(crate) enum Ty {
    /// `std::string`, `account_name_type`, `json_string`, `custom_id_type`: varint length + bytes.
    Str,
    Bool,
    U8,
    U16,
    I16,
    U32,
    U64,
    I64,
    /// `asset`: `int64` amount + symbol in the chosen packing.
    Asset,
    /// `legacy_hive_asset` (chain properties): a HIVE amount whose symbol may be one of the
    /// obsolete serializations of 2016 blocks, which JSON no longer shows.
    LegacyHiveAsset,
    /// `public_key_type`: 33 raw bytes from an `STM…` string.
    Key,
    /// `time_point_sec`: `uint32` seconds.
    Time,
    /// A fixed-size hash or signature given as hex (20, 32 or 65 bytes).
    Hash(usize),
    /// `vector<char>` given as hex: varint length + bytes.
    Bytes,
    /// `flat_set<account_name_type>`.
    NameSet,
    /// `flat_set<int64_t>`.
    I64Set,
    Authority,
    /// `hive::protocol::version` given as `"major.minor.patch"`: one `uint32`.
    Version,
    /// `flat_map<string, vector<char>>` given as `[[key, hex], …]`.
    PropsMap,
    Optional(&'static Ty),
    Vector(&'static Ty),
    Struct(&'static [Field]),
    /// A single `static_variant`.
    Variant(&'static [Case]),
    /// A `flat_set` of `static_variant`s (every `extensions` field).
    VariantSet(&'static [Case]),
}

#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    /// The pre-HF24 (Steem) JSON name of the same field, found in old data.
    pub(crate) alias: Option<&'static str>,
    pub(crate) ty: Ty,
}

/// One alternative of a `static_variant`; `ty: None` marks one that cannot occur on mainnet
/// and that opentoken does not serialize (SMT `allowed_vote_assets`).
#[derive(Debug)]
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) ty: Option<Ty>,
}

/// One operation: its static_variant tag, JSON name without `_operation`, fields.
#[derive(Debug)]
pub(crate) struct OpSpec {
    pub(crate) id: u32,
    pub(crate) name: &'static str,
    pub(crate) fields: &'static [Field],
}

const fn f(name: &'static str, ty: Ty) -> Field {
    Field { name, alias: None, ty }
}

const fn fa(name: &'static str, alias: &'static str, ty: Ty) -> Field {
    Field {
        name,
        alias: Some(alias),
        ty,
    }
}

const fn case(name: &'static str, ty: Ty) -> Case {
    Case { name, ty: Some(ty) }
}

const VOID: Ty = Ty::Struct(&[]);

/// `future_extensions`: `static_variant<void_t>`.
pub(crate) const FUTURE_EXTENSIONS: Ty = Ty::VariantSet(&[case("void_t", VOID)]);

/// `block_header_extensions`: `static_variant<void_t, version, hardfork_version_vote>`.
pub(crate) const HEADER_EXTENSIONS: Ty = Ty::VariantSet(&[
    case("void_t", VOID),
    case("version", Ty::Version),
    case(
        "hardfork_version_vote",
        Ty::Struct(&[f("hf_version", Ty::Version), f("hf_time", Ty::Time)]),
    ),
]);

const PRICE: Ty = Ty::Struct(&[f("base", Ty::Asset), f("quote", Ty::Asset)]);

const CHAIN_PROPERTIES: Ty = Ty::Struct(&[
    f("account_creation_fee", Ty::LegacyHiveAsset),
    f("maximum_block_size", Ty::U32),
    fa("hbd_interest_rate", "sbd_interest_rate", Ty::U16),
]);

const SIGNED_BLOCK_HEADER: Ty = Ty::Struct(&[
    f("previous", Ty::Hash(20)),
    f("timestamp", Ty::Time),
    f("witness", Ty::Str),
    f("transaction_merkle_root", Ty::Hash(20)),
    f("extensions", HEADER_EXTENSIONS),
    f("witness_signature", Ty::Hash(65)),
]);

const POW2_INPUT: Ty = Ty::Struct(&[
    f("worker_account", Ty::Str),
    f("prev_block", Ty::Hash(20)),
    f("nonce", Ty::U64),
]);

/// `pow2_work`: `static_variant<pow2, equihash_pow>`.
const POW2_WORK: Ty = Ty::Variant(&[
    case("pow2", Ty::Struct(&[f("input", POW2_INPUT), f("pow_summary", Ty::U32)])),
    case(
        "equihash_pow",
        Ty::Struct(&[
            f("input", POW2_INPUT),
            f(
                "proof",
                Ty::Struct(&[
                    f("n", Ty::U32),
                    f("k", Ty::U32),
                    f("seed", Ty::Hash(32)),
                    f("inputs", Ty::Vector(&Ty::U32)),
                ]),
            ),
            f("prev_block", Ty::Hash(20)),
            f("pow_summary", Ty::U32),
        ]),
    ),
]);

/// `comment_options_extension`: `static_variant<comment_payout_beneficiaries[, allowed_vote_assets]>`.
const COMMENT_OPTIONS_EXTENSIONS: Ty = Ty::VariantSet(&[
    case(
        "comment_payout_beneficiaries",
        Ty::Struct(&[f(
            "beneficiaries",
            Ty::Vector(&Ty::Struct(&[f("account", Ty::Str), f("weight", Ty::U16)])),
        )]),
    ),
    Case {
        name: "allowed_vote_assets",
        ty: None,
    },
]);

/// `update_proposal_extension`: `static_variant<void_t, update_proposal_end_date>`.
const UPDATE_PROPOSAL_EXTENSIONS: Ty = Ty::VariantSet(&[
    case("void_t", VOID),
    case("update_proposal_end_date", Ty::Struct(&[f("end_date", Ty::Time)])),
]);

/// `recurrent_transfer_extension`: `static_variant<void_t, recurrent_transfer_pair_id>`.
const RECURRENT_TRANSFER_EXTENSIONS: Ty = Ty::VariantSet(&[
    case("void_t", VOID),
    case("recurrent_transfer_pair_id", Ty::Struct(&[f("pair_id", Ty::U8)])),
]);

const OPT_AUTHORITY: Ty = Ty::Optional(&Ty::Authority);

/// Every non-virtual operation, ids 0..=49 (`operations.hpp`; 16 has had two names).
pub(crate) const OPS: &[OpSpec] = &[
    OpSpec {
        id: 0,
        name: "vote",
        fields: &[
            f("voter", Ty::Str),
            f("author", Ty::Str),
            f("permlink", Ty::Str),
            f("weight", Ty::I16),
        ],
    },
    OpSpec {
        id: 1,
        name: "comment",
        fields: &[
            f("parent_author", Ty::Str),
            f("parent_permlink", Ty::Str),
            f("author", Ty::Str),
            f("permlink", Ty::Str),
            f("title", Ty::Str),
            f("body", Ty::Str),
            f("json_metadata", Ty::Str),
        ],
    },
    OpSpec {
        id: 2,
        name: "transfer",
        fields: &[
            f("from", Ty::Str),
            f("to", Ty::Str),
            f("amount", Ty::Asset),
            f("memo", Ty::Str),
        ],
    },
    OpSpec {
        id: 3,
        name: "transfer_to_vesting",
        fields: &[f("from", Ty::Str), f("to", Ty::Str), f("amount", Ty::Asset)],
    },
    OpSpec {
        id: 4,
        name: "withdraw_vesting",
        fields: &[f("account", Ty::Str), f("vesting_shares", Ty::Asset)],
    },
    OpSpec {
        id: 5,
        name: "limit_order_create",
        fields: &[
            f("owner", Ty::Str),
            f("orderid", Ty::U32),
            f("amount_to_sell", Ty::Asset),
            f("min_to_receive", Ty::Asset),
            f("fill_or_kill", Ty::Bool),
            f("expiration", Ty::Time),
        ],
    },
    OpSpec {
        id: 6,
        name: "limit_order_cancel",
        fields: &[f("owner", Ty::Str), f("orderid", Ty::U32)],
    },
    OpSpec {
        id: 7,
        name: "feed_publish",
        fields: &[f("publisher", Ty::Str), f("exchange_rate", PRICE)],
    },
    OpSpec {
        id: 8,
        name: "convert",
        fields: &[f("owner", Ty::Str), f("requestid", Ty::U32), f("amount", Ty::Asset)],
    },
    OpSpec {
        id: 9,
        name: "account_create",
        fields: &[
            f("fee", Ty::Asset),
            f("creator", Ty::Str),
            f("new_account_name", Ty::Str),
            f("owner", Ty::Authority),
            f("active", Ty::Authority),
            f("posting", Ty::Authority),
            f("memo_key", Ty::Key),
            f("json_metadata", Ty::Str),
        ],
    },
    OpSpec {
        id: 10,
        name: "account_update",
        fields: &[
            f("account", Ty::Str),
            f("owner", OPT_AUTHORITY),
            f("active", OPT_AUTHORITY),
            f("posting", OPT_AUTHORITY),
            f("memo_key", Ty::Key),
            f("json_metadata", Ty::Str),
        ],
    },
    OpSpec {
        id: 11,
        name: "witness_update",
        fields: &[
            f("owner", Ty::Str),
            f("url", Ty::Str),
            f("block_signing_key", Ty::Key),
            f("props", CHAIN_PROPERTIES),
            f("fee", Ty::Asset),
        ],
    },
    OpSpec {
        id: 12,
        name: "account_witness_vote",
        fields: &[f("account", Ty::Str), f("witness", Ty::Str), f("approve", Ty::Bool)],
    },
    OpSpec {
        id: 13,
        name: "account_witness_proxy",
        fields: &[f("account", Ty::Str), f("proxy", Ty::Str)],
    },
    OpSpec {
        id: 14,
        name: "pow",
        fields: &[
            f("worker_account", Ty::Str),
            f("block_id", Ty::Hash(20)),
            f("nonce", Ty::U64),
            f(
                "work",
                Ty::Struct(&[
                    f("worker", Ty::Key),
                    f("input", Ty::Hash(32)),
                    f("signature", Ty::Hash(65)),
                    f("work", Ty::Hash(32)),
                ]),
            ),
            f("props", CHAIN_PROPERTIES),
        ],
    },
    OpSpec {
        id: 15,
        name: "custom",
        fields: &[f("required_auths", Ty::NameSet), f("id", Ty::U16), f("data", Ty::Bytes)],
    },
    OpSpec {
        id: 16,
        name: "witness_block_approve",
        fields: &[f("witness", Ty::Str), f("block_id", Ty::Hash(20))],
    },
    // The name of tag 16 until hived 1.27 (disabled since Steem HF4).
    OpSpec {
        id: 16,
        name: "report_over_production",
        fields: &[
            f("reporter", Ty::Str),
            f("first_block", SIGNED_BLOCK_HEADER),
            f("second_block", SIGNED_BLOCK_HEADER),
        ],
    },
    OpSpec {
        id: 17,
        name: "delete_comment",
        fields: &[f("author", Ty::Str), f("permlink", Ty::Str)],
    },
    OpSpec {
        id: 18,
        name: "custom_json",
        fields: &[
            f("required_auths", Ty::NameSet),
            f("required_posting_auths", Ty::NameSet),
            f("id", Ty::Str),
            f("json", Ty::Str),
        ],
    },
    OpSpec {
        id: 19,
        name: "comment_options",
        fields: &[
            f("author", Ty::Str),
            f("permlink", Ty::Str),
            f("max_accepted_payout", Ty::Asset),
            fa("percent_hbd", "percent_steem_dollars", Ty::U16),
            f("allow_votes", Ty::Bool),
            f("allow_curation_rewards", Ty::Bool),
            f("extensions", COMMENT_OPTIONS_EXTENSIONS),
        ],
    },
    OpSpec {
        id: 20,
        name: "set_withdraw_vesting_route",
        fields: &[
            f("from_account", Ty::Str),
            f("to_account", Ty::Str),
            f("percent", Ty::U16),
            f("auto_vest", Ty::Bool),
        ],
    },
    // FC_REFLECT order: exchange_rate before fill_or_kill (unlike the struct).
    OpSpec {
        id: 21,
        name: "limit_order_create2",
        fields: &[
            f("owner", Ty::Str),
            f("orderid", Ty::U32),
            f("amount_to_sell", Ty::Asset),
            f("exchange_rate", PRICE),
            f("fill_or_kill", Ty::Bool),
            f("expiration", Ty::Time),
        ],
    },
    OpSpec {
        id: 22,
        name: "claim_account",
        fields: &[
            f("creator", Ty::Str),
            f("fee", Ty::Asset),
            f("extensions", FUTURE_EXTENSIONS),
        ],
    },
    OpSpec {
        id: 23,
        name: "create_claimed_account",
        fields: &[
            f("creator", Ty::Str),
            f("new_account_name", Ty::Str),
            f("owner", Ty::Authority),
            f("active", Ty::Authority),
            f("posting", Ty::Authority),
            f("memo_key", Ty::Key),
            f("json_metadata", Ty::Str),
            f("extensions", FUTURE_EXTENSIONS),
        ],
    },
    OpSpec {
        id: 24,
        name: "request_account_recovery",
        fields: &[
            f("recovery_account", Ty::Str),
            f("account_to_recover", Ty::Str),
            f("new_owner_authority", Ty::Authority),
            f("extensions", FUTURE_EXTENSIONS),
        ],
    },
    OpSpec {
        id: 25,
        name: "recover_account",
        fields: &[
            f("account_to_recover", Ty::Str),
            f("new_owner_authority", Ty::Authority),
            f("recent_owner_authority", Ty::Authority),
            f("extensions", FUTURE_EXTENSIONS),
        ],
    },
    OpSpec {
        id: 26,
        name: "change_recovery_account",
        fields: &[
            f("account_to_recover", Ty::Str),
            f("new_recovery_account", Ty::Str),
            f("extensions", FUTURE_EXTENSIONS),
        ],
    },
    // FC_REFLECT order: amounts and escrow_id before agent (unlike the struct).
    OpSpec {
        id: 27,
        name: "escrow_transfer",
        fields: &[
            f("from", Ty::Str),
            f("to", Ty::Str),
            fa("hbd_amount", "sbd_amount", Ty::Asset),
            fa("hive_amount", "steem_amount", Ty::Asset),
            f("escrow_id", Ty::U32),
            f("agent", Ty::Str),
            f("fee", Ty::Asset),
            f("json_meta", Ty::Str),
            f("ratification_deadline", Ty::Time),
            f("escrow_expiration", Ty::Time),
        ],
    },
    OpSpec {
        id: 28,
        name: "escrow_dispute",
        fields: &[
            f("from", Ty::Str),
            f("to", Ty::Str),
            f("agent", Ty::Str),
            f("who", Ty::Str),
            f("escrow_id", Ty::U32),
        ],
    },
    OpSpec {
        id: 29,
        name: "escrow_release",
        fields: &[
            f("from", Ty::Str),
            f("to", Ty::Str),
            f("agent", Ty::Str),
            f("who", Ty::Str),
            f("receiver", Ty::Str),
            f("escrow_id", Ty::U32),
            fa("hbd_amount", "sbd_amount", Ty::Asset),
            fa("hive_amount", "steem_amount", Ty::Asset),
        ],
    },
    OpSpec {
        id: 30,
        name: "pow2",
        fields: &[
            f("work", POW2_WORK),
            f("new_owner_key", Ty::Optional(&Ty::Key)),
            f("props", CHAIN_PROPERTIES),
        ],
    },
    OpSpec {
        id: 31,
        name: "escrow_approve",
        fields: &[
            f("from", Ty::Str),
            f("to", Ty::Str),
            f("agent", Ty::Str),
            f("who", Ty::Str),
            f("escrow_id", Ty::U32),
            f("approve", Ty::Bool),
        ],
    },
    OpSpec {
        id: 32,
        name: "transfer_to_savings",
        fields: &[
            f("from", Ty::Str),
            f("to", Ty::Str),
            f("amount", Ty::Asset),
            f("memo", Ty::Str),
        ],
    },
    OpSpec {
        id: 33,
        name: "transfer_from_savings",
        fields: &[
            f("from", Ty::Str),
            f("request_id", Ty::U32),
            f("to", Ty::Str),
            f("amount", Ty::Asset),
            f("memo", Ty::Str),
        ],
    },
    OpSpec {
        id: 34,
        name: "cancel_transfer_from_savings",
        fields: &[f("from", Ty::Str), f("request_id", Ty::U32)],
    },
    OpSpec {
        id: 35,
        name: "custom_binary",
        fields: &[
            f("required_owner_auths", Ty::NameSet),
            f("required_active_auths", Ty::NameSet),
            f("required_posting_auths", Ty::NameSet),
            f("required_auths", Ty::Vector(&Ty::Authority)),
            f("id", Ty::Str),
            f("data", Ty::Bytes),
        ],
    },
    OpSpec {
        id: 36,
        name: "decline_voting_rights",
        fields: &[f("account", Ty::Str), f("decline", Ty::Bool)],
    },
    OpSpec {
        id: 37,
        name: "reset_account",
        fields: &[
            f("reset_account", Ty::Str),
            f("account_to_reset", Ty::Str),
            f("new_owner_authority", Ty::Authority),
        ],
    },
    OpSpec {
        id: 38,
        name: "set_reset_account",
        fields: &[
            f("account", Ty::Str),
            f("current_reset_account", Ty::Str),
            f("reset_account", Ty::Str),
        ],
    },
    OpSpec {
        id: 39,
        name: "claim_reward_balance",
        fields: &[
            f("account", Ty::Str),
            fa("reward_hive", "reward_steem", Ty::Asset),
            fa("reward_hbd", "reward_sbd", Ty::Asset),
            f("reward_vests", Ty::Asset),
        ],
    },
    OpSpec {
        id: 40,
        name: "delegate_vesting_shares",
        fields: &[
            f("delegator", Ty::Str),
            f("delegatee", Ty::Str),
            f("vesting_shares", Ty::Asset),
        ],
    },
    OpSpec {
        id: 41,
        name: "account_create_with_delegation",
        fields: &[
            f("fee", Ty::Asset),
            f("delegation", Ty::Asset),
            f("creator", Ty::Str),
            f("new_account_name", Ty::Str),
            f("owner", Ty::Authority),
            f("active", Ty::Authority),
            f("posting", Ty::Authority),
            f("memo_key", Ty::Key),
            f("json_metadata", Ty::Str),
            f("extensions", FUTURE_EXTENSIONS),
        ],
    },
    OpSpec {
        id: 42,
        name: "witness_set_properties",
        fields: &[
            f("owner", Ty::Str),
            f("props", Ty::PropsMap),
            f("extensions", FUTURE_EXTENSIONS),
        ],
    },
    OpSpec {
        id: 43,
        name: "account_update2",
        fields: &[
            f("account", Ty::Str),
            f("owner", OPT_AUTHORITY),
            f("active", OPT_AUTHORITY),
            f("posting", OPT_AUTHORITY),
            f("memo_key", Ty::Optional(&Ty::Key)),
            f("json_metadata", Ty::Str),
            f("posting_json_metadata", Ty::Str),
            f("extensions", FUTURE_EXTENSIONS),
        ],
    },
    OpSpec {
        id: 44,
        name: "create_proposal",
        fields: &[
            f("creator", Ty::Str),
            f("receiver", Ty::Str),
            f("start_date", Ty::Time),
            f("end_date", Ty::Time),
            f("daily_pay", Ty::Asset),
            f("subject", Ty::Str),
            f("permlink", Ty::Str),
            f("extensions", FUTURE_EXTENSIONS),
        ],
    },
    OpSpec {
        id: 45,
        name: "update_proposal_votes",
        fields: &[
            f("voter", Ty::Str),
            f("proposal_ids", Ty::I64Set),
            f("approve", Ty::Bool),
            f("extensions", FUTURE_EXTENSIONS),
        ],
    },
    OpSpec {
        id: 46,
        name: "remove_proposal",
        fields: &[
            f("proposal_owner", Ty::Str),
            f("proposal_ids", Ty::I64Set),
            f("extensions", FUTURE_EXTENSIONS),
        ],
    },
    OpSpec {
        id: 47,
        name: "update_proposal",
        fields: &[
            f("proposal_id", Ty::I64),
            f("creator", Ty::Str),
            f("daily_pay", Ty::Asset),
            f("subject", Ty::Str),
            f("permlink", Ty::Str),
            f("extensions", UPDATE_PROPOSAL_EXTENSIONS),
        ],
    },
    OpSpec {
        id: 48,
        name: "collateralized_convert",
        fields: &[f("owner", Ty::Str), f("requestid", Ty::U32), f("amount", Ty::Asset)],
    },
    OpSpec {
        id: 49,
        name: "recurrent_transfer",
        fields: &[
            f("from", Ty::Str),
            f("to", Ty::Str),
            f("amount", Ty::Asset),
            f("memo", Ty::Str),
            f("recurrence", Ty::U16),
            f("executions", Ty::U16),
            f("extensions", RECURRENT_TRANSFER_EXTENSIONS),
        ],
    },
];

/// The spec of an operation by its JSON name (without `_operation`) or its tag.
pub(crate) fn op_by_name(name: &str) -> Option<&'static OpSpec> {
    OPS.iter().find(|o| o.name == name)
}

fn op_by_id(id: u64) -> Option<&'static OpSpec> {
    OPS.iter().find(|o| u64::from(o.id) == id)
}

/// The obsolete symbol serializations hived still accepts in `legacy_hive_asset`
/// (`legacy_asset.hpp` `OBSOLETE_SYMBOL_LEGACY_SER_1..5`), found in a few 2016 blocks.
/// JSON renders all of them as HIVE with precision 3, so a listed id can only be
/// reproduced by trying them.
pub(crate) const OBSOLETE_FEE_SYMBOLS: [[u8; 8]; 5] = [
    [1, b'S', b'T', b'E', b'E', b'M', 0, 0],
    [2, b'S', b'T', b'E', b'E', b'M', 0, 0],
    [5, b'S', b'T', b'E', b'E', b'M', 0, 0],
    [3, b'0', b'.', b'0', b'0', b'1', 0, 0],
    [3, b'6', b'.', b'0', b'0', b'0', 0, 0],
];

fn bad(what: impl Into<String>) -> TxError {
    TxError::Json(what.into())
}

/// The fc::raw writer for JSON values.
pub(crate) struct Enc<'w> {
    pub(crate) w: &'w mut Writer,
    packing: Packing,
    /// The symbol bytes to write for every `legacy_hive_asset` instead of the canonical one.
    fee_symbol: Option<[u8; 8]>,
    /// An asset was written: the other packing gives other bytes.
    pub(crate) saw_asset: bool,
    /// A `legacy_hive_asset` was written: an obsolete symbol may have been signed.
    pub(crate) saw_legacy_fee: bool,
}

impl<'w> Enc<'w> {
    pub(crate) fn new(w: &'w mut Writer, packing: Packing, fee_symbol: Option<[u8; 8]>) -> Self {
        Self {
            w,
            packing,
            fee_symbol,
            saw_asset: false,
            saw_legacy_fee: false,
        }
    }

    /// An operation in appbase (`{type: "x_operation", value}`) or legacy (`["x", {...}]`) form.
    pub(crate) fn op(&mut self, op: &Value) -> Result<(), TxError> {
        let (spec, body) = match op {
            Value::Array(pair) if pair.len() == 2 => {
                let spec = match &pair[0] {
                    Value::String(n) => op_by_name(n).ok_or_else(|| TxError::Unsupported(n.clone()))?,
                    Value::Number(n) => n
                        .as_u64()
                        .and_then(op_by_id)
                        .ok_or_else(|| TxError::Unsupported(n.to_string()))?,
                    _ => return Err(bad("operation name is not a string")),
                };
                (spec, &pair[1])
            }
            Value::Object(m) if m.len() == 2 => {
                let ty = m
                    .get("type")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("operation without a string `type`"))?;
                let body = m.get("value").ok_or_else(|| bad(format!("{ty} without `value`")))?;
                let name = ty
                    .strip_suffix("_operation")
                    .ok_or_else(|| bad(format!("operation type {ty:?} does not end in _operation")))?;
                let spec = op_by_name(name).ok_or_else(|| TxError::Unsupported(ty.to_string()))?;
                (spec, body)
            }
            _ => return Err(bad("operation is neither {type, value} nor [name, value]")),
        };
        self.w.varint(spec.id);
        self.fields(spec.fields, body).map_err(|e| context(e, spec.name))
    }

    /// The fields of a reflected struct, in order; no other key may be present.
    pub(crate) fn fields(&mut self, fields: &[Field], v: &Value) -> Result<(), TxError> {
        let m = v.as_object().ok_or_else(|| bad("expected an object"))?;
        let mut seen = 0usize;
        for fd in fields {
            let found = lookup(m, fd)?;
            if found.is_some() {
                seen += 1;
            }
            match (found, &fd.ty) {
                (None, Ty::Optional(_)) | (Some(Value::Null), Ty::Optional(_)) => self.w.u8(0),
                (None, _) => return Err(bad(format!("`{}` is missing", fd.name))),
                (Some(x), ty) => self.value(ty, x).map_err(|e| context(e, fd.name))?,
            }
        }
        if seen != m.len() {
            let extra: Vec<&String> = m
                .keys()
                .filter(|k| !fields.iter().any(|fd| fd.name == *k || fd.alias == Some(k.as_str())))
                .take(3)
                .collect();
            return Err(bad(format!("unknown field(s) {extra:?}")));
        }
        Ok(())
    }

    pub(crate) fn value(&mut self, ty: &Ty, v: &Value) -> Result<(), TxError> {
        match ty {
            Ty::Str => self.string(v),
            Ty::Bool => match v {
                Value::Bool(b) => {
                    self.w.u8(u8::from(*b));
                    Ok(())
                }
                _ => Err(bad("expected a bool")),
            },
            Ty::U8 => {
                let x: u8 = int(v)?;
                self.w.u8(x);
                Ok(())
            }
            Ty::U16 => {
                let x: u16 = int(v)?;
                self.w.bytes(&x.to_le_bytes());
                Ok(())
            }
            Ty::I16 => {
                let x: i16 = int(v)?;
                self.w.bytes(&x.to_le_bytes());
                Ok(())
            }
            Ty::U32 => {
                let x: u32 = int(v)?;
                self.w.bytes(&x.to_le_bytes());
                Ok(())
            }
            Ty::U64 => {
                let x: u64 = int(v)?;
                self.w.bytes(&x.to_le_bytes());
                Ok(())
            }
            Ty::I64 => {
                let x: i64 = int(v)?;
                self.w.bytes(&x.to_le_bytes());
                Ok(())
            }
            Ty::Asset => {
                let a = asset(v)?;
                write_asset(self.w, &a, self.packing);
                self.saw_asset = true;
                Ok(())
            }
            Ty::LegacyHiveAsset => {
                let a = asset(v)?;
                if a.symbol != AssetSymbol::Hive {
                    return Err(bad("chain property fee is not HIVE"));
                }
                self.saw_asset = true;
                self.saw_legacy_fee = true;
                match self.fee_symbol {
                    Some(sym) => {
                        self.w.bytes(&a.amount.to_le_bytes());
                        self.w.bytes(&sym);
                    }
                    None => write_asset(self.w, &a, self.packing),
                }
                Ok(())
            }
            Ty::Key => {
                let k = public_key(v)?;
                self.w.bytes(&k);
                Ok(())
            }
            Ty::Time => {
                let t = time(v)?;
                self.w.bytes(&t.to_le_bytes());
                Ok(())
            }
            Ty::Hash(n) => self.hash(*n, v),
            Ty::Bytes => {
                let s = v.as_str().ok_or_else(|| bad("expected a hex string"))?;
                let b = hex_bytes(s)?;
                self.len(b.len())?;
                self.w.bytes(&b);
                Ok(())
            }
            Ty::NameSet => {
                let a = array(v)?;
                self.len(a.len())?;
                let mut prev: Option<&str> = None;
                for x in a {
                    let s = x.as_str().ok_or_else(|| bad("expected an account name"))?;
                    if prev.is_some_and(|p| p.as_bytes() >= s.as_bytes()) {
                        return Err(bad(format!("set is not strictly ascending at {s:?}")));
                    }
                    prev = Some(s);
                    self.string(x)?;
                }
                Ok(())
            }
            Ty::I64Set => {
                let a = array(v)?;
                self.len(a.len())?;
                let mut prev: Option<i64> = None;
                for x in a {
                    let n: i64 = int(x)?;
                    if prev.is_some_and(|p| p >= n) {
                        return Err(bad(format!("set is not strictly ascending at {n}")));
                    }
                    prev = Some(n);
                    self.w.bytes(&n.to_le_bytes());
                }
                Ok(())
            }
            Ty::Authority => self.authority(v),
            Ty::Version => {
                let s = v.as_str().ok_or_else(|| bad("expected a version string"))?;
                self.w.bytes(&version(s)?.to_le_bytes());
                Ok(())
            }
            Ty::PropsMap => {
                let a = array(v)?;
                self.len(a.len())?;
                let mut prev: Option<&str> = None;
                for x in a {
                    let (k, val) = pair(x)?;
                    let k = k.as_str().ok_or_else(|| bad("property name is not a string"))?;
                    if prev.is_some_and(|p| p.as_bytes() >= k.as_bytes()) {
                        return Err(bad(format!("properties not strictly ascending at {k:?}")));
                    }
                    prev = Some(k);
                    self.str_bytes(k)?;
                    self.value(&Ty::Bytes, val).map_err(|e| context(e, k))?;
                }
                Ok(())
            }
            Ty::Optional(inner) => match v {
                Value::Null => {
                    self.w.u8(0);
                    Ok(())
                }
                _ => {
                    self.w.u8(1);
                    self.value(inner, v)
                }
            },
            Ty::Vector(inner) => {
                let a = array(v)?;
                self.len(a.len())?;
                for x in a {
                    self.value(inner, x)?;
                }
                Ok(())
            }
            Ty::Struct(fields) => self.fields(fields, v),
            Ty::Variant(cases) => {
                self.variant(cases, v)?;
                Ok(())
            }
            Ty::VariantSet(cases) => {
                let a = array(v)?;
                self.len(a.len())?;
                let mut prev: Option<usize> = None;
                for x in a {
                    let tag = self.variant(cases, x)?;
                    // fc orders static_variants by their tag alone.
                    if prev.is_some_and(|p| p >= tag) {
                        return Err(bad("extensions are not strictly ascending by type"));
                    }
                    prev = Some(tag);
                }
                Ok(())
            }
        }
    }

    /// A static_variant: appbase `{type, value}` or legacy `[name or tag, value]`.
    fn variant(&mut self, cases: &[Case], v: &Value) -> Result<usize, TxError> {
        let (tag, body) = match v {
            Value::Object(m) if m.len() == 2 => {
                let name = m
                    .get("type")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("variant without a string `type`"))?;
                let body = m.get("value").ok_or_else(|| bad("variant without `value`"))?;
                let tag = cases
                    .iter()
                    .position(|c| c.name == name)
                    .ok_or_else(|| TxError::Unsupported(name.to_string()))?;
                (tag, body)
            }
            Value::Array(p) if p.len() == 2 => {
                let tag = match &p[0] {
                    Value::String(name) => cases
                        .iter()
                        .position(|c| c.name == name)
                        .ok_or_else(|| TxError::Unsupported(name.clone()))?,
                    Value::Number(n) => n
                        .as_u64()
                        .and_then(|t| usize::try_from(t).ok())
                        .filter(|t| *t < cases.len())
                        .ok_or_else(|| TxError::Unsupported(format!("variant tag {n}")))?,
                    _ => return Err(bad("variant tag is neither a name nor a number")),
                };
                (tag, &p[1])
            }
            _ => return Err(bad("variant is neither {type, value} nor [tag, value]")),
        };
        let case = &cases[tag];
        let ty = case
            .ty
            .as_ref()
            .ok_or_else(|| TxError::Unsupported(case.name.to_string()))?;
        self.len(tag)?;
        self.value(ty, body).map_err(|e| context(e, case.name))?;
        Ok(tag)
    }

    fn authority(&mut self, v: &Value) -> Result<(), TxError> {
        let m = v.as_object().ok_or_else(|| bad("authority is not an object"))?;
        if m.len() != 3 {
            return Err(bad(
                "authority must have exactly weight_threshold, account_auths, key_auths",
            ));
        }
        let get = |k: &str| m.get(k).ok_or_else(|| bad(format!("authority without `{k}`")));
        let threshold: u32 = int(get("weight_threshold")?)?;
        self.w.bytes(&threshold.to_le_bytes());
        let accounts = array(get("account_auths")?)?;
        self.len(accounts.len())?;
        let mut prev: Option<&str> = None;
        for x in accounts {
            let (name, weight) = pair(x)?;
            let name = name.as_str().ok_or_else(|| bad("account_auths name is not a string"))?;
            if prev.is_some_and(|p| p.as_bytes() >= name.as_bytes()) {
                return Err(bad(format!("account_auths not strictly ascending at {name:?}")));
            }
            prev = Some(name);
            self.str_bytes(name)?;
            let w: u16 = int(weight)?;
            self.w.bytes(&w.to_le_bytes());
        }
        let keys = array(get("key_auths")?)?;
        self.len(keys.len())?;
        let mut prev: Option<[u8; 33]> = None;
        for x in keys {
            let (key, weight) = pair(x)?;
            let key = public_key(key)?;
            if prev.is_some_and(|p| p >= key) {
                return Err(bad("key_auths not strictly ascending"));
            }
            prev = Some(key);
            self.w.bytes(&key);
            let w: u16 = int(weight)?;
            self.w.bytes(&w.to_le_bytes());
        }
        Ok(())
    }

    pub(crate) fn hash(&mut self, n: usize, v: &Value) -> Result<(), TxError> {
        let s = v.as_str().ok_or_else(|| bad("expected a hex string"))?;
        if s.len() != 2 * n {
            return Err(bad(format!("expected {} hex digits, got {}", 2 * n, s.len())));
        }
        let b = hex_bytes(s)?;
        self.w.bytes(&b);
        Ok(())
    }

    pub(crate) fn string(&mut self, v: &Value) -> Result<(), TxError> {
        let s = v.as_str().ok_or_else(|| bad("expected a string"))?;
        self.str_bytes(s)
    }

    fn str_bytes(&mut self, s: &str) -> Result<(), TxError> {
        if s.len() > MAX_FIELD_BYTES {
            return Err(bad(format!("string of {} bytes is too long", s.len())));
        }
        self.len(s.len())?;
        self.w.bytes(s.as_bytes());
        Ok(())
    }

    /// A varint length or tag.
    pub(crate) fn len(&mut self, n: usize) -> Result<(), TxError> {
        let n = u32::try_from(n).map_err(|_| bad("length does not fit in 32 bits"))?;
        self.w.varint(n);
        Ok(())
    }
}

fn context(e: TxError, at: &str) -> TxError {
    match e {
        TxError::Json(m) => TxError::Json(format!("{at}: {m}")),
        other => other,
    }
}

/// The field, under its name or its old alias (not both).
fn lookup<'v>(m: &'v Map<String, Value>, fd: &Field) -> Result<Option<&'v Value>, TxError> {
    let a = m.get(fd.name);
    let b = fd.alias.and_then(|k| m.get(k));
    match (a, b) {
        (Some(_), Some(_)) => Err(bad(format!("`{}` given twice (also as its old name)", fd.name))),
        (x, y) => Ok(x.or(y)),
    }
}

pub(crate) fn array(v: &Value) -> Result<&Vec<Value>, TxError> {
    let a = v.as_array().ok_or_else(|| bad("expected an array"))?;
    if a.len() > MAX_ITEMS {
        return Err(bad(format!("array of {} items is too long", a.len())));
    }
    Ok(a)
}

fn pair(v: &Value) -> Result<(&Value, &Value), TxError> {
    match v.as_array().map(Vec::as_slice) {
        Some([a, b]) => Ok((a, b)),
        _ => Err(bad("expected a [key, value] pair")),
    }
}

/// An integer given as a JSON number or a decimal string (fc writes large 64-bit values as
/// strings), range-checked for `T`.
pub(crate) fn int<T: TryFrom<i128>>(v: &Value) -> Result<T, TxError> {
    let wide: i128 = match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                i128::from(u)
            } else if let Some(i) = n.as_i64() {
                i128::from(i)
            } else {
                return Err(bad(format!("{n} is not an integer")));
            }
        }
        Value::String(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format!("{s:?} is not an integer")));
            }
            s.parse::<i128>().map_err(|_| bad(format!("{s:?} is not an integer")))?
        }
        _ => return Err(bad("expected an integer")),
    };
    T::try_from(wide).map_err(|_| bad(format!("{wide} is out of range")))
}

/// Lower-case hex (as fc writes it) to bytes.
pub(crate) fn hex_bytes(s: &str) -> Result<Vec<u8>, TxError> {
    if s.len() > 2 * MAX_FIELD_BYTES {
        return Err(bad(format!("hex of {} digits is too long", s.len())));
    }
    if !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(bad("not lower-case hex"));
    }
    hex::decode(s).map_err(|e| bad(format!("hex: {e}")))
}

pub(crate) fn time(v: &Value) -> Result<u32, TxError> {
    let s = v.as_str().ok_or_else(|| bad("expected a time string"))?;
    opentoken_core::hive_json::parse_timestamp(s)
        .and_then(|t| u32::try_from(t).ok())
        .ok_or_else(|| bad(format!("{s:?} is not a time")))
}

/// An asset in either JSON form: NAI object or legacy string (`"1.000 HIVE"`, old `STEEM`/`SBD`).
fn asset(v: &Value) -> Result<Asset, TxError> {
    match v {
        Value::String(s) => Asset::parse_legacy(s).map_err(|e| bad(e.to_string())),
        Value::Object(m) => {
            if m.len() != 3 {
                return Err(bad("NAI asset must have exactly amount, precision, nai"));
            }
            let nai = m
                .get("nai")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("NAI asset without a string `nai`"))?;
            // SMTs are not enabled on mainnet.
            let symbol = AssetSymbol::from_nai(nai).ok_or_else(|| TxError::Unsupported(format!("asset {nai}")))?;
            let precision: u8 = int(m.get("precision").ok_or_else(|| bad("NAI asset without `precision`"))?)?;
            if precision != symbol.precision() {
                return Err(bad(format!("NAI {nai} with precision {precision}")));
            }
            let amount: i64 = int(m.get("amount").ok_or_else(|| bad("NAI asset without `amount`"))?)?;
            Ok(Asset::new(amount, symbol))
        }
        _ => Err(bad("asset must be a string or a NAI object")),
    }
}

/// The 33 bytes of an `STM…` key: base58 of key ‖ first 4 bytes of RIPEMD-160(key). Unlike
/// `PublicKey::from_string` this does not require a point on the curve: hived stores the
/// bytes as given, and the all-zero "null key" disables witnesses in real blocks.
pub(crate) fn public_key(v: &Value) -> Result<[u8; 33], TxError> {
    let s = v.as_str().ok_or_else(|| bad("public key is not a string"))?;
    // A real key is 53 characters; refusing long input keeps base58 decoding cheap.
    if s.len() > 64 {
        return Err(bad("public key string is too long"));
    }
    let rest = s
        .strip_prefix(crate::keys::KEY_PREFIX)
        .ok_or_else(|| bad(format!("public key {s:?} does not start with STM")))?;
    let raw = bs58::decode(rest)
        .into_vec()
        .map_err(|e| bad(format!("public key {s:?}: {e}")))?;
    if raw.len() != 37 {
        return Err(bad(format!("public key {s:?} has the wrong length")));
    }
    let (key, check) = raw.split_at(33);
    if check != &Ripemd160::digest(key)[..4] {
        return Err(bad(format!("public key {s:?}: checksum mismatch")));
    }
    let mut out = [0u8; 33];
    out.copy_from_slice(key);
    Ok(out)
}

/// `"major.minor.patch"` as hived packs it: `major << 24 | minor << 16 | patch`.
fn version(s: &str) -> Result<u32, TxError> {
    let mut parts = s.split('.');
    let mut next = |max: u32| -> Result<u32, TxError> {
        let p = parts.next().ok_or_else(|| bad(format!("version {s:?}")))?;
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(format!("version {s:?}")));
        }
        let n: u32 = p.parse().map_err(|_| bad(format!("version {s:?}")))?;
        if n > max {
            return Err(bad(format!("version {s:?} is out of range")));
        }
        Ok(n)
    };
    let (major, minor, patch) = (next(0xFF)?, next(0xFF)?, next(0xFFFF)?);
    if parts.next().is_some() {
        return Err(bad(format!("version {s:?}")));
    }
    Ok(major << 24 | minor << 16 | patch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// hive-protocol.md §2.3, in tag order.
    const SPEC_NAMES: [&str; 50] = [
        "vote",
        "comment",
        "transfer",
        "transfer_to_vesting",
        "withdraw_vesting",
        "limit_order_create",
        "limit_order_cancel",
        "feed_publish",
        "convert",
        "account_create",
        "account_update",
        "witness_update",
        "account_witness_vote",
        "account_witness_proxy",
        "pow",
        "custom",
        "witness_block_approve",
        "delete_comment",
        "custom_json",
        "comment_options",
        "set_withdraw_vesting_route",
        "limit_order_create2",
        "claim_account",
        "create_claimed_account",
        "request_account_recovery",
        "recover_account",
        "change_recovery_account",
        "escrow_transfer",
        "escrow_dispute",
        "escrow_release",
        "pow2",
        "escrow_approve",
        "transfer_to_savings",
        "transfer_from_savings",
        "cancel_transfer_from_savings",
        "custom_binary",
        "decline_voting_rights",
        "reset_account",
        "set_reset_account",
        "claim_reward_balance",
        "delegate_vesting_shares",
        "account_create_with_delegation",
        "witness_set_properties",
        "account_update2",
        "create_proposal",
        "update_proposal_votes",
        "remove_proposal",
        "update_proposal",
        "collateralized_convert",
        "recurrent_transfer",
    ];

    const KEY_A: &str = "STM5vYywCazmCT3XSRhxoPPHEznNJqQHzSDnGsGYTKR6VkU88E1gH";

    /// A valid JSON value of `ty`, in appbase (`legacy == false`) or condenser form.
    fn example(ty: &Ty, legacy: bool) -> Value {
        match ty {
            Ty::Str => json!("alice"),
            Ty::Bool => json!(true),
            Ty::U8 | Ty::U16 | Ty::I16 | Ty::U32 => json!(7),
            Ty::U64 => json!("18446744073709551615"),
            Ty::I64 => json!(-3),
            Ty::Asset | Ty::LegacyHiveAsset if legacy => json!("1.000 HIVE"),
            Ty::Asset | Ty::LegacyHiveAsset => json!({"amount": "1000", "precision": 3, "nai": "@@000000021"}),
            Ty::Key => json!(KEY_A),
            Ty::Time => json!("2024-01-02T03:04:05"),
            Ty::Hash(n) => json!("ab".repeat(*n)),
            Ty::Bytes => json!("0a0b"),
            Ty::NameSet => json!(["alice", "bob"]),
            Ty::I64Set => json!([1, 5]),
            Ty::Authority => json!({
                "weight_threshold": 1,
                "account_auths": [["alice", 1], ["bob", 2]],
                "key_auths": [[KEY_A, 1]],
            }),
            Ty::Version => json!("1.28.0"),
            Ty::PropsMap => json!([["account_creation_fee", "00"], ["key", "01"]]),
            Ty::Optional(inner) => example(inner, legacy),
            Ty::Vector(inner) => json!([example(inner, legacy)]),
            Ty::Struct(fields) => Value::Object(
                fields
                    .iter()
                    .map(|fd| (fd.name.to_string(), example(&fd.ty, legacy)))
                    .collect(),
            ),
            Ty::Variant(cases) => variant_example(0, &cases[0], legacy),
            Ty::VariantSet(cases) => Value::Array(
                cases
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.ty.is_some())
                    .map(|(i, c)| variant_example(i, c, legacy))
                    .collect(),
            ),
        }
    }

    fn variant_example(tag: usize, c: &Case, legacy: bool) -> Value {
        let v = example(c.ty.as_ref().expect("supported case"), legacy);
        if legacy {
            json!([tag, v])
        } else {
            json!({"type": c.name, "value": v})
        }
    }

    fn op_json(spec: &OpSpec, legacy: bool) -> Value {
        let body = example(&Ty::Struct(spec.fields), legacy);
        if legacy {
            json!([spec.name, body])
        } else {
            json!({"type": format!("{}_operation", spec.name), "value": body})
        }
    }

    fn bytes(op: &Value, packing: Packing) -> Result<Vec<u8>, TxError> {
        let mut w = Writer::default();
        Enc::new(&mut w, packing, None).op(op)?;
        Ok(w.into_bytes())
    }

    #[test]
    fn tags_match_the_spec_list() {
        for (id, name) in SPEC_NAMES.iter().enumerate() {
            let spec = op_by_name(name).unwrap_or_else(|| panic!("{name} is in the table"));
            assert_eq!(spec.id as usize, id, "{name}");
            let b = bytes(&op_json(spec, false), Packing::Legacy).expect("serializes");
            assert_eq!(b[0] as usize, id, "{name}: the first byte is the tag");
        }
        assert_eq!(op_by_name("report_over_production").map(|o| o.id), Some(16));
        assert_eq!(OPS.len(), 51);
        assert!(op_by_name("producer_reward").is_none());
    }

    /// Every operation of the table serializes a plausible example, and both JSON forms of
    /// it (NAI objects and `{type, value}` vs. asset strings and `[tag, value]`) give the
    /// same bytes.
    #[test]
    fn every_operation_serializes_in_both_forms() {
        for spec in OPS {
            let appbase = op_json(spec, false);
            let legacy = op_json(spec, true);
            for packing in [Packing::Legacy, Packing::Hf26] {
                let a = bytes(&appbase, packing).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
                let b = bytes(&legacy, packing).unwrap_or_else(|e| panic!("{} (legacy form): {e}", spec.name));
                assert_eq!(a, b, "{}", spec.name);
            }
            // Dropping any required field is an error, not a default.
            let Value::Object(body) = example(&Ty::Struct(spec.fields), false) else {
                panic!("object")
            };
            for fd in spec.fields {
                if matches!(fd.ty, Ty::Optional(_)) {
                    continue;
                }
                let mut short = body.clone();
                short.remove(fd.name);
                let op = json!({"type": format!("{}_operation", spec.name), "value": short});
                assert!(
                    bytes(&op, Packing::Legacy).is_err(),
                    "{} without {}",
                    spec.name,
                    fd.name
                );
            }
        }
    }

    #[test]
    fn optional_fields_may_be_absent_or_null() {
        let with = |v: Value| {
            bytes(
                &json!({"type": "account_update2_operation", "value": v}),
                Packing::Legacy,
            )
            .expect("serializes")
        };
        let base = json!({"account": "a", "json_metadata": "", "posting_json_metadata": "", "extensions": []});
        let mut nulls = base.clone();
        nulls["owner"] = Value::Null;
        nulls["memo_key"] = Value::Null;
        assert_eq!(with(base.clone()), with(nulls));
        let mut key = base.clone();
        key["memo_key"] = json!(KEY_A);
        let b = with(key);
        assert_eq!(b.len(), with(base).len() + 33);
    }

    #[test]
    fn non_canonical_json_is_refused() {
        let cj = |auths: Value| {
            bytes(
                &json!({"type": "custom_json_operation", "value": {
                    "required_auths": auths, "required_posting_auths": [], "id": "x", "json": "{}"}}),
                Packing::Legacy,
            )
        };
        assert!(cj(json!(["alice", "bob"])).is_ok());
        assert!(cj(json!(["bob", "alice"])).is_err(), "unsorted set");
        assert!(cj(json!(["alice", "alice"])).is_err(), "duplicate in set");
        let extra = json!({"type": "vote_operation", "value": {
            "voter": "a", "author": "b", "permlink": "c", "weight": 1, "memo": "x"}});
        assert!(bytes(&extra, Packing::Legacy).is_err(), "unknown field");
        let upper = json!({"type": "witness_block_approve_operation", "value": {
            "witness": "a", "block_id": "AB".repeat(20)}});
        assert!(bytes(&upper, Packing::Legacy).is_err(), "upper-case hex");
        let both = json!(["comment_options", {"author": "a", "permlink": "p",
            "max_accepted_payout": "1.000 HBD", "percent_hbd": 1, "percent_steem_dollars": 1,
            "allow_votes": true, "allow_curation_rewards": true, "extensions": []}]);
        assert!(bytes(&both, Packing::Legacy).is_err(), "a field under both names");
        let ext = |e: Value| {
            bytes(
                &json!({"type": "update_proposal_operation", "value": {"proposal_id": 1, "creator": "a",
                    "daily_pay": "1.000 HBD", "subject": "s", "permlink": "p", "extensions": e}}),
                Packing::Legacy,
            )
        };
        let end = json!({"type": "update_proposal_end_date", "value": {"end_date": "2030-01-01T00:00:00"}});
        let void = json!({"type": "void_t", "value": {}});
        assert!(ext(json!([void.clone(), end.clone()])).is_ok());
        assert!(ext(json!([end, void])).is_err(), "extensions out of tag order");
    }

    #[test]
    fn old_steem_field_names_give_the_same_bytes() {
        let new = json!(["escrow_release", {"from": "a", "to": "b", "agent": "c", "who": "c", "receiver": "a",
            "escrow_id": 1, "hbd_amount": "1.000 HBD", "hive_amount": "2.000 HIVE"}]);
        let old = json!(["escrow_release", {"from": "a", "to": "b", "agent": "c", "who": "c", "receiver": "a",
            "escrow_id": 1, "sbd_amount": "1.000 SBD", "steem_amount": "2.000 STEEM"}]);
        assert_eq!(bytes(&new, Packing::Legacy), bytes(&old, Packing::Legacy));
    }

    #[test]
    fn unsupported_is_only_what_opentoken_cannot_serialize() {
        let smt = json!({"type": "transfer_operation", "value": {"from": "a", "to": "b",
            "amount": {"amount": "1", "precision": 3, "nai": "@@100000006"}, "memo": ""}});
        assert!(matches!(bytes(&smt, Packing::Hf26), Err(TxError::Unsupported(_))));
        let vop = json!({"type": "producer_reward_operation", "value": {}});
        assert!(matches!(bytes(&vop, Packing::Hf26), Err(TxError::Unsupported(_))));
        let votable = json!(["comment_options", {"author": "a", "permlink": "p",
            "max_accepted_payout": "1.000 HBD", "percent_hbd": 1, "allow_votes": true,
            "allow_curation_rewards": true, "extensions": [[1, {"votable_assets": []}]]}]);
        assert!(matches!(bytes(&votable, Packing::Legacy), Err(TxError::Unsupported(_))));
        let garbage = json!({"type": "vote_operation", "value": {"voter": 5}});
        assert!(matches!(bytes(&garbage, Packing::Legacy), Err(TxError::Json(_))));
    }

    #[test]
    fn scalars() {
        assert_eq!(version("0.19.0").ok(), Some(0x0013_0000));
        assert_eq!(version("1.27.4").ok(), Some(0x011b_0004));
        for bad in ["", "1.2", "1.2.3.4", "256.0.0", "0.0.65536", "a.b.c", "1..2", "-1.0.0"] {
            assert!(version(bad).is_err(), "{bad}");
        }
        assert_eq!(int::<u64>(&json!("18446744073709551615")).ok(), Some(u64::MAX));
        assert!(int::<u64>(&json!("18446744073709551616")).is_err());
        assert!(int::<u16>(&json!(-1)).is_err());
        assert!(int::<i16>(&json!(1.5)).is_err());
        assert!(int::<i64>(&json!("+5")).is_err());
        assert!(int::<i64>(&json!("99999999999999999999999999")).is_err());
        assert_eq!(int::<i64>(&json!("-9223372036854775808")).ok(), Some(i64::MIN));
        // The all-zero "null key" that disables a witness is not a curve point, yet valid here.
        assert_eq!(
            public_key(&json!("STM1111111111111111111111111111111114T1Anm")).ok(),
            Some([0u8; 33])
        );
        assert!(public_key(&json!("STM1111111111111111111111111111111114T1Anz")).is_err());
        assert!(public_key(&json!(format!("STM{}", "1".repeat(5000)))).is_err());
        assert!(time(&json!("2106-02-07T06:28:16")).is_err(), "past u32 seconds");
        assert_eq!(time(&json!("2106-02-07T06:28:15")).ok(), Some(u32::MAX));
    }
}
