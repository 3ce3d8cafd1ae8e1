//! A commit as a sequence of idempotent writes with each module's progress row last (the
//! numbered protocol of the [module doc](super)): what makes a crash at any write harmless.

use super::crash_hook::Writes;
use super::rows::{
    backend, corrupt, decode_changes, encode_changes, encode_messages, i64_of, projected, read_progress, rows_of,
    ProgressRow,
};
use super::statements::Statements;
use super::EVENT_BUCKET;
use crate::{CommitBatch, StoreError};
use opentoken_codec::{encode_event_record, encode_op_status};
use opentoken_core::commitment::LtHash;
use opentoken_core::Message;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use std::collections::{BTreeMap, BTreeSet};

/// One write of a commit (counted for the crash-test hook).
async fn exec(
    s: &Session,
    stmt: &PreparedStatement,
    values: impl scylla::serialize::row::SerializeRow,
    writes: &Writes,
) -> Result<(), StoreError> {
    writes.tick()?;
    s.execute_unpaged(stmt, values)
        .await
        .map_err(|e| backend("commit")(e.to_string()))?;
    Ok(())
}

/// Writes `batch` by the numbered protocol of the [module doc](super); `writes` counts the
/// writes for the crash-test hook.
pub(super) async fn commit(
    s: &Session,
    st: &Statements,
    batch: &CommitBatch,
    writes: &Writes,
) -> Result<(), StoreError> {
    // 1. Refuse contradictions before writing anything.
    let mut prior: BTreeMap<&str, Option<ProgressRow>> = BTreeMap::new();
    for m in &batch.modules {
        let old = read_progress(s, st, &m.module).await?;
        if let Some(old) = &old {
            if m.progress.block < old.block || m.progress.next_offset < old.next_offset {
                return Err(StoreError::Conflict {
                    detail: format!(
                        "module {}: progress would go back from block {} offset {} to block {} offset {}; another \
                         processor instance of this module has committed further (stop the stale one)",
                        m.module, old.block, old.next_offset, m.progress.block, m.progress.next_offset
                    ),
                });
            }
        }
        prior.insert(m.module.as_str(), old);
    }
    for c in &batch.checkpoints {
        let b = i64_of(c.block, "block")?;
        let rows: Vec<(i64, Vec<u8>)> =
            rows_of(s, &st.checkpoint_get, (c.module.clone(), b), "read checkpoint").await?;
        if let Some((_, old)) = rows.into_iter().find(|(block, _)| *block == b) {
            if old.as_slice() != c.hash {
                return Err(StoreError::Conflict {
                    detail: format!(
                        "module {}: checkpoint at block {} is already recorded with a different hash; this node's \
                         state diverged from what it committed before (non-determinism or a changed module version): \
                         rebuild the module with `opentoken replay`",
                        c.module, c.block
                    ),
                });
            }
        }
    }

    // 2. + 3. Commit links and snapshots.
    let mut links: BTreeMap<&str, i64> = BTreeMap::new();
    for m in &batch.modules {
        let block = i64_of(m.progress.block, "block")?;
        let old = prior.get(m.module.as_str()).cloned().flatten();
        // A re-commit of the committed block extends the link that ends there.
        let (prev, changes) = match &old {
            Some(o) if o.block == m.progress.block => {
                let rows: Vec<(i64, i64, Vec<u8>)> =
                    rows_of(s, &st.get_commit, (m.module.clone(), o.prev), "read commit link").await?;
                let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = match rows.into_iter().find(|r| r.0 == o.prev) {
                    Some((_, _, blob)) => decode_changes(&blob)
                        .map_err(|e| corrupt(format!("commit link of {}", m.module), e))?
                        .into_iter()
                        .collect(),
                    None => BTreeMap::new(),
                };
                for (k, v) in &m.changes {
                    merged.insert(k.clone(), v.clone());
                }
                (
                    o.prev,
                    encode_changes(merged.iter().map(|(k, v)| (k.as_slice(), v.as_deref()))),
                )
            }
            Some(o) => (
                i64_of(o.block, "block")?,
                encode_changes(m.changes.iter().map(|(k, v)| (k.as_slice(), v.as_deref()))),
            ),
            None => (
                -1,
                encode_changes(m.changes.iter().map(|(k, v)| (k.as_slice(), v.as_deref()))),
            ),
        };
        links.insert(m.module.as_str(), prev);
        exec(s, &st.put_commit, (m.module.clone(), prev, block, changes), writes).await?;
        if let Some(pairs) = &m.snapshot {
            let hash = LtHash::from_pairs(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).digest();
            let blob = encode_changes(pairs.iter().map(|(k, v)| (k.as_slice(), Some(v.as_slice()))));
            exec(
                s,
                &st.snapshot_put,
                (m.module.clone(), block, hash.to_vec(), blob),
                writes,
            )
            .await?;
        }
    }

    // 4. Projection, events, statuses, checkpoints, pending for modules outside the batch.
    for m in &batch.modules {
        for (k, v) in &m.changes {
            exec(
                s,
                &st.state_put,
                (m.module.clone(), k.clone(), projected(v.as_deref())),
                writes,
            )
            .await?;
        }
    }
    let buckets: BTreeSet<(&str, u64)> = batch
        .events
        .iter()
        .map(|e| (e.module.as_str(), e.pos.block / EVENT_BUCKET))
        .collect();
    for (module, bucket) in buckets {
        exec(
            s,
            &st.event_bucket_put,
            (module.to_string(), i64_of(bucket, "bucket")?),
            writes,
        )
        .await?;
    }
    for ev in &batch.events {
        let p = ev.pos;
        let part = format!("{}/{}", ev.module, p.block / EVENT_BUCKET);
        let values = (
            part,
            i64_of(p.block, "block")?,
            i64::from(p.trx_in_block),
            i64::from(p.op_in_trx),
            i64::from(ev.seq),
            encode_event_record(ev),
        );
        exec(s, &st.event_put, values, writes).await?;
    }
    for o in &batch.statuses {
        let p = o.pos;
        let values = (
            o.txid.clone(),
            i64_of(p.block, "block")?,
            i64::from(p.trx_in_block),
            i64::from(p.op_in_trx),
            o.module.clone(),
            encode_op_status(o),
        );
        exec(s, &st.status_put, values, writes).await?;
    }
    for c in &batch.checkpoints {
        let values = (c.module.clone(), i64_of(c.block, "block")?, c.hash.to_vec());
        exec(s, &st.checkpoint_put, values, writes).await?;
    }
    let in_batch: Vec<&str> = batch.modules.iter().map(|m| m.module.as_str()).collect();
    let mut others: BTreeMap<&str, Vec<&Message>> = BTreeMap::new();
    for msg in batch
        .pending_messages
        .iter()
        .filter(|m| !in_batch.contains(&m.to.as_str()))
    {
        others.entry(msg.to.as_str()).or_default().push(msg);
    }
    for (target, msgs) in others {
        exec(
            s,
            &st.extra_pending_put,
            (target.to_string(), encode_messages(&msgs)),
            writes,
        )
        .await?;
    }

    // 5. Progress rows last: each commits its module.
    for m in &batch.modules {
        let msgs: Vec<&Message> = batch.pending_messages.iter().filter(|x| x.to == m.module).collect();
        let values = (
            m.module.clone(),
            i64_of(m.progress.block, "block")?,
            i64_of(m.progress.next_offset, "offset")?,
            m.lattice.clone(),
            encode_messages(&msgs),
            links.get(m.module.as_str()).copied().unwrap_or(-1),
        );
        exec(s, &st.put_progress, values, writes).await?;
    }
    Ok(())
}
