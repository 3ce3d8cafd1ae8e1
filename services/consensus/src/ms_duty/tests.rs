//! One test per decision of [`MsDuty`], driven the way the shell drives it, and one with the
//! multisig module itself taking what the duty signs.

use super::*;
use opentoken_multisig::keys::{threshold_of, OpenTx, Signer};
use opentoken_multisig::views::SignatureView;
use serde_json::json;

const ME: &str = "alice";
const CFG: MsDutyConfig = MsDutyConfig {
    expiry_margin_secs: 30,
    resubmit_after_secs: 90,
    retry_base_secs: 6,
    retry_max_secs: 120,
};
/// Head time at the first tick.
const T0: u64 = 1_700_000_000;
/// When the test transactions expire, unless a test says otherwise.
const EXP: u64 = T0 + 3_000;

/// Runner `i`'s multi-sig key; alice holds `key(0)`.
fn key(i: u8) -> PrivateKey {
    PrivateKey::from_secret([i + 1; 32]).unwrap()
}

fn duty() -> MsDuty {
    MsDuty::new(ME.into(), key(0), CFG)
}

fn signers_of(list: &[(&str, u8)]) -> Signers {
    Signers {
        signers: list
            .iter()
            .map(|(account, k)| Signer {
                account: account.to_string(),
                key: key(*k).public().to_string(),
            })
            .collect(),
        threshold: threshold_of(list.len()),
    }
}

/// alice (with her key), bob and carol: all three must sign.
fn signers() -> Signers {
    signers_of(&[("alice", 0), ("bob", 1), ("carol", 2)])
}

fn digest(n: u64) -> String {
    format!("{n:064x}")
}

/// The transaction open at `checkpoint`, with digest `digest(d)`, unsigned.
fn open_tx(checkpoint: u64, d: u64, expiration: u64) -> OpenTxView {
    OpenTxView {
        account: "dlux-cc".into(),
        tx: OpenTx {
            checkpoint,
            ref_block_num: 0,
            ref_block_prefix: 0,
            expiration,
            seqs: vec![0],
            digest: digest(d),
            rotate: None,
            txid: format!("{checkpoint:040x}"),
        },
        outflows: vec![],
        paid: vec![],
        signatures: vec![],
        threshold: 3,
        ready: false,
    }
}

fn view_of(open: OpenTxView) -> MsView {
    MsView {
        signers: Some(signers()),
        open: Some(open),
        assembled: None,
    }
}

/// The view of checkpoint `checkpoint`'s transaction (digest `digest(checkpoint)`).
fn view(checkpoint: u64) -> MsView {
    view_of(open_tx(checkpoint, checkpoint, EXP))
}

/// `v` with `account`'s signature accepted.
fn accepted(mut v: MsView, account: &str) -> MsView {
    if let Some(o) = v.open.as_mut() {
        o.signatures.push(SignatureView {
            account: account.into(),
            key: String::new(),
            sig: "00".repeat(65),
        });
    }
    v
}

/// `v` signed by everyone, ready, with its assembled form.
fn ready(v: MsView) -> MsView {
    let mut v = accepted(accepted(accepted(v, "alice"), "bob"), "carol");
    let o = v.open.as_mut().unwrap();
    o.ready = true;
    v.assembled = Some(json!({"assembled": o.tx.txid}));
    v
}

fn submits(actions: &[MsAction]) -> Vec<u64> {
    actions
        .iter()
        .filter_map(|a| match a {
            MsAction::SubmitSignature { checkpoint, .. } => Some(*checkpoint),
            _ => None,
        })
        .collect()
}

fn broadcasts(actions: &[MsAction]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            MsAction::BroadcastAssembled { txid, .. } => Some(txid.clone()),
            _ => None,
        })
        .collect()
}

fn txid(checkpoint: u64) -> String {
    format!("{checkpoint:040x}")
}

// --- signing -----------------------------------------------------------------------------

