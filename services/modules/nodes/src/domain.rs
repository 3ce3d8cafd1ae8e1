//! What a node may register as its API URL (`node_add`'s `domain`), and which IP addresses
//! count as not public.
//!
//! Peers fetch snapshots from registered domains, so a domain is a request target other nodes
//! will follow. Registration costs no stake: without these rules anyone could point every
//! recovering node at its own loopback, cloud metadata (169.254.169.254) or a private
//! network, or smuggle in a `user@host`, query or fragment. The consensus agent applies the
//! same parse before fetching, and [`crate::address::non_public_range`] to the addresses a name
//! resolves to.
//!
//! Consensus code: the grammar is written out here (no URL library whose next version could
//! accept something else and fork the chain) and there is no DNS. Accepted:
//!
//! - `http://` or `https://` (lowercase), then a host: a host name (labels of letters, digits
//!   and `-`, 1 to 63 characters, not starting or ending with `-`, the last one not a
//!   number, at most 253 characters), a dotted-quad IPv4 address (four decimal parts 0-255
//!   without leading zeros) or a bracketed IPv6 address;
//! - an optional `:port` (1-65535, decimal, no leading zero);
//! - an optional path of `/segment`s (letters, digits, `-`, `.`, `_`, `~`; no empty, `.` or
//!   `..` segment) without a trailing `/`, for a node behind a reverse proxy at a prefix
//!   (peers append `/v1/...`).
//!
//! Refused besides: user info, query, fragment, percent-escapes, backslashes; `localhost`
//! (and `*.localhost`) and IP literals in a non-public range, unless the chain spec says
//! `modules.nodes.allow_private_domains` (devnets, whose nodes run on 127.0.0.1).

use crate::address::non_public_range;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use thiserror::Error;

/// Longest host name (RFC 1035).
const MAX_HOST_NAME: usize = 253;
/// Longest label of a host name.
const MAX_LABEL: usize = 63;

/// A registered domain, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUrl<'a> {
    pub https: bool,
    pub host: ApiHost<'a>,
    pub port: Option<u16>,
    /// Empty or `/segment...` without a trailing `/`.
    pub path: &'a str,
}

/// The host of an [`ApiUrl`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiHost<'a> {
    /// A host name, as written (DNS is case-insensitive).
    Name(&'a str),
    Ip(IpAddr),
}

/// Why a domain is refused; the text completes "`domain` ...".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must be printable ASCII without spaces (a URL)")]
    NotPrintable,
    #[error("must start with http:// or https://")]
    Scheme,
    #[error("must name a host after the scheme")]
    NoHost,
    #[error("must not end with '/'")]
    TrailingSlash,
    #[error("must not carry user info (`user@host`)")]
    UserInfo,
    #[error("must not carry a query ('?')")]
    Query,
    #[error("must not carry a fragment ('#')")]
    Fragment,
    #[error("must not contain {0:?} (percent-escapes and backslashes are refused)")]
    Character(char),
    #[error("has a port that is not 1-65535 in plain decimal")]
    Port,
    #[error("has an invalid IPv6 address in brackets")]
    Ipv6,
    #[error("has a host that is neither a host name nor a dotted-quad IPv4 address")]
    Host,
    #[error("has a path segment that is empty, '.', '..' or not letters, digits, '-', '.', '_', '~'")]
    Path,
    #[error("names this machine (localhost); allowed only where the chain sets allow_private_domains")]
    Localhost,
    #[error("is a {0} address; allowed only where the chain sets allow_private_domains")]
    NotPublic(&'static str),
}

/// Parses `domain` by the rules of the module docs; with `allow_private`, `localhost` and
/// non-public IP literals are accepted.
pub fn parse_domain(domain: &str, max_chars: usize, allow_private: bool) -> Result<ApiUrl<'_>, DomainError> {
    if domain.is_empty() {
        return Err(DomainError::Empty);
    }
    if domain.len() > max_chars {
        return Err(DomainError::TooLong(max_chars));
    }
    if !domain.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(DomainError::NotPrintable);
    }
    let (https, rest) = match (domain.strip_prefix("https://"), domain.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return Err(DomainError::Scheme),
    };
    if rest.is_empty() {
        return Err(DomainError::NoHost);
    }
    if domain.ends_with('/') {
        return Err(DomainError::TrailingSlash);
    }
    for (c, e) in [
        ('@', DomainError::UserInfo),
        ('?', DomainError::Query),
        ('#', DomainError::Fragment),
        ('%', DomainError::Character('%')),
        ('\\', DomainError::Character('\\')),
    ] {
        if rest.contains(c) {
            return Err(e);
        }
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    check_path(path)?;
    let (host, port) = split_authority(authority)?;
    match host {
        ApiHost::Name(name) if !allow_private && is_localhost(name) => return Err(DomainError::Localhost),
        ApiHost::Ip(ip) if !allow_private => {
            if let Some(why) = non_public_range(ip) {
                return Err(DomainError::NotPublic(why));
            }
        }
        _ => {}
    }
    Ok(ApiUrl {
        https,
        host,
        port,
        path,
    })
}

