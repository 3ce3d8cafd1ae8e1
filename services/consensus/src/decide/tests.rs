//! One test per decision of [`AgentState`], driven the way the shell drives it.

use super::*;

const WINDOW: u64 = 100;
const KEY: &str = "ab";
const DOMAIN: &str = "http://me";

fn agent(can_restore: bool) -> AgentState {
    let identity = Identity {
        domain: DOMAIN.into(),
        report_key: KEY.into(),
        mskey: None,
    };
    AgentState::new(identity, WINDOW, can_restore)
}

/// The chain's record of a node.
fn record(domain: &str, report_key: &str, active: bool) -> NodeRecord {
    NodeRecord {
        domain: domain.into(),
        bid_rate: 0,
        dm: 0,
        ds: 0,
        dv: 0,
        liquidity: 0,
        report_key: report_key.into(),
        mskey: None,
        active,
        attempts: 0,
        yays: 0,
        wins: 0,
        strikes: 0,
        last_good: 0,
        registered_at: 0,
    }
}

fn me() -> NodeRecord {
    record(DOMAIN, KEY, true)
}

fn sent(txid: &str, head: u64, expiration: u64) -> Sent {
    Sent {
        txid: txid.into(),
        expiration,
        head,
    }
}

fn report(checkpoint: u64, h: u8) -> Broadcast {
    Broadcast::Report {
        checkpoint,
        hash: [h; 32],
    }
}

/// Observes the head and looks at every block up to it, with no transaction of ours.
fn watch_empty_blocks(a: &mut AgentState, head: u64, now: u64) {
    for b in a.observe_head(head, now) {
        assert!(a.block_seen(b, []).is_empty());
    }
}

// --- which reports are due -------------------------------------------------------------

#[test]
fn a_report_is_due_while_its_window_is_open() {
    let mut a = agent(false);
    a.own_report(100, [1; 32]);
    a.observe_head(150, 0);
    assert_eq!(a.broadcasts(Some(&me()), 0), [report(100, 1)]);
    a.observe_head(199, 0);
    assert_eq!(
        a.broadcasts(Some(&me()), 0),
        [report(100, 1)],
        "last block of the window"
    );
}

#[test]
fn a_report_is_not_due_once_its_window_closed() {
    let mut a = agent(false);
    a.own_report(100, [1; 32]);
    a.own_report(300, [3; 32]);
    a.observe_head(200, 0);
    assert_eq!(
        a.broadcasts(Some(&me()), 0),
        [report(300, 3)],
        "reports for 100 are accepted up to block 199 only"
    );
}

#[test]
fn a_report_sent_is_not_due_again_unless_remade_with_another_hash() {
    let mut a = agent(false);
    a.own_report(100, [1; 32]);
    a.observe_head(150, 0);
    a.broadcast_sent(Purpose::Report(100), sent("t1", 150, 1000));
    assert!(a.broadcasts(Some(&me()), 0).is_empty(), "already sent");
    a.own_report(100, [1; 32]);
    assert!(a.broadcasts(Some(&me()), 0).is_empty(), "the same hash read again");
    a.own_report(100, [2; 32]);
    assert_eq!(
        a.broadcasts(Some(&me()), 0),
        [report(100, 2)],
        "a re-made report is sent"
    );
}

#[test]
fn reports_wait_for_the_registration() {
    let mut a = agent(false);
    a.own_report(100, [1; 32]);
    a.observe_head(150, 0);
    assert_eq!(a.broadcasts(None, 0), [Broadcast::Register { pop_block: 150 }]);
}

#[test]
fn the_reports_cursor_moves_forward_and_skips_reports_of_thrown_away_state() {
    let mut a = agent(true);
    assert_eq!(a.reports_offset(), 0);
    a.reports_read_to(7);
    assert_eq!(a.reports_offset(), 7);
    a.restored(100, 12);
    assert_eq!(a.reports_offset(), 12);
    a.restored(100, 3);
    assert_eq!(a.reports_offset(), 12, "never back");
}

// --- in-flight broadcasts ----------------------------------------------------------------

#[test]
fn nothing_in_flight_means_no_block_to_look_at() {
    let mut a = agent(false);
    assert!(a.observe_head(150, 0).is_empty());
    assert_eq!(a.head(), 150);
}