#[test]
fn signs_the_open_transaction_once_with_a_signature_that_recovers_to_its_key() {
    let mut d = duty();
    let actions = d.tick(&view(10), T0);
    let [MsAction::SubmitSignature {
        checkpoint,
        sig_hex,
        json,
    }] = actions.as_slice()
    else {
        panic!("one signature: {actions:?}");
    };
    assert_eq!(*checkpoint, 10);
    let digest: [u8; 32] = hex::decode(digest(10)).unwrap().try_into().unwrap();
    let sig = Signature::from_hex(sig_hex).unwrap();
    assert!(sig.is_low_s());
    assert_eq!(sig.recover(&digest).unwrap(), key(0).public());
    assert_eq!(sig_hex.len(), 130);
    assert_eq!(*json, format!(r#"{{"checkpoint":10,"sig":"{sig_hex}"}}"#));

    assert!(d.tick(&view(10), T0 + 3).is_empty(), "on its way: not again");
    d.signature_sent(10, "t1".into());
    assert_eq!(d.signed().next().and_then(|s| s.txid.as_deref()), Some("t1"));
    assert!(d.tick(&accepted(view(10), ME), T0 + 500).is_empty(), "accepted");
    assert_eq!(
        submits(&d.tick(&view(20), T0 + 600)),
        [20],
        "the next transaction is signed too"
    );
}

#[test]
fn nothing_is_signed_without_signers_or_an_open_transaction() {
    let mut d = duty();
    assert!(d.tick(&MsView::default(), T0).is_empty());
    let no_tx = MsView {
        signers: Some(signers()),
        ..MsView::default()
    };
    assert!(d.tick(&no_tx, T0).is_empty());
}

#[test]
fn a_node_that_is_not_a_signer_says_so_once_and_signs_nothing() {
    let mut d = duty();
    let mut v = view(10);
    v.signers = Some(signers_of(&[("bob", 1), ("carol", 2)]));
    assert_eq!(
        d.tick(&v, T0),
        [MsAction::NotSigning(NotSigning::NotASigner { account: ME.into() })]
    );
    assert!(d.tick(&v, T0 + 100).is_empty(), "said once");
    assert!(d.tick(&v, T0 + 1000).is_empty());
}

#[test]
fn a_key_other_than_the_listed_one_signs_nothing_until_they_agree() {
    let mut d = duty();
    let mut v = view(10);
    v.signers = Some(signers_of(&[("alice", 5), ("bob", 1), ("carol", 2)]));
    let mismatch = MsAction::NotSigning(NotSigning::KeyMismatch {
        account: ME.into(),
        listed: key(5).public().to_string(),
        ours: key(0).public().to_string(),
    });
    assert_eq!(d.tick(&v, T0), std::slice::from_ref(&mismatch));
    assert!(d.tick(&v, T0 + 1).is_empty(), "said once");
    assert_eq!(submits(&d.tick(&view(10), T0 + 2)), [10], "the list now has our key");
    let mut v = view(20);
    v.signers = Some(signers_of(&[("alice", 5), ("bob", 1), ("carol", 2)]));
    assert_eq!(d.tick(&v, T0 + 600), [mismatch], "a new mismatch is said again");
}

#[test]
fn an_expiring_transaction_is_not_signed() {
    let mut d = duty();
    let v = view_of(open_tx(10, 10, T0 + 30));
    assert!(d.tick(&v, T0).is_empty(), "expiration == head + margin");
    assert!(d.tick(&v, T0 + 31).is_empty(), "past it");
    assert_eq!(d.signed().count(), 0);
    let v = view_of(open_tx(10, 10, T0 + 31));
    assert_eq!(submits(&d.tick(&v, T0)), [10], "one second more is enough");
}

#[test]
fn a_transaction_partly_paid_elsewhere_is_not_signed() {
    let mut d = duty();
    let mut v = view(10);
    v.open.as_mut().unwrap().paid = vec![0];
    assert!(d.tick(&v, T0).is_empty());
}

#[test]
fn an_unreadable_digest_is_reported_once_and_not_signed() {
    let mut d = duty();
    let mut v = view(10);
    v.open.as_mut().unwrap().tx.digest = "AB".repeat(32);
    let actions = d.tick(&v, T0);
    assert!(
        matches!(
            actions.as_slice(),
            [MsAction::NotSigning(NotSigning::CannotSign { checkpoint: 10, .. })]
        ),
        "{actions:?}"
    );
    assert!(d.tick(&v, T0 + 100).is_empty());
}

// --- resubmission ------------------------------------------------------------------------

#[test]
fn a_signature_not_accepted_in_time_is_sent_again_but_not_before() {
    let mut d = duty();
    let first = d.tick(&view(10), T0);
    assert_eq!(submits(&first), [10]);
    assert!(d.tick(&view(10), T0 + 89).is_empty(), "not before the timeout");
    let again = d.tick(&view(10), T0 + 90);
    assert_eq!(again, first, "the same signature, sent again");
    assert!(d.tick(&view(10), T0 + 179).is_empty(), "at most every 90 s");
    assert_eq!(submits(&d.tick(&view(10), T0 + 180)), [10]);
    assert!(d.tick(&accepted(view(10), ME), T0 + 1000).is_empty(), "accepted: done");
}

#[test]
fn a_signature_is_not_sent_again_once_its_transaction_expires() {
    let mut d = duty();
    let v = view_of(open_tx(10, 10, T0 + 100));
    assert_eq!(submits(&d.tick(&v, T0)), [10]);
    assert!(d.tick(&v, T0 + 90).is_empty(), "T0+90 + 30 >= T0+100");
}

// --- the assembled transaction -----------------------------------------------------------

#[test]
fn a_ready_transaction_is_broadcast_and_not_again_once_accepted() {
    let mut d = duty();
    assert!(broadcasts(&d.tick(&accepted(view(10), ME), T0)).is_empty(), "not ready");
    let actions = d.tick(&ready(view(10)), T0 + 1);
    assert_eq!(
        actions,
        [MsAction::BroadcastAssembled {
            txid: txid(10),
            tx_json: json!({"assembled": txid(10)}),
        }]
    );
    d.assembled_outcome(&txid(10), AssembledOutcome::Accepted);
    assert_eq!(d.assembled(), Some((txid(10).as_str(), AssembledState::Done)));
    for t in [T0 + 2, T0 + 100, T0 + 1000] {
        assert!(d.tick(&ready(view(10)), t).is_empty(), "until it settles");
    }
    // Settled: the next transaction is a new one.
    assert_eq!(broadcasts(&d.tick(&ready(view(20)), T0 + 1200)), [txid(20)]);
}

#[test]
fn a_duplicate_answer_is_a_success() {
    let mut d = duty();
    assert_eq!(broadcasts(&d.tick(&ready(view(10)), T0)), [txid(10)]);
    d.assembled_outcome(&txid(10), AssembledOutcome::Duplicate);
    assert!(d.tick(&ready(view(10)), T0 + 500).is_empty());
}

#[test]
fn a_node_that_does_not_sign_still_broadcasts() {
    let mut d = duty();
    let mut v = ready(view(10));
    v.signers = Some(signers_of(&[("bob", 1), ("carol", 2), ("dave", 3)]));
    let actions = d.tick(&v, T0);
    assert!(matches!(actions[0], MsAction::NotSigning(_)));
    assert_eq!(broadcasts(&actions), [txid(10)]);
}

#[test]
fn a_failed_broadcast_is_retried_with_a_growing_wait() {
    let mut d = duty();
    let fail = || AssembledOutcome::Failed("node down".into());
    let mut t = T0;
    assert_eq!(broadcasts(&d.tick(&ready(view(10)), t)).len(), 1);
    for wait in [6, 12, 24, 48, 96, 120, 120] {
        d.assembled_outcome(&txid(10), fail());
        assert!(d.tick(&ready(view(10)), t + wait - 1).is_empty(), "not before {wait} s");
        t += wait;
        assert_eq!(broadcasts(&d.tick(&ready(view(10)), t)).len(), 1, "after {wait} s");
    }
    // An answer that never came back: tried again after the base wait.
    assert!(d.tick(&ready(view(10)), t + 5).is_empty());
    assert_eq!(broadcasts(&d.tick(&ready(view(10)), t + 6)).len(), 1);
}

#[test]
fn an_expired_transaction_is_not_broadcast() {
    let mut d = duty();
    assert_eq!(broadcasts(&d.tick(&ready(view(10)), T0)).len(), 1);
    d.assembled_outcome(&txid(10), AssembledOutcome::Expired);
    assert_eq!(d.assembled(), Some((txid(10).as_str(), AssembledState::Dead)));
    assert!(d.tick(&ready(view(10)), T0 + 100).is_empty(), "Hive said so");

    let mut e = duty();
    let v = ready(view_of(open_tx(10, 10, T0 + 30)));
    assert!(e.tick(&v, T0).is_empty(), "our clock says so");
}

#[test]
fn outcomes_for_another_transaction_are_ignored() {
    let mut d = duty();
    d.tick(&ready(view(10)), T0);
    d.assembled_outcome(&txid(99), AssembledOutcome::Accepted);
    assert!(matches!(d.assembled(), Some((_, AssembledState::Trying { .. }))));
}

#[test]
fn broadcast_answers_are_classified_as_hived_words_them() {
    let dup = "https://api.hive.blog rejected condenser_api.broadcast_transaction: JSON-RPC error -32000: \
               Duplicate transaction check failed: 58c13f3b";
    assert_eq!(AssembledOutcome::of_error(dup), AssembledOutcome::Duplicate);
    let expired =
        r#"Assert Exception:now < trx.expiration: {"now":"2025-07-08T23:30:00","trx.exp":"2025-07-08T23:29:25"}"#;
    assert_eq!(AssembledOutcome::of_error(expired), AssembledOutcome::Expired);
    let too_far = "Assert Exception:trx.expiration <= now + fc::seconds(HIVE_MAX_TIME_UNTIL_EXPIRATION)";
    assert!(
        matches!(AssembledOutcome::of_error(too_far), AssembledOutcome::Failed(_)),
        "a lagging API node: retried"
    );
    assert!(matches!(
        AssembledOutcome::of_error("timed out"),
        AssembledOutcome::Failed(m) if m == "timed out"
    ));
}

// --- one digest per checkpoint -----------------------------------------------------------

#[test]
fn a_changed_digest_for_a_signed_checkpoint_raises_an_alarm_and_nothing_else() {
    let mut d = duty();
    assert_eq!(submits(&d.tick(&view(10), T0)), [10]);
    let forked = ready(view_of(open_tx(10, 777, EXP)));
    assert_eq!(
        d.tick(&forked, T0 + 200),
        [MsAction::Alarm(ForkAlarm {
            checkpoint: 10,
            signed_digest: digest(10),
            view_digest: digest(777),
        })],
        "no signature, no broadcast"
    );
    assert!(d.tick(&forked, T0 + 300).is_empty(), "said once");
    let again = view_of(open_tx(10, 778, EXP));
    assert!(matches!(d.tick(&again, T0 + 400).as_slice(), [MsAction::Alarm(_)]));
    assert_eq!(
        submits(&d.tick(&view(10), T0 + 500)),
        [10],
        "back to what it signed: that one is sent again"
    );
}

#[test]
fn a_signature_of_ours_on_chain_counts_as_signed() {
    let mut d = duty();
    assert!(d.tick(&accepted(view(10), ME), T0).is_empty());
    let forked = view_of(open_tx(10, 777, EXP));
    assert!(matches!(d.tick(&forked, T0 + 10).as_slice(), [MsAction::Alarm(_)]));
}

#[test]
fn a_signature_remembered_from_before_a_restart_counts_as_signed() {
    let mut d = duty();
    d.remember_signed(10, digest(10), EXP);
    let forked = view_of(open_tx(10, 777, EXP));
    assert!(matches!(d.tick(&forked, T0).as_slice(), [MsAction::Alarm(_)]));
    let mut e = duty();
    e.remember_signed(10, digest(10), EXP);
    assert_eq!(submits(&e.tick(&view(10), T0)), [10], "the same digest is sent");
}

#[test]
fn a_checkpoint_shown_again_after_a_restore_keeps_its_digest() {
    let mut d = duty();
    assert_eq!(submits(&d.tick(&view(10), T0)), [10]);
    assert_eq!(submits(&d.tick(&view(20), T0 + 300)), [20]);
    // The node restored an older state in which checkpoint 10 is open with another digest.
    let restored = view_of(open_tx(10, 777, EXP));
    assert!(matches!(d.tick(&restored, T0 + 400).as_slice(), [MsAction::Alarm(_)]));
}

// --- memory ------------------------------------------------------------------------------

#[test]
fn memory_stays_bounded_across_many_checkpoints() {
    let mut d = duty();
    // A checkpoint every 300 s, each transaction valid 3000 s, each signed, accepted and
    // broadcast.
    for n in 1..=1_000u64 {
        let (cp, t) = (n * 100, T0 + n * 300);
        let v = view_of(open_tx(cp, cp, t + 3_000));
        assert_eq!(submits(&d.tick(&v, t)), [cp]);
        d.signature_sent(cp, format!("s{cp}"));
        let actions = d.tick(&ready(v), t + 10);
        assert_eq!(broadcasts(&actions), [txid(cp)]);
        d.assembled_outcome(&txid(cp), AssembledOutcome::Accepted);
        assert!(d.remembered() <= 11, "{} at checkpoint {cp}", d.remembered());
    }
    // Transactions that never expire in a view that keeps moving: capped.
    let mut e = duty();
    for cp in 1..=500u64 {
        e.tick(&view_of(open_tx(cp, cp, u64::MAX)), T0);
    }
    assert_eq!(e.remembered(), MAX_REMEMBERED);
    assert!(e.signed().any(|s| s.checkpoint == 500), "the open one stays");
}

#[test]
fn expired_signatures_are_forgotten() {
    let mut d = duty();
    d.tick(&view_of(open_tx(10, 10, T0 + 100)), T0);
    assert_eq!(d.signed().count(), 1);
    d.tick(&MsView::default(), T0 + 100);
    assert_eq!(d.signed().count(), 0, "Hive can no longer include it");
}

// --- against the multisig module ---------------------------------------------------------

mod with_the_module {
    use super::*;
    use opentoken_core::test_utils::{block_id, block_time, test_spec, ModuleHarness};
    use opentoken_hive_tx::{Packing, Transaction};
    use opentoken_multisig::keys::Coin;
    use opentoken_multisig::{MultisigEvent, MultisigModule, NAME};

    const RUNNERS: [&str; 3] = ["alice", "bob", "carol"];

    /// The module with alice, bob and carol as signers, an outflow queued, and checkpoint
    /// 10's transaction open.
    fn harness() -> ModuleHarness<MultisigModule> {
        let spec = test_spec().with_module(NAME, json!({}));
        let module = MultisigModule::from_spec(&spec).unwrap();
        let mut h = ModuleHarness::new(module, spec);
        let list: Vec<_> = (0..3u8)
            .map(|i| json!({"account": RUNNERS[usize::from(i)], "key": key(i).public().to_string()}))
            .collect();
        h.message("nodes", "signers", &json!({ "signers": list }).to_string())
            .unwrap();
        h.apply(&[
            MultisigEvent::Deposited {
                account: "dave".into(),
                asset: Coin::Hive,
                amount: 5_000,
            },
            MultisigEvent::WithdrawalQueued {
                seq: 0,
                account: "dave".into(),
                to: "erin".into(),
                asset: Coin::Hive,
                amount: 1_000,
                memo: "ot:0".into(),
                block: 3,
            },
        ]);
        let built = h.block_end_with_header(10, &block_id(10), block_time(10));
        assert!(matches!(
            built.as_slice(),
            [MultisigEvent::TxBuilt { checkpoint: 10, .. }]
        ));
        h
    }

    #[test]
    fn the_module_accepts_what_the_duty_signs_and_every_node_broadcasts_the_same_bytes() {
        let mut h = harness();
        let mut duties: Vec<MsDuty> = (0..3u8)
            .map(|i| MsDuty::new(RUNNERS[usize::from(i)].into(), key(i), MsDutyConfig::default()))
            .collect();
        let now = block_time(11);
        for (i, d) in duties.iter_mut().enumerate() {
            let v = MsView::read(&h.state, "dlux-cc").unwrap();
            assert!(!v.open.as_ref().unwrap().ready && v.assembled.is_none());
            let actions = d.tick(&v, now);
            let [MsAction::SubmitSignature { json, .. }] = actions.as_slice() else {
                panic!("{}: {actions:?}", RUNNERS[i]);
            };
            let payload: serde_json::Value = serde_json::from_str(json).unwrap();
            let events = h
                .handle(11, RUNNERS[i], "ms_sign", payload.clone())
                .unwrap_or_else(|r| panic!("{} refused: {r}", RUNNERS[i]));
            assert!(matches!(events.as_slice(), [MultisigEvent::SignatureAccepted { .. }]));
            h.apply(&events);
            // Sent again by hand, the module refuses it: the duty would not.
            assert!(h.handle(12, RUNNERS[i], "ms_sign", payload).is_err());
        }
        let v = MsView::read(&h.state, "dlux-cc").unwrap();
        let open = v.open.clone().unwrap();
        assert!(open.ready);
        let mut sent = Vec::new();
        for d in &mut duties {
            let actions = d.tick(&v, now + 3);
            let [MsAction::BroadcastAssembled { txid, tx_json }] = actions.as_slice() else {
                panic!("{actions:?}");
            };
            assert_eq!(*txid, open.tx.txid);
            sent.push(tx_json.clone());
        }
        assert!(sent.windows(2).all(|w| w[0] == w[1]), "the same bytes from every node");
        let tx = Transaction::from_json(&sent[0]).unwrap();
        assert_eq!(tx.id(Packing::Legacy), open.tx.txid);
        let digest: [u8; 32] = hex::decode(&open.tx.digest).unwrap().try_into().unwrap();
        let recovered: Vec<PublicKey> = sent[0]["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                Signature::from_hex(s.as_str().unwrap())
                    .unwrap()
                    .recover(&digest)
                    .unwrap()
            })
            .collect();
        assert_eq!(recovered, [key(0).public(), key(1).public(), key(2).public()]);
    }

    #[test]
    fn a_key_the_module_does_not_list_signs_nothing_it_would_refuse() {
        let h = harness();
        let mut d = MsDuty::new("alice".into(), key(7), MsDutyConfig::default());
        let actions = d.tick(&MsView::read(&h.state, "dlux-cc").unwrap(), block_time(11));
        assert!(
            matches!(
                actions.as_slice(),
                [MsAction::NotSigning(NotSigning::KeyMismatch { .. })]
            ),
            "{actions:?}"
        );
        // What it would have sent, made by hand, is what the module refuses.
        let v = MsView::read(&h.state, "dlux-cc").unwrap();
        let digest: [u8; 32] = hex::decode(&v.open.unwrap().tx.digest).unwrap().try_into().unwrap();
        let sig = hex::encode(key(7).sign(&digest).as_bytes());
        let refused = h
            .handle(11, "alice", "ms_sign", json!({"checkpoint": 10, "sig": sig}))
            .unwrap_err();
        assert!(refused.to_string().contains("not by @alice's key"), "{refused}");
    }
}
