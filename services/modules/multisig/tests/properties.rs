//! Property tests of the multi-sig books, through the real engine: any sequence of
//! deposits, withdrawals, confirmations, duplicate and faulty confirmations and stray
//! transfers (valid and invalid, several per block) keeps, after every block and per coin,
//! the users' balances plus the unpaid outflows equal to what came in minus the outflows
//! paid (counted from the ops themselves, not from the module's totals), which is `held`;
//! no amount negative, zero-stored or out of Hive's range; no outflow paid twice; and the
//! incremental commitment equal to a recomputed one.

mod common;

use common::{state, transfer, withdraw, MS};
use opentoken_core::account::is_valid_account_name;
use opentoken_core::{AssetSymbol, HiveOp, Module, ModuleState, Outcome, StateRead, StateWrite};
use opentoken_multisig::keys::{self, decode_u64, Coin, Outflow, OutflowState};
use opentoken_multisig::views;
use opentoken_multisig::{MultisigEvent, MultisigModule, NAME};
use proptest::prelude::*;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

const ACCOUNTS: &[&str] = &["alice", "bob", "carol", "dave"];
const KEEP_PAID: u64 = 5;
const KEEP_ANOMALIES: u64 = 3;

fn section() -> serde_json::Value {
    json!({"min_deposit": 10, "min_withdrawal": 5, "keep_paid": KEEP_PAID, "keep_anomalies": KEEP_ANOMALIES})
}

/// An account by index: the four users, then an invalid name, then the account itself.
fn who(i: usize) -> &'static str {
    match i {
        i if i < ACCOUNTS.len() => ACCOUNTS[i],
        4 => "Bad_Name",
        _ => MS,
    }
}

#[derive(Debug, Clone, Copy)]
enum Memo {
    Empty,
    Text,
    Module,
    Malformed,
}

impl Memo {
    fn text(self) -> &'static str {
        match self {
            Memo::Empty => "",
            Memo::Text => "from my exchange 12345",
            Memo::Module => r#"{"dex":{"rate":"0.25"}}"#,
            Memo::Malformed => "{dex}",
        }
    }
}

#[derive(Debug, Clone)]
enum Amount {
    /// Per mille of the signer's balance of the coin when the block starts.
    Share(u64),
    Abs(i64),
    /// Raw JSON text (withdrawals only): malformed or out of range.
    Raw(&'static str),
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    Amount,
    To,
    Coin,
    Memo,
    NoId,
}

#[derive(Debug, Clone)]
enum Op {
    Deposit {
        from: usize,
        symbol: AssetSymbol,
        amount: Amount,
        memo: Memo,
    },
    Withdraw {
        /// `None`: whoever holds the most of the asset when the block starts.
        from: Option<usize>,
        asset: &'static str,
        amount: Amount,
        to: Option<usize>,
        memo: Option<&'static str>,
    },
    /// Pays a pending outflow (by index among those pending when the block starts).
    Confirm { pick: usize, fault: Fault },
    /// Sends again a confirmation sent earlier.
    Repeat { pick: usize },
    /// A transfer out of the account naming some outflow number.
    Stray { to: usize, amount: i64, seq: u64 },
}

#[derive(Debug, Clone)]
struct Step {
    ops: Vec<Op>,
}

fn deposit_amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        6 => (10i64..20_000).prop_map(Amount::Abs),
        2 => (1i64..10).prop_map(Amount::Abs),
        1 => prop::sample::select(vec![0, -5, i64::MAX, i64::MAX / 2]).prop_map(Amount::Abs),
    ]
}

