//! The ledger's state: the balance reads the ops check against, and the writes of `apply`,
//! which keep each bucket's total equal to the sum of its accounts. The key layout is in
//! [`crate::keys`].

use crate::keys::{self, amount, decode_blocks, encode_u64, Bucket, Unlock};
use crate::NAME;
use opentoken_core::module::InvariantError;
use opentoken_core::{Reject, RejectCode, StateRead, StateWrite};

/// The liquid balance of `acct`.
pub(crate) fn liquid(state: &dyn StateRead, acct: &str) -> u64 {
    amount(state, &keys::account(Bucket::Liquid, acct))
}

/// Whether the nodes module told this one that `acct` is a registered node.
pub(crate) fn is_node(state: &dyn StateRead, acct: &str) -> bool {
    state.get(&keys::node(acct)).is_some()
}

/// Refuses to spend `amt` of `what` when `from` holds only `have`.
/// The positive `amount` of `payload` that `from` can pay from its liquid balance: the
/// check every op that spends liquid tokens (send, power_up, gov_up) makes first.
pub(crate) fn liquid_amount(from: &str, payload: &crate::parse::Payload, state: &dyn StateRead) -> Result<u64, Reject> {
    let amt = crate::parse::positive(crate::parse::amount_field(payload, "amount", state)?)?;
    afford(from, amt, liquid(state, from), "liquid")?;
    Ok(amt)
}

/// Refuses to create `key` for `to` (a first balance or a new grant) with less than the
/// chain's `min_send_to_new_account`; an existing key takes any amount.
pub(crate) fn enough_for_new_key(
    min: u64,
    state: &dyn StateRead,
    key: &[u8],
    amt: u64,
    what: &str,
) -> Result<(), Reject> {
    if amt >= min || state.get(key).is_some() {
        return Ok(());
    }
    Err(Reject::new(
        RejectCode::InvalidField,
        format!("{what} must be at least {min} (min_send_to_new_account), got {amt}"),
    ))
}

pub(crate) fn afford(from: &str, amt: u64, have: u64, what: &str) -> Result<(), Reject> {
    if amt > have {
        Err(Reject::new(
            RejectCode::InsufficientFunds,
            format!("@{from} has {have} {what}, needs {amt}"),
        ))
    } else {
        Ok(())
    }
}

/// Whether a module that holds tokens in this ledger's escrow (`escrow`: the DEX's, the
/// NFT module's) may credit `amount` of it to `account`: not nothing, to a Hive account or
/// that module's fee account, not more than the escrow holds, without overflowing the
/// balance. `who` names the module in the reasons. Refused, never guessed: the module
/// would be wrong, and the ledger stays whole.
pub(crate) fn escrow_credit(
    state: &dyn StateRead,
    escrow: &[u8],
    who: &str,
    account: &str,
    amt: u64,
    fee_account: &str,
) -> Result<(), Reject> {
    let bad = |why: String| Err(Reject::new(RejectCode::BadMessage, why));
    if amt == 0 {
        return bad(format!("a {who} credit of 0 to @{account} moves nothing"));
    }
    if !(opentoken_core::account::is_valid_account_name(account) || account == fee_account) {
        return bad(format!(
            "a {who} credit to {:?}, which is neither a Hive account nor the fee account",
            account.chars().take(20).collect::<String>()
        ));
    }
    let held = amount(state, escrow);
    if amt > held {
        return bad(format!(
            "a {who} credit of {amt} to @{account} is more than the {held} its escrow holds"
        ));
    }
    let balance = liquid(state, account);
    let total = amount(state, Bucket::Liquid.total_key());
    if balance.checked_add(amt).is_none() || total.checked_add(amt).is_none() {
        return Err(Reject::new(
            RejectCode::Overflow,
            format!("crediting {amt} to @{account} would overflow"),
        ));
    }
    Ok(())
}

/// A broken invariant of this module: the processor stops rather than guess.
pub(crate) fn broken(what: impl Into<String>) -> InvariantError {
    InvariantError {
        module: NAME.into(),
        what: what.into(),
    }
}

/// Adds to one key; a zero result deletes it.
pub(crate) fn add(state: &mut dyn StateWrite, key: Vec<u8>, by: u64) -> Result<(), InvariantError> {
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

/// Subtracts from one key; going below zero is a broken invariant.
pub(crate) fn sub(state: &mut dyn StateWrite, key: Vec<u8>, by: u64) -> Result<(), InvariantError> {
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
pub(crate) fn credit(state: &mut dyn StateWrite, bucket: Bucket, acct: &str, by: u64) -> Result<(), InvariantError> {
    add(state, keys::account(bucket, acct), by)?;
    add(state, bucket.total_key().to_vec(), by)
}

/// The other half of [`credit`]: takes from an account and its bucket's total.
pub(crate) fn debit(state: &mut dyn StateWrite, bucket: Bucket, acct: &str, by: u64) -> Result<(), InvariantError> {
    sub(state, keys::account(bucket, acct), by)?;
    sub(state, bucket.total_key().to_vec(), by)
}

/// Deletes every pending installment of `acct`'s withdrawal of `unlock`, and its index.
pub(crate) fn cancel_schedule(state: &mut dyn StateWrite, unlock: Unlock, acct: &str) {
    let index = keys::schedule_index(unlock, acct);
    let blocks = state.get(&index).map(decode_blocks).unwrap_or_default();
    for b in blocks {
        state.delete(&keys::schedule(b, unlock, acct));
    }
    state.delete(&index);
}
