//! Reconciliation of the community multi-sig account, apart from its I/O: does the account
//! (the chain spec's `msaccount`) really hold on Hive what the multisig module's books say?
//!
//! The books give, per coin, `held` (deposits in − confirmed outflows out) and
//! `unexplained_out` (transfers out of the account that paid no outflow), so the account
//! must hold `held − unexplained_out` ([`Expected`]). The node reads the account's liquid
//! HIVE and HBD from a Hive API node ([`Observation`]) and [`Reconciler::check`] compares:
//!
//! - Only a **comparable** pair is judged: the books must stand for the same block as the
//!   balance. The balance is read at the API node's head, so the head is read before and
//!   after it and must not have moved, and the books (at the processed block P) must hold
//!   through that head: P is at least the head, or the shell read blocks P+1..=head and none
//!   of them touches the account ([`quiet_through`]). Anything else is [`Skip`]ped and
//!   changes nothing: a skip neither counts towards an alarm nor clears one.
//! - A **shortfall** (Hive holds less than the books, in either coin) is a mismatch: funds
//!   left the account in a way the module did not see, or this node's books are wrong. It
//!   becomes an alarm only after `confirm_checks` comparable checks in a row, because a
//!   transaction pending on the API node (an assembled multi-sig transfer broadcast but not
//!   yet in a block) shows in its balance before any block does; one comparable match
//!   clears it.
//! - A **surplus** (Hive holds more) is reported and is no mismatch: the account may hold
//!   funds from before the chain's starting block, and anyone can send it funds by means the
//!   module does not credit (a `recurrent_transfer`, a savings withdrawal, rewards).
//!
//! [`Reconciler`] reads no clock, store or network, as [`crate::ms_duty::MsDuty`]; the agent
//! feeds it and publishes what it keeps ([`ReconcileStatus`]): `/readyz` not ready with
//! [`ReconcileStatus::alarm`] as the reason while alarmed, the expected and observed amounts
//! as gauges.

use opentoken_core::{Block, HiveOp};
use opentoken_multisig::views::Holdings;
use opentoken_multisig::Coin;
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// How often and how patiently the agent reconciles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileConfig {
    /// Time between checks (each costs three or four Hive API calls).
    pub every: Duration,
    /// Comparable mismatches in a row before the alarm (at least 1).
    pub confirm_checks: u32,
    /// The most blocks after the processed one read to see that none touches the account;
    /// a node further behind the head skips the check.
    pub max_scan_blocks: u64,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(30),
            confirm_checks: 3,
            max_scan_blocks: 100,
        }
    }
}

/// An amount of each coin, in milli-units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Amounts {
    pub hive: u64,
    pub hbd: u64,
}

impl Amounts {
    pub fn of(&self, coin: Coin) -> u64 {
        match coin {
            Coin::Hive => self.hive,
            Coin::Hbd => self.hbd,
        }
    }
}

/// What the books say the account must hold after `block` (the processed block).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Expected {
    pub block: u64,
    pub amounts: Amounts,
}

impl Expected {
    /// `held − unexplained_out` per coin. Saturating: the module keeps `unexplained_out`
    /// apart from `held` and never lets it lower `held`, so more unexplained than held
    /// means the account holds nothing more than its other sources gave it.
    pub fn from_holdings(h: &Holdings, block: u64) -> Self {
        Self {
            block,
            amounts: Amounts {
                hive: h.hive.held.saturating_sub(h.hive.unexplained_out),
                hbd: h.hbd.held.saturating_sub(h.hbd.unexplained_out),
            },
        }
    }
}

/// The account's liquid balances as a Hive API node answered them, with the head block
/// read just before and just after the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    pub balances: Amounts,
    pub head_before: u64,
    pub head_after: u64,
    /// The last block of the unbroken run after the books' block in which no operation
    /// touches the account ([`quiet_through`]), when the shell read them: the books hold
    /// through it as well.
    pub quiet_through: Option<u64>,
}

