//! `nft_define`: the fields, the fee, and the set they make.
//!
//! The token module parses the op with [`parse`] before it escrows `max_fee` (so a
//! malformed definition is rejected at once, with nothing taken); this module parses it
//! again when the escrowed op arrives and adds the rule only its state can check (the
//! name is free).
//!
//! Where the reference errs, this does not: types 2..=4 can be defined (their sizes are
//! numbers), royalty and bond are bounded, and the range `[start, end]` is inclusive, so
//! every mint token has a uid (the reference mints from `[start, end)` and loops forever
//! on the last token).

use crate::b64;
use crate::config::NftConfig;
use crate::keys::Set;
use crate::protocol::{check_name, text_field, MAX_SET_NAME};
use opentoken_core::{field, Reject, RejectCode};
use serde_json::{Map, Value};

/// The largest exe/opt size of a type 2..=4 set.
pub const MAX_FIELD_SIZE: u64 = 1024;

/// A parsed definition and what it costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub set: Set,
    pub max_fee: u64,
    /// The whole fee, bonds included.
    pub fee: u64,
}

fn optional_amount(payload: &Map<String, Value>, name: &str) -> Result<Option<u64>, Reject> {
    match payload.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => field::amount(payload, name, "an integer").map(Some),
    }
}

fn optional_text<'a>(payload: &'a Map<String, Value>, name: &str, max: usize) -> Result<&'a str, Reject> {
    match payload.get(name) {
        None | Some(Value::Null) => Ok(""),
        Some(_) => {
            let s = text_field(payload, name, max)?;
            if s.chars().any(char::is_control) {
                return Err(Reject::field(format!("`{name}` holds control characters")));
            }
            Ok(s)
        }
    }
}

fn symbols(name: &str, s: &str, allowed: impl Fn(u8) -> bool) -> Result<(), Reject> {
    if s.bytes().all(allowed) {
        Ok(())
    } else {
        Err(Reject::field(format!(
            "`{name}` holds a character it may not: {:?}",
            s.chars().take(40).collect::<String>()
        )))
    }
}

