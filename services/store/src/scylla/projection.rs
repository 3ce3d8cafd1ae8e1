//! The current-state projection the API reads, versioned by commit so that a reader sees
//! exactly one committed state.
//!
//! A commit writes each changed key as a new row `(module, key, block)` before its progress
//! row; a reader takes, per key, the newest version at or below the progress block it read
//! first. Rows of a commit in flight (or of one a crash stopped) are above that block and
//! invisible, so a read returns the state of one committed block, never a mix. Rows a
//! crashed commit left hold the state at their block (processing is deterministic), so
//! they agree with what the retried commits write.
//!
//! Older versions are deleted one commit late: after commit n's progress row, the versions
//! below block n-1 of the keys commit n-1 wrote (kept in memory by the committing store,
//! [`Superseded`]). A reader that started at block n-1 still finds every version it needs;
//! a reader that finds afterwards that progress moved more than one commit past the block
//! it read at, reads again ([`read_holds`]).

use super::rows::{backend, prefix_end, projected, read_progress, rows_of, unprojected, ProgressRow, Rows};
use super::statements::Statements;
use super::writer::{Writer, ROWS_PER_CALL};
use crate::{Pair, StoreError};
use scylla::client::session::Session;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Reads tried before giving up on a state that keeps moving under a reader.
const READ_ATTEMPTS: u32 = 5;

/// The most keys of one commit remembered for deleting their older versions a commit later;
/// the keys of a larger commit keep one older version until they are written again.
const REMEMBERED_KEYS: usize = 200_000;

/// Writes the commit's versions (deletes as marker values: a version must hide the older
/// ones), as bounded batches.
pub(super) async fn write(
    w: &Writer<'_>,
    st: &Statements,
    module: &str,
    block: i64,
    changes: &[(Vec<u8>, Option<Vec<u8>>)],
) -> Result<(), StoreError> {
    for part in changes.chunks(ROWS_PER_CALL) {
        let mut rows = Vec::with_capacity(part.len());
        for (k, v) in part {
            rows.push((module.to_string(), k.clone(), block, projected(v.as_deref())));
        }
        w.many(&st.projection_put, rows).await?;
    }
    Ok(())
}

/// Per module, the block and keys of the last commit this store made: whose older versions
/// the next commit deletes.
#[derive(Debug, Default)]
pub(super) struct Superseded {
    last: Mutex<HashMap<String, LastCommit>>,
}

/// A commit's block and the keys it wrote.
type LastCommit = (i64, Vec<Vec<u8>>);

impl Superseded {
    /// After `module`'s progress moved from `old` to `block` with `keys` written: deletes
    /// the versions the previous commit superseded (if this store made it and the server
    /// can delete a range), and remembers this commit's keys.
    pub(super) async fn prune(
        &self,
        w: &Writer<'_>,
        st: &Statements,
        module: &str,
        old: Option<i64>,
        block: i64,
        keys: Vec<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let previous = {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            let previous = last.remove(module);
            if old == Some(block) {
                // A commit that repeats its block (a retry) supersedes nothing: versions are
                // per block. What the first try remembered stays remembered.
                if let Some((b, mut remembered)) = previous {
                    if b == block && remembered.len() + keys.len() <= REMEMBERED_KEYS {
                        remembered.extend(keys);
                        last.insert(module.to_string(), (b, remembered));
                    }
                }
                return Ok(());
            }
            if keys.len() <= REMEMBERED_KEYS {
                last.insert(module.to_string(), (block, keys));
            }
            previous
        };
        let (Some((prev_block, prev_keys)), Some(delete)) = (previous, &st.projection_prune) else {
            return Ok(());
        };
        // Only when the previous commit of the module was this store's.
        if old != Some(prev_block) {
            return Ok(());
        }
        for part in prev_keys.chunks(ROWS_PER_CALL) {
            let mut rows = Vec::with_capacity(part.len());
            for k in part {
                rows.push((module.to_string(), k.clone(), prev_block));
            }
            w.many(delete, rows).await?;
        }
        Ok(())
    }
}

/// A projection row: key, block, value.
type VersionRow = (Vec<u8>, i64, Option<Vec<u8>>);

/// The newest version at or below `at` of one key's versions.
fn newest_at(versions: impl Iterator<Item = (i64, Option<Vec<u8>>)>, at: i64) -> Option<Vec<u8>> {
    versions
        .filter(|(b, _)| *b <= at)
        .max_by_key(|(b, _)| *b)
        .and_then(|(_, v)| unprojected(v))
}

