//! The node's duty for the community multi-sig account, apart from its I/O: sign the open
//! transaction once with the node's multi-sig key, send the signature again when it does
//! not reach the chain, and broadcast the assembled transaction once enough runners signed.
//!
//! [`MsDuty`] reads no clock, store or network, as [`crate::decide::AgentState`]: each tick
//! the shell hands it the multisig module's committed view ([`MsView`]) and the Hive head
//! time, carries out the [`MsAction`]s it returns, and reports back what became of them
//! ([`MsDuty::signature_sent`], [`MsDuty::assembled_outcome`]). Time is Hive head time
//! throughout, so expiry, resubmission and backoff are measured on the clock that decides
//! whether Hive still includes a transaction.
//!
//! What it refuses to do, and why:
//! - sign with a key that is not the node's entry in the signer list: the module would
//!   refuse the signature, and a key the chain does not know signs nothing that counts;
//! - sign or broadcast a transaction that expires within a margin of the head: it could no
//!   longer be assembled and included in time;
//! - sign a transaction one of whose outflows was already paid elsewhere: signatures are
//!   public on chain, so anyone holding enough of them could still broadcast it and pay that
//!   outflow twice;
//! - sign two different digests for one checkpoint. Every node builds the transaction of a
//!   checkpoint from that block's id and time and the queue as of that block, all of them
//!   irreversible and replicated: for one history there is one digest per checkpoint (an
//!   expired transaction is rebuilt at a *later* checkpoint). A second digest for the same
//!   checkpoint means this node's own state changed under it (restored or replayed after a
//!   divergence, a store fault, or an ingester following the head through a Hive fork), and
//!   two signed transactions for the same outflows could both be included. So it raises
//!   [`MsAction::Alarm`] and does nothing more for that checkpoint.

use opentoken_core::KvSource;
use opentoken_hive_tx::{PrivateKey, PublicKey, Signature};
use opentoken_multisig::views::{self, OpenTxView, ViewError};
use opentoken_multisig::Signers;
use std::collections::BTreeMap;
use std::fmt;

/// At most this many signed transactions are remembered. Only unexpired ones are kept, and
/// the module opens one transaction at a time, each open for at most Hive's hour; the cap
/// only guards against a view that jumps between checkpoints without end.
pub const MAX_REMEMBERED: usize = 64;

/// The duty's timing, in seconds of Hive head time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsDutyConfig {
    /// A transaction expiring at or before head time plus this is neither signed nor
    /// broadcast: a signature must still reach the chain and be processed, and the
    /// assembled transaction must still be included, before Hive refuses it.
    pub expiry_margin_secs: u64,
    /// A signature the view does not show accepted this long after it was sent is sent
    /// again (its custom_json may have been dropped, or expired before inclusion). Longer
    /// than the broadcast's own expiration plus the node's processing lag, so a signature on
    /// its way is not sent twice.
    pub resubmit_after_secs: u64,
    /// The wait after the first failed broadcast of the assembled transaction; doubled per
    /// further failure up to `retry_max_secs`.
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
}

impl Default for MsDutyConfig {
    fn default() -> Self {
        Self {
            expiry_margin_secs: 30,
            resubmit_after_secs: 90,
            retry_base_secs: 6,
            retry_max_secs: 120,
        }
    }
}

/// What one tick reads of the multisig module's committed state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MsView {
    /// The signers and threshold, once the nodes module named them.
    pub signers: Option<Signers>,
    /// The open transaction and its accepted signatures.
    pub open: Option<OpenTxView>,
    /// [`views::assemble`] of `open` when it is ready: the bytes every node broadcasts.
    pub assembled: Option<serde_json::Value>,
}

impl MsView {
    /// Reads the view from the module's keys (a handful of reads: `signers`, the one `tx/`
    /// key, its outflows and signatures), from a store or from pairs served by an API.
    pub fn read(src: &dyn KvSource, msaccount: &str) -> Result<Self, ViewError> {
        let signers = views::signers(src)?;
        let open = views::open_transaction(src, msaccount)?;
        let assembled = open.as_ref().filter(|v| v.ready).and_then(views::assemble);
        Ok(Self {
            signers,
            open,
            assembled,
        })
    }
}

