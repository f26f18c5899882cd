//! Which address a request comes from: the TCP peer, unless the peer is one of the configured
//! trusted reverse proxies (`trusted_proxies`), in which case its `X-Forwarded-For` names the
//! client. Anyone can write that header, so it is read only from trusted peers, and only from
//! the right: each proxy appends the address it saw, so the right-most entry that is not itself
//! a trusted proxy is the first one no client could forge.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// The client behind `peer`: the right-most `X-Forwarded-For` address that is not a trusted
/// proxy when `peer` is one of `trusted`; `peer` itself otherwise, and also when the header is
/// missing, names only trusted proxies, or is not an address where the client must be read.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    for entry in header.rsplit(',') {
        match parse_entry(entry) {
            // A trusted proxy forwarded it: the one before it tells who sent it.
            Some(ip) if is_trusted(ip, trusted) => continue,
            Some(ip) => return ip.to_canonical(),
            // Garbage where a trusted proxy should have written an address.
            None => return peer,
        }
    }
    peer
}

/// [`client_ip`] of a request's headers (every `X-Forwarded-For` line, in order).
pub fn of_request(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let lines: Vec<String> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    if lines.is_empty() {
        return peer;
    }
    client_ip(peer, Some(&lines.join(",")), trusted)
}

/// Whether `ip` is a trusted proxy (an IPv4 peer seen on a dual-stack socket as `::ffff:a.b.c.d`
/// is the same address).
fn is_trusted(ip: IpAddr, trusted: &[IpAddr]) -> bool {
    let ip = ip.to_canonical();
    trusted.iter().any(|t| t.to_canonical() == ip)
}

/// One entry of `X-Forwarded-For`: an address, or an address with a port as some proxies write
/// it (`192.0.2.7:5123`, `[2001:db8::7]:5123`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_spoofed_header_from_an_untrusted_peer_is_ignored() {
        let trusted = [ip("10.0.0.2")];
        let peer = ip("203.0.113.9");
        assert_eq!(client_ip(peer, Some("198.51.100.1"), &trusted), peer);
        assert_eq!(client_ip(peer, Some("10.0.0.2, 127.0.0.1"), &trusted), peer);
        // Without trusted proxies nobody's header counts, a loopback peer's neither.
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("198.51.100.1"), &[]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_forged_entries_left_of_it_do_not_count() {
        let trusted = [ip("10.0.0.2")];
        let peer = ip("10.0.0.2");
        assert_eq!(
            client_ip(peer, Some("198.51.100.1"), &trusted),
            ip("198.51.100.1")
        );
        // The client wrote "1.2.3.4" itself; the proxy appended the address it really saw.
        assert_eq!(
            client_ip(peer, Some("1.2.3.4, 198.51.100.1"), &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(client_ip(peer, None, &trusted), peer);
        // Seen on a dual-stack socket.
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.2"), Some("198.51.100.1"), &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn a_chain_of_two_proxies() {
        // client 198.51.100.1 -> edge proxy 10.0.0.1 -> inner proxy 10.0.0.2 -> relay
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("198.51.100.1, 10.0.0.1"), &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                Some("6.6.6.6, 198.51.100.1, 10.0.0.1"),
                &trusted
            ),
            ip("198.51.100.1")
        );
        // Only proxies named: the peer is the best answer there is.
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("10.0.0.1"), &trusted),
            ip("10.0.0.2")
        );
        // Ports and IPv6 as some proxies write them.
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                Some("[2001:db8::7]:5123, 10.0.0.1:443"),
                &trusted
            ),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn a_garbage_header_is_ignored() {
        let trusted = [ip("10.0.0.2")];
        let peer = ip("10.0.0.2");
        for garbage in ["", "unknown", "198.51.100.1; rm -rf", "999.1.1.1", " , "] {
            assert_eq!(
                client_ip(peer, Some(garbage), &trusted),
                peer,
                "{garbage:?}"
            );
        }
        // Garbage the client wrote left of what the proxy appended does not matter.
        assert_eq!(
            client_ip(peer, Some("<script>, 198.51.100.1"), &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn every_header_line_counts_in_order() {
        let trusted = [ip("10.0.0.2")];
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "1.2.3.4".parse().unwrap());
        headers.append("x-forwarded-for", "198.51.100.1".parse().unwrap());
        assert_eq!(
            of_request(ip("10.0.0.2"), &headers, &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            of_request(ip("203.0.113.9"), &headers, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            of_request(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
    }
}
