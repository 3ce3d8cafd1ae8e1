//! The simulated chain's accounts: HIVE and HBD balances, owner/active/posting authorities
//! and memo keys, changed by transfers and `account_update(2)` as a Hive node changes them.
//!
//! The simulator needs them to refuse what Hive refuses (an overdraft, a transfer to an
//! account that does not exist, a transaction not signed by enough of an account's keys)
//! and to answer `condenser_api.get_accounts`, so a multi-sig account can be tested
//! locally exactly as it behaves on Hive. Pure: no clock, no I/O.

use crate::authority::Required;
use crate::devnet_keys::{devnet_key, KeyRole};
use crate::traffic::TrafficConfig;
use opentoken_core::hive_json::format_timestamp;
use opentoken_core::{Asset, AssetSymbol};
use opentoken_hive_tx::{Authority, Operation, PublicKey};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use thiserror::Error;

/// `HIVE_MAX_AUTHORITY_MEMBERSHIP`: keys plus accounts in one authority.
pub const MAX_AUTHORITY_MEMBERSHIP: usize = 40;
/// `HIVE_OWNER_UPDATE_LIMIT`: since HF26 an owner authority changes at most twice in it.
pub const OWNER_UPDATE_LIMIT: u64 = 3600;
/// `HIVE_MAX_MEMO_SIZE`: a transfer memo is shorter than this.
pub const MAX_MEMO_SIZE: usize = 2048;
/// Accounts that came into being by signing (see [`Ledger::ensure_signers`]) at most, so a
/// client cannot grow the simulator's memory without bound.
pub const MAX_IMPLICIT_ACCOUNTS: usize = 10_000;

/// How the simulated chain's accounts start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisConfig {
    /// milli-HIVE of every acting account (traffic accounts, nodes, the delegation account).
    pub hive: i64,
    /// milli-HBD of every acting account.
    pub hbd: i64,
    /// Accounts that exist from genesis with nothing in them, such as the multi-sig
    /// account of the chain spec (Hive refuses transfers to accounts that do not exist).
    pub extra_accounts: Vec<String>,
    /// Accounts whose active authority at genesis is this one instead of their single
    /// devnet key, such as the multi-sig account held by the genesis runners' multi-sig keys
    /// ([`crate::devnet_keys::devnet_multisig_authority`]). An account named here exists
    /// (empty if nothing else funds it). Empty leaves the chain exactly as before.
    pub active_authorities: BTreeMap<String, Authority>,
}

impl Default for GenesisConfig {
    /// 100,000.000 HIVE and 10,000.000 HBD: no generated traffic ever runs out.
    fn default() -> Self {
        Self {
            hive: 100_000_000,
            hbd: 10_000_000,
            extra_accounts: Vec::new(),
            active_authorities: BTreeMap::new(),
        }
    }
}

/// One account as the chain holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Creation order (the `id` account objects carry).
    pub id: u64,
    pub name: String,
    /// milli-HIVE.
    pub hive: i64,
    /// milli-HBD.
    pub hbd: i64,
    pub owner: Authority,
    pub active: Authority,
    pub posting: Authority,
    pub memo_key: PublicKey,
    pub json_metadata: String,
    pub posting_json_metadata: String,
    /// Unix seconds; 0 is never.
    pub previous_owner_update: u64,
    pub last_owner_update: u64,
    pub last_account_update: u64,
    pub created: u64,
}

/// A single key of weight 1, threshold 1: how every devnet account starts.
pub fn single_key(key: PublicKey) -> Authority {
    let mut a = Authority {
        weight_threshold: 1,
        ..Default::default()
    };
    a.key_auths.insert(key, 1);
    a
}

impl Account {
    /// An account whose keys are the devnet keys of its name ([`devnet_key`]).
    pub fn devnet(id: u64, name: &str, hive: i64, hbd: i64, created: u64) -> Self {
        Self {
            id,
            name: name.to_string(),
            hive,
            hbd,
            owner: single_key(devnet_key(name, KeyRole::Owner).public()),
            active: single_key(devnet_key(name, KeyRole::Active).public()),
            posting: single_key(devnet_key(name, KeyRole::Posting).public()),
            memo_key: devnet_key(name, KeyRole::Memo).public(),
            json_metadata: String::new(),
            posting_json_metadata: String::new(),
            previous_owner_update: 0,
            last_owner_update: 0,
            last_account_update: 0,
            created,
        }
    }