/// What the shell should do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsAction {
    /// Broadcast `json` as `<prefix>ms_sign` with the node's active key: the node's
    /// signature of the transaction of `checkpoint`, already checked to recover to the
    /// node's multi-sig key and to be low-S.
    SubmitSignature {
        checkpoint: u64,
        sig_hex: String,
        json: String,
    },
    /// Broadcast `tx_json` with `condenser_api.broadcast_transaction` as it is (every node
    /// sends the same bytes), then report the answer with [`MsDuty::assembled_outcome`].
    BroadcastAssembled { txid: String, tx_json: serde_json::Value },
    /// The node signs nothing, and why; said once per reason (log it as a warning).
    NotSigning(NotSigning),
    /// The view shows a different transaction for a checkpoint this node already signed
    /// (see the module docs); said once per checkpoint and digest. Log it as an error: the
    /// node's state needs looking at.
    Alarm(ForkAlarm),
}

/// Why the node does not sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotSigning {
    /// The signer list does not name the node's account.
    NotASigner { account: String },
    /// The list names the account with another key than the node's multi-sig key.
    KeyMismatch {
        account: String,
        listed: String,
        ours: String,
    },
    /// The open transaction cannot be signed (its digest is unreadable, or the signature
    /// made fails its own check).
    CannotSign { checkpoint: u64, why: String },
}

impl fmt::Display for NotSigning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotSigning::NotASigner { account } => write!(
                f,
                "@{account} is not one of the multi-sig signers: this node signs no multi-sig transaction"
            ),
            NotSigning::KeyMismatch { account, listed, ours } => write!(
                f,
                "the signer list names @{account} with key {listed}, but this node's multi-sig key is {ours}: \
                 this node signs nothing until they agree (check --ms-key-file, or register the key)"
            ),
            NotSigning::CannotSign { checkpoint, why } => {
                write!(
                    f,
                    "not signing the multi-sig transaction of checkpoint {checkpoint}: {why}"
                )
            }
        }
    }
}

/// A checkpoint whose transaction changed after this node signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkAlarm {
    pub checkpoint: u64,
    /// What this node signed.
    pub signed_digest: String,
    /// What the view holds now.
    pub view_digest: String,
}

impl fmt::Display for ForkAlarm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the multi-sig transaction of checkpoint {} has digest {}, but this node signed {}: its own state \
             changed under it; it signs and broadcasts nothing more for that checkpoint",
            self.checkpoint, self.view_digest, self.signed_digest
        )
    }
}

/// What `condenser_api.broadcast_transaction` answered for the assembled transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssembledOutcome {
    Accepted,
    /// Hive already has it (pending or in a block), from this node or another: a success.
    Duplicate,
    /// Hive will no longer include it.
    Expired,
    /// Anything else (node down, not enough resource credits, ...): retried with backoff.
    Failed(String),
}

impl AssembledOutcome {
    /// Classifies a broadcast's error text. hived says `Duplicate transaction check failed`
    /// for a known transaction and `now < trx.expiration` for an expired one; the same
    /// exception for an expiration too far ahead (an API node lagging behind) stays a
    /// failure, retried, since the transaction may still be good.
    pub fn of_error(message: &str) -> Self {
        let lower = message.to_ascii_lowercase();
        if lower.contains("duplicate transaction") {
            AssembledOutcome::Duplicate
        } else if lower.contains("now < trx.expiration") {
            AssembledOutcome::Expired
        } else {
            AssembledOutcome::Failed(message.to_string())
        }
    }
}

/// A transaction this node signed (or whose signature by it the chain holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    pub checkpoint: u64,
    pub digest: String,
    /// Unix seconds after which Hive cannot include the transaction; then it is forgotten.
    pub expiration: u64,
    /// Head time the signature was last handed out for broadcast; `None` when this process
    /// never sent it (seen on chain, or remembered from before a restart).
    pub last_sent: Option<u64>,
    /// The `ms_sign` broadcast's transaction id, once the shell reported it.
    pub txid: Option<String>,
}

/// Where the broadcast of the open transaction's assembled form is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssembledState {
    /// Broadcast again at `next_try` (head time), after `failures` failures.
    Trying { failures: u32, next_try: u64 },
    /// Hive accepted it or already had it: not sent again while it stays open.
    Done,
    /// Hive said it expired.
    Dead,
}

