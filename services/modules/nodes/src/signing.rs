//! What nodes sign, and the payloads they broadcast. The node uses these to build its
//! `report` and `node_add` ops; the module uses the same functions to check them, so the
//! two cannot drift apart.
//!
//! Signing bytes start with a domain tag, so a signature over one kind of statement can never
//! be replayed as another (a report key also signs the checkpointer's reports); they bind the
//! Hive chain id and the community prefix, so a signature made for a testnet or for another
//! community is void here; strings are length-prefixed (u64 big-endian), so no two different
//! statements share bytes.

/// Domain tag of [`report_signing_bytes`].
pub const REPORT_OP_DOMAIN: &[u8] = b"opentoken/report-op/v1\0";
/// Domain tag of [`node_add_signing_bytes`].
pub const NODE_ADD_DOMAIN: &[u8] = b"opentoken/node-add/v1\0";

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The bytes a `report` op's ed25519 signature covers: "on chain `chain_id`, community
/// `prefix`, checkpoint `block` has consensus hash `hash`".
pub fn report_signing_bytes(chain_id: &[u8; 32], prefix: &str, block: u64, hash: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(REPORT_OP_DOMAIN.len() + 32 + 8 + prefix.len() + 8 + 32);
    out.extend_from_slice(REPORT_OP_DOMAIN);
    out.extend_from_slice(chain_id);
    put_str(&mut out, prefix);
    out.extend_from_slice(&block.to_be_bytes());
    out.extend_from_slice(hash);
    out
}

/// The bytes a `node_add`'s proofs of possession cover: the report key signs them directly
/// (ed25519), the multi-sig key signs their SHA-256 (secp256k1, Hive's signature format).
/// `mskey` is `""` when the registration carries no multi-sig key. Binding the account and
/// `pop_block` stops one node's proof from registering the key for another account, and an
/// old proof from being replayed after `pop_max_age`.
pub fn node_add_signing_bytes(
    chain_id: &[u8; 32],
    prefix: &str,
    account: &str,
    domain: &str,
    report_key: &[u8; 32],
    mskey: &str,
    pop_block: u64,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(NODE_ADD_DOMAIN.len() + 32 + 5 * 8 + prefix.len() + account.len() + 128);
    out.extend_from_slice(NODE_ADD_DOMAIN);
    out.extend_from_slice(chain_id);
    put_str(&mut out, prefix);
    put_str(&mut out, account);
    put_str(&mut out, domain);
    out.extend_from_slice(report_key);
    put_str(&mut out, mskey);
    out.extend_from_slice(&pop_block.to_be_bytes());
    out
}

/// The JSON of a `report` op (`<prefix>report`), as the module accepts it.
pub fn report_json(block: u64, hash: &[u8; 32], version: &str, sig: &[u8; 64]) -> String {
    serde_json::json!({
        "block": block,
        "hash": hex::encode(hash),
        "version": version,
        "sig": hex::encode(sig),
    })
    .to_string()
}

/// The JSON of a `node_add` op (`<prefix>node_add`) with default votes, as the module accepts
/// it. `mskey` is the `STM...` key with its 65-byte recoverable signature over the SHA-256 of
/// the signing bytes.
pub fn node_add_json(
    domain: &str,
    report_key: &[u8; 32],
    pop_block: u64,
    report_pop: &[u8; 64],
    mskey: Option<(&str, &[u8; 65])>,
) -> String {
    let mut v = serde_json::json!({
        "domain": domain,
        "report_key": hex::encode(report_key),
        "pop_block": pop_block,
        "report_pop": hex::encode(report_pop),
    });
    if let (Some((key, sig)), Some(obj)) = (mskey, v.as_object_mut()) {
        obj.insert("mskey".into(), serde_json::Value::String(key.to_string()));
        obj.insert("mskey_pop".into(), serde_json::Value::String(hex::encode(sig)));
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_bytes_layout_is_pinned() {
        let b = report_signing_bytes(&[7u8; 32], "dlux_", 300, &[9u8; 32]);
        let mut want = b"opentoken/report-op/v1\0".to_vec();
        want.extend_from_slice(&[7u8; 32]);
        want.extend_from_slice(&5u64.to_be_bytes());
        want.extend_from_slice(b"dlux_");
        want.extend_from_slice(&300u64.to_be_bytes());
        want.extend_from_slice(&[9u8; 32]);
        assert_eq!(b, want);
    }

    #[test]
    fn every_input_changes_the_bytes() {
        let base = report_signing_bytes(&[0; 32], "a_", 100, &[1; 32]);
        assert_ne!(base, report_signing_bytes(&[1; 32], "a_", 100, &[1; 32]));
        assert_ne!(base, report_signing_bytes(&[0; 32], "b_", 100, &[1; 32]));
        assert_ne!(base, report_signing_bytes(&[0; 32], "a_", 200, &[1; 32]));
        assert_ne!(base, report_signing_bytes(&[0; 32], "a_", 100, &[2; 32]));
        let n = |acct: &str, domain: &str, mskey: &str, block: u64| {
            node_add_signing_bytes(&[0; 32], "a_", acct, domain, &[3; 32], mskey, block)
        };
        let base = n("alice", "https://x", "", 5);
        assert_ne!(base, n("bob", "https://x", "", 5));
        assert_ne!(base, n("alice", "https://y", "", 5));
        assert_ne!(base, n("alice", "https://x", "STM1", 5));
        assert_ne!(base, n("alice", "https://x", "", 6));
        // Length prefixes: moving a character between fields changes the bytes.
        assert_ne!(n("alice", "https://x", "", 5), n("alicehttps://x", "", "", 5));
        assert!(base.starts_with(b"opentoken/node-add/v1\0"));
    }

    #[test]
    fn json_helpers_emit_the_fields() {
        let r: serde_json::Value = serde_json::from_str(&report_json(100, &[0xab; 32], "v1", &[0xcd; 64])).unwrap();
        assert_eq!(r["block"], 100);
        assert_eq!(r["hash"], "ab".repeat(32));
        assert_eq!(r["sig"], "cd".repeat(64));
        assert_eq!(r["version"], "v1");
        let n: serde_json::Value = serde_json::from_str(&node_add_json(
            "https://n",
            &[1; 32],
            7,
            &[2; 64],
            Some(("STMx", &[3; 65])),
        ))
        .unwrap();
        assert_eq!(n["domain"], "https://n");
        assert_eq!(n["pop_block"], 7);
        assert_eq!(n["mskey"], "STMx");
        assert_eq!(n["mskey_pop"], "03".repeat(65));
        let n: serde_json::Value =
            serde_json::from_str(&node_add_json("https://n", &[1; 32], 7, &[2; 64], None)).unwrap();
        assert!(n.get("mskey").is_none() && n.get("mskey_pop").is_none());
    }
}
