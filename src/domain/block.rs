//! Blocked domains, and which hosts a block covers.
//!
//! A domain block covers the domain and every subdomain of it, as Mastodon's do. A block may
//! name a port (`host:port`); it then covers that port only. Fediverse servers run on the
//! default ports, so blocklists never carry one, but tests run every mock server on its own
//! loopback port and must be able to block one without blocking the others.

use std::fmt;

use url::{Host, Url};

/// A domain as a block names it: lower case, IDNA-encoded (`xn--…`), no scheme, path,
/// leading `*.` or trailing dot, and a port only when one was given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockedDomain(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a domain such as example.org")]
pub struct InvalidDomain(pub String);

impl BlockedDomain {
    /// Reads a domain as admins and blocklists write it: `example.org`, `Example.org.`,
    /// `*.example.org`, `https://example.org/`, `bücher.example`, `example.org:8443`.
    pub fn parse(value: &str) -> Result<Self, InvalidDomain> {
        let invalid = || InvalidDomain(value.to_owned());
        let trimmed = value.trim();
        let bare = trimmed
            .strip_prefix("https://")
            .or_else(|| trimmed.strip_prefix("http://"))
            .unwrap_or(trimmed);
        let bare = bare.strip_suffix('/').unwrap_or(bare);
        let bare = bare.strip_prefix("*.").unwrap_or(bare);
        if bare.is_empty() || bare.contains(['/', '?', '#', '@', '*']) {
            return Err(invalid());
        }
        // The URL parser does the IDNA mapping, lower-casing and port checks that hosts get
        // everywhere else, so a block names a host exactly as a parsed actor id does.
        let url = Url::parse(&format!("http://{bare}/")).map_err(|_| invalid())?;
        let host = url.host().ok_or_else(invalid)?;
        let name = match host {
            Host::Domain(domain) => {
                let domain = domain.strip_suffix('.').unwrap_or(domain);
                let labels_ok = domain.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
                });
                if !labels_ok {
                    return Err(invalid());
                }
                domain.to_owned()
            }
            Host::Ipv4(ip) => ip.to_string(),
            Host::Ipv6(ip) => format!("[{ip}]"),
        };
        // `url` drops a port that is its scheme's default, but a block written with :80
        // means that port; read it back from the text.
        // (An IPv6 address without a port ends in `]`, which does not parse as one.)
        let port = url.port().or_else(|| {
            bare.rsplit_once(':')
                .and_then(|(_, port)| port.parse::<u16>().ok())
        });
        Ok(Self(match port {
            Some(port) => format!("{name}:{port}"),
            None => name,
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this block covers the host of `url`.
    pub fn covers(&self, url: &Url) -> bool {
        candidates(url).iter().any(|c| c == &self.0)
    }

    /// Whether this block covers a host written as `host` or `host:port` (as the store
    /// keeps hosts of actors and deliveries).
    pub fn covers_authority(&self, authority: &str) -> bool {
        authority_candidates(authority).iter().any(|c| c == &self.0)
    }
}

impl fmt::Display for BlockedDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every block entry that would cover `url`: its host and each parent domain, each also
/// with the URL's port when it has one. A block covers the URL exactly when it is one of these,
/// so the store can look a host up with one `IN (…)` instead of reading every block.
pub fn candidates(url: &Url) -> Vec<String> {
    let Some(host) = url.host() else {
        return Vec::new();
    };
    let names = match host {
        // An address has no parent domains.
        Host::Ipv4(ip) => vec![ip.to_string()],
        Host::Ipv6(ip) => vec![format!("[{ip}]")],
        Host::Domain(domain) => {
            let domain = domain.strip_suffix('.').unwrap_or(domain);
            let mut names = vec![domain.to_ascii_lowercase()];
            let mut rest = domain;
            while let Some((_, parent)) = rest.split_once('.') {
                names.push(parent.to_ascii_lowercase());
                rest = parent;
            }
            names
        }
    };
    let mut all = Vec::with_capacity(names.len() * 2);
    for name in names {
        if let Some(port) = url.port() {
            all.push(format!("{name}:{port}"));
        }
        all.push(name);
    }
    all
}

/// [`candidates`] for a host written as `host` or `host:port`.
pub fn authority_candidates(authority: &str) -> Vec<String> {
    Url::parse(&format!("http://{authority}/"))
        .map(|url| candidates(&url))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(value: &str) -> Url {
        Url::parse(value).unwrap()
    }

    #[test]
    fn parses_the_spellings_of_blocklists() {
        for (input, expected) in [
            ("example.org", "example.org"),
            ("Example.ORG.", "example.org"),
            ("*.example.org", "example.org"),
            ("https://example.org/", "example.org"),
            (" example.org ", "example.org"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("localhost:8443", "localhost:8443"),
            ("example.org:80", "example.org:80"),
            ("127.0.0.1", "127.0.0.1"),
        ] {
            assert_eq!(
                BlockedDomain::parse(input).unwrap().as_str(),
                expected,
                "{input}"
            );
        }
        for bad in [
            "",
            "exam*le.org",
            "example.org/path",
            "user@example.org",
            "a..b",
            "#domain",
        ] {
            assert!(BlockedDomain::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_block_covers_the_domain_and_its_subdomains_only() {
        let block = BlockedDomain::parse("bad.example").unwrap();
        assert!(block.covers(&url("https://bad.example/users/a")));
        assert!(block.covers(&url("https://social.bad.example/users/a")));
        assert!(block.covers(&url("https://BAD.example:8443/users/a")));
        assert!(!block.covers(&url("https://notbad.example/users/a")));
        assert!(!block.covers(&url("https://bad.example.org/users/a")));
        assert!(!block.covers(&url("https://example/users/a")));
        assert!(block.covers_authority("a.bad.example:3000"));
        assert!(!block.covers_authority("good.example"));
    }

    #[test]
    fn a_block_with_a_port_covers_that_port_only() {
        let block = BlockedDomain::parse("localhost:4001").unwrap();
        assert!(block.covers(&url("http://localhost:4001/users/a")));
        assert!(!block.covers(&url("http://localhost:4002/users/a")));
        assert!(!block.covers(&url("http://localhost/users/a")));
        let any_port = BlockedDomain::parse("localhost").unwrap();
        assert!(any_port.covers(&url("http://localhost:4002/users/a")));
    }

    #[test]
    fn addresses_have_no_parent_domains() {
        assert_eq!(
            candidates(&url("http://127.0.0.1:8080/")),
            ["127.0.0.1:8080", "127.0.0.1"]
        );
        assert_eq!(
            candidates(&url("https://a.b.example/")),
            ["a.b.example", "b.example", "example"]
        );
    }
}
