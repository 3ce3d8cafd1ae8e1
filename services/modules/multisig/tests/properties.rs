//! Property tests of the multi-sig books, through the real engine: any sequence of
//! deposits, withdrawals, confirmations, duplicate and faulty confirmations and stray
//! transfers (valid and invalid, several per block) keeps, after every block and per coin,
//! the users' balances plus the unpaid outflows equal to what came in minus the outflows
//! paid (counted from the ops themselves, not from the module's totals), which is `held`;
//! no amount negative, zero-stored or out of Hive's range; no outflow paid twice; and the
//! incremental commitment equal to a recomputed one.
//!
//! The multi-sig transactions run alongside: signer lists from the nodes module (changed
//! keys included), transactions built at checkpoints, good and bad signatures, the
//! assembled transactions broadcast (late ones too: a transaction lands in a block only
//! while Hive would still take it, with the most lenient reading of its expiry rule),
//! outflows paid by hand while in a transaction, expiries, settlements, idle blocks. After
//! every block: at most one transaction is open; an outflow is `in_tx(N)` exactly when it is
//! in the open transaction `N`; no outflow is ever in two transactions at once or built
//! after it was paid; every stored signature is a signer's and recovers to its key over the
//! digest; and no outflow is paid on chain by two multi-sig transactions.

mod common;

use common::{hex, hex_bytes, high_s, state, transfer, withdraw, MS, RUNNERS};
use opentoken_core::account::is_valid_account_name;
use opentoken_core::test_utils::block_time;
use opentoken_core::{AssetSymbol, HiveOp, Module, ModuleState, Outcome, StateRead, StateWrite};
use opentoken_hive_tx::{PrivateKey, PublicKey, Signature};
use opentoken_multisig::keys::{self, decode_u64, threshold_of, Coin, OpenTx, Outflow, OutflowState, Signers};
use opentoken_multisig::views::{self, OpenTxView};
use opentoken_multisig::{MultisigEvent, MultisigModule, NAME};
use proptest::prelude::*;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

const ACCOUNTS: &[&str] = &["alice", "bob", "carol", "dave"];
const KEEP_PAID: u64 = 5;
const KEEP_ANOMALIES: u64 = 3;

const MAX_PER_TX: usize = 3;

fn section() -> serde_json::Value {
    json!({"min_deposit": 10, "min_withdrawal": 5, "keep_paid": KEEP_PAID, "keep_anomalies": KEEP_ANOMALIES,
        "max_outflows_per_tx": MAX_PER_TX, "tx_expiration_secs": 90, "return_after_failures": 1,
        "safety_price": {"HIVE": 1000, "HBD": 1000}})
}

/// Who may be named a signer: the four runners, then erin.
const CANDIDATES: &[&str] = &["alice", "bob", "carol", "dave", "erin"];

/// Candidate `i`'s key: the usual one, or (`rekeyed`) a second one.
fn candidate_key(i: usize, rekeyed: bool) -> PrivateKey {
    let base = if i < RUNNERS.len() { i as u8 + 1 } else { 9 };
    PrivateKey::from_secret([base + if rekeyed { 20 } else { 0 }; 32]).expect("a valid scalar")
}

/// The private key of a public key some candidate holds.
fn private_of(public: &str) -> Option<PrivateKey> {
    (0..CANDIDATES.len())
        .flat_map(|i| [candidate_key(i, false), candidate_key(i, true)])
        .find(|k| k.public().to_string() == public)
}

/// A signer list from the nodes module: the candidates of `mask` (at least one), one of
/// them perhaps with its second key.
#[derive(Debug, Clone, Copy)]
struct SignerChange {
    mask: u8,
    rekey: Option<usize>,
}

impl SignerChange {
    fn payload(self) -> String {
        let list: Vec<_> = (0..CANDIDATES.len())
            .filter(|i| self.mask & (1 << i) != 0)
            .map(|i| {
                json!({"account": CANDIDATES[i], "key": candidate_key(i, self.rekey == Some(i)).public().to_string()})
            })
            .collect();
        json!({ "signers": list }).to_string()
    }
}

