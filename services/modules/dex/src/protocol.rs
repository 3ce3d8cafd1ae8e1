//! The messages between the DEX and the modules that hold what it trades.
//!
//! The DEX holds no balance of its own. The **token** module escrows the tokens of a sell
//! order (`dex_sell`) and the **multisig** module the HIVE/HBD of a buy order (a deposit
//! whose memo is an order, or `dex_buy` from a Layer-2 balance); each sends the escrowed
//! order here as [`KIND_ORDER`]. The DEX matches it at the start of the next block and
//! sends back what each party is owed: tokens as [`KIND_CREDIT`] to token (the buyer's
//! tokens less the fee, the fee to the fee account, a seller's unsold tokens), coin as
//! [`KIND_PAY`] to multisig (a seller's proceeds, a buyer's unspent coin; credited to a
//! Layer-2 balance or paid out to Hive as the order says). What the DEX holds (its
//! `esc/` totals) is therefore always what token and multisig moved into their escrow
//! minus what the DEX sent back, and property tests check that at every block.
//!
//! Payloads are canonical JSON (serde's output of these structs).

use serde::{Deserialize, Serialize};

/// The DEX module's name (its topic, its messages).
pub const NAME: &str = "dex";
/// The modules it talks to.
pub const TOKEN: &str = "token";
pub const MULTISIG: &str = "multisig";
pub const NODES: &str = "nodes";

/// token/multisig -> dex: an escrowed order ([`OrderIn`]).
pub const KIND_ORDER: &str = "order";
/// dex -> token: tokens out of the DEX escrow ([`Credit`]).
pub const KIND_CREDIT: &str = "credit";
/// dex -> multisig: coin out of the DEX escrow ([`Pay`]).
pub const KIND_PAY: &str = "pay";
/// nodes -> dex: `{"stake": N}`, the collateral behind the multi-sig account (as sent to
/// multisig).
pub const KIND_COLLATERAL: &str = "collateral";

/// nodes -> dex: [`Params`], the governance parameters the runners voted (`node_add`'s
/// `bidRate`, `dm`, `ds`, averaged by governance stake at each tally close).
pub const KIND_PARAMS: &str = "params";

/// dex -> token: [`Liquidity`], the liquidity points of the resting bids since the last
/// payout, sent at the token's DAO day for it to pay from the marketing pool.
pub const KIND_LIQUIDITY: &str = "liquidity";

/// The most accounts one `liquidity` message names: the token refuses more, so the DEX sends
/// the day's top earners up to it and keeps the rest's points for the next day.
pub const MAX_LIQUIDITY_ACCOUNTS: usize = 100_000;

/// The liquidity points each account's resting bids earned (token-core §5.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Liquidity {
    pub accounts: std::collections::BTreeMap<String, u64>,
}

/// The DEX's voted parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// Fee on the buyer's token leg, parts per million (`bidRate` × 10: 500 -> 0.5%).
    pub fee_ppm: u64,
    /// `dm` in basis points: the share of the collateral's value one resting bid may hold.
    pub dex_max_bp: u64,
    /// `ds` in basis points: how much less a bid below the tick may hold.
    pub dex_slope_bp: u64,
}

/// The two markets: the community token against HIVE and against HBD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Pair {
    #[serde(rename = "HIVE")]
    Hive,
    #[serde(rename = "HBD")]
    Hbd,
}

impl Pair {
    pub const ALL: [Pair; 2] = [Pair::Hive, Pair::Hbd];

    /// The coin's symbol (`HIVE`, `HBD`): keys, messages, API.
    pub fn symbol(self) -> &'static str {
        match self {
            Pair::Hive => "HIVE",
            Pair::Hbd => "HBD",
        }
    }

    /// The reference's lower-case pair name (`hive`, `hbd`): `/dex`, contract types.
    pub fn lower(self) -> &'static str {
        match self {
            Pair::Hive => "hive",
            Pair::Hbd => "hbd",
        }
    }

    pub fn from_symbol(s: &str) -> Option<Self> {
        match s {
            "HIVE" => Some(Pair::Hive),
            "HBD" => Some(Pair::Hbd),
            _ => None,
        }
    }
}

