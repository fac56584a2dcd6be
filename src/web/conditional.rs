//! Conditional requests (RFC 9110 §13): strong entity tags from a body's hash, `Last-Modified`
//! dates, and the `If-None-Match` / `If-Modified-Since` checks that answer a client which
//! already has the current copy with an empty 304.

use axum::{
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// How long browsers and shared caches may reuse a public page without asking again: short,
/// so a correction or retraction reaches readers within a minute.
pub const PUBLIC_MAX_AGE: HeaderValue = HeaderValue::from_static("public, max-age=60");

/// A strong entity tag: a hash of the bytes, so every process (and every restart) gives the
/// same page the same tag. 128 bits of SHA-256 are plenty to tell versions apart.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16]))
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) for `Last-Modified`.
pub fn http_date(time: DateTime<Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The `Last-Modified` header of a response; handlers add it where they know the time.
pub fn last_modified(time: DateTime<Utc>) -> (HeaderName, String) {
    (header::LAST_MODIFIED, http_date(time))
}

/// Reads an HTTP date in its only current form (IMF-fixdate, a kind of RFC 2822 date).
pub fn parse_http_date(value: &HeaderValue) -> Option<DateTime<Utc>> {
    let text = value.to_str().ok()?;
    DateTime::parse_from_rfc2822(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Whether the client's copy is current, so 304 will do. `If-None-Match` decides when present
/// (weak comparison, as RFC 9110 §13.1.2 asks); otherwise `If-Modified-Since`, at the
/// one-second precision of HTTP dates.
pub fn is_fresh(request: &HeaderMap, etag: &str, modified: Option<DateTime<Utc>>) -> bool {
    if let Some(value) = request.get(header::IF_NONE_MATCH) {
        let Ok(tags) = value.to_str() else {
            return false;
        };
        let ours = etag.trim_start_matches("W/");
        return tags
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.trim_start_matches("W/") == ours);
    }
    match (
        request
            .get(header::IF_MODIFIED_SINCE)
            .and_then(parse_http_date),
        modified,
    ) {
        (Some(since), Some(modified)) => modified.timestamp() <= since.timestamp(),
        _ => false,
    }
}

/// The headers of a full response that a 304 repeats (RFC 9110 §15.4.5), so the client's
/// cache stays correct after revalidating.
const REPEATED_ON_304: [HeaderName; 5] = [
    header::ETAG,
    header::CACHE_CONTROL,
    header::VARY,
    header::LAST_MODIFIED,
    header::CONTENT_LOCATION,
];

/// A 304 Not Modified carrying the validators and caching headers of `full`.
pub fn not_modified(full: &HeaderMap) -> Response {
    let mut headers = HeaderMap::new();
    for name in REPEATED_ON_304 {
        for value in full.get_all(&name) {
            headers.append(name.clone(), value.clone());
        }
    }
    (StatusCode::NOT_MODIFIED, headers).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_same_bytes_get_the_same_strong_tag() {
        assert_eq!(etag_of(b"page"), etag_of(b"page"));
        assert_ne!(etag_of(b"page"), etag_of(b"page 2"));
        assert!(etag_of(b"page").starts_with('"') && !etag_of(b"page").starts_with("W/"));
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let tag = etag_of(b"page");
        for value in [
            tag.clone(),
            format!("\"x\", {tag}"),
            format!("W/{tag}"),
            "*".into(),
        ] {
            assert!(
                is_fresh(&request(header::IF_NONE_MATCH, &value), &tag, None),
                "{value}"
            );
        }
        assert!(!is_fresh(
            &request(header::IF_NONE_MATCH, "\"x\""),
            &tag,
            None
        ));
        assert!(!is_fresh(&HeaderMap::new(), &tag, None));
    }

    #[test]
    fn if_modified_since_compares_whole_seconds_and_yields_to_if_none_match() {
        let modified = DateTime::parse_from_rfc3339("2026-11-27T10:00:00.700Z")
            .unwrap()
            .with_timezone(&Utc);
        let same_second = request(header::IF_MODIFIED_SINCE, &http_date(modified));
        assert!(is_fresh(&same_second, "\"a\"", Some(modified)));
        let earlier = request(
            header::IF_MODIFIED_SINCE,
            &http_date(modified - chrono::Duration::seconds(1)),
        );
        assert!(!is_fresh(&earlier, "\"a\"", Some(modified)));
        assert!(!is_fresh(&same_second, "\"a\"", None), "no date known");
        let mut both = same_second.clone();
        both.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"b\""));
        assert!(!is_fresh(&both, "\"a\"", Some(modified)));
    }
}
