//! Generated DEX traffic: sells (`<prefix>dex_sell`), buys by a transfer to the multi-sig
//! account with an order memo and by `<prefix>dex_buy`, cancellations (`<prefix>dex_clear`)
//! of orders this traffic placed earlier, and invalid orders of every kind the modules must
//! refuse. Limit prices straddle the tick (sells from a little below it to well above,
//! buys from well below to a little above), so some orders cross and fill and the rest
//! rest on the book; some live one hour, so expiries happen too.
//!
//! Deterministic: a function of (seed, block, the accounts' budget, the orders placed by
//! earlier blocks' generated traffic). Cancelling needs an order's id, which is made of the
//! placing transaction's id, known only once its block is sealed: [`DexOrders`] remembers
//! the ids from the sealed blocks ([`DexOrders::record`]).

use crate::traffic::{Rng, TrafficConfig};
use opentoken_core::{Asset, AssetSymbol, Block, ChainSpec, CustomJsonOp, HiveOp, TransferOp};
use opentoken_dex::config::DexConfig;
use opentoken_dex::order::order_id;
use opentoken_dex::price::format_rate;
use serde_json::{json, Map, Value};
use std::collections::VecDeque;

/// What the traffic must know of a chain's DEX to trade on it: order ids start with the
/// token symbol, a sell names its amount by the lower-cased symbol, and prices centre on
/// the ticks (micro-coin per token) so that the generated book looks like a market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DexTraffic {
    /// The token symbol, e.g. `DLUX`.
    pub token: String,
    /// The key of the token amount in `dex_sell`, e.g. `dlux`.
    pub json_key: String,
    /// The HIVE market's tick, micro-HIVE per token.
    pub tick_hive: u64,
    /// The HBD market's tick, micro-HBD per token.
    pub tick_hbd: u64,
    /// DEX transactions per block: `None` the devnet's mix (0 to 3, about 1.5), `Some(n)`
    /// exactly `n` (`opentoken bench --mix dex`).
    pub per_block: Option<u32>,
}

impl DexTraffic {
    /// Traffic for `token` around the DEX's default ticks.
    pub fn new(token: &str) -> Self {
        let ticks = DexConfig::default().tick;
        Self {
            token: token.to_string(),
            json_key: token.to_ascii_lowercase(),
            tick_hive: ticks.hive,
            tick_hbd: ticks.hbd,
            per_block: None,
        }
    }

    /// The traffic of a chain whose spec runs the DEX (`modules.dex`), around its ticks;
    /// `None` when it runs none (or its section is invalid: such a chain does not start).
    pub fn from_spec(spec: &ChainSpec) -> Option<Self> {
        let cfg = DexConfig::from_spec(spec).ok().flatten()?;
        Some(Self {
            tick_hive: cfg.tick.hive,
            tick_hbd: cfg.tick.hbd,
            ..Self::new(&spec.token)
        })
    }

    fn tick(&self, hbd: bool) -> u64 {
        if hbd {
            self.tick_hbd
        } else {
            self.tick_hive
        }
    }
}

/// How many orders the generated traffic remembers for cancelling (the newest).
const REMEMBERED: usize = 64;

/// An order the generated traffic placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedOrder {
    pub owner: String,
    pub id: String,
}

/// The orders earlier blocks' generated traffic placed (the newest [`REMEMBERED`], oldest
/// first), less those it cancelled since. Some have filled or expired meanwhile: the
/// module refuses their cancellation, as it would a user's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DexOrders {
    open: VecDeque<GeneratedOrder>,
}

/// An order placed by a generated transaction of a block not yet sealed: operation `op`
/// of the block's transaction `tx`, signed by `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub tx: usize,
    pub op: u32,
    pub from: String,
}

impl DexOrders {
    pub fn open(&self) -> impl Iterator<Item = &GeneratedOrder> {
        self.open.iter()
    }

    /// Remembers the orders `placed` in `block` (sealed: its transactions have their ids),
    /// by the id the DEX gives them.
    pub fn record(&mut self, token: &str, block: &Block, placed: &[Placement]) {
        for p in placed {
            let Some(tx) = block.transactions.get(p.tx) else {
                continue;
            };
            self.open.push_back(GeneratedOrder {
                owner: p.from.clone(),
                id: order_id(token, &p.from, &tx.txid, p.op),
            });
            if self.open.len() > REMEMBERED {
                self.open.pop_front();
            }
        }
    }

