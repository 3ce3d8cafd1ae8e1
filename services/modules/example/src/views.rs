//! Typed reads of the guestbook's state, for queries (the API, tests).

use crate::events::entry_key;
use opentoken_core::StateRead;

/// `account`'s entry, if it signed (an entry that is not UTF-8 cannot be written by
/// `apply`, and reads as none).
pub fn entry(state: &dyn StateRead, account: &str) -> Option<String> {
    let bytes = state.get(&entry_key(account))?;
    String::from_utf8(bytes.to_vec()).ok()
}
