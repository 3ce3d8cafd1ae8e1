//! Op statuses: one row per op under its transaction id (what `/api/status/:txid` reads),
//! kept for the last `keep_status_blocks` blocks behind the module's progress.
//!
//! The rows are partitioned by txid, so finding the old ones needs an index ordered by
//! block: `status_index` (partition `<module>/<block ÷ 1000>`, one row per status) and
//! `status_buckets` (which index partitions a module has). A commit writes the bucket row,
//! the index rows and then the statuses, so no status exists without its index row. After
//! the progress row (step 6 of the [module doc](super)) the buckets that lie wholly before
//! the oldest kept block are deleted: their statuses row by row (a full primary key each),
//! then the index partition, then the bucket row, so a crash in between leaves only rows
//! the next commit deletes again. Deletion is by whole buckets, so up to
//! [`STATUS_BUCKET`] blocks of expired statuses stay on disk a while; reads cut at the
//! window exactly ([`visible`]), so they are expired as soon as they fall out of it.

use super::rows::{i64_of, rows_of};
use super::statements::Statements;
use super::writer::{Writer, ROWS_PER_CALL};
use crate::{oldest_kept_status_block, StoreError};
use opentoken_codec::encode_op_status;
use opentoken_core::OpStatus;
use std::collections::BTreeMap;

/// Blocks per partition of the status index: what one expiry pass deletes at most, and how
/// long expired statuses can stay on disk after they are no longer read.
pub(super) const STATUS_BUCKET: u64 = 1000;

/// A `status_index` row: part, block, trx, op, txid.
type IndexRow = (String, i64, i64, i64, String);

fn part(module: &str, bucket: i64) -> String {
    format!("{module}/{bucket}")
}

/// Writes the bucket rows, the index rows, then the statuses (step 4).
pub(super) async fn write(w: &Writer<'_>, st: &Statements, statuses: &[OpStatus]) -> Result<(), StoreError> {
    let mut parts: BTreeMap<(&str, i64), Vec<IndexRow>> = BTreeMap::new();
    for o in statuses {
        let p = o.pos;
        let bucket = i64_of(p.block / STATUS_BUCKET, "bucket")?;
        parts.entry((o.module.as_str(), bucket)).or_default().push((
            part(&o.module, bucket),
            i64_of(p.block, "block")?,
            i64::from(p.trx_in_block),
            i64::from(p.op_in_trx),
            o.txid.clone(),
        ));
    }
    for ((module, bucket), rows) in parts {
        w.one(&st.status_bucket_put, (module.to_string(), bucket)).await?;
        let mut rows = rows;
        while !rows.is_empty() {
            let rest = rows.split_off(rows.len().min(ROWS_PER_CALL));
            w.many(&st.status_index_put, rows).await?;
            rows = rest;
        }
    }
    for o in statuses {
        let p = o.pos;
        let values = (
            o.txid.clone(),
            i64_of(p.block, "block")?,
            i64::from(p.trx_in_block),
            i64::from(p.op_in_trx),
            o.module.clone(),
            encode_op_status(o),
        );
        w.one(&st.status_put, values).await?;
    }
    Ok(())
}

/// The buckets of `module` that lie wholly before the oldest block kept at `progress`.
fn expired_below(progress: u64, keep: u64) -> u64 {
    oldest_kept_status_block(progress, keep) / STATUS_BUCKET
}

/// Deletes `module`'s statuses in buckets wholly older than the window at `progress`
/// (step 6, after the progress row). Returns how many statuses it deleted.
pub(super) async fn expire(
    w: &Writer<'_>,
    st: &Statements,
    module: &str,
    progress: u64,
    keep: u64,
) -> Result<usize, StoreError> {
    let below = i64_of(expired_below(progress, keep), "bucket")?;
    if below == 0 {
        return Ok(0);
    }
    let buckets: Vec<(i64,)> = match &st.status_buckets_below {
        Some(ranged) => rows_of(w.s, ranged, (module, below), "list status buckets").await?,
        None => rows_of(w.s, &st.status_buckets, (module,), "list status buckets").await?,
    };
    let mut deleted = 0;
    // The server may ignore the range (the CQL double does): filter here too.
    for (bucket,) in buckets.into_iter().filter(|(b,)| *b < below) {
        let rows: Vec<(i64, i64, i64, String)> = rows_of(
            w.s,
            &st.status_index_scan,
            (part(module, bucket),),
            "list expired statuses",
        )
        .await?;
        for (block, trx, op, txid) in rows {
            w.one(&st.status_delete, (txid, block, trx, op, module.to_string()))
                .await?;
            deleted += 1;
        }
        w.one(&st.status_index_delete, (part(module, bucket),)).await?;
        w.one(&st.status_bucket_delete, (module.to_string(), bucket)).await?;
    }
    Ok(deleted)
}

/// Whether a status row of block `block` is read at a module progress of `at` (`None`: the
/// module has no progress row, so nothing of it is committed or expired): at or below
/// progress, and inside the kept window.
pub(super) fn visible(block: i64, at: Option<u64>, keep: u64) -> bool {
    let Ok(block) = u64::try_from(block) else {
        return false;
    };
    match at {
        None => true,
        Some(at) => block <= at && block >= oldest_kept_status_block(at, keep),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_expire_only_when_wholly_out_of_the_window() {
        // Keeping 10 blocks: at progress 1009 the oldest kept block is 1000, so bucket 0
        // (blocks 0..=999) is wholly expired; at 1008 block 999 is still kept.
        assert_eq!(expired_below(1008, 10), 0);
        assert_eq!(expired_below(1009, 10), 1);
        assert_eq!(expired_below(2008, 10), 1);
        assert_eq!(expired_below(2009, 10), 2);
        assert_eq!(expired_below(5, 10), 0, "nothing expired yet");
        assert_eq!(expired_below(u64::MAX, u64::MAX), 0);
    }

    #[test]
    fn reads_cut_at_progress_and_at_the_window() {
        assert!(visible(1, None, 10), "a module without progress shows what was written");
        assert!(!visible(101, Some(100), 10), "above progress: a commit in flight");
        assert!(visible(100, Some(100), 10));
        assert!(visible(91, Some(100), 10), "the oldest kept block");
        assert!(!visible(90, Some(100), 10), "expired");
        assert!(visible(0, Some(5), 10), "nothing expired yet");
        assert!(!visible(-1, Some(5), 10));
    }
}