#[derive(Debug, Clone, Copy)]
enum SigFault {
    None,
    OtherKey,
    OtherDigest,
    HighS,
    /// A good signature of a transaction that is no longer open.
    Stale,
    Garbage,
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
    /// `ms_sign` of the open transaction: a good one by a signer who has not signed yet, a
    /// faulty one by any candidate (`signer` picks which).
    Sign { signer: usize, fault: SigFault },
    /// One of the transactions assembled so far lands on chain, if Hive would still take it.
    Broadcast { pick: usize },
}

#[derive(Debug, Clone)]
struct Step {
    /// A signer list delivered at the start of the block.
    signers: Option<SignerChange>,
    ops: Vec<Op>,
    /// Empty blocks after it, checked one by one.
    idle: u64,
}

#[derive(Debug, Clone)]
struct Scenario {
    /// Whether the four runners are named signers before the first block.
    initial_signers: bool,
    steps: Vec<Step>,
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
    let sig_fault = prop_oneof![
        14 => Just(SigFault::None),
        1 => Just(SigFault::OtherKey),
        1 => Just(SigFault::OtherDigest),
        1 => Just(SigFault::HighS),
        1 => Just(SigFault::Stale),
        1 => Just(SigFault::Garbage),
    ];
    prop_oneof![
        8 => deposit,
        6 => withdraw,
        2 => (any::<usize>(), fault).prop_map(|(pick, fault)| Op::Confirm { pick, fault }),
        1 => any::<usize>().prop_map(|pick| Op::Repeat { pick }),
        1 => (user, 1i64..3000, 0u64..40).prop_map(|(to, amount, seq)| Op::Stray { to, amount, seq }),
        10 => (any::<usize>(), sig_fault).prop_map(|(signer, fault)| Op::Sign { signer, fault }),
        6 => any::<usize>().prop_map(|pick| Op::Broadcast { pick }),
    ]
}

fn signer_change() -> impl Strategy<Value = SignerChange> {
    (1u8..32, prop::option::weighted(0.3, 0usize..5)).prop_map(|(mask, rekey)| SignerChange { mask, rekey })
}

fn steps() -> impl Strategy<Value = Scenario> {
    let step = (
        prop::option::weighted(0.05, signer_change()),
        prop::collection::vec(op(), 0..6),
        prop_oneof![8 => Just(0u64), 2 => 1u64..8, 1 => 8u64..40],
    )
        .prop_map(|(signers, ops, idle)| Step { signers, ops, idle });
    (prop::bool::weighted(0.85), prop::collection::vec(step, 1..40))
        .prop_map(|(initial_signers, steps)| Scenario { initial_signers, steps })
}

fn symbol_of(c: Coin) -> AssetSymbol {
    c.asset()
}

/// What ops are resolved against when their block starts.
struct Start<'a> {
    block: u64,
    s: &'a ModuleState,
    pending: &'a [(u64, Outflow)],
    open: Option<OpenTxView>,
}

/// The Hive ops of `op` (none, one, or a landing transaction's transfers), resolved against
/// the state when its block starts; confirmations sent are remembered for `Repeat`.
fn hive_ops(op: &Op, at: &Start<'_>, sent: &mut Vec<HiveOp>, model: &mut Model) -> Vec<HiveOp> {
    match op {
        Op::Sign { signer, fault } => sign_op(*signer, *fault, at, model).into_iter().collect(),
        Op::Broadcast { pick } => broadcast(*pick, at.block, model),
        other => vec![hive_op(other, at.s, at.pending, sent)],
    }
}

