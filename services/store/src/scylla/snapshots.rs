//! Whole-state snapshots at checkpoint blocks: chunks first, then the manifest that makes
//! them a snapshot (chunk count, total length, pair count, state commitment); a load
//! verifies all of it. Only the newest few are kept.

use super::rows::{corrupt, decode_changes, encode_changes, rows_of};
use super::statements::Statements;
use super::writer::{chunks_of, join_chunks, Writer};
use crate::StoreError;
use opentoken_core::commitment::LtHash;
use scylla::client::session::Session;
use std::collections::BTreeMap;

/// A snapshot's manifest row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Manifest {
    pub block: i64,
    pub chunks: i32,
    pub len: i64,
    pub pairs: i64,
    pub hash: Vec<u8>,
}

fn part(module: &str, block: i64) -> String {
    format!("{module}/{block}")
}

/// The state commitment of a snapshot: the digest of the commit's lattice (the processor's
/// commitment at that block, which its checkpoint hash is built on), or, when the commit
/// carries no whole lattice (some tests), the digest computed from the pairs.
pub(super) fn commitment(lattice: &[u8], pairs: &BTreeMap<Vec<u8>, Vec<u8>>) -> [u8; 32] {
    match LtHash::from_bytes(lattice) {
        Some(l) => l.digest(),
        None => LtHash::from_pairs(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).digest(),
    }
}

/// Writes the chunks, then the manifest.
pub(super) async fn write(
    w: &Writer<'_>,
    st: &Statements,
    module: &str,
    block: i64,
    pairs: &BTreeMap<Vec<u8>, Vec<u8>>,
    hash: [u8; 32],
) -> Result<(), StoreError> {
    let blob = encode_changes(pairs.iter().map(|(k, v)| (k.as_slice(), Some(v.as_slice()))));
    let chunks = chunks_of(&blob);
    let count = i32::try_from(chunks.len()).map_err(|e| corrupt("snapshot", e))?;
    for (i, data) in chunks.into_iter().enumerate() {
        w.one(&st.snapshot_chunk_put, (part(module, block), i as i32, data.to_vec()))
            .await?;
    }
    let len = i64::try_from(blob.len()).map_err(|e| corrupt("snapshot", e))?;
    let n = i64::try_from(pairs.len()).map_err(|e| corrupt("snapshot", e))?;
    w.one(
        &st.manifest_put,
        (module.to_string(), block, count, len, n, hash.to_vec()),
    )
    .await
}

/// The module's snapshot manifests, newest first.
pub(super) async fn manifests(s: &Session, st: &Statements, module: &str) -> Result<Vec<Manifest>, StoreError> {
    let rows: Vec<(i64, i32, i64, i64, Vec<u8>)> = rows_of(s, &st.manifests, (module,), "list snapshots").await?;
    let mut out: Vec<Manifest> = rows
        .into_iter()
        .map(|(block, chunks, len, pairs, hash)| Manifest {
            block,
            chunks,
            len,
            pairs,
            hash,
        })
        .collect();
    out.sort_by_key(|m| std::cmp::Reverse(m.block));
    Ok(out)
}

/// The snapshot's pairs if every check holds (chunks 0..count, total length, pair count,
/// commitment); `None`, with the reason logged, if one fails.
pub(super) async fn read(
    s: &Session,
    st: &Statements,
    module: &str,
    m: &Manifest,
) -> Result<Option<BTreeMap<Vec<u8>, Vec<u8>>>, StoreError> {
    let chunks: Vec<(i32, Vec<u8>)> =
        rows_of(s, &st.snapshot_chunks, (part(module, m.block),), "read snapshot").await?;
    let verified = join_chunks(chunks, m.chunks, m.len)
        .and_then(|blob| decode_changes(&blob).map_err(|e| e.to_string()))
        .and_then(|changes| {
            let pairs: BTreeMap<Vec<u8>, Vec<u8>> =
                changes.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
            if i64::try_from(pairs.len()).ok() != Some(m.pairs) {
                return Err(format!("{} pairs where the manifest says {}", pairs.len(), m.pairs));
            }
            let digest = LtHash::from_pairs(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).digest();
            if digest.as_slice() != m.hash.as_slice() {
                return Err("its content does not match its commitment".into());
            }
            Ok(pairs)
        });
    match verified {
        Ok(pairs) => Ok(Some(pairs)),
        Err(reason) => {
            tracing::warn!(
                module,
                block = m.block,
                "snapshot not used: {reason}; trying an older one"
            );
            Ok(None)
        }
    }
}

/// Keeps the newest `keep` snapshots at or below `progress` and deletes the older ones
/// (chunks first, then the manifest, so a crash in between leaves a manifest whose chunks
/// are gone: it fails verification and the next pruning deletes it). Snapshots above
/// progress (a crashed commit's) are left for the retried commit to rewrite. Returns the
/// block of the oldest kept snapshot.
pub(super) async fn prune(
    w: &Writer<'_>,
    st: &Statements,
    module: &str,
    progress: i64,
    keep: usize,
) -> Result<Option<i64>, StoreError> {
    let committed: Vec<Manifest> = manifests(w.s, st, module)
        .await?
        .into_iter()
        .filter(|m| m.block <= progress)
        .collect();
    let keep = keep.max(1);
    for m in committed.iter().skip(keep) {
        w.one(&st.snapshot_chunks_delete, (part(module, m.block),)).await?;
        w.one(&st.manifest_delete, (module.to_string(), m.block)).await?;
    }
    Ok(committed
        .get(keep.min(committed.len()).saturating_sub(1))
        .map(|m| m.block))
}
