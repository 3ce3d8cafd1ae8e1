//! The token side of the DEX through the real engine, on the devnet chain with a
//! `modules.dex` section `{}` (every DEX default: fee account `rn`, 720-hour orders, 1200
//! blocks an hour, a 4 milli-token minimum) and without one.

use crate::keys::{self, Bucket};
use crate::{supply_check, TokenEvent, TokenModule, DEX, NODES, ROUTES};
use opentoken_core::test_utils::{assert_applied, assert_rejected, block_time, devnet_spec, op, posting_op, TestNet};
use opentoken_core::{ChainSpec, Message, Module, ModuleState, Outcome, RejectCode, StateRead};
use opentoken_dex::order::order_id;
use opentoken_dex::protocol::{Credit, KIND_CREDIT, KIND_ORDER};
use opentoken_dex::{OrderIn, Pair, Payout, Side};
use proptest::prelude::*;
use std::sync::Arc;

/// The devnet genesis supply (balances + pow + gov + claimable of `devnet.json`).
const SUPPLY: u64 = 9_950_000 + 350_000 + 1_100_000 + 17_704;

/// The devnet spec, with a `modules.dex` section `{}` or with none.
fn spec(dex: bool) -> ChainSpec {
    let mut spec = devnet_spec();
    spec.modules.remove(DEX);
    if dex {
        spec.with_module(DEX, serde_json::json!({}))
    } else {
        spec
    }
}

fn module(dex: bool) -> Arc<TokenModule> {
    Arc::new(TokenModule::from_spec(&spec(dex)).expect("valid token config"))
}

fn net(dex: bool) -> TestNet {
    TestNet::new(spec(dex), vec![module(dex)])
}

fn get(net: &TestNet, key: &[u8]) -> u64 {
    keys::amount(net.state("token"), key)
}

fn liquid(net: &TestNet, acct: &str) -> u64 {
    get(net, &keys::account(Bucket::Liquid, acct))
}

fn escrow(net: &TestNet) -> u64 {
    get(net, keys::DEX_ESCROW)
}

/// One `dex_sell` by `signer` (active authority) in the next block: its outcome and what
/// the block sent out.
fn sell(net: &mut TestNet, signer: &str, json: &str) -> (Outcome, Vec<Message>) {
    let out = net.run("token", vec![op(signer, "dex_sell", json)]);
    assert_eq!(out.statuses().len(), 1);
    (out.outcomes().remove(0), out.out.remote_messages)
}

/// A message from the DEX process, handled at the start of the next block.
fn message(net: &mut TestNet, from: &str, kind: &str, payload: &str) -> (Outcome, Vec<Message>) {
    net.deliver(from, "token", kind, payload);
    let out = net.run("token", vec![]);
    assert_eq!(out.statuses().len(), 1, "one status: the message");
    (out.outcomes().remove(0), out.out.remote_messages)
}

fn credit_json(account: &str, amount: u64, order: &str, why: &str) -> String {
    serde_json::to_string(&Credit {
        account: account.into(),
        amount,
        order: order.into(),
        why: why.into(),
    })
    .unwrap()
}

/// Rejected with `code`, nothing changed and nothing sent; returns the reason.
fn unchanged(
    net: &mut TestNet,
    what: &str,
    code: RejectCode,
    act: impl FnOnce(&mut TestNet) -> (Outcome, Vec<Message>),
) -> String {
    let before = net.state("token").to_map();
    let (outcome, sent) = act(net);
    let reason = assert_rejected(&outcome, code, what).to_string();
    assert!(before == net.state("token").to_map(), "{what} changed the state");
    assert!(sent.is_empty(), "{what} sent {sent:?}");
    reason
}

