//! The simulator's accounts: balances moved by transfers (broadcast and generated),
//! overdrafts refused, multi-authority accounts verified as a Hive node verifies them, and
//! `condenser_api.get_accounts` / `database_api.find_accounts`.

use opentoken_core::{Asset, AssetSymbol, Block, HiveOp};
use opentoken_hive::{
    devnet_key, generate_blocks, generate_chain, GenesisConfig, HiveClient, HiveError, KeyRole, Ledger, SimConfig,
    SimHandle, Simulator, TrafficConfig,
};
use opentoken_hive_tx::{
    Authority, Operation, Packing, PrivateKey, PublicKey, SignedTransaction, Transaction, MAINNET_CHAIN_ID,
};
use serde_json::{json, Value};
use std::time::Duration;

const MS: &str = "dlux-cc";
const WITNESSES: [&str; 3] = ["witness-a", "witness-b", "witness-c"];

fn names(n: &[&str]) -> Vec<String> {
    n.iter().map(|s| s.to_string()).collect()
}

/// The devnet chain `tests/tests/pinned.rs` pinned before the devnet ran the multisig module
/// (as `opentoken_registry` configured it then: no multi-sig traffic, no authorities).
fn devnet(seed: u64) -> SimConfig {
    let mut accounts = names(&[
        "dlux-io", "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    ]);
    accounts.sort();
    SimConfig {
        seed,
        first_block: 1,
        block_interval: Duration::from_millis(10),
        prefill_blocks: 0,
        irreversible_lag: 0,
        traffic: TrafficConfig {
            prefix: "dlux_".into(),
            accounts,
            nodes: names(&["dlux-io", "alice", "bob", "carol"]),
            delegation_account: "dlux-io".into(),
            ops_per_block: (0, 8),
            invalid_per_mille: 150,
            msaccount: None,
            dex: None,
            nft: None,
            pob: None,
        },
        genesis: GenesisConfig {
            extra_accounts: vec![MS.into()],
            ..GenesisConfig::default()
        },
        tamper: None,
    }
}

/// `simulator_and_client.rs`'s chain.
fn small(seed: u64, prefill: u64, interval_ms: u64) -> SimConfig {
    SimConfig {
        seed,
        first_block: 1,
        block_interval: Duration::from_millis(interval_ms),
        prefill_blocks: prefill,
        irreversible_lag: 2,
        traffic: TrafficConfig {
            prefix: "dlux_".into(),
            accounts: names(&["alice", "bob", "carol", "dave"]),
            nodes: names(&["alice"]),
            delegation_account: "dlux-io".into(),
            ops_per_block: (2, 6),
            invalid_per_mille: 200,
            msaccount: None,
            dex: None,
            nft: None,
            pob: None,
        },
        genesis: GenesisConfig::default(),
        tamper: None,
    }
}

/// Chains without a multi-sig account are exactly what they were before the simulator had
/// accounts (ids of the last blocks computed by the simulator before this change): the
/// pinned devnet chain, and with it every hash `tests/tests/pinned.txt` holds, stays put.
#[test]
fn chains_without_a_multisig_account_are_unchanged() {
    let devnet_blocks = generate_blocks(&devnet(20_261_130), 1..=1000).unwrap();
    assert_eq!(
        devnet_blocks.last().unwrap().id,
        "000003e8156cf5b9bc4120eb3c8b62d7583f3592"
    );
    let mut no_extra = devnet(20_261_130);
    no_extra.genesis = GenesisConfig::default();
    assert_eq!(generate_blocks(&no_extra, 1..=1000).unwrap(), devnet_blocks);
    let small_blocks = generate_blocks(&small(1, 0, 1), 1..=300).unwrap();
    assert_eq!(
        small_blocks.last().unwrap().id,
        "0000012c2113a7f53d6e0efc0e965e352f0cf020"
    );
}

fn transfers(b: &Block) -> impl Iterator<Item = &opentoken_core::TransferOp> {
    b.transactions
        .iter()
        .flat_map(|t| &t.operations)
        .filter_map(|o| match o {
            HiveOp::Transfer(t) => Some(t),
            _ => None,
        })
}

/// Every transfer of `blocks`, in order, applied to the genesis of `cfg`: none may fail.
fn replay(cfg: &SimConfig, blocks: &[Block]) -> Ledger {
    let mut l = Ledger::genesis(&cfg.traffic, &cfg.genesis, &WITNESSES, 0);
    for b in blocks {
        for t in transfers(b) {
            l.transfer(&t.from, &t.to, &t.amount, &t.memo)
                .unwrap_or_else(|e| panic!("block {}: {t:?}: {e}", b.num));
        }
    }
    l
}

#[test]
fn generated_deposits_and_withdrawals_move_balances_and_never_overdraw() {
    let mut cfg = devnet(5);
    cfg.traffic.msaccount = Some(MS.into());
    let (blocks, ledger) = generate_chain(&cfg, 1..=400).unwrap();
    assert_eq!(generate_chain(&cfg, 1..=400).unwrap().0, blocks, "deterministic");

    let deposits: Vec<&opentoken_core::TransferOp> = blocks.iter().flat_map(transfers).filter(|t| t.to == MS).collect();
    assert!(deposits.iter().any(|t| t.amount.symbol == AssetSymbol::Hive));
    assert!(deposits.iter().any(|t| t.amount.symbol == AssetSymbol::Hbd));
    assert!(deposits.iter().any(|t| !t.memo.is_empty()), "some memos are odd");
    let sum = |sym| {
        deposits
            .iter()
            .filter(|t| t.amount.symbol == sym)
            .map(|t| t.amount.amount)
            .sum::<i64>()
    };
    let ms = ledger.account(MS).unwrap();
    assert_eq!((ms.hive, ms.hbd), (sum(AssetSymbol::Hive), sum(AssetSymbol::Hbd)));
    assert!(ms.hive > 0 && ms.hbd > 0);

    let withdrawals: Vec<&opentoken_core::CustomJsonOp> = blocks
        .iter()
        .flat_map(|b| b.transactions.iter().flat_map(|t| &t.operations))
        .filter_map(|o| match o {
            HiveOp::CustomJson(c) if c.id == "dlux_ms_withdraw" => Some(c),
            _ => None,
        })
        .collect();
    let valid = |c: &&&opentoken_core::CustomJsonOp| {
        let v: Value = serde_json::from_str(&c.json).unwrap_or(Value::Null);
        c.required_auths.len() == 1
            && v["amount"].as_u64().is_some_and(|a| (1..=20_000).contains(&a))
            && (v["asset"] == "HIVE" || v["asset"] == "HBD")
    };
    assert!(withdrawals.iter().filter(valid).count() > 20);
    assert!(withdrawals.iter().any(|c| !valid(&c)), "invalid requests too");
    assert!(withdrawals.iter().any(|c| c.json.contains("\"to\"")));

    // Every transfer of the chain applies in order, and the result is the chain's ledger.
    let replayed = replay(&cfg, &blocks);
    for a in ledger.accounts() {
        let r = replayed.account(&a.name).unwrap();
        assert_eq!((r.hive, r.hbd), (a.hive, a.hbd), "{}", a.name);
    }

    // The other traffic is what it is without the multi-sig account.
    let plain = generate_blocks(&devnet(5), 1..=400).unwrap();
    for (with, without) in blocks.iter().zip(&plain) {
        let ops = |b: &Block| -> Vec<Vec<HiveOp>> {
            b.transactions
                .iter()
                .map(|t| t.operations.clone())
                .filter(|ops| {
                    !ops.iter().any(|o| match o {
                        HiveOp::Transfer(t) => t.to == MS,
                        HiveOp::CustomJson(c) => c.id == "dlux_ms_withdraw",
                        _ => false,
                    })
                })
                .collect()
        };
        assert_eq!(ops(with), ops(without), "block {}", with.num);
    }
}

/// With little money, generated transfers the chain could not afford are left out, and the
/// ones kept all apply.
#[test]
fn poor_accounts_never_overdraw() {
    let mut cfg = small(9, 0, 1);
    cfg.traffic.msaccount = Some(MS.into());
    cfg.traffic.ops_per_block = (6, 8);
    cfg.genesis.hive = 20_000;
    cfg.genesis.hbd = 3_000;
    let (blocks, ledger) = generate_chain(&cfg, 1..=600).unwrap();
    let replayed = replay(&cfg, &blocks);
    for a in ledger.accounts() {
        assert!(a.hive >= 0 && a.hbd >= 0, "{a:?}");
        assert_eq!(
            replayed.account(&a.name).map(|r| (r.hive, r.hbd)),
            Some((a.hive, a.hbd))
        );
    }
    let total = |l: &Ledger, sym| l.accounts().map(|a| a.balance(sym)).sum::<i64>();
    let genesis = Ledger::genesis(&cfg.traffic, &cfg.genesis, &WITNESSES, 0);
    for sym in [AssetSymbol::Hive, AssetSymbol::Hbd] {
        assert_eq!(total(&ledger, sym), total(&genesis, sym), "money is conserved");
    }
    let ms = ledger.account(MS).unwrap();
    assert!(ms.hive > 40_000, "most of the money ends up deposited: {ms:?}");
}

// --- the live simulator -------------------------------------------------------------

struct Node {
    sim: SimHandle,
    client: HiveClient,
    http: reqwest::Client,
}

impl Node {
    async fn start() -> Self {
        Self::with(|_| {}).await
    }

    async fn with(change: impl FnOnce(&mut SimConfig)) -> Self {
        let mut cfg = small(11, 5, 150);
        cfg.genesis.extra_accounts = vec![MS.into()];
        change(&mut cfg);
        let sim = Simulator::start(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let client = HiveClient::new(vec![sim.url()]).unwrap();
        Self {
            sim,
            client,
            http: reqwest::Client::new(),
        }
    }

    /// A transaction referencing the head block, expiring in ten minutes.
    async fn tx(&self, ops: Vec<Operation>) -> Transaction {
        let head = self.client.get_block(self.sim.head()).await.unwrap().unwrap();
        Transaction::with_reference(head.num, &head.id, (head.timestamp + 600) as u32, ops).unwrap()
    }

    async fn send(&self, t: &Transaction, keys: &[&PrivateKey]) -> Result<String, HiveError> {
        let v = self
            .client
            .broadcast_transaction(&t.sign(&MAINNET_CHAIN_ID, keys).to_condenser_json())
            .await?;
        Ok(v["id"].as_str().unwrap_or_default().to_string())
    }

    async fn refused(&self, t: &Transaction, keys: &[&PrivateKey], why: &str) {
        match self.send(t, keys).await {
            Err(HiveError::Rpc {
                code: -32000, message, ..
            }) => {
                assert!(message.contains(why), "{message:?} does not say {why:?}")
            }
            other => panic!("expected a refusal ({why}), got {other:?}"),
        }
    }

    async fn rpc(&self, method: &str, params: Value) -> Value {
        self.http
            .post(self.sim.url())
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn get_account(&self, name: &str) -> Value {
        self.rpc("condenser_api.get_accounts", json!([[name]])).await["result"][0].clone()
    }

    /// Waits for the next block (so what is pending is now in a block).
    async fn next_block(&self) {
        let start = self.sim.head();
        for _ in 0..200 {
            if self.sim.head() > start {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no block after {start}");
    }
}

fn pay(from: &str, to: &str, milli: i64, symbol: AssetSymbol, memo: &str) -> Operation {
    Operation::Transfer {
        from: from.into(),
        to: to.into(),
        amount: Asset::new(milli, symbol),
        memo: memo.into(),
    }
}

fn active(name: &str) -> PrivateKey {
    devnet_key(name, KeyRole::Active)
}

fn multi(threshold: u32, keys: &[PublicKey]) -> Authority {
    Authority {
        weight_threshold: threshold,
        account_auths: Default::default(),
        key_auths: keys.iter().map(|k| (*k, 1)).collect(),
    }
}

#[tokio::test]
async fn transfers_move_balances_and_overdrafts_are_refused() {
    // No generated traffic: every balance here is exact.
    let n = Node::with(|c| c.traffic.ops_per_block = (0, 0)).await;
    assert_eq!(n.sim.account(MS).unwrap().hive, 0);
    let t = n.tx(vec![pay("alice", MS, 1_500_000, AssetSymbol::Hive, "")]).await;
    let id = n.send(&t, &[&active("alice")]).await.unwrap();
    assert_eq!(id, t.id(Packing::Legacy));
    // Pending transactions count at once for what the node serves and accepts...
    assert_eq!(n.get_account(MS).await["balance"], "1500.000 HIVE");
    n.next_block().await;
    // ...and are in the chain's state after the next block.
    let ms = n.sim.account(MS).unwrap();
    assert_eq!((ms.hive, ms.hbd), (1_500_000, 0));

    // HBD, and an amount the sender does not have.
    let hbd = n.tx(vec![pay("bob", MS, 2_000, AssetSymbol::Hbd, "")]).await;
    n.send(&hbd, &[&active("bob")]).await.unwrap();
    let too_much = n.tx(vec![pay("bob", MS, 100_000_001, AssetSymbol::Hive, "")]).await;
    n.refused(&too_much, &[&active("bob")], "insufficient").await;
    // Two broadcasts that each fit, but not together: the second is refused.
    let half = |memo: &str| pay("carol", MS, 60_000_000, AssetSymbol::Hive, memo);
    n.send(&n.tx(vec![half("1")]).await, &[&active("carol")]).await.unwrap();
    n.refused(&n.tx(vec![half("2")]).await, &[&active("carol")], "insufficient")
        .await;
    // One transaction, all or nothing.
    let both = n
        .tx(vec![
            pay("dave", "bob", 1, AssetSymbol::Hive, ""),
            pay("dave", "bob", 100_000_000, AssetSymbol::Hive, ""),
        ])
        .await;
    n.refused(&both, &[&active("dave")], "insufficient").await;
    n.refused(
        &n.tx(vec![pay("alice", "nobody-here", 1, AssetSymbol::Hive, "")]).await,
        &[&active("alice")],
        "unknown account",
    )
    .await;
    n.refused(
        &n.tx(vec![pay("alice", MS, 1, AssetSymbol::Vests, "")]).await,
        &[&active("alice")],
        "VESTS",
    )
    .await;
    n.next_block().await;
    assert_eq!(n.sim.account("carol").unwrap().hive, 100_000_000 - 60_000_000);
    assert_eq!(n.sim.account("dave").unwrap().hive, 100_000_000);
    assert_eq!(n.sim.account(MS).unwrap().hbd, 2_000);
    assert_eq!(n.sim.account(MS).unwrap().hive, 61_500_000);

    // A transfer signed over the HF26 packing is accepted under its HF26 id.
    let t = n.tx(vec![pay("erin-not-there", MS, 1, AssetSymbol::Hive, "")]).await;
    n.refused(&t, &[&active("erin-not-there")], "insufficient").await;
    let t = n.tx(vec![pay("alice", MS, 7, AssetSymbol::Hive, "hf26")]).await;
    let sig = active("alice").sign(&t.sig_digest(&MAINNET_CHAIN_ID, Packing::Hf26));
    let json = SignedTransaction {
        tx: t.clone(),
        signatures: vec![sig],
    }
    .to_condenser_json();
    let id = n.client.broadcast_transaction(&json).await.unwrap()["id"].clone();
    assert_eq!(id, t.id(Packing::Hf26));
    n.next_block().await;
    // Every block with these transactions verifies as mainnet blocks do.
    let head = n.sim.head();
    let verified = n.client.get_verified_range(1, head as u32, None).await.unwrap();
    assert!(verified
        .blocks
        .iter()
        .any(|b| b.transactions.iter().any(|t| t.txid == id.as_str().unwrap_or_default())));
    n.sim.shutdown().await;
}

#[tokio::test]
async fn a_two_of_three_account_needs_two_signatures_no_more() {
    let n = Node::start().await;
    let signers: Vec<PrivateKey> = ["runner-1", "runner-2", "runner-3"].iter().map(|r| active(r)).collect();
    let publics: Vec<PublicKey> = signers.iter().map(|k| k.public()).collect();
    let old = active(MS);
    // Fund the account, then make its active authority 2 of the 3 runner keys.
    n.send(
        &n.tx(vec![pay("alice", MS, 5_000, AssetSymbol::Hive, "")]).await,
        &[&active("alice")],
    )
    .await
    .unwrap();
    let update = Operation::AccountUpdate {
        account: MS.into(),
        owner: None,
        active: Some(multi(2, &publics)),
        posting: None,
        memo_key: devnet_key(MS, KeyRole::Memo).public(),
        json_metadata: String::new(),
    };
    let update = n.tx(vec![update]).await;
    n.refused(
        &update,
        &[&active("alice")],
        "missing required active authority:Missing Active Authority dlux-cc",
    )
    .await;
    n.send(&update, &[&old]).await.unwrap();
    n.next_block().await;
    let acct = n.get_account(MS).await;
    assert_eq!(acct["active"]["weight_threshold"], 2);
    let mut sorted: Vec<String> = publics.iter().map(|k| k.to_string()).collect();
    sorted.sort_by_key(|s| PublicKey::from_string(s).unwrap());
    let listed: Vec<String> = acct["active"]["key_auths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, sorted, "key_auths as Hive lists them (sorted)");

    let spend = |memo: &str| pay(MS, "bob", 1_000, AssetSymbol::Hive, memo);
    let [k1, k2, k3] = [&signers[0], &signers[1], &signers[2]];
    let t = n.tx(vec![spend("a")]).await;
    n.refused(&t, &[k1], "missing required active authority").await;
    n.refused(&t, &[&old], "missing required active authority").await;
    n.refused(&t, &[k1, &old], "missing required active authority").await;
    n.refused(&t, &[k1, k1], "Duplicate signature detected").await;
    n.refused(&t, &[k1, k2, k3], "irrelevant signature included").await;
    n.refused(&t, &[k1, k2, &active("bob")], "irrelevant signature included")
        .await;
    let id = n.send(&t, &[k3, k1]).await.unwrap();
    n.refused(&t, &[k2, k3], "Duplicate transaction").await;
    assert_eq!(id, t.id(Packing::Legacy));
    n.send(&n.tx(vec![spend("b")]).await, &[k2, k3]).await.unwrap();
    // 5.000 HIVE deposited, 2 × 1.000 spent: 3.001 is too much.
    n.refused(
        &n.tx(vec![pay(MS, "bob", 3_001, AssetSymbol::Hive, "")]).await,
        &[k1, k2],
        "insufficient",
    )
    .await;
    n.next_block().await;
    assert_eq!(n.sim.account(MS).unwrap().hive, 3_000);

    // The owner (still the devnet key) rotates; active keys cannot do that.
    let new_owner = multi(2, &publics);
    let rotate = Operation::AccountUpdate {
        account: MS.into(),
        owner: Some(new_owner.clone()),
        active: None,
        posting: None,
        memo_key: devnet_key(MS, KeyRole::Memo).public(),
        json_metadata: String::new(),
    };
    let rotate = n.tx(vec![rotate]).await;
    n.refused(&rotate, &[k1, k2], "missing required owner authority").await;
    n.send(&rotate, &[&devnet_key(MS, KeyRole::Owner)]).await.unwrap();
    n.next_block().await;
    assert_eq!(n.sim.account(MS).unwrap().owner, new_owner);
    // The old owner key no longer spends (owner satisfies active: it did before).
    n.refused(
        &n.tx(vec![spend("c")]).await,
        &[&devnet_key(MS, KeyRole::Owner)],
        "missing required active authority",
    )
    .await;
    // account_update2 changing active to 1 of 1 (signed by 2 of the current 3).
    let update2 = Operation::AccountUpdate2 {
        account: MS.into(),
        owner: None,
        active: Some(multi(1, &publics[..1])),
        posting: None,
        memo_key: None,
        json_metadata: String::new(),
        posting_json_metadata: String::new(),
    };
    n.send(&n.tx(vec![update2]).await, &[k1, k2]).await.unwrap();
    n.send(&n.tx(vec![spend("d")]).await, &[k1]).await.unwrap();
    n.next_block().await;
    assert_eq!(n.sim.account(MS).unwrap().hive, 2_000);
    n.sim.shutdown().await;
}

#[tokio::test]
async fn posting_and_active_cannot_mix_and_custom_json_checks_every_signer() {
    let n = Node::start().await;
    let cj = |active: &[&str], posting: &[&str]| Operation::CustomJson {
        required_auths: names(active),
        required_posting_auths: names(posting),
        id: "dlux_ms_withdraw".into(),
        json: "{\"amount\":1,\"asset\":\"HIVE\"}".into(),
    };
    let both = n.tx(vec![cj(&["alice", "bob"], &[])]).await;
    n.refused(&both, &[&active("alice")], "Missing Active Authority bob")
        .await;
    n.send(&both, &[&active("bob"), &active("alice")]).await.unwrap();
    let mixed = n.tx(vec![cj(&["alice"], &["bob"])]).await;
    n.refused(
        &mixed,
        &[&active("alice"), &devnet_key("bob", KeyRole::Posting)],
        "cannot also need active",
    )
    .await;
    // A new devnet account signs into being (with nothing to spend).
    n.send(&n.tx(vec![cj(&["newcomer"], &[])]).await, &[&active("newcomer")])
        .await
        .unwrap();
    n.next_block().await;
    assert_eq!(n.sim.account("newcomer").map(|a| a.hive), Some(0));
    n.sim.shutdown().await;
}

#[tokio::test]
async fn get_accounts_answers_as_a_hive_node() {
    let n = Node::start().await;
    let r = n
        .rpc("condenser_api.get_accounts", json!([["bob", "nobody-here", MS]]))
        .await;
    let accounts = r["result"].as_array().unwrap();
    assert_eq!(accounts.len(), 2, "unknown names are left out: {r}");
    let bob = &accounts[0];
    assert_eq!(bob["name"], "bob");
    assert_eq!(bob["balance"], "100000.000 HIVE");
    assert_eq!(bob["hbd_balance"], "10000.000 HBD");
    assert_eq!(bob["savings_balance"], "0.000 HIVE");
    assert_eq!(bob["vesting_shares"], "0.000000 VESTS");
    for role in ["owner", "active", "posting"] {
        assert_eq!(bob[role]["weight_threshold"], 1, "{role}");
        assert_eq!(bob[role]["account_auths"], json!([]), "{role}");
        assert_eq!(bob[role]["key_auths"][0][1], 1, "{role}");
    }
    assert_eq!(bob["active"]["key_auths"][0][0], active("bob").public().to_string());
    assert_eq!(bob["memo_key"], devnet_key("bob", KeyRole::Memo).public().to_string());
    assert_eq!(bob["created"], "2025-01-01T00:00:00");
    assert_eq!(accounts[1]["name"], MS);
    assert_eq!(accounts[1]["balance"], "0.000 HIVE");

    let f = n
        .rpc("database_api.find_accounts", json!({"accounts": ["alice"]}))
        .await;
    assert_eq!(
        f["result"]["accounts"][0]["hbd_balance"],
        json!({"amount": "10000000", "precision": 3, "nai": "@@000000013"})
    );
    for (method, params) in [
        ("condenser_api.get_accounts", json!(["bob"])),
        ("condenser_api.get_accounts", json!([[1]])),
        ("database_api.find_accounts", json!([["bob"]])),
    ] {
        assert_eq!(
            n.rpc(method, params.clone()).await["error"]["code"],
            -32602,
            "{method} {params}"
        );
    }
    let many: Vec<String> = (0..1001).map(|i| format!("a{i}")).collect();
    assert_eq!(
        n.rpc("condenser_api.get_accounts", json!([many])).await["error"]["code"],
        -32003
    );
    n.sim.shutdown().await;
}

/// Generated traffic (poor accounts, deposits to the multi-sig account) never takes the
/// money a broadcast transaction the node accepted needs: it is in the next block.
#[tokio::test]
async fn generated_traffic_leaves_accepted_transactions_their_funds() {
    let n = Node::with(|c| {
        c.traffic.msaccount = Some(MS.into());
        c.traffic.ops_per_block = (6, 8);
        c.genesis.hive = 20_000;
        c.genesis.hbd = 3_000;
        c.block_interval = Duration::from_millis(60);
    })
    .await;
    let balance = |v: &Value| {
        v.as_str()
            .and_then(|b| Asset::parse_legacy(b).ok())
            .map(|a| a.amount)
            .unwrap_or(0)
    };
    let mut included = 0;
    for round in 0..8 {
        // Everything an actor has (as of its pending state) goes to dlux-io.
        let actor = ["alice", "bob", "carol", "dave"][round % 4];
        let mut accepted = None;
        for attempt in 0..10 {
            let acct = n.get_account(actor).await;
            let ops: Vec<Operation> = [("balance", AssetSymbol::Hive), ("hbd_balance", AssetSymbol::Hbd)]
                .into_iter()
                .map(|(field, sym)| (balance(&acct[field]), sym))
                .filter(|(have, _)| *have > 0)
                .map(|(have, sym)| pay(actor, "dlux-io", have, sym, &format!("all {round} {attempt}")))
                .collect();
            if ops.is_empty() {
                break;
            }
            match n.send(&n.tx(ops).await, &[&active(actor)]).await {
                Ok(id) => {
                    accepted = Some(id);
                    break;
                }
                // A block came between reading the balance and broadcasting.
                Err(HiveError::Rpc { message, .. }) if message.contains("insufficient") => continue,
                Err(e) => panic!("{e}"),
            }
        }
        let Some(id) = accepted else { continue };
        let before = n.sim.head();
        n.next_block().await;
        let block = n.client.get_block(before + 1).await.unwrap().unwrap();
        assert!(
            block.transactions.iter().any(|t| t.txid == id),
            "the accepted transaction is in the next block"
        );
        included += 1;
    }
    assert!(included >= 4, "every actor had money to send");
    for a in ["alice", "bob", "carol", "dave"] {
        let acct = n.sim.account(a).unwrap();
        assert!(acct.hive >= 0 && acct.hbd >= 0, "{acct:?}");
    }
    n.sim.shutdown().await;
}
