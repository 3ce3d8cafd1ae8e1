//! One test per token operation, driven through the real engine over the devnet chain spec:
//! every op is checked for its exact economic effect (and that it moves no value it must
//! not), and for the rejections the spec (`token-core.md`) lists for it.

mod common;

use common::{net, GENESIS_SUPPLY};
use opentoken_core::test_utils::{assert_applied, assert_rejected, op, posting_op, TestNet};
use opentoken_core::{
    Asset, AssetSymbol, DelegateVestingSharesOp, EventRecord, HiveOp, Module, ModuleState, Outcome, RejectCode,
    StateRead,
};
use opentoken_token::views::Installment;
use opentoken_token::{account_view, keys, stats_view, supply_check, AccountView, StatsView, TokenModule};
use std::sync::Arc;

/// The token module alone on the shared harness, with the ledger's invariants checked
/// after every block.
struct Net {
    net: TestNet,
    module: Arc<TokenModule>,
}

impl Net {
    fn new() -> Self {
        let (net, module) = net();
        let net = Net { net, module };
        net.check_supply();
        net
    }

    /// The block the next `run` will process.
    fn next(&self) -> u64 {
        self.net.next_block()
    }

    fn state(&self) -> &ModuleState {
        self.net.state("token")
    }

    fn view(&self, acct: &str) -> AccountView {
        account_view(self.state(), acct).expect("account view reads")
    }

    fn stats(&self) -> StatsView {
        stats_view(self.state()).expect("stats view reads")
    }

    /// Processes the next block with the given Hive ops, returning their outcomes and the
    /// block's events.
    fn run_hive(&mut self, ops: Vec<HiveOp>) -> (Vec<Outcome>, Vec<EventRecord>) {
        let n = ops.len();
        let b = self.net.run("token", ops);
        assert_eq!(b.statuses().len(), n, "one status per op");
        for (i, s) in b.statuses().iter().enumerate() {
            assert_eq!(s.txid, TestNet::txid(b.block, i));
            assert_eq!(s.module, "token");
        }
        self.check_supply();
        (b.outcomes(), b.out.events)
    }

    /// Processes the next block with custom_json ops `(signer, name, json)`, active-signed.
    fn run(&mut self, ops: &[(&str, &str, &str)]) -> Vec<Outcome> {
        let ops = ops.iter().map(|(signer, name, json)| op(signer, name, json)).collect();
        self.run_hive(ops).0
    }

    /// One custom_json in its own block.
    fn op(&mut self, signer: &str, name: &str, json: &str) -> Outcome {
        self.run(&[(signer, name, json)]).remove(0)
    }

    /// One op that must be rejected with `code` and leave the state exactly as it was.
    fn reject(&mut self, signer: &str, name: &str, json: &str, code: RejectCode) {
        let before = self.state().to_map();
        let got = self.op(signer, name, json);
        assert_rejected(&got, code, &format!("{name} {json} by @{signer}"));
        assert!(
            before == self.state().to_map(),
            "rejected {name} {json} by @{signer} changed the state"
        );
    }

    /// Runs the empty blocks up to and including `last`, one `process_block` each.
    fn idle_until(&mut self, last: u64) -> Vec<EventRecord> {
        let mut events = Vec::new();
        while self.next() <= last {
            let b = self.net.run("token", vec![]);
            assert!(b.statuses().is_empty());
            events.extend(b.out.events);
            self.check_supply();
        }
        events
    }

    /// Runs the empty blocks up to and including `last` with `process_idle_range`.
    fn idle_range(&mut self, last: u64) -> Vec<EventRecord> {
        let out = self.net.idle_range(last);
        self.check_supply();
        out.events
    }

    /// The supply never changes after genesis, the audit agrees, the maintained totals
    /// equal the per-account sums.
    fn check_supply(&self) {
        let c = supply_check(self.state()).expect("supply check reads");
        assert!(c.ok, "{}", c.check);
        assert_eq!(c.supply, GENESIS_SUPPLY, "supply changed after genesis");
        let s = self.stats();
        assert_eq!(s.tokenSupply, GENESIS_SUPPLY);
        assert_eq!(
            (s.liquid, s.powered, s.gov, s.claimable, s.granted),
            (c.liquid_supply, c.locked_pow, c.locked_gov, c.in_claims, c.granted),
            "maintained totals differ from the per-account sums"
        );
    }
}

