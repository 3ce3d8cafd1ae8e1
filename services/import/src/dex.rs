//! The DEX: the resting orders of both pairs (`dex/<pair>/{buyOrders,sellOrders}`, in the
//! priority their book strings give, mirrored in `contracts/`), the last prices
//! (`dex/<pair>/tick`) and the liquidity points (`dex/liq`).
//!
//! An order is carried to the module that escrows its funds in opentoken: an ask's tokens
//! to the token module's genesis (`dex_orders`: minted to the owner and escrowed), a bid's
//! coin to the multisig module's (`dex_orders`: held by the account for the DEX). Each
//! sends its orders to the DEX at genesis, and the DEX rests them at the start of the first
//! block, in the order given: the reference's price-time priority. The last prices become
//! the DEX's genesis ticks. Trade history and daily buckets are reported, not carried.
//!
//! Orders hold funds, so a dump with resting orders is refused by a base chain that runs no
//! DEX, and an order the importer cannot read is refused, never dropped.

use crate::{chrono_block, Reader};
use opentoken_dex::price::parse_rate;
use opentoken_dex::{OrderIn, Pair, Payout, Side};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The top-level paths this part reads.
pub(crate) const PATHS: &[&str] = &["dex", "contracts", "col"];

/// The `chrono` entries it accounts for: an order's expiry is carried in the order (its
/// `expire_path` names the entry).
pub(crate) const CHRONO_OPS: &[&str] = &["expire"];

/// The resting orders read from the dump: asks (token escrow) and bids (multi-sig).
#[derive(Default)]
struct Orders {
    asks: Vec<OrderIn>,
    bids: Vec<OrderIn>,
}

fn pair_name(pair: Pair) -> &'static str {
    pair.lower()
}

/// The txids of a book string (`p1_tx_tx,p2_tx`) in priority order.
fn book_order(book: &str) -> Vec<&str> {
    book.split(',')
        .filter(|level| !level.is_empty())
        .flat_map(|level| level.split('_').skip(1))
        .filter(|t| !t.is_empty())
        .collect()
}

/// One contract as an order of `pair`/`side`, or why it cannot be one.
fn order_of(path: &str, c: &Value, pair: Pair, side: Side, block: u64, r: &mut Reader) -> Option<OrderIn> {
    let Some(c) = c.as_object() else {
        r.refuse(path, "is not an order object");
        return None;
    };
    let text = |k: &str| c.get(k).and_then(Value::as_str);
    let Some(id) = text("txid").filter(|t| !t.is_empty() && t.len() <= 128) else {
        r.refuse(format!("{path}/txid"), "is not an order id");
        return None;
    };
    let Some(from) = text("from") else {
        r.refuse(format!("{path}/from"), "is not an account");
        return None;
    };
    if !r.account(&format!("{path}/from"), from) {
        return None;
    }
    let held_field = match side {
        Side::Ask => "amount",
        Side::Bid => pair_name(pair),
    };
    let amount = r.amount(
        &format!("{path}/{held_field}"),
        c.get(held_field).unwrap_or(&Value::Null),
    )?;
    let price = match parse_rate("rate", c.get("rate").unwrap_or(&Value::Null)) {
        Ok(p) if p > 0 => p,
        Ok(_) => {
            r.refuse(format!("{path}/rate"), "a resting order at price 0");
            return None;
        }
        Err(e) => {
            r.refuse(format!("{path}/rate"), e.reason);
            return None;
        }
    };
    let Some(placed) = c.get("block").and_then(Value::as_u64) else {
        r.refuse(format!("{path}/block"), "is not a block number");
        return None;
    };
    let Some(expires) = text("expire_path").and_then(chrono_block) else {
        r.refuse(
            format!("{path}/expire_path"),
            "is not the `<block>:<hash>` chrono key of its expiry",
        );
        return None;
    };
    let expires = if expires <= block {
        r.report(
            path,
            format!(
                "its expiry at {expires} had not run by the import: it rests until {} and is returned then",
                block + 1
            ),
        );
        block + 1
    } else {
        expires
    };
    let wrong_type = match c.get("type").and_then(Value::as_str) {
        Some(t) => t != format!("{}:{}", pair_name(pair), if side == Side::Ask { "sell" } else { "buy" }),
        None => false,
    };
    if wrong_type {
        r.refuse(format!("{path}/type"), "does not match the book it rests in");
        return None;
    }
    if amount == 0 {
        r.report(path, "holds nothing: not carried");
        return None;
    }
    Some(OrderIn {
        id: id.to_string(),
        from: from.to_string(),
        pair,
        side,
        amount,
        price,
        expires,
        payout: Payout::Hive,
        txid: text("hive_id").unwrap_or_default().chars().take(64).collect(),
        block: placed,
        time: 0,
    })
}

