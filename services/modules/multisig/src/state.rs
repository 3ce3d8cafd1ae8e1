//! Reads the decisions check against, and the checked writes of `apply`. The key layout is
//! in [`crate::keys`].

use crate::keys::{self, decode_u64, encode_u64, Coin, OpenTx, Outflow, Signers};
use crate::NAME;
use opentoken_core::module::InvariantError;
use opentoken_core::{StateRead, StateWrite};

/// The largest amount the ledger holds anywhere: Hive's asset range.
pub(crate) const MAX_AMOUNT: u64 = i64::MAX as u64;

/// Whether `now + by` stays in the ledger's range.
pub(crate) fn fits(now: u64, by: u64) -> bool {
    now.checked_add(by).is_some_and(|n| n <= MAX_AMOUNT)
}

/// A broken invariant of this module: the processor stops rather than guess.
pub(crate) fn broken(what: impl Into<String>) -> InvariantError {
    InvariantError {
        module: NAME.into(),
        what: what.into(),
    }
}

/// Reads an amount; a missing key is zero. A malformed value reads as zero too, but cannot
/// exist: only `apply` writes, and it writes 8 bytes.
pub(crate) fn amount(state: &dyn StateRead, key: &[u8]) -> u64 {
    state.get(key).and_then(decode_u64).unwrap_or(0)
}

pub(crate) fn balance(state: &dyn StateRead, coin: Coin, account: &str) -> u64 {
    amount(state, &keys::balance(coin, account))
}

/// The number the next outflow gets.
pub(crate) fn next_seq(state: &dyn StateRead) -> u64 {
    amount(state, keys::SEQ)
}

/// An unpaid outflow. A record that does not decode is a broken invariant (only `apply`
/// writes them); decisions treat it as missing and `apply` refuses to go on.
pub(crate) fn outflow(state: &dyn StateRead, seq: u64) -> Result<Option<Outflow>, InvariantError> {
    match state.get(&keys::outflow(seq)) {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| broken(format!("out/{seq} does not decode: {e}"))),
    }
}

/// The signers, once the nodes module has named them.
pub(crate) fn signers(state: &dyn StateRead) -> Result<Option<Signers>, InvariantError> {
    match state.get(keys::SIGNERS) {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| broken(format!("signers do not decode: {e}"))),
    }
}

/// The signers the account's authority should rotate to, if the runner set changed.
pub(crate) fn wanted(state: &dyn StateRead) -> Result<Option<Signers>, InvariantError> {
    match state.get(keys::WANTED) {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| broken(format!("wanted signers do not decode: {e}"))),
    }
}

/// The open multi-sig transaction (there is at most one).
pub(crate) fn open_tx(state: &dyn StateRead) -> Result<Option<OpenTx>, InvariantError> {
    let Some((key, bytes)) = state.scan_prefix(keys::TX_PREFIX).next() else {
        return Ok(None);
    };
    let tx: OpenTx =
        serde_json::from_slice(bytes).map_err(|e| broken(format!("{} does not decode: {e}", show(key))))?;
    if keys::seq_of(key, keys::TX_PREFIX) != Some(tx.checkpoint) {
        return Err(broken(format!(
            "{} holds the transaction of {}",
            show(key),
            tx.checkpoint
        )));
    }
    Ok(Some(tx))
}

/// Lower-case hex, as Hive prints ids, digests and signatures.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// The bytes of lower-case hex text: one spelling per byte string, so that a signature has
/// exactly one accepted form.
pub(crate) fn from_lower_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

pub(crate) fn show(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

/// Adds to one key; a result above [`MAX_AMOUNT`] is a broken invariant (decisions refuse
/// inputs that would get there), zero deletes it.
pub(crate) fn add(state: &mut dyn StateWrite, key: Vec<u8>, by: u64) -> Result<(), InvariantError> {
    let now = amount(state, &key);
    let new = now
        .checked_add(by)
        .filter(|n| *n <= MAX_AMOUNT)
        .ok_or_else(|| broken(format!("{} overflows ({now} + {by})", show(&key))))?;
    put_amount(state, key, new);
    Ok(())
}

/// Subtracts from one key; going below zero is a broken invariant.
pub(crate) fn sub(state: &mut dyn StateWrite, key: Vec<u8>, by: u64) -> Result<(), InvariantError> {
    let now = amount(state, &key);
    let new = now
        .checked_sub(by)
        .ok_or_else(|| broken(format!("{} would go negative ({now} - {by})", show(&key))))?;
    put_amount(state, key, new);
    Ok(())
}

fn put_amount(state: &mut dyn StateWrite, key: Vec<u8>, v: u64) {
    if v == 0 {
        state.delete(&key);
    } else {
        state.put(key, encode_u64(v));
    }
}

/// Writes a record as canonical JSON; an encoding failure is a bug, not input.
pub(crate) fn put_json<T: serde::Serialize>(
    state: &mut dyn StateWrite,
    key: Vec<u8>,
    value: &T,
) -> Result<(), InvariantError> {
    let bytes = serde_json::to_vec(value).map_err(|e| broken(format!("encoding {}: {e}", show(&key))))?;
    state.put(key, bytes);
    Ok(())
}

/// Adds `key = value` to a history of at most `keep` entries under `prefix`, counted in
/// `count_key`: the entries with the lowest keys go first. With `keep == 0` nothing is kept.
pub(crate) fn push_bounded(
    state: &mut dyn StateWrite,
    prefix: &[u8],
    count_key: &[u8],
    keep: u64,
    key: Vec<u8>,
    value: Vec<u8>,
) -> Result<(), InvariantError> {
    if keep == 0 {
        return Ok(());
    }
    if state.get(&key).is_some() {
        return Err(broken(format!("{} is written twice", show(&key))));
    }
    let mut count = amount(state, count_key);
    while count >= keep {
        let oldest = state
            .scan_prefix(prefix)
            .next()
            .map(|(k, _)| k.to_vec())
            .ok_or_else(|| broken(format!("{} says {count} but none is left", show(count_key))))?;
        state.delete(&oldest);
        count -= 1;
    }
    state.put(key, value);
    put_amount(state, count_key.to_vec(), count + 1);
    Ok(())
}

/// The books balance: for each coin, what the account is expected to hold equals the
/// users' balances plus the outflows not yet paid plus what modules hold in escrow.
/// Checked by `apply` after every event, so a bug that breaks it stops the processor
/// before the state is committed.
pub(crate) fn check_books(state: &dyn StateRead, coin: Coin) -> Result<(), InvariantError> {
    let held = amount(state, &keys::held(coin));
    let balances = amount(state, &keys::total_balances(coin));
    let pending = amount(state, &keys::total_pending(coin));
    let mut escrow = 0u64;
    for module in keys::ESCROW_MODULES {
        escrow = escrow
            .checked_add(amount(state, &keys::total_escrow(module, coin)))
            .ok_or_else(|| broken(format!("{coin}: the escrows overflow")))?;
    }
    if balances.checked_add(pending).and_then(|n| n.checked_add(escrow)) != Some(held) {
        return Err(broken(format!(
            "{coin}: held {held} != balances {balances} + pending outflows {pending} + module escrows {escrow}"
        )));
    }
    Ok(())
}
