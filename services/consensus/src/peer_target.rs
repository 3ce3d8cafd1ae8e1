//! Where a peer's snapshot is fetched from: its registered domain checked by the nodes
//! module's rules, its host resolved once, and every address it resolves to checked to be
//! public. The request then goes to the address that was checked (the client is pinned to
//! it), so a second DNS answer cannot swap in a private address.

use crate::peer_fetch::PeerSkip;
use opentoken_nodes::address::non_public_range;
use opentoken_nodes::domain::{parse_domain, ApiHost};
use opentoken_nodes::MAX_DOMAIN_CHARS;
use std::net::{IpAddr, SocketAddr};

/// A snapshot URL and, for a host name, the one address the request must go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PeerTarget {
    pub url: reqwest::Url,
    /// `(host name, address)` for the client's resolver override; `None` for an IP literal.
    pub pin: Option<(String, SocketAddr)>,
}

/// The checked target of `GET <domain>/v1/snapshots/<block>`. With `allow_private`
/// (devnets and tests) non-public addresses are accepted.
pub(crate) async fn snapshot_target(domain: &str, block: u64, allow_private: bool) -> Result<PeerTarget, PeerSkip> {
    let parsed = parse_domain(domain, MAX_DOMAIN_CHARS, allow_private).map_err(PeerSkip::Domain)?;
    let url =
        reqwest::Url::parse(&format!("{domain}/v1/snapshots/{block}")).map_err(|e| PeerSkip::Url(e.to_string()))?;
    // The nodes module's grammar already refuses these; a URL parser that reads the string
    // otherwise must not get a say in where the request goes.
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(PeerSkip::Url(format!("{url} does not read as the registered domain")));
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| PeerSkip::Url(format!("{url} has no port")))?;
    match parsed.host {
        ApiHost::Ip(ip) => {
            check_address(ip, allow_private)?;
            Ok(PeerTarget { url, pin: None })
        }
        ApiHost::Name(_) => {
            let host = url
                .host_str()
                .ok_or_else(|| PeerSkip::Url(format!("{url} has no host")))?
                .to_string();
            if host.parse::<IpAddr>().is_ok() || host.starts_with('[') {
                return Err(PeerSkip::Url(format!("{url}: a host name read as an address")));
            }
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| PeerSkip::Resolve(e.to_string()))?
                .collect();
            // Any non-public answer refuses the peer: it is a rebinding attempt or a
            // misconfiguration, and either way not a peer to trust.
            for a in &addrs {
                check_address(a.ip(), allow_private)?;
            }
            let addr = *addrs
                .first()
                .ok_or_else(|| PeerSkip::Resolve(format!("{host} has no addresses")))?;
            Ok(PeerTarget {
                url,
                pin: Some((host, addr)),
            })
        }
    }
}

fn check_address(ip: IpAddr, allow_private: bool) -> Result<(), PeerSkip> {
    match non_public_range(ip) {
        Some(why) if !allow_private => Err(PeerSkip::Address { ip, why }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn target(domain: &str, allow_private: bool) -> Result<PeerTarget, PeerSkip> {
        snapshot_target(domain, 100, allow_private).await
    }

    #[tokio::test]
    async fn ip_literals_are_checked_and_not_pinned() {
        let t = target("https://8.8.8.8:8443/prefix", false).await.expect("public");
        assert_eq!(t.url.as_str(), "https://8.8.8.8:8443/prefix/v1/snapshots/100");
        assert_eq!(t.pin, None);
        let t = target("http://[2606:4700::1111]", false).await.expect("public v6");
        assert_eq!(t.url.as_str(), "http://[2606:4700::1111]/v1/snapshots/100");
        assert!(matches!(
            target("http://127.0.0.1:9", false).await,
            Err(PeerSkip::Domain(_))
        ));
        let t = target("http://127.0.0.1:9", true).await.expect("allowed on a devnet");
        assert_eq!(t.url.as_str(), "http://127.0.0.1:9/v1/snapshots/100");
    }

    #[tokio::test]
    async fn malformed_and_sneaky_domains_are_refused_before_any_lookup() {
        for d in [
            "https://user@8.8.8.8",
            "https://x.example?q",
            "https://x.example#f",
            "ftp://x.example",
            "https://x.example/",
            "http://0x7f.0.0.1",
        ] {
            assert!(matches!(target(d, true).await, Err(PeerSkip::Domain(_))), "{d}");
        }
    }

    #[tokio::test]
    async fn a_name_is_resolved_once_and_pinned_to_the_address_that_was_checked() {
        // `localhost` is the one name every machine resolves; with the name rule lifted
        // (allow_private) it resolves, and the client is pinned to that loopback address,
        // which the address check refuses without the switch.
        let t = target("http://localhost:9", true).await.expect("allowed on a devnet");
        let (host, addr) = t.pin.expect("a name is pinned");
        assert_eq!(host, "localhost");
        assert!(addr.ip().is_loopback());
        assert_eq!(addr.port(), 9);
        assert!(matches!(
            check_address(addr.ip(), false),
            Err(PeerSkip::Address { why: "loopback", .. })
        ));
    }
}
