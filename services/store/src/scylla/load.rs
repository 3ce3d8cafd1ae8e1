//! Loading a module's committed state: what a crash ahead of the progress row never
//! leaks into.

use super::rows::{corrupt, decode_changes, i64_of, read_progress, rows_of};
use super::statements::Statements;
use crate::{LoadedModule, Progress, StoreError};
use opentoken_core::commitment::LtHash;
use scylla::client::session::Session;
use std::collections::BTreeMap;

/// The committed state: newest verified snapshot at or below progress, then the commit
/// chain up to exactly the progress block. (The processor checks the result against the
/// committed lattice when it loads it, for every backend.)
pub(super) async fn load(s: &Session, st: &Statements, module: &str) -> Result<LoadedModule, StoreError> {
    let Some(progress) = read_progress(s, st, module).await? else {
        return Ok(LoadedModule::default());
    };
    let mut snaps: Vec<(i64, Vec<u8>)> = rows_of(s, &st.snapshot_list, (module,), "list snapshots").await?;
    snaps.retain(|(b, _)| *b >= 0 && (*b as u64) <= progress.block);
    snaps.sort_by_key(|(b, _)| std::cmp::Reverse(*b));
    let mut state: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut at: i64 = -1;
    for (block, hash) in snaps {
        let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = rows_of(s, &st.snapshot_get, (module, block), "read snapshot").await?;
        let Some((_, _, blob)) = rows.into_iter().find(|r| r.0 == block) else {
            continue;
        };
        let pairs = match decode_changes(&blob) {
            Ok(pairs) => pairs,
            Err(e) => {
                tracing::warn!(module, block, error = %e, "snapshot does not decode; trying an older one");
                continue;
            }
        };
        let pairs: BTreeMap<Vec<u8>, Vec<u8>> = pairs.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
        let digest = LtHash::from_pairs(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).digest();
        if digest.as_slice() != hash.as_slice() {
            tracing::warn!(
                module,
                block,
                "snapshot does not match its commitment; trying an older one"
            );
            continue;
        }
        state = pairs;
        at = block;
        break;
    }
    let target = i64_of(progress.block, "block")?;
    while at < target {
        let rows: Vec<(i64, i64, Vec<u8>)> = rows_of(s, &st.get_commit, (module, at), "read commit link").await?;
        let Some((_, next, blob)) = rows.into_iter().find(|r| r.0 == at) else {
            return Err(corrupt(
                format!("module {module}"),
                format!("the commit chain breaks after block {at} (committed up to {target})"),
            ));
        };
        if next <= at || next > target {
            return Err(corrupt(
                format!("module {module}"),
                format!("the commit link after block {at} leads to block {next} (committed up to {target})"),
            ));
        }
        for (k, v) in decode_changes(&blob).map_err(|e| corrupt(format!("commit link of {module}"), e))? {
            match v {
                Some(v) => state.insert(k, v),
                None => state.remove(&k),
            };
        }
        at = next;
    }
    Ok(LoadedModule {
        pairs: state,
        lattice: (!progress.lattice.is_empty()).then_some(progress.lattice),
        progress: Some(Progress {
            block: progress.block,
            next_offset: progress.next_offset,
        }),
    })
}
