//! HTTP Signatures as the fediverse uses them (draft-cavage-http-signatures, `rsa-sha256` and
//! `hs2019` with RSA keys), plus the `Digest` header that binds a signature to a body.
//!
//! Parsing is strict and total: any header we cannot read is an error the inbox answers with
//! 401, never a panic. RFC 9421 (`Signature-Input`) is not spoken yet; senders such as Fedify
//! fall back to draft-cavage after a 401.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, Method};
use sha2::{Digest, Sha256};

use super::keys::{self, SigningKey};

/// How far a signature's `Date` (or `(created)`) may lie from our clock, either way.
pub const MAX_CLOCK_SKEW: chrono::Duration = chrono::Duration::hours(1);

/// Headers a POST signature must cover so that it cannot be moved to another request or body.
const REQUIRED_POST_HEADERS: [&str; 3] = ["(request-target)", "host", "digest"];

/// Headers a signed fetch (GET) must cover: without them it could be replayed for another
/// document or at another server.
const REQUIRED_GET_HEADERS: [&str; 2] = ["(request-target)", "host"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the request is not signed")]
    Missing,
    #[error("the Signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("RFC 9421 signatures are not supported; sign with draft-cavage HTTP Signatures")]
    Rfc9421,
    #[error("unsupported signature algorithm {0}")]
    Algorithm(String),
    #[error("the signature does not cover {0}")]
    Uncovered(&'static str),
    #[error("the signature is dated outside the accepted window")]
    Stale,
    #[error("the Digest header is missing or does not match the body")]
    Digest,
    #[error("the signature does not verify")]
    Invalid,
}

/// The parsed parameters of a `Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub key_id: String,
    pub algorithm: Option<String>,
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
}

impl SignatureHeader {
    /// Reads the `Signature` header (or `Authorization: Signature …`) of a request.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, SignatureError> {
        if let Some(value) = headers.get("signature") {
            let value = value
                .to_str()
                .map_err(|_| SignatureError::Malformed("not text"))?;
            return Self::parse(value).map_err(|err| match err {
                // RFC 9421 uses `Signature: sig1=:base64:` beside `Signature-Input`.
                SignatureError::Malformed(_) if headers.contains_key("signature-input") => {
                    SignatureError::Rfc9421
                }
                other => other,
            });
        }
        if let Some(value) = headers.get(http::header::AUTHORIZATION) {
            let value = value
                .to_str()
                .map_err(|_| SignatureError::Malformed("not text"))?;
            if let Some(params) = value.strip_prefix("Signature ") {
                return Self::parse(params);
            }
        }
        if headers.contains_key("signature-input") {
            return Err(SignatureError::Rfc9421);
        }
        Err(SignatureError::Missing)
    }

    /// Parses `keyId="…",algorithm="…",headers="…",signature="…"`.
    pub fn parse(value: &str) -> Result<Self, SignatureError> {
        let params = parse_params(value)?;
        let key_id = params
            .get("keyId")
            .ok_or(SignatureError::Malformed("no keyId"))?
            .to_string();
        let signature = params
            .get("signature")
            .ok_or(SignatureError::Malformed("no signature"))?;
        let signature = STANDARD
            .decode(signature)
            .map_err(|_| SignatureError::Malformed("signature is not base64"))?;
        let headers = params
            .get("headers")
            .map(|h| {
                h.split_ascii_whitespace()
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_else(|| vec!["date".to_owned()]);
        let number = |name: &str| -> Result<Option<i64>, SignatureError> {
            params
                .get(name)
                .map(|v| {
                    v.parse()
                        .map_err(|_| SignatureError::Malformed("bad timestamp"))
                })
                .transpose()
        };
        Ok(Self {
            key_id,
            algorithm: params.get("algorithm").map(|a| a.to_ascii_lowercase()),
            headers,
            signature,
            created: number("created")?,
            expires: number("expires")?,
        })
    }

    /// The key's owner as most servers spell it: the key id without its fragment.
    pub fn key_owner_guess(&self) -> &str {
        self.key_id.split('#').next().unwrap_or(&self.key_id)
    }
}

fn parse_params(value: &str) -> Result<HashMap<&str, &str>, SignatureError> {
    let mut params = HashMap::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or(SignatureError::Malformed("expected name=value"))?;
        let name = name.trim();
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or(SignatureError::Malformed("unterminated quote"))?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            // `created` and `expires` are bare numbers.
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim(), &after[end..])
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(SignatureError::Malformed("bad parameter name"));
        }
        params.insert(name, value);
        rest = after.trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
        } else if !rest.is_empty() {
            return Err(SignatureError::Malformed("expected a comma"));
        }
    }
    Ok(params)
}

/// The `Digest` header value for a body: `SHA-256=<base64>`.
pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)))
}

