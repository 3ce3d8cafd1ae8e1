//! The DEX's parameters: the chain spec's `modules.dex` section. A chain runs the DEX only
//! when the section exists (and the multisig module too: the DEX's coin is held by the
//! multi-sig account).
//!
//! ```json
//! "dex": {
//!   "fee_ppm": 5000, "fee_account": "rn",
//!   "max_hours": 720, "blocks_per_hour": 1200, "min_order": 4,
//!   "dex_max_bp": 10000, "dex_slope_bp": 0,
//!   "tick": { "HIVE": 100000, "HBD": 12500 },
//!   "max_fills_per_order": 256, "expiries_per_block": 1000,
//!   "keep_trades": 1000, "keep_hourly": 168, "keep_daily": 365
//! }
//! ```
//! Every field is optional; the defaults are the reference's (fee 0.5% = the default
//! `bidRate` 500, 30-day orders, a 4 milli-token minimum, the genesis ticks).

use crate::protocol::Pair;
use opentoken_core::module::GenesisError;
use opentoken_core::ChainSpec;
use serde::Deserialize;

/// The validated parameters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DexConfig {
    /// Fee on the buyer's token leg of every fill, parts per million, rounded up
    /// (`price::fee`). The reference's `dex_fee` 0.005 is 5000.
    pub fee_ppm: u64,
    /// The token account fees are credited to: the reference's node reward pool `rn`.
    pub fee_account: String,
    /// The longest an order rests, in hours.
    pub max_hours: u64,
    /// Blocks per hour (Hive: 1200).
    pub blocks_per_hour: u64,
    /// The smallest order, milli-tokens for a sell, milli-coin for a buy.
    pub min_order: u64,
    /// `dex_max` in basis points of the collateral's value a single resting bid may hold.
    pub dex_max_bp: u64,
    /// `dex_slope` in basis points: how much less a bid below the tick may hold.
    pub dex_slope_bp: u64,
    /// The last price before any trade, micro-coin per token.
    pub tick: Ticks,
    /// The most resting orders one incoming order may meet (fills, or self-trade and dust
    /// releases); what is left after that is returned, so no op's work is unbounded.
    pub max_fills_per_order: u32,
    /// The most orders expired per block (the rest the next block).
    pub expiries_per_block: u32,
    /// Trades kept per pair (`/api/recent`, `/api/historical`).
    pub keep_trades: u64,
    /// Hourly candles kept per pair.
    pub keep_hourly: u64,
    /// Daily candles kept per pair.
    pub keep_daily: u64,
    /// The liquidity reward (token-core §5.6): resting bids earn points every `every`
    /// blocks, paid from the token's marketing pool at its DAO day. Absent: no reward.
    pub liquidity: Option<LiquidityConfig>,
    /// What an imported community's DEX had counted at the start (`import-state`). The
    /// resting orders themselves come from the modules that escrow them.
    pub genesis: DexGenesis,
}

/// The most accounts with liquidity points one genesis may list.
pub const MAX_GENESIS_POINTS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DexGenesis {
    /// Liquidity points counted since the last payout, per account; only with a liquidity
    /// reward.
    #[serde(default)]
    pub liquidity: std::collections::BTreeMap<String, u64>,
}

/// When bids earn liquidity points and when they are paid.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiquidityConfig {
    /// Points are counted at the blocks `≡ offset (mod every)` (the reference: 99 of 100).
    #[serde(default = "hundred")]
    pub every: u64,
    #[serde(default = "ninety_nine")]
    pub offset: u64,
    /// The most bids per pair counted, best first, so that a count's work is bounded.
    #[serde(default = "thousand")]
    pub max_bids: u64,
    /// The token economy's DAO day (`dao_every`, `dao_offset`), read from the chain spec:
    /// the points are sent to the token module then.
    #[serde(skip)]
    pub pay_every: u64,
    #[serde(skip)]
    pub pay_offset: u64,
}

fn hundred() -> u64 {
    100
}
fn ninety_nine() -> u64 {
    99
}
fn thousand() -> u64 {
    1_000
}

impl LiquidityConfig {
    /// Whether points are counted at `block`.
    pub fn counts_at(&self, block: u64) -> bool {
        block % self.every == self.offset
    }
    /// Whether the points are sent for payment at `block`.
    pub fn pays_at(&self, block: u64) -> bool {
        block % self.pay_every == self.pay_offset
    }
    /// The first block after `after` that is `≡ offset (mod every)`.
    pub fn next(after: u64, every: u64, offset: u64) -> Option<u64> {
        let base = after.checked_sub(after % every)?.checked_add(offset)?;
        if base > after {
            Some(base)
        } else {
            base.checked_add(every)
        }
    }
}

/// The genesis tick per pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ticks {
    #[serde(rename = "HIVE")]
    pub hive: u64,
    #[serde(rename = "HBD")]
    pub hbd: u64,
}