/// Which side of the book: an ask sells tokens for coin, a bid buys tokens with coin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Side {
    #[serde(rename = "ask")]
    Ask,
    #[serde(rename = "bid")]
    Bid,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Ask => "ask",
            Side::Bid => "bid",
        }
    }

    pub fn opposite(self) -> Side {
        match self {
            Side::Ask => Side::Bid,
            Side::Bid => Side::Ask,
        }
    }
}

/// Where coin owed to an order's owner goes: credited to their Layer-2 HIVE/HBD balance,
/// or paid out to their Hive account by the multi-sig account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Payout {
    #[serde(rename = "l2")]
    L2,
    #[serde(rename = "hive")]
    Hive,
}

impl Payout {
    pub fn as_str(self) -> &'static str {
        match self {
            Payout::L2 => "l2",
            Payout::Hive => "hive",
        }
    }
}

/// An order whose funds the sender module has escrowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderIn {
    /// The order id (`order::order_id`): what `dex_clear` names.
    pub id: String,
    pub from: String,
    pub pair: Pair,
    pub side: Side,
    /// What was escrowed: milli-tokens for an ask, milli-coin for a bid.
    pub amount: u64,
    /// Limit price in micro-coin per token; 0 for a market order (filled at once as far as
    /// the book allows, the rest returned).
    pub price: u64,
    /// The last block the order may rest in the book.
    pub expires: u64,
    /// Where coin owed to the owner goes (an ask's proceeds, a bid's unspent coin).
    pub payout: Payout,
    /// The Hive transaction that placed it.
    pub txid: String,
    /// The block it was placed in.
    pub block: u64,
    /// That block's time (seconds since the Unix epoch): a fill's time is its taker's.
    pub time: u64,
}

/// The most resting orders one genesis may bring per side (a running community's book,
/// by `import-state`): each is placed at the start of the first block, so the first
/// block's work stays bounded.
pub const MAX_GENESIS_ORDERS: usize = 100_000;

impl OrderIn {
    /// Why `self` cannot rest in the book of a chain starting at `starting_block` as a
    /// genesis order of `side` (`None`: it can): a limit order of a Hive account with an
    /// id, something in it, a price the DEX takes and a last block not yet passed.
    pub fn genesis_fault(&self, side: Side, starting_block: u64) -> Option<String> {
        let fault = if self.side != side {
            format!("a {} order where {} orders belong", self.side.as_str(), side.as_str())
        } else if self.id.is_empty() || self.id.len() > 128 {
            "an order id of 1 to 128 characters".to_string()
        } else if !opentoken_core::account::is_valid_account_name(&self.from) {
            format!("{:?} is not a Hive account", self.from)
        } else if self.amount == 0 || self.amount > i64::MAX as u64 {
            format!("holds {}, not 1 to i64::MAX", self.amount)
        } else if self.price == 0 || self.price > crate::price::MAX_PRICE {
            format!(
                "price {} is not a limit price (1 to {})",
                self.price,
                crate::price::MAX_PRICE
            )
        } else if self.expires < starting_block {
            format!("expired at block {}, before the start ({starting_block})", self.expires)
        } else {
            return None;
        };
        Some(format!("order {}: {fault}", self.id))
    }
}

/// Tokens the DEX releases from its escrow to `account` (token module).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub account: String,
    pub amount: u64,
    /// The order it comes from.
    pub order: String,
    /// `fill`, `fee`, `return`.
    pub why: String,
}

/// Coin the DEX releases from its escrow to `account` (multisig module).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pay {
    pub account: String,
    pub coin: Pair,
    pub amount: u64,
    pub via: Payout,
    pub order: String,
    /// `fill`, `return`; with `via: hive` it becomes the outflow's memo (with the order id).
    pub why: String,
}

impl Pay {
    /// The memo of the outflow that pays it out to Hive (the multisig module appends its
    /// `ot:<seq>`).
    pub fn memo(&self, token: &str) -> String {
        format!("{token} DEX {} {}", self.why, self.order)
    }
}