/// Checks that a `Digest` header names the SHA-256 of the body (other algorithms are skipped;
/// at least one SHA-256 entry must be present and match).
pub fn verify_digest(headers: &HeaderMap, body: &[u8]) -> Result<(), SignatureError> {
    let value = headers
        .get("digest")
        .and_then(|v| v.to_str().ok())
        .ok_or(SignatureError::Digest)?;
    let expected = STANDARD.encode(Sha256::digest(body));
    let mut seen_sha256 = false;
    for entry in value.split(',') {
        if let Some((algorithm, encoded)) = entry.trim().split_once('=')
            && algorithm.eq_ignore_ascii_case("sha-256")
        {
            seen_sha256 = true;
            if encoded != expected {
                return Err(SignatureError::Digest);
            }
        }
    }
    if seen_sha256 {
        Ok(())
    } else {
        Err(SignatureError::Digest)
    }
}

/// A request as far as signing and verifying need it.
pub struct RequestParts<'a> {
    pub method: &'a Method,
    /// Path and query, e.g. `/users/isg/inbox`.
    pub path_and_query: &'a str,
    pub headers: &'a HeaderMap,
}

fn signing_string(
    request: &RequestParts<'_>,
    signed: &[String],
    created: Option<i64>,
    expires: Option<i64>,
) -> Result<String, SignatureError> {
    let mut lines = Vec::with_capacity(signed.len());
    for name in signed {
        let line = match name.as_str() {
            "(request-target)" => format!(
                "(request-target): {} {}",
                request.method.as_str().to_ascii_lowercase(),
                request.path_and_query
            ),
            "(created)" => format!(
                "(created): {}",
                created.ok_or(SignatureError::Malformed("(created) without created="))?
            ),
            "(expires)" => format!(
                "(expires): {}",
                expires.ok_or(SignatureError::Malformed("(expires) without expires="))?
            ),
            header => {
                let values: Vec<&str> = request
                    .headers
                    .get_all(header)
                    .iter()
                    .map(|v| v.to_str().map(str::trim))
                    .collect::<Result<_, _>>()
                    .map_err(|_| SignatureError::Malformed("a signed header is not text"))?;
                if values.is_empty() {
                    return Err(SignatureError::Malformed("a signed header is absent"));
                }
                format!("{header}: {}", values.join(", "))
            }
        };
        lines.push(line);
    }
    Ok(lines.join("\n"))
}

