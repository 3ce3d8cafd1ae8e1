//! Multi-signature transactions against golden data.
//!
//! 1. A real multi-signed mainnet transaction: the VSC gateway's owner-authority
//!    `account_update` of `vsc.gateway` (2024-09-12, epoch 378), as recorded in wax's test
//!    assets (`requiredOwnerAuthorityTransaction`, see `tests/fixtures/hive/README.md`).
//!    Its new owner authority has 21 keys of weight 1 plus `vsc.network` (weight 11),
//!    threshold 11, and the transaction carries 11 signatures. All 11 must recover, over
//!    our digest, to distinct keys of that authority whose weights reach the threshold. A
//!    single wrong byte in our serialization would make every signature recover to a
//!    random key, so this pins the bytes, and with them the id.
//! 2. A fresh 2-of-3 multi-signed transfer, assembled with the crate's signing API, as a
//!    sanity check of multi-sig assembly.

use opentoken_core::{Asset, AssetSymbol};
use opentoken_hive_tx::{
    transaction_json_bytes, transaction_json_ids, Authority, Operation, Packing, PrivateKey, PublicKey, Signature,
    SignedTransaction, Transaction, MAINNET_CHAIN_ID,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// The id of the fixture transaction. The source lists no id and no block, so this was
/// computed here (legacy = hf26: the transaction holds no asset). It is vouched for by the
/// 11 real signatures, which recover to the authority's keys only over these bytes.
const VSC_GATEWAY_TX_ID: &str = "daace549d46bb680475ee00671998b1369856041";
/// sha256(mainnet chain id ‖ unsigned bytes) of the fixture transaction.
const VSC_GATEWAY_SIG_DIGEST: &str = "7fb0b86be91f208d10d4dc66c75304f9675709db95f474a9d5a5d76b9518c80f";

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/hive/vsc-gateway-owner-update-2024-09-12.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

fn sig_digest(chain_id: &[u8; 32], unsigned: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(chain_id);
    h.update(unsigned);
    h.finalize().into()
}

/// An authority in the JSON form (`[[key, weight]]` pairs), keys kept in the JSON's order.
fn authority_keys(a: &Value) -> Vec<(PublicKey, u16)> {
    a["key_auths"]
        .as_array()
        .expect("key_auths")
        .iter()
        .map(|p| {
            let key = PublicKey::from_string(p[0].as_str().expect("key string")).expect("a real key");
            let weight = u16::try_from(p[1].as_u64().expect("weight")).expect("u16 weight");
            (key, weight)
        })
        .collect()
}

fn authority(a: &Value, keys_in_order: impl IntoIterator<Item = (PublicKey, u16)>) -> Authority {
    Authority {
        weight_threshold: u32::try_from(a["weight_threshold"].as_u64().expect("threshold")).expect("u32"),
        account_auths: a["account_auths"]
            .as_array()
            .expect("account_auths")
            .iter()
            .map(|p| {
                (
                    p[0].as_str().expect("name").to_string(),
                    u16::try_from(p[1].as_u64().expect("weight")).expect("u16"),
                )
            })
            .collect(),
        key_auths: keys_in_order.into_iter().collect(),
    }
}

#[test]
fn vsc_gateway_owner_update_reproduces_its_id_and_every_signer() {
    let tx = fixture();
    let op = &tx["operations"][0]["value"];
    assert_eq!(op["account"], "vsc.gateway");

    // The id, by the crate's JSON path (no asset: both packings give one id).
    let (legacy_id, hf26_id) = transaction_json_ids(&tx).expect("serializable");
    assert_eq!(legacy_id, hf26_id);
    assert_eq!(legacy_id, VSC_GATEWAY_TX_ID);

    let unsigned = transaction_json_bytes(&tx, Packing::Legacy, false).expect("serializable");
    assert_eq!(hex::encode(&Sha256::digest(&unsigned)[..20]), VSC_GATEWAY_TX_ID);
    let digest = sig_digest(&MAINNET_CHAIN_ID, &unsigned);
    assert_eq!(hex::encode(digest), VSC_GATEWAY_SIG_DIGEST);

    // The new owner authority: 21 keys of weight 1 and vsc.network at 11, threshold 11.
    let owner_keys = authority_keys(&op["owner"]);
    let owner: BTreeMap<PublicKey, u16> = owner_keys.iter().copied().collect();
    assert_eq!(owner.len(), 21, "21 distinct keys");
    assert!(owner.values().all(|&w| w == 1));
    assert_eq!(op["owner"]["weight_threshold"], 11);
    assert_eq!(op["owner"]["account_auths"], serde_json::json!([["vsc.network", 11]]));

    // Every signature recovers, over the mainnet digest, to a distinct owner key. An owner
    // change is signed by the account's *current* owner authority, which this data does not
    // show; what it does show is that all 11 signers are members of the new owner authority
    // (VSC keeps the signers of epoch 378 in its key set), so that is what is asserted.
    let sigs = tx["signatures"].as_array().expect("signatures");
    assert_eq!(sigs.len(), 11);
    let mut signers = BTreeSet::new();
    for (i, s) in sigs.iter().enumerate() {
        let sig = Signature::from_hex(s.as_str().expect("hex")).expect("65-byte signature");
        assert!(
            sig.is_low_s() && sig.is_fc_canonical(),
            "signature {i} is not canonical"
        );
        let key = sig.recover(&digest).expect("recovers a key");
        assert!(
            owner.contains_key(&key),
            "signature {i} recovers {key}, not an owner key"
        );
        assert!(key.verify(&digest, &sig));
        assert!(signers.insert(key), "signature {i} repeats signer {key}");
    }
    let weight: u32 = signers.iter().map(|k| u32::from(owner[k])).sum();
    assert_eq!(signers.len(), 11);
    assert!(weight >= 11, "signer weight {weight} is below the threshold 11");

    // Over another chain id, or another transaction, the same signatures name other keys.
    let mut other = unsigned.clone();
    other[0] ^= 1;
    for d in [sig_digest(&[0u8; 32], &unsigned), sig_digest(&MAINNET_CHAIN_ID, &other)] {
        for s in sigs {
            let sig = Signature::from_hex(s.as_str().expect("hex")).expect("signature");
            assert!(sig.recover(&d).map_or(true, |k| !owner.contains_key(&k)));
        }
    }

    // The signed bytes: unsigned bytes, varint 11, then the 65-byte signatures.
    let signed = transaction_json_bytes(&tx, Packing::Legacy, true).expect("serializable");
    assert_eq!(signed.len(), unsigned.len() + 1 + 11 * 65);
    assert_eq!(&signed[..unsigned.len()], &unsigned[..]);
    assert_eq!(signed[unsigned.len()], 11);
}

/// Hive writes `key_auths` sorted by the 33-byte compressed key (memcmp). The source lists
/// them in that order; the typed serializer (`Authority` + `Operation::AccountUpdate`)
/// writes them sorted whatever order it is given, and its bytes equal the JSON path's;
/// the JSON path refuses an unsorted list instead of guessing.
#[test]
fn vsc_gateway_key_auths_are_canonical_and_the_typed_serializer_sorts_them() {
    let tx = fixture();
    let op = &tx["operations"][0]["value"];
    let keys = authority_keys(&op["owner"]);
    assert!(
        keys.windows(2).all(|w| w[0].0.as_bytes() < w[1].0.as_bytes()),
        "the source lists key_auths in memcmp order"
    );

    // Rebuild the transaction with the crate's typed API, keys fed in reverse order.
    let reversed: Vec<(PublicKey, u16)> = keys.iter().rev().copied().collect();
    let typed = Transaction {
        ref_block_num: u16::try_from(tx["ref_block_num"].as_u64().expect("num")).expect("u16"),
        ref_block_prefix: u32::try_from(tx["ref_block_prefix"].as_u64().expect("prefix")).expect("u32"),
        expiration: u32::try_from(
            opentoken_core::hive_json::parse_timestamp(tx["expiration"].as_str().expect("time")).expect("time"),
        )
        .expect("u32"),
        operations: vec![Operation::AccountUpdate {
            account: op["account"].as_str().expect("account").to_string(),
            owner: Some(authority(&op["owner"], reversed)),
            active: Some(authority(&op["active"], authority_keys(&op["active"]))),
            posting: Some(authority(&op["posting"], authority_keys(&op["posting"]))),
            memo_key: PublicKey::from_string(op["memo_key"].as_str().expect("memo key")).expect("key"),
            json_metadata: op["json_metadata"].as_str().expect("metadata").to_string(),
        }],
    };
    let from_json = transaction_json_bytes(&tx, Packing::Legacy, false).expect("serializable");
    assert_eq!(typed.to_bytes(Packing::Legacy), from_json);
    assert_eq!(typed.id(Packing::Legacy), VSC_GATEWAY_TX_ID);
    assert_eq!(
        hex::encode(typed.sig_digest(&MAINNET_CHAIN_ID, Packing::Legacy)),
        VSC_GATEWAY_SIG_DIGEST
    );

    // The bytes hold the 21 keys in memcmp order: find each key's offset.
    let offsets: Vec<usize> = keys
        .iter()
        .map(|(k, _)| {
            from_json
                .windows(33)
                .position(|w| w == k.as_bytes())
                .expect("key in the bytes")
        })
        .collect();
    assert!(
        offsets.windows(2).all(|w| w[1] == w[0] + 35),
        "33-byte key + u16 weight each, ascending"
    );

    // Signed and written back as condenser JSON, it re-parses to the same signed bytes.
    let signatures = tx["signatures"]
        .as_array()
        .expect("signatures")
        .iter()
        .map(|s| Signature::from_hex(s.as_str().expect("hex")).expect("signature"))
        .collect();
    let signed = SignedTransaction { tx: typed, signatures };
    let written = signed.to_condenser_json();
    assert_eq!(
        transaction_json_bytes(&written, Packing::Legacy, true).expect("serializable"),
        transaction_json_bytes(&tx, Packing::Legacy, true).expect("serializable")
    );
    assert_eq!(
        signed.to_bytes(Packing::Legacy),
        transaction_json_bytes(&tx, Packing::Legacy, true).expect("ok")
    );

    // The JSON path refuses key_auths out of order (the node would re-sort them, and a
    // signer that hashed them unsorted would have signed other bytes).
    let mut unsorted = tx.clone();
    let list = unsorted["operations"][0]["value"]["owner"]["key_auths"]
        .as_array_mut()
        .expect("key_auths");
    list.swap(0, 1);
    assert!(transaction_json_bytes(&unsorted, Packing::Legacy, false).is_err());
}

/// A 2-of-3 multi-signed transfer with fresh keys: two cosigners sign, each signature
/// recovers to its own key over the digest, the signers reach the threshold, signing apart
/// and merging equals signing together, and the signed JSON re-parses to the same id.
#[test]
fn two_of_three_transfer_assembles_and_verifies() {
    let keys: Vec<PrivateKey> = [[0x11u8; 32], [0x22; 32], [0x33; 32]]
        .into_iter()
        .map(|s| PrivateKey::from_secret(s).expect("scalar"))
        .collect();
    let auth = Authority {
        weight_threshold: 2,
        account_auths: BTreeMap::new(),
        key_auths: keys.iter().map(|k| (k.public(), 1)).collect(),
    };
    assert_eq!(auth.key_auths.len(), 3);

    let tx = Transaction::with_reference(
        97_477_292,
        "05cf62ac1a9fc9b50087e9f65e3f970eb09b72ce",
        1_751_990_400,
        vec![Operation::Transfer {
            from: "opentoken.multisig".into(),
            to: "alice".into(),
            amount: Asset::new(1_234, AssetSymbol::Hive),
            memo: "2-of-3 payout".into(),
        }],
    )
    .expect("valid reference");

    let cosigners = [&keys[0], &keys[2]];
    let signed = tx.sign(&MAINNET_CHAIN_ID, &cosigners);
    assert_eq!(signed.signatures.len(), 2);

    // Each signature recovers to its own key over the (legacy) digest the signer used.
    let digest = tx.sig_digest(&MAINNET_CHAIN_ID, Packing::Legacy);
    let mut signers = BTreeSet::new();
    for (sig, key) in signed.signatures.iter().zip(cosigners) {
        assert!(sig.is_low_s() && sig.is_fc_canonical());
        assert_eq!(sig.recover(&digest), Ok(key.public()));
        assert!(signers.insert(key.public()));
    }
    let weight: u32 = signers.iter().map(|k| u32::from(auth.key_auths[k])).sum();
    assert!(weight >= auth.weight_threshold);
    assert!(!signers.contains(&keys[1].public()), "the third key did not sign");
    // With an asset, the hf26 digest differs, and the signatures name other keys over it.
    let hf26 = tx.sig_digest(&MAINNET_CHAIN_ID, Packing::Hf26);
    assert_ne!(hf26, digest);
    assert!(signed
        .signatures
        .iter()
        .all(|s| s.recover(&hf26).map_or(true, |k| !signers.contains(&k))));

    // Cosigners sign apart (as on different nodes) and the signatures are merged.
    let apart = SignedTransaction {
        tx: tx.clone(),
        signatures: cosigners
            .iter()
            .flat_map(|k| tx.sign(&MAINNET_CHAIN_ID, &[k]).signatures)
            .collect(),
    };
    assert_eq!(apart, signed);

    // The broadcast JSON re-parses to the same id and bytes, and its signatures verify over
    // the digest recomputed from the JSON.
    let json = signed.to_condenser_json();
    let (legacy_id, hf26_id) = transaction_json_ids(&json).expect("serializable");
    assert_eq!(legacy_id, tx.id(Packing::Legacy));
    assert_eq!(hf26_id, tx.id(Packing::Hf26));
    assert_ne!(legacy_id, hf26_id);
    assert_eq!(Transaction::from_json(&json).expect("parses"), tx);
    assert_eq!(
        transaction_json_bytes(&json, Packing::Legacy, true).expect("serializable"),
        signed.to_bytes(Packing::Legacy)
    );
    let unsigned = transaction_json_bytes(&json, Packing::Legacy, false).expect("serializable");
    let from_json = sig_digest(&MAINNET_CHAIN_ID, &unsigned);
    assert_eq!(from_json, digest);
    let recovered: BTreeSet<PublicKey> = json["signatures"]
        .as_array()
        .expect("signatures")
        .iter()
        .map(|s| {
            Signature::from_hex(s.as_str().expect("hex"))
                .expect("signature")
                .recover(&from_json)
                .expect("recovers")
        })
        .collect();
    assert_eq!(recovered, signers);
}