/// Every holding equals the supply: liquid + power + gov + claimable + granted + the DEX
/// escrow, from the per-account keys and from the maintained totals.
fn conserved(s: &ModuleState) -> Result<(), String> {
    let supply = keys::amount(s, keys::SUPPLY);
    let mut counted = keys::amount(s, keys::DEX_ESCROW);
    let mut totals = counted;
    for b in Bucket::ALL {
        for (_, v) in s.iter().filter(|(k, _)| k.starts_with(b.prefix().as_bytes())) {
            counted += keys::decode_u64(v).ok_or("an amount is not 8 bytes")?;
        }
        totals += keys::amount(s, b.total_key());
    }
    for (_, v) in s.iter().filter(|(k, _)| k.starts_with(b"gra/")) {
        counted += keys::decode_u64(v).ok_or("a grant is not 8 bytes")?;
    }
    totals += keys::amount(s, keys::GRANTED_TOTAL);
    if supply != SUPPLY || counted != supply || totals != supply {
        return Err(format!("supply {supply}, accounts {counted}, totals {totals}"));
    }
    if s.get(keys::DEX_ESCROW) == Some(&[0u8; 8][..]) {
        return Err("a zero escrow is stored".into());
    }
    let audit = supply_check(s).map_err(|e| e.to_string())?;
    if !audit.ok || audit.in_dex != keys::amount(s, keys::DEX_ESCROW) {
        return Err(audit.check);
    }
    Ok(())
}

