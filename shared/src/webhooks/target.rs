//! Where a webhook may be sent: SSRF defence for tenant-supplied URLs.
//!
//! A tenant chooses the URL, and the dispatcher posts to it from inside the VPC: without
//! these checks a webhook could reach the cloud metadata service, the database or any
//! internal endpoint. The URL is checked at registration ([`parse`], and [`resolve`] for
//! an early answer) and again at every delivery ([`resolve`]), because a name can point
//! somewhere else by then; the sender then connects to the addresses checked here, never
//! to a second lookup's answer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::{Host, Url};

/// Longer than any endpoint needs; also the database's limit on `webhooks.url`.
pub const MAX_URL_LENGTH: usize = 2048;

/// A slow resolver must not hold a registration request or a dispatcher's lease.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Private, loopback and other internal addresses allowed: local development only.
    pub allow_private: bool,
    pub require_https: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unresolvable(String),
    #[error("{}", forbidden_message(.host, .addr, .class))]
    Forbidden { host: String, addr: IpAddr, class: &'static str },
}

fn forbidden_message(host: &str, addr: &IpAddr, class: &str) -> String {
    let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
    let subject = if literal.as_ref() == Some(addr) {
        format!("address {addr} is")
    } else {
        format!("host {host} resolves to {addr}, which is")
    };
    format!("{subject} in a non-public address range ({class}); webhooks can only be sent to public internet addresses")
}

/// The URL's syntax, without resolving it.
pub fn parse(raw: &str, policy: &TargetPolicy) -> Result<Url, TargetError> {
    let invalid = |message: String| Err(TargetError::Invalid(message));
    if raw.len() > MAX_URL_LENGTH {
        return invalid(format!("URL is longer than {MAX_URL_LENGTH} characters"));
    }
    let url = match Url::parse(raw) {
        Ok(url) => url,
        Err(e) => return invalid(format!("not a valid absolute URL: {e}")),
    };
    match url.scheme() {
        "https" => {}
        "http" if !policy.require_https => {}
        "http" => return invalid("URL must use https".to_owned()),
        other if policy.require_https => return invalid(format!("URL must use https, not {other}")),
        other => return invalid(format!("URL must use https or http, not {other}")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return invalid(
            "URL must not contain credentials (user:password@); authenticate with the webhook signature".to_owned(),
        );
    }
    if url.fragment().is_some() {
        return invalid("URL must not contain a fragment (#…)".to_owned());
    }
    if url.host().is_none() {
        return invalid("URL has no host".to_owned());
    }
    Ok(url)
}

/// The addresses to connect to for `url`, every one of them allowed by `policy`.
///
/// All of them, not only the first: the connector may try any, and a name answering one
/// public and one internal address would otherwise slip through.
pub async fn resolve(url: &Url, policy: &TargetPolicy) -> Result<Vec<SocketAddr>, TargetError> {
    let Some(port) = url.port_or_known_default() else {
        return Err(TargetError::Invalid(format!("URL scheme {} has no default port", url.scheme())));
    };
    let addrs = match url.host() {
        None => return Err(TargetError::Invalid("URL has no host".to_owned())),
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(Host::Domain(name)) => lookup(name, port).await?,
    };
    if !policy.allow_private {
        for addr in &addrs {
            if let Some(class) = forbidden_class(addr.ip()) {
                return Err(TargetError::Forbidden {
                    host: url.host_str().unwrap_or_default().to_owned(),
                    addr: addr.ip(),
                    class,
                });
            }
        }
    }
    Ok(addrs)
}

async fn lookup(name: &str, port: u16) -> Result<Vec<SocketAddr>, TargetError> {
    let unresolvable = |why: String| TargetError::Unresolvable(format!("could not resolve host {name}: {why}"));
    let found = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((name, port)))
        .await
        .map_err(|_| unresolvable(format!("DNS lookup timed out after {} s", LOOKUP_TIMEOUT.as_secs())))?
        .map_err(|e| unresolvable(e.to_string()))?;
    // getaddrinfo answers an address once per socket type; keep the first of each.
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for addr in found {
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    if addrs.is_empty() {
        return Err(unresolvable("no address found".to_owned()));
    }
    Ok(addrs)
}

/// The class of a non-public address, `None` for a public one.
pub fn forbidden_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => v4_class(ip),
        IpAddr::V6(ip) => v6_class(ip),
    }
}