    /// The liquid balance in `symbol` (VESTS are not tracked: 0).
    pub fn balance(&self, symbol: AssetSymbol) -> i64 {
        match symbol {
            AssetSymbol::Hive => self.hive,
            AssetSymbol::Hbd => self.hbd,
            AssetSymbol::Vests => 0,
        }
    }

    fn balance_mut(&mut self, symbol: AssetSymbol) -> Option<&mut i64> {
        match symbol {
            AssetSymbol::Hive => Some(&mut self.hive),
            AssetSymbol::Hbd => Some(&mut self.hbd),
            AssetSymbol::Vests => None,
        }
    }

    /// The account object as `condenser_api.get_accounts` returns it (`nai`: as
    /// `database_api.find_accounts` does, assets as NAI objects). Fields the simulator does
    /// not model (vesting, rewards, savings) are present with Hive's zero values, so a
    /// client that reads a real response reads this one.
    pub fn to_json(&self, nai: bool) -> Value {
        let asset = |amount: i64, symbol: AssetSymbol| -> Value {
            let a = Asset::new(amount, symbol);
            if nai {
                json!({"amount": a.amount.to_string(), "precision": symbol.precision(), "nai": symbol.nai()})
            } else {
                Value::String(a.to_legacy())
            }
        };
        let never = "1969-12-31T23:59:59";
        let mut v = json!({
            "id": self.id,
            "name": self.name,
            "owner": authority_json(&self.owner),
            "active": authority_json(&self.active),
            "posting": authority_json(&self.posting),
            "memo_key": self.memo_key.to_string(),
            "json_metadata": self.json_metadata,
            "posting_json_metadata": self.posting_json_metadata,
            "proxy": "",
            "previous_owner_update": format_timestamp(self.previous_owner_update),
            "last_owner_update": format_timestamp(self.last_owner_update),
            "last_account_update": format_timestamp(self.last_account_update),
            "created": format_timestamp(self.created),
            "mined": false,
            "recovery_account": "",
            "last_account_recovery": format_timestamp(0),
            "reset_account": "null",
            "comment_count": 0,
            "lifetime_vote_count": 0,
            "post_count": 0,
            "can_vote": true,
        });
        let money = json!({
            "balance": asset(self.hive, AssetSymbol::Hive),
            "savings_balance": asset(0, AssetSymbol::Hive),
            "hbd_balance": asset(self.hbd, AssetSymbol::Hbd),
            "savings_hbd_balance": asset(0, AssetSymbol::Hbd),
            "savings_withdraw_requests": 0,
            "reward_hbd_balance": asset(0, AssetSymbol::Hbd),
            "reward_hive_balance": asset(0, AssetSymbol::Hive),
            "reward_vesting_balance": asset(0, AssetSymbol::Vests),
            "reward_vesting_hive": asset(0, AssetSymbol::Hive),
            "vesting_shares": asset(0, AssetSymbol::Vests),
            "delegated_vesting_shares": asset(0, AssetSymbol::Vests),
            "received_vesting_shares": asset(0, AssetSymbol::Vests),
            "vesting_withdraw_rate": asset(0, AssetSymbol::Vests),
            "post_voting_power": asset(0, AssetSymbol::Vests),
            "next_vesting_withdrawal": never,
            "withdrawn": 0,
            "to_withdraw": 0,
            "withdraw_routes": 0,
            "pending_transfers": 0,
            "witnesses_voted_for": 0,
            "pending_claimed_accounts": 0,
            "open_recurrent_transfers": 0,
            "delayed_votes": [],
            "governance_vote_expiration_ts": never,
        });
        if let (Some(v), Value::Object(money)) = (v.as_object_mut(), money) {
            v.extend(money);
        }
        v
    }
}

/// `{weight_threshold, account_auths: [[name, w]], key_auths: [["STM…", w]]}`, sorted as
/// Hive stores them.
pub fn authority_json(a: &Authority) -> Value {
    json!({
        "weight_threshold": a.weight_threshold,
        "account_auths": a.account_auths.iter().map(|(n, w)| json!([n, w])).collect::<Vec<_>>(),
        "key_auths": a.key_auths.iter().map(|(k, w)| json!([k.to_string(), w])).collect::<Vec<_>>(),
    })
}

