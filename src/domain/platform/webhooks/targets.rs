//! Where webhooks may go: no private, loopback, link-local or otherwise internal addresses
//! (server-side request forgery), unless the configuration allows them (tests, on-premise).
//! Checked when an endpoint is saved and again for every address the host resolves to at
//! delivery (so a DNS answer changed later cannot point Iris inward).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether Iris may send to `ip`.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240)
}

/// Global unicast (2000::/3) only, without the ranges that tunnel to IPv4 or are reserved:
/// IETF protocol assignments incl. Teredo (2001::/23), documentation (2001:db8::/32) and 6to4
/// (2002::/16). NAT64 (64:ff9b::/96), IPv4-compatible (::/96), site- and link-local, unique
/// local and multicast lie outside 2000::/3.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    let [first, second, ..] = ip.segments();
    (first & 0xe000) == 0x2000
        && !(first == 0x2001 && second < 0x0200)
        && !(first == 0x2001 && second == 0x0db8)
        && first != 0x2002
}

/// Checks a URL's form: http(s), a host, no credentials; `Ok` with the URL normalised.
pub fn check_url(raw: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|_| "must be an absolute URL".to_owned())?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err("must be an http or https URL".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if raw.len() > 2000 {
        return Err("must be at most 2000 characters".into());
    }
    Ok(url)
}

/// Resolves the URL's host and refuses it if any address is not public (unless allowed).
pub async fn check_target(url: &reqwest::Url, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| format!("the host {host} does not resolve"))?
            .map(|a| a.ip())
            .collect(),
    };
    // The address itself is not named: owners should not learn the internal network's layout.
    match addresses.iter().find(|ip| !is_public(**ip)) {
        Some(_) => Err("resolves to a private, loopback or link-local address".to_owned()),
        None if addresses.is_empty() => Err(format!("the host {host} does not resolve")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:5",
            "2002:a00:1::1",
            "2001::1",
            "::10.0.0.1",
            "fec0::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn literal_and_resolved_internal_targets_are_refused() {
        for url in [
            "http://127.0.0.1:9/hook",
            "http://[::1]/x",
            "http://localhost/x",
        ] {
            let url = check_url(url).unwrap();
            assert!(check_target(&url, false).await.is_err(), "{url}");
            assert!(check_target(&url, true).await.is_ok(), "{url}");
        }
        assert!(check_url("ftp://example.com").is_err());
        assert!(check_url("https://user:pw@example.com").is_err());
    }
}
