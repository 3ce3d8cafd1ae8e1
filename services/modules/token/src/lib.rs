//! The token ledger module: send, claim, power up / down, power grants, governance stake,
//! and Hive delegations to the community's delegation account.
//!
//! It follows the reference node (DLUX Open_Token / HoneyComb) in op ids, JSON fields and
//! authorities, and fixes its bugs (listed in `docs/compatibility.md`): amounts are
//! non-negative integers only, every recipient is a valid Hive account, every value-moving
//! op needs active authority, schedules are cancelled exactly and run by integer block.

pub mod config;
pub mod events;
pub mod keys;
mod parse;
pub mod views;

pub use config::{Genesis, TokenConfig};
pub use events::TokenEvent;
pub use keys::{Bucket, Unlock};
pub use views::{account_view, stats_view, supply_check, AccountView, StatsView, SupplyCheck, ViewError};

use keys::{amount, decode_blocks, encode_blocks, encode_u64};
use opentoken_core::module::{EventDecodeError, GenesisError, InvariantError};
use opentoken_core::{
    Auth, BlockContext, ChainSpec, HiveOp, Input, Module, OpContext, Outgoing, Reject, RejectCode, Route, StateRead,
    StateWrite,
};
use parse::{amount_field, bool_field, recipient_field};

const ROUTES: &[Route] = &[
    Route {
        name: "send",
        auth: Auth::Active,
    },
    Route {
        name: "claim",
        auth: Auth::Active,
    },
    Route {
        name: "power_up",
        auth: Auth::Active,
    },
    Route {
        name: "power_down",
        auth: Auth::Active,
    },
    Route {
        name: "power_grant",
        auth: Auth::Active,
    },
    Route {
        name: "gov_up",
        auth: Auth::Active,
    },
    Route {
        name: "gov_down",
        auth: Auth::Active,
    },
];

pub struct TokenModule {
    cfg: TokenConfig,
}

impl TokenModule {
    pub fn new(cfg: TokenConfig) -> Result<Self, GenesisError> {
        cfg.validate()?;
        Ok(Self { cfg })
    }

    pub fn from_spec(spec: &ChainSpec) -> Result<Self, GenesisError> {
        Ok(Self {
            cfg: TokenConfig::from_spec(spec)?,
        })
    }

    pub fn config(&self) -> &TokenConfig {
        &self.cfg
    }

    fn schedule(&self, unlock: Unlock, block: u64, total: u64) -> Vec<(u64, u64)> {
        let (n, interval) = match unlock {
            Unlock::Power => (self.cfg.power_down_installments, self.cfg.power_down_interval),
            Unlock::Gov => (self.cfg.gov_down_installments, self.cfg.gov_down_interval),
        };
        let each = total / n;
        let rest = total % n;
        (1..=n)
            .map(|i| {
                (
                    block.saturating_add(interval.saturating_mul(i)),
                    if i == n { each + rest } else { each },
                )
            })
            .filter(|(_, a)| *a > 0)
            .collect()
    }

    fn withdraw(
        &self,
        ctx: &OpContext,
        from: &str,
        unlock: Unlock,
        payload: &serde_json::Map<String, serde_json::Value>,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        let amt = amount_field(payload, "amount", state)?;
        let held = amount(state, &keys::account(unlock.bucket(), from));
        let pending = state.get(&keys::schedule_index(unlock, from)).is_some();
        let what = match unlock {
            Unlock::Power => "power",
            Unlock::Gov => "governance stake",
        };
        if amt == 0 {
            return if pending {
                Ok(vec![TokenEvent::WithdrawalCancelled {
                    account: from.to_string(),
                    unlock,
                }])
            } else {
                Err(Reject::new(
                    RejectCode::NothingToDo,
                    format!("amount 0 cancels a withdrawal of {what}, and none is scheduled"),
                ))
            };
        }
        if amt > held {
            return Err(Reject::new(
                RejectCode::InsufficientFunds,
                format!("cannot withdraw {amt} of {what}: @{from} holds {held}"),
            ));
        }
        Ok(vec![TokenEvent::WithdrawalScheduled {
            account: from.to_string(),
            unlock,
            total: amt,
            installments: self.schedule(unlock, ctx.pos.block, amt),
        }])
    }