/// Why the chain refuses an operation, in Hive's words where Hive has them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LedgerError {
    #[error("unknown account: Account {0} does not exist")]
    UnknownAccount(String),
    #[error("invalid account name {0:?}")]
    InvalidName(String),
    #[error(
        "Account does not have sufficient funds for transfer: insufficient {} funds (@{account} has {}, the transfer needs {})",
        need.symbol.legacy_name(),
        have.to_legacy(),
        need.to_legacy()
    )]
    Insufficient { account: String, have: Asset, need: Asset },
    #[error("Cannot transfer a negative amount (aka: stealing)")]
    NotPositive,
    #[error("transferring of Hive Power (VESTS) is not allowed.")]
    Vests,
    #[error("Memo is too large")]
    MemoTooLarge,
    #[error("a balance of @{0} would overflow")]
    Overflow(String),
    #[error("Authority membership exceeded. Max: {MAX_AUTHORITY_MEMBERSHIP} Current: {0}")]
    Membership(usize),
    #[error("New {class} authority on account {account} references non-existing account {missing}")]
    AuthorityAccount {
        class: &'static str,
        account: String,
        missing: String,
    },
    #[error("Owner authority can only be updated twice an hour.")]
    OwnerUpdateLimit,
    #[error("{0} is not valid JSON")]
    Metadata(&'static str),
    #[error("the simulator holds {MAX_IMPLICIT_ACCOUNTS} accounts created by signing; @{0} cannot be added")]
    TooManyAccounts(String),
}