/// Reads one side of one pair: the orders map, ordered by the book string; orders missing
/// from the book rest after those in it (by price, then key); book entries without an order
/// are skipped, as the reference skips them.
fn side_of(pair_v: &Map<String, Value>, pair: Pair, side: Side, block: u64, r: &mut Reader) -> Vec<OrderIn> {
    let name = pair_name(pair);
    let (orders_key, book_key) = match side {
        Side::Ask => ("sellOrders", "sellBook"),
        Side::Bid => ("buyOrders", "buyBook"),
    };
    let base = format!("dex/{name}/{orders_key}");
    let empty = Map::new();
    let orders = match pair_v.get(orders_key) {
        Some(v) => r.object(&base, v).unwrap_or(&empty),
        None => &empty,
    };
    let book = match pair_v.get(book_key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            r.refuse(format!("dex/{name}/{book_key}"), "is not a book string");
            String::new()
        }
    };
    let by_txid: BTreeMap<&str, &String> = orders
        .keys()
        .filter_map(|k| k.split_once(':').map(|(_, t)| (t, k)))
        .collect();
    let mut keys: Vec<&String> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut dangling = 0usize;
    for txid in book_order(&book) {
        match by_txid.get(txid) {
            Some(k) if seen.insert(*k) => keys.push(k),
            Some(_) => {}
            None => dangling += 1,
        }
    }
    if dangling > 0 {
        r.report(
            format!("dex/{name}/{book_key}"),
            format!("{dangling} entries name no order (the reference skips them): not carried"),
        );
    }
    let mut unbooked: Vec<&String> = orders.keys().filter(|k| !seen.contains(k)).collect();
    if !unbooked.is_empty() {
        r.report(
            &base,
            format!(
                "{} orders are not in {book_key}: they rest after those that are",
                unbooked.len()
            ),
        );
        unbooked.sort_by_key(|k| {
            let rate = k.split_once(':').map_or("", |(p, _)| p);
            let p = parse_rate("rate", &json!(rate)).unwrap_or(0);
            (if side == Side::Ask { p } else { u64::MAX - p }, (*k).clone())
        });
        keys.extend(unbooked);
    }
    let mut out = Vec::with_capacity(keys.len());
    let mut partial = 0usize;
    for k in keys {
        let path = format!("{base}/{k}");
        let Some(c) = orders.get(k) else { continue };
        if c.get("partial")
            .is_some_and(|p| p.as_object().is_some_and(|m| !m.is_empty()))
        {
            partial += 1;
        }
        let Some(o) = order_of(&path, c, pair, side, block, r) else {
            continue;
        };
        if k.split_once(':').map(|(_, t)| t) != Some(o.id.as_str()) {
            r.refuse(&path, format!("the key does not end with the order's txid {}", o.id));
            continue;
        }
        out.push(o);
    }
    if partial > 0 {
        r.report(
            &base,
            format!("{partial} orders' partial-fill records: not carried (each rests with what it still holds)"),
        );
    }
    out
}