#[test]
fn an_in_flight_report_is_confirmed_by_its_block() {
    let mut a = agent(false);
    a.own_report(100, [1; 32]);
    a.observe_head(150, 0);
    a.broadcast_sent(Purpose::Report(100), sent("t1", 150, 1000));
    assert_eq!(
        a.observe_head(152, 900),
        151..=152,
        "from the block after the one it was sent at"
    );
    assert!(a.block_seen(151, ["other"]).is_empty());
    assert_eq!(
        a.block_seen(152, ["other", "t1"]),
        [Confirmed {
            purpose: Purpose::Report(100),
            txid: "t1".into(),
            block: 152,
        }]
    );
    assert_eq!(a.in_flight().count(), 0);
    assert!(a.expire().is_empty());
    assert!(a.broadcasts(Some(&me()), 0).is_empty(), "included: not sent again");
    assert!(a.observe_head(160, 2000).is_empty());
}

#[test]
fn watching_resumes_after_the_last_block_looked_at() {
    let mut a = agent(false);
    a.broadcast_sent(Purpose::Report(100), sent("t1", 150, 1000));
    assert_eq!(a.observe_head(155, 900), 151..=155);
    a.block_seen(151, []);
    a.block_seen(152, []); // block 153 could not be fetched
    assert_eq!(a.observe_head(156, 900), 153..=156);
}

#[test]
fn an_expired_report_is_broadcast_again_while_the_window_is_open() {
    let mut a = agent(false);
    a.own_report(100, [1; 32]);
    a.observe_head(150, 0);
    a.broadcast_sent(Purpose::Report(100), sent("t1", 150, 1000));
    watch_empty_blocks(&mut a, 170, 1001);
    assert_eq!(
        a.expire(),
        [Expired {
            purpose: Purpose::Report(100),
            txid: "t1".into(),
        }]
    );
    assert_eq!(a.in_flight().count(), 0);
    assert_eq!(a.broadcasts(Some(&me()), 0), [report(100, 1)]);
}

#[test]
fn an_expired_report_is_dropped_once_the_window_closed() {
    let mut a = agent(false);
    a.own_report(100, [1; 32]);
    a.observe_head(190, 0);
    a.broadcast_sent(Purpose::Report(100), sent("t1", 190, 1000));
    watch_empty_blocks(&mut a, 205, 1001);
    assert_eq!(a.expire().len(), 1);
    assert!(a.broadcasts(Some(&me()), 0).is_empty());
}

#[test]
fn a_transaction_is_not_expired_before_its_time_or_before_every_block_was_seen() {
    let mut a = agent(false);
    a.broadcast_sent(Purpose::Report(100), sent("t1", 150, 1000));
    watch_empty_blocks(&mut a, 160, 1000);
    assert!(a.expire().is_empty(), "not past its expiration");

    // Past it, but block 159 could not be fetched: it could still be in 159 or 160.
    let mut b = agent(false);
    b.broadcast_sent(Purpose::Report(100), sent("t1", 150, 1000));
    for n in b.observe_head(160, 1001) {
        if n == 159 {
            break;
        }
        b.block_seen(n, []);
    }
    assert!(b.expire().is_empty());
    assert_eq!(b.in_flight().count(), 1);
}

// --- registration ------------------------------------------------------------------------

#[test]
fn an_unknown_node_registers_with_the_head_as_proof_block() {
    let mut a = agent(false);
    a.observe_head(150, 0);
    assert_eq!(a.broadcasts(None, 0), [Broadcast::Register { pop_block: 150 }]);
}

#[test]
fn a_changed_key_domain_or_deleted_node_registers_again() {
    let mut a = agent(false);
    a.observe_head(150, 0);
    let register = [Broadcast::Register { pop_block: 150 }];
    assert_eq!(
        a.broadcasts(Some(&record(DOMAIN, "cd", true)), 0),
        register,
        "other key"
    );
    assert_eq!(
        a.broadcasts(Some(&record("http://old", KEY, true)), 0),
        register,
        "other domain"
    );
    assert_eq!(a.broadcasts(Some(&record(DOMAIN, KEY, false)), 0), register, "deleted");
    assert!(a.broadcasts(Some(&me()), 0).is_empty(), "current, nothing to report");
}

