//! Where the cluster is and which keyspace holds the node's data.

use crate::StoreError;

/// How to reach the cluster.
#[derive(Debug, Clone)]
pub struct ScyllaConfig {
    /// `host:port[,host:port]`.
    pub nodes: Vec<String>,
    pub keyspace: String,
    /// The keyspace's replication, e.g. `{'class': 'NetworkTopologyStrategy', 'replication_factor': 3}`.
    pub replication: String,
    /// Attempts (with backoff) to reach the cluster at start.
    pub connect_attempts: u32,
    /// Whole-state snapshots kept per module (at least 1): the newest ones at or below
    /// progress; older snapshots, and the commit links before the oldest kept one, are
    /// deleted once a newer snapshot is committed. More kept = more fallbacks if the newest
    /// fails verification, at one whole state each.
    pub keep_snapshots: usize,
    /// Rows per page of every read (the driver fetches the next page as the reader goes),
    /// so no read holds an unbounded result at once.
    pub page_rows: i32,
    /// Blocks of op statuses kept behind each module's progress (at least 1); older ones
    /// are answered as expired and deleted a bucket of blocks at a time.
    pub keep_status_blocks: u64,
}

/// Snapshots kept per module unless the URI says otherwise (`?keep_snapshots=N`).
pub const DEFAULT_KEEP_SNAPSHOTS: usize = 3;
/// Rows per page unless the URI says otherwise (`?page_rows=N`).
pub const DEFAULT_PAGE_ROWS: i32 = 1000;

impl ScyllaConfig {
    /// From `scylla://host:port[,host:port]/keyspace[?keep_snapshots=N&page_rows=N&keep_status_blocks=N]`.
    pub fn from_uri(uri: &str) -> Result<Self, StoreError> {
        let bad = |detail: String| StoreError::Backend {
            op: "parse scylla uri",
            detail,
        };
        let rest = uri.strip_prefix("scylla://").ok_or_else(|| {
            bad(format!(
                "{uri:?} does not start with scylla:// (expected scylla://host:port/keyspace)"
            ))
        })?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (mut keep_snapshots, mut page_rows) = (DEFAULT_KEEP_SNAPSHOTS, DEFAULT_PAGE_ROWS);
        let mut keep_status_blocks = crate::DEFAULT_KEEP_STATUS_BLOCKS;
        for param in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            let number = value.parse::<u32>().ok().filter(|n| *n > 0);
            match (name, number) {
                ("keep_snapshots", Some(n)) => keep_snapshots = n as usize,
                ("page_rows", Some(n)) => page_rows = i32::try_from(n).unwrap_or(i32::MAX),
                ("keep_status_blocks", Some(n)) => keep_status_blocks = u64::from(n),
                _ => {
                    return Err(bad(format!(
                        "unknown or invalid parameter {param:?} (known: keep_snapshots=N, page_rows=N, \
                         keep_status_blocks=N, N >= 1)"
                    )))
                }
            }
        }
        let (hosts, keyspace) = rest.split_once('/').unwrap_or((rest, "opentoken"));
        let keyspace = if keyspace.is_empty() { "opentoken" } else { keyspace };
        if !keyspace.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Backend {
                op: "parse scylla uri",
                detail: format!("keyspace {keyspace:?} must be letters, digits and _"),
            });
        }
        Ok(Self {
            nodes: hosts.split(',').filter(|h| !h.is_empty()).map(str::to_string).collect(),
            keyspace: keyspace.to_string(),
            replication: "{'class': 'SimpleStrategy', 'replication_factor': 1}".into(),
            connect_attempts: 30,
            keep_snapshots,
            page_rows,
            keep_status_blocks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_parsing() {
        let c = ScyllaConfig::from_uri("scylla://a:9042,b:9042/dlux").expect("valid");
        assert_eq!(c.nodes, vec!["a:9042", "b:9042"]);
        assert_eq!(c.keyspace, "dlux");
        assert_eq!(
            ScyllaConfig::from_uri("scylla://a:9042").expect("valid").keyspace,
            "opentoken"
        );
        assert!(ScyllaConfig::from_uri("http://a").is_err());
        assert!(ScyllaConfig::from_uri("scylla://a/bad-name").is_err());
        assert_eq!(c.keep_snapshots, DEFAULT_KEEP_SNAPSHOTS);
        let c = ScyllaConfig::from_uri("scylla://a:9042/dlux?keep_snapshots=5&page_rows=50").expect("valid");
        assert_eq!((c.keyspace.as_str(), c.keep_snapshots, c.page_rows), ("dlux", 5, 50));
        assert!(ScyllaConfig::from_uri("scylla://a/dlux?keep_snapshots=0").is_err());
        assert_eq!(c.keep_status_blocks, crate::DEFAULT_KEEP_STATUS_BLOCKS);
        let c = ScyllaConfig::from_uri("scylla://a/dlux?keep_status_blocks=50").expect("valid");
        assert_eq!(c.keep_status_blocks, 50);
        assert!(ScyllaConfig::from_uri("scylla://a/dlux?keep_status_blocks=0").is_err());
        assert!(ScyllaConfig::from_uri("scylla://a/dlux?other=1").is_err());
    }
}
