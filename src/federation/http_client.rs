//! The one HTTP client every outgoing request goes through: fetches, WebFinger and deliveries.
//!
//! It refuses loopback, private, link-local and other internal addresses unless
//! `allow_private_networks` is set. Host names are checked by the DNS resolver as each
//! connection is made, so a name that resolves to a public address at check time and a private
//! one later (DNS rebinding) cannot slip through; IP literals never reach the resolver, so
//! [`check_target`] covers them before a request is sent.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::Duration,
};

use activitypub_federation::resolver::ValidatingDnsResolver;
use url::{Host, Url};

use crate::config::Config;

/// How long one outgoing request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the extra CA file holds no usable certificate: {0}")]
    Certificate(reqwest::Error),
    #[error("cannot build the HTTP client: {0}")]
    Build(reqwest::Error),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("{0} is not an http(s) URL")]
    Scheme(String),
    #[error("{0} is an internal address; set BROADSIDE_ALLOW_PRIVATE_NETWORKS=true to allow it")]
    Private(String),
}

pub fn build(config: &Config) -> Result<reqwest::Client, ClientError> {
    build_with(config, None)
}

/// [`build`], resolving host names with `resolver` instead of the checking system resolver
/// (a seam for tests, which must not send DNS queries off the machine).
pub fn build_with(
    config: &Config,
    resolver: Option<std::sync::Arc<dyn reqwest::dns::Resolve>>,
) -> Result<reqwest::Client, ClientError> {
    let resolver = resolver.unwrap_or_else(|| {
        std::sync::Arc::new(ValidatingDnsResolver::new(
            Vec::new(),
            !config.allow_private_networks,
        ))
    });
    let user_agent = format!(
        "Broadside/{} (+{})",
        env!("CARGO_PKG_VERSION"),
        config.base_url.as_str().trim_end_matches('/')
    );
    let mut builder = reqwest::Client::builder()
        .user_agent(user_agent)
        // No redirect is followed blindly: a delivery answered with 3xx fails, and fetches
        // follow at most one, re-checking the new URL (activitypub_federation does this).
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(60))
        .dns_resolver(resolver);
    if let Some(pem) = &config.extra_ca_pem {
        let certificates =
            reqwest::Certificate::from_pem_bundle(pem).map_err(ClientError::Certificate)?;
        builder = builder.tls_certs_merge(certificates);
    }
    builder.build().map_err(ClientError::Build)
}

/// Why a response body was not read in full.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the answer broke off: {0}")]
    Read(#[source] reqwest::Error),
}

/// Reads a response body of at most `limit` bytes. A declared length over the limit is
/// refused before reading; an undeclared one (chunked) is counted as it arrives, so no server
/// can make us buffer without end.
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Refuses URLs that must not be contacted: other schemes, and internal IP literals unless
/// private networks are allowed.
pub fn check_target(url: &Url, allow_private_networks: bool) -> Result<(), TargetError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::Scheme(url.to_string()));
    }
    if allow_private_networks {
        return Ok(());
    }
    let internal = match url.host() {
        Some(Host::Ipv4(ip)) => is_internal(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => is_internal(IpAddr::V6(ip)),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => true,
    };
    if internal {
        Err(TargetError::Private(url.to_string()))
    } else {
        Ok(())
    }
}

/// Whether an address is one a public server has no business sending us to.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_internal_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_internal_v4(v4),
            None => is_internal_v6(ip),
        },
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // includes 169.254.169.254, the cloud metadata address
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> bool {
        check_target(&Url::parse(url).unwrap(), false).is_err()
    }

    #[test]
    fn internal_targets_are_refused() {
        for url in [
            "http://127.0.0.1/inbox",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://172.16.5.4/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
            "http://localhost:8080/",
            "ftp://example.org/",
        ] {
            assert!(refused(url), "{url} should be refused");
        }
    }

    #[test]
    fn public_targets_pass() {
        for url in [
            "https://example.org/inbox",
            "https://93.184.216.34/",
            "https://[2606:4700::1]/",
        ] {
            assert!(!refused(url), "{url} should pass");
        }
    }

    #[test]
    fn allowing_private_networks_lets_loopback_through() {
        assert!(check_target(&Url::parse("http://127.0.0.1:9/").unwrap(), true).is_ok());
    }

    /// A loopback server answering `/declared` with a body of known length and `/endless`
    /// with chunks that never stop, as a hostile server would.
    async fn hostile_server() -> Url {
        use axum::{Router, body::Body, routing::get};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let chunk = || Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 1024]));
        let app = Router::new()
            .route("/small", get(|| async { "{}" }))
            .route("/declared", get(|| async { vec![b'x'; 4096] }))
            .route(
                "/endless",
                get(move || async move { Body::from_stream(futures::stream::repeat_with(chunk)) }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    // Bad input: answers past the limit are refused, whether they declare their length or
    // stream chunks without end; an answer within it is read whole.
    #[tokio::test]
    async fn bodies_are_read_up_to_the_limit_only() {
        let server = hostile_server().await;
        let client = reqwest::Client::new();
        let get = |path: &str| client.get(server.join(path).unwrap()).send();

        let small = read_limited(get("small").await.unwrap(), 1000)
            .await
            .unwrap();
        assert_eq!(small, b"{}");
        for path in ["declared", "endless"] {
            let response = get(path).await.unwrap();
            // Without the limit `/endless` would never end: fail instead of hanging.
            let read = tokio::time::timeout(Duration::from_secs(10), read_limited(response, 2048))
                .await
                .expect("a limited read ends");
            assert!(matches!(read, Err(BodyError::TooLarge(2048))), "{path}");
        }
    }

    fn config(allow_private_networks: bool) -> Config {
        Config {
            base_url: Url::parse("https://example.org").unwrap(),
            listen: "127.0.0.1:0".parse().unwrap(),
            database: crate::config::DatabaseUrl::parse("sqlite://unused.db").unwrap(),
            data_dir: std::path::PathBuf::from("unused"),
            allow_private_networks,
            extra_ca_pem: None,
            log: "warn".into(),
            api_requests_per_minute: 1,
            authorized_fetch: false,
            http_threads: std::num::NonZeroUsize::MIN,
        }
    }

    // SSRF by DNS: a name that resolves to loopback passes `check_target` only if it is not
    // called `localhost`; the client's resolver refuses the address when it connects, which
    // is what a name rebinding to an internal address meets too.
    #[tokio::test]
    async fn names_resolving_to_internal_addresses_are_refused_at_connect_time() {
        let server = hostile_server().await;
        let port = server.port().unwrap();
        let url = format!("http://localhost:{port}/small");
        let refused = build(&config(false)).unwrap().get(&url).send().await;
        assert!(refused.is_err(), "{refused:?}");
        let allowed = build(&config(true)).unwrap().get(&url).send().await;
        assert_eq!(allowed.unwrap().status(), reqwest::StatusCode::OK);
    }
}