/// Checks that the signature's time (`Date`, or `(created)`) lies within [`MAX_CLOCK_SKEW`] of
/// `now` and that it has not expired. Needs no key, so the inbox runs it before fetching one.
pub fn check_time(
    request: &RequestParts<'_>,
    header: &SignatureHeader,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let covers = |name: &str| header.headers.iter().any(|h| h == name);
    let signed_at = if covers("date") {
        let date = request
            .headers
            .get(http::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
            .ok_or(SignatureError::Malformed(
                "the Date header is not an HTTP date",
            ))?;
        date.with_timezone(&Utc)
    } else if covers("(created)") {
        let created = header
            .created
            .ok_or(SignatureError::Malformed("no created="))?;
        DateTime::from_timestamp(created, 0).ok_or(SignatureError::Stale)?
    } else {
        return Err(SignatureError::Uncovered("date"));
    };
    if (now - signed_at).abs() > MAX_CLOCK_SKEW {
        return Err(SignatureError::Stale);
    }
    if let Some(expires) = header.expires
        && expires < now.timestamp()
    {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// Verifies a signed request against the signer's public key at time `now`.
///
/// Checks, in order: the algorithm is RSA-SHA256, the covered headers include what a POST
/// (or a GET) needs, the signature's time is within [`MAX_CLOCK_SKEW`] and not expired, and the
/// signature itself. The `Digest` must be checked against the body separately.
pub fn verify_request(
    request: &RequestParts<'_>,
    header: &SignatureHeader,
    public_key_pem: &str,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    match header.algorithm.as_deref() {
        None | Some("rsa-sha256") | Some("hs2019") => {}
        Some(other) => return Err(SignatureError::Algorithm(other.to_owned())),
    }
    let covers = |name: &str| header.headers.iter().any(|h| h == name);
    let required: &[&'static str] = if request.method == Method::POST {
        &REQUIRED_POST_HEADERS
    } else {
        &REQUIRED_GET_HEADERS
    };
    for &name in required {
        if !covers(name) {
            return Err(SignatureError::Uncovered(name));
        }
    }
    check_time(request, header, now)?;
    let message = signing_string(request, &header.headers, header.created, header.expires)?;
    match keys::verify(public_key_pem, message.as_bytes(), &header.signature) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(SignatureError::Invalid),
    }
}

/// Signs a request: sets `Date` (and `Digest` for a body) in `headers`, which must already
/// hold `Host`, and returns the `Signature` header value.
pub fn sign_request(
    method: &Method,
    path_and_query: &str,
    headers: &mut HeaderMap,
    body: Option<&[u8]>,
    key_id: &str,
    key: &SigningKey,
    now: DateTime<Utc>,
) -> Result<HeaderValue, SignatureError> {
    let date = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    headers.insert(
        http::header::DATE,
        HeaderValue::from_str(&date).map_err(|_| SignatureError::Malformed("date"))?,
    );
    let mut signed = vec![
        "(request-target)".to_owned(),
        "host".to_owned(),
        "date".to_owned(),
    ];
    if let Some(body) = body {
        headers.insert(
            "digest",
            HeaderValue::from_str(&digest_header(body)).map_err(|_| SignatureError::Digest)?,
        );
        signed.push("digest".to_owned());
        if headers.contains_key(http::header::CONTENT_TYPE) {
            signed.push("content-type".to_owned());
        }
    }
    let request = RequestParts {
        method,
        path_and_query,
        headers,
    };
    let message = signing_string(&request, &signed, None, None)?;
    let signature = key
        .sign(message.as_bytes())
        .map_err(|_| SignatureError::Invalid)?;
    let value = format!(
        "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{}\",signature=\"{}\"",
        signed.join(" "),
        STANDARD.encode(signature)
    );
    HeaderValue::from_str(&value).map_err(|_| SignatureError::Malformed("key id is not ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::federation::keys::generate;

    fn signed_post(body: &[u8]) -> (HeaderMap, String, DateTime<Utc>) {
        let pair = generate().unwrap();
        let key = SigningKey::from_pem(&pair.private_key_pem).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, HeaderValue::from_static("example.org"));
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/activity+json"),
        );
        let now = Utc::now();
        let signature = sign_request(
            &Method::POST,
            "/inbox",
            &mut headers,
            Some(body),
            "https://peer.example/users/a#main-key",
            &key,
            now,
        )
        .unwrap();
        headers.insert("signature", signature);
        (headers, pair.public_key_pem, now)
    }

    fn parts(headers: &HeaderMap) -> RequestParts<'_> {
        RequestParts {
            method: &Method::POST,
            path_and_query: "/inbox",
            headers,
        }
    }

    #[test]
    fn a_signed_post_verifies() {
        let (headers, public, now) = signed_post(b"{}");
        let header = SignatureHeader::from_headers(&headers).unwrap();
        assert_eq!(header.key_id, "https://peer.example/users/a#main-key");
        assert_eq!(header.key_owner_guess(), "https://peer.example/users/a");
        verify_digest(&headers, b"{}").unwrap();
        verify_request(&parts(&headers), &header, &public, now).unwrap();
    }

    #[test]
    fn a_changed_body_fails_the_digest() {
        let (headers, _, _) = signed_post(b"{}");
        assert_eq!(
            verify_digest(&headers, b"{\"x\":1}"),
            Err(SignatureError::Digest)
        );
    }

    #[test]
    fn another_path_fails_the_signature() {
        let (headers, public, now) = signed_post(b"{}");
        let header = SignatureHeader::from_headers(&headers).unwrap();
        let moved = RequestParts {
            method: &Method::POST,
            path_and_query: "/users/b/inbox",
            headers: &headers,
        };
        assert_eq!(
            verify_request(&moved, &header, &public, now),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn a_stale_or_future_date_is_refused() {
        let (headers, public, now) = signed_post(b"{}");
        let header = SignatureHeader::from_headers(&headers).unwrap();
        for offset in [chrono::Duration::hours(2), chrono::Duration::hours(-2)] {
            assert_eq!(
                verify_request(&parts(&headers), &header, &public, now + offset),
                Err(SignatureError::Stale)
            );
        }
    }

    #[test]
    fn a_signature_without_digest_coverage_is_refused() {
        let (headers, public, now) = signed_post(b"{}");
        let mut header = SignatureHeader::from_headers(&headers).unwrap();
        header.headers.retain(|h| h != "digest");
        assert_eq!(
            verify_request(&parts(&headers), &header, &public, now),
            Err(SignatureError::Uncovered("digest"))
        );
    }

    #[test]
    fn unreadable_headers_are_errors_not_panics() {
        for value in [
            "",
            "keyId",
            "keyId=\"a",
            "keyId=\"a\",signature=\"%%%\"",
            "sig1=:AAAA:",
            "a=\"b\" c=\"d\"",
        ] {
            assert!(SignatureHeader::parse(value).is_err(), "{value:?}");
        }
    }

    #[test]
    fn rfc9421_and_missing_signatures_are_named() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            SignatureHeader::from_headers(&headers),
            Err(SignatureError::Missing)
        );
        headers.insert(
            "signature-input",
            HeaderValue::from_static("sig1=(\"@method\");keyid=\"k\""),
        );
        headers.insert("signature", HeaderValue::from_static("sig1=:AAAA:"));
        assert_eq!(
            SignatureHeader::from_headers(&headers),
            Err(SignatureError::Rfc9421)
        );
    }

    #[test]
    fn created_and_bare_numbers_parse() {
        let header = SignatureHeader::parse(
            "keyId=\"k\",algorithm=\"hs2019\",created=1700000000,expires=1700000600,headers=\"(request-target) (created)\",signature=\"AAAA\"",
        )
        .unwrap();
        assert_eq!(header.created, Some(1_700_000_000));
        assert_eq!(header.expires, Some(1_700_000_600));
    }
}
