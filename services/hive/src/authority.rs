//! Which authorities a transaction needs and whether its signatures satisfy them, as a
//! Hive node decides it (`hive/protocol/transaction_util.cpp` `verify_authority` and
//! `sign_state.cpp`, before HF28):
//!
//! - each operation names the accounts whose owner, active or posting authority it needs;
//! - an authority is satisfied when the weights of the signing keys in its `key_auths`,
//!   plus the weights of the accounts in its `account_auths` whose own authority is
//!   satisfied (recursively, at most [`MAX_SIG_CHECK_DEPTH`] levels deep), reach its
//!   `weight_threshold`; keys are tried in sorted order and the check stops as soon as the
//!   threshold is reached;
//! - active (or owner) satisfies posting, owner satisfies active;
//! - a transaction needing posting authority cannot also need active or owner authority;
//! - every signature must have been used: a key that was not needed to reach a threshold
//!   is refused as irrelevant ("Unnecessary signature(s) detected"). With three keys of
//!   weight 1 and threshold 2, a third signature is therefore refused. HF28 relaxed this
//!   (redundant signatures allowed); the simulator keeps the stricter pre-HF28 rule, which
//!   is what a multi-sig signer must be able to live with.

use crate::ledger::Ledger;
use opentoken_hive_tx::{Authority, Operation, PublicKey};
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// `HIVE_MAX_SIG_CHECK_DEPTH`: account authorities nest at most this deep.
pub const MAX_SIG_CHECK_DEPTH: u32 = 2;
/// `HIVE_MAX_SIG_CHECK_ACCOUNTS`: account authorities visited per top-level check.
pub const MAX_SIG_CHECK_ACCOUNTS: u32 = 125;
/// `HIVE_MAX_AUTHORITY_MEMBERSHIP`: members of one authority looked at.
const MAX_MEMBERSHIP: usize = crate::ledger::MAX_AUTHORITY_MEMBERSHIP;

/// The accounts whose authorities a transaction needs, by level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Required {
    pub owner: BTreeSet<String>,
    pub active: BTreeSet<String>,
    pub posting: BTreeSet<String>,
}

impl Required {
    /// What `ops` need, as each operation's `get_required_*_authorities` says: transfer →
    /// `from` active; custom_json → `required_auths` active, `required_posting_auths`
    /// posting; vote → voter posting; account_update → owner when it changes the owner,
    /// else active; account_update2 → owner when it changes the owner, else active when it
    /// changes active, posting, the memo key or json_metadata, else posting.
    pub fn of(ops: &[Operation]) -> Self {
        let mut r = Self::default();
        for op in ops {
            match op {
                Operation::Transfer { from, .. } => {
                    r.active.insert(from.clone());
                }
                Operation::Vote { voter, .. } => {
                    r.posting.insert(voter.clone());
                }
                Operation::CustomJson {
                    required_auths,
                    required_posting_auths,
                    ..
                } => {
                    r.active.extend(required_auths.iter().cloned());
                    r.posting.extend(required_posting_auths.iter().cloned());
                }
                Operation::AccountUpdate { account, owner, .. } => {
                    if owner.is_some() {
                        r.owner.insert(account.clone());
                    } else {
                        r.active.insert(account.clone());
                    }
                }
                Operation::AccountUpdate2 {
                    account,
                    owner,
                    active,
                    posting,
                    memo_key,
                    json_metadata,
                    ..
                } => {
                    if owner.is_some() {
                        r.owner.insert(account.clone());
                    } else if active.is_some() || posting.is_some() || memo_key.is_some() || !json_metadata.is_empty() {
                        r.active.insert(account.clone());
                    } else {
                        r.posting.insert(account.clone());
                    }
                }
            }
        }
        r
    }

    /// Every account named, once.
    pub fn accounts(&self) -> impl Iterator<Item = &String> {
        let all: BTreeSet<&String> = self.owner.iter().chain(&self.active).chain(&self.posting).collect();
        all.into_iter()
    }
}