/// The definition `payload` asks for, by `from` at `block`, with its fee under `cfg`.
pub fn parse(cfg: &NftConfig, from: &str, block: u64, payload: &Map<String, Value>) -> Result<Definition, Reject> {
    let name = text_field(payload, "name", MAX_SET_NAME)?;
    check_name("name", name)?;
    if name.starts_with("Qm") {
        return Err(Reject::field(
            "set names starting with `Qm` are the reference's legacy single-NFT sets; choose another",
        ));
    }
    let kind = field::amount(payload, "type", "1..=4")?;
    if !(1..=4).contains(&kind) {
        return Err(Reject::field(format!("`type` must be 1, 2, 3 or 4, got {kind}")));
    }
    let script = text_field(payload, "script", 64)?;
    symbols("script", script, |b| b.is_ascii_alphanumeric())?;
    let permlink = text_field(payload, "permlink", 256)?;
    symbols("permlink", permlink, |b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
    })?;
    let handling = text_field(payload, "handling", 16)?;
    symbols("handling", handling, |b| b.is_ascii_alphanumeric())?;
    let long_name = optional_text(payload, "long_name", 64)?;
    let start = text_field(payload, "start", b64::MAX_LEN)?;
    let end = text_field(payload, "end", b64::MAX_LEN)?;
    let lo = b64::to_number(start)
        .ok_or_else(|| Reject::field(format!("`start` {start:?} is not a base64 number (0-9 A-Z a-z + =)")))?;
    let hi = b64::to_number(end)
        .ok_or_else(|| Reject::field(format!("`end` {end:?} is not a base64 number (0-9 A-Z a-z + =)")))?;
    if lo > hi {
        return Err(Reject::field(format!("`start` {start} is after `end` {end}")));
    }
    let uids = hi - lo + 1;
    if uids > cfg.max_uids {
        return Err(Reject::field(format!(
            "the range {start}..={end} holds {uids} uids; a set may hold at most {}",
            cfg.max_uids
        )));
    }
    // The reference: `parseInt(total) || (end - start + 1)`, clamped to the range.
    let total = match optional_amount(payload, "total")? {
        None | Some(0) => uids,
        Some(t) => t.min(uids),
    };
    let royalty_bp = optional_amount(payload, "royalty")?.unwrap_or(0);
    if royalty_bp > cfg.max_royalty_bp {
        return Err(Reject::field(format!(
            "`royalty` {royalty_bp} is above {} basis points",
            cfg.max_royalty_bp
        )));
    }
    let bond = optional_amount(payload, "bond")?.unwrap_or(0);
    if bond > cfg.max_bond {
        return Err(Reject::field(format!("`bond` {bond} is above {}", cfg.max_bond)));
    }
    let size = |field: &str, needed: bool| -> Result<u64, Reject> {
        if !needed {
            return Ok(0);
        }
        let s = field::amount(payload, field, "bytes")?;
        if s > MAX_FIELD_SIZE {
            return Err(Reject::field(format!("`{field}` {s} is above {MAX_FIELD_SIZE}")));
        }
        Ok(s)
    };
    let exe_size = size("exe_size", kind == 2 || kind == 4)?;
    let opt_size = size("opt_size", kind == 3 || kind == 4)?;
    let max_fee = field::amount(payload, "max_fee", "base units")?;

    let mut bytes = 39 + name.len() as u64 + 2 * end.len() as u64;
    if kind == 2 || kind == 4 {
        bytes += exe_size + 1;
    }
    if kind == 3 || kind == 4 {
        bytes += opt_size + 1;
    }
    let overflow = || Reject::new(RejectCode::Overflow, "the define fee overflows".to_string());
    let bonds = total.checked_mul(bond).ok_or_else(overflow)?;
    let fee = cfg
        .byte_cost
        .checked_mul(bytes)
        .and_then(|x| x.checked_mul(total))
        .and_then(|x| x.checked_add(cfg.define_fee))
        .and_then(|x| x.checked_add(bonds))
        .filter(|f| *f <= field::MAX_AMOUNT)
        .ok_or_else(overflow)?;
    if fee > max_fee {
        return Err(Reject::new(
            RejectCode::InsufficientFunds,
            format!("the set costs {fee}, more than `max_fee` {max_fee}"),
        ));
    }
    Ok(Definition {
        set: Set {
            name: name.to_string(),
            author: from.to_string(),
            script: script.to_string(),
            permlink: permlink.to_string(),
            long_name: long_name.to_string(),
            kind: kind as u8,
            handling: handling.to_string(),
            start: start.to_string(),
            end: end.to_string(),
            total,
            minted: 0,
            melted: 0,
            royalty_bp,
            distro: None,
            bond,
            fee_held: fee - bonds,
            exe_size,
            opt_size,
            block,
        },
        max_fee,
        fee,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn base() -> Value {
        json!({"name": "cards", "type": 1, "script": "QmScript", "permlink": "my-cards",
               "start": "00", "end": "0=", "royalty": 250, "handling": "svg", "max_fee": 10_000_000})
    }

    #[test]
    fn the_fee_is_the_references_formula_over_an_inclusive_range() {
        let cfg = NftConfig::default();
        let d = parse(&cfg, "alice", 9, &obj(base())).expect("valid");
        // 64 uids: "00" ..= "0=" (0..=63).
        assert_eq!(d.set.total, 64);
        let bytes = 39 + 5 + 2 * 2;
        assert_eq!(d.fee, 20 * bytes * 64 + 100_000);
        assert_eq!(d.set.fee_held, d.fee);
    }

    #[test]
    fn bonds_are_part_of_the_fee_and_not_of_the_held_fee() {
        let cfg = NftConfig::default();
        let mut v = base();
        v["bond"] = json!(7);
        v["total"] = json!(10);
        let d = parse(&cfg, "alice", 9, &obj(v)).expect("valid");
        assert_eq!(d.set.total, 10);
        assert_eq!(d.fee - d.set.fee_held, 70);
    }

    #[test]
    fn every_type_can_be_defined_with_its_sizes() {
        let cfg = NftConfig::default();
        for (t, extra) in [
            (2, json!({"exe_size": 10})),
            (3, json!({"opt_size": 5})),
            (4, json!({"exe_size": 1, "opt_size": 2})),
        ] {
            let mut v = base();
            v["type"] = json!(t);
            for (k, x) in extra.as_object().cloned().unwrap_or_default() {
                v[k] = x;
            }
            assert!(parse(&cfg, "alice", 1, &obj(v.clone())).is_ok(), "type {t}");
            v.as_object_mut()
                .map(|m| m.remove("exe_size").or_else(|| m.remove("opt_size")));
            assert!(parse(&cfg, "alice", 1, &obj(v)).is_err(), "type {t} without its size");
        }
    }

    #[test]
    fn out_of_range_fields_are_refused() {
        let cfg = NftConfig::default();
        for (k, bad) in [
            ("royalty", json!(-5)),
            ("royalty", json!(5001)),
            ("bond", json!(-1)),
            ("type", json!(5)),
            ("start", json!("1/")),
            ("end", json!("")),
            ("name", json!("a b")),
            ("name", json!("QmLegacy")),
            ("max_fee", json!(1)),
            ("script", json!("<script>")),
        ] {
            let mut v = base();
            v[k] = bad.clone();
            assert!(parse(&cfg, "alice", 1, &obj(v)).is_err(), "{k} = {bad}");
        }
        let mut v = base();
        v["start"] = json!("10");
        v["end"] = json!("0");
        assert!(parse(&cfg, "alice", 1, &obj(v)).is_err(), "start after end");
        let mut v = base();
        v["end"] = json!("zzzz");
        assert!(parse(&cfg, "alice", 1, &obj(v)).is_err(), "more uids than max_uids");
    }
}
