//! Property tests of the token ledger, driven through the real engine over the devnet chain
//! spec: random op sequences (random signers, amounts in and out of range, random gaps so
//! that withdrawals fall due) keep the supply fixed, every amount well formed, the totals
//! equal to the per-account sums and the incremental commitment equal to a recomputed one;
//! and how idle blocks are grouped never changes the result.

mod common;

use common::GENESIS_SUPPLY;
use opentoken_core::commitment::LtHash;
use opentoken_core::test_utils::{op as active_op, TestNet};
use opentoken_core::{HiveOp, ModuleState, Outcome, Output};
use opentoken_token::keys::{self, Bucket};
use opentoken_token::supply_check;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// The devnet accounts, plus one that holds nothing.
const ACCOUNTS: &[&str] = &[
    "dlux-io", "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "newbie",
];

fn engine() -> TestNet {
    common::net().0
}

fn state(e: &TestNet) -> &ModuleState {
    e.state("token")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Send,
    Claim,
    PowerUp,
    PowerDown,
    GovUp,
    GovDown,
    PowerGrant,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Send => "send",
            Kind::Claim => "claim",
            Kind::PowerUp => "power_up",
            Kind::PowerDown => "power_down",
            Kind::GovUp => "gov_up",
            Kind::GovDown => "gov_down",
            Kind::PowerGrant => "power_grant",
        }
    }
}

#[derive(Debug, Clone)]
enum Amount {
    /// Per mille of what the signer holds of the relevant kind when the block starts, so
    /// that most ops are affordable and whole balances get moved.
    Share(u64),
    /// A JSON number.
    Abs(u64),
    /// A JSON string of digits.
    Digits(u64),
    /// Raw JSON text: malformed or out-of-range values.
    Raw(&'static str),
}

#[derive(Debug, Clone)]
struct Op {
    kind: Kind,
    from: usize,
    to: usize,
    amount: Amount,
    gov: Option<bool>,
}

#[derive(Debug, Clone)]
struct Step {
    /// Idle blocks before the block that carries `ops`.
    gap: u64,
    ops: Vec<Op>,
}

fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        8 => (0u64..=1000).prop_map(Amount::Share),
        2 => Just(Amount::Share(1000)),
        1 => Just(Amount::Abs(0)),
        2 => (1u64..8).prop_map(Amount::Abs),
        2 => (0u64..2_000_000).prop_map(Amount::Abs),
        2 => prop::sample::select(vec![
            GENESIS_SUPPLY,
            GENESIS_SUPPLY + 1,
            i64::MAX as u64,
            i64::MAX as u64 + 1,
            u64::MAX,
        ])
        .prop_map(Amount::Abs),
        1 => (0u64..1_000_000).prop_map(Amount::Digits),
        1 => prop::sample::select(vec![
            "-1",
            "1.5",
            "1e3",
            "\"0x10\"",
            "\"\"",
            "\"-7\"",
            "null",
            "[1]",
            "\"99999999999999999999\"",
            "99999999999999999999",
        ])
        .prop_map(Amount::Raw),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let kind = prop_oneof![
        3 => Just(Kind::Send),
        1 => Just(Kind::Claim),
        2 => Just(Kind::PowerUp),
        3 => Just(Kind::PowerDown),
        2 => Just(Kind::GovUp),
        2 => Just(Kind::GovDown),
        3 => Just(Kind::PowerGrant),
    ];
    // Bias signers towards the accounts with stake and node rights.
    let who = prop_oneof![3 => 0usize..5, 2 => 0..ACCOUNTS.len()];
    (kind, who.clone(), who, amount(), prop::option::of(any::<bool>())).prop_map(|(kind, from, to, amount, gov)| Op {
        kind,
        from,
        to,
        amount,
        gov,
    })
}

fn step() -> impl Strategy<Value = Step> {
    let gap = prop_oneof![3 => 0u64..3, 3 => 0u64..45, 1 => 100u64..200];
    (gap, prop::collection::vec(op(), 0..5)).prop_map(|(gap, ops)| Step { gap, ops })
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step(), 1..24)
}

/// The amount text of `op`, resolved against the state at the start of its block.
fn amount_json(op: &Op, s: &ModuleState) -> String {
    let (from, to) = (ACCOUNTS[op.from], ACCOUNTS[op.to]);
    match &op.amount {
        Amount::Share(per_mille) => {
            let held = match op.kind {
                Kind::Send | Kind::PowerUp | Kind::GovUp | Kind::Claim => {
                    keys::amount(s, &keys::account(Bucket::Liquid, from))
                }
                Kind::PowerDown => keys::amount(s, &keys::account(Bucket::Power, from)),
                Kind::GovDown => keys::amount(s, &keys::account(Bucket::Gov, from)),
                Kind::PowerGrant => {
                    keys::amount(s, &keys::account(Bucket::Power, from)) + keys::amount(s, &keys::grant(from, to))
                }
            };
            (held * per_mille / 1000).to_string()
        }
        Amount::Abs(n) => n.to_string(),
        Amount::Digits(n) => format!("\"{n}\""),
        Amount::Raw(r) => r.to_string(),
    }
}