    /// Forgets cancelled orders.
    pub fn forget(&mut self, ids: &[String]) {
        self.open.retain(|o| !ids.contains(&o.id));
    }
}

/// One generated DEX transaction (all its operations signed by one account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DexTx {
    pub operations: Vec<HiveOp>,
    /// `(op index, signer)` of each operation that places a valid order.
    pub placed: Vec<(u32, String)>,
    /// The orders it cancels (ids from [`DexOrders`]).
    pub cancels: Vec<String>,
}

/// How many DEX transactions a block gets (0 to 3, one or two mostly).
pub fn dex_count(rng: &mut Rng) -> u64 {
    match rng.range(0, 9) {
        0 => 0,
        1..=4 => 1,
        5..=8 => 2,
        _ => 3,
    }
}

/// What one generated operation is.
enum Made {
    Order(HiveOp),
    Cancel(HiveOp, String),
    Invalid(HiveOp),
}

/// Kinds of valid operations, by a roll in `0..=89` (90..=99 is invalid): sells 38 %,
/// buys by transfer 27 %, `dex_buy` 12 %, cancellations 13 %.
const SELL: std::ops::RangeInclusive<u64> = 0..=37;
const TRANSFER_BUY: std::ops::RangeInclusive<u64> = 38..=64;
const L2_BUY: std::ops::RangeInclusive<u64> = 65..=76;
const CANCEL: std::ops::RangeInclusive<u64> = 77..=89;

/// One DEX transaction of a traffic account (`ms` excluded), or `None` when the one drawn
/// cannot be made (a transfer the account cannot afford, a cancellation with nothing to
/// cancel). `available(account, symbol)` is what the account may still spend in this block
/// (see `Budget`): transfers never exceed it, so they never overdraw.
///
/// One in twelve transactions carries a second operation of the same signer (never a
/// transfer: the budget covers the first only), so order ids of later operations of a
/// transaction are exercised too.
pub fn dex_transaction(
    cfg: &TrafficConfig,
    dex: &DexTraffic,
    ms: &str,
    rng: &mut Rng,
    orders: &DexOrders,
    available: impl Fn(&str, AssetSymbol) -> i64,
) -> Option<DexTx> {
    let users: Vec<&String> = cfg.accounts.iter().filter(|a| a.as_str() != ms).collect();
    let roll = rng.range(0, 99);
    let (actor, first) = if CANCEL.contains(&roll) {
        let open: Vec<&GeneratedOrder> = orders.open().collect();
        let o = rng.pick(&open)?;
        (o.owner.clone(), cancel(cfg, &o.owner, &o.id))
    } else {
        let actor = rng.pick(&users)?.to_string();
        let made = make(cfg, dex, ms, rng, orders, &actor, roll, &available, &[])?;
        (actor, made)
    };
    let mut tx = DexTx {
        operations: Vec::new(),
        placed: Vec::new(),
        cancels: Vec::new(),
    };
    push(&mut tx, &actor, first);
    if rng.chance(83) {
        let roll = rng.range(0, 89);
        let taken = tx.cancels.clone();
        if let Some(second) = make(cfg, dex, ms, rng, orders, &actor, roll, &|_: &str, _| 0, &taken) {
            push(&mut tx, &actor, second);
        }
    }
    Some(tx)
}

fn push(tx: &mut DexTx, actor: &str, made: Made) {
    let index = tx.operations.len() as u32;
    match made {
        Made::Order(op) => {
            tx.placed.push((index, actor.to_string()));
            tx.operations.push(op);
        }
        Made::Cancel(op, id) => {
            tx.cancels.push(id);
            tx.operations.push(op);
        }
        Made::Invalid(op) => tx.operations.push(op),
    }
}

fn cj(cfg: &TrafficConfig, name: &str, signer: &str, active: bool, json: String) -> HiveOp {
    HiveOp::CustomJson(CustomJsonOp {
        required_auths: if active { vec![signer.to_string()] } else { vec![] },
        required_posting_auths: if active { vec![] } else { vec![signer.to_string()] },
        id: format!("{}{name}", cfg.prefix),
        json,
    })
}

