//! The NFT module's parameters: the chain spec's `modules.nft` section. A chain runs the
//! module only when the section exists.
//!
//! ```json
//! "nft": {
//!   "byte_cost": 20, "define_fee": 100000, "fee_account": "rn",
//!   "max_uids": 100000, "max_royalty_bp": 5000, "max_bond": 1000000,
//!   "blocks_per_day": 28800, "max_auction_days": 30, "default_price": 1000,
//!   "max_airdrop": 50, "mints_per_block": 1000, "expiries_per_block": 200,
//!   "max_coin_auction_days": 7, "coin_fee_bp": 100, "coin_fee_account": ""
//! }
//! ```
//! Every field is optional; the defaults are the reference's live values (`nft_byte_cost`
//! 20 and `nft_fee_1` 100000 as its successor's API shows them) and its limits.

use opentoken_core::module::GenesisError;
use opentoken_core::ChainSpec;
use serde::Deserialize;

/// The validated parameters. Token amounts are the token's base units (milli-tokens).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NftConfig {
    /// Per byte of a set's definition, per mint token (`nft_byte_cost`).
    pub byte_cost: u64,
    /// The flat part of the define fee (`nft_fee_1`).
    pub define_fee: u64,
    /// Who gets half of a set's define fee at its first mint (the other half is burned):
    /// the reference's node reward pool `rn`.
    pub fee_account: String,
    /// The most uids one set may span (`end - start + 1`): bounds a set's state and the
    /// mint draw.
    pub max_uids: u64,
    /// The highest royalty a set may take, in basis points of a sale's price.
    pub max_royalty_bp: u64,
    /// The highest bond per NFT.
    pub max_bond: u64,
    /// Blocks per day (auction lengths are in days; Hive: 28800).
    pub blocks_per_day: u64,
    /// The longest auction, days (the reference: 30).
    pub max_auction_days: u64,
    /// The price of a sale or auction that names none (the reference: 1000).
    pub default_price: u64,
    /// The most recipients of one `ft_airdrop`.
    pub max_airdrop: u64,
    /// The most mint-token redemptions turned into NFTs per checkpoint block (the rest at
    /// the next).
    pub mints_per_block: u64,
    /// The most auctions settled per block (the rest the next block).
    pub expiries_per_block: u64,
    /// The longest HIVE/HBD auction, days (the reference's `nft_hauction`: 7).
    pub max_coin_auction_days: u64,
    /// The platform fee of a HIVE/HBD sale, basis points (the reference's
    /// `hive_service_fee`: 100 = 1%), credited in the coin to `coin_fee_account`'s
    /// Layer-2 balance.
    pub coin_fee_bp: u64,
    /// Who gets the HIVE/HBD sales' fee; empty: no fee is taken.
    pub coin_fee_account: String,
    /// The module's state at the start (`import-state`; [`crate::genesis`]): empty on a
    /// new chain.
    pub genesis: crate::genesis::NftGenesis,
}

impl Default for NftConfig {
    fn default() -> Self {
        Self {
            byte_cost: 20,
            define_fee: 100_000,
            fee_account: "rn".into(),
            max_uids: 100_000,
            max_royalty_bp: 5000,
            max_bond: 1_000_000,
            blocks_per_day: 28_800,
            max_auction_days: 30,
            default_price: 1000,
            max_airdrop: 50,
            mints_per_block: 1000,
            expiries_per_block: 200,
            max_coin_auction_days: 7,
            coin_fee_bp: 100,
            coin_fee_account: String::new(),
            genesis: Default::default(),
        }
    }
}

fn invalid(why: impl Into<String>) -> GenesisError {
    GenesisError {
        module: crate::NAME.into(),
        why: why.into(),
    }
}

impl NftConfig {
    /// The chain's NFT parameters; `Ok(None)` when the chain runs no NFT module.
    pub fn from_spec(spec: &ChainSpec) -> Result<Option<Self>, GenesisError> {
        let Some(section) = spec.module_config(crate::NAME) else {
            return Ok(None);
        };
        let cfg: NftConfig =
            serde_json::from_value(section.clone()).map_err(|e| invalid(format!("modules.nft: {e}")))?;
        cfg.validate()?;
        Ok(Some(cfg))
    }

    pub fn validate(&self) -> Result<(), GenesisError> {
        let fa = &self.fee_account;
        if !(opentoken_core::account::is_valid_account_name(fa) || fa == "rn") {
            return Err(invalid(format!(
                "fee_account {fa:?} is neither `rn` nor a Hive account name"
            )));
        }
        if self.max_uids == 0 || self.max_uids > 1 << 40 {
            return Err(invalid("max_uids must be 1..=2^40"));
        }
        if self.max_royalty_bp > 10_000 {
            return Err(invalid("max_royalty_bp must be at most 10000 (100%)"));
        }
        if self.blocks_per_day == 0 || self.blocks_per_day > 10_000_000 {
            return Err(invalid("blocks_per_day must be 1..=10000000"));
        }
        if self.max_auction_days == 0 || self.max_auction_days > 365 {
            return Err(invalid("max_auction_days must be 1..=365"));
        }
        if self.default_price == 0 {
            return Err(invalid("default_price must be at least 1"));
        }
        if self.max_coin_auction_days == 0 || self.max_coin_auction_days > self.max_auction_days {
            return Err(invalid("max_coin_auction_days must be 1..=max_auction_days"));
        }
        if self.coin_fee_bp > 1000 {
            return Err(invalid("coin_fee_bp must be at most 1000 (10%)"));
        }
        let cfa = &self.coin_fee_account;
        if !cfa.is_empty() && !opentoken_core::account::is_valid_account_name(cfa) {
            return Err(invalid(format!("coin_fee_account {cfa:?} is not a Hive account name")));
        }
        if self.max_airdrop == 0 || self.mints_per_block == 0 || self.expiries_per_block == 0 {
            return Err(invalid(
                "max_airdrop, mints_per_block and expiries_per_block must be at least 1",
            ));
        }
        Ok(())
    }
}