#[test]
fn a_node_whose_multisig_key_differs_from_the_chain_registers_again() {
    let with_ms = |mskey: Option<&str>| NodeRecord {
        mskey: mskey.map(str::to_string),
        ..me()
    };
    let identity = |mskey: Option<&str>| Identity {
        domain: DOMAIN.into(),
        report_key: KEY.into(),
        mskey: mskey.map(str::to_string),
    };
    let register = [Broadcast::Register { pop_block: 150 }];
    // Gains a key: the chain's record has none.
    let mut gained = AgentState::new(identity(Some("STMnew")), WINDOW, false);
    gained.observe_head(150, 0);
    assert_eq!(gained.broadcasts(Some(&with_ms(None)), 0), register, "gained a key");
    // Changes it.
    let mut changed = AgentState::new(identity(Some("STMnew")), WINDOW, false);
    changed.observe_head(150, 0);
    assert_eq!(
        changed.broadcasts(Some(&with_ms(Some("STMold"))), 0),
        register,
        "other key"
    );
    // Runs without it: the chain's key would be a signer that never signs.
    let mut dropped = AgentState::new(identity(None), WINDOW, false);
    dropped.observe_head(150, 0);
    assert_eq!(
        dropped.broadcasts(Some(&with_ms(Some("STMold"))), 0),
        register,
        "lost the key"
    );
    // Same key: current.
    let mut same = AgentState::new(identity(Some("STMnew")), WINDOW, false);
    same.observe_head(150, 0);
    assert!(same.broadcasts(Some(&with_ms(Some("STMnew"))), 0).is_empty(), "current");
}

#[test]
fn a_registration_in_flight_or_not_yet_processed_is_waited_for() {
    let mut a = agent(false);
    a.observe_head(150, 0);
    a.broadcast_sent(Purpose::Register, sent("reg", 150, 1000));
    assert!(a.broadcasts(None, 0).is_empty(), "in flight");

    a.observe_head(153, 900);
    assert!(a.block_seen(151, []).is_empty());
    let c = a.block_seen(152, ["reg"]);
    assert_eq!(c[0].purpose, Purpose::Register);
    assert!(
        a.broadcasts(None, 151).is_empty(),
        "included at 152, nodes module at 151"
    );
    assert_eq!(
        a.broadcasts(None, 152),
        [Broadcast::Register { pop_block: 153 }],
        "processed and still unknown: the registration was refused, try again"
    );
}

#[test]
fn a_registered_node_forgets_the_registration_and_reports() {
    let mut a = agent(false);
    a.observe_head(150, 0);
    a.broadcast_sent(Purpose::Register, sent("reg", 150, 1000));
    a.observe_head(151, 900);
    a.block_seen(151, ["reg"]);
    a.own_report(100, [1; 32]);
    assert_eq!(a.broadcasts(Some(&me()), 151), [report(100, 1)]);
    // Should the chain lose the record later, the node registers at once.
    assert_eq!(a.broadcasts(None, 0), [Broadcast::Register { pop_block: 151 }]);
}

#[test]
fn an_expired_registration_is_sent_again() {
    let mut a = agent(false);
    a.observe_head(150, 0);
    a.broadcast_sent(Purpose::Register, sent("reg", 150, 1000));
    watch_empty_blocks(&mut a, 160, 1001);
    assert_eq!(a.expire()[0].purpose, Purpose::Register);
    assert_eq!(a.broadcasts(None, 160), [Broadcast::Register { pop_block: 160 }]);
}

// --- the finality verdict ----------------------------------------------------------------

#[test]
fn no_verdict_without_a_final_checkpoint_this_node_has_a_hash_for() {
    let mut a = agent(true);
    assert_eq!(a.finality(&[]), None);
    a.own_report(100, [1; 32]);
    assert_eq!(a.finality(&[(200, [2; 32])]), None);
}

#[test]
fn agreeing_with_the_final_hash_is_being_in_consensus() {
    let mut a = agent(true);
    a.own_report(100, [1; 32]);
    let (v, action) = a.finality(&[(100, [1; 32])]).expect("verdict");
    assert!(v.in_consensus());
    assert_eq!(action, FinalityAction::Agree);
    assert_eq!((v.checkpoint, v.latest_final, v.recovering_to), (100, 100, None));
}