fn withdraw_amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        8 => (0u64..=1000).prop_map(Amount::Share),
        3 => Just(Amount::Share(1000)),
        2 => (0i64..30_000).prop_map(Amount::Abs),
        1 => prop::sample::select(vec![
            "-1", "1.5", "\"1e3\"", "\"\"", "null", "[1]", "9223372036854775808", "\"99999999999999999999\"",
        ])
        .prop_map(Amount::Raw),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0usize..ACCOUNTS.len();
    let deposit = (
        prop_oneof![20 => user.clone(), 1 => 4usize..6],
        prop_oneof![6 => Just(AssetSymbol::Hive), 4 => Just(AssetSymbol::Hbd), 1 => Just(AssetSymbol::Vests)],
        deposit_amount(),
        prop_oneof![6 => Just(Memo::Empty), 3 => Just(Memo::Text), 1 => Just(Memo::Module), 1 => Just(Memo::Malformed)],
    )
        .prop_map(|(from, symbol, amount, memo)| Op::Deposit {
            from,
            symbol,
            amount,
            memo,
        });
    let withdraw = (
        prop_oneof![1 => user.clone().prop_map(Some), 1 => Just(None)],
        prop::sample::select(vec![
            "HIVE", "HIVE", "HIVE", "HIVE", "HBD", "HBD", "HBD", "VESTS", "hive",
        ]),
        withdraw_amount(),
        prop::option::weighted(0.5, prop_oneof![8 => user.clone(), 1 => 4usize..6]),
        prop::option::weighted(
            0.5,
            prop::sample::select(vec!["rent", "", "rent", "✓ ünïcödé ot:3", "#no"]),
        ),
    )
        .prop_map(|(from, asset, amount, to, memo)| Op::Withdraw {
            from,
            asset,
            amount,
            to,
            memo,
        });
    let fault = prop_oneof![
        12 => Just(Fault::None),
        1 => Just(Fault::Amount),
        1 => Just(Fault::To),
        1 => Just(Fault::Coin),
        1 => Just(Fault::Memo),
        1 => Just(Fault::NoId),
    ];
    prop_oneof![
        8 => deposit,
        6 => withdraw,
        5 => (any::<usize>(), fault).prop_map(|(pick, fault)| Op::Confirm { pick, fault }),
        1 => any::<usize>().prop_map(|pick| Op::Repeat { pick }),
        1 => (user, 1i64..3000, 0u64..40).prop_map(|(to, amount, seq)| Op::Stray { to, amount, seq }),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(prop::collection::vec(op(), 0..6).prop_map(|ops| Step { ops }), 1..30)
}

fn symbol_of(c: Coin) -> AssetSymbol {
    c.asset()
}