fn cancel(cfg: &TrafficConfig, owner: &str, id: &str) -> Made {
    Made::Cancel(
        cj(cfg, "dex_clear", owner, true, json!({ "txid": id }).to_string()),
        id.to_string(),
    )
}

/// A limit price: the tick moved by `-below..=above` hundredths of it, at least 1.
fn price(rng: &mut Rng, tick: u64, below: u64, above: u64) -> u64 {
    let step = (tick / 100).max(1);
    let k = rng.range(0, below + above) as i128 - below as i128;
    let p = tick as i128 + k * step as i128;
    u64::try_from(p.max(1)).unwrap_or(1)
}

/// Optional `hours` (a quarter of orders, half of those a single hour) and `payout`.
fn extras(rng: &mut Rng, body: &mut Map<String, Value>) {
    if rng.chance(250) {
        let hours = if rng.chance(500) { 1 } else { rng.range(1, 720) };
        body.insert("hours".into(), json!(hours));
    }
    if rng.chance(200) {
        let payout = if rng.chance(500) { "l2" } else { "hive" };
        body.insert("payout".into(), json!(payout));
    }
}

/// A sell's token amount: a few tokens mostly, sometimes a few hundred (milli-tokens).
fn sell_amount(rng: &mut Rng) -> u64 {
    if rng.chance(200) {
        rng.range(40_000, 300_000)
    } else {
        rng.range(2_000, 40_000)
    }
}

fn sell_body(dex: &DexTraffic, rng: &mut Rng) -> Map<String, Value> {
    let hbd = rng.chance(300);
    let (coin, pair) = if hbd { ("hbd", "HBD") } else { ("hive", "HIVE") };
    let amount = sell_amount(rng);
    let mut body = Map::new();
    body.insert(dex.json_key.clone(), json!(amount));
    match rng.range(0, 99) {
        // A limit order by the total asked (the reference's form).
        0..=59 => {
            let p = price(rng, dex.tick(hbd), 4, 12);
            let total = (u128::from(amount) * u128::from(p)).div_ceil(1_000_000).max(1);
            body.insert(coin.into(), json!(u64::try_from(total).unwrap_or(u64::MAX)));
        }
        // A limit order by rate and pair (opentoken's form).
        60..=74 => {
            let p = price(rng, dex.tick(hbd), 4, 12);
            body.insert("rate".into(), json!(format_rate(p)));
            body.insert("pair".into(), json!(pair));
        }
        // A market order.
        _ => {
            if hbd || rng.chance(300) {
                body.insert("pair".into(), json!(pair));
            }
        }
    }
    extras(rng, &mut body);
    body
}

/// A buy's coin amount in milli-units, at most `cap`; `None` when `cap` is below the least.
fn buy_amount(rng: &mut Rng, hbd: bool, cap: i64) -> Option<u64> {
    let (lo, hi) = if hbd { (20, 3_000) } else { (100, 25_000) };
    let cap = u64::try_from(cap).ok()?;
    (cap >= lo).then(|| rng.range(lo, hi.min(cap)))
}

/// A buy's order fields: a rate (a limit) or none (a market order), hours, payout.
fn buy_fields(dex: &DexTraffic, rng: &mut Rng, hbd: bool) -> Map<String, Value> {
    let mut fields = Map::new();
    if !rng.chance(150) {
        let p = price(rng, dex.tick(hbd), 12, 4);
        fields.insert("rate".into(), json!(format_rate(p)));
    }
    extras(rng, &mut fields);
    fields
}

fn transfer(from: &str, ms: &str, amount: u64, hbd: bool, memo: String) -> HiveOp {
    HiveOp::Transfer(TransferOp {
        from: from.to_string(),
        to: ms.to_string(),
        amount: Asset::new(amount as i64, if hbd { AssetSymbol::Hbd } else { AssetSymbol::Hive }),
        memo,
    })
}