    fn handle_custom_json(
        &self,
        ctx: &OpContext,
        name: &str,
        from: &str,
        payload: &serde_json::Map<String, serde_json::Value>,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        let liquid = |acct: &str| amount(state, &keys::account(Bucket::Liquid, acct));
        let is_node = |acct: &str| state.get(&keys::node(acct)).is_some();
        let positive = |amt: u64| {
            if amt == 0 {
                Err(Reject::field("amount must be greater than 0"))
            } else {
                Ok(amt)
            }
        };
        let afford = |amt: u64, have: u64, what: &str| {
            if amt > have {
                Err(Reject::new(
                    RejectCode::InsufficientFunds,
                    format!("@{from} has {have} {what}, needs {amt}"),
                ))
            } else {
                Ok(())
            }
        };
        match name {
            "send" => {
                let to = recipient_field(payload, "to", from)?;
                if let Some(memo) = payload.get("memo") {
                    if !memo.is_string() {
                        return Err(Reject::field("memo must be a string"));
                    }
                }
                let amt = positive(amount_field(payload, "amount", state)?)?;
                afford(amt, liquid(from), "liquid")?;
                Ok(vec![TokenEvent::Transferred {
                    from: from.into(),
                    to,
                    amount: amt,
                }])
            }
            "claim" => {
                let to_gov = bool_field(payload, "gov")?.unwrap_or(false);
                let claim = amount(state, &keys::account(Bucket::Claimable, from));
                if claim == 0 {
                    return Err(Reject::new(
                        RejectCode::NothingToDo,
                        format!("@{from} has nothing to claim"),
                    ));
                }
                if to_gov && !is_node(from) {
                    return Err(Reject::new(
                        RejectCode::NotANode,
                        format!("@{from} is not a registered node; claim into gov needs one"),
                    ));
                }
                let liquid_half = claim / 2;
                Ok(vec![TokenEvent::Claimed {
                    account: from.into(),
                    liquid: liquid_half,
                    locked: claim - liquid_half,
                    to_gov,
                }])
            }
            "power_up" => {
                let amt = positive(amount_field(payload, "amount", state)?)?;
                afford(amt, liquid(from), "liquid")?;
                Ok(vec![TokenEvent::PoweredUp {
                    account: from.into(),
                    amount: amt,
                }])
            }
            "gov_up" => {
                if !is_node(from) {
                    return Err(Reject::new(
                        RejectCode::NotANode,
                        format!("@{from} is not a registered node; only nodes lock governance stake"),
                    ));
                }
                let amt = positive(amount_field(payload, "amount", state)?)?;
                afford(amt, liquid(from), "liquid")?;
                Ok(vec![TokenEvent::GovLocked {
                    account: from.into(),
                    amount: amt,
                }])
            }
            "power_down" => self.withdraw(ctx, from, Unlock::Power, payload, state),
            "gov_down" => self.withdraw(ctx, from, Unlock::Gov, payload, state),
            "power_grant" => {
                let to = recipient_field(payload, "to", from)?;
                let amt = amount_field(payload, "amount", state)?;
                let previous = amount(state, &keys::grant(from, &to));
                if amt == previous {
                    return Err(Reject::new(
                        RejectCode::NothingToDo,
                        format!("@{from} already grants {amt} to @{to}"),
                    ));
                }
                if amt > previous {
                    afford(
                        amt - previous,
                        amount(state, &keys::account(Bucket::Power, from)),
                        "power",
                    )?;
                }
                Ok(vec![TokenEvent::PowerGranted {
                    from: from.into(),
                    to,
                    previous,
                    amount: amt,
                }])
            }
            other => Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("token has no operation `{other}`"),
            )),
        }
    }
}

fn broken(what: impl Into<String>) -> InvariantError {
    InvariantError {
        module: "token".into(),
        what: what.into(),
    }
}

