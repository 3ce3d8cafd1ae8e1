//! Property test of the books with the DEX escrow, through the real engine: any sequence of
//! deposits (plain, DEX orders, bad DEX orders), `dex_buy` (covered or not), `pay` messages
//! from the DEX (within what it holds, over it, to a balance or to Hive), withdrawals and
//! the confirmations of outflows keeps, after every block and per coin,
//! `held == balances + unpaid outflows + DEX escrow`, counted key by key; `held` equal to
//! what came in minus what was paid out and the escrow equal to what was escrowed minus
//! what the DEX paid, both counted from the events; every escrow sent to the DEX as exactly
//! the order it escrowed; every payment within the escrow applied and every other refused.

mod common;

use common::{state, transfer, withdraw, MS};
use opentoken_core::test_utils::{op, BlockOutput, TestNet};
use opentoken_core::{AssetSymbol, HiveOp, ModuleState, Outcome, RejectCode, StateRead};
use opentoken_dex::OrderIn;
use opentoken_multisig::keys::{self, Coin, Outflow};
use opentoken_multisig::views;
use opentoken_multisig::{MultisigEvent, MultisigModule, NAME};
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

const ACCOUNTS: &[&str] = &["alice", "bob", "carol", "dave"];

fn symbol(c: Coin) -> AssetSymbol {
    match c {
        Coin::Hive => AssetSymbol::Hive,
        Coin::Hbd => AssetSymbol::Hbd,
    }
}

#[derive(Debug, Clone, Copy)]
enum Memo {
    Plain,
    Rate,
    Market,
    ToL2,
    Bad,
}

impl Memo {
    fn text(self) -> &'static str {
        match self {
            Memo::Plain => "",
            Memo::Rate => r#"{"rate":"0.100000"}"#,
            Memo::Market => r#"{"dex":{}}"#,
            Memo::ToL2 => r#"{"dex":{"rate":"1.5","payout":"l2","hours":3}}"#,
            Memo::Bad => r#"{"rate":"-1"}"#,
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Deposit {
        who: usize,
        coin: Coin,
        amount: u64,
        memo: Memo,
    },
    Buy {
        who: usize,
        coin: Coin,
        amount: u64,
        limit: bool,
    },
    Withdraw {
        who: usize,
        coin: Coin,
        amount: u64,
    },
    /// Pays the unpaid outflow at this index (modulo their number), as the runners would.
    Confirm {
        pick: usize,
    },
}

#[derive(Debug, Clone)]
struct PayMsg {
    who: usize,
    coin: Coin,
    /// Per mille of what is left in the escrow of `coin`.
    share: u64,
    to_hive: bool,
    /// Ask one more than the escrow holds.
    over: bool,
}

#[derive(Debug, Clone)]
struct Step {
    pays: Vec<PayMsg>,
    ops: Vec<Op>,
}

fn coin() -> impl Strategy<Value = Coin> {
    prop_oneof![Just(Coin::Hive), Just(Coin::Hbd)]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let who = 0..ACCOUNTS.len();
    prop_oneof![
        4 => (who.clone(), coin(), 1u64..20_000, prop_oneof![
            Just(Memo::Plain), Just(Memo::Rate), Just(Memo::Market), Just(Memo::ToL2), Just(Memo::Bad)
        ])
            .prop_map(|(who, coin, amount, memo)| Op::Deposit { who, coin, amount, memo }),
        3 => (who.clone(), coin(), 1u64..15_000, any::<bool>())
            .prop_map(|(who, coin, amount, limit)| Op::Buy { who, coin, amount, limit }),
        2 => (who, coin(), 1u64..10_000).prop_map(|(who, coin, amount)| Op::Withdraw { who, coin, amount }),
        3 => any::<usize>().prop_map(|pick| Op::Confirm { pick }),
    ]
}

fn pay_strategy() -> impl Strategy<Value = PayMsg> {
    (
        0..ACCOUNTS.len(),
        coin(),
        1u64..=1000,
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(who, coin, share, to_hive, over)| PayMsg {
            who,
            coin,
            share,
            to_hive,
            over,
        })
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (
            prop::collection::vec(pay_strategy(), 0..3),
            prop::collection::vec(op_strategy(), 0..5),
        )
            .prop_map(|(pays, ops)| Step { pays, ops }),
        1..25,
    )
}

fn amount(s: &ModuleState, key: &[u8]) -> u64 {
    s.get(key).and_then(keys::decode_u64).unwrap_or(0)
}