#[allow(clippy::too_many_arguments)]
fn make(
    cfg: &TrafficConfig,
    dex: &DexTraffic,
    ms: &str,
    rng: &mut Rng,
    orders: &DexOrders,
    actor: &str,
    roll: u64,
    available: &dyn Fn(&str, AssetSymbol) -> i64,
    taken: &[String],
) -> Option<Made> {
    let sym = |hbd: bool| if hbd { AssetSymbol::Hbd } else { AssetSymbol::Hive };
    if SELL.contains(&roll) {
        let body = sell_body(dex, rng);
        return Some(Made::Order(cj(
            cfg,
            "dex_sell",
            actor,
            true,
            Value::Object(body).to_string(),
        )));
    }
    if TRANSFER_BUY.contains(&roll) {
        let hbd = rng.chance(300);
        let amount = buy_amount(rng, hbd, available(actor, sym(hbd)))?;
        let fields = buy_fields(dex, rng, hbd);
        // The reference's `{"rate": ...}` when there is a rate, else (and sometimes anyway)
        // `{"dex": {...}}`; `{"dex": {}}` is a market order.
        let memo = if fields.contains_key("rate") && !rng.chance(250) {
            Value::Object(fields)
        } else {
            json!({ "dex": fields })
        };
        return Some(Made::Order(transfer(actor, ms, amount, hbd, memo.to_string())));
    }
    if L2_BUY.contains(&roll) {
        let hbd = rng.chance(300);
        let amount = if hbd { rng.range(20, 600) } else { rng.range(100, 5_000) };
        let mut body = Map::new();
        body.insert(if hbd { "hbd" } else { "hive" }.into(), json!(amount));
        body.extend(buy_fields(dex, rng, hbd));
        return Some(Made::Order(cj(
            cfg,
            "dex_buy",
            actor,
            true,
            Value::Object(body).to_string(),
        )));
    }
    if CANCEL.contains(&roll) {
        let own: Vec<&GeneratedOrder> = orders
            .open()
            .filter(|o| o.owner == actor && !taken.contains(&o.id))
            .collect();
        let o = rng.pick(&own)?;
        return Some(cancel(cfg, actor, &o.id));
    }
    invalid(cfg, dex, ms, rng, orders, actor, available).map(Made::Invalid)
}

/// One invalid DEX operation of `actor`: each kind one the modules must refuse (a transfer
/// one is refunded), without touching anyone's funds. `None` when a transfer drawn cannot
/// be afforded.
fn invalid(
    cfg: &TrafficConfig,
    dex: &DexTraffic,
    ms: &str,
    rng: &mut Rng,
    orders: &DexOrders,
    actor: &str,
    available: &dyn Fn(&str, AssetSymbol) -> i64,
) -> Option<HiveOp> {
    let key = dex.json_key.as_str();
    let sell = |json: Value| cj(cfg, "dex_sell", actor, true, json.to_string());
    let buy = |json: Value| cj(cfg, "dex_buy", actor, true, json.to_string());
    let memo_transfer = |rng: &mut Rng, memo: &str| -> Option<HiveOp> {
        let amount = buy_amount(rng, false, available(actor, AssetSymbol::Hive))?;
        Some(transfer(actor, ms, amount, false, memo.to_string()))
    };
    Some(match rng.range(0, 17) {
        0 => sell(json!({ key: 0, "hive": 100 })),
        1 => sell(json!({ key: -5_000, "hive": 500 })),
        2 => sell(json!({ key: 1.5, "hive": 100 })),
        3 => sell(json!({ key: 5_000, "hive": 500, "hbd": 60 })),
        4 => sell(json!({ key: 5_000, "rate": 0.1234567, "pair": "HIVE" })),
        5 => sell(json!({ key: 5_000, "pair": "BTC" })),
        6 => sell(json!({ key: 5_000, "hive": 500, "hours": 721 })),
        7 => cj(
            cfg,
            "dex_sell",
            actor,
            false,
            json!({ key: 5_000, "hive": 500 }).to_string(),
        ),
        8 => buy(json!({"hive": 1_000, "rate": -0.1})),
        9 => buy(json!({"hive": 1_000, "hbd": 100, "rate": "0.100000"})),
        10 => buy(json!({"hive": 0, "rate": "0.100000"})),
        11 => {
            // Someone else's order (an unknown one when there is none).
            let theirs: Vec<&GeneratedOrder> = orders.open().filter(|o| o.owner != actor).collect();
            let id = match rng.pick(&theirs) {
                Some(o) => o.id.clone(),
                None => order_id(&dex.token, "someone", &"ab".repeat(20), 0),
            };
            cj(cfg, "dex_clear", actor, true, json!({ "txid": id }).to_string())
        }
        12 => {
            let txid = format!(
                "{:016x}{:016x}{:08x}",
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64() as u32
            );
            let id = order_id(&dex.token, actor, &txid, 0);
            cj(cfg, "dex_clear", actor, true, json!({ "txid": id }).to_string())
        }
        13 => {
            let id = orders
                .open()
                .find(|o| o.owner == actor)
                .map(|o| o.id.clone())
                .unwrap_or_else(|| order_id(&dex.token, actor, &"cd".repeat(20), 0));
            cj(cfg, "dex_clear", actor, false, json!({ "txid": id }).to_string())
        }
        14 => memo_transfer(rng, "{\"rate\":\"abc\"}")?,
        15 => memo_transfer(rng, "{\"rate\":\"0.100000\",\"hours\":721}")?,
        16 => memo_transfer(rng, "{\"dex\":5}")?,
        _ => memo_transfer(rng, "{\"rate\":-0.1}")?,
    })
}

