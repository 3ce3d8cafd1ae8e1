//! The DEX's coin. On a chain that runs the DEX (a `modules.dex` section), the DEX holds no
//! balance of its own: the HIVE/HBD of a buy order stays in the multi-sig account, in the
//! DEX's escrow (`tot/dex/<COIN>`), until the DEX says whom it belongs to.
//!
//! - **In.** A deposit whose memo is an order (`{"rate": "0.100000"}`, `{"dex": {...}}`;
//!   `opentoken_dex::order::parse_memo`) passes the checks every deposit gets (the minimum,
//!   the safety limit) and is escrowed instead of credited; a memo that is a DEX order with
//!   a bad field is refunded with the reason. `dex_buy` (active authority) escrows coin from
//!   the signer's Layer-2 balance. Either way the order goes to the DEX as an `order`
//!   message, exactly as escrowed ([`MultisigEvent::Escrowed`]).
//! - **Out.** The DEX sends `pay` messages (`opentoken_dex::protocol::Pay`): coin out of its
//!   escrow, credited to a Layer-2 balance or queued as an outflow to Hive. A payment the
//!   escrow cannot cover, or that does not decode, is refused (nothing moves). One that is
//!   valid is never refused: when the outflow cannot be queued (the counter or the pending
//!   total is exhausted, the recipient is the account itself, the memo cannot be sent) the
//!   coin is credited to the Layer-2 balance instead and the event says why, so that no
//!   coin is ever stuck in the escrow.
//!
//! The books gain one term: `held = tot/bal + tot/out + tot/dex` per coin.

use crate::keys::{self, Coin};
use crate::memo::{check_user_memo, cut, outflow_memo};
use crate::parse::{only_fields, Payload};
use crate::state::{amount, balance};
use crate::withdraw::{checked_seq, pending_room};
use crate::{MultisigEvent, MultisigModule};
use opentoken_core::account::is_valid_account_name;
use opentoken_core::{Message, OpContext, Reject, RejectCode, StateRead, TransferOp};
use opentoken_dex::order::{parse_buy, parse_memo, MemoOrder, Placed};
use opentoken_dex::protocol::{Pay, KIND_PAY};
use opentoken_dex::{DexConfig, OrderIn, Pair, Payout};

/// The module the DEX runs as: who sends `pay` and receives `order`.
pub(crate) const DEX: &str = opentoken_dex::NAME;

/// The message kind the DEX pays with.
pub(crate) const PAY: &str = KIND_PAY;

/// The fields `dex_buy` takes: a misspelt optional field (`"payuot"`) would otherwise be
/// ignored and the order placed with the default.
const BUY_FIELDS: &[&str] = &["hive", "hbd", "rate", "hours", "payout"];

/// The DEX market of a coin.
pub(crate) fn pair_of(coin: Coin) -> Pair {
    match coin {
        Coin::Hive => Pair::Hive,
        Coin::Hbd => Pair::Hbd,
    }
}

/// The coin of a DEX market.
pub(crate) fn coin_of(pair: Pair) -> Coin {
    match pair {
        Pair::Hive => Coin::Hive,
        Pair::Hbd => Coin::Hbd,
    }
}