/// The Hive op of `op`, resolved against the state when its block starts; confirmations
/// sent are remembered for `Repeat`.
fn hive_op(op: &Op, s: &ModuleState, pending: &[(u64, Outflow)], sent: &mut Vec<HiveOp>) -> HiveOp {
    match op {
        Op::Deposit {
            from,
            symbol,
            amount,
            memo,
        } => {
            let amt = match amount {
                Amount::Abs(a) => *a,
                _ => 1,
            };
            transfer(who(*from), MS, amt, *symbol, memo.text())
        }
        Op::Withdraw {
            from,
            asset,
            amount,
            to,
            memo,
        } => {
            let signer = match from {
                Some(i) => who(*i),
                None => richest(s, asset),
            };
            let amount = match amount {
                Amount::Share(per_mille) => {
                    let held = Coin::from_symbol(asset)
                        .map(|c| views::balances(s, signer).map(|b| if c == Coin::Hive { b.hive } else { b.hbd }))
                        .transpose()
                        .expect("balances read")
                        .unwrap_or(1000);
                    (u128::from(held) * u128::from(*per_mille) / 1000).to_string()
                }
                Amount::Abs(a) => a.to_string(),
                Amount::Raw(r) => r.to_string(),
            };
            let mut body = format!(r#"{{"amount":{amount},"asset":"{asset}""#);
            if let Some(to) = to {
                body.push_str(&format!(r#","to":"{}""#, who(*to)));
            }
            if let Some(memo) = memo {
                body.push_str(&format!(r#","memo":{}"#, serde_json::Value::from(*memo)));
            }
            body.push('}');
            withdraw(signer, &body)
        }
        Op::Confirm { pick, fault } => {
            // With nothing to pay, a deposit keeps the sequence busy instead.
            let Some((seq, out)) = pending.get(pick % pending.len().max(1)) else {
                return transfer("alice", MS, 5_000, AssetSymbol::Hive, "");
            };
            let (mut to, mut amount, mut coin, mut memo) =
                (out.to.clone(), out.amount as i64, out.asset, out.memo.clone());
            match fault {
                Fault::None => {}
                Fault::Amount => amount = amount.checked_add(1).unwrap_or(amount - 1),
                Fault::To => to = if to == "alice" { "bob".into() } else { "alice".into() },
                Fault::Coin => coin = if coin == Coin::Hive { Coin::Hbd } else { Coin::Hive },
                Fault::Memo => memo = format!("x{memo}"),
                Fault::NoId => memo = format!("paying {seq}"),
            }
            let t = transfer(MS, &to, amount, symbol_of(coin), &memo);
            sent.push(t.clone());
            t
        }
        Op::Repeat { pick } => match sent.get(pick % sent.len().max(1)) {
            Some(t) => t.clone(),
            None => transfer(MS, "bob", 7, AssetSymbol::Hbd, "ot:1"),
        },
        Op::Stray { to, amount, seq } => transfer(MS, who(*to), *amount, AssetSymbol::Hive, &format!("ot:{seq}")),
    }
}

/// The user holding the most of `asset` (alice when nobody holds any).
fn richest(s: &ModuleState, asset: &str) -> &'static str {
    let Some(coin) = Coin::from_symbol(asset) else {
        return "alice";
    };
    ACCOUNTS
        .iter()
        .copied()
        .max_by_key(|a| {
            opentoken_multisig::views::balances(s, a)
                .map(|b| if coin == Coin::Hive { b.hive } else { b.hbd })
                .unwrap_or(0)
        })
        .unwrap_or("alice")
}

/// What the ops say came in and went out, per coin, and which outflows were paid.
#[derive(Debug, Default)]
struct Model {
    came_in: BTreeMap<Coin, u64>,
    paid_out: BTreeMap<Coin, u64>,
    paid: BTreeSet<u64>,
}

fn u64_of(key: &[u8], v: &[u8]) -> Result<u64, String> {
    let n = decode_u64(v).ok_or_else(|| format!("{} holds {} bytes, not 8", show(key), v.len()))?;
    if n == 0 {
        return Err(format!("{} holds 0 (zero amounts must be deleted)", show(key)));
    }
    if n > i64::MAX as u64 {
        return Err(format!("{} holds {n}: negative, or outside Hive's range", show(key)));
    }
    Ok(n)
}

fn show(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

/// Every invariant over a full dump of the state.
fn books_invariants(s: &ModuleState, model: &Model) -> Result<(), String> {
    let mut balances: BTreeMap<Coin, u64> = BTreeMap::new();
    let mut pending: BTreeMap<Coin, u64> = BTreeMap::new();
    let mut totals: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    let (mut paid_keys, mut anomaly_keys) = (0u64, 0u64);
    let next = keys::decode_u64(s.get(keys::SEQ).unwrap_or(&[0; 8])).ok_or("seq is not 8 bytes")?;
    for (k, v) in s.pairs() {
        let k = k.as_slice();
        if let Some(rest) = k.strip_prefix(b"bal/") {
            let rest = std::str::from_utf8(rest).map_err(|_| "balance key is not UTF-8")?;
            let (coin, acct) = rest.split_once('/').ok_or("malformed balance key")?;
            let coin = Coin::from_symbol(coin).ok_or_else(|| format!("balance of {coin}"))?;
            if !is_valid_account_name(acct) || acct == MS {
                return Err(format!("a balance of {acct:?}"));
            }
            *balances.entry(coin).or_default() += u64_of(k, v)?;
        } else if k.starts_with(b"tot/") || k.starts_with(b"held/") || k.starts_with(b"cnt/") || k == keys::SEQ {
            totals.insert(k.to_vec(), u64_of(k, v)?);
        } else if let Some(seq) = keys::seq_of(k, keys::OUT_PREFIX) {
            let out: Outflow = serde_json::from_slice(v).map_err(|e| format!("out/{seq}: {e}"))?;
            if out.amount == 0 || out.amount > i64::MAX as u64 {
                return Err(format!("out/{seq} amount {}", out.amount));
            }
            if !is_valid_account_name(&out.to) || out.to == MS {
                return Err(format!("out/{seq} pays {:?}", out.to));
            }
            let id = format!("ot:{seq}");
            if !(out.memo == id || out.memo.ends_with(&format!(" {id}"))) || out.memo.len() > 2047 {
                return Err(format!("out/{seq} memo {:?}", out.memo));
            }
            if out.state != OutflowState::Pending || seq >= next {
                return Err(format!("out/{seq}: {:?}, next {next}", out.state));
            }
            if model.paid.contains(&seq) {
                return Err(format!("ot:{seq} is paid and still pending"));
            }
            *pending.entry(out.asset).or_default() += out.amount;
        } else if let Some(seq) = keys::seq_of(k, keys::PAID_PREFIX) {
            if !model.paid.contains(&seq) {
                return Err(format!("paid/{seq} was never paid by an op"));
            }
            paid_keys += 1;
        } else if keys::pos_of(k).is_some() {
            anomaly_keys += 1;
        } else {
            return Err(format!("unexpected key {}", show(k)));
        }
    }
    let total = |key: Vec<u8>| totals.get(&key).copied().unwrap_or(0);
    for coin in Coin::ALL {
        let (bal, out) = (
            balances.get(&coin).copied().unwrap_or(0),
            pending.get(&coin).copied().unwrap_or(0),
        );
        let came_in = model.came_in.get(&coin).copied().unwrap_or(0);
        let paid_out = model.paid_out.get(&coin).copied().unwrap_or(0);
        let expected = came_in
            .checked_sub(paid_out)
            .ok_or(format!("{coin}: paid out more than came in"))?;
        if bal + out != expected {
            return Err(format!(
                "{coin}: balances {bal} + pending {out} != in {came_in} - paid {paid_out}"
            ));
        }
        if total(keys::held(coin)) != expected {
            return Err(format!("{coin}: held {} != {expected}", total(keys::held(coin))));
        }
        if total(keys::total_balances(coin)) != bal || total(keys::total_pending(coin)) != out {
            return Err(format!("{coin}: maintained totals differ from the keys"));
        }
    }
    if total(keys::PAID_COUNT.to_vec()) != paid_keys || paid_keys > KEEP_PAID {
        return Err(format!(
            "{paid_keys} paid records, count {}",
            total(keys::PAID_COUNT.to_vec())
        ));
    }
    if paid_keys != (model.paid.len() as u64).min(KEEP_PAID) {
        return Err(format!("{paid_keys} paid records kept of {} paid", model.paid.len()));
    }
    if total(keys::ANOMALY_COUNT.to_vec()) != anomaly_keys || anomaly_keys > KEEP_ANOMALIES {
        return Err(format!(
            "{anomaly_keys} anomalies, count {}",
            total(keys::ANOMALY_COUNT.to_vec())
        ));
    }
    let check = views::books_check(s).map_err(|e| e.to_string())?;
    if !check.ok {
        return Err(format!("books_check: {:?}", check.problems));
    }
    Ok(())
}

/// Counts what an applied transfer moved, from the op itself; a payment is counted when
/// the module recorded it as one, and its outflow must be the one the memo names.
fn account_for(
    module: &MultisigModule,
    model: &mut Model,
    op: &HiveOp,
    outcome: &Outcome,
    events: &[&opentoken_core::EventRecord],
) -> Result<(), String> {
    let HiveOp::Transfer(t) = op else { return Ok(()) };
    if !matches!(outcome, Outcome::Applied { .. }) {
        return Ok(());
    }
    let coin = Coin::from_asset(t.amount.symbol).ok_or("an applied VESTS transfer")?;
    let amount = u64::try_from(t.amount.amount).map_err(|_| "an applied negative transfer")?;
    if t.to == MS && t.from != MS {
        *model.came_in.entry(coin).or_default() += amount;
    } else if t.from == MS && t.to != MS {
        for e in events {
            if let MultisigEvent::OutflowPaid { seq, .. } = module.decode_event(&e.data).map_err(|e| e.to_string())? {
                if !model.paid.insert(seq) {
                    return Err(format!("ot:{seq} paid twice"));
                }
                if opentoken_multisig::memo::outflow_id(&t.memo) != Some(seq) {
                    return Err(format!("ot:{seq} paid by a transfer with memo {:?}", t.memo));
                }
                *model.paid_out.entry(coin).or_default() += amount;
            }
        }
    } else {
        return Err(format!("an applied transfer {} -> {}", t.from, t.to));
    }
    Ok(())
}

/// Runs `steps`, checking every invariant after every block; returns the event kinds.
fn run_checked(steps: &[Step]) -> Result<BTreeMap<String, usize>, TestCaseError> {
    let (mut net, module) = common::net_with(section());
    let mut model = Model::default();
    let mut sent = Vec::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    books_invariants(state(&net), &model).map_err(|m| TestCaseError::fail(format!("at genesis: {m}")))?;
    for step in steps {
        let s = state(&net);
        let pending: Vec<(u64, Outflow)> = views::pending_outflows(s, 1000)
            .expect("pending reads")
            .into_iter()
            .map(|p| (p.seq, p.outflow))
            .collect();
        let ops: Vec<HiveOp> = step.ops.iter().map(|op| hive_op(op, s, &pending, &mut sent)).collect();
        let b = net.run(NAME, ops.clone());
        prop_assert_eq!(b.out.statuses.len(), ops.len(), "one status per op");
        for (i, op) in ops.iter().enumerate() {
            let status = b.status(i);
            let events: Vec<_> = b.out.events.iter().filter(|e| e.pos.trx_in_block == i as u32).collect();
            if matches!(status.outcome, Outcome::Rejected { .. }) {
                prop_assert!(events.is_empty(), "a rejected op emitted events");
            }
            account_for(&module, &mut model, op, &status.outcome, &events)
                .map_err(|m| TestCaseError::fail(format!("block {}: {m}", b.block)))?;
        }
        for e in &b.out.events {
            *kinds.entry(e.kind.clone()).or_default() += 1;
        }
        books_invariants(state(&net), &model)
            .map_err(|m| TestCaseError::fail(format!("after block {}: {m}", b.block)))?;
    }
    prop_assert_eq!(
        net.commitment(NAME),
        state(&net).recompute_commitment(),
        "incremental commitment differs from the recomputed one"
    );
    Ok(kinds)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// After every block: balances + pending outflows == what came in − what was paid out
    /// == held, per coin; amounts positive and in range; no outflow paid twice; bounded
    /// histories; the commitment is the recomputed one.
    #[test]
    fn the_books_balance_after_every_block(steps in steps()) {
        run_checked(&steps)?;
    }
}

/// The generator reaches the interesting states: deposits, refunds, withdrawals, payments
/// and anomalies all happen (a generator whose ops were all rejected would make the
/// property vacuous).
#[test]
fn generated_sequences_reach_every_event() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..16 {
        let steps = steps().new_tree(&mut runner).expect("generates").current();
        for (k, n) in run_checked(&steps).expect("the property holds") {
            *kinds.entry(k).or_default() += n;
        }
    }
    for kind in [
        "Deposited",
        "Refunded",
        "WithdrawalQueued",
        "OutflowPaid",
        "OutflowAnomaly",
    ] {
        assert!(kinds.get(kind).copied().unwrap_or(0) >= 20, "{kind}: {kinds:?}");
    }
}

/// The harness's checks can fail: a state whose books were tampered with is caught.
#[test]
fn the_invariant_check_catches_broken_books() {
    let (mut net, _) = common::net_with(section());
    net.run(NAME, vec![common::deposit("alice", 1_000, "")]);
    let mut model = Model::default();
    model.came_in.insert(Coin::Hive, 1_000);
    books_invariants(state(&net), &model).expect("honest books");
    model.came_in.insert(Coin::Hive, 999);
    assert!(books_invariants(state(&net), &model).is_err(), "a model that differs");
    model.came_in.insert(Coin::Hive, 1_000);
    let mut tampered: ModuleState = state(&net).clone();
    StateWrite::put(
        &mut tampered,
        keys::balance(Coin::Hive, "alice"),
        keys::encode_u64(1_001),
    );
    assert!(books_invariants(&tampered, &model).is_err(), "a balance that differs");
}