fn sign_op(signer: usize, fault: SigFault, at: &Start<'_>, model: &Model) -> Option<HiveOp> {
    let v = at.open.as_ref()?;
    let list = views::signers(at.s)
        .expect("signers read")
        .map(|l| l.signers)
        .unwrap_or_default();
    // A good signature comes from a signer who has not signed yet (when there is one); a
    // faulty one from any candidate, erin (never named at the start) included.
    let unsigned: Vec<&str> = list
        .iter()
        .map(|x| x.account.as_str())
        .filter(|a| !v.signatures.iter().any(|s| s.account == *a))
        .collect();
    let account = match fault {
        SigFault::None if !unsigned.is_empty() => unsigned[signer % unsigned.len()],
        _ => CANDIDATES[signer % CANDIDATES.len()],
    };
    let index = CANDIDATES.iter().position(|c| *c == account).unwrap_or(0);
    let current = list
        .iter()
        .find(|x| x.account == account)
        .and_then(|x| private_of(&x.key))
        .unwrap_or_else(|| candidate_key(index, false));
    let signed = |k: &PrivateKey, digest: &str| {
        let d: [u8; 32] = hex_bytes(digest).try_into().expect("32 bytes");
        hex(k.sign(&d).as_bytes())
    };
    let (checkpoint, sig) = match fault {
        SigFault::None => (v.tx.checkpoint, signed(&current, &v.tx.digest)),
        SigFault::OtherKey => (
            v.tx.checkpoint,
            signed(&candidate_key((index + 1) % CANDIDATES.len(), false), &v.tx.digest),
        ),
        SigFault::OtherDigest => (v.tx.checkpoint, signed(&current, &"07".repeat(32))),
        SigFault::HighS => (v.tx.checkpoint, high_s(&signed(&current, &v.tx.digest))),
        SigFault::Stale => match &model.closed {
            Some((checkpoint, digest)) => (*checkpoint, signed(&current, digest)),
            None => (v.tx.checkpoint.saturating_sub(10), signed(&current, &v.tx.digest)),
        },
        SigFault::Garbage => (v.tx.checkpoint, "zz".repeat(65)),
    };
    Some(common::sign(account, checkpoint, &sig))
}

/// The transfers of an assembled transaction that Hive would still include in `block`
/// (its head time, the previous block's, before the expiration: the most lenient reading).
/// Each outflow it pays is counted as paid on chain by a multi-sig transaction.
fn broadcast(pick: usize, block: u64, model: &mut Model) -> Vec<HiveOp> {
    let head = block_time(block) - 3;
    let open: Vec<String> = model
        .assembled
        .iter()
        .filter(|(_, a)| !a.landed && head < a.expiration)
        .map(|(txid, _)| txid.clone())
        .collect();
    let Some(txid) = open.get(pick % open.len().max(1)) else {
        return vec![];
    };
    let Some(a) = model.assembled.get_mut(txid) else {
        return vec![];
    };
    a.landed = true;
    if let Some(body) = &a.rotation {
        // The rotation's account_update2, as an API node serves it.
        return vec![HiveOp::Other {
            name: "account_update2".into(),
            body: body.to_string(),
        }];
    }
    let transfers = a.transfers.clone();
    let mut ops = Vec::new();
    for (seq, out) in transfers {
        if !model.paid_by_tx.insert(seq) {
            model.violations.push(format!(
                "ot:{seq} is paid on chain by a second multi-sig transaction ({txid})"
            ));
        }
        ops.push(transfer(MS, &out.to, out.amount as i64, out.asset.asset(), &out.memo));
    }
    ops
}

