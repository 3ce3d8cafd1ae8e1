//! The keys of simulated accounts: derived from the account name, so every test and every
//! devnet node can sign for any devnet account without a key file. Public by design: these
//! keys protect nothing and exist only on simulated chains.

use opentoken_hive_tx::{Authority, PrivateKey};
use sha2::{Digest, Sha256};

/// Which of an account's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    Owner,
    Active,
    Posting,
    Memo,
    /// The key a devnet runner registers as its node's multi-sig key (`mskey`) and signs
    /// the community account's transactions with. Apart from its active key, as on Hive,
    /// where a runner's multi-sig key sits in another account's authority and must not
    /// also move the runner's own funds.
    Multisig,
}

/// The simulator's key of `account` for `role`.
pub fn devnet_key(account: &str, role: KeyRole) -> PrivateKey {
    let tag: &[u8] = match role {
        KeyRole::Owner => b"owner",
        KeyRole::Active => b"active",
        KeyRole::Posting => b"posting",
        KeyRole::Memo => b"memo",
        KeyRole::Multisig => b"multisig",
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

/// The active authority a devnet's multi-sig account starts with: the [`KeyRole::Multisig`]
/// keys of `signers` (its genesis runners), weight 1 each, and more than two thirds of them
/// (`floor(2n/3) + 1`, the multisig module's threshold) to sign. The same list twice is one
/// signer. `None` for no signers: such an account keeps its own single key, as nobody could
/// sign for it otherwise.
pub fn devnet_multisig_authority<S: AsRef<str>>(signers: &[S]) -> Option<Authority> {
    let mut a = Authority::default();
    for s in signers {
        a.key_auths
            .insert(devnet_key(s.as_ref(), KeyRole::Multisig).public(), 1);
    }
    let n = a.key_auths.len();
    if n == 0 {
        return None;
    }
    a.weight_threshold = u32::try_from(2 * n / 3 + 1).unwrap_or(u32::MAX);
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_give_distinct_keys_and_the_same_name_the_same_key() {
        let roles = [
            KeyRole::Owner,
            KeyRole::Active,
            KeyRole::Posting,
            KeyRole::Memo,
            KeyRole::Multisig,
        ];
        let keys: std::collections::BTreeSet<String> = roles
            .iter()
            .map(|r| devnet_key("alice", *r).public().to_string())
            .collect();
        assert_eq!(keys.len(), roles.len());
        assert_eq!(
            devnet_key("alice", KeyRole::Multisig).public(),
            devnet_key("alice", KeyRole::Multisig).public()
        );
        assert_ne!(
            devnet_key("alice", KeyRole::Multisig).public(),
            devnet_key("bob", KeyRole::Multisig).public()
        );
    }

    #[test]
    fn the_multisig_authority_needs_more_than_two_thirds() {
        assert_eq!(devnet_multisig_authority::<&str>(&[]), None);
        let one = devnet_multisig_authority(&["dlux-io"]).unwrap();
        assert_eq!(one.weight_threshold, 1);
        assert_eq!(
            one.key_auths.keys().next(),
            Some(&devnet_key("dlux-io", KeyRole::Multisig).public())
        );
        let four = devnet_multisig_authority(&["a-1", "b-1", "c-1", "d-1", "b-1"]).unwrap();
        assert_eq!(four.key_auths.len(), 4, "b-1 once");
        assert!(four.key_auths.values().all(|w| *w == 1));
        assert_eq!(four.weight_threshold, 3);
        assert!(four.account_auths.is_empty());
        let names: Vec<String> = (0..6).map(|i| format!("node-{i}")).collect();
        assert_eq!(devnet_multisig_authority(&names).unwrap().weight_threshold, 5);
    }
}