#[derive(Debug, Clone)]
struct Assembled {
    txid: String,
    state: AssembledState,
}

/// The multi-sig duty's memory and decisions (see the module docs).
#[derive(Debug, Clone)]
pub struct MsDuty {
    account: String,
    /// Shows as its public key only ([`PrivateKey`]'s Debug).
    key: PrivateKey,
    public: PublicKey,
    cfg: MsDutyConfig,
    head_time: u64,
    signed: BTreeMap<u64, SignedTx>,
    /// Per checkpoint, the view's digest an alarm was raised for.
    alarmed: BTreeMap<u64, String>,
    /// The eligibility problem last reported.
    reported: Option<NotSigning>,
    /// The checkpoint a [`NotSigning::CannotSign`] was last reported for.
    cannot_reported: Option<u64>,
    assembled: Option<Assembled>,
    /// Fault injection (`fault-injection` builds, `OPENTOKEN_FAULT_MS_SIGN_WRONG_DIGEST`):
    /// signs other bytes than the module's digest, as a runner with a diverged state
    /// would, so that tests see the module refuse its signatures.
    sign_wrong_digest: bool,
}

/// The fault-injection variable that makes this node's multi-sig signatures sign other
/// bytes (the `fault-injection` build only; others refuse to start with it set).
pub const FAULT_SIGN_WRONG_DIGEST: &str = "OPENTOKEN_FAULT_MS_SIGN_WRONG_DIGEST";

impl MsDuty {
    pub fn new(account: String, key: PrivateKey, cfg: MsDutyConfig) -> Self {
        let public = key.public();
        Self {
            account,
            key,
            public,
            cfg,
            head_time: 0,
            signed: BTreeMap::new(),
            alarmed: BTreeMap::new(),
            reported: None,
            cannot_reported: None,
            assembled: None,
            sign_wrong_digest: cfg!(feature = "fault-injection") && std::env::var_os(FAULT_SIGN_WRONG_DIGEST).is_some(),
        }
    }

    /// One round: the view as committed and the Hive head time in; what to do out.
    pub fn tick(&mut self, view: &MsView, head_time: u64) -> Vec<MsAction> {
        self.head_time = head_time;
        self.forget(view.open.as_ref());
        let out = self.decide(view);
        self.cap(view.open.as_ref().map(|o| o.tx.checkpoint));
        out
    }

    fn decide(&mut self, view: &MsView) -> Vec<MsAction> {
        let mut out = Vec::new();
        let eligible = self.eligible(view.signers.as_ref(), &mut out);
        let Some(open) = &view.open else {
            return out;
        };
        let checkpoint = open.tx.checkpoint;
        if let Some(signed) = self.signed.get(&checkpoint) {
            if signed.digest != open.tx.digest {
                if self.alarmed.get(&checkpoint) != Some(&open.tx.digest) {
                    self.alarmed.insert(checkpoint, open.tx.digest.clone());
                    out.push(MsAction::Alarm(ForkAlarm {
                        checkpoint,
                        signed_digest: signed.digest.clone(),
                        view_digest: open.tx.digest.clone(),
                    }));
                }
                return out;
            }
        }
        let ours_accepted = open.signatures.iter().any(|s| s.account == self.account);
        if ours_accepted {
            // The module checked it recovers to our key over this digest: it is signed.
            self.signed.entry(checkpoint).or_insert_with(|| SignedTx {
                checkpoint,
                digest: open.tx.digest.clone(),
                expiration: open.tx.expiration,
                last_sent: None,
                txid: None,
            });
        }
        if self.expires_soon(open.tx.expiration) {
            return out;
        }
        if eligible && !ours_accepted && open.paid.is_empty() {
            self.sign(open, &mut out);
        }
        self.broadcast(open, view.assembled.as_ref(), &mut out);
        out
    }

    /// The `ms_sign` broadcast for `checkpoint` went out as transaction `txid`. A failed
    /// broadcast needs no report: it is sent again after `resubmit_after_secs`, as one that
    /// never reached a block.
    pub fn signature_sent(&mut self, checkpoint: u64, txid: String) {
        if let Some(s) = self.signed.get_mut(&checkpoint) {
            s.txid = Some(txid);
        }
    }

