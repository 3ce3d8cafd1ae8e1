//! Fetching a snapshot from peers that may be hostile. A node out of consensus depends on
//! this to recover, and any account can register a node for free, so a peer gets a bounded
//! chance and nothing more: a checked public target (see `peer_target`), no redirects, a
//! capped body read in chunks, a connect timeout and a deadline for the whole download, and
//! a snapshot that must hash to the final consensus hash. A peer that fails any of these is
//! logged with its reason and the next one is asked.

use crate::decide::RecoveryTarget;
use crate::peer_order::Peer;
use crate::peer_target::{snapshot_target, PeerTarget};
use crate::snapshot::{verify_snapshot, SnapshotError};
use opentoken_core::module::GenesisError;
use opentoken_core::ChainSpec;
use opentoken_nodes::domain::DomainError;
use opentoken_nodes::NodesConfig;
use opentoken_store::{Restore, SnapshotDoc};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Largest snapshot body accepted by default: 256 MiB. A snapshot document is the hex of
/// every module's encoded state (two characters per byte); a community state of a million
/// accounts (key, 8-byte values, encoding overhead: some 40 bytes each) is about 40 MB, 80 MB
/// as hex, so this leaves three times that as headroom while bounding what one peer can make
/// a recovering node hold (the body, then the parsed document and the decoded state: a few
/// times the cap at worst).
pub const DEFAULT_MAX_SNAPSHOT_BYTES: u64 = 256 * 1024 * 1024;
/// Time to open a connection to a peer.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for one peer's whole download (resolution, connection, headers and body): a peer
/// must deliver a full-size snapshot at about 2 MB/s; one trickling bytes is cut here.
pub const DEFAULT_PEER_DEADLINE: Duration = Duration::from_secs(120);
/// The part of a redirect target kept for the log.
const LOCATION_PREVIEW: usize = 120;

/// How much a peer may cost a recovering node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerFetchPolicy {
    pub max_body_bytes: u64,
    pub connect_timeout: Duration,
    /// For one peer, from resolution to the last byte.
    pub deadline: Duration,
    /// Fetch from loopback, private and other non-public addresses too: for devnets and
    /// tests only, whose nodes run on 127.0.0.1.
    pub allow_private: bool,
}

impl Default for PeerFetchPolicy {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_SNAPSHOT_BYTES,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            deadline: DEFAULT_PEER_DEADLINE,
            allow_private: false,
        }
    }
}

impl PeerFetchPolicy {
    /// The defaults, with non-public peers allowed exactly where the chain lets nodes
    /// register non-public domains (`modules.nodes.allow_private_domains`, devnets): a
    /// chain without it has no such peers to ask, and a node on one never fetches from its
    /// own private network because a peer's name resolves there.
    pub fn for_chain(spec: &ChainSpec) -> Result<Self, GenesisError> {
        Ok(Self {
            allow_private: NodesConfig::from_spec(spec)?.allow_private_domains,
            ..Self::default()
        })
    }
}

/// Why a peer was passed over.
#[derive(Debug, Error)]
pub enum PeerSkip {
    #[error("registered domain refused: `domain` {0}")]
    Domain(DomainError),
    #[error("snapshot URL refused: {0}")]
    Url(String),
    #[error("host does not resolve: {0}")]
    Resolve(String),
    #[error("resolves to {ip}, a {why} address (non-public peers are fetched from only on chains with allow_private_domains)")]
    Address { ip: IpAddr, why: &'static str },
    #[error("request failed: {0}")]
    Request(String),
    #[error("answered {status} redirecting to {location:?}; redirects are refused")]
    Redirect { status: u16, location: String },
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("snapshot is larger than the {limit}-byte limit")]
    TooLarge { limit: u64 },
    #[error("did not deliver the snapshot within {0:?}")]
    Deadline(Duration),
    #[error("snapshot is not a snapshot document: {0}")]
    Unreadable(String),
    #[error("snapshot does not verify: {0}")]
    Unverified(SnapshotError),
}

/// What asking the peers gave: the first verified snapshot (and who served it), and every
/// peer passed over before it, with the reason.
#[derive(Debug, Default)]
pub struct PeerFetch {
    pub restored: Option<(Peer, Restore)>,
    pub skipped: Vec<(Peer, PeerSkip)>,
}

/// Fetches and verifies snapshots of final checkpoints from peers.
#[derive(Debug, Clone)]
pub struct PeerFetcher {
    pub spec: Arc<ChainSpec>,
    /// The modules whose checkpoints make up the consensus hash.
    pub modules: Vec<String>,
    pub policy: PeerFetchPolicy,
}

impl PeerFetcher {
    /// Asks `peers` in order for the snapshot of `target` until one serves a snapshot that
    /// verifies; each one passed over is logged with its reason. Verification blocks the
    /// thread (`block_in_place`): call it on the multi-threaded runtime.
    pub async fn fetch(&self, peers: &[Peer], target: RecoveryTarget) -> PeerFetch {
        let mut out = PeerFetch::default();
        for peer in peers {
            match self.ask(peer, target).await {
                Ok(restore) => {
                    out.restored = Some((peer.clone(), restore));
                    return out;
                }
                Err(why) => {
                    tracing::warn!(peer = %peer.account, domain = %peer.domain, block = target.block, reason = %why, "peer snapshot skipped");
                    out.skipped.push((peer.clone(), why));
                }
            }
        }
        out
    }

    /// One peer's snapshot, downloaded within the policy and verified.
    async fn ask(&self, peer: &Peer, target: RecoveryTarget) -> Result<Restore, PeerSkip> {
        let deadline = self.policy.deadline;
        let body = tokio::time::timeout(deadline, self.download(&peer.domain, target.block))
            .await
            .map_err(|_| PeerSkip::Deadline(deadline))??;
        tokio::task::block_in_place(|| {
            let doc: SnapshotDoc = serde_json::from_slice(&body).map_err(|e| PeerSkip::Unreadable(e.to_string()))?;
            drop(body);
            verify_snapshot(&self.spec, &self.modules, &doc, target.block, &target.final_hash)
                .map_err(PeerSkip::Unverified)
        })
    }

    /// The body of the peer's snapshot response, at most `max_body_bytes`, read in chunks.
    async fn download(&self, domain: &str, block: u64) -> Result<Vec<u8>, PeerSkip> {
        let PeerTarget { url, pin } = snapshot_target(domain, block, self.policy.allow_private).await?;
        // A client per request: it is pinned to the address that was checked, follows no
        // redirect and ignores proxy settings (a proxy would resolve the name again).
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(self.policy.connect_timeout)
            .timeout(self.policy.deadline);
        if let Some((host, addr)) = &pin {
            builder = builder.resolve(host, *addr);
        }
        let client = builder.build().map_err(|e| PeerSkip::Request(e.to_string()))?;
        let request_failed = |e: reqwest::Error| {
            if e.is_timeout() {
                PeerSkip::Deadline(self.policy.deadline)
            } else {
                PeerSkip::Request(e.to_string())
            }
        };
        let mut resp = client.get(url).send().await.map_err(request_failed)?;
        let status = resp.status();
        if status.is_redirection() {
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|l| {
                    String::from_utf8_lossy(l.as_bytes())
                        .chars()
                        .take(LOCATION_PREVIEW)
                        .collect()
                })
                .unwrap_or_default();
            return Err(PeerSkip::Redirect {
                status: status.as_u16(),
                location,
            });
        }
        if !status.is_success() {
            return Err(PeerSkip::Status(status.as_u16()));
        }
        let limit = self.policy.max_body_bytes;
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(PeerSkip::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(request_failed)? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(PeerSkip::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