const CLOUD_METADATA_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);
/// EC2's instance metadata service over IPv6 (inside fc00::/7 too; named for clarity).
const CLOUD_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

/// Network, prefix length, class. First match wins: broadcast sits inside 240/4.
const V4_RANGES: &[(Ipv4Addr, u32, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "unspecified"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private network"),
    (Ipv4Addr::new(100, 64, 0, 0), 10, "carrier-grade NAT"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link-local"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private network"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, "IETF protocol assignments"),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "documentation"),
    (Ipv4Addr::new(192, 88, 99, 0), 24, "6to4 relay"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private network"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking"),
    (Ipv4Addr::new(198, 51, 100, 0), 24, "documentation"),
    (Ipv4Addr::new(203, 0, 113, 0), 24, "documentation"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast"),
    (Ipv4Addr::new(255, 255, 255, 255), 32, "broadcast"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "reserved"),
];

const V6_RANGES: &[(Ipv6Addr, u32, &str)] = &[
    (Ipv6Addr::new(0x0064, 0xff9b, 0x0001, 0, 0, 0, 0, 0), 48, "NAT64 local-use"),
    (Ipv6Addr::new(0x0100, 0, 0, 0, 0, 0, 0, 0), 64, "discard-only"),
    // Teredo, ORCHID, benchmarking and the like: nothing a webhook is served from.
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23, "IETF protocol assignments"),
    (Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0), 32, "documentation"),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20, "documentation"),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, "unique local"),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, "link-local"),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, "site-local"),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, "multicast"),
];

fn v4_class(ip: Ipv4Addr) -> Option<&'static str> {
    if ip == CLOUD_METADATA_V4 {
        return Some("cloud metadata");
    }
    let bits = ip.to_bits();
    V4_RANGES.iter().find(|(net, len, _)| bits & (u32::MAX << (32 - len)) == net.to_bits()).map(|(_, _, class)| *class)
}