fn custom_json(op: &Op, s: &ModuleState) -> HiveOp {
    let (from, to) = (ACCOUNTS[op.from], ACCOUNTS[op.to]);
    let json = match op.kind {
        Kind::Send | Kind::PowerGrant => format!(r#"{{"to":"{to}","amount":{}}}"#, amount_json(op, s)),
        Kind::Claim => match op.gov {
            None => "{}".to_string(),
            Some(g) => format!(r#"{{"gov":{g}}}"#),
        },
        _ => format!(r#"{{"amount":{}}}"#, amount_json(op, s)),
    };
    active_op(from, op.kind.name(), &json)
}

fn run_ops(e: &mut TestNet, ops: &[Op]) -> Output {
    let hive_ops = ops.iter().map(|op| custom_json(op, state(e))).collect();
    let out = e.run("token", hive_ops).out;
    assert_eq!(out.statuses.len(), ops.len(), "one status per op");
    out
}

fn idle_block(e: &mut TestNet) -> Output {
    e.run("token", vec![]).out
}

fn u64_of(key: &[u8], v: &[u8]) -> Result<u64, String> {
    let n = keys::decode_u64(v).ok_or_else(|| format!("{} holds {} bytes, not 8", show(key), v.len()))?;
    if n == 0 {
        return Err(format!("{} holds 0 (zero amounts must be deleted)", show(key)));
    }
    if n > i64::MAX as u64 {
        return Err(format!("{} holds {n}: a negative amount wrapped around", show(key)));
    }
    Ok(n)
}

fn show(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

fn account_of(key: &[u8], prefix: &str) -> Result<String, String> {
    let a = std::str::from_utf8(&key[prefix.len()..]).map_err(|_| format!("{key:?} is not UTF-8"))?;
    if !opentoken_core::account::is_valid_account_name(a) {
        return Err(format!("{} names an invalid account", show(key)));
    }
    Ok(a.to_string())
}

/// Every ledger invariant over a full dump of the state after block `block`.
fn ledger_invariants(s: &ModuleState, block: u64) -> Result<(), String> {
    let mut bucket_sums: BTreeMap<&[u8], u64> = BTreeMap::new();
    let mut totals: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    let (mut grants, mut by_granter, mut by_grantee) = (0u64, BTreeMap::new(), BTreeMap::new());
    let (mut granting, mut granted) = (BTreeMap::new(), BTreeMap::new());
    let mut schedules: BTreeMap<(keys::Unlock, String), Vec<u64>> = BTreeMap::new();
    let mut indexes: BTreeMap<(keys::Unlock, String), Vec<u64>> = BTreeMap::new();
    let mut supply = None;
    for (k, v) in s.iter() {
        if let Some(b) = Bucket::ALL.iter().find(|b| k.starts_with(b.prefix().as_bytes())) {
            account_of(k, b.prefix())?;
            let n = u64_of(k, v)?;
            let sum = bucket_sums.entry(b.total_key()).or_insert(0);
            *sum = sum.checked_add(n).ok_or("bucket sum overflows")?;
        } else if k.starts_with(b"tot/") {
            totals.insert(k.to_vec(), u64_of(k, v)?);
        } else if k == keys::SUPPLY {
            supply = Some(u64_of(k, v)?);
        } else if let Some(rest) = k.strip_prefix(b"gra/") {
            let n = u64_of(k, v)?;
            let rest = std::str::from_utf8(rest).map_err(|_| "grant key is not UTF-8")?;
            let (from, to) = rest
                .split_once('/')
                .ok_or_else(|| format!("malformed grant key {rest}"))?;
            if from == to {
                return Err(format!("@{from} grants to itself"));
            }
            grants += n;
            *by_granter.entry(from.to_string()).or_insert(0u64) += n;
            *by_grantee.entry(to.to_string()).or_insert(0u64) += n;
        } else if k.starts_with(b"gro/") {
            granting.insert(account_of(k, "gro/")?, u64_of(k, v)?);
        } else if k.starts_with(b"gri/") {
            granted.insert(account_of(k, "gri/")?, u64_of(k, v)?);
        } else if k.starts_with(keys::SCHEDULE_PREFIX) {
            let (due, unlock, acct) = keys::parse_schedule(k).ok_or_else(|| format!("malformed schedule key {k:?}"))?;
            // An installment may be 0 (a withdrawal below the installment count, as the
            // reference schedules it); it is still 8 bytes.
            keys::decode_u64(v).ok_or_else(|| format!("{} holds {} bytes, not 8", show(k), v.len()))?;
            if due <= block {
                return Err(format!(
                    "installment of @{acct} due at {due} still pending after block {block}"
                ));
            }
            schedules.entry((unlock, acct)).or_default().push(due);
        } else if k.starts_with(b"pds/") || k.starts_with(b"gds/") {
            let unlock = if k.starts_with(b"pds/") {
                keys::Unlock::Power
            } else {
                keys::Unlock::Gov
            };
            if v.is_empty() || v.len() % 8 != 0 {
                return Err(format!("{} holds {} bytes", show(k), v.len()));
            }
            let mut blocks = keys::decode_blocks(v);
            blocks.sort_unstable();
            indexes.insert((unlock, account_of(k, "pds/")?), blocks);
        } else if k.starts_with(b"node/") {
            account_of(k, "node/")?;
        } else if k.starts_with(b"dlg/") {
            account_of(k, "dlg/")?;
            u64_of(k, v)?;
        } else {
            return Err(format!("unexpected key {}", show(k)));
        }
    }
    // (a) The supply never changes after genesis and is all there is.
    let supply = supply.ok_or("no supply key")?;
    if supply != GENESIS_SUPPLY {
        return Err(format!("supply {supply} != genesis supply {GENESIS_SUPPLY}"));
    }
    let counted = bucket_sums.values().sum::<u64>() + grants;
    if counted != supply {
        return Err(format!("holdings sum to {counted}, supply is {supply}"));
    }
    let audit = supply_check(s).map_err(|e| e.to_string())?;
    if !audit.ok || audit.counted != counted {
        return Err(format!("supply_check disagrees: {}", audit.check));
    }
    // (b) Maintained totals equal the sums of the per-account keys.
    for b in Bucket::ALL {
        let want = bucket_sums.get(b.total_key()).copied().unwrap_or(0);
        let got = totals.remove(b.total_key()).unwrap_or(0);
        if want != got {
            return Err(format!("{} is {got}, the accounts hold {want}", show(b.total_key())));
        }
    }
    let got = totals.remove(keys::GRANTED_TOTAL).unwrap_or(0);
    if got != grants {
        return Err(format!("tot/gra is {got}, the grants sum to {grants}"));
    }
    if !totals.is_empty() {
        return Err(format!(
            "unknown totals {:?}",
            totals.keys().map(|k| show(k)).collect::<Vec<_>>()
        ));
    }
    if granting != by_granter {
        return Err(format!("gro/ {granting:?} differs from the grants {by_granter:?}"));
    }
    if granted != by_grantee {
        return Err(format!("gri/ {granted:?} differs from the grants {by_grantee:?}"));
    }
    // Schedules and their per-account indexes name the same installments.
    for v in schedules.values_mut() {
        v.sort_unstable();
    }
    if schedules != indexes {
        return Err(format!(
            "schedule keys {schedules:?} differ from the indexes {indexes:?}"
        ));
    }
    Ok(())
}

/// Brings `lattice` from the hash of `old` to the hash of `new` by their difference: an
/// independent full-state hash at the cost of the changed keys only.
fn apply_diff(lattice: &mut LtHash, old: &BTreeMap<Vec<u8>, Vec<u8>>, new: &BTreeMap<Vec<u8>, Vec<u8>>) {
    for (k, v) in old {
        if new.get(k) != Some(v) {
            lattice.remove(k, v);
        }
    }
    for (k, v) in new {
        if old.get(k) != Some(v) {
            lattice.add(k, v);
        }
    }
}

/// Runs `steps` block by block, checking every invariant after every block.
fn run_checked(steps: &[Step]) -> Result<(), TestCaseError> {
    let mut e = engine();
    let mut last_pairs = state(&e).to_map();
    let mut lattice = LtHash::from_pairs(last_pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
    prop_assert_eq!(e.commitment("token"), state(&e).recompute_commitment(), "at genesis");
    prop_assert_eq!(lattice.digest(), state(&e).recompute_commitment(), "at genesis");
    ledger_invariants(state(&e), 0).map_err(|m| TestCaseError::fail(format!("at genesis: {m}")))?;
    for (n, step) in steps.iter().enumerate() {
        for i in 0..=step.gap {
            let block = e.next_block();
            let out = if i == step.gap {
                run_ops(&mut e, &step.ops)
            } else {
                idle_block(&mut e)
            };
            ledger_invariants(state(&e), block)
                .map_err(|m| TestCaseError::fail(format!("after block {block}: {m}")))?;
            // (c) The incremental commitment equals the hash of the full state. The full
            // state is hashed independently of the state's own write tracking, by the diff of
            // its dumps (recomputing from scratch every block is too slow in debug builds; it
            // is done after every step below).
            // The lattices are compared (the digest is a hash of the lattice, slow to take in
            // debug builds); at checkpoints, the digests.
            if state(&e).to_map() != last_pairs {
                prop_assert!(!out.events.is_empty(), "block {} changed state without events", block);
                apply_diff(&mut lattice, &last_pairs, &state(&e).to_map());
                last_pairs = state(&e).to_map();
            }
            prop_assert!(
                *e.state_mut("token").lattice() == lattice,
                "commitment differs after block {}",
                block
            );
            for cp in &out.checkpoints {
                // The state's commitment, bound to the messages the block sent out.
                let outbox: Vec<&opentoken_core::Message> =
                    out.remote_messages.iter().filter(|m| m.pos.block == cp.block).collect();
                prop_assert_eq!(
                    cp.hash,
                    opentoken_core::module_checkpoint_hash(lattice.digest(), &outbox),
                    "checkpoint {} is the state's commitment",
                    cp.block
                );
            }
        }
        if n % 4 == 3 || n + 1 == steps.len() {
            prop_assert_eq!(
                e.commitment("token"),
                state(&e).recompute_commitment(),
                "after step {}",
                n
            );
        }
    }
    Ok(())
}

/// How a run groups its idle blocks.
#[derive(Debug, Clone, Copy)]
enum Grouping {
    /// `process_block` for every idle block.
    EachBlock,
    /// One `process_idle_range` per gap.
    OneRange,
    /// `process_idle_range` in chunks of this many blocks.
    Chunks(u64),
}

/// Runs `steps` with the given grouping of idle blocks; returns the whole output (statuses,
/// events, checkpoints) and the commitment after every step.
fn run_grouped(steps: &[Step], grouping: Grouping) -> (Output, Vec<[u8; 32]>) {
    let mut e = engine();
    let mut out = Output::default();
    let mut commitments = Vec::new();
    for step in steps {
        if step.gap > 0 {
            let (from, to) = (e.next_block(), e.next_block() + step.gap - 1);
            match grouping {
                Grouping::EachBlock => {
                    for _ in from..=to {
                        out.append(idle_block(&mut e));
                    }
                }
                Grouping::OneRange => out.append(e.idle_range(to)),
                Grouping::Chunks(n) => {
                    let mut b = from;
                    while b <= to {
                        let end = (b + n - 1).min(to);
                        out.append(e.idle_range(end));
                        b = end + 1;
                    }
                }
            }
            assert_eq!(e.next_block(), to + 1);
        }
        out.append(run_ops(&mut e, &step.ops));
        commitments.push(e.commitment("token"));
    }
    (out, commitments)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// After every block: the supply is the genesis supply and equals what the accounts
    /// hold, no amount is zero-stored or wrapped negative, the totals equal the per-account
    /// sums, no installment is overdue, and the commitment is the recomputed one.
    #[test]
    fn ledger_invariants_hold_after_every_block(steps in steps()) {
        run_checked(&steps)?;
    }

    /// Grouping idle blocks differently (block by block, or `process_idle_range` over each
    /// whole gap or in chunks) yields the same statuses, events, checkpoints and commitments.
    #[test]
    fn idle_block_grouping_does_not_change_the_result(
        steps in steps(),
        grouping in prop_oneof![Just(Grouping::OneRange), (1u64..50).prop_map(Grouping::Chunks)],
    ) {
        let (each, c_each) = run_grouped(&steps, Grouping::EachBlock);
        let (grouped, c_grouped) = run_grouped(&steps, grouping);
        prop_assert_eq!(&c_each, &c_grouped);
        prop_assert_eq!(&each.statuses, &grouped.statuses);
        prop_assert_eq!(&each.events, &grouped.events);
        prop_assert_eq!(&each.checkpoints, &grouped.checkpoints);
        prop_assert_eq!(&each, &grouped);
    }
}

/// The generator reaches the interesting states: after the property runs, enough ops have
/// applied (a generator that only produced rejected ops would make the invariants vacuous).
#[test]
fn generated_sequences_apply_ops() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut total, mut applied, mut paid) = (0usize, 0usize, 0usize);
    for _ in 0..16 {
        let steps = steps().new_tree(&mut runner).expect("generates").current();
        let (out, _) = run_grouped(&steps, Grouping::EachBlock);
        total += out.statuses.len();
        applied += out
            .statuses
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Applied { .. }))
            .count();
        paid += out.events.iter().filter(|e| e.kind == "WithdrawalPaid").count();
    }
    assert!(total > 100, "only {total} ops generated");
    assert!(applied * 3 > total, "only {applied} of {total} ops applied");
    assert!(paid > 0, "no withdrawal ever fell due");
}