/// Why a transaction's signatures do not do, in a Hive node's words (`what:message`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("missing required posting authority:Missing Posting Authority {0}")]
    MissingPosting(String),
    #[error("missing required active authority:Missing Active Authority {0}")]
    MissingActive(String),
    #[error("missing required owner authority:Missing Owner Authority {0}")]
    MissingOwner(String),
    #[error("irrelevant signature included:Unnecessary signature(s) detected")]
    Irrelevant,
    #[error(
        "Assert Exception:required_authorities.required_active.size() == 0: a transaction that needs posting authority cannot also need active or owner authority"
    )]
    MixedPosting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Owner,
    Active,
    Posting,
}

fn authority<'l>(ledger: &'l Ledger, name: &str, level: Level) -> Option<&'l Authority> {
    ledger.account(name).map(|a| match level {
        Level::Owner => &a.owner,
        Level::Active => &a.active,
        Level::Posting => &a.posting,
    })
}

/// `sign_state`: the signing keys, each marked once it counted towards a threshold, and
/// the accounts whose authority (at `level`) is known to be satisfied.
struct SignState<'l> {
    ledger: &'l Ledger,
    level: Level,
    provided: BTreeMap<PublicKey, bool>,
    approved_by: BTreeSet<String>,
}

impl<'l> SignState<'l> {
    fn new(ledger: &'l Ledger, level: Level, keys: &[PublicKey]) -> Self {
        Self {
            ledger,
            level,
            provided: keys.iter().map(|k| (*k, false)).collect(),
            approved_by: ["temp".to_string()].into_iter().collect(),
        }
    }

    fn signed_by(&mut self, key: &PublicKey) -> bool {
        match self.provided.get_mut(key) {
            Some(used) => {
                *used = true;
                true
            }
            None => false,
        }
    }

    /// The account's authority at this state's level.
    fn check_account(&mut self, name: &str) -> bool {
        if self.approved_by.contains(name) {
            return true;
        }
        match authority(self.ledger, name, self.level) {
            Some(a) => self.check(a, 0, &mut 1),
            None => false,
        }
    }

    fn check_top(&mut self, auth: Option<&'l Authority>) -> bool {
        auth.is_some_and(|a| self.check(a, 0, &mut 1))
    }

    fn check(&mut self, auth: &'l Authority, depth: u32, accounts: &mut u32) -> bool {
        let threshold = u64::from(auth.weight_threshold);
        let mut total = 0u64;
        let mut membership = 0usize;
        for (key, weight) in &auth.key_auths {
            if self.signed_by(key) {
                total += u64::from(*weight);
                if total >= threshold {
                    return true;
                }
            }
            membership += 1;
            if membership >= MAX_MEMBERSHIP {
                return false;
            }
        }
        for (name, weight) in &auth.account_auths {
            if self.approved_by.contains(name) {
                total += u64::from(*weight);
                if total >= threshold {
                    return true;
                }
            } else {
                if depth == MAX_SIG_CHECK_DEPTH {
                    continue;
                }
                if *accounts >= MAX_SIG_CHECK_ACCOUNTS {
                    return false;
                }
                *accounts += 1;
                let nested = authority(self.ledger, name, self.level);
                if nested.is_some_and(|n| self.check(n, depth + 1, accounts)) {
                    self.approved_by.insert(name.clone());
                    total += u64::from(*weight);
                    if total >= threshold {
                        return true;
                    }
                }
            }
            membership += 1;
            if membership >= MAX_MEMBERSHIP {
                return false;
            }
        }
        total >= threshold
    }

    fn has_unused(&self) -> bool {
        self.provided.values().any(|used| !used)
    }
}