fn v6_class(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if ip == CLOUD_METADATA_V6 {
        return Some("cloud metadata");
    }
    let bits = ip.to_bits();
    let within = |net: Ipv6Addr, len: u32| bits & (u128::MAX << (128 - len)) == net.to_bits();
    // Forms that carry an IPv4 address the packet ends up at: judged by that address.
    // IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96) in the low 32 bits.
    if within(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96)
        || within(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96)
    {
        return v4_class(Ipv4Addr::from_bits(bits as u32));
    }
    // 6to4 (2002::/16) in bits 16..48.
    if within(Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16) {
        return v4_class(Ipv4Addr::from_bits((bits >> 80) as u32));
    }
    if let Some((_, _, class)) = V6_RANGES.iter().find(|(net, len, _)| within(*net, *len)) {
        return Some(class);
    }
    // Only 2000::/3 is allocated for global unicast; everything else (including the
    // deprecated IPv4-compatible ::a.b.c.d) is reserved.
    if !within(Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3) {
        return Some("reserved");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: TargetPolicy = TargetPolicy { allow_private: false, require_https: false };
    const HTTPS: TargetPolicy = TargetPolicy { allow_private: false, require_https: true };
    const LOCAL: TargetPolicy = TargetPolicy { allow_private: true, require_https: false };

    fn class(ip: &str) -> Option<&'static str> {
        forbidden_class(ip.parse().unwrap())
    }

    #[test]
    fn ipv4_classes() {
        assert_eq!(class("0.0.0.0"), Some("unspecified"));
        assert_eq!(class("0.1.2.3"), Some("unspecified"));
        assert_eq!(class("127.0.0.1"), Some("loopback"));
        assert_eq!(class("127.255.255.254"), Some("loopback"));
        assert_eq!(class("10.0.0.1"), Some("private network"));
        assert_eq!(class("10.255.255.255"), Some("private network"));
        assert_eq!(class("172.16.0.1"), Some("private network"));
        assert_eq!(class("172.31.255.255"), Some("private network"));
        assert_eq!(class("192.168.1.1"), Some("private network"));
        assert_eq!(class("169.254.169.254"), Some("cloud metadata"));
        assert_eq!(class("169.254.0.1"), Some("link-local"));
        assert_eq!(class("169.254.170.2"), Some("link-local"));
        assert_eq!(class("100.64.0.1"), Some("carrier-grade NAT"));
        assert_eq!(class("100.127.255.255"), Some("carrier-grade NAT"));
        assert_eq!(class("255.255.255.255"), Some("broadcast"));
        assert_eq!(class("224.0.0.1"), Some("multicast"));
        assert_eq!(class("239.255.255.250"), Some("multicast"));
        assert_eq!(class("240.0.0.1"), Some("reserved"));
        assert_eq!(class("192.0.0.8"), Some("IETF protocol assignments"));
        assert_eq!(class("198.18.0.1"), Some("benchmarking"));
        assert_eq!(class("198.19.255.255"), Some("benchmarking"));
        assert_eq!(class("192.0.2.1"), Some("documentation"));
    }

    #[test]
    fn ipv4_public_neighbours_of_forbidden_ranges() {
        for public in [
            "93.184.216.34",
            "100.128.0.1",
            "100.63.255.255",
            "172.15.255.255",
            "172.32.0.1",
            "192.167.255.255",
            "192.169.0.1",
            "198.20.0.1",
            "223.255.255.255",
            "1.1.1.1",
            "8.8.8.8",
            "11.0.0.1",
            "126.255.255.255",
            "128.0.0.1",
            "169.253.255.255",
            "169.255.0.1",
        ] {
            assert_eq!(class(public), None, "{public}");
        }
    }

    #[test]
    fn ipv6_classes() {
        assert_eq!(class("::"), Some("unspecified"));
        assert_eq!(class("::1"), Some("loopback"));
        assert_eq!(class("fc00::1"), Some("unique local"));
        assert_eq!(class("fd12::1"), Some("unique local"));
        assert_eq!(class("fd00:ec2::254"), Some("cloud metadata"));
        assert_eq!(class("fe80::1"), Some("link-local"));
        assert_eq!(class("febf:ffff::1"), Some("link-local"));
        assert_eq!(class("fec0::1"), Some("site-local"));
        assert_eq!(class("ff02::1"), Some("multicast"));
        assert_eq!(class("2001:db8::1"), Some("documentation"));
        assert_eq!(class("2001::1"), Some("IETF protocol assignments"));
        assert_eq!(class("100::1"), Some("discard-only"));
        assert_eq!(class("::7f00:1"), Some("reserved"));
        assert_eq!(class("::5db8:d822"), Some("reserved"));
        assert_eq!(class("4000::1"), Some("reserved"));
    }

    #[test]
    fn ipv6_embedding_ipv4_is_judged_by_the_ipv4_address() {
        assert_eq!(class("::ffff:127.0.0.1"), Some("loopback"));
        assert_eq!(class("::ffff:10.0.0.1"), Some("private network"));
        assert_eq!(class("::ffff:169.254.169.254"), Some("cloud metadata"));
        assert_eq!(class("::ffff:0.0.0.0"), Some("unspecified"));
        assert_eq!(class("::ffff:93.184.216.34"), None);
        assert_eq!(class("64:ff9b::a9fe:a9fe"), Some("cloud metadata"));
        assert_eq!(class("64:ff9b::10.1.2.3"), Some("private network"));
        assert_eq!(class("64:ff9b::93.184.216.34"), None);
        assert_eq!(class("64:ff9b:1::1"), Some("NAT64 local-use"));
        assert_eq!(class("2002:7f00:1::1"), Some("loopback"));
        assert_eq!(class("2002:a9fe:a9fe::"), Some("cloud metadata"));
        assert_eq!(class("2002:5db8:d822::1"), None);
    }

    #[test]
    fn ipv6_public() {
        for public in ["2606:4700::1111", "2a00:1450:4001:800::200e", "2001:4860:4860::8888", "2600::1"] {
            assert_eq!(class(public), None, "{public}");
        }
    }

    fn invalid(raw: &str, policy: &TargetPolicy) -> String {
        match parse(raw, policy) {
            Err(TargetError::Invalid(message)) => message,
            other => panic!("{raw}: expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn parse_accepts_http_and_https() {
        assert_eq!(parse("https://example.com/hooks?x=1", &HTTPS).unwrap().as_str(), "https://example.com/hooks?x=1");
        assert_eq!(parse("http://example.com:8080/", &STRICT).unwrap().port(), Some(8080));
        // Syntax only: an internal address is refused by `resolve`, not here.
        assert!(parse("http://127.0.0.1/", &STRICT).is_ok());
        assert!(parse("http://[::1]:9/", &STRICT).is_ok());
    }

    #[test]
    fn parse_refuses() {
        assert!(invalid("https://user:pass@example.com/", &STRICT).contains("credentials"));
        assert!(invalid("https://user@example.com/", &STRICT).contains("credentials"));
        assert!(invalid("ftp://example.com/", &STRICT).contains("not ftp"));
        assert!(invalid("ftp://example.com/", &HTTPS).contains("https"));
        assert!(invalid("file:///etc/passwd", &STRICT).contains("not file"));
        assert_eq!(invalid("http://example.com/", &HTTPS), "URL must use https");
        assert!(invalid("/hooks", &STRICT).contains("not a valid absolute URL"));
        assert!(invalid("example.com/hooks", &STRICT).contains("not a valid absolute URL"));
        assert!(invalid("", &STRICT).contains("not a valid absolute URL"));
        assert!(invalid("https://example.com/#top", &STRICT).contains("fragment"));
        assert!(invalid("https://example.com/#", &STRICT).contains("fragment"));
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LENGTH + 1 - "https://example.com/".len()));
        assert_eq!(long.len(), 2049);
        assert!(invalid(&long, &STRICT).contains("2048"));
        assert!(parse(&long[..2048], &STRICT).is_ok());
    }

    fn forbidden(result: Result<Vec<SocketAddr>, TargetError>) -> (String, IpAddr, &'static str) {
        match result {
            Err(TargetError::Forbidden { host, addr, class }) => (host, addr, class),
            other => panic!("expected Forbidden, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn resolve_refuses_an_ip_literal_unless_private_allowed() {
        let url = parse("http://127.0.0.1:9/", &STRICT).unwrap();
        let error = resolve(&url, &STRICT).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "address 127.0.0.1 is in a non-public address range (loopback); webhooks can only be sent to public internet addresses"
        );
        let (_, addr, class) = forbidden(Err(error));
        assert_eq!((addr, class), ("127.0.0.1".parse().unwrap(), "loopback"));
        assert_eq!(resolve(&url, &LOCAL).await.unwrap(), vec!["127.0.0.1:9".parse().unwrap()]);

        let url = parse("http://[::1]:9/", &STRICT).unwrap();
        let (host, addr, class) = forbidden(resolve(&url, &STRICT).await);
        assert_eq!((host.as_str(), addr, class), ("[::1]", "::1".parse().unwrap(), "loopback"));
        assert_eq!(resolve(&url, &LOCAL).await.unwrap(), vec!["[::1]:9".parse().unwrap()]);

        // The URL parser's numeric forms of an IPv4 address are literals too.
        let url = parse("http://2852039166/latest/meta-data/", &STRICT).unwrap();
        let (_, addr, class) = forbidden(resolve(&url, &STRICT).await);
        assert_eq!((addr, class), ("169.254.169.254".parse().unwrap(), "cloud metadata"));
        let url = parse("http://[::ffff:a9fe:a9fe]/", &STRICT).unwrap();
        assert_eq!(forbidden(resolve(&url, &STRICT).await).2, "cloud metadata");
    }

    #[tokio::test]
    async fn resolve_refuses_a_name_of_a_loopback_address() {
        // Answered from /etc/hosts: no DNS traffic.
        let url = parse("http://localhost:9/", &STRICT).unwrap();
        let error = resolve(&url, &STRICT).await.unwrap_err();
        assert!(error.to_string().starts_with("host localhost resolves to "), "{error}");
        let (host, addr, class) = forbidden(Err(error));
        assert_eq!((host.as_str(), class), ("localhost", "loopback"));
        assert!(addr.is_loopback());

        let addrs = resolve(&url, &LOCAL).await.unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 9), "{addrs:?}");
    }

    #[tokio::test]
    async fn resolve_uses_the_scheme_default_port() {
        let url = parse("https://127.0.0.1/", &STRICT).unwrap();
        assert_eq!(resolve(&url, &LOCAL).await.unwrap(), vec!["127.0.0.1:443".parse().unwrap()]);
        let url = parse("http://127.0.0.1/", &STRICT).unwrap();
        assert_eq!(resolve(&url, &LOCAL).await.unwrap(), vec!["127.0.0.1:80".parse().unwrap()]);
    }
}