fn hive_op(op: &Op, s: &ModuleState) -> HiveOp {
    match op {
        Op::Deposit {
            who,
            coin,
            amount,
            memo,
        } => transfer(ACCOUNTS[*who], MS, *amount as i64, symbol(*coin), memo.text()),
        Op::Buy {
            who,
            coin,
            amount,
            limit,
        } => {
            let key = if *coin == Coin::Hive { "hive" } else { "hbd" };
            let mut p = json!({ key: amount });
            if *limit {
                p["rate"] = json!("0.250000");
            }
            op_of(ACCOUNTS[*who], "dex_buy", &p.to_string())
        }
        Op::Withdraw { who, coin, amount } => withdraw(
            ACCOUNTS[*who],
            &json!({"amount": amount, "asset": coin.symbol()}).to_string(),
        ),
        Op::Confirm { pick } => {
            let pending: Vec<(u64, Outflow)> = s
                .scan_prefix(keys::OUT_PREFIX)
                .map(|(k, v)| {
                    (
                        keys::seq_of(k, keys::OUT_PREFIX).expect("out/<seq>"),
                        serde_json::from_slice(v).expect("an outflow"),
                    )
                })
                .collect();
            match pending.get(pick % pending.len().max(1)) {
                Some((_, out)) => transfer(MS, &out.to, out.amount as i64, symbol(out.asset), &out.memo),
                // Nothing owed: a stray transfer out, an anomaly.
                None => transfer(MS, "alice", 1, AssetSymbol::Hive, "thanks"),
            }
        }
    }
}

fn op_of(signer: &str, name: &str, json: &str) -> HiveOp {
    op(signer, name, json)
}

/// What the events say the books must be.
#[derive(Debug, Default)]
struct Model {
    came_in: BTreeMap<Coin, u64>,
    paid_out: BTreeMap<Coin, u64>,
    escrow: BTreeMap<Coin, u64>,
    /// Events seen, by kind.
    kinds: BTreeMap<String, usize>,
}

impl Model {
    fn track(&mut self, b: &BlockOutput) -> Result<(), String> {
        let mut escrowed_orders = Vec::new();
        for r in &b.out.events {
            let e = MultisigEvent::decode(&r.data).map_err(|e| e.to_string())?;
            *self.kinds.entry(e.kind().to_string()).or_default() += 1;
            let add = |m: &mut BTreeMap<Coin, u64>, c: Coin, a: u64| *m.entry(c).or_default() += a;
            match e {
                MultisigEvent::Deposited { asset, amount, .. } | MultisigEvent::Refunded { asset, amount, .. } => {
                    add(&mut self.came_in, asset, amount)
                }
                MultisigEvent::Escrowed {
                    asset,
                    amount,
                    order,
                    from_l2,
                    account,
                    ..
                } => {
                    if !from_l2 {
                        add(&mut self.came_in, asset, amount);
                    }
                    add(&mut self.escrow, asset, amount);
                    let o: OrderIn = serde_json::from_str(&order).map_err(|e| e.to_string())?;
                    if o.amount != amount || o.from != account || o.pair.symbol() != asset.symbol() {
                        return Err(format!("escrowed {amount} {asset} for @{account}, order {o:?}"));
                    }
                    escrowed_orders.push(order);
                }
                MultisigEvent::EscrowPaid { asset, amount, .. }
                | MultisigEvent::EscrowPaidOut { asset, amount, .. } => {
                    let e = self.escrow.entry(asset).or_default();
                    *e = e.checked_sub(amount).ok_or("the DEX paid more than it held")?;
                }
                MultisigEvent::OutflowPaid { asset, amount, .. } => add(&mut self.paid_out, asset, amount),
                _ => {}
            }
        }
        let sent: Vec<String> = b
            .out
            .remote_messages
            .iter()
            .map(|m| {
                if (m.to.as_str(), m.kind.as_str()) == ("dex", "order") {
                    Ok(m.payload.clone())
                } else {
                    Err(format!("an unexpected message {m:?}"))
                }
            })
            .collect::<Result<_, _>>()?;
        if sent != escrowed_orders {
            return Err(format!("sent {sent:?}, escrowed {escrowed_orders:?}"));
        }
        Ok(())
    }
}