fn is_localhost(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// `host[:port]` or `[v6][:port]`.
fn split_authority(authority: &str) -> Result<(ApiHost<'_>, Option<u16>), DomainError> {
    if authority.is_empty() {
        return Err(DomainError::NoHost);
    }
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (v6, after) = inner.split_once(']').ok_or(DomainError::Ipv6)?;
        let ip: Ipv6Addr = v6.parse().map_err(|_| DomainError::Ipv6)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(DomainError::Port)?),
        };
        (ApiHost::Ip(IpAddr::V6(ip)), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        (parse_host(host)?, port)
    };
    let port = port.map(parse_port).transpose()?;
    Ok((host, port))
}

fn parse_port(p: &str) -> Result<u16, DomainError> {
    if p.is_empty() || p.len() > 5 || p.starts_with('0') || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DomainError::Port);
    }
    p.parse::<u16>().map_err(|_| DomainError::Port)
}

/// A dotted-quad IPv4 address or a host name. A name whose last label is a number (decimal
/// or `0x` hex) is refused: URL parsers read `127.1` or `0x7f.0.0.1` as IPv4 addresses.
fn parse_host(host: &str) -> Result<ApiHost<'_>, DomainError> {
    if host.is_empty() {
        return Err(DomainError::NoHost);
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return parse_dotted_quad(host).map(|ip| ApiHost::Ip(IpAddr::V4(ip)));
    }
    if host.len() > MAX_HOST_NAME {
        return Err(DomainError::Host);
    }
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= MAX_LABEL
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !labels.iter().all(label_ok) {
        return Err(DomainError::Host);
    }
    let last = labels.last().copied().unwrap_or_default();
    let hex_number = last
        .strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    if hex_number || last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DomainError::Host);
    }
    Ok(ApiHost::Name(host))
}

/// Exactly four decimal parts 0-255, no leading zeros (which some parsers read as octal).
fn parse_dotted_quad(host: &str) -> Result<Ipv4Addr, DomainError> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() != 4 {
        return Err(DomainError::Host);
    }
    let mut octets = [0u8; 4];
    for (o, p) in octets.iter_mut().zip(&parts) {
        if p.is_empty() || p.len() > 3 || (p.len() > 1 && p.starts_with('0')) {
            return Err(DomainError::Host);
        }
        *o = p.parse().map_err(|_| DomainError::Host)?;
    }
    Ok(Ipv4Addr::from(octets))
}