/// Hive's account name rule (`is_valid_account_name`): 3 to 16 characters, dot-separated
/// segments of at least 3 that start with a letter, hold lowercase letters, digits and
/// dashes, and end with a letter or digit.
pub fn is_valid_account_name(name: &str) -> bool {
    (3..=16).contains(&name.len())
        && name.split('.').all(|seg| {
            let b = seg.as_bytes();
            b.len() >= 3
                && b[0].is_ascii_lowercase()
                && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

/// All accounts of a simulated chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    accounts: BTreeMap<String, Account>,
    implicit: usize,
}

impl Ledger {
    /// The accounts at genesis (`time`): every account the traffic names (actors, nodes, the
    /// delegation account) with `genesis`'s balances, and with nothing: `genesis`'s extra
    /// accounts, the traffic's multi-sig account, the block producers `witnesses` and `null`.
    /// Every one starts with its devnet keys as single-key authorities, except for the
    /// active authorities `genesis` sets (an account named there is created empty if absent).
    pub fn genesis(traffic: &TrafficConfig, genesis: &GenesisConfig, witnesses: &[&str], time: u64) -> Self {
        let mut ledger = Ledger::default();
        let funded = traffic
            .accounts
            .iter()
            .chain(&traffic.nodes)
            .chain(std::iter::once(&traffic.delegation_account));
        for name in funded {
            ledger.insert(name, genesis.hive, genesis.hbd, time);
        }
        let empty = genesis
            .extra_accounts
            .iter()
            .map(String::as_str)
            .chain(traffic.msaccount.as_deref())
            .chain(witnesses.iter().copied())
            .chain(["null"]);
        for name in empty {
            ledger.insert(name, 0, 0, time);
        }
        for (name, active) in &genesis.active_authorities {
            ledger.insert(name, 0, 0, time);
            if let Some(a) = ledger.accounts.get_mut(name) {
                a.active = active.clone();
            }
        }
        ledger
    }

    /// Adds `name` unless it exists (an empty or invalid name is skipped).
    fn insert(&mut self, name: &str, hive: i64, hbd: i64, time: u64) {
        if name.is_empty() || self.accounts.contains_key(name) {
            return;
        }
        let id = self.accounts.len() as u64;
        self.accounts
            .insert(name.to_string(), Account::devnet(id, name, hive, hbd, time));
    }

    pub fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.get(name)
    }

    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// `name`'s liquid balance in `symbol`, if the account exists.
    pub fn balance(&self, name: &str, symbol: AssetSymbol) -> Option<i64> {
        self.accounts.get(name).map(|a| a.balance(symbol))
    }

    /// A devnet convenience, not Hive: an account that signs a broadcast before it exists
    /// comes into being with its devnet keys and nothing in it, so any `--node-account` can
    /// take part on the devnet as it could with a key file. Transfers to unknown accounts
    /// stay refused. At most [`MAX_IMPLICIT_ACCOUNTS`] accounts are created this way.
    pub fn ensure_signers(&mut self, required: &Required, now: u64) -> Result<(), LedgerError> {
        for name in required.accounts() {
            if self.accounts.contains_key(name) {
                continue;
            }
            if !is_valid_account_name(name) {
                return Err(LedgerError::InvalidName(name.clone()));
            }
            if self.implicit >= MAX_IMPLICIT_ACCOUNTS {
                return Err(LedgerError::TooManyAccounts(name.clone()));
            }
            self.implicit += 1;
            self.insert(name, 0, 0, now);
        }
        Ok(())
    }

    /// A `transfer` of liquid HIVE or HBD, checked as Hive's `transfer_operation::validate`
    /// and evaluator check it.
    pub fn transfer(&mut self, from: &str, to: &str, amount: &Asset, memo: &str) -> Result<(), LedgerError> {
        if amount.symbol == AssetSymbol::Vests {
            return Err(LedgerError::Vests);
        }
        if amount.amount <= 0 {
            return Err(LedgerError::NotPositive);
        }
        if memo.len() >= MAX_MEMO_SIZE {
            return Err(LedgerError::MemoTooLarge);
        }
        for name in [from, to] {
            if !self.accounts.contains_key(name) {
                return Err(LedgerError::UnknownAccount(name.to_string()));
            }
        }
        let have = self.balance(from, amount.symbol).unwrap_or(0);
        if have < amount.amount {
            return Err(LedgerError::Insufficient {
                account: from.to_string(),
                have: Asset::new(have, amount.symbol),
                need: *amount,
            });
        }
        let credited = self
            .balance(to, amount.symbol)
            .unwrap_or(0)
            .checked_add(if from == to { 0 } else { amount.amount })
            .ok_or_else(|| LedgerError::Overflow(to.to_string()))?;
        if from != to {
            if let Some(b) = self.accounts.get_mut(from).and_then(|a| a.balance_mut(amount.symbol)) {
                *b -= amount.amount;
            }
            if let Some(b) = self.accounts.get_mut(to).and_then(|a| a.balance_mut(amount.symbol)) {
                *b = credited;
            }
        }
        Ok(())
    }

    /// `account_update` / `account_update2` as Hive's evaluators apply them: each new
    /// authority within [`MAX_AUTHORITY_MEMBERSHIP`] and naming only existing accounts, the
    /// owner changed at most twice an hour (HF26), the memo key and metadata replaced when
    /// given. Which authority must sign is [`Required::of`]'s business, not this one's.
    pub fn update_account(&mut self, u: &AccountUpdate<'_>, now: u64) -> Result<(), LedgerError> {
        let current = self
            .accounts
            .get(u.account)
            .ok_or_else(|| LedgerError::UnknownAccount(u.account.to_string()))?;
        for (class, auth) in [("owner", u.owner), ("active", u.active), ("posting", u.posting)] {
            let Some(auth) = auth else { continue };
            let members = auth.account_auths.len() + auth.key_auths.len();
            if members > MAX_AUTHORITY_MEMBERSHIP {
                return Err(LedgerError::Membership(members));
            }
            if let Some(missing) = auth.account_auths.keys().find(|a| !self.accounts.contains_key(*a)) {
                return Err(LedgerError::AuthorityAccount {
                    class,
                    account: u.account.to_string(),
                    missing: missing.clone(),
                });
            }
        }
        // Refused when the last two owner updates both fall within the hour.
        if u.owner.is_some()
            && current.previous_owner_update != 0
            && now.saturating_sub(current.previous_owner_update) <= OWNER_UPDATE_LIMIT
        {
            return Err(LedgerError::OwnerUpdateLimit);
        }
        for (what, text) in [
            ("json_metadata", u.json_metadata),
            ("posting_json_metadata", u.posting_json_metadata),
        ] {
            if let Some(t) = text.filter(|t| !t.is_empty()) {
                if serde_json::from_str::<Value>(t).is_err() {
                    return Err(LedgerError::Metadata(what));
                }
            }
        }
        let Some(acct) = self.accounts.get_mut(u.account) else {
            return Err(LedgerError::UnknownAccount(u.account.to_string()));
        };
        if let Some(owner) = u.owner {
            acct.owner = owner.clone();
            acct.previous_owner_update = acct.last_owner_update;
            acct.last_owner_update = now;
        }
        if let Some(active) = u.active {
            acct.active = active.clone();
        }
        if let Some(posting) = u.posting {
            acct.posting = posting.clone();
        }
        if let Some(k) = u.memo_key {
            acct.memo_key = *k;
        }
        if let Some(t) = u.json_metadata.filter(|t| !t.is_empty()) {
            acct.json_metadata = t.to_string();
        }
        if let Some(t) = u.posting_json_metadata.filter(|t| !t.is_empty()) {
            acct.posting_json_metadata = t.to_string();
        }
        acct.last_account_update = now;
        Ok(())
    }

    /// One operation of a signed transaction; operations the ledger does not model (votes,
    /// custom_json) change nothing.
    pub fn apply(&mut self, op: &Operation, now: u64) -> Result<(), LedgerError> {
        match op {
            Operation::Transfer { from, to, amount, memo } => self.transfer(from, to, amount, memo),
            Operation::AccountUpdate {
                account,
                owner,
                active,
                posting,
                memo_key,
                json_metadata,
            } => self.update_account(
                &AccountUpdate {
                    account,
                    owner: owner.as_ref(),
                    active: active.as_ref(),
                    posting: posting.as_ref(),
                    memo_key: Some(memo_key),
                    json_metadata: Some(json_metadata),
                    posting_json_metadata: None,
                },
                now,
            ),
            Operation::AccountUpdate2 {
                account,
                owner,
                active,
                posting,
                memo_key,
                json_metadata,
                posting_json_metadata,
            } => self.update_account(
                &AccountUpdate {
                    account,
                    owner: owner.as_ref(),
                    active: active.as_ref(),
                    posting: posting.as_ref(),
                    memo_key: memo_key.as_ref(),
                    json_metadata: Some(json_metadata),
                    posting_json_metadata: Some(posting_json_metadata),
                },
                now,
            ),
            Operation::Vote { .. } | Operation::CustomJson { .. } => Ok(()),
        }
    }

    /// Every operation of a transaction, all or nothing (a Hive transaction is atomic).
    pub fn apply_all(&mut self, ops: &[Operation], now: u64) -> Result<(), LedgerError> {
        let mut next = self.clone();
        for op in ops {
            next.apply(op, now)?;
        }
        *self = next;
        Ok(())
    }

    /// A broadcast transaction at inclusion: its signers made to exist
    /// ([`Ledger::ensure_signers`]), then its operations, all or nothing.
    pub fn apply_signed(&mut self, ops: &[Operation], now: u64) -> Result<(), LedgerError> {
        let mut next = self.clone();
        next.ensure_signers(&Required::of(ops), now)?;
        for op in ops {
            next.apply(op, now)?;
        }
        *self = next;
        Ok(())
    }

    /// A generated transaction: its transfers (the only generated operations with a
    /// balance effect) if `budget` covers them and every recipient exists; `false` (and
    /// nothing changed) when the chain could not hold it, so it is left out of the block.
    pub fn apply_generated(&mut self, tx: &opentoken_core::Transaction, budget: &mut Budget) -> bool {
        let transfers: Vec<&opentoken_core::TransferOp> = tx
            .operations
            .iter()
            .filter_map(|op| match op {
                opentoken_core::HiveOp::Transfer(t) => Some(t),
                _ => None,
            })
            .collect();
        if transfers.is_empty() {
            return true;
        }
        let mut spend = budget.clone();
        let mut next = self.clone();
        for t in &transfers {
            if !spend.spend(&t.from, t.amount.symbol, t.amount.amount)
                || next.transfer(&t.from, &t.to, &t.amount, &t.memo).is_err()
            {
                return false;
            }
        }
        *budget = spend;
        *self = next;
        true
    }
}

/// The fields of `account_update` and `account_update2` the ledger applies (`None`: not
/// changed).
#[derive(Debug, Clone, Copy)]
pub struct AccountUpdate<'a> {
    pub account: &'a str,
    pub owner: Option<&'a Authority>,
    pub active: Option<&'a Authority>,
    pub posting: Option<&'a Authority>,
    pub memo_key: Option<&'a PublicKey>,
    pub json_metadata: Option<&'a str>,
    pub posting_json_metadata: Option<&'a str>,
}