/// The books over a full dump of the state, against the model.
fn books(s: &ModuleState, model: &Model) -> Result<(), String> {
    let mut balances: BTreeMap<Coin, u64> = BTreeMap::new();
    let mut pending: BTreeMap<Coin, u64> = BTreeMap::new();
    for (k, v) in s.iter() {
        if let Some(rest) = k.strip_prefix(b"bal/") {
            let rest = std::str::from_utf8(rest).map_err(|_| "a balance key is not UTF-8")?;
            let (c, _) = rest.split_once('/').ok_or("malformed balance key")?;
            let c = Coin::from_symbol(c).ok_or("a balance of an unknown coin")?;
            let a = keys::decode_u64(v).ok_or("a balance is not 8 bytes")?;
            if a == 0 {
                return Err("a zero balance is stored".into());
            }
            *balances.entry(c).or_default() += a;
        } else if keys::seq_of(k, keys::OUT_PREFIX).is_some() {
            let out: Outflow = serde_json::from_slice(v).map_err(|e| e.to_string())?;
            *pending.entry(out.asset).or_default() += out.amount;
        }
        if k.starts_with(b"tot/dex/") && keys::decode_u64(v).is_none_or(|a| a == 0) {
            return Err("a zero or malformed escrow total is stored".into());
        }
    }
    for c in Coin::ALL {
        let (bal, out) = (
            balances.get(&c).copied().unwrap_or(0),
            pending.get(&c).copied().unwrap_or(0),
        );
        let dex = amount(s, &keys::total_dex(c));
        let held = amount(s, &keys::held(c));
        if bal + out + dex != held {
            return Err(format!(
                "{c}: held {held} != balances {bal} + pending {out} + escrow {dex}"
            ));
        }
        if amount(s, &keys::total_balances(c)) != bal || amount(s, &keys::total_pending(c)) != out {
            return Err(format!("{c}: the maintained totals differ from the keys"));
        }
        let want = model.came_in.get(&c).copied().unwrap_or(0) - model.paid_out.get(&c).copied().unwrap_or(0);
        if held != want {
            return Err(format!("{c}: held {held}, the events say {want}"));
        }
        if dex != model.escrow.get(&c).copied().unwrap_or(0) {
            return Err(format!("{c}: escrow {dex}, the events say {:?}", model.escrow.get(&c)));
        }
    }
    let check = views::books_check(s).map_err(|e| e.to_string())?;
    if !check.ok {
        return Err(format!("books_check: {:?}", check.problems));
    }
    Ok(())
}

fn run(steps: &[Step]) -> Result<Model, TestCaseError> {
    let spec = common::spec(json!({"min_deposit": 10, "min_withdrawal": 5})).with_module("dex", json!({}));
    let module = Arc::new(MultisigModule::from_spec(&spec).expect("valid"));
    let mut net = TestNet::new(spec, vec![module]);
    let mut model = Model::default();
    for step in steps {
        // The payments, each within (or, when `over`, just past) what is left of the escrow.
        let mut left: BTreeMap<Coin, u64> = Coin::ALL
            .iter()
            .map(|c| (*c, amount(state(&net), &keys::total_dex(*c))))
            .collect();
        let mut expect_applied = Vec::new();
        for p in &step.pays {
            let have = left[&p.coin];
            let ask = if p.over {
                have + 1
            } else {
                (have * p.share / 1000).max(1)
            };
            let fits = ask <= have;
            if fits {
                left.insert(p.coin, have - ask);
            }
            expect_applied.push(fits);
            let payload = json!({"account": ACCOUNTS[p.who], "coin": p.coin.symbol(), "amount": ask,
                "via": if p.to_hive { "hive" } else { "l2" }, "order": "DLUXQmtest", "why": "fill"});
            net.deliver("dex", NAME, "pay", payload.to_string());
        }
        let ops: Vec<HiveOp> = step.ops.iter().map(|o| hive_op(o, state(&net))).collect();
        let b = net.run(NAME, ops);
        for (i, fits) in expect_applied.iter().enumerate() {
            let outcome = &b.statuses()[i].outcome;
            match (fits, outcome) {
                (true, Outcome::Applied { .. }) => {}
                (
                    false,
                    Outcome::Rejected {
                        code: RejectCode::BadMessage,
                        ..
                    },
                ) => {}
                _ => prop_assert!(false, "pay {i} (within: {fits}): {outcome:?}"),
            }
        }
        model.track(&b).map_err(TestCaseError::fail)?;
        books(state(&net), &model).map_err(|e| TestCaseError::fail(format!("after block {}: {e}", b.block)))?;
    }
    Ok(model)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn the_books_with_the_dex_balance_after_every_block(s in steps()) {
        run(&s)?;
    }
}

/// The generator reaches every DEX event (a property that never escrows or pays would
/// prove nothing).
#[test]
fn generated_sequences_reach_every_dex_event() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..40 {
        let s = steps().new_tree(&mut runner).expect("a tree").current();
        let model = run(&s).expect("the property holds");
        for (k, n) in model.kinds {
            *seen.entry(k).or_default() += n;
        }
    }
    for kind in [
        "Escrowed",
        "EscrowPaid",
        "EscrowPaidOut",
        "OutflowPaid",
        "WithdrawalQueued",
        "Refunded",
    ] {
        assert!(
            seen.get(kind).copied().unwrap_or(0) > 0,
            "{kind} never happened: {seen:?}"
        );
    }
}
