//! Loading a module's committed state: what a crash ahead of the progress row never
//! leaks into.

use super::links::{self, FROM_NOTHING};
use super::rows::{corrupt, i64_of, read_progress, Changes};
use super::snapshots;
use super::statements::Statements;
use crate::{LoadedModule, Progress, StoreError};
use scylla::client::session::Session;
use std::collections::BTreeMap;

/// The committed state: from the progress row, walk the commit chain back (each link names
/// the one before it) to the newest position that has a snapshot passing verification (or
/// to the first commit), then apply the links forward. (The processor checks the result
/// against the committed lattice when it loads it, for every backend.)
pub(super) async fn load(s: &Session, st: &Statements, module: &str) -> Result<LoadedModule, StoreError> {
    let Some(progress) = read_progress(s, st, module).await? else {
        return Ok(LoadedModule::default());
    };
    let manifests = snapshots::manifests(s, st, module).await?;
    let mut pos = (
        i64_of(progress.block, "block")?,
        i64_of(progress.next_offset, "offset")?,
    );
    let mut start = progress.prev;
    let mut chain: Vec<Changes> = Vec::new();
    let base = loop {
        let mut found = None;
        for m in manifests.iter().filter(|m| m.block == pos.0) {
            if let Some(pairs) = snapshots::read(s, st, module, m).await? {
                found = Some(pairs);
                break;
            }
        }
        if let Some(pairs) = found {
            break pairs;
        }
        let Some(link) = links::read(s, st, module, start, pos).await? else {
            return Err(corrupt(
                format!("module {module}"),
                format!(
                    "the commit chain breaks: no link from block {start} to position {pos:?} (committed up to \
                     block {}), and no usable snapshot at or after it",
                    progress.block
                ),
            ));
        };
        chain.push(link.changes);
        if start == FROM_NOTHING {
            break BTreeMap::new();
        }
        if link.before >= start {
            return Err(corrupt(
                format!("module {module}"),
                format!(
                    "the commit link from block {start} names a link before it at block {}",
                    link.before
                ),
            ));
        }
        pos = (start, link.start_offset);
        start = link.before;
    };
    let mut state = base;
    for changes in chain.into_iter().rev() {
        for (k, v) in changes {
            match v {
                Some(v) => state.insert(k, v),
                None => state.remove(&k),
            };
        }
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
