//! Content negotiation: one URL serves HTML to browsers and ActivityStreams JSON to
//! ActivityPub clients, chosen from the `Accept` header with its q-values.

use axum::http::{HeaderMap, HeaderValue, header};

/// The representations a resource URL offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Representation {
    Html,
    ActivityJson,
}

const ACTIVITY_STREAMS_PROFILE: &str = "https://www.w3.org/ns/activitystreams";

/// Picks the representation the client prefers. ActivityStreams wins only when asked for
/// explicitly (`application/activity+json`, or `application/ld+json` with the ActivityStreams
/// profile or none) with a q-value at least that of HTML; wildcards mean HTML.
pub fn negotiate(headers: &HeaderMap) -> Representation {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Representation::Html;
    };
    let mut best_json = 0.0_f32;
    let mut best_html = 0.0_f32;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut q = 1.0_f32;
        let mut profile: Option<String> = None;
        for param in parts {
            if let Some((name, value)) = param.split_once('=') {
                let value = value.trim().trim_matches('"');
                match name.trim().to_ascii_lowercase().as_str() {
                    "q" => q = value.parse().unwrap_or(0.0),
                    "profile" => profile = Some(value.to_owned()),
                    _ => {}
                }
            }
        }
        let json = match media.as_str() {
            "application/activity+json" => true,
            "application/ld+json" => profile
                .as_deref()
                .is_none_or(|p| p.split_whitespace().any(|p| p == ACTIVITY_STREAMS_PROFILE)),
            _ => false,
        };
        if json {
            best_json = best_json.max(q);
        } else if matches!(
            media.as_str(),
            "text/html" | "application/xhtml+xml" | "text/*" | "*/*"
        ) {
            best_html = best_html.max(q);
        }
    }
    if best_json > 0.0 && best_json >= best_html {
        Representation::ActivityJson
    } else {
        Representation::Html
    }
}

/// Responses that depend on `Accept` must say so, or caches serve JSON to browsers.
pub const VARY_ACCEPT: (header::HeaderName, HeaderValue) =
    (header::VARY, HeaderValue::from_static("Accept"));

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(accept: &str) -> Representation {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        negotiate(&headers)
    }

    #[test]
    fn activitypub_clients_get_json() {
        assert_eq!(
            pick("application/activity+json"),
            Representation::ActivityJson
        );
        assert_eq!(
            pick("application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""),
            Representation::ActivityJson
        );
        assert_eq!(
            pick("application/activity+json, application/ld+json"),
            Representation::ActivityJson
        );
    }

    #[test]
    fn browsers_and_wildcards_get_html() {
        assert_eq!(negotiate(&HeaderMap::new()), Representation::Html);
        assert_eq!(
            pick("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Representation::Html
        );
        assert_eq!(pick("*/*"), Representation::Html);
    }

    #[test]
    fn q_values_are_honoured() {
        assert_eq!(
            pick("text/html;q=0.5, application/activity+json;q=0.9"),
            Representation::ActivityJson
        );
        assert_eq!(
            pick("text/html, application/activity+json;q=0.4"),
            Representation::Html
        );
        assert_eq!(pick("application/activity+json;q=0"), Representation::Html);
    }

    #[test]
    fn another_json_ld_profile_is_not_activitystreams() {
        assert_eq!(
            pick("application/ld+json; profile=\"https://example.org/other\""),
            Representation::Html
        );
    }
}