fn hive_op(op: &Op, s: &ModuleState, pending: &[(u64, Outflow)], sent: &mut Vec<HiveOp>) -> HiveOp {
    match op {
        Op::Sign { .. } | Op::Broadcast { .. } => unreachable!("resolved by hive_ops"),
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

/// What the ops say came in and went out, per coin, and which outflows were paid; and
/// what the events say about the multi-sig transactions.
#[derive(Debug, Default)]
struct Model {
    /// Cumulative, so wider than any one balance: deposits refunded and paid out again and
    /// again add up past u64 over a long run of large amounts.
    came_in: BTreeMap<Coin, u128>,
    paid_out: BTreeMap<Coin, u128>,
    paid: BTreeSet<u64>,
    /// The open transaction's checkpoint.
    open: Option<u64>,
    /// The open transaction's checkpoint when it is a rotation.
    rotation: Option<u64>,
    /// Each unpaid outflow in a transaction, and which.
    in_tx: BTreeMap<u64, u64>,
    /// The last transaction closed (expired or settled): checkpoint and digest.
    closed: Option<(u64, String)>,
    digests: BTreeMap<u64, String>,
    expirations: BTreeMap<u64, u64>,
    /// Every transaction assembled so far, by id.
    assembled: BTreeMap<String, Assembled>,
    /// Outflows paid on chain by an assembled multi-sig transaction.
    paid_by_tx: BTreeSet<u64>,
    violations: Vec<String>,
}

#[derive(Debug, Clone)]
struct Assembled {
    expiration: u64,
    transfers: Vec<(u64, Outflow)>,
    /// A rotation: its `account_update2` body.
    rotation: Option<serde_json::Value>,
    landed: bool,
}

impl Model {
    /// Follows the transaction events of a block, in order.
    fn track(&mut self, block: u64, events: &[MultisigEvent]) -> Result<(), String> {
        for e in events {
            match e {
                MultisigEvent::OutflowPaid { seq, .. } => {
                    self.in_tx.remove(seq);
                }
                MultisigEvent::TxBuilt {
                    checkpoint,
                    seqs,
                    digest,
                    expiration,
                    ..
                } => {
                    if block != *checkpoint {
                        return Err(format!("the transaction of {checkpoint} is built in block {block}"));
                    }
                    if let Some(open) = self.open {
                        return Err(format!("{checkpoint} is built while {open} is open"));
                    }
                    for seq in seqs {
                        if let Some(other) = self.in_tx.insert(*seq, *checkpoint) {
                            return Err(format!("ot:{seq} is in {other} and {checkpoint}"));
                        }
                        if self.paid.contains(seq) {
                            return Err(format!("ot:{seq} is built into {checkpoint} after it was paid"));
                        }
                    }
                    self.open = Some(*checkpoint);
                    self.digests.insert(*checkpoint, digest.clone());
                    self.expirations.insert(*checkpoint, *expiration);
                }
                MultisigEvent::TxExpired { checkpoint, seqs } => {
                    if self.open != Some(*checkpoint) {
                        return Err(format!("{checkpoint} expires but {:?} is open", self.open));
                    }
                    // Hive includes it in block b+1 while b's time is before its expiration.
                    let expiration = self.expirations.get(checkpoint).copied().unwrap_or(u64::MAX);
                    if block_time(block) < expiration {
                        return Err(format!(
                            "{checkpoint} expires in block {block} though block {} could still include it",
                            block + 1
                        ));
                    }
                    for seq in seqs {
                        if self.in_tx.remove(seq) != Some(*checkpoint) {
                            return Err(format!("ot:{seq} returns from {checkpoint} but was not in it"));
                        }
                    }
                    self.close(*checkpoint)?;
                }
                MultisigEvent::TxFailed { checkpoint, seqs, .. } => {
                    if self.open != Some(*checkpoint) {
                        return Err(format!("{checkpoint} fails but {:?} is open", self.open));
                    }
                    let expiration = self.expirations.get(checkpoint).copied().unwrap_or(u64::MAX);
                    if block_time(block) < expiration {
                        return Err(format!("{checkpoint} fails in block {block} before it expired"));
                    }
                    for seq in seqs {
                        if self.in_tx.remove(seq) != Some(*checkpoint) {
                            return Err(format!("ot:{seq} returns from {checkpoint} but was not in it"));
                        }
                    }
                    self.close(*checkpoint)?;
                }
                MultisigEvent::TxSettled { checkpoint } => {
                    if self.open != Some(*checkpoint) {
                        return Err(format!("{checkpoint} settles but {:?} is open", self.open));
                    }
                    if self.rotation == Some(*checkpoint) {
                        return Err(format!("the rotation of {checkpoint} settles without landing"));
                    }
                    self.close(*checkpoint)?;
                }
                MultisigEvent::RotationBuilt {
                    checkpoint,
                    digest,
                    expiration,
                    ..
                } => {
                    if block != *checkpoint {
                        return Err(format!("the rotation of {checkpoint} is built in block {block}"));
                    }
                    if let Some(open) = self.open {
                        return Err(format!("the rotation {checkpoint} is built while {open} is open"));
                    }
                    self.open = Some(*checkpoint);
                    self.rotation = Some(*checkpoint);
                    self.digests.insert(*checkpoint, digest.clone());
                    self.expirations.insert(*checkpoint, *expiration);
                }
                MultisigEvent::Rotated { checkpoint, .. } => {
                    if self.open != Some(*checkpoint) || self.rotation != Some(*checkpoint) {
                        return Err(format!(
                            "the rotation of {checkpoint} lands but {:?} is open",
                            self.open
                        ));
                    }
                    self.close(*checkpoint)?;
                }
                MultisigEvent::AuthorityAnomaly { why, .. } => {
                    return Err(format!("only the module's rotations change the authority here: {why}"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn close(&mut self, checkpoint: u64) -> Result<(), String> {
        if let Some((seq, _)) = self.in_tx.iter().find(|(_, c)| **c == checkpoint) {
            return Err(format!("{checkpoint} is closed with ot:{seq} still in it"));
        }
        self.open = None;
        self.rotation = None;
        let digest = self.digests.remove(&checkpoint).unwrap_or_default();
        self.closed = Some((checkpoint, digest));
        Ok(())
    }

    /// Remembers the open transaction if it can be assembled now.
    fn collect_assembled(&mut self, s: &ModuleState) -> Result<(), String> {
        let Some(v) = views::open_transaction(s, MS).map_err(|e| e.to_string())? else {
            return Ok(());
        };
        let Some(signed) = views::assemble(&v) else {
            return Ok(());
        };
        let sigs = signed["signatures"].as_array().map_or(0, Vec::len);
        if sigs != v.threshold as usize {
            return Err(format!("{sigs} signatures assembled, threshold {}", v.threshold));
        }
        if v.outflows.iter().any(|p| self.paid.contains(&p.seq)) {
            return Err(format!(
                "the transaction of {} is assembled with a paid outflow",
                v.tx.checkpoint
            ));
        }
        self.assembled.entry(v.tx.txid.clone()).or_insert(Assembled {
            expiration: v.tx.expiration,
            transfers: v.outflows.iter().map(|p| (p.seq, p.outflow.clone())).collect(),
            rotation: v.tx.rotate.is_some().then(|| signed["operations"][0][1].clone()),
            landed: false,
        });
        Ok(())
    }
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
    for (k, v) in s.iter() {
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
            if seq >= next {
                return Err(format!("out/{seq}: next {next}"));
            }
            let in_tx = match out.state {
                OutflowState::Pending => None,
                OutflowState::InTx(n) => Some(n),
            };
            if in_tx != model.in_tx.get(&seq).copied() {
                return Err(format!(
                    "out/{seq} is {:?}, the events say {:?}",
                    out.state,
                    model.in_tx.get(&seq)
                ));
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
        } else if k.starts_with(keys::AUTH_ANOMALY_PREFIX) {
            return Err(format!("an authority anomaly {}", show(k)));
        } else if k == keys::BATCH || k == keys::COLLATERAL || k.starts_with(keys::FAIL_PREFIX) {
            // Delivery retries: checked by their events.
        } else if k == keys::SIGNERS
            || k == keys::WANTED
            || k.starts_with(keys::TX_PREFIX)
            || k.starts_with(keys::SIG_PREFIX)
        {
            // Checked by `tx_invariants`.
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
        if u128::from(bal) + u128::from(out) != expected {
            return Err(format!(
                "{coin}: balances {bal} + pending {out} != in {came_in} - paid {paid_out}"
            ));
        }
        if u128::from(total(keys::held(coin))) != expected {
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
    tx_invariants(s, model)
}

/// The signers, the open transaction and its signatures.
fn tx_invariants(s: &ModuleState, model: &Model) -> Result<(), String> {
    let signers: Option<Signers> = s
        .get(keys::SIGNERS)
        .map(|v| serde_json::from_slice(v).map_err(|e| format!("signers: {e}")))
        .transpose()?;
    if let Some(l) = &signers {
        let n = l.signers.len();
        if n == 0
            || n > 40
            || l.threshold != threshold_of(n)
            || !l.signers.windows(2).all(|w| w[0].account < w[1].account)
        {
            return Err(format!("signers {l:?}"));
        }
    }
    let txs: Vec<(u64, OpenTx)> = s
        .scan_prefix(keys::TX_PREFIX)
        .map(|(k, v)| {
            let n = keys::seq_of(k, keys::TX_PREFIX).ok_or_else(|| format!("key {}", show(k)))?;
            Ok((n, serde_json::from_slice(v).map_err(|e| format!("tx/{n}: {e}"))?))
        })
        .collect::<Result<_, String>>()?;
    if txs.len() > 1 {
        return Err(format!("{} transactions open", txs.len()));
    }
    if txs.first().map(|(n, _)| *n) != model.open {
        return Err(format!(
            "open {:?}, the events say {:?}",
            txs.first().map(|t| t.0),
            model.open
        ));
    }
    let mut digest = None;
    if let Some((n, tx)) = txs.first() {
        let l = signers.as_ref().ok_or("a transaction without signers")?;
        let shape_ok = match &tx.rotate {
            Some(r) => tx.seqs.is_empty() && r.threshold == threshold_of(r.signers.len()) && model.rotation == Some(*n),
            None => !tx.seqs.is_empty() && tx.seqs.len() <= MAX_PER_TX && model.rotation.is_none(),
        };
        if tx.checkpoint != *n || !shape_ok {
            return Err(format!("tx/{n}: {tx:?}"));
        }
        if !tx.seqs.windows(2).all(|w| w[0] < w[1]) || tx.digest.len() != 64 || tx.txid.len() != 40 {
            return Err(format!("tx/{n}: {tx:?}"));
        }
        for seq in &tx.seqs {
            let out: Option<Outflow> = s.get(&keys::outflow(*seq)).and_then(|v| serde_json::from_slice(v).ok());
            match out {
                Some(o) if o.state == OutflowState::InTx(*n) => {}
                None if model.paid.contains(seq) => {}
                other => return Err(format!("ot:{seq} of tx/{n} is {other:?}")),
            }
        }
        if l.signers.is_empty() {
            return Err("no signers".into());
        }
        digest = Some((
            *n,
            <[u8; 32]>::try_from(hex_bytes(&tx.digest)).map_err(|_| "a digest of 32 bytes")?,
        ));
    }
    for (k, v) in s.scan_prefix(keys::SIG_PREFIX) {
        let (n, account) = keys::sig_of(k).ok_or_else(|| format!("key {}", show(k)))?;
        let Some((open, d)) = digest else {
            return Err(format!("a signature of {n} with no transaction open"));
        };
        if n != open {
            return Err(format!("a signature of {n}, the open transaction is {open}"));
        }
        let signer = signers
            .as_ref()
            .and_then(|l| l.signers.iter().find(|x| x.account == account))
            .ok_or_else(|| format!("a signature by @{account}, no signer"))?;
        let sig = std::str::from_utf8(v)
            .ok()
            .and_then(|t| Signature::from_hex(t).ok())
            .ok_or_else(|| format!("@{account}'s signature is unreadable"))?;
        let key = PublicKey::from_string(&signer.key).map_err(|e| e.to_string())?;
        if !sig.is_low_s() || sig.recover(&d) != Ok(key) {
            return Err(format!("@{account}'s signature does not recover to its key"));
        }
    }
    if let Some(v) = model.violations.first() {
        return Err(v.clone());
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
        *model.came_in.entry(coin).or_default() += u128::from(amount);
    } else if t.from == MS && t.to != MS {
        for e in events {
            if let MultisigEvent::OutflowPaid { seq, .. } = module.decode_event(&e.data).map_err(|e| e.to_string())? {
                if !model.paid.insert(seq) {
                    return Err(format!("ot:{seq} paid twice"));
                }
                if opentoken_multisig::memo::outflow_id(&t.memo) != Some(seq) {
                    return Err(format!("ot:{seq} paid by a transfer with memo {:?}", t.memo));
                }
                *model.paid_out.entry(coin).or_default() += u128::from(amount);
            }
        }
    } else {
        return Err(format!("an applied transfer {} -> {}", t.from, t.to));
    }
    Ok(())
}

/// Runs `steps`, checking every invariant after every block; returns the event kinds.
fn run_checked(scenario: &Scenario) -> Result<BTreeMap<String, usize>, TestCaseError> {
    let (mut net, module) = common::net_with(section());
    let mut model = Model::default();
    let mut sent = Vec::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    books_invariants(state(&net), &model).map_err(|m| TestCaseError::fail(format!("at genesis: {m}")))?;
    if scenario.initial_signers {
        net.deliver("nodes", NAME, "signers", common::signers_payload(&[0, 1, 2, 3]));
        net.deliver("nodes", NAME, "collateral", json!({ "stake": 100_000 }).to_string());
    }
    for step in &scenario.steps {
        if let Some(change) = step.signers {
            net.deliver("nodes", NAME, "signers", change.payload());
            // The collateral moves with the runner set: from no room at all to plenty.
            let stake = u64::from(change.mask) * 4_000;
            net.deliver("nodes", NAME, "collateral", json!({ "stake": stake }).to_string());
        }
        let s = state(&net);
        let pending: Vec<(u64, Outflow)> = views::pending_outflows(s, 1000)
            .expect("pending reads")
            .into_iter()
            .map(|p| (p.seq, p.outflow))
            .collect();
        let at = Start {
            block: net.next_block(),
            s,
            pending: &pending,
            open: views::open_transaction(s, MS).expect("the open transaction reads"),
        };
        let ops: Vec<HiveOp> = step
            .ops
            .iter()
            .flat_map(|op| hive_ops(op, &at, &mut sent, &mut model))
            .collect();
        let delivered = net.pending_messages().len();
        let b = net.run(NAME, ops.clone());
        prop_assert_eq!(
            b.out.statuses.len(),
            ops.len() + delivered,
            "one status per op and message"
        );
        for (i, op) in ops.iter().enumerate() {
            let status = b.status(i);
            // A delivered message sits at (block, 0, 0) too; only it sets the signers.
            let events: Vec<_> = b
                .out
                .events
                .iter()
                .filter(|e| {
                    e.pos.trx_in_block == i as u32
                        && !matches!(e.kind.as_str(), "SignersSet" | "SignersWanted" | "CollateralSet")
                })
                .collect();
            if matches!(status.outcome, Outcome::Rejected { .. }) {
                prop_assert!(events.is_empty(), "a rejected op emitted events");
            }
            account_for(&module, &mut model, op, &status.outcome, &events)
                .map_err(|m| TestCaseError::fail(format!("block {}: {m}", b.block)))?;
        }
        after_block(&module, &net, &mut model, &mut kinds, &b)?;
        for _ in 0..step.idle {
            let b = net.run(NAME, vec![]);
            after_block(&module, &net, &mut model, &mut kinds, &b)?;
        }
    }
    prop_assert_eq!(
        net.commitment(NAME),
        state(&net).recompute_commitment(),
        "incremental commitment differs from the recomputed one"
    );
    let landed = model.assembled.values().filter(|a| a.landed).count();
    kinds.insert("(transactions landed)".into(), landed);
    Ok(kinds)
}

/// The events of a block into the model, then every invariant, then what can be assembled.
fn after_block(
    module: &MultisigModule,
    net: &opentoken_core::test_utils::TestNet,
    model: &mut Model,
    kinds: &mut BTreeMap<String, usize>,
    b: &opentoken_core::test_utils::BlockOutput,
) -> Result<(), TestCaseError> {
    let fail = |m: String| TestCaseError::fail(format!("block {}: {m}", b.block));
    let events: Vec<MultisigEvent> = b
        .out
        .events
        .iter()
        .map(|e| module.decode_event(&e.data).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()
        .map_err(fail)?;
    model.track(b.block, &events).map_err(fail)?;
    for e in &b.out.events {
        *kinds.entry(e.kind.clone()).or_default() += 1;
    }
    books_invariants(state(net), model).map_err(fail)?;
    model.collect_assembled(state(net)).map_err(fail)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// After every block: balances + pending outflows == what came in − what was paid out
    /// == held, per coin; amounts positive and in range; no outflow paid twice, in two
    /// transactions, or paid on chain by two multi-sig transactions; bounded histories; the
    /// commitment is the recomputed one.
    #[test]
    fn the_books_balance_after_every_block(scenario in steps()) {
        run_checked(&scenario)?;
    }
}

/// Found by the property above: maximal deposits refunded and deposited again add up past
/// u64 in what came in over the run; the books (and the test's own accounting) must hold.
#[test]
fn maximal_deposits_again_and_again_keep_the_books() {
    let deposit = |amount| Op::Deposit {
        from: 0,
        symbol: AssetSymbol::Hive,
        amount: Amount::Abs(amount),
        memo: Memo::Empty,
    };
    let confirm = Op::Confirm {
        pick: 0,
        fault: Fault::None,
    };
    let step = |ops| Step {
        signers: None,
        ops,
        idle: 0,
    };
    let scenario = Scenario {
        initial_signers: false,
        steps: vec![
            step(vec![deposit(i64::MAX)]),
            step(vec![confirm.clone()]),
            step(vec![deposit(i64::MAX)]),
            step(vec![confirm, deposit(10)]),
        ],
    };
    run_checked(&scenario).expect("the books balance");
}

/// The generator reaches the interesting states: deposits, refunds, withdrawals, payments,
/// anomalies, signer lists, transactions built, signed, landed, expired and settled all
/// happen (a generator whose ops were all rejected would make the property vacuous).
#[test]
fn generated_sequences_reach_every_event() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..64 {
        let steps = steps().new_tree(&mut runner).expect("generates").current();
        for (k, n) in run_checked(&steps).expect("the property holds") {
            *kinds.entry(k).or_default() += n;
        }
    }
    for (kind, least) in [
        ("Deposited", 20),
        ("Refunded", 20),
        ("WithdrawalQueued", 20),
        ("OutflowPaid", 20),
        ("OutflowAnomaly", 20),
        ("SignersSet", 40),
        ("TxBuilt", 40),
        ("SignatureAccepted", 40),
        ("TxExpired", 10),
        ("TxSettled", 10),
        ("SignersWanted", 10),
        ("RotationBuilt", 5),
        ("Rotated", 3),
        ("TxFailed", 1),
        ("OutflowReturned", 1),
        ("CollateralSet", 5),
        ("(transactions landed)", 10),
    ] {
        assert!(kinds.get(kind).copied().unwrap_or(0) >= least, "{kind}: {kinds:?}");
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

    // A transaction open with a signature: each kind of tampering is caught.
    let (mut net, module) = common::net_with(section());
    let mut model = Model::default();
    net.deliver("nodes", NAME, "signers", common::signers_payload(&[0, 1, 2, 3]));
    let mut blocks = vec![net.run(
        NAME,
        vec![
            common::deposit("alice", 1_000, ""),
            withdraw("alice", r#"{"amount":100,"asset":"HIVE"}"#),
        ],
    )];
    blocks.extend(net.idle_until(10));
    let digest = views::open_transaction(state(&net), MS).unwrap().unwrap().tx.digest;
    blocks.push(net.run(NAME, vec![common::sign("bob", 10, &common::signature(1, &digest))]));
    model.came_in.insert(Coin::Hive, 1_000);
    for b in &blocks {
        let events: Vec<MultisigEvent> = b
            .out
            .events
            .iter()
            .map(|e| module.decode_event(&e.data).unwrap())
            .collect();
        model.track(b.block, &events).unwrap();
    }
    books_invariants(state(&net), &model).expect("an honest open transaction");
    let tamper = |f: &dyn Fn(&mut ModuleState)| {
        let mut t: ModuleState = state(&net).clone();
        f(&mut t);
        books_invariants(&t, &model)
    };
    let pending = serde_json::to_vec(&Outflow {
        state: OutflowState::Pending,
        owner: None,
        ..views::pending_outflow(state(&net), 0).unwrap().unwrap()
    })
    .unwrap();
    assert!(
        tamper(&|t| StateWrite::put(t, keys::outflow(0), pending.clone())).is_err(),
        "out of its tx"
    );
    assert!(
        tamper(&|t| StateWrite::delete(t, &keys::tx(10))).is_err(),
        "no transaction"
    );
    assert!(
        tamper(&|t| StateWrite::put(t, keys::sig(10, "carol"), common::signature(1, &digest).into_bytes())).is_err(),
        "bob's signature under carol's name"
    );
    assert!(
        tamper(&|t| StateWrite::put(t, keys::sig(10, "erin"), common::signature(1, &digest).into_bytes())).is_err(),
        "a non-signer's signature"
    );
    assert!(
        tamper(&|t| StateWrite::put(t, keys::sig(20, "bob"), common::signature(1, &digest).into_bytes())).is_err(),
        "a signature of another checkpoint"
    );
    let mut model_paid_twice = Model::default();
    model_paid_twice.came_in.insert(Coin::Hive, 1_000);
    model_paid_twice.violations.push("ot:0 is paid on chain twice".into());
    assert!(
        books_invariants(state(&net), &model_paid_twice).is_err(),
        "a double payment"
    );
}