fn add(state: &mut dyn StateWrite, key: Vec<u8>, by: u64) -> Result<(), InvariantError> {
    let now = amount(state, &key);
    let new = now
        .checked_add(by)
        .ok_or_else(|| broken(format!("{} overflows", String::from_utf8_lossy(&key))))?;
    if new == 0 {
        state.delete(&key);
    } else {
        state.put(key, encode_u64(new));
    }
    Ok(())
}

fn sub(state: &mut dyn StateWrite, key: Vec<u8>, by: u64) -> Result<(), InvariantError> {
    let now = amount(state, &key);
    let new = now.checked_sub(by).ok_or_else(|| {
        broken(format!(
            "{} would go negative ({now} - {by})",
            String::from_utf8_lossy(&key)
        ))
    })?;
    if new == 0 {
        state.delete(&key);
    } else {
        state.put(key, encode_u64(new));
    }
    Ok(())
}

/// Moves between buckets (or accounts), keeping the bucket totals.
fn credit(state: &mut dyn StateWrite, bucket: Bucket, acct: &str, by: u64) -> Result<(), InvariantError> {
    add(state, keys::account(bucket, acct), by)?;
    add(state, bucket.total_key().to_vec(), by)
}

fn debit(state: &mut dyn StateWrite, bucket: Bucket, acct: &str, by: u64) -> Result<(), InvariantError> {
    sub(state, keys::account(bucket, acct), by)?;
    sub(state, bucket.total_key().to_vec(), by)
}

fn cancel_schedule(state: &mut dyn StateWrite, unlock: Unlock, acct: &str) {
    let index = keys::schedule_index(unlock, acct);
    let blocks = state.get(&index).map(decode_blocks).unwrap_or_default();
    for b in blocks {
        state.delete(&keys::schedule(b, unlock, acct));
    }
    state.delete(&index);
}

impl Module for TokenModule {
    type Event = TokenEvent;

