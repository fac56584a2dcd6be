//! Security headers on every response: a Content Security Policy, frame denial, no MIME
//! sniffing, a referrer policy, and HSTS when the site is served over HTTPS.
//!
//! The layer wraps every route, outside the public page cache, so fresh pages, 304s and
//! errors all carry the same headers; the page cache keeps its pages with them already added,
//! because it answers hits in front of the router (`web::cache::hits`). A header a route
//! already set is kept: the editor sends its own, stricter-for-it policy (scripts from the
//! site for its one script file), and this layer only fills in what is missing.

use std::sync::LazyLock;

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, header},
    middleware::Next,
    response::Response,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};
use url::Url;

/// HSTS for a year. Without `includeSubDomains`: other hosts of the organization's domain
/// may not speak HTTPS, and that is not this server's to decide.
pub const HSTS: &str = "max-age=31536000";

/// The public pages' one inline stylesheet, exactly as `templates/base.html` holds it (the
/// template has no expressions inside `<style>`, so the rendered text is the same).
const BASE_TEMPLATE: &str = include_str!("../../templates/base.html");

/// The policy of every response but the editor's: no scripts at all, styles only from the
/// base template's `<style>` block (allowed by its hash rather than `'unsafe-inline'`), images
/// from here and from other servers over HTTPS (remote avatars and headers), no plugins, no
/// framing, forms only to this site.
static PUBLIC_POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    let style = match inline_style_hash(BASE_TEMPLATE) {
        Some(hash) => format!("'{hash}'"),
        None => "'none'".to_owned(),
    };
    let policy = format!(
        "default-src 'none'; img-src 'self' https: data:; style-src {style}; \
         frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

/// `sha256-BASE64` of the text of the first `<style>` element of a template or page, as a
/// CSP source expression names it.
pub fn inline_style_hash(html: &str) -> Option<String> {
    let start = html.find("<style>")? + "<style>".len();
    let end = start + html[start..].find("</style>")?;
    let digest = Sha256::digest(&html.as_bytes()[start..end]);
    Some(format!("sha256-{}", STANDARD.encode(digest)))
}

/// The public Content Security Policy, as sent.
pub fn public_policy() -> &'static str {
    PUBLIC_POLICY.to_str().unwrap_or_default()
}

/// What the layer needs to know of the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Whether the base URL is `https://`, and HSTS is sent.
    pub https: bool,
}

impl Settings {
    pub fn for_base_url(base_url: &Url) -> Self {
        Self {
            https: base_url.scheme() == "https",
        }
    }
}

/// The middleware [`super::router`] wraps everything in, with [`Settings`] as its state.
pub async fn headers(State(settings): State<Settings>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    add_headers(response.headers_mut(), &settings);
    response
}

/// Adds each security header the response does not already have.
pub fn add_headers(headers: &mut HeaderMap, settings: &Settings) {
    let mut keep_or_set = |name: HeaderName, value: HeaderValue| {
        headers.entry(name).or_insert(value);
    };
    keep_or_set(header::CONTENT_SECURITY_POLICY, PUBLIC_POLICY.clone());
    keep_or_set(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    keep_or_set(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    keep_or_set(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if settings.https {
        keep_or_set(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_base_template_style_by_hash_and_no_script() {
        let hash = inline_style_hash(BASE_TEMPLATE).unwrap();
        let policy = public_policy();
        assert!(policy.contains(&format!("style-src '{hash}'")), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(
            !policy.contains("script-src"),
            "default-src 'none' covers scripts"
        );
        assert!(policy.starts_with("default-src 'none'"), "{policy}");
    }

    #[test]
    fn headers_a_route_set_are_kept_and_hsts_only_under_https() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        add_headers(&mut headers, &Settings { https: false });
        assert_eq!(headers[header::REFERRER_POLICY], "same-origin");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert!(!headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
        add_headers(&mut headers, &Settings { https: true });
        assert_eq!(headers[header::STRICT_TRANSPORT_SECURITY], HSTS);
    }
}