    /// What Hive answered to the broadcast of the assembled transaction `txid`.
    pub fn assembled_outcome(&mut self, txid: &str, outcome: AssembledOutcome) {
        let (cfg, now) = (self.cfg, self.head_time);
        let Some(a) = self.assembled.as_mut().filter(|a| a.txid == txid) else {
            return;
        };
        a.state = match (outcome, a.state) {
            (AssembledOutcome::Accepted | AssembledOutcome::Duplicate, _) => AssembledState::Done,
            (AssembledOutcome::Expired, _) => AssembledState::Dead,
            (AssembledOutcome::Failed(_), AssembledState::Trying { failures, .. }) => {
                let failures = failures.saturating_add(1);
                AssembledState::Trying {
                    failures,
                    next_try: now.saturating_add(backoff(&cfg, failures)),
                }
            }
            (AssembledOutcome::Failed(_), settled) => settled,
        };
    }

    /// A signature made before a restart (persisted by the shell, or found among the node's
    /// own `ms_sign` operations): remembered so that no other digest is signed for that
    /// checkpoint. The first digest remembered for a checkpoint stays.
    pub fn remember_signed(&mut self, checkpoint: u64, digest: String, expiration: u64) {
        self.signed.entry(checkpoint).or_insert(SignedTx {
            checkpoint,
            digest,
            expiration,
            last_sent: None,
            txid: None,
        });
    }

    /// The unexpired transactions this node signed, by checkpoint: what a shell persists to
    /// keep "one digest per checkpoint" across restarts.
    pub fn signed(&self) -> impl Iterator<Item = &SignedTx> {
        self.signed.values()
    }

    /// The broadcast state of the open transaction's assembled form, by txid.
    pub fn assembled(&self) -> Option<(&str, AssembledState)> {
        self.assembled.as_ref().map(|a| (a.txid.as_str(), a.state))
    }

    /// How many checkpoints the duty remembers anything about (bounded; see [`MAX_REMEMBERED`]).
    pub fn remembered(&self) -> usize {
        self.signed.len().max(self.alarmed.len())
    }

    fn expires_soon(&self, expiration: u64) -> bool {
        expiration <= self.head_time.saturating_add(self.cfg.expiry_margin_secs)
    }

    /// Drops what can no longer matter: signed transactions Hive can no longer include
    /// (kept until then even when older than the open one, since a restored state can show
    /// their checkpoint again), alarms about them, and the broadcast state of a transaction
    /// no longer open.
    fn forget(&mut self, open: Option<&OpenTxView>) {
        let open_cp = open.map(|o| o.tx.checkpoint);
        let now = self.head_time;
        self.signed.retain(|cp, s| Some(*cp) == open_cp || s.expiration > now);
        let signed = &self.signed;
        self.alarmed.retain(|cp, _| signed.contains_key(cp));
        if self.cannot_reported.is_some() && self.cannot_reported != open_cp {
            self.cannot_reported = None;
        }
        let open_txid = open.map(|o| o.tx.txid.as_str());
        if self.assembled.as_ref().map(|a| a.txid.as_str()) != open_txid {
            self.assembled = None;
        }
    }

    /// Keeps at most [`MAX_REMEMBERED`] signed transactions, dropping the lowest
    /// checkpoints first, never the open one.
    fn cap(&mut self, open_cp: Option<u64>) {
        while self.signed.len() > MAX_REMEMBERED {
            let Some(victim) = self.signed.keys().copied().find(|cp| Some(*cp) != open_cp) else {
                break;
            };
            self.signed.remove(&victim);
            self.alarmed.remove(&victim);
        }
    }

    /// Whether the signer list names this node with its key; a new reason not to is
    /// reported once.
    fn eligible(&mut self, signers: Option<&Signers>, out: &mut Vec<MsAction>) -> bool {
        let Some(list) = signers else {
            return false; // nothing can be open without signers
        };
        let problem = match list.signers.iter().find(|s| s.account == self.account) {
            None => Some(NotSigning::NotASigner {
                account: self.account.clone(),
            }),
            Some(s) if PublicKey::from_string(&s.key).ok() != Some(self.public) => Some(NotSigning::KeyMismatch {
                account: self.account.clone(),
                listed: s.key.clone(),
                ours: self.public.to_string(),
            }),
            Some(_) => None,
        };
        if problem != self.reported {
            if let Some(p) = &problem {
                out.push(MsAction::NotSigning(p.clone()));
            }
            self.reported = problem;
        }
        self.reported.is_none()
    }

