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
}

impl ScyllaConfig {
    /// From `scylla://host:port[,host:port]/keyspace`.
    pub fn from_uri(uri: &str) -> Result<Self, StoreError> {
        let rest = uri.strip_prefix("scylla://").ok_or_else(|| StoreError::Backend {
            op: "parse scylla uri",
            detail: format!("{uri:?} does not start with scylla:// (expected scylla://host:port/keyspace)"),
        })?;
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
    }
}
