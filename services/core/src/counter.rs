//! Counters in a module's state: totals, escrows and sequence numbers as 8-byte
//! big-endian values, absent at zero (so a zero total leaves no key behind and the state,
//! and its commitment, do not depend on how a total got to zero). `add` and `sub` are for
//! `apply`: a total that would overflow or go below zero is a broken invariant (the
//! processor stops), never bad input.

use crate::module::InvariantError;
use crate::state::{StateRead, StateWrite};

/// The counter at `key` (0 when absent or not 8 bytes).
pub fn read(state: &dyn StateRead, key: &[u8]) -> u64 {
    state
        .get(key)
        .and_then(|v| <[u8; 8]>::try_from(v).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// Sets the counter at `key` (deleting it at 0).
pub fn put(state: &mut dyn StateWrite, key: Vec<u8>, v: u64) {
    if v == 0 {
        state.delete(&key);
    } else {
        state.put(key, v.to_be_bytes().to_vec());
    }
}

/// Adds `by` to the counter at `key`; `module` names whose invariant an overflow breaks.
pub fn add(state: &mut dyn StateWrite, module: &str, key: Vec<u8>, by: u64) -> Result<(), InvariantError> {
    let v = read(state, &key).checked_add(by).ok_or_else(|| InvariantError {
        module: module.into(),
        what: format!("{} overflows", String::from_utf8_lossy(&key)),
    })?;
    put(state, key, v);
    Ok(())
}

/// Takes `by` from the counter at `key`; below zero breaks `module`'s invariant.
pub fn sub(state: &mut dyn StateWrite, module: &str, key: Vec<u8>, by: u64) -> Result<(), InvariantError> {
    let v = read(state, &key).checked_sub(by).ok_or_else(|| InvariantError {
        module: module.into(),
        what: format!("{} would go below zero (by {by})", String::from_utf8_lossy(&key)),
    })?;
    put(state, key, v);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ModuleState;

    #[test]
    fn counters_are_absent_at_zero_and_never_wrap() {
        let mut s = ModuleState::new();
        add(&mut s, "m", b"t".to_vec(), 5).unwrap();
        assert_eq!(read(&s, b"t"), 5);
        sub(&mut s, "m", b"t".to_vec(), 5).unwrap();
        assert!(s.get(b"t").is_none(), "no key at zero");
        assert!(sub(&mut s, "m", b"t".to_vec(), 1).is_err());
        put(&mut s, b"t".to_vec(), u64::MAX);
        let e = add(&mut s, "m", b"t".to_vec(), 1).unwrap_err();
        assert_eq!(e.module, "m");
        assert_eq!(read(&s, b"t"), u64::MAX, "unchanged on overflow");
    }
}
