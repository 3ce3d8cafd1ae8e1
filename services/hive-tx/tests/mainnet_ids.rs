//! Every transaction of the bundled mainnet blocks (2025) made only of operations this
//! serializer knows reproduces the transaction id the block lists, and every signature on
//! them is low-S and recovers a key.

use opentoken_hive_tx::{Packing, Signature, Transaction, TxError, MAINNET_CHAIN_ID};

#[test]
fn mainnet_transactions_reproduce_their_ids() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/hive/mainnet-97477292-4blocks.json"
    );
    let blocks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    let (mut custom_json_only, mut matched, mut unsupported) = (0, 0, 0);
    for b in blocks.as_array().expect("list") {
        let block = &b["block"];
        let ids = block["transaction_ids"].as_array().expect("ids");
        let txs = block["transactions"].as_array().expect("txs");
        assert_eq!(ids.len(), txs.len());
        for (t, id) in txs.iter().zip(ids) {
            let only_cj = t["operations"]
                .as_array()
                .expect("ops")
                .iter()
                .all(|o| o["type"] == "custom_json_operation");
            let tx = match Transaction::from_json(t) {
                Ok(tx) => tx,
                Err(TxError::Unsupported(_)) => {
                    unsupported += 1;
                    continue;
                }
                Err(e) => panic!("{id}: {e}"),
            };
            let want = id.as_str().expect("id");
            // Without assets both packings give one id; with assets the signer chose one.
            assert!(
                tx.id(Packing::Legacy) == want || tx.id(Packing::Hf26) == want,
                "{want}: computed {} / {}",
                tx.id(Packing::Legacy),
                tx.id(Packing::Hf26)
            );
            matched += 1;
            if only_cj {
                custom_json_only += 1;
            }
            let digest = tx.sig_digest(&MAINNET_CHAIN_ID, Packing::Legacy);
            for s in t["signatures"].as_array().expect("sigs") {
                let sig = Signature::from_hex(s.as_str().expect("hex")).expect("65-byte signature");
                assert!(sig.is_low_s(), "{want}: a signature on chain is not low-S");
                sig.recover(&digest).expect("a signature on chain recovers a key");
            }
        }
    }
    assert_eq!(
        custom_json_only, 33,
        "every custom_json-only transaction of the fixture"
    );
    assert!(matched >= 45, "{matched} matched, {unsupported} skipped");
}
