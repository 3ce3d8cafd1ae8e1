//! A commit as a sequence of idempotent writes with each module's progress row last (the
//! numbered protocol of the [module doc](super)): what makes a crash at any write harmless.

use super::links::{self, NewLink, FROM_NOTHING};
use super::projection::{self, Superseded};
use super::rows::{corrupt, encode_changes, encode_messages, i64_of, read_progress, rows_of, ProgressRow};
use super::snapshots;
use super::statements::Statements;
use super::statuses;
use super::writer::Writer;
use super::EVENT_BUCKET;
use crate::{CommitBatch, StoreError};
use opentoken_codec::encode_event_record;
use opentoken_core::Message;
use std::collections::{BTreeMap, BTreeSet};

/// What a commit needs besides the batch.
pub(super) struct CommitContext<'a> {
    pub writer: Writer<'a>,
    pub superseded: &'a Superseded,
    pub keep_snapshots: usize,
    pub keep_status_blocks: u64,
}

/// Writes `batch` by the numbered protocol of the [module doc](super), then deletes what
/// it superseded (step 6).
pub(super) async fn commit(st: &Statements, batch: &CommitBatch, cx: &CommitContext<'_>) -> Result<(), StoreError> {
    let (w, superseded, keep_snapshots) = (&cx.writer, cx.superseded, cx.keep_snapshots);
    let s = w.s;
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
    let mut link_starts: BTreeMap<&str, i64> = BTreeMap::new();
    for m in &batch.modules {
        let end = (
            i64_of(m.progress.block, "block")?,
            i64_of(m.progress.next_offset, "offset")?,
        );
        let old = prior.get(m.module.as_str()).cloned().flatten();
        let link = match &old {
            // A re-commit of the committed block: a new link from where the last one
            // started, with the last one's writes and these (the last one stays as it was
            // until the progress row names the new one).
            Some(o) if o.block == m.progress.block => {
                let last_end = (end.0, i64_of(o.next_offset, "offset")?);
                let last = links::read(s, st, &m.module, o.prev, last_end).await?.ok_or_else(|| {
                    corrupt(
                        format!("module {}", m.module),
                        format!(
                            "no commit link from block {} to the committed position {last_end:?}",
                            o.prev
                        ),
                    )
                })?;
                let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = last.changes.into_iter().collect();
                merged.extend(m.changes.iter().cloned());
                let blob = encode_changes(merged.iter().map(|(k, v)| (k.as_slice(), v.as_deref())));
                (o.prev, last.start_offset, last.before, blob)
            }
            Some(o) => (
                i64_of(o.block, "block")?,
                i64_of(o.next_offset, "offset")?,
                o.prev,
                encode_changes(m.changes.iter().map(|(k, v)| (k.as_slice(), v.as_deref()))),
            ),
            None => (
                FROM_NOTHING,
                FROM_NOTHING,
                FROM_NOTHING,
                encode_changes(m.changes.iter().map(|(k, v)| (k.as_slice(), v.as_deref()))),
            ),
        };
        let (start, start_offset, before, blob) = link;
        link_starts.insert(m.module.as_str(), start);
        let new = NewLink {
            module: &m.module,
            start,
            start_offset,
            before,
            end,
            blob: &blob,
        };
        links::write(w, st, &new).await?;
        if let Some(pairs) = &m.snapshot {
            let hash = snapshots::commitment(&m.lattice, pairs);
            snapshots::write(w, st, &m.module, end.0, pairs, hash).await?;
        }
    }

    // 4. Projection, events, statuses, checkpoints, pending for modules outside the batch.
    for m in &batch.modules {
        projection::write(w, st, &m.module, i64_of(m.progress.block, "block")?, &m.changes).await?;
    }
    let buckets: BTreeSet<(&str, u64)> = batch
        .events
        .iter()
        .map(|e| (e.module.as_str(), e.pos.block / EVENT_BUCKET))
        .collect();
    for (module, bucket) in buckets {
        w.one(&st.event_bucket_put, (module.to_string(), i64_of(bucket, "bucket")?))
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
        w.one(&st.event_put, values).await?;
    }
    statuses::write(w, st, &batch.statuses).await?;
    for c in &batch.checkpoints {
        let values = (c.module.clone(), i64_of(c.block, "block")?, c.hash.to_vec());
        w.one(&st.checkpoint_put, values).await?;
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
        w.one(&st.extra_pending_put, (target.to_string(), encode_messages(&msgs)))
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
            link_starts.get(m.module.as_str()).copied().unwrap_or(FROM_NOTHING),
        );
        w.one(&st.put_progress, values).await?;
    }

    // 6. Committed: delete what no reader or load needs any more.
    for m in &batch.modules {
        let block = i64_of(m.progress.block, "block")?;
        let old = prior.get(m.module.as_str()).cloned().flatten().map(|o| o.block);
        let old = old.map(|b| i64_of(b, "block")).transpose()?;
        let keys = m.changes.iter().map(|(k, _)| k.clone()).collect();
        superseded.prune(w, st, &m.module, old, block, keys).await?;
        statuses::expire(w, st, &m.module, m.progress.block, cx.keep_status_blocks).await?;
        if m.snapshot.is_some() {
            if let Some(oldest_kept) = snapshots::prune(w, st, &m.module, block, keep_snapshots).await? {
                // The last link stays too: a re-commit of this block extends it.
                let last = link_starts.get(m.module.as_str()).copied().unwrap_or(FROM_NOTHING);
                links::prune(w, st, &m.module, oldest_kept.min(last)).await?;
            }
        }
    }
    Ok(())
}