/// Reads the DEX's orders, ticks and liquidity points and writes them into `spec`'s
/// token, multisig and DEX sections; returns the tokens the asks hold.
pub(crate) fn import(state: &Map<String, Value>, r: &mut Reader, block: u64, spec: &mut Value) -> u128 {
    let has_dex = spec.pointer("/modules/dex").is_some();
    let has_liquidity = spec.pointer("/modules/dex/liquidity").is_some_and(|l| !l.is_null());
    let mut orders = Orders::default();
    let mut ticks: BTreeMap<&str, u64> = BTreeMap::new();
    if let Some(dex) = state.get("dex").and_then(|d| r.object("dex", d)) {
        for (key, v) in dex {
            let pair = match key.as_str() {
                "hive" => Pair::Hive,
                "hbd" => Pair::Hbd,
                "liq" => {
                    // The reference stores an award over an empty book (NaN) as null.
                    let counted: Map<String, Value> = match v.as_object() {
                        Some(m) => m
                            .iter()
                            .filter(|(_, p)| !p.is_null())
                            .map(|(a, p)| (a.clone(), p.clone()))
                            .collect(),
                        None => Map::new(),
                    };
                    if v.as_object().is_some_and(|m| m.len() != counted.len()) {
                        r.report(
                            "dex/liq",
                            "null points (the reference's award over an empty book) count as 0",
                        );
                    }
                    let points = if v.is_object() {
                        r.accounts("dex/liq", &Value::Object(counted), false)
                    } else {
                        r.accounts("dex/liq", v, false)
                    };
                    if points.is_empty() {
                        continue;
                    }
                    if has_liquidity {
                        spec["modules"]["dex"]["genesis"]["liquidity"] = json!(points);
                    } else {
                        r.report(
                            "dex/liq",
                            format!(
                                "{} accounts' liquidity points, and the base chain pays no liquidity reward (modules.dex.liquidity): not carried",
                                points.len()
                            ),
                        );
                    }
                    continue;
                }
                other => {
                    r.refuse(format!("dex/{other}"), "an unknown DEX path");
                    continue;
                }
            };
            let Some(pv) = r.object(&format!("dex/{key}"), v) else {
                continue;
            };
            for (field, fv) in pv {
                match field.as_str() {
                    "buyOrders" | "sellOrders" | "buyBook" | "sellBook" => {}
                    "tick" => match parse_rate("tick", fv) {
                        Ok(p) if p > 0 => {
                            ticks.insert(pair.symbol(), p);
                        }
                        _ => r.refuse(format!("dex/{key}/tick"), format!("{fv} is not a price")),
                    },
                    "his" | "days" => {
                        let n = fv.as_object().map_or(0, Map::len);
                        if n > 0 {
                            r.report(
                                format!("dex/{key}/{field}"),
                                format!("{n} entries of trade history: not carried (opentoken's history starts at the import)"),
                            );
                        }
                    }
                    other => r.refuse(format!("dex/{key}/{other}"), "an unknown DEX path"),
                }
            }
            orders.asks.extend(side_of(pv, pair, Side::Ask, block, r));
            orders.bids.extend(side_of(pv, pair, Side::Bid, block, r));
        }
    }
    let mut ids = BTreeSet::new();
    for o in orders.asks.iter().chain(&orders.bids) {
        if !ids.insert(o.id.clone()) {
            r.refuse(format!("dex/*/*Orders/*:{}", o.id), "the same order id rests twice");
        }
    }
    mirrors(state, &orders, r);
    if let Some(col) = state.get("col").and_then(Value::as_object).filter(|c| !c.is_empty()) {
        r.report(
            "col",
            format!("{} accounts' collateral records: not carried (opentoken's collateral is the runners' governance stake)", col.len()),
        );
    }

    let (asks, bids) = (orders.asks.len(), orders.bids.len());
    if !has_dex {
        if asks + bids > 0 {
            r.refuse(
                "dex",
                format!("{asks} asks and {bids} bids rest and hold funds, and the base chain runs no DEX (modules.dex): import into a chain spec with one"),
            );
        }
        return 0;
    }
    if bids > 0 && spec.pointer("/modules/multisig").is_none() {
        r.refuse(
            "dex",
            format!("{bids} bids hold HIVE/HBD, and the base chain runs no multisig module"),
        );
        return 0;
    }
    for (sym, p) in &ticks {
        spec["modules"]["dex"]["tick"][*sym] = json!(p);
    }
    if ticks.len() == 1 {
        // A tick section must name both pairs: the other keeps the base's or the default.
        let defaults = [("HIVE", 100_000u64), ("HBD", 12_500)];
        for (sym, d) in defaults {
            if spec.pointer(&format!("/modules/dex/tick/{sym}")).is_none() {
                spec["modules"]["dex"]["tick"][sym] = json!(d);
            }
        }
    }
    let held: u128 = orders.asks.iter().map(|o| u128::from(o.amount)).sum();
    if asks > 0 {
        spec["modules"]["token"]["genesis"]["dex_orders"] = json!(orders.asks);
    }
    if bids > 0 {
        spec["modules"]["multisig"]["genesis"]["dex_orders"] = json!(orders.bids);
    }
    held
}