/// Whether a read made at progress `at` still holds: progress has not moved more than one
/// commit past it (versions a reader at `at` needs are deleted only two commits later).
async fn read_holds(s: &Session, st: &Statements, module: &str, at: &ProgressRow) -> Result<bool, StoreError> {
    if st.projection_prune.is_none() {
        return Ok(true);
    }
    Ok(match read_progress(s, st, module).await? {
        Some(now) => now.block == at.block || now.prev == i64::try_from(at.block).unwrap_or(i64::MAX),
        None => false,
    })
}

fn moved_on(module: &str) -> StoreError {
    backend("read state")(format!(
        "module {module} committed faster than a read of its state could finish, {READ_ATTEMPTS} times"
    ))
}

/// A key's value at the committed progress.
pub(super) async fn get(s: &Session, st: &Statements, module: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    for _ in 0..READ_ATTEMPTS {
        let Some(at) = read_progress(s, st, module).await? else {
            return Ok(None);
        };
        let at_block = i64::try_from(at.block).unwrap_or(i64::MAX);
        // A server that ignores the clustering predicate returns more keys: keep this one's.
        let rows: Vec<VersionRow> = rows_of(s, &st.projection_get, (module, key), "read state").await?;
        let value = newest_at(rows.into_iter().filter(|r| r.0 == key).map(|r| (r.1, r.2)), at_block);
        if read_holds(s, st, module, &at).await? {
            return Ok(value);
        }
    }
    Err(moved_on(module))
}

/// Keys starting with `prefix` at the committed progress, in key order, at most `limit`.
pub(super) async fn scan(
    s: &Session,
    st: &Statements,
    module: &str,
    prefix: &[u8],
    limit: usize,
) -> Result<Vec<Pair>, StoreError> {
    for _ in 0..READ_ATTEMPTS {
        let Some(at) = read_progress(s, st, module).await? else {
            return Ok(Vec::new());
        };
        let at_block = i64::try_from(at.block).unwrap_or(i64::MAX);
        let upper = prefix_end(prefix);
        // On a server that reads clustering ranges the rows come in key order and the scan
        // stops after `limit` keys; otherwise it reads the partition and filters.
        let (mut rows, ordered) = match (&st.projection_range, &upper) {
            (Some(range), Some(upper)) => (
                Rows::<VersionRow>::of(s, range, (module, prefix, upper.as_slice()), "scan state").await?,
                true,
            ),
            _ => (Rows::of(s, &st.projection_scan, (module,), "scan state").await?, false),
        };
        let mut newest: BTreeMap<Vec<u8>, (i64, Option<Vec<u8>>)> = BTreeMap::new();
        let mut current: Option<Vec<u8>> = None;
        let mut present = 0usize;
        while let Some((key, block, value)) = rows.next().await? {
            if block > at_block || !key.starts_with(prefix) {
                continue;
            }
            if ordered && current.as_deref() != Some(key.as_slice()) {
                if let Some(done) = current.take() {
                    if newest.get(&done).is_some_and(|(_, v)| unprojected(v.clone()).is_some()) {
                        present += 1;
                    }
                }
                if present >= limit {
                    break;
                }
                current = Some(key.clone());
            }
            match newest.get(&key) {
                Some((b, _)) if *b >= block => {}
                _ => {
                    newest.insert(key, (block, value));
                }
            }
        }
        let pairs: Vec<Pair> = newest
            .into_iter()
            .filter_map(|(k, (_, v))| unprojected(v).map(|v| (k, v)))
            .take(limit)
            .collect();
        if read_holds(s, st, module, &at).await? {
            return Ok(pairs);
        }
    }
    Err(moved_on(module))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_version_at_or_below_the_block_wins() {
        let v = |b: i64, x: Option<&[u8]>| (b, Some(projected(x)));
        let versions = vec![v(10, Some(b"a")), v(30, None), v(20, Some(b"b")), v(40, Some(b"c"))];
        assert_eq!(newest_at(versions.clone().into_iter(), 5), None);
        assert_eq!(newest_at(versions.clone().into_iter(), 10), Some(b"a".to_vec()));
        assert_eq!(newest_at(versions.clone().into_iter(), 29), Some(b"b".to_vec()));
        assert_eq!(newest_at(versions.clone().into_iter(), 35), None, "deleted at 30");
        assert_eq!(newest_at(versions.into_iter(), 99), Some(b"c".to_vec()));
    }
}
