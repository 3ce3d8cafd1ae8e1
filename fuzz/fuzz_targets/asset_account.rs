//! Legacy asset strings, NAI asset objects, account names and Hive timestamps. A parsed
//! asset prints back to a string that parses to it; a valid account name holds only what a
//! ledger key may hold; a parsed timestamp formats back to the same time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentoken_core::account::is_valid_account_name;
use opentoken_core::hive_json::{decode_asset, format_timestamp, parse_timestamp};
use opentoken_core::Asset;

fuzz_target!(
    init: opentoken_fuzz::write_seeds_once(opentoken_fuzz::seeds::asset_account),
    |data: &[u8]| {
        let Ok(s) = std::str::from_utf8(data) else { return };
        if let Ok(a) = Asset::parse_legacy(s) {
            let printed = a.to_legacy();
            assert_eq!(Asset::parse_legacy(&printed), Ok(a), "{s:?} prints as {printed:?}");
        }
        if is_valid_account_name(s) {
            assert!((3..=16).contains(&s.len()), "{s:?}");
            assert!(s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.'), "{s:?}");
        }
        if let Some(t) = parse_timestamp(s) {
            assert_eq!(parse_timestamp(&format_timestamp(t)), Some(t), "{s:?}");
        }
        if let Ok(v) = serde_json::from_str(s) {
            if let Ok(a) = decode_asset(&v) {
                assert_eq!(Asset::parse_legacy(&a.to_legacy()), Ok(a), "{s:?}");
            }
        }
    }
);