#[test]
fn the_newest_final_checkpoint_with_an_own_hash_decides() {
    let mut a = agent(true);
    a.own_report(100, [1; 32]);
    a.own_report(200, [9; 32]);
    let finals = [(300, [3; 32]), (200, [2; 32]), (100, [1; 32])];
    let (v, action) = a.finality(&finals).expect("verdict");
    assert_eq!(
        v,
        Verdict {
            checkpoint: 200,
            own_hash: [9; 32],
            final_hash: [2; 32],
            latest_final: 300,
            recovering_to: None,
        }
    );
    assert!(!v.in_consensus());
    assert_eq!(
        action,
        FinalityAction::Diverged {
            recover: Some(RecoveryTarget {
                block: 300,
                final_hash: [3; 32],
            })
        },
        "the recovery restores the newest final checkpoint"
    );
}

// --- the recovery target -----------------------------------------------------------------

#[test]
fn a_recovery_is_not_chosen_again_while_it_is_pending() {
    let mut a = agent(true);
    a.own_report(100, [9; 32]);
    let finals = [(100, [1; 32])];
    let Some((_, FinalityAction::Diverged { recover: Some(target) })) = a.finality(&finals) else {
        panic!("diverged");
    };
    a.recovery_started(target);
    let (v, action) = a.finality(&finals).expect("verdict");
    assert_eq!(action, FinalityAction::Known);
    assert_eq!(v.recovering_to, Some(100));
    assert_eq!(a.recovering_to(), Some(100));
}

#[test]
fn a_recovery_without_a_snapshot_yet_is_tried_again() {
    let mut a = agent(true);
    a.own_report(100, [9; 32]);
    let finals = [(100, [1; 32])];
    assert!(matches!(
        a.finality(&finals),
        Some((_, FinalityAction::Diverged { recover: Some(_) }))
    ));
    // No verified snapshot found: recovery_started is not called.
    assert!(matches!(
        a.finality(&finals),
        Some((_, FinalityAction::Diverged { recover: Some(_) }))
    ));
}

#[test]
fn a_newer_final_checkpoint_while_still_diverged_is_a_new_target() {
    let mut a = agent(true);
    a.own_report(100, [9; 32]);
    a.recovery_started(RecoveryTarget {
        block: 100,
        final_hash: [1; 32],
    });
    let (_, action) = a.finality(&[(200, [2; 32]), (100, [1; 32])]).expect("verdict");
    assert_eq!(
        action,
        FinalityAction::Diverged {
            recover: Some(RecoveryTarget {
                block: 200,
                final_hash: [2; 32],
            })
        }
    );
}

#[test]
fn without_a_way_to_restore_a_divergence_is_reported_once_per_final_checkpoint() {
    let mut a = agent(false);
    a.own_report(100, [9; 32]);
    let finals = [(100, [1; 32])];
    let (_, action) = a.finality(&finals).expect("verdict");
    assert_eq!(action, FinalityAction::Diverged { recover: None });
    let (v, action) = a.finality(&finals).expect("verdict");
    assert_eq!(action, FinalityAction::Known);
    assert_eq!(v.recovering_to, Some(100));
}

#[test]
fn after_the_restore_the_node_agrees_and_reports_what_it_remakes() {
    let mut a = agent(true);
    a.own_report(100, [9; 32]);
    a.own_report(200, [8; 32]);
    a.observe_head(210, 0);
    a.broadcast_sent(Purpose::Report(100), sent("t100", 110, 1000));
    a.broadcast_sent(Purpose::Report(200), sent("t200", 210, 1000));
    let target = RecoveryTarget {
        block: 100,
        final_hash: [1; 32],
    };
    a.recovery_started(target);

    a.restored(100, 5);
    // The restored checkpoint's hash is the final one; later reports came from the state
    // thrown away and are forgotten, so the re-made one for 200 will be sent.
    let (v, action) = a.finality(&[(100, [1; 32])]).expect("verdict");
    assert_eq!(action, FinalityAction::Agree);
    assert_eq!(v.own_hash, [1; 32]);
    assert_eq!(a.recovering_to(), None, "in consensus again");
    a.own_report(200, [2; 32]);
    assert_eq!(a.broadcasts(Some(&me()), 0), [report(200, 2)]);
}
