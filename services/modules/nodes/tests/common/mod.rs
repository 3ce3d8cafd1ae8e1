//! Test helpers: deterministic node keys and signed op payloads; the engine is the shared
//! harness (`opentoken_core::test_utils::TestNet`).
#![allow(dead_code)]

use ed25519_dalek::{Signer, SigningKey};
use opentoken_core::test_utils::{op, posting_op, test_spec};
use opentoken_core::{ChainSpec, HiveOp};
use opentoken_nodes::{node_add_json, node_add_signing_bytes, report_json, report_signing_bytes};

/// A node's ed25519 report key, derived from its name so every net agrees.
pub(crate) fn key(account: &str) -> SigningKey {
    let mut seed = [0u8; 32];
    for (i, b) in account.bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    seed[31] ^= 0x5a;
    SigningKey::from_bytes(&seed)
}

/// `node_add` JSON for `account`, proven with its key at `pop_block`.
pub(crate) fn node_add(spec: &ChainSpec, account: &str, pop_block: u64) -> String {
    let k = key(account);
    let domain = format!("https://{account}.example");
    let vk = *k.verifying_key().as_bytes();
    let bytes = node_add_signing_bytes(
        &spec.hive_chain_id(),
        &spec.prefix,
        account,
        &domain,
        &vk,
        "",
        pop_block,
    );
    node_add_json(&domain, &vk, pop_block, &k.sign(&bytes).to_bytes(), None)
}

/// `node_add` JSON for `account` with the multi-sig key of `ms`, both proven at `pop_block`.
pub(crate) fn node_add_ms(
    spec: &ChainSpec,
    account: &str,
    pop_block: u64,
    ms: &opentoken_hive_tx::PrivateKey,
) -> String {
    use sha2::{Digest, Sha256};
    let k = key(account);
    let domain = format!("https://{account}.example");
    let vk = *k.verifying_key().as_bytes();
    let ms_text = ms.public().to_string();
    let bytes = node_add_signing_bytes(
        &spec.hive_chain_id(),
        &spec.prefix,
        account,
        &domain,
        &vk,
        &ms_text,
        pop_block,
    );
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    let ms_sig = ms.sign(&digest);
    node_add_json(
        &domain,
        &vk,
        pop_block,
        &k.sign(&bytes).to_bytes(),
        Some((&ms_text, ms_sig.as_bytes())),
    )
}

/// `report` JSON for checkpoint `block`, signed by `signer`'s key for `chain_id` and `prefix`.
pub(crate) fn report_with(chain_id: &[u8; 32], prefix: &str, signer: &str, block: u64, hash: [u8; 32]) -> String {
    let sig = key(signer).sign(&report_signing_bytes(chain_id, prefix, block, &hash));
    report_json(block, &hash, "opentoken/test", &sig.to_bytes())
}

/// A correctly signed report by `signer`.
pub(crate) fn report(spec: &ChainSpec, signer: &str, block: u64, hash: [u8; 32]) -> String {
    report_with(&spec.hive_chain_id(), &spec.prefix, signer, block, hash)
}

/// A custom_json op of this community, active- or posting-signed.
pub(crate) fn cj(signer: &str, name: &str, json: &str, active: bool) -> HiveOp {
    if active {
        op(signer, name, json)
    } else {
        posting_op(signer, name, json)
    }
}

/// The test spec (checkpoints every 10 blocks) with the given nodes section.
pub(crate) fn spec(nodes: serde_json::Value) -> ChainSpec {
    test_spec().with_module("nodes", nodes)
}