/// What generated traffic may still spend in the block being produced: for each account
/// the lowest balance it reaches while the block's broadcast transactions (which follow the
/// generated ones) apply, less what generated transfers already took. Generated transfers
/// within it can never make a broadcast transaction the node accepted fail at inclusion,
/// and never overdraw. Money received within the block is not counted (conservative).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Budget {
    left: BTreeMap<String, [i64; 2]>,
}

fn slot(symbol: AssetSymbol) -> Option<usize> {
    match symbol {
        AssetSymbol::Hive => Some(0),
        AssetSymbol::Hbd => Some(1),
        AssetSymbol::Vests => None,
    }
}

impl Budget {
    /// The budget of a block whose broadcast transactions are `pending` (in order), applied
    /// at `now` after `ledger`.
    pub fn new(ledger: &Ledger, pending: &[&[Operation]], now: u64) -> Self {
        let mut left: BTreeMap<String, [i64; 2]> =
            ledger.accounts().map(|a| (a.name.clone(), [a.hive, a.hbd])).collect();
        if !pending.is_empty() {
            let mut scratch = ledger.clone();
            for ops in pending {
                if scratch.apply_signed(ops, now).is_err() {
                    continue;
                }
                for (name, l) in left.iter_mut() {
                    if let Some(a) = scratch.account(name) {
                        l[0] = l[0].min(a.hive);
                        l[1] = l[1].min(a.hbd);
                    }
                }
            }
        }
        Self { left }
    }