impl MultisigModule {
    fn placed<'a>(&'a self, ctx: &OpContext<'a>, from: &'a str) -> Placed<'a> {
        Placed {
            token: &self.token,
            time: ctx.timestamp,
            from,
            txid: ctx.txid,
            pos: ctx.pos,
        }
    }

    /// What a deposit's memo means to the DEX: always `NotDex` on a chain without one.
    pub(crate) fn deposit_order(&self, ctx: &OpContext<'_>, t: &TransferOp, coin: Coin, amt: u64) -> MemoOrder {
        match &self.dex {
            Some(cfg) => parse_memo(cfg, self.placed(ctx, &t.from), pair_of(coin), amt, &t.memo),
            None => MemoOrder::NotDex,
        }
    }

    /// `dex_buy`: a buy order paid from the signer's Layer-2 balance.
    pub(crate) fn dex_buy(
        &self,
        cfg: &DexConfig,
        ctx: &OpContext<'_>,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<MultisigEvent>, Reject> {
        only_fields(payload, BUY_FIELDS)?;
        let order = parse_buy(cfg, self.placed(ctx, from), payload)?;
        let coin = coin_of(order.pair);
        let have = balance(state, coin, from);
        if order.amount > have {
            return Err(Reject::new(
                RejectCode::InsufficientFunds,
                format!(
                    "@{from} has {}, the order needs {}",
                    coin.format(have),
                    coin.format(order.amount)
                ),
            ));
        }
        Ok(vec![escrowed(from, coin, &order, true)?])
    }

    /// A `pay` message from a module that holds coin here (the DEX, the NFT module): coin
    /// out of its escrow.
    pub(crate) fn module_pay(
        &self,
        ctx: &OpContext<'_>,
        module: &str,
        m: &Message,
        state: &dyn StateRead,
    ) -> Result<Vec<MultisigEvent>, Reject> {
        let bad = |why: String| Reject::new(RejectCode::BadMessage, why);
        let pay: Pay = serde_json::from_str(&m.payload)
            .map_err(|e| bad(format!("a pay message does not decode: {}", cut(&e.to_string(), 200))))?;
        if pay.amount == 0 {
            return Err(bad("a pay message of 0 pays nothing".into()));
        }
        if !is_valid_account_name(&pay.account) {
            return Err(bad(format!(
                "a pay message to {:?}, not a valid Hive account name",
                cut(&pay.account, 20)
            )));
        }
        let coin = coin_of(pay.coin);
        let escrow = amount(state, &keys::total_escrow(module, coin));
        if pay.amount > escrow {
            return Err(bad(format!(
                "{module} pays {} but its escrow holds {}",
                coin.format(pay.amount),
                coin.format(escrow)
            )));
        }
        let event = match pay.via {
            Payout::L2 => credited(module, &pay, coin, None),
            Payout::Hive => self
                .paid_out(ctx, module, &pay, coin, state)
                .unwrap_or_else(|why| credited(module, &pay, coin, Some(why))),
        };
        Ok(vec![event])
    }

    /// The outflow that pays `pay` to Hive, or why it cannot be queued.
    fn paid_out(
        &self,
        ctx: &OpContext<'_>,
        module: &str,
        pay: &Pay,
        coin: Coin,
        state: &dyn StateRead,
    ) -> Result<MultisigEvent, String> {
        if pay.account == self.config().account {
            return Err(format!("@{} cannot pay itself on Hive", self.config().account));
        }
        let memo = if module == DEX {
            pay.memo(&self.token)
        } else {
            format!("{} NFT {} {}", self.token, pay.why, pay.order)
        };
        check_user_memo(&memo).map_err(|e| format!("the payment's memo cannot be sent: {e}"))?;
        let seq = checked_seq(state).map_err(|r| r.reason)?;
        pending_room(state, coin, pay.amount).map_err(|r| r.reason)?;
        Ok(MultisigEvent::EscrowPaidOut {
            module: module.to_string(),
            seq,
            to: pay.account.clone(),
            asset: coin,
            amount: pay.amount,
            memo: outflow_memo(&memo, seq),
            order: pay.order.clone(),
            why: pay.why.clone(),
            block: ctx.pos.block,
        })
    }
}

/// The escrow of `order`, which `account` pays in `coin`.
pub(crate) fn escrowed(account: &str, coin: Coin, order: &OrderIn, from_l2: bool) -> Result<MultisigEvent, Reject> {
    let text = serde_json::to_string(order).map_err(|e| Reject::field(format!("the order does not encode: {e}")))?;
    Ok(MultisigEvent::Escrowed {
        module: DEX.to_string(),
        account: account.to_string(),
        asset: coin,
        amount: order.amount,
        order: text,
        from_l2,
    })
}