#[test]
fn dex_sell_escrows_and_sends_exactly_the_order() {
    let mut net = net(true);
    let block = net.next_block();
    let (alice, total) = (liquid(&net, "alice"), get(&net, Bucket::Liquid.total_key()));
    let (outcome, sent) = sell(&mut net, "alice", r#"{"dlux":3000,"hive":1000}"#);
    assert_applied(&outcome, "a limit sell");
    assert_eq!(liquid(&net, "alice"), alice - 3000);
    assert_eq!(get(&net, Bucket::Liquid.total_key()), total - 3000);
    assert_eq!(escrow(&net), 3000);
    conserved(net.state("token")).unwrap();

    let txid = TestNet::txid(block, 0);
    let expected = OrderIn {
        id: order_id("DLUX", "alice", &txid, 0),
        from: "alice".into(),
        pair: Pair::Hive,
        side: Side::Ask,
        amount: 3000,
        price: 333_334,
        expires: block + 720 * 1200,
        payout: Payout::Hive,
        txid: txid.clone(),
        block,
        time: block_time(block),
    };
    assert_eq!(sent.len(), 1, "exactly one message: {sent:?}");
    let m = &sent[0];
    assert_eq!(
        (m.from.as_str(), m.to.as_str(), m.kind.as_str()),
        ("token", DEX, KIND_ORDER)
    );
    let order: OrderIn = serde_json::from_str(&m.payload).unwrap();
    assert_eq!(order, expected);
    assert_eq!(m.payload, serde_json::to_string(&expected).unwrap(), "canonical JSON");

    // A market order for HBD with the proceeds credited on Layer 2: another message, and
    // the escrow adds up.
    let (outcome, sent) = sell(&mut net, "bob", r#"{"dlux":"10","pair":"HBD","payout":"l2","hours":1}"#);
    assert_applied(&outcome, "a market sell");
    let order: OrderIn = serde_json::from_str(&sent[0].payload).unwrap();
    assert_eq!(
        (order.pair, order.price, order.payout, order.amount),
        (Pair::Hbd, 0, Payout::L2, 10)
    );
    assert_eq!(order.expires, block + 1 + 1200);
    assert_eq!(escrow(&net), 3010);
    conserved(net.state("token")).unwrap();
}

#[test]
fn the_event_names_the_order_and_the_feed_says_so() {
    let module = module(true);
    let order = OrderIn {
        id: "DLUXQmAbc".into(),
        from: "alice".into(),
        pair: Pair::Hive,
        side: Side::Ask,
        amount: 3000,
        price: 333_334,
        expires: 9,
        payout: Payout::Hive,
        txid: "t".into(),
        block: 1,
        time: 2,
    };
    let sold = TokenEvent::DexEscrowed {
        account: "alice".into(),
        amount: 3000,
        order: order.clone(),
    };
    assert_eq!(
        module.describe(&sold),
        "@alice is selling 3.000 DLUX on the HIVE market at 0.333334 HIVE each (order DLUXQmAbc)"
    );
    let market = TokenEvent::DexEscrowed {
        account: "alice".into(),
        amount: 5,
        order: OrderIn {
            price: 0,
            pair: Pair::Hbd,
            ..order
        },
    };
    assert_eq!(
        module.describe(&market),
        "@alice is selling 0.005 DLUX on the HBD market at the market price (order DLUXQmAbc)"
    );
    let credited = TokenEvent::DexCredited {
        account: "bob".into(),
        amount: 2985,
        order: "DLUXQmAbc".into(),
        why: "fill".into(),
    };
    assert_eq!(
        module.describe(&credited),
        "@bob received 2.985 DLUX from the DEX (fill of DLUXQmAbc)"
    );
    // The only message is the order's; a credit sends nothing.
    assert_eq!(module.messages(&sold).len(), 1);
    assert!(module.messages(&credited).is_empty());
}

#[test]
fn dex_sell_needs_active_authority() {
    let mut net = net(true);
    unchanged(&mut net, "posting", RejectCode::WrongAuthority, |net| {
        let out = net.run("token", vec![posting_op("alice", "dex_sell", r#"{"dlux":3000}"#)]);
        (out.outcomes().remove(0), out.out.remote_messages)
    });
}

#[test]
fn dex_sell_needs_the_balance() {
    let mut net = net(true);
    assert_eq!(liquid(&net, "judy"), 50_000);
    let reason = unchanged(&mut net, "overdraw", RejectCode::InsufficientFunds, |net| {
        sell(net, "judy", r#"{"dlux":50001,"hive":1}"#)
    });
    assert!(reason.contains("50000") && reason.contains("50001"), "{reason}");
    unchanged(&mut net, "nobody", RejectCode::InsufficientFunds, |net| {
        sell(net, "newbie", r#"{"dlux":4}"#)
    });
    // All of it is fine.
    assert_applied(&sell(&mut net, "judy", r#"{"dlux":50000}"#).0, "the whole balance");
    assert_eq!((liquid(&net, "judy"), escrow(&net)), (0, 50_000));
    assert_eq!(net.state("token").get(&keys::account(Bucket::Liquid, "judy")), None);
}

#[test]
fn bad_fields_are_rejected_with_nothing_escrowed() {
    let mut net = net(true);
    let cases = [
        ("negative", r#"{"dlux":-1}"#, RejectCode::InvalidField),
        ("negative text", r#"{"dlux":"-1"}"#, RejectCode::InvalidField),
        ("fractional", r#"{"dlux":1.5}"#, RejectCode::InvalidField),
        ("missing amount", r#"{"hive":1000}"#, RejectCode::InvalidField),
        (
            "the token's symbol upper-case",
            r#"{"DLUX":1000}"#,
            RejectCode::InvalidField,
        ),
        ("below the smallest order", r#"{"dlux":3}"#, RejectCode::InvalidField),
        ("zero amount", r#"{"dlux":0}"#, RejectCode::InvalidField),
        (
            "zero total with a rate",
            r#"{"dlux":1000,"hive":0,"rate":"0.1"}"#,
            RejectCode::InvalidField,
        ),
        (
            "both hive and hbd",
            r#"{"dlux":1000,"hive":10,"hbd":10}"#,
            RejectCode::InvalidField,
        ),
        (
            "unknown pair",
            r#"{"dlux":1000,"pair":"BTC"}"#,
            RejectCode::InvalidField,
        ),
        (
            "pair contradicts total",
            r#"{"dlux":1000,"hbd":10,"pair":"HIVE"}"#,
            RejectCode::InvalidField,
        ),
        ("hours -1", r#"{"dlux":1000,"hours":-1}"#, RejectCode::InvalidField),
        ("hours 721", r#"{"dlux":1000,"hours":721}"#, RejectCode::InvalidField),
        (
            "rate not a decimal",
            r#"{"dlux":1000,"rate":true}"#,
            RejectCode::InvalidField,
        ),
        (
            "rate and total",
            r#"{"dlux":1000,"rate":"0.1","hive":5}"#,
            RejectCode::InvalidField,
        ),
        (
            "bad payout",
            r#"{"dlux":1000,"payout":"bank"}"#,
            RejectCode::InvalidField,
        ),
        (
            "amount too large",
            r#"{"dlux":"99999999999999999999"}"#,
            RejectCode::Overflow,
        ),
    ];
    for (what, json, code) in cases {
        unchanged(&mut net, what, code, |net| sell(net, "alice", json));
    }
    assert_eq!(escrow(&net), 0);
    assert_applied(&sell(&mut net, "alice", r#"{"dlux":1000}"#).0, "a good one after");
}

#[test]
fn a_credit_from_the_dex_moves_escrow_to_a_balance() {
    let mut net = net(true);
    let (outcome, sent) = sell(&mut net, "alice", r#"{"dlux":3000,"hive":1000}"#);
    assert_applied(&outcome, "sell");
    let order: OrderIn = serde_json::from_str(&sent[0].payload).unwrap();
    let (bob, alice) = (liquid(&net, "bob"), liquid(&net, "alice"));

    // A fill and its fee, then the unsold rest, each in its own block.
    let (outcome, sent) = message(&mut net, DEX, KIND_CREDIT, &credit_json("bob", 2985, &order.id, "fill"));
    assert_applied(&outcome, "fill");
    assert!(sent.is_empty(), "a credit sends nothing");
    assert_eq!((liquid(&net, "bob"), escrow(&net)), (bob + 2985, 15));
    conserved(net.state("token")).unwrap();
    let (outcome, _) = message(&mut net, DEX, KIND_CREDIT, &credit_json("rn", 10, &order.id, "fee"));
    assert_applied(&outcome, "fee to the fee account, not a Hive account name");
    assert_eq!((liquid(&net, "rn"), escrow(&net)), (10, 5));
    let (outcome, _) = message(
        &mut net,
        DEX,
        KIND_CREDIT,
        &credit_json("alice", 5, &order.id, "return"),
    );
    assert_applied(&outcome, "return");
    assert_eq!(liquid(&net, "alice"), alice + 5);
    assert_eq!(escrow(&net), 0);
    assert_eq!(
        net.state("token").get(keys::DEX_ESCROW),
        None,
        "an empty escrow has no key"
    );
    conserved(net.state("token")).unwrap();
}

#[test]
fn credits_the_ledger_cannot_honour_are_rejected() {
    let mut net = net(true);
    assert_applied(&sell(&mut net, "alice", r#"{"dlux":3000}"#).0, "sell");
    let bad = RejectCode::BadMessage;
    let cases: Vec<(&str, &str, &str, String)> = vec![
        (
            "more than the escrow",
            DEX,
            KIND_CREDIT,
            credit_json("bob", 3001, "o", "fill"),
        ),
        (
            "from another module",
            "multisig",
            KIND_CREDIT,
            credit_json("bob", 1, "o", "fill"),
        ),
        ("from nodes", NODES, KIND_CREDIT, credit_json("bob", 1, "o", "fill")),
        ("another kind", DEX, "pay", credit_json("bob", 1, "o", "fill")),
        ("an order back", DEX, KIND_ORDER, credit_json("bob", 1, "o", "fill")),
        ("not json", DEX, KIND_CREDIT, "credit bob 1".into()),
        (
            "missing fields",
            DEX,
            KIND_CREDIT,
            r#"{"account":"bob","amount":1}"#.into(),
        ),
        (
            "negative",
            DEX,
            KIND_CREDIT,
            r#"{"account":"bob","amount":-1,"order":"o","why":"fill"}"#.into(),
        ),
        (
            "amount as text",
            DEX,
            KIND_CREDIT,
            r#"{"account":"bob","amount":"1","order":"o","why":"fill"}"#.into(),
        ),
        ("zero", DEX, KIND_CREDIT, credit_json("bob", 0, "o", "fill")),
        (
            "invalid account",
            DEX,
            KIND_CREDIT,
            credit_json("Not-Valid", 1, "o", "fill"),
        ),
        ("another short name", DEX, KIND_CREDIT, credit_json("rm", 1, "o", "fee")),
    ];
    for (what, from, kind, payload) in cases {
        let reason = unchanged(&mut net, what, bad, |net| message(net, from, kind, &payload));
        if what == "more than the escrow" {
            assert!(reason.contains("3001") && reason.contains("3000"), "{reason}");
        }
    }
    assert_eq!(escrow(&net), 3000);
    // The nodes module's messages are handled as before.
    let (outcome, _) = message(&mut net, NODES, "node_reward", r#"{"account":"erin","amount":7}"#);
    assert_applied(&outcome, "a node reward on a DEX chain");
}

/// A chain without a `modules.dex` section is the chain before the DEX: the same routes,
/// partners and state, `dex_sell` unknown, and DEX messages refused.
#[test]
fn without_a_dex_nothing_changes() {
    let (plain, with) = (module(false), module(true));
    assert!(plain.dex().is_none());
    assert_eq!(plain.routes(), ROUTES);
    assert_eq!(plain.sends_to(), [NODES]);
    assert_eq!(with.routes()[..ROUTES.len()], *ROUTES);
    let names: Vec<&str> = with.routes().iter().map(|r| r.name).collect();
    assert_eq!(names.last(), Some(&"dex_sell"));
    assert_eq!(with.routes().len(), ROUTES.len() + 1);
    assert_eq!(with.routes().last().map(|r| r.auth), Some(opentoken_core::Auth::Active));
    assert_eq!(with.sends_to(), [NODES, DEX]);
    assert!(!plain.sends_on_messages() && !with.sends_on_messages());

    let (mut a, mut b) = (net(false), net(true));
    assert_eq!(a.commitment("token"), b.commitment("token"), "the same genesis state");
    let reason = unchanged(&mut a, "dex_sell without a DEX", RejectCode::UnknownOperation, |net| {
        sell(net, "alice", r#"{"dlux":3000}"#)
    });
    assert!(reason.contains("dex_sell"), "{reason}");
    unchanged(&mut a, "a credit without a DEX", RejectCode::BadMessage, |net| {
        message(net, DEX, KIND_CREDIT, &credit_json("bob", 1, "o", "fill"))
    });
    // The same ops give the same states either way.
    for net in [&mut a, &mut b] {
        assert_applied(
            &net.run("token", vec![op("alice", "send", r#"{"to":"bob","amount":5}"#)])
                .outcomes()[0],
            "send",
        );
    }
    assert_eq!(a.commitment("token"), b.commitment("token"));
}

// ---- property: conservation over random sells and credits ----

const SELLERS: &[&str] = &["alice", "bob", "carol", "judy", "newbie"];
const PAYEES: &[&str] = &["alice", "bob", "erin", "newbie", "rn"];

#[derive(Debug, Clone)]
enum Act {
    /// `dex_sell` of per-mille of the seller's balance (over 1000: more than it holds), as
    /// a limit (`Some(total)`) or market order.
    Sell {
        who: usize,
        per_mille: u64,
        total: Option<u64>,
        hbd: bool,
    },
    /// A credit of per-mille of the escrow (never more than it holds), at least 1.
    Credit { to: usize, per_mille: u64 },
    /// A credit the ledger must refuse: one more than the escrow.
    Excess { to: usize },
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        4 => (0..SELLERS.len(), 0u64..1100, prop::option::of(1u64..1_000_000), any::<bool>())
            .prop_map(|(who, per_mille, total, hbd)| Act::Sell { who, per_mille, total, hbd }),
        4 => (0..PAYEES.len(), 0u64..=1000).prop_map(|(to, per_mille)| Act::Credit { to, per_mille }),
        1 => (0..PAYEES.len()).prop_map(|to| Act::Excess { to }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever the order of sells and credits, the supply is conserved at every block, the
    /// escrow is what was sold less what was credited, each escrowed sell sends its order
    /// and nothing else does.
    #[test]
    fn sells_and_credits_conserve_the_supply(blocks in prop::collection::vec(prop::collection::vec(act(), 0..4), 1..16)) {
        let mut net = net(true);
        let mut model_escrow = 0u64;
        for acts in blocks {
            let block = net.next_block();
            let mut sells = Vec::new();
            let mut expected_credit = None;
            for a in &acts {
                match a {
                    Act::Sell { who, per_mille, total, hbd } => {
                        let who = SELLERS[*who];
                        let amount = liquid(&net, who) * per_mille / 1000;
                        let json = match total {
                            Some(t) if *hbd => format!(r#"{{"dlux":{amount},"hbd":{t}}}"#),
                            Some(t) => format!(r#"{{"dlux":{amount},"hive":{t}}}"#),
                            None if *hbd => format!(r#"{{"dlux":{amount},"pair":"HBD"}}"#),
                            None => format!(r#"{{"dlux":{amount}}}"#),
                        };
                        sells.push(op(who, "dex_sell", &json));
                    }
                    // One message per block, so that its amount is judged against the
                    // escrow it will meet.
                    Act::Credit { to, per_mille } if expected_credit.is_none() && model_escrow > 0 => {
                        let amount = (model_escrow * per_mille / 1000).max(1);
                        net.deliver(DEX, "token", KIND_CREDIT, credit_json(PAYEES[*to], amount, "o", "fill"));
                        expected_credit = Some((PAYEES[*to], amount, true));
                    }
                    Act::Excess { to } if expected_credit.is_none() => {
                        net.deliver(DEX, "token", KIND_CREDIT, credit_json(PAYEES[*to], model_escrow + 1, "o", "fill"));
                        expected_credit = Some((PAYEES[*to], model_escrow + 1, false));
                    }
                    _ => {}
                }
            }
            let before: Vec<u64> = PAYEES.iter().map(|p| liquid(&net, p)).collect();
            let out = net.run("token", sells.clone());
            let outcomes = out.outcomes();
            prop_assert_eq!(outcomes.len(), sells.len() + usize::from(expected_credit.is_some()));
            let mut ops = outcomes.iter();
            if let Some((to, amount, ok)) = expected_credit {
                let o = ops.next().unwrap();
                prop_assert_eq!(matches!(o, Outcome::Applied { .. }), ok, "credit of {} to {}: {:?}", amount, to, o);
                if ok {
                    model_escrow -= amount;
                    let i = PAYEES.iter().position(|p| *p == to).unwrap();
                    // The payee may also have sold in this block (after the credit).
                    let sold: u64 = out.out.remote_messages.iter()
                        .map(|m| serde_json::from_str::<OrderIn>(&m.payload).unwrap())
                        .filter(|o| o.from == to)
                        .map(|o| o.amount)
                        .sum();
                    prop_assert_eq!(liquid(&net, to) + sold, before[i] + amount);
                }
            }
            let applied: Vec<&Outcome> = ops.filter(|o| matches!(o, Outcome::Applied { .. })).collect();
            prop_assert_eq!(out.out.remote_messages.len(), applied.len(), "one order message per escrowed sell");
            for m in &out.out.remote_messages {
                prop_assert_eq!((m.to.as_str(), m.kind.as_str()), (DEX, KIND_ORDER));
                let order: OrderIn = serde_json::from_str(&m.payload).unwrap();
                prop_assert_eq!(order.block, block);
                prop_assert!(order.amount >= 4);
                model_escrow += order.amount;
            }
            prop_assert_eq!(escrow(&net), model_escrow, "escrow after block {}", block);
            conserved(net.state("token")).map_err(|e| TestCaseError::fail(format!("after block {block}: {e}")))?;
            prop_assert_eq!(net.commitment("token"), net.state("token").recompute_commitment());
        }
    }
}