    /// What `account` may still spend in `symbol` (0 for unknown accounts and VESTS).
    pub fn available(&self, account: &str, symbol: AssetSymbol) -> i64 {
        match (self.left.get(account), slot(symbol)) {
            (Some(l), Some(i)) => l[i].max(0),
            _ => 0,
        }
    }

    /// Takes `amount` if available; `false` (and nothing taken) otherwise.
    pub fn spend(&mut self, account: &str, symbol: AssetSymbol, amount: i64) -> bool {
        let (Some(l), Some(i)) = (self.left.get_mut(account), slot(symbol)) else {
            return false;
        };
        if amount <= 0 || l[i] < amount {
            return false;
        }
        l[i] -= amount;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traffic() -> TrafficConfig {
        TrafficConfig {
            prefix: "dlux_".into(),
            accounts: vec!["alice".into(), "bob".into()],
            nodes: vec!["carol".into()],
            delegation_account: "dlux-io".into(),
            ops_per_block: (1, 1),
            invalid_per_mille: 0,
            msaccount: Some("dlux-cc".into()),
            dex: None,
            nft: None,
            pob: None,
        }
    }

    fn ledger() -> Ledger {
        let g = GenesisConfig {
            extra_accounts: vec!["vault".into(), "alice".into()],
            ..GenesisConfig::default()
        };
        Ledger::genesis(&traffic(), &g, &["witness-a"], 1000)
    }

    fn hive(n: i64) -> Asset {
        Asset::new(n, AssetSymbol::Hive)
    }

    #[test]
    fn genesis_funds_actors_and_creates_empty_accounts() {
        let l = ledger();
        for name in ["alice", "bob", "carol", "dlux-io"] {
            assert_eq!(l.balance(name, AssetSymbol::Hive), Some(100_000_000), "{name}");
            assert_eq!(l.balance(name, AssetSymbol::Hbd), Some(10_000_000), "{name}");
        }
        for name in ["dlux-cc", "vault", "witness-a", "null"] {
            assert_eq!(l.balance(name, AssetSymbol::Hive), Some(0), "{name}");
        }
        assert_eq!(l.balance("mallory", AssetSymbol::Hive), None);
        let a = l.account("alice").unwrap();
        assert_eq!(a.active, single_key(devnet_key("alice", KeyRole::Active).public()));
        assert_ne!(a.active, a.owner);
        let ids: std::collections::BTreeSet<u64> = l.accounts().map(|a| a.id).collect();
        assert_eq!(ids.len(), l.len(), "ids are distinct");
    }

    #[test]
    fn genesis_sets_the_active_authorities_it_is_given() {
        let held = crate::devnet_keys::devnet_multisig_authority(&["alice", "bob", "carol"]).unwrap();
        let g = GenesisConfig {
            active_authorities: [
                ("dlux-cc".to_string(), held.clone()),
                ("fresh-one".to_string(), held.clone()),
            ]
            .into_iter()
            .collect(),
            ..GenesisConfig::default()
        };
        let l = Ledger::genesis(&traffic(), &g, &[], 1000);
        let ms = l.account("dlux-cc").unwrap();
        assert_eq!(ms.active, held);
        assert_eq!(ms.active.weight_threshold, 3);
        assert_eq!(
            ms.owner,
            single_key(devnet_key("dlux-cc", KeyRole::Owner).public()),
            "owner untouched"
        );
        assert_eq!(l.balance("fresh-one", AssetSymbol::Hive), Some(0), "created empty");
        assert_eq!(l.account("fresh-one").unwrap().active, held);
        let plain = Ledger::genesis(&traffic(), &GenesisConfig::default(), &[], 1000);
        assert_eq!(
            plain.account("dlux-cc").unwrap().active,
            single_key(devnet_key("dlux-cc", KeyRole::Active).public())
        );
        assert!(plain.account("fresh-one").is_none());
    }

    #[test]
    fn transfers_move_balances_and_refuse_what_hive_refuses() {
        let mut l = ledger();
        l.transfer("alice", "dlux-cc", &hive(1_500), "").unwrap();
        assert_eq!(l.balance("alice", AssetSymbol::Hive), Some(100_000_000 - 1_500));
        assert_eq!(l.balance("dlux-cc", AssetSymbol::Hive), Some(1_500));
        l.transfer("alice", "alice", &hive(7), "").unwrap();
        assert_eq!(l.balance("alice", AssetSymbol::Hive), Some(100_000_000 - 1_500));
        let before = l.clone();
        let e = l.transfer("dlux-cc", "bob", &hive(1_501), "").unwrap_err();
        assert!(e.to_string().contains("insufficient HIVE funds"), "{e}");
        assert!(matches!(
            l.transfer("alice", "mallory", &hive(1), ""),
            Err(LedgerError::UnknownAccount(n)) if n == "mallory"
        ));
        assert_eq!(l.transfer("alice", "bob", &hive(0), ""), Err(LedgerError::NotPositive));
        assert_eq!(l.transfer("alice", "bob", &hive(-5), ""), Err(LedgerError::NotPositive));
        assert_eq!(
            l.transfer("alice", "bob", &Asset::new(5, AssetSymbol::Vests), ""),
            Err(LedgerError::Vests)
        );
        assert_eq!(
            l.transfer("alice", "bob", &hive(5), &"m".repeat(2048)),
            Err(LedgerError::MemoTooLarge)
        );
        assert_eq!(l, before, "refused transfers change nothing");
        l.transfer("dlux-cc", "bob", &hive(1_500), "").unwrap();
        assert_eq!(l.balance("dlux-cc", AssetSymbol::Hive), Some(0));
    }

    #[test]
    fn transactions_apply_all_or_nothing() {
        let mut l = ledger();
        let t = |from: &str, to: &str, n: i64| Operation::Transfer {
            from: from.into(),
            to: to.into(),
            amount: hive(n),
            memo: String::new(),
        };
        let before = l.clone();
        let e = l
            .apply_all(&[t("alice", "dlux-cc", 5), t("dlux-cc", "bob", 6)], 0)
            .unwrap_err();
        assert!(matches!(e, LedgerError::Insufficient { .. }));
        assert_eq!(l, before);
        l.apply_all(&[t("alice", "dlux-cc", 5), t("dlux-cc", "bob", 5)], 0)
            .unwrap();
        assert_eq!(l.balance("dlux-cc", AssetSymbol::Hive), Some(0));
        assert_eq!(l.balance("bob", AssetSymbol::Hive), Some(100_000_005));
    }

    #[test]
    fn account_updates_change_authorities_as_hive_does() {
        let mut l = ledger();
        let keys: Vec<PublicKey> = ["k1", "k2", "k3"]
            .iter()
            .map(|k| devnet_key(k, KeyRole::Active).public())
            .collect();
        let mut two_of_three = Authority {
            weight_threshold: 2,
            ..Default::default()
        };
        for k in &keys {
            two_of_three.key_auths.insert(*k, 1);
        }
        two_of_three.account_auths.insert("alice".into(), 1);
        fn update<'a>(active: Option<&'a Authority>, owner: Option<&'a Authority>) -> AccountUpdate<'a> {
            AccountUpdate {
                account: "dlux-cc",
                owner,
                active,
                posting: None,
                memo_key: None,
                json_metadata: Some(""),
                posting_json_metadata: None,
            }
        }
        l.update_account(&update(Some(&two_of_three), None), 5000).unwrap();
        let acct = l.account("dlux-cc").unwrap();
        assert_eq!(acct.active, two_of_three);
        assert_eq!(acct.last_account_update, 5000);
        assert_eq!(acct.last_owner_update, 0, "owner untouched");

        let mut ghost = two_of_three.clone();
        ghost.account_auths.insert("ghost".into(), 1);
        let e = l.update_account(&update(Some(&ghost), None), 5000).unwrap_err();
        assert!(e.to_string().contains("references non-existing account ghost"), "{e}");

        let mut big = Authority {
            weight_threshold: 1,
            ..Default::default()
        };
        for i in 0..41 {
            big.key_auths
                .insert(devnet_key(&format!("m{i}"), KeyRole::Active).public(), 1);
        }
        assert_eq!(
            l.update_account(&update(Some(&big), None), 5000),
            Err(LedgerError::Membership(41))
        );

        // Owner: twice within an hour, not a third time; again after the hour.
        l.update_account(&update(None, Some(&two_of_three)), 10_000).unwrap();
        l.update_account(&update(None, Some(&two_of_three)), 10_001).unwrap();
        assert_eq!(
            l.update_account(&update(None, Some(&two_of_three)), 10_002),
            Err(LedgerError::OwnerUpdateLimit)
        );
        l.update_account(&update(None, Some(&two_of_three)), 10_000 + OWNER_UPDATE_LIMIT + 1)
            .unwrap();
        let acct = l.account("dlux-cc").unwrap();
        assert_eq!(acct.owner, two_of_three);
        assert_eq!(acct.last_owner_update, 10_000 + OWNER_UPDATE_LIMIT + 1);

        let mut bad = update(None, None);
        bad.json_metadata = Some("{not json");
        assert_eq!(l.update_account(&bad, 1), Err(LedgerError::Metadata("json_metadata")));
        assert!(matches!(
            l.update_account(
                &AccountUpdate {
                    account: "ghost",
                    ..update(None, None)
                },
                1
            ),
            Err(LedgerError::UnknownAccount(_))
        ));
    }

    #[test]
    fn signers_come_into_being_but_only_with_valid_names() {
        let mut l = ledger();
        let r = |names: &[&str]| Required {
            active: names.iter().map(|s| s.to_string()).collect(),
            ..Required::default()
        };
        l.ensure_signers(&r(&["newnode"]), 77).unwrap();
        assert_eq!(l.balance("newnode", AssetSymbol::Hive), Some(0));
        assert_eq!(l.account("newnode").unwrap().created, 77);
        assert_eq!(
            l.ensure_signers(&r(&["Not-Valid"]), 77),
            Err(LedgerError::InvalidName("Not-Valid".into()))
        );
        for (name, ok) in [
            ("abc", true),
            ("dlux-cc", true),
            ("a.b", false),
            ("abc.def", true),
            ("ab", false),
            ("abc-", false),
            ("1abc", false),
            ("abcdefghijklmnopq", false),
            ("abc.de", false),
        ] {
            assert_eq!(is_valid_account_name(name), ok, "{name}");
        }
    }

    #[test]
    fn budget_keeps_generated_spending_below_what_pending_transactions_need() {
        let l = ledger();
        let pay = |from: &str, to: &str, n: i64| Operation::Transfer {
            from: from.into(),
            to: to.into(),
            amount: hive(n),
            memo: String::new(),
        };
        // alice pays 99,000 then receives 50,000: her low point is 1,000 HIVE.
        let p1 = [pay("alice", "dlux-cc", 99_000_000)];
        let p2 = [pay("bob", "alice", 50_000_000)];
        let mut b = Budget::new(&l, &[&p1, &p2], 0);
        assert_eq!(b.available("alice", AssetSymbol::Hive), 1_000_000);
        assert_eq!(b.available("bob", AssetSymbol::Hive), 50_000_000);
        assert_eq!(b.available("alice", AssetSymbol::Hbd), 10_000_000);
        assert_eq!(b.available("mallory", AssetSymbol::Hive), 0);
        assert!(!b.spend("alice", AssetSymbol::Hive, 1_000_001));
        assert!(b.spend("alice", AssetSymbol::Hive, 1_000_000));
        assert_eq!(b.available("alice", AssetSymbol::Hive), 0);
        assert!(!b.spend("alice", AssetSymbol::Vests, 1));
    }

    #[test]
    fn account_json_has_the_fields_wallets_read() {
        let l = ledger();
        let v = l.account("alice").unwrap().to_json(false);
        assert_eq!(v["name"], "alice");
        assert_eq!(v["balance"], "100000.000 HIVE");
        assert_eq!(v["hbd_balance"], "10000.000 HBD");
        assert_eq!(v["active"]["weight_threshold"], 1);
        assert_eq!(
            v["active"]["key_auths"][0][0],
            devnet_key("alice", KeyRole::Active).public().to_string()
        );
        assert_eq!(v["active"]["key_auths"][0][1], 1);
        assert_eq!(v["owner"]["account_auths"], json!([]));
        assert!(v["memo_key"].as_str().unwrap().starts_with("STM"));
        let n = l.account("alice").unwrap().to_json(true);
        assert_eq!(
            n["balance"],
            json!({"amount": "100000000", "precision": 3, "nai": "@@000000021"})
        );
    }
}
