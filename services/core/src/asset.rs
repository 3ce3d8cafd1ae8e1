//! Hive assets as integers in base units (never floats).

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AssetSymbol {
    Hive,
    Hbd,
    Vests,
}

impl AssetSymbol {
    pub fn precision(&self) -> u8 {
        match self {
            AssetSymbol::Hive | AssetSymbol::Hbd => 3,
            AssetSymbol::Vests => 6,
        }
    }
    pub fn nai(&self) -> &'static str {
        match self {
            AssetSymbol::Hive => "@@000000021",
            AssetSymbol::Hbd => "@@000000013",
            AssetSymbol::Vests => "@@000000037",
        }
    }
    /// The symbol Hive prints in legacy strings today.
    pub fn legacy_name(&self) -> &'static str {
        match self {
            AssetSymbol::Hive => "HIVE",
            AssetSymbol::Hbd => "HBD",
            AssetSymbol::Vests => "VESTS",
        }
    }
    pub fn from_nai(nai: &str) -> Option<Self> {
        match nai {
            "@@000000021" => Some(AssetSymbol::Hive),
            "@@000000013" => Some(AssetSymbol::Hbd),
            "@@000000037" => Some(AssetSymbol::Vests),
            _ => None,
        }
    }
    /// Legacy names, including the pre-HF24 Steem ones found in old blocks.
    pub fn from_legacy_name(name: &str) -> Option<Self> {
        match name {
            "HIVE" | "STEEM" | "TESTS" => Some(AssetSymbol::Hive),
            "HBD" | "SBD" | "TBD" => Some(AssetSymbol::Hbd),
            "VESTS" => Some(AssetSymbol::Vests),
            _ => None,
        }
    }
}

/// An amount in the asset's base units (milli-HIVE, micro-VESTS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Asset {
    pub amount: i64,
    pub symbol: AssetSymbol,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AssetError {
    #[error("asset string {0:?} is not of the form \"1.000 HIVE\"")]
    BadLegacy(String),
    #[error("asset symbol {0:?} is not HIVE, HBD or VESTS")]
    UnknownSymbol(String),
    #[error("asset {0:?} has precision {1}, expected {2}")]
    BadPrecision(String, usize, u8),
    #[error("asset amount {0:?} does not fit in 64 bits")]
    Overflow(String),
}

impl Asset {
    pub fn new(amount: i64, symbol: AssetSymbol) -> Self {
        Self { amount, symbol }
    }

    /// Parses `"1.000 HIVE"` exactly (decimal digits, no float on the way).
    pub fn parse_legacy(s: &str) -> Result<Self, AssetError> {
        let bad = || AssetError::BadLegacy(s.to_string());
        let (num, sym) = s.trim().split_once(' ').ok_or_else(bad)?;
        let symbol =
            AssetSymbol::from_legacy_name(sym.trim()).ok_or_else(|| AssetError::UnknownSymbol(sym.to_string()))?;
        let (neg, digits) = match num.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, num),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        if int_part.is_empty()
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        if frac_part.len() != symbol.precision() as usize {
            return Err(AssetError::BadPrecision(
                s.to_string(),
                frac_part.len(),
                symbol.precision(),
            ));
        }
        let joined = format!("{int_part}{frac_part}");
        let v: i64 = joined.parse().map_err(|_| AssetError::Overflow(s.to_string()))?;
        Ok(Self {
            amount: if neg { -v } else { v },
            symbol,
        })
    }

    /// Renders the legacy `"1.000 HIVE"` form.
    pub fn to_legacy(&self) -> String {
        let p = self.symbol.precision() as u32;
        let scale = 10i64.pow(p);
        let sign = if self.amount < 0 { "-" } else { "" };
        let a = self.amount.unsigned_abs();
        format!(
            "{sign}{}.{:0width$} {}",
            a / scale as u64,
            a % scale as u64,
            self.symbol.legacy_name(),
            width = p as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_round_trip() {
        let a = Asset::parse_legacy("1.234 HIVE").unwrap();
        assert_eq!(a, Asset::new(1234, AssetSymbol::Hive));
        assert_eq!(a.to_legacy(), "1.234 HIVE");
        let v = Asset::parse_legacy("4096.123457 VESTS").unwrap();
        assert_eq!(v.amount, 4_096_123_457);
        assert_eq!(Asset::parse_legacy("0.001 SBD").unwrap().symbol, AssetSymbol::Hbd);
    }

    #[test]
    fn legacy_rejects() {
        assert!(Asset::parse_legacy("1.2345 HIVE").is_err());
        assert!(Asset::parse_legacy("1.234 DOGE").is_err());
        assert!(Asset::parse_legacy("abc HIVE").is_err());
        assert!(Asset::parse_legacy("99999999999999999999.000 HIVE").is_err());
        assert!(Asset::parse_legacy("1.000").is_err());
    }
}