/// Whether `keys` (recovered from a transaction's signatures, distinct) satisfy `required`
/// against the authorities in `ledger`, and use every key.
pub fn verify(ledger: &Ledger, required: &Required, keys: &[PublicKey]) -> Result<(), AuthError> {
    if !required.posting.is_empty() {
        if !required.active.is_empty() || !required.owner.is_empty() {
            return Err(AuthError::MixedPosting);
        }
        let mut s = SignState::new(ledger, Level::Posting, keys);
        for id in &required.posting {
            let ok = s.check_account(id)
                || s.check_top(authority(ledger, id, Level::Active))
                || s.check_top(authority(ledger, id, Level::Owner));
            if !ok {
                return Err(AuthError::MissingPosting(id.clone()));
            }
        }
        return if s.has_unused() {
            Err(AuthError::Irrelevant)
        } else {
            Ok(())
        };
    }
    let mut s = SignState::new(ledger, Level::Active, keys);
    for id in &required.active {
        if !(s.check_account(id) || s.check_top(authority(ledger, id, Level::Owner))) {
            return Err(AuthError::MissingActive(id.clone()));
        }
    }
    for id in &required.owner {
        if !s.check_top(authority(ledger, id, Level::Owner)) {
            return Err(AuthError::MissingOwner(id.clone()));
        }
    }
    if s.has_unused() {
        Err(AuthError::Irrelevant)
    } else {
        Ok(())
    }
}