/// What a generated operation is to the modules, judged by the DEX's own parsers (so the
/// tests do not trust the generator's word for it).
#[cfg(test)]
pub(crate) mod judge {
    use super::DexTraffic;
    use opentoken_core::{ChainPos, HiveOp};
    use opentoken_dex::order::{parse_buy, parse_memo, parse_sell, MemoOrder, Placed};
    use opentoken_dex::{DexConfig, OrderIn, Pair};
    use serde_json::{Map, Value};

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) enum Kind {
        Sell(OrderIn),
        TransferBuy(OrderIn),
        L2Buy(OrderIn),
        /// An active-authority `dex_clear` of `id` by `by`.
        Clear {
            by: String,
            id: String,
        },
        /// A DEX op (or a DEX memo) the modules refuse.
        Invalid,
        /// Not a DEX op at all.
        Other,
    }

    fn object(json: &str) -> Option<Map<String, Value>> {
        match serde_json::from_str(json) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// `op` (operation `op_in_trx` of transaction `txid` in block `block`).
    pub(crate) fn kind(
        dex: &DexTraffic,
        prefix: &str,
        ms: &str,
        op: &HiveOp,
        txid: &str,
        block: u64,
        op_in_trx: u32,
    ) -> Kind {
        let cfg = DexConfig::default();
        match op {
            HiveOp::CustomJson(c) => {
                let Some(name) = c.id.strip_prefix(prefix) else {
                    return Kind::Other;
                };
                if !["dex_sell", "dex_buy", "dex_clear"].contains(&name) {
                    return Kind::Other;
                }
                let (Some(from), true) = (c.required_auths.first(), c.required_posting_auths.is_empty()) else {
                    return Kind::Invalid;
                };
                let placed = Placed {
                    token: &dex.token,
                    time: 0,
                    from,
                    txid,
                    pos: ChainPos::new(block, 0, op_in_trx),
                };
                let Some(body) = object(&c.json) else {
                    return Kind::Invalid;
                };
                match name {
                    "dex_sell" => parse_sell(&cfg, &dex.json_key, placed, &body).map_or(Kind::Invalid, Kind::Sell),
                    "dex_buy" => parse_buy(&cfg, placed, &body).map_or(Kind::Invalid, Kind::L2Buy),
                    _ => match body.get("txid") {
                        Some(Value::String(id)) => Kind::Clear {
                            by: from.clone(),
                            id: id.clone(),
                        },
                        _ => Kind::Invalid,
                    },
                }
            }
            HiveOp::Transfer(t) if t.to == ms => {
                let pair = if t.amount.symbol == opentoken_core::AssetSymbol::Hbd {
                    Pair::Hbd
                } else {
                    Pair::Hive
                };
                let placed = Placed {
                    token: &dex.token,
                    time: 0,
                    from: &t.from,
                    txid,
                    pos: ChainPos::new(block, 0, op_in_trx),
                };
                match parse_memo(&cfg, placed, pair, t.amount.amount as u64, &t.memo) {
                    MemoOrder::Order(o) => Kind::TransferBuy(o),
                    MemoOrder::Bad(_) => Kind::Invalid,
                    MemoOrder::NotDex => Kind::Other,
                }
            }
            _ => Kind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::Transaction;

    fn cfg() -> TrafficConfig {
        TrafficConfig {
            prefix: "dlux_".into(),
            accounts: ["alice", "bob", "carol", "dlux-cc"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            nodes: vec![],
            delegation_account: "dlux-io".into(),
            ops_per_block: (1, 1),
            invalid_per_mille: 0,
            msaccount: Some("dlux-cc".into()),
            dex: Some(DexTraffic::new("DLUX")),
            nft: None,
            pob: None,
        }
    }

    #[test]
    fn new_names_the_lower_cased_key_and_the_default_ticks() {
        let d = DexTraffic::new("DLUX");
        assert_eq!(
            (d.token.as_str(), d.json_key.as_str(), d.tick_hive, d.tick_hbd),
            ("DLUX", "dlux", 100_000, 12_500)
        );
    }

    #[test]
    fn from_spec_needs_the_dex_section_and_takes_its_ticks() {
        let spec = |modules: Value| -> ChainSpec {
            serde_json::from_value(json!({
                "name": "devnet", "prefix": "dlux_", "token": "DLUX", "precision": 3,
                "starting_block": 1, "leader": "dlux-io", "msaccount": "dlux-cc",
                "delegation_account": "dlux-io", "modules": modules,
            }))
            .unwrap()
        };
        assert_eq!(DexTraffic::from_spec(&spec(json!({"multisig": {}}))), None);
        assert_eq!(
            DexTraffic::from_spec(&spec(json!({"dex": {}}))),
            Some(DexTraffic::new("DLUX"))
        );
        let d = DexTraffic::from_spec(&spec(json!({"dex": {"tick": {"HIVE": 250_000, "HBD": 40_000}}}))).unwrap();
        assert_eq!(
            (d.tick_hive, d.tick_hbd, d.json_key.as_str()),
            (250_000, 40_000, "dlux")
        );
        assert_eq!(DexTraffic::from_spec(&spec(json!({"dex": {"bogus": 1}}))), None);
    }

    #[test]
    fn prices_straddle_the_tick() {
        let mut rng = Rng::new(1, 1, b"t");
        let sells: Vec<u64> = (0..500).map(|_| price(&mut rng, 100_000, 4, 12)).collect();
        let bids: Vec<u64> = (0..500).map(|_| price(&mut rng, 100_000, 12, 4)).collect();
        assert_eq!(sells.iter().min(), Some(&96_000));
        assert_eq!(sells.iter().max(), Some(&112_000));
        assert_eq!(bids.iter().min(), Some(&88_000));
        assert_eq!(bids.iter().max(), Some(&104_000));
        assert!((0..50).all(|_| price(&mut rng, 1, 100, 0) == 1), "never below 1");
    }

    #[test]
    fn orders_are_remembered_by_the_modules_id_and_forgotten_when_cancelled() {
        let block = Block {
            num: 5,
            id: String::new(),
            previous: String::new(),
            timestamp: 0,
            witness: String::new(),
            transactions: vec![
                Transaction {
                    txid: "aa".repeat(20),
                    operations: vec![],
                },
                Transaction {
                    txid: "bb".repeat(20),
                    operations: vec![],
                },
            ],
        };
        let mut orders = DexOrders::default();
        let at = |tx, op, from: &str| Placement {
            tx,
            op,
            from: from.into(),
        };
        orders.record("DLUX", &block, &[at(1, 0, "alice"), at(1, 1, "alice"), at(7, 0, "bob")]);
        let ids: Vec<String> = orders.open().map(|o| o.id.clone()).collect();
        assert_eq!(
            ids,
            [
                order_id("DLUX", "alice", &"bb".repeat(20), 0),
                order_id("DLUX", "alice", &"bb".repeat(20), 1)
            ]
        );
        orders.forget(&ids[..1]);
        assert_eq!(orders.open().count(), 1);
        for i in 0..100 {
            orders.record("DLUX", &block, &[at(0, i, "bob")]);
        }
        assert_eq!(orders.open().count(), REMEMBERED);
    }

    #[test]
    fn transactions_spend_only_what_is_available_and_never_sign_as_the_multisig() {
        let cfg = cfg();
        let dex = DexTraffic::new("DLUX");
        let mut orders = DexOrders::default();
        let block = Block {
            num: 1,
            id: String::new(),
            previous: String::new(),
            timestamp: 0,
            witness: String::new(),
            transactions: vec![Transaction {
                txid: "aa".repeat(20),
                operations: vec![],
            }],
        };
        orders.record(
            "DLUX",
            &block,
            &[Placement {
                tx: 0,
                op: 0,
                from: "bob".into(),
            }],
        );
        let mut transfers = 0;
        for b in 0..2_000 {
            let mut rng = Rng::new(9, b, b"dex");
            let avail = |a: &str, _| if a == "alice" { 0 } else { 150 };
            let Some(tx) = dex_transaction(&cfg, &dex, "dlux-cc", &mut rng, &orders, avail) else {
                continue;
            };
            assert!(!tx.operations.is_empty() && tx.operations.len() <= 2);
            for (i, op) in tx.operations.iter().enumerate() {
                match op {
                    HiveOp::Transfer(t) => {
                        transfers += 1;
                        assert_ne!(t.from, "alice", "alice can afford nothing");
                        assert!(t.amount.amount <= 150 && t.amount.amount > 0, "{t:?}");
                        assert_eq!(t.to, "dlux-cc");
                        assert_eq!(i, 0, "a second operation is never a transfer");
                    }
                    HiveOp::CustomJson(c) => {
                        assert!(!c.required_auths.contains(&"dlux-cc".to_string()), "{c:?}");
                        assert!(c.id.starts_with("dlux_dex_"), "{c:?}");
                    }
                    other => panic!("not a DEX op: {other:?}"),
                }
            }
        }
        assert!(transfers > 0);
    }

    /// The generator's word (placed, cancels, the rest invalid) is what the DEX's parsers
    /// make of each operation.
    #[test]
    fn what_is_generated_as_valid_parses_and_what_as_invalid_does_not() {
        use super::judge::{kind, Kind};
        let cfg = cfg();
        let dex = DexTraffic::new("DLUX");
        let mut orders = DexOrders::default();
        let block = Block {
            num: 1,
            id: String::new(),
            previous: String::new(),
            timestamp: 0,
            witness: String::new(),
            transactions: vec![Transaction {
                txid: "aa".repeat(20),
                operations: vec![],
            }],
        };
        let placements: Vec<Placement> = ["alice", "bob", "carol"]
            .iter()
            .map(|f| Placement {
                tx: 0,
                op: 0,
                from: f.to_string(),
            })
            .collect();
        orders.record("DLUX", &block, &placements);
        let owner = |id: &str| orders.open().find(|o| o.id == id).map(|o| o.owner.clone());
        let (mut placed, mut cancels, mut invalid, mut second) = (0, 0, 0, 0);
        for b in 0..3_000 {
            let mut rng = Rng::new(4, b, b"dex");
            let Some(tx) = dex_transaction(&cfg, &dex, "dlux-cc", &mut rng, &orders, |_: &str, _| 1_000_000) else {
                continue;
            };
            let txid = format!("{b:040x}");
            for (i, op) in tx.operations.iter().enumerate() {
                let i = i as u32;
                second += usize::from(i > 0);
                let k = kind(&dex, "dlux_", "dlux-cc", op, &txid, 1, i);
                if let Some((_, from)) = tx.placed.iter().find(|(at, _)| *at == i) {
                    placed += 1;
                    match k {
                        Kind::Sell(o) | Kind::TransferBuy(o) | Kind::L2Buy(o) => {
                            assert_eq!(o.from, *from);
                            assert_eq!(o.id, order_id("DLUX", from, &txid, i));
                        }
                        other => panic!("generated as an order, read as {other:?}: {op:?}"),
                    }
                } else if let Kind::Clear { by, id } = &k {
                    if tx.cancels.contains(id) {
                        cancels += 1;
                        assert_eq!(owner(id).as_deref(), Some(by.as_str()), "{op:?}");
                    } else {
                        invalid += 1;
                        assert_ne!(owner(id).as_deref(), Some(by.as_str()), "{op:?}");
                    }
                } else {
                    invalid += 1;
                    assert_eq!(k, Kind::Invalid, "generated as invalid: {op:?}");
                }
            }
        }
        let total = placed + cancels + invalid;
        assert!(second > 50, "{second} transactions of two operations");
        assert!(cancels > 50, "{cancels} cancellations");
        assert!(
            invalid * 1000 / total >= 60 && invalid * 1000 / total <= 150,
            "{invalid} of {total}"
        );
    }
}