fn check_path(path: &str) -> Result<(), DomainError> {
    if path.is_empty() {
        return Ok(());
    }
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    };
    // `path` starts with '/' (it was split off at the first one).
    if path.get(1..).unwrap_or_default().split('/').all(segment_ok) {
        Ok(())
    } else {
        Err(DomainError::Path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(d: &str) -> Result<ApiUrl<'_>, DomainError> {
        parse_domain(d, 256, false)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an IP address")
    }

    #[test]
    fn public_urls_are_taken_apart() {
        let u = parse("https://node.example.com").expect("plain");
        assert_eq!(
            u,
            ApiUrl {
                https: true,
                host: ApiHost::Name("node.example.com"),
                port: None,
                path: ""
            }
        );
        let u = parse("http://Node-1.Example:8080/opentoken/v.2").expect("port and path");
        assert_eq!(
            (u.https, u.host, u.port, u.path),
            (false, ApiHost::Name("Node-1.Example"), Some(8080), "/opentoken/v.2")
        );
        let u = parse("https://8.8.8.8:443").expect("public IPv4");
        assert_eq!(u.host, ApiHost::Ip(ip("8.8.8.8")));
        let u = parse("https://[2606:4700::1111]:8443").expect("public IPv6");
        assert_eq!((u.host, u.port), (ApiHost::Ip(ip("2606:4700::1111")), Some(8443)));
        assert!(parse("https://n").is_ok(), "a single-label name");
        assert!(parse("https://1password.com").is_ok(), "a label may start with a digit");
    }

    #[test]
    fn every_refused_form_names_its_reason() {
        let cases: &[(&str, DomainError)] = &[
            ("", DomainError::Empty),
            ("ftp://x", DomainError::Scheme),
            ("HTTPS://x.example", DomainError::Scheme),
            ("x.example", DomainError::Scheme),
            ("javascript://x.example", DomainError::Scheme),
            ("https://", DomainError::NoHost),
            ("https://x.example/", DomainError::TrailingSlash),
            ("https://a b", DomainError::NotPrintable),
            ("https://user@x.example", DomainError::UserInfo),
            ("https://user:pw@x.example", DomainError::UserInfo),
            ("https://x.example@127.0.0.1", DomainError::UserInfo),
            ("https://x.example?a=1", DomainError::Query),
            ("https://x.example/p?", DomainError::Query),
            ("https://x.example#f", DomainError::Fragment),
            ("https://x.example/%2e%2e", DomainError::Character('%')),
            ("https://x.example\\@y", DomainError::UserInfo),
            ("https://x.example\\y", DomainError::Character('\\')),
            ("https://x.example:0", DomainError::Port),
            ("https://x.example:65536", DomainError::Port),
            ("https://x.example:080", DomainError::Port),
            ("https://x.example:", DomainError::Port),
            ("https://x.example:8:8", DomainError::Port),
            ("https://[::1", DomainError::Ipv6),
            ("https://[zz::1]", DomainError::Ipv6),
            ("https://[fe80::1%25eth0]", DomainError::Character('%')),
            ("https://[2606:4700::1111]x", DomainError::Port),
            ("https://:8080", DomainError::NoHost),
            ("https://-x.example", DomainError::Host),
            ("https://x_y.example", DomainError::Host),
            ("https://x..example", DomainError::Host),
            ("https://x.example.", DomainError::Host),
            ("https://2130706433", DomainError::Host),
            ("https://127.1", DomainError::Host),
            ("https://127.000.0.1", DomainError::Host),
            ("https://0x7f.0.0.1", DomainError::Host),
            ("https://x.0x7f", DomainError::Host),
            ("https://x.123", DomainError::Host),
            ("https://256.1.1.1", DomainError::Host),
            ("https://x.example//a", DomainError::Path),
            ("https://x.example/../admin", DomainError::Path),
            ("https://x.example/./a", DomainError::Path),
            ("https://x.example/a;b", DomainError::Path),
            ("https://localhost", DomainError::Localhost),
            ("http://LocalHost:8080", DomainError::Localhost),
            ("http://api.localhost", DomainError::Localhost),
            ("http://127.0.0.1:8080", DomainError::NotPublic("loopback")),
            ("http://10.1.2.3", DomainError::NotPublic("private (RFC 1918)")),
            ("http://169.254.169.254", DomainError::NotPublic("link-local")),
            ("http://0.0.0.0", DomainError::NotPublic("unspecified (0.0.0.0/8)")),
            ("http://[::1]:80", DomainError::NotPublic("loopback")),
            ("http://[::ffff:127.0.0.1]", DomainError::NotPublic("loopback")),
            ("http://[fd00::1]", DomainError::NotPublic("unique local (fc00::/7)")),
        ];
        for (d, want) in cases {
            assert_eq!(parse(d).as_ref().err(), Some(want), "{d:?}");
        }
        let long = format!("https://{}", "a".repeat(300));
        assert_eq!(parse(&long).err(), Some(DomainError::TooLong(256)));
        let long_label = format!("https://{}.example", "a".repeat(64));
        assert_eq!(parse(&long_label).err(), Some(DomainError::Host));
    }

    #[test]
    fn the_devnet_opt_in_accepts_local_hosts_but_not_bad_syntax() {
        for d in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:2",
            "http://10.0.0.1",
        ] {
            assert!(parse_domain(d, 256, true).is_ok(), "{d}");
        }
        for d in ["http://user@127.0.0.1", "http://127.0.0.1/?x", "http://127.1"] {
            assert!(parse_domain(d, 256, true).is_err(), "{d}");
        }
    }
}
