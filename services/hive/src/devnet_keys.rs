//! The keys of simulated accounts: derived from the account name, so every test and every
//! devnet node can sign for any devnet account without a key file. Public by design: these
//! keys protect nothing and exist only on simulated chains.

use opentoken_hive_tx::PrivateKey;
use sha2::{Digest, Sha256};

/// Which of an account's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    Owner,
    Active,
    Posting,
    Memo,
}

/// The simulator's key of `account` for `role`.
pub fn devnet_key(account: &str, role: KeyRole) -> PrivateKey {
    let tag: &[u8] = match role {
        KeyRole::Owner => b"owner",
        KeyRole::Active => b"active",
        KeyRole::Posting => b"posting",
        KeyRole::Memo => b"memo",
    };
    let mut counter = 0u32;
    loop {
        let mut h = Sha256::new();
        h.update(b"opentoken/devnet/key/");
        h.update(tag);
        h.update(b"/");
        h.update(account.as_bytes());
        h.update(counter.to_le_bytes());
        // A SHA-256 output is a valid scalar except with probability ~2^-128.
        if let Ok(k) = PrivateKey::from_secret(h.finalize().into()) {
            return k;
        }
        counter += 1;
    }
}