    /// Signs the open transaction when no signature of it is on its way.
    fn sign(&mut self, open: &OpenTxView, out: &mut Vec<MsAction>) {
        let checkpoint = open.tx.checkpoint;
        let now = self.head_time;
        let waiting = self
            .signed
            .get(&checkpoint)
            .and_then(|s| s.last_sent)
            .is_some_and(|t| now < t.saturating_add(self.cfg.resubmit_after_secs));
        if waiting {
            return;
        }
        let sig = match self.make_signature(&open.tx.digest) {
            Ok(sig) => sig,
            Err(why) => {
                if self.cannot_reported != Some(checkpoint) {
                    self.cannot_reported = Some(checkpoint);
                    out.push(MsAction::NotSigning(NotSigning::CannotSign { checkpoint, why }));
                }
                return;
            }
        };
        let entry = self.signed.entry(checkpoint).or_insert_with(|| SignedTx {
            checkpoint,
            digest: open.tx.digest.clone(),
            expiration: open.tx.expiration,
            last_sent: None,
            txid: None,
        });
        entry.last_sent = Some(now);
        let sig_hex = hex::encode(sig.as_bytes());
        let json = serde_json::json!({ "checkpoint": checkpoint, "sig": sig_hex }).to_string();
        out.push(MsAction::SubmitSignature {
            checkpoint,
            sig_hex,
            json,
        });
    }

    /// The node's signature of `digest_hex`, checked as the module checks it.
    fn make_signature(&self, digest_hex: &str) -> Result<Signature, String> {
        let lower_hex = digest_hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let digest: [u8; 32] = lower_hex
            .then(|| hex::decode(digest_hex).ok())
            .flatten()
            .and_then(|d| d.try_into().ok())
            .ok_or_else(|| format!("its digest {digest_hex:?} is not 64 lower-case hex digits"))?;
        if self.sign_wrong_digest {
            let mut other = digest;
            other[0] ^= 0xff;
            tracing::warn!("{FAULT_SIGN_WRONG_DIGEST}: signing other bytes than the transaction's on purpose");
            return Ok(self.key.sign(&other));
        }
        let sig = self.key.sign(&digest);
        if !sig.is_low_s() {
            return Err("the signature made is not low-S".into());
        }
        match sig.recover(&digest) {
            Ok(k) if k == self.public => Ok(sig),
            Ok(k) => Err(format!("the signature made recovers to {k}, not to {}", self.public)),
            Err(e) => Err(format!("the signature made does not recover: {e}")),
        }
    }

    /// Broadcasts the assembled transaction while it is ready, not yet taken by Hive, and
    /// its backoff allows.
    fn broadcast(&mut self, open: &OpenTxView, assembled: Option<&serde_json::Value>, out: &mut Vec<MsAction>) {
        let (true, Some(tx_json)) = (open.ready, assembled) else {
            return;
        };
        let now = self.head_time;
        let a = self.assembled.get_or_insert_with(|| Assembled {
            txid: open.tx.txid.clone(),
            state: AssembledState::Trying {
                failures: 0,
                next_try: 0,
            },
        });
        let AssembledState::Trying { failures, next_try } = a.state else {
            return;
        };
        if now < next_try {
            return;
        }
        // Should no outcome come back, try again after the base wait.
        a.state = AssembledState::Trying {
            failures,
            next_try: now.saturating_add(self.cfg.retry_base_secs),
        };
        out.push(MsAction::BroadcastAssembled {
            txid: open.tx.txid.clone(),
            tx_json: tx_json.clone(),
        });
    }
}

/// The wait after `failures` failed broadcasts: the base wait, doubled per further failure,
/// at most the maximum.
fn backoff(cfg: &MsDutyConfig, failures: u32) -> u64 {
    let factor = 1u64.checked_shl(failures.saturating_sub(1)).unwrap_or(u64::MAX);
    cfg.retry_base_secs.saturating_mul(factor).min(cfg.retry_max_secs)
}

#[cfg(test)]
mod tests;