/// `contracts/<account>/<txid>` mirrors each resting order; a mirror of no order, or one
/// that disagrees with its order, is reported (the orders are what the books match).
fn mirrors(state: &Map<String, Value>, orders: &Orders, r: &mut Reader) {
    let Some(contracts) = state.get("contracts") else {
        return;
    };
    let Some(contracts) = r.object("contracts", contracts) else {
        return;
    };
    let by_id: BTreeMap<&str, &OrderIn> = orders
        .asks
        .iter()
        .chain(&orders.bids)
        .map(|o| (o.id.as_str(), o))
        .collect();
    let mut stale = 0usize;
    for (account, cs) in contracts {
        let Some(cs) = cs.as_object() else {
            r.refuse(format!("contracts/{account}"), "is not an object");
            continue;
        };
        for (txid, c) in cs {
            match by_id.get(txid.as_str()) {
                Some(o) if o.from == *account && c.get("from").and_then(Value::as_str) == Some(account.as_str()) => {}
                Some(o) => r.report(
                    format!("contracts/{account}/{txid}"),
                    format!("mirrors an order of @{}: the order is carried", o.from),
                ),
                None => stale += 1,
            }
        }
    }
    if stale > 0 {
        r.report(
            "contracts",
            format!("{stale} records mirror no resting order: not carried"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::{import_state, ImportError};
    use serde_json::{json, Value};

    fn base(dex: bool) -> Value {
        let mut modules = json!({"token": {}, "multisig": {}});
        if dex {
            modules["dex"] = json!({"liquidity": {}});
        }
        json!({"name": "dlux", "prefix": "dlux_", "token": "DLUX", "precision": 3, "starting_block": 1,
               "leader": "dlux-io", "msaccount": "dlux-cc", "delegation_account": "dlux-io",
               "checkpoint_interval": 100, "modules": modules})
    }

    fn contract(txid: &str, from: &str, kind: &str, amount: u64, coin: u64, rate: &str) -> Value {
        json!({"txid": txid, "from": from, "type": kind, "amount": amount, "hive": coin, "hbd": 0,
               "rate": rate, "block": 900, "hive_id": "ab12", "expire_path": format!("5000:Qm{txid}"), "fee": 1})
    }

    fn refused(dump: Value, base: &Value) -> Vec<String> {
        match import_state(&dump, 1_000, base) {
            Err(ImportError::Refused(f)) => f.into_iter().map(|f| f.path).collect(),
            other => panic!("not refused: {other:?}"),
        }
    }

    /// Orders carried in book priority to the modules that escrow them, the tick and the
    /// points to the DEX, the history reported; the asks' tokens count in the supply.
    #[test]
    fn orders_ticks_and_points() {
        let dump = json!({"state": {"dex": {
            "hive": {
                "tick": "0.150000",
                "sellOrders": {
                    "0.200000:DLUXb": contract("DLUXb", "bob", "hive:sell", 500, 0, "0.200000"),
                    "0.200000:DLUXa": contract("DLUXa", "alice", "hive:sell", 700, 0, "0.200000"),
                },
                "sellBook": "0.200000_DLUXa_DLUXb_DLUXgone",
                "buyOrders": {"0.100000:DLUXc": contract("DLUXc", "carol", "hive:buy", 0, 3_000, "0.100000")},
                "buyBook": "0.100000_DLUXc",
                "his": {"900:0:ab": {}},
            },
            "liq": {"carol": 40, "dave": null},
        }}});
        let ok = import_state(&dump, 1_000, &base(true)).expect("imports");
        let asks = &ok.spec["modules"]["token"]["genesis"]["dex_orders"];
        assert_eq!(asks[0]["id"], "DLUXa", "the book's time priority: {asks}");
        assert_eq!(asks[1]["id"], "DLUXb");
        assert_eq!(asks[0]["price"], 200_000);
        assert_eq!(asks[0]["expires"], 5_000);
        let bids = &ok.spec["modules"]["multisig"]["genesis"]["dex_orders"];
        assert_eq!(bids[0]["amount"], 3_000);
        assert_eq!(
            ok.spec["modules"]["dex"]["tick"],
            json!({"HIVE": 150_000, "HBD": 12_500})
        );
        assert_eq!(ok.spec["modules"]["dex"]["genesis"]["liquidity"], json!({"carol": 40}));
        assert_eq!(ok.supply, 1_200, "the asks' tokens are in the supply");
        let reported: Vec<&str> = ok.not_imported.iter().map(|f| f.path.as_str()).collect();
        for p in ["dex/hive/his", "dex/hive/sellBook", "dex/liq"] {
            assert!(reported.contains(&p), "{p} not reported: {reported:?}");
        }
    }

    /// Orders hold funds: a malformed one refuses the import, and so does a base chain
    /// without a DEX to rest them in.
    #[test]
    fn malformed_orders_and_no_dex_are_refused() {
        let dump = json!({"state": {"dex": {"hive": {
            "sellOrders": {
                "0.200000:DLUXa": contract("DLUXa", "alice", "hive:sell", 1, 0, "0.2.0"),
                "0.200000:DLUXb": {"txid": "DLUXb", "from": "bob", "amount": 1.5, "rate": "0.200000", "block": 1},
                "0.200000:DLUXc": contract("DLUXc", "carol", "hive:buy", 5, 0, "0.200000"),
                "0.200000:DLUXd": {"txid": "DLUXd", "from": "dave", "amount": 5, "rate": "0.200000", "block": 1},
            },
            "weird": 1,
        }}}});
        let paths = refused(dump, &base(true));
        for p in [
            "dex/hive/sellOrders/0.200000:DLUXa/rate",
            "dex/hive/sellOrders/0.200000:DLUXb/amount",
            "dex/hive/sellOrders/0.200000:DLUXc/type",
            "dex/hive/sellOrders/0.200000:DLUXd/expire_path",
            "dex/hive/weird",
        ] {
            assert!(paths.iter().any(|x| x == p), "{p} not refused: {paths:?}");
        }
        let ok = json!({"state": {"dex": {"hbd": {"sellOrders": {
            "0.010000:DLUXa": contract("DLUXa", "alice", "hbd:sell", 9, 0, "0.010000")}}}}});
        assert_eq!(refused(ok, &base(false)), vec!["dex".to_string()]);
    }

    /// The reference's queued transfers become outflows; anything else there is refused or
    /// reported.
    #[test]
    fn queued_transfers_become_outflows() {
        let t = |to: &str, amount: &str| {
            json!(json!(["transfer", {"from": "dlux-cc", "to": to, "amount": amount, "memo": "DLUX fill"}]).to_string())
        };
        let dump = json!({"state": {"msa": {"alice:hive:1": t("alice", "1.500 HIVE"), "bob:hbd:2": t("bob", "0.020 HBD"),
                                             "x": json!(json!(["custom_json", {}]).to_string())},
                                     "mss": {"900": "{}"}}});
        let ok = import_state(&dump, 1_000, &base(true)).expect("imports");
        assert_eq!(
            ok.spec["modules"]["multisig"]["genesis"]["outflows"],
            json!([{"to": "alice", "asset": "HIVE", "amount": 1_500, "memo": "DLUX fill"},
                   {"to": "bob", "asset": "HBD", "amount": 20, "memo": "DLUX fill"}])
        );
        let reported: Vec<&str> = ok.not_imported.iter().map(|f| f.path.as_str()).collect();
        assert!(reported.contains(&"msa/x") && reported.contains(&"mss"), "{reported:?}");
        let bad = json!({"state": {"msa": {"a": t("alice", "1.5 HIVE"), "b": t("bob", "1.000 VESTS"), "c": "nope",
            "d": json!(json!(["transfer", {"from": "someone", "to": "bob", "amount": "1.000 HIVE"}]).to_string())}}});
        let paths = refused(bad, &base(true));
        assert_eq!(paths, vec!["msa/a", "msa/b", "msa/c", "msa/d"]);
    }
}