/// Why a check compared nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// The head moved during the call: the balance may be of either block.
    HeadMoved { before: u64, after: u64 },
    /// The books hold through block `through` (processed `books`, plus the blocks read
    /// after it that leave the account alone), short of the `head` the balance is of.
    Behind { books: u64, through: u64, head: u64 },
    /// Nothing to compare: a Hive API call or the store read failed, the answer was
    /// unusable, or the books changed while read (the text is the node's own summary; an
    /// error itself goes to the log).
    Unavailable(String),
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::HeadMoved { before, after } => {
                write!(
                    f,
                    "the Hive head moved from {before} to {after} while the balance was read"
                )
            }
            Skip::Behind { books, through, head } if through == books => {
                write!(f, "the books (processed block {books}) are behind the Hive head {head}")
            }
            Skip::Behind { books, through, head } => write!(
                f,
                "the books (processed block {books}, the account untouched through {through}) are behind the Hive \
                 head {head}"
            ),
            Skip::Unavailable(why) => f.write_str(why),
        }
    }
}

/// One coin of a comparable check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CoinCheck {
    pub coin: Coin,
    pub expected: u64,
    pub observed: u64,
}

impl CoinCheck {
    pub fn shortfall(&self) -> u64 {
        self.expected.saturating_sub(self.observed)
    }

    pub fn surplus(&self) -> u64 {
        self.observed.saturating_sub(self.expected)
    }
}

/// A comparable check: the books at `block` against the balance at the Hive `head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub block: u64,
    pub head: u64,
    pub coins: [CoinCheck; 2],
}

impl Comparison {
    pub fn is_short(&self) -> bool {
        self.coins.iter().any(|c| c.shortfall() > 0)
    }

    pub fn has_surplus(&self) -> bool {
        self.coins.iter().any(|c| c.surplus() > 0)
    }

    /// The coins short, as `1.000 HIVE on Hive, 5.000 HIVE expected (4.000 HIVE short)`.
    fn shortfalls(&self) -> String {
        self.described(CoinCheck::shortfall, "short")
    }

    fn surpluses(&self) -> String {
        self.described(CoinCheck::surplus, "more")
    }

