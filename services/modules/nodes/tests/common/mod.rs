//! Test helpers: deterministic node keys, signed ops, and an engine fed one block at a time.
#![allow(dead_code)]

use ed25519_dalek::{Signer, SigningKey};
use opentoken_core::{
    ChainPos, ChainSpec, CustomJsonOp, Engine, HiveOp, Message, ModuleState, OpStatus, Output, RoutedOp,
};
use opentoken_nodes::{node_add_json, node_add_signing_bytes, report_json, report_signing_bytes};
use std::collections::BTreeMap;

/// A node's ed25519 report key, derived from its name so every net agrees.
pub fn key(account: &str) -> SigningKey {
    let mut seed = [0u8; 32];
    for (i, b) in account.bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    seed[31] ^= 0x5a;
    SigningKey::from_bytes(&seed)
}

/// `node_add` JSON for `account`, proven with its key at `pop_block`.
pub fn node_add(spec: &ChainSpec, account: &str, pop_block: u64) -> String {
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

/// `report` JSON for checkpoint `block`, signed by `signer`'s key for `chain_id` and `prefix`.
pub fn report_with(chain_id: &[u8; 32], prefix: &str, signer: &str, block: u64, hash: [u8; 32]) -> String {
    let sig = key(signer).sign(&report_signing_bytes(chain_id, prefix, block, &hash));
    report_json(block, &hash, "opentoken/test", &sig.to_bytes())
}

/// A correctly signed report by `signer`.
pub fn report(spec: &ChainSpec, signer: &str, block: u64, hash: [u8; 32]) -> String {
    report_with(&spec.hive_chain_id(), &spec.prefix, signer, block, hash)
}

/// A custom_json op of this community, active- or posting-signed.
pub fn cj(spec: &ChainSpec, signer: &str, name: &str, json: &str, active: bool) -> HiveOp {
    let who = vec![signer.to_string()];
    HiveOp::CustomJson(CustomJsonOp {
        required_auths: if active { who.clone() } else { vec![] },
        required_posting_auths: if active { vec![] } else { who },
        id: format!("{}{name}", spec.prefix),
        json: json.to_string(),
    })
}

/// A spec with checkpoints every 10 blocks and the given nodes section.
pub fn spec(nodes: serde_json::Value) -> ChainSpec {
    let mut s = ChainSpec::from_json(
        r#"{"name":"nodetest","prefix":"dlux_","token":"DLUX","precision":3,"starting_block":1,
            "leader":"dlux-io","msaccount":"dlux-cc","delegation_account":"dlux-io",
            "checkpoint_interval":10}"#,
    )
    .expect("the test spec is valid");
    s.modules.insert("nodes".into(), nodes);
    s
}

/// What one block produced.
pub struct Block {
    pub statuses: Vec<OpStatus>,
    pub out: Output,
}

impl Block {
    pub fn kinds(&self) -> Vec<&str> {
        self.out.events.iter().map(|e| e.kind.as_str()).collect()
    }
}

/// An engine fed one block at a time, with ops routed to modules by name.
pub struct Net {
    pub engine: Engine,
    pub spec: ChainSpec,
}

impl Net {
    pub fn new(engine: Engine, spec: ChainSpec) -> Self {
        Net { engine, spec }
    }

    pub fn next(&self) -> u64 {
        self.engine.next_block()
    }

    pub fn state(&self, module: &str) -> &ModuleState {
        &self
            .engine
            .slots()
            .iter()
            .find(|s| s.module.module_name() == module)
            .expect("module is in the engine")
            .state
    }

    pub fn commitment(&mut self, module: &str) -> [u8; 32] {
        self.engine
            .slot_mut(module)
            .expect("module is in the engine")
            .state
            .commitment()
    }

    /// Processes the next block with `ops` for `module`; txids are `<block>-<index>`.
    pub fn run(&mut self, module: &str, ops: Vec<HiveOp>) -> Block {
        let block = self.next();
        let routed: Vec<RoutedOp> = ops
            .into_iter()
            .enumerate()
            .map(|(i, op)| RoutedOp {
                pos: ChainPos::new(block, i as u32, 0),
                txid: format!("{block}-{i}"),
                op,
            })
            .collect();
        let mut map: BTreeMap<&str, &[RoutedOp]> = BTreeMap::new();
        map.insert(module, &routed[..]);
        let out = self
            .engine
            .process_block(block, 1_700_000_000 + block * 3, &map)
            .expect("the engine processes the block");
        Block {
            statuses: out.statuses.clone(),
            out,
        }
    }

    /// Runs empty blocks up to and including `last`, returning every block's output.
    pub fn idle_until(&mut self, module: &str, last: u64) -> Vec<Block> {
        let mut v = Vec::new();
        while self.next() <= last {
            v.push(self.run(module, vec![]));
        }
        v
    }

    /// A message from the token module, due at the start of the next block.
    pub fn message_from_token(&mut self, kind: &str, payload: serde_json::Value) {
        let at = self.next().saturating_sub(1);
        let seq = self.engine.pending_messages().len() as u32;
        self.engine.deliver_remote(vec![Message {
            from: "token".into(),
            to: "nodes".into(),
            pos: ChainPos::new(at, 0, 0),
            seq,
            kind: kind.into(),
            payload: payload.to_string(),
        }]);
    }
}