/// Whether any of `keys` appears in an authority of an account `required` names (at any
/// level, one level of account authorities deep): a hint of which packing the signer
/// used, so a refusal can name the real reason rather than the other packing's.
pub fn any_key_relevant(ledger: &Ledger, required: &Required, keys: &[PublicKey]) -> bool {
    let mut auths: Vec<&Authority> = Vec::new();
    for name in required.accounts() {
        for level in [Level::Owner, Level::Active, Level::Posting] {
            if let Some(a) = authority(ledger, name, level) {
                auths.push(a);
                for nested in a.account_auths.keys() {
                    auths.extend(authority(ledger, nested, level));
                }
            }
        }
    }
    auths.iter().any(|a| keys.iter().any(|k| a.key_auths.contains_key(k)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devnet_keys::{devnet_key, KeyRole};
    use crate::ledger::{AccountUpdate, GenesisConfig};
    use crate::traffic::TrafficConfig;
    use opentoken_core::{Asset, AssetSymbol};

    fn key(name: &str) -> PublicKey {
        devnet_key(name, KeyRole::Active).public()
    }

    fn active(name: &str) -> PublicKey {
        key(name)
    }

    fn ledger() -> Ledger {
        let t = TrafficConfig {
            prefix: "dlux_".into(),
            accounts: ["alice", "bob", "carol", "dave"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            nodes: vec![],
            delegation_account: "dlux-io".into(),
            ops_per_block: (1, 1),
            invalid_per_mille: 0,
            msaccount: Some("dlux-cc".into()),
            dex: None,
            nft: None,
            pob: None,
        };
        Ledger::genesis(&t, &GenesisConfig::default(), &[], 0)
    }

    fn auth(threshold: u32, keys: &[(PublicKey, u16)], accounts: &[(&str, u16)]) -> Authority {
        Authority {
            weight_threshold: threshold,
            account_auths: accounts.iter().map(|(n, w)| (n.to_string(), *w)).collect(),
            key_auths: keys.iter().copied().collect(),
        }
    }

    fn set_active(l: &mut Ledger, account: &str, a: &Authority) {
        l.update_account(
            &AccountUpdate {
                account,
                owner: None,
                active: Some(a),
                posting: None,
                memo_key: None,
                json_metadata: None,
                posting_json_metadata: None,
            },
            0,
        )
        .unwrap();
    }

    fn transfer(from: &str) -> Vec<Operation> {
        vec![Operation::Transfer {
            from: from.into(),
            to: "bob".into(),
            amount: Asset::new(1, AssetSymbol::Hive),
            memo: String::new(),
        }]
    }

    fn check(l: &Ledger, ops: &[Operation], keys: &[PublicKey]) -> Result<(), AuthError> {
        verify(l, &Required::of(ops), keys)
    }

    /// The three keys of a 2-of-3 authority, in the order Hive tries them (sorted).
    fn three() -> [PublicKey; 3] {
        let mut k = [key("k1"), key("k2"), key("k3")];
        k.sort();
        k
    }

    #[test]
    fn single_key_accounts_need_their_active_key_only() {
        let l = ledger();
        assert_eq!(check(&l, &transfer("alice"), &[active("alice")]), Ok(()));
        assert_eq!(
            check(&l, &transfer("alice"), &[]),
            Err(AuthError::MissingActive("alice".into()))
        );
        assert_eq!(
            check(
                &l,
                &transfer("alice"),
                &[devnet_key("alice", KeyRole::Posting).public()]
            ),
            Err(AuthError::MissingActive("alice".into()))
        );
        // The owner key satisfies active.
        assert_eq!(
            check(&l, &transfer("alice"), &[devnet_key("alice", KeyRole::Owner).public()]),
            Ok(())
        );
        assert_eq!(
            check(&l, &transfer("alice"), &[active("alice"), active("bob")]),
            Err(AuthError::Irrelevant),
            "an extra signature of another account"
        );
        assert_eq!(
            check(&l, &transfer("ghost"), &[active("ghost")]),
            Err(AuthError::MissingActive("ghost".into())),
            "an account that does not exist has no authority"
        );
    }

    #[test]
    fn two_of_three_needs_exactly_two_signatures() {
        let mut l = ledger();
        let [a, b, c] = three();
        set_active(&mut l, "dlux-cc", &auth(2, &[(a, 1), (b, 1), (c, 1)], &[]));
        let ops = transfer("dlux-cc");
        for one in [a, b, c] {
            assert_eq!(check(&l, &ops, &[one]), Err(AuthError::MissingActive("dlux-cc".into())));
        }
        for two in [[a, b], [a, c], [b, c], [c, a]] {
            assert_eq!(check(&l, &ops, &two), Ok(()), "any two");
        }
        // The third is not needed once two reach the threshold: refused (pre-HF28).
        assert_eq!(check(&l, &ops, &[a, b, c]), Err(AuthError::Irrelevant));
        // The account's former key no longer spends.
        assert_eq!(
            check(&l, &ops, &[active("dlux-cc")]),
            Err(AuthError::MissingActive("dlux-cc".into()))
        );
        assert_eq!(
            check(&l, &ops, &[a, active("dlux-cc")]),
            Err(AuthError::MissingActive("dlux-cc".into()))
        );
    }

    #[test]
    fn weights_add_up_to_the_threshold() {
        let mut l = ledger();
        let [a, b, c] = three();
        set_active(&mut l, "dlux-cc", &auth(3, &[(a, 2), (b, 1), (c, 1)], &[]));
        let ops = transfer("dlux-cc");
        assert_eq!(check(&l, &ops, &[a, b]), Ok(()));
        assert_eq!(
            check(&l, &ops, &[b, c]),
            Err(AuthError::MissingActive("dlux-cc".into()))
        );
        // Tried in sorted order, a (2) and b (1) reach 3 first: c is unnecessary.
        assert_eq!(check(&l, &ops, &[a, b, c]), Err(AuthError::Irrelevant));
    }

    #[test]
    fn account_authorities_count_recursively_up_to_the_depth_limit() {
        let mut l = ledger();
        // dlux-cc: alice and bob, 2 of 2 (by account).
        set_active(&mut l, "dlux-cc", &auth(2, &[], &[("alice", 1), ("bob", 1)]));
        let ops = transfer("dlux-cc");
        assert_eq!(check(&l, &ops, &[active("alice"), active("bob")]), Ok(()));
        assert_eq!(
            check(&l, &ops, &[active("alice")]),
            Err(AuthError::MissingActive("dlux-cc".into()))
        );
        // alice delegates to carol, carol to dave: dave's key reaches dlux-cc at depth 2?
        // dlux-cc (0) → alice (1) → carol (2): carol's account_auths are not followed.
        set_active(&mut l, "alice", &auth(1, &[], &[("carol", 1)]));
        set_active(&mut l, "carol", &auth(1, &[], &[("dave", 1)]));
        assert_eq!(
            check(&l, &ops, &[active("dave"), active("bob")]),
            Err(AuthError::MissingActive("dlux-cc".into())),
            "depth 3 is too deep"
        );
        set_active(&mut l, "carol", &auth(1, &[(active("carol"), 1)], &[]));
        assert_eq!(
            check(&l, &ops, &[active("carol"), active("bob")]),
            Ok(()),
            "depth 2 counts"
        );
    }

    #[test]
    fn posting_is_satisfied_by_posting_active_or_owner_and_does_not_mix() {
        let l = ledger();
        let vote = vec![Operation::Vote {
            voter: "carol".into(),
            author: "bob".into(),
            permlink: "p".into(),
            weight: 100,
        }];
        for role in [KeyRole::Posting, KeyRole::Active, KeyRole::Owner] {
            assert_eq!(
                check(&l, &vote, &[devnet_key("carol", role).public()]),
                Ok(()),
                "{role:?}"
            );
        }
        assert_eq!(
            check(&l, &vote, &[devnet_key("carol", KeyRole::Memo).public()]),
            Err(AuthError::MissingPosting("carol".into()))
        );
        let mut mixed = vote.clone();
        mixed.extend(transfer("carol"));
        assert_eq!(check(&l, &mixed, &[active("carol")]), Err(AuthError::MixedPosting));
    }

    #[test]
    fn account_updates_need_owner_only_to_change_the_owner() {
        let a = auth(1, &[(key("x"), 1)], &[]);
        let up = |owner: Option<Authority>, active: Option<Authority>| Operation::AccountUpdate {
            account: "alice".into(),
            owner,
            active,
            posting: None,
            memo_key: key("m"),
            json_metadata: String::new(),
        };
        assert_eq!(Required::of(&[up(None, Some(a.clone()))]).active.len(), 1);
        let r = Required::of(&[up(Some(a.clone()), Some(a.clone()))]);
        assert!(r.owner.contains("alice") && r.active.is_empty());
        let up2 = |owner: Option<Authority>, active: Option<Authority>, json: &str| Operation::AccountUpdate2 {
            account: "alice".into(),
            owner,
            active,
            posting: None,
            memo_key: None,
            json_metadata: json.into(),
            posting_json_metadata: "{}".into(),
        };
        assert!(Required::of(&[up2(Some(a.clone()), None, "")]).owner.contains("alice"));
        assert!(Required::of(&[up2(None, Some(a.clone()), "")]).active.contains("alice"));
        assert!(Required::of(&[up2(None, None, "{}")]).active.contains("alice"));
        assert!(Required::of(&[up2(None, None, "")]).posting.contains("alice"));

        let l = ledger();
        let owner_change = [up(Some(a.clone()), None)];
        assert_eq!(
            check(&l, &owner_change, &[active("alice")]),
            Err(AuthError::MissingOwner("alice".into()))
        );
        assert_eq!(
            check(&l, &owner_change, &[devnet_key("alice", KeyRole::Owner).public()]),
            Ok(())
        );
    }

    #[test]
    fn relevance_hint_finds_keys_of_the_named_accounts() {
        let l = ledger();
        let r = Required::of(&transfer("alice"));
        assert!(any_key_relevant(
            &l,
            &r,
            &[devnet_key("alice", KeyRole::Posting).public()]
        ));
        assert!(!any_key_relevant(&l, &r, &[active("bob")]));
    }
}
