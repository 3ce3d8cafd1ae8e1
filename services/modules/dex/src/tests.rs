//! The DEX's decisions against a ledger of what it sent: every test checks that what
//! arrived equals what the DEX holds plus what it sent back.

use super::*;
use crate::keys::Order;
use crate::price::SCALE;
use opentoken_core::test_utils::test_spec;
use opentoken_core::{ChainPos, ModuleState};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// The module, its state and the ledger of everything that went in and out.
pub(crate) struct Desk {
    pub(crate) m: DexModule,
    pub(crate) state: ModuleState,
    pub(crate) block: u64,
    n: u64,
    /// Asset ("TOKEN", "HIVE", "HBD") -> escrowed in.
    pub(crate) into: BTreeMap<&'static str, u64>,
    /// (account, asset) -> received back (credits and payments).
    pub(crate) out: BTreeMap<(String, &'static str), u64>,
    pub(crate) events: Vec<DexEvent>,
}

pub(crate) fn spec_with(cfg: serde_json::Value) -> opentoken_core::ChainSpec {
    test_spec().with_module(NAME, cfg)
}

impl Desk {
    pub(crate) fn new(cfg: serde_json::Value) -> Self {
        let spec = spec_with(cfg);
        Self {
            m: DexModule::from_spec(&spec).unwrap(),
            state: ModuleState::new(),
            block: 10,
            n: 0,
            into: BTreeMap::new(),
            out: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    fn ctx_run(&mut self, input: Input<'_>) -> Result<Vec<DexEvent>, Reject> {
        let spec = spec_with(serde_json::json!({}));
        let ctx = OpContext {
            pos: ChainPos::new(self.block, 0, 0),
            txid: "tx",
            timestamp: 0,
            spec: &spec,
        };
        let events = self.m.handle(&ctx, input, &self.state)?;
        self.apply(&events);
        Ok(events)
    }

    pub(crate) fn apply(&mut self, events: &[DexEvent]) {
        for e in events {
            self.m
                .apply(e, &mut self.state)
                .unwrap_or_else(|err| panic!("{e:?}: {err}"));
            for msg in self.m.messages(e) {
                let (account, asset, amount) = match msg.kind.as_str() {
                    "credit" => {
                        let c: Credit = serde_json::from_str(&msg.payload).unwrap();
                        (c.account, "TOKEN", c.amount)
                    }
                    "pay" => {
                        let p: Pay = serde_json::from_str(&msg.payload).unwrap();
                        (p.account, p.coin.symbol(), p.amount)
                    }
                    // Points, not money: the token module pays them from its own pool.
                    "liquidity" => continue,
                    other => panic!("unexpected message {other}"),
                };
                assert!(amount > 0, "an empty {msg:?}");
                *self.out.entry((account, asset)).or_default() += amount;
            }
            self.events.push(e.clone());
        }
    }

    /// Delivers an escrowed order; returns its id.
    pub(crate) fn place(&mut self, from: &str, side: Side, pair: Pair, amount: u64, price: u64) -> String {
        self.n += 1;
        let id = format!("O{:05}", self.n);
        let order = OrderIn {
            id: id.clone(),
            from: from.into(),
            pair,
            side,
            amount,
            price,
            expires: self.block + 100,
            payout: Payout::L2,
            txid: format!("{:040}", self.n),
            block: self.block,
            time: 1_000 + self.block * 3,
        };
        let asset = match side {
            Side::Ask => "TOKEN",
            Side::Bid => pair.symbol(),
        };
        *self.into.entry(asset).or_default() += amount;
        let kind_from = match side {
            Side::Ask => protocol::TOKEN,
            Side::Bid => protocol::MULTISIG,
        };
        let msg = Message {
            from: kind_from.into(),
            to: NAME.into(),
            pos: ChainPos::new(self.block - 1, 0, 0),
            seq: 0,
            kind: KIND_ORDER.into(),
            payload: serde_json::to_string(&order).unwrap(),
        };
        self.ctx_run(Input::Message(&msg)).unwrap();
        id
    }

    pub(crate) fn message(&mut self, from: &str, kind: &str, payload: &str) -> Result<Vec<DexEvent>, Reject> {
        let msg = Message {
            from: from.into(),
            to: NAME.into(),
            pos: ChainPos::new(self.block - 1, 0, 0),
            seq: 0,
            kind: kind.into(),
            payload: payload.into(),
        };
        self.ctx_run(Input::Message(&msg))
    }

    pub(crate) fn clear(&mut self, from: &str, id: &str) -> Result<Vec<DexEvent>, Reject> {
        let payload = serde_json::json!({ "txid": id });
        let serde_json::Value::Object(p) = payload else {
            unreachable!()
        };
        self.ctx_run(Input::CustomJson {
            name: "dex_clear",
            from,
            auth: opentoken_core::Auth::Active,
            payload: &p,
        })
    }

    pub(crate) fn end_block(&mut self) -> Vec<DexEvent> {
        let spec = spec_with(serde_json::json!({}));
        let ctx = BlockContext {
            block: self.block,
            spec: &spec,
            header: None,
        };
        let events = self.m.on_block(&ctx, &self.state).unwrap();
        self.apply(&events);
        self.block += 1;
        events
    }

    pub(crate) fn got(&self, account: &str, asset: &'static str) -> u64 {
        self.out.get(&(account.to_string(), asset)).copied().unwrap_or(0)
    }

    pub(crate) fn resting(&self) -> Vec<Order> {
        self.state
            .scan_prefix(b"ord/")
            .map(|(_, v)| serde_json::from_slice(v).unwrap())
            .collect()
    }

    /// Everything that arrived is held or was sent back; what is held is what rests.
    pub(crate) fn check_conservation(&self) {
        escrow_matches_book(&self.state).unwrap();
        let held = |asset: keys::Asset| keys::num(&self.state, &asset.key());
        for (name, asset) in [
            ("TOKEN", keys::Asset::Token),
            ("HIVE", keys::Asset::Coin(Pair::Hive)),
            ("HBD", keys::Asset::Coin(Pair::Hbd)),
        ] {
            let sent: u64 = self.out.iter().filter(|((_, a), _)| *a == name).map(|(_, v)| v).sum();
            let arrived = self.into.get(name).copied().unwrap_or(0);
            assert_eq!(
                arrived,
                held(asset) + sent,
                "{name}: in {arrived}, held {}, out {sent}",
                held(asset)
            );
        }
    }

    /// No resting bid and ask of a pair can trade with each other (the later one as taker).
    pub(crate) fn check_uncrossed(&self) {
        for pair in Pair::ALL {
            let bids = views::book(&self.state, pair, Side::Bid, usize::MAX);
            let asks = views::book(&self.state, pair, Side::Ask, usize::MAX);
            for b in &bids {
                for a in asks.iter().filter(|a| a.price <= b.price) {
                    if a.from == b.from {
                        panic!("own orders {} and {} cross", a.id, b.id);
                    }
                    let fill = if b.seq > a.seq {
                        price::taker_fill(price::MakerSide::Ask, a.price, a.amount, b.amount, Some(b.price))
                    } else {
                        price::taker_fill(price::MakerSide::Bid, b.price, a.amount, b.amount, Some(a.price))
                    };
                    assert!(
                        fill.is_none(),
                        "bid {b:?} and ask {a:?} rest crossed and could trade {fill:?}"
                    );
                }
            }
        }
    }
}

const P: u64 = SCALE / 10; // 0.1 coin per token

/// A DEX paying the liquidity reward (counts at 99 of 100, the token's DAO day at 199) with
/// three resting bids: alice's 1.000 HIVE at twice bob's price, bob's 3.000 HIVE, carol's
/// 0.500 HBD.
fn liquidity_desk() -> Desk {
    let spec = test_spec()
        .with_module(NAME, serde_json::json!({"fee_ppm": 0, "liquidity": {}}))
        .with_module(
            "token",
            serde_json::json!({"power_down_interval": 1, "gov_down_interval": 1,
                "economy": {"interest_rate": 1, "dao_every": 1_000, "dao_offset": 199}}),
        );
    let mut d = Desk::new(serde_json::json!({}));
    d.m = DexModule::from_spec(&spec).unwrap();
    d.place("alice", Side::Bid, Pair::Hive, 1_000, 2 * P);
    d.place("bob", Side::Bid, Pair::Hive, 3_000, P);
    d.place("carol", Side::Bid, Pair::Hbd, 500, P);
    d
}

/// The liquidity reward by hand (token-core §5.6): at each count block every resting bid
/// earns `⌊price·amount/best price⌋` points (the best bid its amount, one at half the price
/// half of it); asks earn nothing; at the token's DAO day the points of every count, that
/// block's included, go to the token module as one `liquidity` message and are cleared.
#[test]
fn resting_bids_earn_liquidity_points_sent_at_the_dao_day() {
    let mut d = liquidity_desk();
    d.place("dave", Side::Ask, Pair::Hive, 9_000, 3 * P);
    assert_eq!(d.m.next_due_block(&d.state, 10), Some(99), "the next count");
    d.block = 99;
    let counted = d.end_block();
    assert_eq!(
        counted,
        vec![DexEvent::LiquidityCounted {
            block: 99,
            awards: vec![("alice".into(), 1_000), ("bob".into(), 1_500), ("carol".into(), 500)],
        }]
    );
    d.block = 199;
    // The DAO day is also a count block here: two counts in all.
    let sent = d.end_block();
    // The bids expire at this block too (their chron work runs first, from the same state:
    // a bid that rested through the count earns it).
    let sent: Vec<&DexEvent> = sent
        .iter()
        .filter(|e| matches!(e, DexEvent::LiquiditySent { .. }))
        .collect();
    let [DexEvent::LiquiditySent { awards, .. }] = sent[..] else {
        panic!("{sent:?}")
    };
    assert_eq!(
        awards,
        &vec![("alice".into(), 2_000), ("bob".into(), 3_000), ("carol".into(), 1_000)]
    );
    let msgs = d.m.messages(sent[0]);
    assert_eq!(msgs.len(), 1);
    assert_eq!((msgs[0].to.as_str(), msgs[0].kind.as_str()), ("token", "liquidity"));
    let l: protocol::Liquidity = serde_json::from_str(&msgs[0].payload).unwrap();
    assert_eq!(l.accounts.get("bob"), Some(&3_000));
    assert_eq!(d.state.scan_prefix(b"liq/").count(), 0, "points cleared");
    d.check_conservation();
    // Without a token economy to pay it, the reward is a configuration error.
    let no_economy = test_spec().with_module(NAME, serde_json::json!({"liquidity": {}}));
    let err = DexModule::from_spec(&no_economy).expect_err("refused");
    assert!(err.why.contains("modules.token.economy"), "{}", err.why);
}

/// More accounts hold points than one `liquidity` message may name (a cap of 2 here, 100,000
/// in production, what the token accepts): this block's count is recorded, the two top
/// earners are sent and cleared, and the third keeps its points for the next day.
#[test]
fn liquidity_beyond_one_message_sends_the_top_earners_and_keeps_the_rest() {
    let mut d = liquidity_desk();
    d.block = 99;
    d.end_block();
    let l = d.m.cfg.liquidity.clone().expect("liquidity on");
    let events = liquidity_capped(&l, 199, &d.state, 2).unwrap();
    let counted = vec![("alice".into(), 1_000), ("bob".into(), 1_500), ("carol".into(), 500)];
    assert_eq!(
        events,
        vec![
            DexEvent::LiquidityCounted {
                block: 199,
                awards: counted
            },
            DexEvent::LiquiditySent {
                block: 199,
                awards: vec![("alice".into(), 2_000), ("bob".into(), 3_000)]
            },
        ]
    );
    d.apply(&events);
    let left: Vec<(Vec<u8>, Vec<u8>)> = d
        .state
        .scan_prefix(b"liq/")
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    assert_eq!(left, vec![(b"liq/carol".to_vec(), 1_000u64.to_be_bytes().to_vec())]);
}

#[test]
fn a_bid_takes_an_ask_at_the_asks_price_and_pays_the_fee_in_tokens() {
    let mut d = Desk::new(serde_json::json!({}));
    d.place("alice", Side::Ask, Pair::Hive, 10_000, P);
    d.place("bob", Side::Bid, Pair::Hive, 2_000, 2 * P);
    // bob's 2.000 HIVE at 0.1 buys 20.000 tokens, but only 10.000 are offered at 0.1:
    // 10.000 tokens for 1.000 HIVE; fee 0.5% = 50 milli-tokens.
    assert_eq!(d.got("bob", "TOKEN"), 10_000 - 50);
    assert_eq!(d.got("rn", "TOKEN"), 50);
    assert_eq!(d.got("alice", "HIVE"), 1_000);
    // The rest of bob's coin rests as a bid at his limit.
    let rest = d.resting();
    assert_eq!(rest.len(), 1);
    assert_eq!((rest[0].side, rest[0].amount, rest[0].price), (Side::Bid, 1_000, 2 * P));
    assert_eq!(views::tick(d.m.config(), &d.state, Pair::Hive), P);
    d.check_conservation();
    d.check_uncrossed();
}

#[test]
fn price_then_time_priority_decides_who_fills() {
    let mut d = Desk::new(serde_json::json!({"fee_ppm": 0}));
    d.place("a1", Side::Ask, Pair::Hive, 1_000, 2 * P);
    d.place("a2", Side::Ask, Pair::Hive, 1_000, P);
    d.place("a3", Side::Ask, Pair::Hive, 1_000, P);
    d.place("buyer", Side::Bid, Pair::Hive, 150, 3 * P);
    // Best price first (a2, a3 at 0.1), oldest first within it: a2 fills fully (100 coin),
    // a3 gets the remaining 50 coin (500 tokens).
    assert_eq!(d.got("a2", "HIVE"), 100);
    assert_eq!(d.got("a3", "HIVE"), 50);
    assert_eq!(d.got("a1", "HIVE"), 0);
    assert_eq!(d.got("buyer", "TOKEN"), 1_500);
    d.check_conservation();
    d.check_uncrossed();
}

#[test]
fn a_market_order_returns_what_the_book_cannot_fill() {
    let mut d = Desk::new(serde_json::json!({"fee_ppm": 0}));
    d.place("bidder", Side::Bid, Pair::Hbd, 100, P);
    d.place("seller", Side::Ask, Pair::Hbd, 5_000, 0);
    // 100 milli-HBD at 0.1: a resting bid pays floor(tokens x price), so the market seller
    // gives it 1.009 tokens for the 100 (never more than the bid's price); 3.991 go back.
    assert_eq!(d.got("bidder", "TOKEN"), 1_009);
    assert_eq!(d.got("seller", "HBD"), 100);
    assert_eq!(d.got("seller", "TOKEN"), 3_991);
    assert!(d.resting().is_empty());
    assert!(d.events.iter().any(|e| matches!(
        e,
        DexEvent::Returned {
            why: ReturnWhy::Unfilled,
            amount: 3_991,
            ..
        }
    )));
    d.check_conservation();
}

#[test]
fn an_account_never_trades_with_itself() {
    let mut d = Desk::new(serde_json::json!({}));
    let own = d.place("alice", Side::Ask, Pair::Hive, 1_000, P);
    d.place("alice", Side::Bid, Pair::Hive, 500, P);
    // Her resting ask is cancelled and returned; her bid rests.
    assert_eq!(d.got("alice", "TOKEN"), 1_000);
    assert!(views::order(&d.state, &own).is_none());
    assert_eq!(d.resting().len(), 1);
    d.check_conservation();
    d.check_uncrossed();
}

#[test]
fn cancel_returns_exactly_the_unfilled_rest_and_only_to_its_owner() {
    let mut d = Desk::new(serde_json::json!({"fee_ppm": 0}));
    let id = d.place("alice", Side::Ask, Pair::Hive, 10_000, P);
    d.place("bob", Side::Bid, Pair::Hive, 300, P);
    assert_eq!(d.got("bob", "TOKEN"), 3_000);
    let r = d.clear("mallory", &id).unwrap_err();
    assert_eq!(r.code, RejectCode::InvalidAccount);
    d.clear("alice", &id).unwrap();
    assert_eq!(d.got("alice", "TOKEN"), 7_000);
    assert_eq!(d.clear("alice", &id).unwrap_err().code, RejectCode::NothingToDo);
    d.check_conservation();
}

#[test]
fn orders_expire_after_their_block_and_return_their_rest() {
    let mut d = Desk::new(serde_json::json!({}));
    let id = d.place("alice", Side::Bid, Pair::Hbd, 1_000, P);
    let expires = views::order(&d.state, &id).unwrap().expires;
    assert_eq!(d.m.next_due_block(&d.state, 0), Some(expires + 1));
    d.block = expires;
    assert!(d.end_block().is_empty());
    let e = d.end_block();
    assert!(matches!(
        &e[..],
        [DexEvent::Returned {
            why: ReturnWhy::Expired,
            ..
        }]
    ));
    assert_eq!(d.got("alice", "HBD"), 1_000);
    assert_eq!(d.m.next_due_block(&d.state, 0), None);
    d.check_conservation();
}

#[test]
fn a_bid_above_the_collateral_cap_rests_capped_and_the_rest_is_returned() {
    let mut d = Desk::new(serde_json::json!({}));
    // 100.000 tokens of collateral at the HIVE tick 0.1: 10.000 HIVE per bid.
    d.message("nodes", "collateral", "{\"stake\":100000}").unwrap();
    d.place("whale", Side::Bid, Pair::Hive, 25_000, P);
    assert_eq!(d.got("whale", "HIVE"), 15_000);
    assert_eq!(d.resting()[0].amount, 10_000);
    // With a slope, a bid at half the tick holds less.
    d.message(
        "nodes",
        "params",
        "{\"fee_ppm\":5000,\"dex_max_bp\":10000,\"dex_slope_bp\":10000}",
    )
    .unwrap();
    d.place("low", Side::Bid, Pair::Hive, 25_000, P / 2);
    assert_eq!(d.got("low", "HIVE"), 20_000);
    d.check_conservation();
}

#[test]
fn one_order_meets_at_most_max_fills_per_order_resting_orders() {
    let mut d = Desk::new(serde_json::json!({"max_fills_per_order": 3, "fee_ppm": 0}));
    for i in 0..5 {
        d.place(&format!("s{i}"), Side::Ask, Pair::Hive, 1_000, P);
    }
    d.place("buyer", Side::Bid, Pair::Hive, 1_000, P);
    assert_eq!(d.got("buyer", "TOKEN"), 3_000);
    assert_eq!(d.got("buyer", "HIVE"), 700);
    assert_eq!(d.resting().len(), 2);
    d.check_conservation();
}

#[test]
fn rounding_never_favours_the_taker_over_its_limit() {
    let mut d = Desk::new(serde_json::json!({"fee_ppm": 0}));
    // 0.333334 HIVE per token: 3 milli-tokens are worth 1.000002 milli-HIVE.
    d.place("seller", Side::Ask, Pair::Hive, 3, 333_334);
    // A bid at the same price cannot pay a rounded-up milli-HIVE for them: no fill, and
    // the two rest side by side (they cannot trade with each other).
    d.place("buyer", Side::Bid, Pair::Hive, 5, 333_334);
    assert_eq!(d.got("seller", "HIVE"), 0);
    d.check_uncrossed();
    // A market buyer accepts the seller's rounding: 2 milli-HIVE for the 3 tokens.
    d.place("taker", Side::Bid, Pair::Hive, 10, 0);
    assert_eq!(d.got("seller", "HIVE"), 2);
    assert_eq!(d.got("taker", "TOKEN"), 3);
    d.check_conservation();
}

#[test]
fn messages_from_strangers_or_malformed_change_nothing() {
    let mut d = Desk::new(serde_json::json!({}));
    let before = d.state.clone();
    for (from, kind, payload) in [
        ("token", "order", "{}"),
        ("nodes", "order", "{}"),
        ("token", "collateral", "{\"stake\":1}"),
        ("nodes", "collateral", "{\"stake\":-1}"),
        (
            "nodes",
            "params",
            "{\"fee_ppm\":999999,\"dex_max_bp\":1,\"dex_slope_bp\":0}",
        ),
        ("multisig", "pay", "{}"),
    ] {
        assert_eq!(d.message(from, kind, payload).unwrap_err().code, RejectCode::BadMessage);
    }
    // An ask from multisig (it escrows only bids) is refused too.
    let o = OrderIn {
        id: "x".into(),
        from: "a".into(),
        pair: Pair::Hive,
        side: Side::Ask,
        amount: 5,
        price: 1,
        expires: 1,
        payout: Payout::L2,
        txid: "t".into(),
        block: 1,
        time: 1,
    };
    let r = d.message("multisig", "order", &serde_json::to_string(&o).unwrap());
    assert_eq!(r.unwrap_err().code, RejectCode::BadMessage);
    assert_eq!(d.state.to_map(), before.to_map());
}

/// Price-time priority: the resting orders an incoming order traded with are a prefix of
/// the book as it was (best price first, oldest first within a price), except for orders
/// it could not trade with at all (its own, cancelled; or ones the rounding rule excludes
/// at its limit), and every order ahead of the last one it traded with is gone or was
/// traded with.
fn check_priority(before: &[Order], events: &[DexEvent], state: &ModuleState, side: Side, limit: u64, amount: u64) {
    let filled: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            DexEvent::Filled(f) => Some(f.maker.as_str()),
            _ => None,
        })
        .collect();
    let Some(last) = filled.last() else { return };
    let last_at = before
        .iter()
        .position(|o| o.id == *last)
        .expect("a maker was in the book");
    let mut seen_at = 0;
    for m in &filled {
        let at = before.iter().position(|o| o.id == *m).expect("maker in the book");
        assert!(at >= seen_at, "makers filled out of book order: {filled:?}");
        seen_at = at;
    }
    for (at, skipped) in before[..last_at].iter().enumerate() {
        if filled.contains(&skipped.id.as_str()) || views::order(state, &skipped.id).is_none() {
            continue;
        }
        // Still resting, ahead of a filled maker: only if this order could not trade with it
        // with what it had left when it got there.
        let spent: u64 = events
            .iter()
            .filter_map(|e| match e {
                DexEvent::Filled(f) if before.iter().position(|o| o.id == f.maker).is_some_and(|p| p < at) => {
                    Some(if side == Side::Bid { f.coin } else { f.tokens })
                }
                _ => None,
            })
            .sum();
        let left = amount - spent;
        let lim = (limit > 0).then_some(limit);
        let fill = match side {
            Side::Bid => price::taker_fill(price::MakerSide::Ask, skipped.price, skipped.amount, left, lim),
            Side::Ask => price::taker_fill(price::MakerSide::Bid, skipped.price, left, skipped.amount, lim),
        };
        assert!(
            fill.is_none(),
            "{skipped:?} was skipped although it could trade ({fill:?})"
        );
    }
}

/// A random op of the property test.
#[derive(Debug, Clone)]
enum Op {
    Place {
        who: u8,
        bid: bool,
        hbd: bool,
        amount: u64,
        price: u64,
    },
    Cancel {
        who: u8,
        nth: usize,
    },
    Blocks(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..5, any::<bool>(), any::<bool>(), 1u64..50_000, prop_oneof![Just(0u64), 50_000u64..150_000, 1u64..3_000_000])
            .prop_map(|(who, bid, hbd, amount, price)| Op::Place { who, bid, hbd, amount, price }),
        1 => (0u8..5, 0usize..4).prop_map(|(who, nth)| Op::Cancel { who, nth }),
        1 => (1u64..60).prop_map(Op::Blocks),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Over random order sequences: TOKEN, HIVE and HBD are each conserved at every step,
    /// no resting bid and ask can trade with each other, price-time priority holds, every
    /// fill is inside both orders' limits, and cancel/expiry return exactly the unfilled
    /// rest.
    #[test]
    fn random_markets_conserve_and_never_cross(ops in proptest::collection::vec(op(), 1..80), collateral in proptest::option::of(1_000u64..2_000_000)) {
        let mut d = Desk::new(serde_json::json!({"max_fills_per_order": 8}));
        if let Some(stake) = collateral {
            d.message("nodes", "collateral", &format!("{{\"stake\":{stake}}}")).unwrap();
        }
        let names = ["ann", "ben", "cat", "dan", "eve"];
        let mut limits: BTreeMap<String, (Side, u64)> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Place { who, bid, hbd, amount, price } => {
                    let side = if bid { Side::Bid } else { Side::Ask };
                    let pair = if hbd { Pair::Hbd } else { Pair::Hive };
                    // The other side of the book before the order, best first.
                    let before: Vec<Order> = views::book(&d.state, pair, side.opposite(), usize::MAX);
                    let from = d.events.len();
                    let id = d.place(names[who as usize], side, pair, amount, price);
                    check_priority(&before, &d.events[from..], &d.state, side, price, amount);
                    limits.insert(id, (side, price));
                }
                Op::Cancel { who, nth } => {
                    let mine = views::account_orders(&d.state, names[who as usize], 16);
                    if let Some(o) = mine.get(nth) {
                        let before = o.amount;
                        let e = d.clear(names[who as usize], &o.id.clone()).unwrap();
                        let returned = matches!(&e[..], [DexEvent::Returned { amount, .. }] if *amount == before);
                        prop_assert!(returned, "cancel returned {:?}, not the rest {}", e, before);
                    }
                }
                Op::Blocks(n) => {
                    for _ in 0..n {
                        d.end_block();
                    }
                }
            }
            d.check_conservation();
            d.check_uncrossed();
        }
        for e in &d.events {
            if let DexEvent::Filled(f) = e {
                let value = u128::from(f.coin) * u128::from(SCALE);
                for id in [&f.maker, &f.taker] {
                    let (side, limit) = limits[id.as_str()];
                    if limit == 0 { continue; }
                    let at = u128::from(f.tokens) * u128::from(limit);
                    match side {
                        Side::Bid => prop_assert!(value <= at, "buyer {id} paid over its limit"),
                        Side::Ask => prop_assert!(value >= at, "seller {id} got under its limit"),
                    }
                }
                prop_assert!(f.fee <= f.tokens);
            }
        }
    }
}