fn delegate(delegator: &str, delegatee: &str, vests: i64, symbol: AssetSymbol) -> HiveOp {
    HiveOp::DelegateVestingShares(DelegateVestingSharesOp {
        delegator: delegator.to_string(),
        delegatee: delegatee.to_string(),
        vesting_shares: Asset::new(vests, symbol),
    })
}

/// (liquid, power, gov, claimable) of an account.
fn holdings(v: &AccountView) -> (u64, u64, u64, u64) {
    (v.balance, v.poweredUp, v.gov, v.claim)
}

fn kinds(events: &[EventRecord]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

#[test]
fn genesis_is_the_devnet_spec() {
    let net = Net::new();
    assert_eq!(holdings(&net.view("alice")), (1_000_000, 200_000, 100_000, 5001));
    assert_eq!(holdings(&net.view("bob")), (1_000_000, 100_000, 0, 0));
    assert_eq!(holdings(&net.view("dlux-io")), (5_000_000, 0, 1_000_000, 0));
    assert_eq!(holdings(&net.view("erin")), (500_000, 0, 0, 3));
    assert!(net.view("alice").is_node && net.view("carol").is_node);
    assert!(!net.view("dave").is_node && !net.view("erin").is_node);
    assert_eq!(net.view("frank").delegation_vests, 1_000_000_000);
    let s = net.stats();
    assert_eq!(
        (s.tokenSupply, s.liquid, s.powered, s.gov, s.claimable, s.granted),
        (GENESIS_SUPPLY, 9_950_000, 350_000, 1_100_000, 17_704, 0)
    );
    assert_eq!(net.next(), net.net.spec().starting_block);
}

#[test]
fn send_moves_liquid_and_nothing_else() {
    let mut net = Net::new();
    let stats = net.stats();
    let o = net.op("alice", "send", r#"{"to":"bob","amount":10}"#);
    assert_applied(&o, "send 10");
    assert_eq!(holdings(&net.view("alice")), (999_990, 200_000, 100_000, 5001));
    assert_eq!(holdings(&net.view("bob")), (1_000_010, 100_000, 0, 0));
    assert_eq!(net.stats(), stats, "a send changes no total");

    // A decimal string amount, a memo, and a recipient with no balance yet.
    let o = net.op("alice", "send", r#"{"to":"zed-new","amount":"990","memo":"hi"}"#);
    assert_applied(&o, "send \"990\"");
    assert_eq!(net.view("alice").balance, 999_000);
    assert_eq!(net.view("zed-new").balance, 990);

    // Exactly the whole balance, then nothing is left and the key is gone.
    let o = net.op("judy", "send", r#"{"to":"ivan","amount":50000}"#);
    assert_applied(&o, "send whole balance");
    assert_eq!(net.view("judy").balance, 0);
    assert_eq!(net.view("ivan").balance, 150_000);
    assert!(net.state().get(&keys::account(keys::Bucket::Liquid, "judy")).is_none());

    net.reject(
        "ivan",
        "send",
        r#"{"to":"bob","amount":150001}"#,
        RejectCode::InsufficientFunds,
    );
    net.reject(
        "alice",
        "send",
        r#"{"to":"alice","amount":1}"#,
        RejectCode::InvalidAccount,
    );
    net.reject(
        "alice",
        "send",
        r#"{"to":"Bob","amount":1}"#,
        RejectCode::InvalidAccount,
    );
    net.reject("alice", "send", r#"{"to":"bob","amount":0}"#, RejectCode::InvalidField);
    net.reject("alice", "send", r#"{"to":"bob","amount":-5}"#, RejectCode::InvalidField);
    net.reject(
        "alice",
        "send",
        r#"{"to":"bob","amount":1.5}"#,
        RejectCode::InvalidField,
    );
    net.reject(
        "alice",
        "send",
        r#"{"to":"bob","amount":"1e3"}"#,
        RejectCode::InvalidField,
    );
    net.reject("alice", "send", r#"{"to":"bob"}"#, RejectCode::InvalidField);
    net.reject(
        "alice",
        "send",
        &format!(r#"{{"to":"bob","amount":{}}}"#, GENESIS_SUPPLY + 1),
        RejectCode::Overflow,
    );
    net.reject(
        "alice",
        "send",
        r#"{"to":"bob","amount":"99999999999999999999"}"#,
        RejectCode::Overflow,
    );

    // Posting authority does not move value.
    let before = net.state().to_map();
    let (o, _) = net.run_hive(vec![posting_op("alice", "send", r#"{"to":"bob","amount":10}"#)]);
    assert_rejected(&o[0], RejectCode::WrongAuthority, "posting-signed send");
    assert!(before == net.state().to_map());
}

#[test]
fn sends_in_one_block_apply_in_chain_order() {
    let mut net = Net::new();
    // judy has 50,000: the first send empties her, the second finds nothing left, the third
    // spends what ivan's send gave her in between.
    let o = net.run(&[
        ("judy", "send", r#"{"to":"ivan","amount":50000}"#),
        ("judy", "send", r#"{"to":"ivan","amount":1}"#),
        ("ivan", "send", r#"{"to":"judy","amount":7}"#),
        ("judy", "send", r#"{"to":"heidi","amount":7}"#),
    ]);
    assert_applied(&o[0], "first send");
    assert_rejected(&o[1], RejectCode::InsufficientFunds, "second send");
    assert_applied(&o[2], "ivan's send");
    assert_applied(&o[3], "judy re-sends");
    assert_eq!(net.view("judy").balance, 0);
    assert_eq!(net.view("ivan").balance, 100_000 + 50_000 - 7);
    assert_eq!(net.view("heidi").balance, 200_007);
}

#[test]
fn claim_pays_half_liquid_and_the_rest_to_power() {
    let mut net = Net::new();
    let before = net.stats();
    // alice: 5001 claimable -> 2500 liquid (rounded down), 2501 power.
    assert_applied(&net.op("alice", "claim", "{}"), "alice claims");
    assert_eq!(
        holdings(&net.view("alice")),
        (1_000_000 + 2500, 200_000 + 2501, 100_000, 0)
    );
    assert!(net
        .state()
        .get(&keys::account(keys::Bucket::Claimable, "alice"))
        .is_none());
    let after = net.stats();
    assert_eq!(after.claimable, before.claimable - 5001);
    assert_eq!(after.liquid, before.liquid + 2500);
    assert_eq!(after.powered, before.powered + 2501);
    assert_eq!(after.gov, before.gov);

    // Nothing left to claim.
    net.reject("alice", "claim", "{}", RejectCode::NothingToDo);
    net.reject("bob", "claim", "{}", RejectCode::NothingToDo);

    // erin: 3 -> 1 liquid, 2 power; `gov: false` is the default.
    assert_applied(&net.op("erin", "claim", r#"{"gov":false}"#), "erin claims");
    assert_eq!(holdings(&net.view("erin")), (500_001, 2, 0, 0));

    net.reject("grace", "claim", r#"{"gov":"yes"}"#, RejectCode::InvalidField);
    // Posting authority does not move value (the reference did not check at all).
    let (o, _) = net.run_hive(vec![posting_op("grace", "claim", "{}")]);
    assert_rejected(&o[0], RejectCode::WrongAuthority, "posting-signed claim");
    assert_eq!(net.view("grace").claim, 700);
}

#[test]
fn claim_into_gov_only_for_a_node() {
    let mut net = Net::new();
    // erin and grace are not nodes.
    net.reject("grace", "claim", r#"{"gov":true}"#, RejectCode::NotANode);
    assert_eq!(holdings(&net.view("grace")), (300_000, 0, 0, 700));

    // carol is a node: 12,000 -> 6,000 liquid, 6,000 gov, no power.
    let before = net.stats();
    assert_applied(&net.op("carol", "claim", r#"{"gov":true}"#), "carol claims into gov");
    assert_eq!(holdings(&net.view("carol")), (806_000, 0, 6_000, 0));
    let after = net.stats();
    assert_eq!(after.gov, before.gov + 6_000);
    assert_eq!(after.powered, before.powered);
    assert_eq!(after.claimable, before.claimable - 12_000);

    // alice, odd amount: 5001 -> 2500 liquid, 2501 gov.
    assert_applied(&net.op("alice", "claim", r#"{"gov":true}"#), "alice claims into gov");
    assert_eq!(holdings(&net.view("alice")), (1_002_500, 200_000, 102_501, 0));
}

#[test]
fn power_up_moves_liquid_to_power() {
    let mut net = Net::new();
    let before = net.stats();
    assert_applied(&net.op("bob", "power_up", r#"{"amount":1000}"#), "power_up");
    assert_eq!(holdings(&net.view("bob")), (999_000, 101_000, 0, 0));
    // A non-node can power up; the whole balance too.
    assert_applied(&net.op("judy", "power_up", r#"{"amount":"50000"}"#), "power_up all");
    assert_eq!(holdings(&net.view("judy")), (0, 50_000, 0, 0));
    let after = net.stats();
    assert_eq!(after.liquid, before.liquid - 51_000);
    assert_eq!(after.powered, before.powered + 51_000);

    net.reject("judy", "power_up", r#"{"amount":1}"#, RejectCode::InsufficientFunds);
    net.reject("bob", "power_up", r#"{"amount":0}"#, RejectCode::InvalidField);
    net.reject("bob", "power_up", r#"{"amount":-1000}"#, RejectCode::InvalidField);
    net.reject("bob", "power_up", r#"{"amount":"-1000"}"#, RejectCode::InvalidField);
    net.reject("bob", "power_up", r#"{"amount":999001}"#, RejectCode::InsufficientFunds);
}

#[test]
fn gov_up_is_for_nodes_only() {
    let mut net = Net::new();
    let before = net.stats();
    assert_applied(&net.op("alice", "gov_up", r#"{"amount":5000}"#), "alice gov_up");
    assert_eq!(holdings(&net.view("alice")), (995_000, 200_000, 105_000, 5001));
    assert_applied(&net.op("bob", "gov_up", r#"{"amount":1000000}"#), "bob gov_up all");
    assert_eq!(holdings(&net.view("bob")), (0, 100_000, 1_000_000, 0));
    let after = net.stats();
    assert_eq!(after.liquid, before.liquid - 1_005_000);
    assert_eq!(after.gov, before.gov + 1_005_000);
    assert_eq!(after.powered, before.powered);

    net.reject("dave", "gov_up", r#"{"amount":1}"#, RejectCode::NotANode);
    net.reject("bob", "gov_up", r#"{"amount":1}"#, RejectCode::InsufficientFunds);
    net.reject("alice", "gov_up", r#"{"amount":0}"#, RejectCode::InvalidField);
}

#[test]
fn power_down_pays_scheduled_installments() {
    let mut net = Net::new();
    let cfg = net.module.config().clone();
    let (n, every) = (cfg.power_down_installments, cfg.power_down_interval);
    assert_eq!((n, every), (4, 30), "devnet values this test's numbers assume");

    // Let a few blocks pass so the schedule is not anchored at the start.
    net.idle_until(4);
    let b = net.next();
    assert_eq!(b, 5);
    assert_applied(&net.op("alice", "power_down", r#"{"amount":100002}"#), "power_down");
    // floor(100002 / 4) = 25000 each, the last one also carries the remainder 2.
    let want: Vec<Installment> = [25_000, 25_000, 25_000, 25_002]
        .iter()
        .enumerate()
        .map(|(i, a)| Installment {
            block: b + every * (i as u64 + 1),
            amount: *a,
        })
        .collect();
    assert_eq!(net.view("alice").power_downs, want);
    // Scheduling moves nothing yet.
    assert_eq!(holdings(&net.view("alice")), (1_000_000, 200_000, 100_000, 5001));

    let mut liquid = 1_000_000;
    let mut power = 200_000;
    for (i, inst) in want.iter().enumerate() {
        // Block by block for odd installments, as one idle range for even ones.
        if i % 2 == 0 {
            net.idle_until(inst.block - 1);
        } else {
            net.idle_range(inst.block - 1);
        }
        assert_eq!(
            (net.view("alice").balance, net.view("alice").poweredUp),
            (liquid, power),
            "nothing is paid before block {}",
            inst.block
        );
        let events = net.idle_until(inst.block);
        assert_eq!(kinds(&events), vec!["WithdrawalPaid"], "block {}", inst.block);
        liquid += inst.amount;
        power -= inst.amount;
        let v = net.view("alice");
        assert_eq!((v.balance, v.poweredUp), (liquid, power), "after block {}", inst.block);
        assert_eq!(v.power_downs, want[i + 1..].to_vec());
    }
    assert_eq!(holdings(&net.view("alice")), (1_100_002, 99_998, 100_000, 5001));
    assert!(net
        .state()
        .get(&keys::schedule_index(keys::Unlock::Power, "alice"))
        .is_none());
    assert_eq!(net.state().scan_prefix(keys::SCHEDULE_PREFIX).count(), 0);
    // Nothing more is paid later.
    net.idle_range(b + 10 * every);
    assert_eq!(holdings(&net.view("alice")), (1_100_002, 99_998, 100_000, 5001));
}

#[test]
fn power_down_of_less_than_the_installment_count_keeps_its_zero_installments() {
    let mut net = Net::new();
    let b = net.next();
    assert_applied(&net.op("dave", "power_down", r#"{"amount":3}"#), "power_down 3");
    // As the reference: 3 in four installments is 0, 0, 0 and 3.
    let want: Vec<Installment> = (1..=4)
        .map(|i| Installment {
            block: b + i * 30,
            amount: if i == 4 { 3 } else { 0 },
        })
        .collect();
    assert_eq!(net.view("dave").power_downs, want);
    net.idle_range(b + 3 * 30);
    assert_eq!(net.view("dave").power_downs.len(), 1, "the zero installments ran");
    net.idle_range(b + 4 * 30 - 1);
    assert_eq!(net.view("dave").poweredUp, 50_000);
    net.idle_until(b + 4 * 30);
    assert_eq!(holdings(&net.view("dave")), (600_003, 49_997, 0, 0));
}

#[test]
fn power_down_zero_cancels_and_a_new_one_replaces() {
    let mut net = Net::new();
    net.reject("bob", "power_down", r#"{"amount":0}"#, RejectCode::NothingToDo);
    net.reject(
        "bob",
        "power_down",
        r#"{"amount":100001}"#,
        RejectCode::InsufficientFunds,
    );
    net.reject("erin", "power_down", r#"{"amount":1}"#, RejectCode::InsufficientFunds);

    assert_applied(&net.op("bob", "power_down", r#"{"amount":100000}"#), "power_down");
    assert_eq!(net.view("bob").power_downs.len(), 4);
    // Replace: only the new schedule remains (no leftover of the old one).
    let b2 = net.next();
    assert_applied(&net.op("bob", "power_down", r#"{"amount":40}"#), "replacing power_down");
    let want: Vec<Installment> = (1..=4)
        .map(|i| Installment {
            block: b2 + 30 * i,
            amount: 10,
        })
        .collect();
    assert_eq!(net.view("bob").power_downs, want);
    assert_eq!(net.state().scan_prefix(keys::SCHEDULE_PREFIX).count(), 4);
    // Past the old schedule's first due block: only 10 is paid, from the new one.
    net.idle_until(b2 + 30);
    assert_eq!(holdings(&net.view("bob")), (1_000_010, 99_990, 0, 0));

    // Cancel: no installment is ever paid again.
    assert_applied(&net.op("bob", "power_down", r#"{"amount":0}"#), "cancel");
    assert!(net.view("bob").power_downs.is_empty());
    assert_eq!(net.state().scan_prefix(keys::SCHEDULE_PREFIX).count(), 0);
    assert!(net
        .state()
        .get(&keys::schedule_index(keys::Unlock::Power, "bob"))
        .is_none());
    net.idle_range(b2 + 30 * 10);
    assert_eq!(holdings(&net.view("bob")), (1_000_010, 99_990, 0, 0));
    net.reject("bob", "power_down", r#"{"amount":0}"#, RejectCode::NothingToDo);
}

#[test]
fn power_down_and_cancel_in_one_block_apply_in_order() {
    let mut net = Net::new();
    let b = net.next();
    let o = net.run(&[
        ("alice", "power_down", r#"{"amount":1000}"#),
        ("alice", "power_down", r#"{"amount":0}"#),
        ("bob", "power_down", r#"{"amount":400}"#),
        ("bob", "power_down", r#"{"amount":400}"#),
    ]);
    for (i, x) in o.iter().enumerate() {
        assert_applied(x, &format!("op {i}"));
    }
    assert!(net.view("alice").power_downs.is_empty());
    // Two identical power-downs do not cancel each other (a reference bug).
    assert_eq!(net.view("bob").power_downs.len(), 4);
    net.idle_range(b + 120);
    assert_eq!(net.view("alice").poweredUp, 200_000);
    assert_eq!(holdings(&net.view("bob")), (1_000_400, 99_600, 0, 0));
}

#[test]
fn gov_down_pays_scheduled_installments_and_zero_cancels() {
    let mut net = Net::new();
    let every = net.module.config().gov_down_interval;
    assert_eq!((net.module.config().gov_down_installments, every), (4, 40));
    net.reject("alice", "gov_down", r#"{"amount":0}"#, RejectCode::NothingToDo);
    net.reject(
        "alice",
        "gov_down",
        r#"{"amount":100001}"#,
        RejectCode::InsufficientFunds,
    );
    net.reject("bob", "gov_down", r#"{"amount":1}"#, RejectCode::InsufficientFunds);

    let b = net.next();
    assert_applied(&net.op("alice", "gov_down", r#"{"amount":100000}"#), "gov_down");
    let want: Vec<Installment> = (1..=4)
        .map(|i| Installment {
            block: b + every * i,
            amount: 25_000,
        })
        .collect();
    assert_eq!(net.view("alice").gov_downs, want);
    assert!(
        net.view("alice").power_downs.is_empty(),
        "gov_down schedules no power-down"
    );

    net.idle_until(b + every - 1);
    assert_eq!(holdings(&net.view("alice")), (1_000_000, 200_000, 100_000, 5001));
    net.idle_until(b + every);
    assert_eq!(holdings(&net.view("alice")), (1_025_000, 200_000, 75_000, 5001));
    net.idle_range(b + 2 * every);
    assert_eq!(holdings(&net.view("alice")), (1_050_000, 200_000, 50_000, 5001));
    assert_eq!(net.view("alice").gov_downs, want[2..].to_vec());

    // Cancel the rest.
    assert_applied(&net.op("alice", "gov_down", r#"{"amount":0}"#), "cancel gov_down");
    assert!(net.view("alice").gov_downs.is_empty());
    net.idle_range(b + 10 * every);
    assert_eq!(holdings(&net.view("alice")), (1_050_000, 200_000, 50_000, 5001));
    assert_eq!(net.stats().gov, 1_050_000);
}

#[test]
fn power_and_gov_withdrawals_are_independent() {
    let mut net = Net::new();
    let b = net.next();
    let o = net.run(&[
        ("alice", "power_down", r#"{"amount":4000}"#),
        ("alice", "gov_down", r#"{"amount":8000}"#),
    ]);
    assert_applied(&o[0], "power_down");
    assert_applied(&o[1], "gov_down");
    // Cancelling one leaves the other.
    assert_applied(&net.op("alice", "gov_down", r#"{"amount":0}"#), "cancel gov");
    assert_eq!(net.view("alice").power_downs.len(), 4);
    net.idle_range(b + 200);
    assert_eq!(holdings(&net.view("alice")), (1_004_000, 196_000, 100_000, 5001));
}

#[test]
fn power_grant_moves_power_into_grants_and_back() {
    let mut net = Net::new();
    let before = net.stats();
    assert_applied(
        &net.op("alice", "power_grant", r#"{"to":"bob","amount":50000}"#),
        "grant",
    );
    let (a, bob) = (net.view("alice"), net.view("bob"));
    assert_eq!((a.poweredUp, a.granting, a.granted), (150_000, 50_000, 0));
    assert_eq!((bob.poweredUp, bob.granting, bob.granted), (100_000, 0, 50_000));
    assert_eq!(a.balance, 1_000_000, "a grant moves no liquid");
    let s = net.stats();
    assert_eq!(s.powered, before.powered - 50_000);
    assert_eq!(s.granted, 50_000);
    assert_eq!(keys::amount(net.state(), &keys::grant("alice", "bob")), 50_000);

    // Raising takes only the difference.
    assert_applied(
        &net.op("alice", "power_grant", r#"{"to":"bob","amount":80000}"#),
        "raise",
    );
    assert_eq!(net.view("alice").poweredUp, 120_000);
    assert_eq!(net.view("alice").granting, 80_000);
    // A second grantee: the per-account totals add up.
    assert_applied(
        &net.op("alice", "power_grant", r#"{"to":"carol","amount":1000}"#),
        "to carol",
    );
    assert_applied(
        &net.op("dave", "power_grant", r#"{"to":"bob","amount":7}"#),
        "dave to bob",
    );
    assert_eq!(net.view("alice").granting, 81_000);
    assert_eq!(net.view("bob").granted, 80_007);
    assert_eq!(net.view("carol").granted, 1000);
    assert_eq!(net.stats().granted, 81_007);

    // Lowering returns the difference to the granter's power.
    assert_applied(
        &net.op("alice", "power_grant", r#"{"to":"bob","amount":20000}"#),
        "lower",
    );
    assert_eq!(net.view("alice").poweredUp, 179_000);
    assert_eq!(net.view("alice").granting, 21_000);
    assert_eq!(net.view("bob").granted, 20_007);
    // Zero removes the grant and its keys.
    assert_applied(&net.op("alice", "power_grant", r#"{"to":"bob","amount":0}"#), "remove");
    assert_applied(
        &net.op("alice", "power_grant", r#"{"to":"carol","amount":"0"}"#),
        "remove",
    );
    assert_eq!(net.view("alice").poweredUp, 200_000);
    assert_eq!((net.view("alice").granting, net.view("bob").granted), (0, 7));
    assert!(net.state().get(&keys::grant("alice", "bob")).is_none());
    assert!(net.state().get(&keys::granting("alice")).is_none());
    assert_eq!(net.stats().granted, 7);
    assert_eq!(net.stats().powered, before.powered - 7);

    net.reject(
        "alice",
        "power_grant",
        r#"{"to":"alice","amount":10}"#,
        RejectCode::InvalidAccount,
    );
    net.reject(
        "alice",
        "power_grant",
        r#"{"to":"x","amount":10}"#,
        RejectCode::InvalidAccount,
    );
    net.reject(
        "alice",
        "power_grant",
        r#"{"to":"bob","amount":0}"#,
        RejectCode::NothingToDo,
    );
    net.reject(
        "dave",
        "power_grant",
        r#"{"to":"bob","amount":7}"#,
        RejectCode::NothingToDo,
    );
    net.reject(
        "alice",
        "power_grant",
        r#"{"to":"bob","amount":200001}"#,
        RejectCode::InsufficientFunds,
    );
    net.reject(
        "erin",
        "power_grant",
        r#"{"to":"bob","amount":1}"#,
        RejectCode::InsufficientFunds,
    );
    net.reject("alice", "power_grant", r#"{"to":"bob"}"#, RejectCode::InvalidField);
    // The whole power can be granted (the reference required strictly less).
    assert_applied(
        &net.op("dave", "power_grant", r#"{"to":"bob","amount":50000}"#),
        "all power",
    );
    assert_eq!(net.view("dave").poweredUp, 0);
    net.reject(
        "dave",
        "power_grant",
        r#"{"to":"bob","amount":50001}"#,
        RejectCode::InsufficientFunds,
    );
}

#[test]
fn delegate_vesting_shares_sets_and_removes_the_delegation() {
    let mut net = Net::new();
    let spec = net.net.spec().clone();
    assert_eq!(spec.delegation_account, "dlux-io");
    assert!(net
        .module
        .accepts_hive_op(&delegate("erin", "dlux-io", 5, AssetSymbol::Vests), &spec));
    assert!(!net
        .module
        .accepts_hive_op(&delegate("erin", "someone-else", 5, AssetSymbol::Vests), &spec));

    let ledger = |net: &Net| {
        let mut pairs = net.state().to_map();
        pairs.retain(|k, _| !k.starts_with(b"dlg/"));
        pairs
    };
    let before = ledger(&net);

    let (o, ev) = net.run_hive(vec![delegate("erin", "dlux-io", 5_000_000, AssetSymbol::Vests)]);
    assert_applied(&o[0], "delegate");
    assert_eq!(kinds(&ev), vec!["DelegationSet"]);
    assert_eq!(net.view("erin").delegation_vests, 5_000_000);
    // Changing the delegation replaces the amount (it is not added).
    let (o, _) = net.run_hive(vec![delegate("erin", "dlux-io", 7_123_456, AssetSymbol::Vests)]);
    assert_applied(&o[0], "re-delegate");
    assert_eq!(net.view("erin").delegation_vests, 7_123_456);
    // Zero removes it; the genesis delegation of frank is untouched.
    let (o, ev) = net.run_hive(vec![delegate("erin", "dlux-io", 0, AssetSymbol::Vests)]);
    assert_applied(&o[0], "undelegate");
    assert_eq!(kinds(&ev), vec!["DelegationRemoved"]);
    assert_eq!(net.view("erin").delegation_vests, 0);
    assert!(net.state().get(&keys::delegation("erin")).is_none());
    assert_eq!(net.view("frank").delegation_vests, 1_000_000_000);
    // Zero with none recorded changes nothing.
    let (o, ev) = net.run_hive(vec![delegate("grace", "dlux-io", 0, AssetSymbol::Vests)]);
    assert_applied(&o[0], "zero without a delegation");
    assert!(ev.is_empty());
    let (o, _) = net.run_hive(vec![delegate("frank", "dlux-io", 0, AssetSymbol::Vests)]);
    assert_applied(&o[0], "frank undelegates");
    assert_eq!(net.view("frank").delegation_vests, 0);

    // Bad delegations change nothing.
    let snapshot = net.state().to_map();
    let (o, _) = net.run_hive(vec![
        delegate("erin", "dlux-io", -5, AssetSymbol::Vests),
        delegate("erin", "dlux-io", 5, AssetSymbol::Hive),
        delegate("Erin", "dlux-io", 5, AssetSymbol::Vests),
    ]);
    assert_rejected(&o[0], RejectCode::InvalidField, "negative vests");
    assert_rejected(&o[1], RejectCode::InvalidField, "HIVE instead of VESTS");
    assert_rejected(&o[2], RejectCode::InvalidAccount, "invalid delegator");
    assert!(snapshot == net.state().to_map());

    // Delegations never touch the token ledger.
    assert!(before == ledger(&net));
}

#[test]
fn power_down_cannot_pay_more_than_the_remaining_power() {
    let mut net = Net::new();
    let b = net.next();
    // alice schedules her whole power (200,000: 4 x 50,000) ...
    assert_applied(&net.op("alice", "power_down", r#"{"amount":200000}"#), "power_down all");
    // ... then grants 150,000 of it away, leaving 50,000.
    assert_applied(
        &net.op("alice", "power_grant", r#"{"to":"bob","amount":150000}"#),
        "grant after power_down",
    );
    assert_eq!(net.view("alice").poweredUp, 50_000);
    // The schedule itself is unchanged.
    assert_eq!(net.view("alice").power_downs.len(), 4);

    // First installment: 50,000 is due and 50,000 is there.
    net.idle_until(b + 30);
    assert_eq!(holdings(&net.view("alice")), (1_050_000, 0, 100_000, 5001));
    // The rest find no power: nothing is paid, nothing goes negative, no supply appears.
    let events = net.idle_until(b + 120);
    assert_eq!(kinds(&events), vec!["WithdrawalPaid"; 3]);
    assert_eq!(holdings(&net.view("alice")), (1_050_000, 0, 100_000, 5001));
    assert!(net.view("alice").power_downs.is_empty());
    assert_eq!(net.view("alice").granting, 150_000);
    assert_eq!(net.view("bob").granted, 150_000);

    // Taking the grant back later returns it as power: the finished schedule pays no more.
    assert_applied(&net.op("alice", "power_grant", r#"{"to":"bob","amount":0}"#), "ungrant");
    net.idle_range(b + 400);
    assert_eq!(holdings(&net.view("alice")), (1_050_000, 150_000, 100_000, 5001));
}

#[test]
fn power_down_pays_partially_when_power_was_granted_between_installments() {
    let mut net = Net::new();
    let b = net.next();
    // dave: 50,000 power, schedules 40,000 (4 x 10,000).
    assert_applied(&net.op("dave", "power_down", r#"{"amount":40000}"#), "power_down");
    net.idle_until(b + 30);
    assert_eq!(holdings(&net.view("dave")), (610_000, 40_000, 0, 0));
    // Grant away 35,000: 5,000 power remains.
    assert_applied(
        &net.op("dave", "power_grant", r#"{"to":"erin","amount":35000}"#),
        "grant",
    );
    // Second installment: 10,000 due, only 5,000 left to pay.
    net.idle_until(b + 60);
    assert_eq!(holdings(&net.view("dave")), (615_000, 0, 0, 0));
    // Take 30,000 back before the third: it pays its full 10,000 again, the fourth too.
    assert_applied(
        &net.op("dave", "power_grant", r#"{"to":"erin","amount":5000}"#),
        "lower",
    );
    assert_eq!(net.view("dave").poweredUp, 30_000);
    net.idle_range(b + 90);
    assert_eq!(holdings(&net.view("dave")), (625_000, 20_000, 0, 0));
    net.idle_until(b + 120);
    assert_eq!(holdings(&net.view("dave")), (635_000, 10_000, 0, 0));
    assert_eq!(net.view("dave").granting, 5_000);
}

/// `"4096.123457 VESTS"` (legacy JSON) and its NAI form are the same 4096123457 micro-VESTS:
/// the integer amount on chain, not the reference's float truncation (4096123456).
#[test]
fn a_delegation_in_either_json_form_is_its_exact_amount() {
    let legacy = serde_json::json!(["delegate_vesting_shares", {
        "delegator": "erin", "delegatee": "dlux-io", "vesting_shares": "4096.123457 VESTS"
    }]);
    let nai = serde_json::json!({"type": "delegate_vesting_shares_operation", "value": {
        "delegator": "erin", "delegatee": "dlux-io",
        "vesting_shares": {"amount": "4096123457", "precision": 6, "nai": "@@000000037"}
    }});
    for v in [legacy, nai] {
        let op = opentoken_core::hive_json::decode_op(&v).expect("decodes");
        let mut net = Net::new();
        let (o, _) = net.run_hive(vec![op]);
        assert_applied(&o[0], "delegate");
        assert_eq!(net.view("erin").delegation_vests, 4_096_123_457, "{v}");
    }
}