fn credited(module: &str, pay: &Pay, coin: Coin, fallback: Option<String>) -> MultisigEvent {
    MultisigEvent::EscrowPaid {
        module: module.to_string(),
        account: pay.account.clone(),
        asset: coin,
        amount: pay.amount,
        order: pay.order.clone(),
        why: pay.why.clone(),
        fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MAX_AMOUNT;
    use crate::NAME;
    use opentoken_core::module::Module;
    use opentoken_core::test_utils::{test_spec, ModuleHarness};
    use opentoken_core::{ChainPos, Input, StateWrite};
    use serde_json::json;

    fn harness() -> ModuleHarness<MultisigModule> {
        let spec = test_spec().with_module(NAME, json!({})).with_module(DEX, json!({}));
        let module = MultisigModule::from_spec(&spec).expect("valid");
        let mut h = ModuleHarness::new(module, spec);
        h.apply(&[MultisigEvent::Deposited {
            account: "alice".into(),
            asset: Coin::Hive,
            amount: 5_000,
        }]);
        h.run(1, "alice", "dex_buy", json!({"hive": 3_000}));
        h
    }

    fn pay(to: &str, amount: u64, via: &str) -> String {
        json!({"account": to, "coin": "HIVE", "amount": amount, "via": via, "order": "o", "why": "fill"}).to_string()
    }

    /// Decides a message without applying it (the state may be one `apply` would refuse).
    fn decide(h: &ModuleHarness<MultisigModule>, payload: &str) -> Result<Vec<MultisigEvent>, Reject> {
        let ctx = OpContext {
            pos: ChainPos::new(2, 0, 0),
            txid: "msg",
            timestamp: 0,
            spec: &h.spec,
        };
        let m = Message {
            from: DEX.into(),
            to: NAME.into(),
            pos: ChainPos::new(1, 0, 0),
            seq: 0,
            kind: PAY.into(),
            payload: payload.into(),
        };
        h.module.handle(&ctx, Input::Message(&m), &h.state)
    }

    fn fallback(events: &[MultisigEvent]) -> Option<&str> {
        match events {
            [MultisigEvent::EscrowPaid { fallback, .. }] => fallback.as_deref(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_payout_the_queue_cannot_count_is_credited_not_refused() {
        let mut h = harness();
        assert!(matches!(
            &decide(&h, &pay("bob", 3_000, "hive")).unwrap()[..],
            [MultisigEvent::EscrowPaidOut { seq: 0, .. }]
        ));
        // The pending total at the end of the range (books `apply` would refuse; only the
        // decision is looked at).
        h.state
            .put(keys::total_pending(Coin::Hive), keys::encode_u64(MAX_AMOUNT));
        let events = decide(&h, &pay("bob", 1, "hive")).unwrap();
        assert!(fallback(&events).unwrap().contains("outflows pending would exceed"));
        h.state.delete(&keys::total_pending(Coin::Hive));
        h.state.put(keys::SEQ.to_vec(), keys::encode_u64(u64::MAX));
        let events = decide(&h, &pay("bob", 1, "hive")).unwrap();
        assert!(fallback(&events).unwrap().contains("counter is exhausted"));
        h.apply(&events);
        assert_eq!(crate::state::balance(&h.state, Coin::Hive, "bob"), 1);
        // A payment to the Layer-2 balance has no fallback; one over the escrow is refused.
        assert_eq!(fallback(&decide(&h, &pay("bob", 2_999, "l2")).unwrap()), None);
        let r = decide(&h, &pay("bob", 3_000, "l2")).unwrap_err();
        assert_eq!(r.code, RejectCode::BadMessage);
        crate::apply::check_all_books(&h.state).unwrap();
    }

    /// `apply` refuses escrow events `handle` never decides: an order that is not what the
    /// books escrow, a payment the escrow cannot cover, an outflow out of order.
    #[test]
    fn apply_refuses_impossible_dex_events() {
        let h = harness();
        let order = |amount: u64, from: &str, pair: Pair| {
            let mut o: OrderIn = match h.module.handle(
                &OpContext {
                    pos: ChainPos::new(3, 0, 0),
                    txid: "tx",
                    timestamp: 0,
                    spec: &h.spec,
                },
                Input::CustomJson {
                    name: "dex_buy",
                    from: "alice",
                    auth: opentoken_core::Auth::Active,
                    payload: json!({"hive": 100}).as_object().unwrap(),
                },
                &h.state,
            ) {
                Ok(events) => match &events[..] {
                    [MultisigEvent::Escrowed { order, .. }] => serde_json::from_str(order).unwrap(),
                    other => panic!("{other:?}"),
                },
                Err(r) => panic!("{r}"),
            };
            o.amount = amount;
            o.from = from.into();
            o.pair = pair;
            serde_json::to_string(&o).unwrap()
        };
        let escrow = |order: String, amount: u64| MultisigEvent::Escrowed {
            module: "dex".into(),
            account: "alice".into(),
            asset: Coin::Hive,
            amount,
            order,
            from_l2: true,
        };
        let fails = |e: MultisigEvent, needle: &str| {
            let mut s = h.state.clone();
            let err = h.module.apply(&e, &mut s).unwrap_err();
            assert!(
                err.what.contains(needle),
                "{e:?}: {:?} does not say {needle:?}",
                err.what
            );
        };
        fails(escrow(order(100, "alice", Pair::Hive), 99), "but the order is");
        fails(escrow(order(100, "bob", Pair::Hive), 100), "by @bob");
        fails(escrow(order(100, "alice", Pair::Hbd), 100), "100 HBD");
        fails(escrow("{}".into(), 100), "does not decode");
        fails(escrow(order(2_001, "alice", Pair::Hive), 2_001), "negative");
        fails(
            MultisigEvent::EscrowPaid {
                module: "dex".into(),
                account: "bob".into(),
                asset: Coin::Hive,
                amount: 3_001,
                order: "o".into(),
                why: "fill".into(),
                fallback: None,
            },
            "negative",
        );
        fails(
            MultisigEvent::EscrowPaidOut {
                module: "dex".into(),
                seq: 1,
                to: "bob".into(),
                asset: Coin::Hive,
                amount: 1,
                memo: "DLUX DEX fill o ot:1".into(),
                order: "o".into(),
                why: "fill".into(),
                block: 2,
            },
            "next number is 0",
        );
        let mut s = h.state.clone();
        h.module
            .apply(&escrow(order(100, "alice", Pair::Hive), 100), &mut s)
            .unwrap();
        assert_eq!(crate::state::amount(&s, &keys::total_dex(Coin::Hive)), 3_100);
    }

    #[test]
    fn coins_and_pairs_map_one_to_one() {
        for c in Coin::ALL {
            assert_eq!(coin_of(pair_of(c)), c);
            assert_eq!(pair_of(c).symbol(), c.symbol());
        }
    }
}
