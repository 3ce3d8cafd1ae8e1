//! Verifying a checkpoint snapshot (from a peer or this node's own store) against a final
//! consensus hash before anything of it is used.

use opentoken_core::commitment::LtHash;
use opentoken_core::{consensus_hash, module_checkpoint_hash, ChainSpec, Message};
use opentoken_store::{decode_snapshot, ModuleSnapshot, Restore, RestoredModule, SnapshotDoc};
use std::collections::BTreeMap;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SnapshotError {
    #[error("snapshot is for {got}, not {want}")]
    Wrong { want: String, got: String },
    #[error("snapshot of module {module} cannot be decoded: {why}")]
    Decode { module: String, why: String },
    #[error("snapshot has modules {got:?}, this node runs {want:?}")]
    Modules { want: Vec<String>, got: Vec<String> },
    #[error("snapshot of module {module} carries a message that is not its own outbox at block {block}")]
    Outbox { module: String, block: u64 },
    #[error("snapshot hashes to {got}, the final consensus hash is {want}")]
    Hash { want: String, got: String },
}

/// Checks that `doc` is exactly the state (and in-flight messages) whose consensus hash is
/// `final_hash` at `doc.block`, and turns it into a [`Restore`] (positions are filled in by
/// the caller, who knows the log).
pub fn verify_snapshot(
    spec: &ChainSpec,
    modules: &[String],
    doc: &SnapshotDoc,
    block: u64,
    final_hash: &[u8; 32],
) -> Result<Restore, SnapshotError> {
    if doc.community != spec.name || doc.block != block {
        return Err(SnapshotError::Wrong {
            want: format!("{} at block {block}", spec.name),
            got: format!("{} at block {}", doc.community, doc.block),
        });
    }
    let mut want: Vec<String> = modules.to_vec();
    want.sort();
    let mut got: Vec<String> = doc.modules.iter().map(|m| m.module.clone()).collect();
    got.sort();
    if want != got {
        return Err(SnapshotError::Modules { want, got });
    }
    let mut hashes = BTreeMap::new();
    let mut restored = Vec::new();
    for m in &doc.modules {
        let bytes = hex::decode(&m.snapshot).map_err(|e| SnapshotError::Decode {
            module: m.module.clone(),
            why: e.to_string(),
        })?;
        let snap: ModuleSnapshot = decode_snapshot(&bytes).map_err(|e| SnapshotError::Decode {
            module: m.module.clone(),
            why: e.to_string(),
        })?;
        if snap
            .outbox
            .iter()
            .any(|msg| msg.from != m.module || msg.pos.block != block)
        {
            return Err(SnapshotError::Outbox {
                module: m.module.clone(),
                block,
            });
        }
        let lattice = LtHash::from_pairs(snap.pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        let outbox: Vec<&Message> = snap.outbox.iter().collect();
        let hash = module_checkpoint_hash(lattice.digest(), &outbox);
        hashes.insert(m.module.clone(), hash);
        restored.push(RestoredModule {
            module: m.module.clone(),
            lattice: lattice.to_bytes(),
            snapshot: snap,
            next_offset: 0,
            checkpoint: hash,
        });
    }
    let h = consensus_hash(&spec.name, block, &hashes);
    if &h != final_hash {
        return Err(SnapshotError::Hash {
            want: hex::encode(final_hash),
            got: hex::encode(h),
        });
    }
    Ok(Restore {
        block,
        modules: restored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::ChainPos;
    use opentoken_store::{encode_snapshot, SnapshotDocModule};

    fn spec() -> ChainSpec {
        ChainSpec::from_json(
            r#"{"name":"t","prefix":"dlux_","token":"DLUX","precision":3,"starting_block":1,
                "leader":"dlux-io","msaccount":"dlux-cc","delegation_account":"dlux-io"}"#,
        )
        .expect("spec")
    }

    fn doc_and_hash() -> (SnapshotDoc, [u8; 32]) {
        let mut a = ModuleSnapshot::default();
        a.pairs.insert(b"balance/alice".to_vec(), b"10".to_vec());
        a.outbox.push(Message {
            from: "token".into(),
            to: "nodes".into(),
            pos: ChainPos::new(100, 1, 0),
            seq: 0,
            kind: "gov_added".into(),
            payload: "{}".into(),
        });
        let mut b = ModuleSnapshot::default();
        b.pairs.insert(b"runners".to_vec(), b"[]".to_vec());
        let mut hashes = BTreeMap::new();
        for (name, s) in [("token", &a), ("nodes", &b)] {
            let l = LtHash::from_pairs(s.pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
            let outbox: Vec<&Message> = s.outbox.iter().collect();
            hashes.insert(name.to_string(), module_checkpoint_hash(l.digest(), &outbox));
        }
        let doc = SnapshotDoc {
            community: "t".into(),
            block: 100,
            modules: vec![
                SnapshotDocModule {
                    module: "token".into(),
                    snapshot: hex::encode(encode_snapshot(&a)),
                },
                SnapshotDocModule {
                    module: "nodes".into(),
                    snapshot: hex::encode(encode_snapshot(&b)),
                },
            ],
        };
        (doc, consensus_hash("t", 100, &hashes))
    }

    #[test]
    fn a_faithful_snapshot_verifies_and_any_change_is_refused() {
        let spec = spec();
        let mods = vec!["token".to_string(), "nodes".to_string()];
        let (doc, h) = doc_and_hash();
        let r = verify_snapshot(&spec, &mods, &doc, 100, &h).expect("verifies");
        assert_eq!(r.block, 100);
        assert_eq!(r.modules.len(), 2);

        // Another block, another community, a missing module.
        assert!(matches!(
            verify_snapshot(&spec, &mods, &doc, 200, &h),
            Err(SnapshotError::Wrong { .. })
        ));
        let mut d = doc.clone();
        d.modules.pop();
        assert!(matches!(
            verify_snapshot(&spec, &mods, &d, 100, &h),
            Err(SnapshotError::Modules { .. })
        ));

        // A changed value, a dropped in-flight message: the hash no longer matches.
        let mut snap = decode_snapshot(&hex::decode(&doc.modules[0].snapshot).expect("hex")).expect("decodes");
        snap.pairs.insert(b"balance/alice".to_vec(), b"11".to_vec());
        let mut d = doc.clone();
        d.modules[0].snapshot = hex::encode(encode_snapshot(&snap));
        assert!(matches!(
            verify_snapshot(&spec, &mods, &d, 100, &h),
            Err(SnapshotError::Hash { .. })
        ));
        let mut snap = decode_snapshot(&hex::decode(&doc.modules[0].snapshot).expect("hex")).expect("decodes");
        snap.outbox.clear();
        let mut d = doc.clone();
        d.modules[0].snapshot = hex::encode(encode_snapshot(&snap));
        assert!(matches!(
            verify_snapshot(&spec, &mods, &d, 100, &h),
            Err(SnapshotError::Hash { .. })
        ));

        // Garbage.
        let mut d = doc;
        d.modules[1].snapshot = "00ff".into();
        assert!(matches!(
            verify_snapshot(&spec, &mods, &d, 100, &h),
            Err(SnapshotError::Decode { .. })
        ));
    }
}