impl Ticks {
    pub fn of(&self, pair: Pair) -> u64 {
        match pair {
            Pair::Hive => self.hive,
            Pair::Hbd => self.hbd,
        }
    }
}

impl Default for DexConfig {
    fn default() -> Self {
        Self {
            fee_ppm: 5000,
            fee_account: "rn".into(),
            max_hours: 720,
            blocks_per_hour: 1200,
            min_order: 4,
            dex_max_bp: 10_000,
            dex_slope_bp: 0,
            tick: Ticks {
                hive: 100_000,
                hbd: 12_500,
            },
            max_fills_per_order: 256,
            expiries_per_block: 1000,
            keep_trades: 1000,
            keep_hourly: 168,
            keep_daily: 365,
            liquidity: None,
            genesis: DexGenesis::default(),
        }
    }
}

fn invalid(why: impl Into<String>) -> GenesisError {
    GenesisError {
        module: crate::NAME.into(),
        why: why.into(),
    }
}

impl DexConfig {
    /// The chain's DEX parameters; `Ok(None)` when the chain runs no DEX.
    pub fn from_spec(spec: &ChainSpec) -> Result<Option<Self>, GenesisError> {
        let Some(section) = spec.module_config(crate::NAME) else {
            return Ok(None);
        };
        let mut cfg: DexConfig =
            serde_json::from_value(section.clone()).map_err(|e| invalid(format!("modules.dex: {e}")))?;
        if let Some(l) = cfg.liquidity.as_mut() {
            let economy = spec
                .module_config("token")
                .and_then(|t| t.get("economy"))
                .ok_or_else(|| {
                    invalid("modules.dex.liquidity is paid by the token economy: modules.token.economy is missing")
                })?;
            let field =
                |name: &str, default: u64| economy.get(name).and_then(serde_json::Value::as_u64).unwrap_or(default);
            l.pay_every = field("dao_every", 28_800);
            l.pay_offset = field("dao_offset", 18_505);
            if l.every == 0 || l.offset >= l.every || l.max_bids == 0 || l.max_bids > 100_000 {
                return Err(invalid(
                    "modules.dex.liquidity: every at least 1, offset below it, max_bids 1 to 100000",
                ));
            }
            if l.pay_every == 0 || l.pay_offset >= l.pay_every {
                return Err(invalid(
                    "modules.token.economy's DAO day (dao_every, dao_offset) is invalid",
                ));
            }
        }
        cfg.validate()?;
        Ok(Some(cfg))
    }

    pub fn validate(&self) -> Result<(), GenesisError> {
        let points = &self.genesis.liquidity;
        if !points.is_empty() && self.liquidity.is_none() {
            return Err(invalid("genesis.liquidity needs a liquidity reward (liquidity)"));
        }
        if points.len() > MAX_GENESIS_POINTS
            || points
                .iter()
                .any(|(a, p)| !opentoken_core::account::is_valid_account_name(a) || *p == 0 || *p > i64::MAX as u64)
        {
            return Err(invalid(format!(
                "genesis.liquidity: at most {MAX_GENESIS_POINTS} Hive accounts with 1 to i64::MAX points"
            )));
        }
        if self.fee_ppm > 100_000 {
            return Err(invalid("fee_ppm above 100000 (10%)"));
        }
        let fa = &self.fee_account;
        if !(opentoken_core::account::is_valid_account_name(fa) || fa == "rn") {
            return Err(invalid(format!(
                "fee_account {fa:?} is neither `rn` nor a Hive account name"
            )));
        }
        if self.max_hours == 0 || self.max_hours > 24 * 365 {
            return Err(invalid("max_hours must be 1..=8760"));
        }
        if self.blocks_per_hour == 0 || self.blocks_per_hour > 1_000_000 {
            return Err(invalid("blocks_per_hour must be 1..=1000000"));
        }
        if self.min_order == 0 {
            return Err(invalid("min_order must be at least 1"));
        }
        if self.dex_max_bp == 0 || self.dex_max_bp > 10_000 || self.dex_slope_bp > 10_000 {
            return Err(invalid("dex_max_bp must be 1..=10000 and dex_slope_bp 0..=10000"));
        }
        for p in Pair::ALL {
            let t = self.tick.of(p);
            if t == 0 || t > crate::price::MAX_PRICE {
                return Err(invalid(format!(
                    "tick.{} must be 1..={}",
                    p.symbol(),
                    crate::price::MAX_PRICE
                )));
            }
        }
        if self.max_fills_per_order == 0 || self.expiries_per_block == 0 {
            return Err(invalid("max_fills_per_order and expiries_per_block must be at least 1"));
        }
        if self.keep_trades == 0 || self.keep_hourly == 0 || self.keep_daily == 0 {
            return Err(invalid("keep_trades, keep_hourly and keep_daily must be at least 1"));
        }
        Ok(())
    }
}