    fn described(&self, by: fn(&CoinCheck) -> u64, word: &str) -> String {
        self.coins
            .iter()
            .filter(|c| by(c) > 0)
            .map(|c| {
                format!(
                    "{} on Hive, {} expected ({} {word})",
                    milli(c.observed, c.coin),
                    milli(c.expected, c.coin),
                    milli(by(c), c.coin)
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// `1.000 HIVE`: milli-units as Hive prints them.
pub fn milli(amount: u64, coin: Coin) -> String {
    format!("{}.{:03} {}", amount / 1000, amount % 1000, coin.symbol())
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing compared; the state is as it was.
    Skipped(Skip),
    /// Every coin holds at least what the books say; `cleared` when that ended an alarm.
    Matched { cleared: bool },
    /// A coin holds less, `streak` comparable checks in a row; `alarm` once the streak
    /// reached `confirm_checks`, `raised` on the check that got there.
    Short { streak: u32, alarm: bool, raised: bool },
}

/// What the reconciliation knows, for the node's status and its tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconcileStatus {
    pub account: String,
    /// The last comparable check.
    pub last: Option<Comparison>,
    /// Comparable mismatches in a row, up to the last comparable check.
    pub streak: u32,
    /// While alarmed: why, for `/readyz` (the account, both amounts, what to do).
    pub alarm: Option<String>,
    /// While the last comparable check found a surplus: what it is.
    pub surplus: Option<String>,
    /// Why the last check compared nothing; `None` when it compared.
    pub skipped: Option<String>,
}

/// The reconciliation's state: feed it [`Reconciler::check`]s, read [`Reconciler::status`].
#[derive(Debug, Clone)]
pub struct Reconciler {
    confirm_checks: u32,
    status: ReconcileStatus,
}

impl Reconciler {
    pub fn new(account: String, confirm_checks: u32) -> Self {
        Self {
            confirm_checks: confirm_checks.max(1),
            status: ReconcileStatus {
                account,
                last: None,
                streak: 0,
                alarm: None,
                surplus: None,
                skipped: None,
            },
        }
    }

    pub fn status(&self) -> &ReconcileStatus {
        &self.status
    }

    /// Compares, when the pair is comparable (see the module docs).
    pub fn check(&mut self, expected: &Expected, obs: &Observation) -> Outcome {
        match comparable(expected, obs) {
            Ok(head) => self.compare(expected, obs, head),
            Err(skip) => self.skip(skip),
        }
    }

    /// A check that could not observe (the Hive API or the store failed): nothing changes.
    pub fn skip(&mut self, skip: Skip) -> Outcome {
        self.status.skipped = Some(skip.to_string());
        Outcome::Skipped(skip)
    }

    fn compare(&mut self, expected: &Expected, obs: &Observation, head: u64) -> Outcome {
        let coin = |coin| CoinCheck {
            coin,
            expected: expected.amounts.of(coin),
            observed: obs.balances.of(coin),
        };
        let c = Comparison {
            block: expected.block,
            head,
            coins: [coin(Coin::Hive), coin(Coin::Hbd)],
        };
        let s = &mut self.status;
        s.last = Some(c);
        s.skipped = None;
        let account = &s.account;
        s.surplus = c.has_surplus().then(|| {
            format!(
                "@{account} holds more on Hive than its books at block {}: {}; funds reached it by means the \
                 multisig module does not credit, and no Layer-2 balance holds them",
                c.block,
                c.surpluses()
            )
        });
        if !c.is_short() {
            s.streak = 0;
            return Outcome::Matched {
                cleared: s.alarm.take().is_some(),
            };
        }
        s.streak = s.streak.saturating_add(1);
        if s.streak < self.confirm_checks {
            return Outcome::Short {
                streak: s.streak,
                alarm: false,
                raised: false,
            };
        }
        let raised = s.alarm.is_none();
        s.alarm = Some(format!(
            "the multi-sig account @{account} holds less on Hive than its books at block {} say: {}, in {} \
             comparable checks in a row. Funds left it by means the multisig module does not follow, or this \
             node's books are wrong: look for operations of @{account} other than `transfer` on a block \
             explorer, compare this node's /api/multisig with other nodes', and stop signing for the account \
             until it is explained",
            c.block,
            c.shortfalls(),
            s.streak
        ));
        Outcome::Short {
            streak: s.streak,
            alarm: true,
            raised,
        }
    }
}

/// The Hive head the balance is of, when the books hold through it; else why not.
fn comparable(expected: &Expected, obs: &Observation) -> Result<u64, Skip> {
    let (before, after) = (obs.head_before, obs.head_after);
    if before != after {
        return Err(Skip::HeadMoved { before, after });
    }
    let through = expected.block.max(obs.quiet_through.unwrap_or(0));
    if through < before {
        return Err(Skip::Behind {
            books: expected.block,
            through,
            head: before,
        });
    }
    Ok(before)
}

/// Whether `op` may change `account`'s liquid HIVE or HBD. A `transfer` does when it names
/// the account; a custom_json or a delegation never does (VESTS are not liquid); any other
/// operation is assumed to when its body names the account anywhere (power-ups, savings,
/// orders, conversions, escrows, recurrent transfers, rewards, ...): a needless skip costs a
/// check, a missed change would raise a false alarm.
pub fn touches(op: &HiveOp, account: &str) -> bool {
    match op {
        HiveOp::Transfer(t) => t.from == account || t.to == account,
        HiveOp::CustomJson(_) | HiveOp::DelegateVestingShares(_) => false,
        HiveOp::Other { body, .. } => body.contains(&format!("\"{account}\"")),
    }
}

/// The last block of the unbroken run `after + 1, after + 2, ...` at the start of `blocks`
/// in which no operation touches `account`; `None` when block `after + 1` is missing or
/// touches it. Through that block the books of block `after` are still the account's.
pub fn quiet_through(after: u64, blocks: &[Block], account: &str) -> Option<u64> {
    let mut through = None;
    let mut next = after.checked_add(1)?;
    for b in blocks {
        let quiet = b.num == next
            && !b
                .transactions
                .iter()
                .any(|tx| tx.operations.iter().any(|op| touches(op, account)));
        if !quiet {
            break;
        }
        through = Some(next);
        next = next.checked_add(1)?;
    }
    through
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::{Asset, AssetSymbol, CustomJsonOp, Transaction, TransferOp};
    use opentoken_multisig::views::CoinBooks;

    const MS: &str = "dlux-cc";

    fn expected(block: u64, hive: u64, hbd: u64) -> Expected {
        Expected {
            block,
            amounts: Amounts { hive, hbd },
        }
    }

    /// A balance read at head `head` that did not move.
    fn seen(head: u64, hive: u64, hbd: u64) -> Observation {
        Observation {
            balances: Amounts { hive, hbd },
            head_before: head,
            head_after: head,
            quiet_through: None,
        }
    }

    fn reconciler() -> Reconciler {
        Reconciler::new(MS.into(), 3)
    }

    #[test]
    fn equal_amounts_match() {
        let mut r = reconciler();
        let out = r.check(&expected(100, 5_000, 1_000), &seen(100, 5_000, 1_000));
        assert_eq!(out, Outcome::Matched { cleared: false });
        let s = r.status();
        assert_eq!(s.streak, 0);
        assert!(s.alarm.is_none() && s.surplus.is_none() && s.skipped.is_none());
        let last = s.last.expect("compared");
        assert_eq!((last.block, last.head), (100, 100));
        assert_eq!(last.coins[0].expected, 5_000);
        assert_eq!(last.coins[1].observed, 1_000);
    }

    #[test]
    fn a_shortfall_is_an_alarm_only_after_three_comparable_checks_in_a_row() {
        let mut r = reconciler();
        let books = expected(100, 5_000, 1_000);
        let short = seen(100, 1_000, 1_000);
        for streak in 1..=2 {
            assert_eq!(
                r.check(&books, &short),
                Outcome::Short {
                    streak,
                    alarm: false,
                    raised: false
                }
            );
            assert!(r.status().alarm.is_none(), "not yet at {streak}");
        }
        // Skips in between neither count nor reset.
        assert!(matches!(
            r.check(&books, &seen(101, 1_000, 1_000)),
            Outcome::Skipped(Skip::Behind { .. })
        ));
        r.skip(Skip::Unavailable("Hive API unavailable".into()));
        assert_eq!(r.status().streak, 2);
        assert_eq!(
            r.check(&books, &short),
            Outcome::Short {
                streak: 3,
                alarm: true,
                raised: true
            }
        );
        let why = r.status().alarm.clone().expect("alarmed");
        assert!(why.contains("@dlux-cc"), "{why}");
        assert!(
            why.contains("1.000 HIVE on Hive, 5.000 HIVE expected (4.000 HIVE short)"),
            "{why}"
        );
        assert!(!why.contains("HBD"), "HBD is not short: {why}");
        assert!(why.contains("block 100") && why.contains("/api/multisig"), "{why}");
        assert_eq!(
            r.check(&books, &short),
            Outcome::Short {
                streak: 4,
                alarm: true,
                raised: false
            },
            "raised once"
        );
    }

    #[test]
    fn one_comparable_match_clears_the_alarm_and_the_streak() {
        let mut r = reconciler();
        let books = expected(100, 5_000, 1_000);
        for _ in 0..3 {
            r.check(&books, &seen(100, 5_000, 999));
        }
        assert!(r
            .status()
            .alarm
            .as_deref()
            .is_some_and(|w| w.contains("0.001 HBD short")));
        // A skip keeps the alarm: nothing was compared.
        r.check(
            &books,
            &Observation {
                head_after: 101,
                ..seen(100, 5_000, 1_000)
            },
        );
        assert!(r.status().alarm.is_some());
        assert_eq!(
            r.check(&books, &seen(100, 5_000, 1_000)),
            Outcome::Matched { cleared: true }
        );
        assert_eq!(r.status().alarm, None);
        assert_eq!(r.status().streak, 0);
        // A new shortfall starts counting from one again.
        assert!(matches!(
            r.check(&books, &seen(100, 0, 1_000)),
            Outcome::Short {
                streak: 1,
                alarm: false,
                ..
            }
        ));
        // A match before the third clears the count without an alarm.
        r.check(&books, &seen(100, 0, 1_000));
        assert_eq!(
            r.check(&books, &seen(100, 5_000, 1_000)),
            Outcome::Matched { cleared: false }
        );
        assert_eq!(r.status().streak, 0);
    }

    #[test]
    fn a_surplus_is_reported_but_is_no_mismatch() {
        let mut r = reconciler();
        let books = expected(100, 5_000, 1_000);
        for _ in 0..5 {
            assert_eq!(
                r.check(&books, &seen(100, 7_500, 1_000)),
                Outcome::Matched { cleared: false }
            );
        }
        let s = r.status();
        assert!(s.alarm.is_none() && s.streak == 0);
        let surplus = s.surplus.as_deref().expect("reported");
        assert!(
            surplus.contains("7.500 HIVE on Hive, 5.000 HIVE expected (2.500 HIVE more)"),
            "{surplus}"
        );
        assert!(s.last.is_some_and(|c| c.has_surplus() && !c.is_short()));
        // A surplus in one coin does not hide a shortfall in the other.
        for _ in 0..3 {
            r.check(&books, &seen(100, 7_500, 0));
        }
        let why = r.status().alarm.clone().expect("HBD short");
        assert!(why.contains("0.000 HBD on Hive, 1.000 HBD expected"), "{why}");
        assert!(!why.contains("HIVE on Hive"), "{why}");
        assert!(r.status().surplus.is_some());
    }

    #[test]
    fn skipped_when_the_books_are_behind_the_head_or_the_head_moved() {
        let mut r = reconciler();
        let books = expected(99, 5_000, 0);
        assert_eq!(
            r.check(&books, &seen(100, 0, 0)),
            Outcome::Skipped(Skip::Behind {
                books: 99,
                through: 99,
                head: 100
            })
        );
        assert!(r
            .status()
            .skipped
            .as_deref()
            .is_some_and(|w| w.contains("behind the Hive head 100")));
        let moved = Observation {
            head_before: 99,
            head_after: 100,
            ..seen(99, 0, 0)
        };
        assert_eq!(
            r.check(&books, &moved),
            Outcome::Skipped(Skip::HeadMoved { before: 99, after: 100 })
        );
        // An API node behind the one asked first (failover) moves the head back: no better.
        let back = Observation {
            head_before: 100,
            head_after: 99,
            ..seen(100, 0, 0)
        };
        assert!(matches!(
            r.check(&expected(200, 0, 0), &back),
            Outcome::Skipped(Skip::HeadMoved { .. })
        ));
        assert_eq!(r.status().last, None, "nothing compared");
        assert_eq!(r.status().streak, 0);
        // Books past the head compare (the node's API nodes may differ by a block).
        assert!(matches!(
            r.check(&expected(101, 5_000, 0), &seen(100, 0, 0)),
            Outcome::Short { .. }
        ));
        assert_eq!(r.status().skipped, None);
    }

    #[test]
    fn quiet_blocks_after_the_books_make_them_comparable_up_to_where_they_reach() {
        let mut r = reconciler();
        let books = expected(95, 5_000, 0);
        let through = |q| Observation {
            quiet_through: Some(q),
            ..seen(100, 5_000, 0)
        };
        assert_eq!(r.check(&books, &through(100)), Outcome::Matched { cleared: false });
        assert_eq!(
            r.check(&books, &through(98)),
            Outcome::Skipped(Skip::Behind {
                books: 95,
                through: 98,
                head: 100
            })
        );
    }

    #[test]
    fn arithmetic_saturates_at_the_extremes() {
        let books = |held: u64, unexplained_out: u64| CoinBooks {
            asset: Coin::Hive,
            held,
            balances: 0,
            pending: 0,
            dex_held: 0,
            nft_held: 0,
            unexplained_out,
        };
        let h = Holdings {
            hive: books(u64::MAX, 1),
            hbd: CoinBooks {
                asset: Coin::Hbd,
                ..books(1, u64::MAX)
            },
            outflows_queued: 0,
        };
        let e = Expected::from_holdings(&h, u64::MAX);
        assert_eq!(
            e.amounts,
            Amounts {
                hive: u64::MAX - 1,
                hbd: 0
            }
        );
        let mut r = reconciler();
        // The largest shortfall and surplus, at the last block: no overflow anywhere.
        for _ in 0..3 {
            r.check(&e, &seen(u64::MAX, 0, u64::MAX));
        }
        let s = r.status();
        let c = s.last.expect("compared");
        assert_eq!(c.coins[0].shortfall(), u64::MAX - 1);
        assert_eq!(c.coins[1].surplus(), u64::MAX);
        assert!(s
            .alarm
            .as_deref()
            .is_some_and(|w| w.contains("18446744073709551.614 HIVE expected")));
        assert!(s
            .surplus
            .as_deref()
            .is_some_and(|w| w.contains("18446744073709551.615 HBD on Hive")));
        assert_eq!(quiet_through(u64::MAX, &[block(0, vec![])], MS), None);
        let mut r = Reconciler::new(MS.into(), 0);
        assert!(
            matches!(
                r.check(&expected(1, 1, 0), &seen(1, 0, 0)),
                Outcome::Short { alarm: true, .. }
            ),
            "confirm_checks 0 counts as 1"
        );
    }

    #[test]
    fn amounts_print_as_hive_prints_them() {
        assert_eq!(milli(1_000, Coin::Hive), "1.000 HIVE");
        assert_eq!(milli(5, Coin::Hbd), "0.005 HBD");
        assert_eq!(milli(1_234_567, Coin::Hive), "1234.567 HIVE");
    }

    fn transfer(from: &str, to: &str) -> HiveOp {
        HiveOp::Transfer(TransferOp {
            from: from.into(),
            to: to.into(),
            amount: Asset::new(1, AssetSymbol::Hive),
            memo: String::new(),
        })
    }

    fn other(name: &str, body: &str) -> HiveOp {
        HiveOp::Other {
            name: name.into(),
            body: body.into(),
        }
    }

    fn block(num: u64, operations: Vec<HiveOp>) -> Block {
        Block {
            num,
            id: String::new(),
            previous: String::new(),
            timestamp: 0,
            witness: String::new(),
            transactions: vec![Transaction {
                txid: String::new(),
                operations,
            }],
        }
    }

    #[test]
    fn what_touches_the_account() {
        assert!(touches(&transfer("alice", MS), MS));
        assert!(touches(&transfer(MS, "alice"), MS));
        assert!(!touches(&transfer("alice", "bob"), MS));
        assert!(!touches(&transfer("alice", "dlux-cc2"), MS), "another account");
        assert!(touches(
            &other(
                "transfer_to_vesting",
                r#"{"from":"dlux-cc","to":"","amount":"1.000 HIVE"}"#
            ),
            MS
        ));
        assert!(touches(
            &other("recurrent_transfer", r#"{"from":"alice","to":"dlux-cc"}"#),
            MS
        ));
        assert!(!touches(&other("vote", r#"{"voter":"alice","author":"dlux-cc2"}"#), MS));
        assert!(!touches(
            &HiveOp::CustomJson(CustomJsonOp {
                required_auths: vec![MS.into()],
                required_posting_auths: vec![],
                id: "dlux_ms_sign".into(),
                json: "{}".into(),
            }),
            MS
        ));
    }

    #[test]
    fn quiet_through_stops_at_a_touch_or_a_gap() {
        let quiet = |n| block(n, vec![transfer("alice", "bob")]);
        assert_eq!(quiet_through(10, &[quiet(11), quiet(12), quiet(13)], MS), Some(13));
        assert_eq!(
            quiet_through(10, &[quiet(11), block(12, vec![transfer(MS, "bob")]), quiet(13)], MS),
            Some(11)
        );
        assert_eq!(quiet_through(10, &[quiet(11), quiet(13)], MS), Some(11), "12 missing");
        assert_eq!(quiet_through(10, &[quiet(12)], MS), None, "11 missing");
        assert_eq!(quiet_through(10, &[block(11, vec![transfer("bob", MS)])], MS), None);
        assert_eq!(quiet_through(10, &[], MS), None);
    }
}