    fn name(&self) -> &'static str {
        "token"
    }

    fn routes(&self) -> &[Route] {
        ROUTES
    }

    fn accepts_hive_op(&self, op: &HiveOp, spec: &ChainSpec) -> bool {
        matches!(op, HiveOp::DelegateVestingShares(d) if d.delegatee == spec.delegation_account)
    }

    fn genesis(&self, _spec: &ChainSpec) -> Result<Vec<TokenEvent>, GenesisError> {
        let g = &self.cfg.genesis;
        let mut out = Vec::new();
        for (bucket, map) in [
            (Bucket::Liquid, &g.balances),
            (Bucket::Power, &g.pow),
            (Bucket::Gov, &g.gov),
            (Bucket::Claimable, &g.claimable),
        ] {
            for (account, amount) in map.iter().filter(|(_, a)| **a > 0) {
                out.push(TokenEvent::Minted {
                    account: account.clone(),
                    bucket,
                    amount: *amount,
                });
            }
        }
        let mut nodes = g.nodes.clone();
        nodes.sort();
        nodes.dedup();
        out.extend(nodes.into_iter().map(|account| TokenEvent::NodeRegistered { account }));
        for (account, vests) in g.delegations.iter().filter(|(_, v)| **v > 0) {
            out.push(TokenEvent::DelegationSet {
                account: account.clone(),
                vests: *vests,
            });
        }
        Ok(out)
    }

    fn handle(&self, ctx: &OpContext, input: Input, state: &dyn StateRead) -> Result<Vec<TokenEvent>, Reject> {
        match input {
            Input::CustomJson {
                name, from, payload, ..
            } => self.handle_custom_json(ctx, name, from, payload, state),
            Input::Hive(HiveOp::DelegateVestingShares(d)) => {
                if d.delegatee != ctx.spec.delegation_account {
                    return Err(Reject::new(
                        RejectCode::InvalidAccount,
                        format!(
                            "delegation to @{} is not to the delegation account @{}",
                            d.delegatee, ctx.spec.delegation_account
                        ),
                    ));
                }
                if d.vesting_shares.symbol != opentoken_core::AssetSymbol::Vests {
                    return Err(Reject::field(format!(
                        "vesting_shares must be VESTS, got {}",
                        d.vesting_shares.to_legacy()
                    )));
                }
                if !opentoken_core::account::is_valid_account_name(&d.delegator) {
                    return Err(Reject::new(
                        RejectCode::InvalidAccount,
                        format!("{:?} is not a valid Hive account", d.delegator),
                    ));
                }
                let vests = u64::try_from(d.vesting_shares.amount)
                    .map_err(|_| Reject::field("vesting_shares must not be negative"))?;
                let had = state.get(&keys::delegation(&d.delegator)).is_some();
                Ok(match (vests, had) {
                    (0, true) => vec![TokenEvent::DelegationRemoved {
                        account: d.delegator.clone(),
                    }],
                    (0, false) => vec![],
                    (v, _) => vec![TokenEvent::DelegationSet {
                        account: d.delegator.clone(),
                        vests: v,
                    }],
                })
            }
            Input::Hive(other) => Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("token does not handle Hive `{}`", other.name()),
            )),
            Input::Message(m) => {
                let account = serde_json::from_str::<serde_json::Value>(&m.payload)
                    .ok()
                    .and_then(|v| v.get("account").and_then(|a| a.as_str()).map(str::to_string))
                    .filter(|a| opentoken_core::account::is_valid_account_name(a));
                match (m.from.as_str(), m.kind.as_str(), account) {
                    ("nodes", "node_registered", Some(account)) => Ok(vec![TokenEvent::NodeRegistered { account }]),
                    ("nodes", "node_removed", Some(account)) => Ok(vec![TokenEvent::NodeRemoved { account }]),
                    ("nodes", "node_reward", Some(account)) => {
                        let reward = serde_json::from_str::<serde_json::Value>(&m.payload)
                            .ok()
                            .and_then(|v| v.get("amount").and_then(|a| a.as_u64()))
                            .filter(|a| *a > 0)
                            .ok_or_else(|| {
                                Reject::new(RejectCode::BadMessage, "node_reward needs a positive integer amount")
                            })?;
                        let supply = amount(state, keys::SUPPLY);
                        let held = amount(state, &keys::account(Bucket::Claimable, &account));
                        if supply.checked_add(reward).is_none() || held.checked_add(reward).is_none() {
                            return Err(Reject::new(
                                RejectCode::Overflow,
                                format!("rewarding {reward} to @{account} would overflow the supply"),
                            ));
                        }
                        Ok(vec![TokenEvent::Minted {
                            account,
                            bucket: Bucket::Claimable,
                            amount: reward,
                        }])
                    }
                    (from, kind, _) => Err(Reject::new(
                        RejectCode::BadMessage,
                        format!(
                            "token accepts node_registered/node_removed/node_reward {{account}} from nodes, not {kind} from {from}"
                        ),
                    )),
                }
            }
        }
    }

    fn on_block(&self, ctx: &BlockContext, state: &dyn StateRead) -> Result<Vec<TokenEvent>, InvariantError> {
        let mut out = Vec::new();
        for (k, v) in state.scan_prefix(keys::SCHEDULE_PREFIX) {
            let (block, unlock, account) =
                keys::parse_schedule(k).ok_or_else(|| broken(format!("malformed schedule key {k:?}")))?;
            if block > ctx.block {
                break;
            }
            let scheduled = keys::decode_u64(v).ok_or_else(|| broken("malformed schedule amount"))?;
            out.push(TokenEvent::WithdrawalPaid {
                account,
                unlock,
                block,
                scheduled,
                paid: scheduled,
            });
        }
        // Pay what is left: stake granted away or already withdrawn cannot be paid twice, also
        // when several installments of one account fall due in one block.
        let mut spent: std::collections::BTreeMap<(String, Unlock), u64> = std::collections::BTreeMap::new();
        for e in &mut out {
            if let TokenEvent::WithdrawalPaid {
                account, unlock, paid, ..
            } = e
            {
                let held = amount(state, &keys::account(unlock.bucket(), account));
                let used = spent.entry((account.clone(), *unlock)).or_insert(0);
                *paid = (*paid).min(held.saturating_sub(*used));
                *used += *paid;
            }
        }
        Ok(out)
    }

    fn next_due_block(&self, state: &dyn StateRead, _after: u64) -> Option<u64> {
        state
            .scan_prefix(keys::SCHEDULE_PREFIX)
            .next()
            .and_then(|(k, _)| keys::parse_schedule(k))
            .map(|(b, _, _)| b)
    }

    fn apply(&self, event: &TokenEvent, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
        match event {
            TokenEvent::Minted {
                account,
                bucket,
                amount,
            } => {
                credit(state, *bucket, account, *amount)?;
                add(state, keys::SUPPLY.to_vec(), *amount)
            }
            TokenEvent::Transferred { from, to, amount } => {
                debit(state, Bucket::Liquid, from, *amount)?;
                credit(state, Bucket::Liquid, to, *amount)
            }
            TokenEvent::PoweredUp { account, amount } => {
                debit(state, Bucket::Liquid, account, *amount)?;
                credit(state, Bucket::Power, account, *amount)
            }
            TokenEvent::GovLocked { account, amount } => {
                debit(state, Bucket::Liquid, account, *amount)?;
                credit(state, Bucket::Gov, account, *amount)
            }
            TokenEvent::Claimed {
                account,
                liquid,
                locked,
                to_gov,
            } => {
                debit(state, Bucket::Claimable, account, liquid + locked)?;
                credit(state, Bucket::Liquid, account, *liquid)?;
                credit(
                    state,
                    if *to_gov { Bucket::Gov } else { Bucket::Power },
                    account,
                    *locked,
                )
            }
            TokenEvent::WithdrawalScheduled {
                account,
                unlock,
                installments,
                ..
            } => {
                cancel_schedule(state, *unlock, account);
                for (block, amt) in installments {
                    state.put(keys::schedule(*block, *unlock, account), encode_u64(*amt));
                }
                if !installments.is_empty() {
                    let blocks: Vec<u64> = installments.iter().map(|(b, _)| *b).collect();
                    state.put(keys::schedule_index(*unlock, account), encode_blocks(&blocks));
                }
                Ok(())
            }
            TokenEvent::WithdrawalCancelled { account, unlock } => {
                cancel_schedule(state, *unlock, account);
                Ok(())
            }
            TokenEvent::WithdrawalPaid {
                account,
                unlock,
                block,
                paid,
                ..
            } => {
                state.delete(&keys::schedule(*block, *unlock, account));
                let index = keys::schedule_index(*unlock, account);
                let rest: Vec<u64> = state
                    .get(&index)
                    .map(decode_blocks)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|b| b != block)
                    .collect();
                if rest.is_empty() {
                    state.delete(&index);
                } else {
                    state.put(index, encode_blocks(&rest));
                }
                debit(state, unlock.bucket(), account, *paid)?;
                credit(state, Bucket::Liquid, account, *paid)
            }
            TokenEvent::PowerGranted {
                from,
                to,
                previous,
                amount,
            } => {
                if amount > previous {
                    let more = amount - previous;
                    debit(state, Bucket::Power, from, more)?;
                    add(state, keys::grant(from, to), more)?;
                    add(state, keys::granting(from), more)?;
                    add(state, keys::granted(to), more)?;
                    add(state, keys::GRANTED_TOTAL.to_vec(), more)
                } else {
                    let less = previous - amount;
                    sub(state, keys::grant(from, to), less)?;
                    sub(state, keys::granting(from), less)?;
                    sub(state, keys::granted(to), less)?;
                    sub(state, keys::GRANTED_TOTAL.to_vec(), less)?;
                    credit(state, Bucket::Power, from, less)
                }
            }
            TokenEvent::DelegationSet { account, vests } => {
                state.put(keys::delegation(account), encode_u64(*vests));
                Ok(())
            }
            TokenEvent::DelegationRemoved { account } => {
                state.delete(&keys::delegation(account));
                Ok(())
            }
            TokenEvent::NodeRegistered { account } => {
                state.put(keys::node(account), vec![1]);
                Ok(())
            }
            TokenEvent::NodeRemoved { account } => {
                state.delete(&keys::node(account));
                Ok(())
            }
        }
    }

    fn sends_to(&self) -> &[&'static str] {
        &["nodes"]
    }

    /// Registrations and rewards from the nodes module change balances and flags, never
    /// governance stake, so they never cause a message back.
    fn sends_on_messages(&self) -> bool {
        false
    }

    /// The nodes module keeps a mirror of governance stake (it elects runners and weighs
    /// reports by it); every event that changes a gov balance tells it by how much.
    fn messages(&self, event: &TokenEvent) -> Vec<Outgoing> {
        let (kind, account, amount) = match event {
            TokenEvent::Minted {
                account,
                bucket: Bucket::Gov,
                amount,
            } => ("gov_added", account, *amount),
            TokenEvent::GovLocked { account, amount } => ("gov_added", account, *amount),
            TokenEvent::Claimed {
                account,
                locked,
                to_gov: true,
                ..
            } => ("gov_added", account, *locked),
            TokenEvent::WithdrawalPaid {
                account,
                unlock: Unlock::Gov,
                paid,
                ..
            } => ("gov_removed", account, *paid),
            _ => return Vec::new(),
        };
        if amount == 0 {
            return Vec::new();
        }
        vec![Outgoing {
            to: "nodes".into(),
            kind: kind.into(),
            payload: serde_json::json!({ "account": account, "amount": amount }).to_string(),
        }]
    }

    fn event_kind(&self, event: &TokenEvent) -> &'static str {
        event.kind()
    }

    fn encode_event(&self, event: &TokenEvent) -> Result<Vec<u8>, InvariantError> {
        event
            .encode()
            .map_err(|e| broken(format!("encoding {}: {e}", event.kind())))
    }

    fn decode_event(&self, bytes: &[u8]) -> Result<TokenEvent, EventDecodeError> {
        TokenEvent::decode(bytes).map_err(|e| EventDecodeError {
            module: "token".into(),
            why: e.to_string(),
        })
    }

    fn describe(&self, event: &TokenEvent) -> String {
        match event {
            TokenEvent::Minted {
                account,
                bucket,
                amount,
            } => format!("genesis: {amount} to @{account} ({bucket:?})"),
            TokenEvent::Transferred { to, amount, .. } => format!("Sent @{to} {amount}"),
            TokenEvent::PoweredUp { amount, .. } => format!("Powered up {amount}"),
            TokenEvent::GovLocked { amount, .. } => format!("Locked {amount} for governance"),
            TokenEvent::Claimed {
                liquid, locked, to_gov, ..
            } => {
                format!(
                    "Claimed {} ({liquid} liquid, {locked} to {})",
                    liquid + locked,
                    if *to_gov { "gov" } else { "power" }
                )
            }
            TokenEvent::WithdrawalScheduled {
                unlock,
                total,
                installments,
                ..
            } => {
                format!(
                    "Scheduled {unlock:?} withdrawal of {total} in {} installments",
                    installments.len()
                )
            }
            TokenEvent::WithdrawalCancelled { unlock, .. } => format!("Cancelled {unlock:?} withdrawal"),
            TokenEvent::WithdrawalPaid {
                account,
                unlock,
                paid,
                scheduled,
                ..
            } => {
                format!("@{account} {unlock:?} withdrawal paid {paid} of {scheduled}")
            }
            TokenEvent::PowerGranted { to, amount, .. } => format!("Has granted {amount} to @{to}"),
            TokenEvent::DelegationSet { account, vests } => format!("@{account} delegates {vests} micro-VESTS"),
            TokenEvent::DelegationRemoved { account } => format!("@{account} removed their delegation"),
            TokenEvent::NodeRegistered { account } => format!("@{account} registered as a node"),
            TokenEvent::NodeRemoved { account } => format!("@{account} is no longer a node"),
        }
    }
}
