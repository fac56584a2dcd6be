//! Who is asking and what they sent: the signed-in [`Editor`] (from the session cookie), and
//! the two form extractors that check a CSRF token before any handler sees a field:
//! [`EditorForm`] (the session's token, for everything signed in) and [`PublicForm`] (a
//! double-submit cookie, for the sign-in and setup pages, which have no session yet).
//! Because handlers can only read a POST body through these, no form can skip the check.

use std::net::{IpAddr, SocketAddr};

use activitypub_federation::config::Data;
use axum::{
    extract::{ConnectInfo, FromRequest, FromRequestParts, Multipart, Request},
    http::{HeaderMap, HeaderValue, header, request::Parts},
};
use serde::de::DeserializeOwned;

use super::EditorError;
use crate::{
    app::AppState,
    domain::{User, credentials},
};

/// The session cookie: a random token whose SHA-256 names the `sessions` row.
pub const SESSION_COOKIE: &str = "broadside_session";
/// The sign-in and setup pages' double-submit token.
pub const FORM_COOKIE: &str = "broadside_form";
/// How long a session lasts; signing in again makes a new one.
pub const SESSION_HOURS: i64 = 12;
/// How long a sign-in or setup page may stay open before its form expires.
const FORM_COOKIE_SECONDS: i64 = 2 * 60 * 60;

/// The value of the cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value: HttpOnly and Path=/ always, `Secure` when the site is HTTPS (a
/// browser would drop a Secure cookie on plain-HTTP local testing).
pub fn set_cookie(
    data: &AppState,
    name: &str,
    value: &str,
    same_site: &str,
    max_age: i64,
) -> HeaderValue {
    let secure = data.config.base_url.scheme() == "https";
    let text = cookie_text(name, value, same_site, max_age, secure);
    // Tokens are URL-safe base64, so this cannot fail; an empty cookie is the safe fallback.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn cookie_text(name: &str, value: &str, same_site: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}")
}

/// The session cookie for a new session.
pub fn session_cookie(data: &AppState, token: &str) -> HeaderValue {
    set_cookie(data, SESSION_COOKIE, token, "Lax", SESSION_HOURS * 3600)
}

/// Tells the browser to forget the session cookie.
pub fn clear_session_cookie(data: &AppState) -> HeaderValue {
    set_cookie(data, SESSION_COOKIE, "", "Lax", 0)
}

/// The double-submit token of a sign-in or setup page: the one the browser has, or a new one
/// to set. Returns the token and, when new, the cookie to set.
pub fn form_token(data: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, FORM_COOKIE).filter(|t| t.len() >= 32) {
        Some(token) => (token, None),
        None => {
            let token = credentials::generate_token();
            let cookie = set_cookie(data, FORM_COOKIE, &token, "Strict", FORM_COOKIE_SECONDS);
            (token, Some(cookie))
        }
    }
}

/// Compares secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The address a request came from. A connection from loopback is a reverse proxy on the
/// same machine (the setup the README describes), so its `X-Forwarded-For` is believed:
/// the last entry is the one that proxy added. Anything else is the peer address itself.
pub fn client_address(parts: &Parts) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let forwarded = || {
        parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    };
    match peer {
        Some(ip) if ip.is_loopback() => forwarded().or(Some(ip)),
        other => other,
    }
}

/// A signed-in user with a valid session.
pub struct Editor {
    pub user: User,
    /// The session's CSRF token, which every form of its pages carries.
    pub csrf: String,
    /// The hash of the session token (to end this session).
    pub session_hash: String,
    pub data: Data<AppState>,
}

impl<S: Send + Sync> FromRequestParts<S> for Editor {
    type Rejection = EditorError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let data = Data::<AppState>::from_request_parts(parts, state)
            .await
            .map_err(|_| EditorError::Internal("federation data missing".into()))?;
        // After signing in, a page asked for is shown; a form sent is not sent again.
        let next = match (&parts.method, parts.uri.path_and_query()) {
            (&axum::http::Method::GET, Some(path)) => path.as_str().to_owned(),
            _ => "/editor".to_owned(),
        };
        let sign_in = || EditorError::SignIn { next: next.clone() };
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(sign_in)?;
        let session_hash = credentials::token_hash(&token);
        let session = data
            .store
            .session(&session_hash)
            .await?
            .filter(|s| !s.user.disabled)
            .ok_or_else(sign_in)?;
        Ok(Self {
            user: session.user,
            csrf: session.csrf_token,
            session_hash,
            data,
        })
    }
}

/// An image or other file sent with a form.
pub struct Upload {
    /// The form field it came in.
    pub field: String,
    pub bytes: Vec<u8>,
}

/// A form's fields, whether it came urlencoded or as multipart (with files).
struct Fields {
    pairs: Vec<(String, String)>,
    uploads: Vec<Upload>,
}

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn deserialize<T: DeserializeOwned>(&self) -> Result<T, EditorError> {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.pairs)
            .finish();
        serde_urlencoded::from_str(&encoded)
            .map_err(|e| EditorError::BadRequest(format!("the form is incomplete: {e}")))
    }
}

async fn read_fields(request: Request) -> Result<Fields, EditorError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let too_large = |status: axum::http::StatusCode| {
        if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            EditorError::TooLarge
        } else {
            EditorError::BadRequest("the form could not be read".into())
        }
    };
    if multipart {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| too_large(e.status()))?;
        let mut fields = Fields {
            pairs: Vec::new(),
            uploads: Vec::new(),
        };
        while let Some(field) = form.next_field().await.map_err(|e| too_large(e.status()))? {
            let name = field.name().unwrap_or_default().to_owned();
            if field.file_name().is_some() {
                let bytes = field.bytes().await.map_err(|e| too_large(e.status()))?;
                // A file input left empty still sends a part, with no bytes.
                if !bytes.is_empty() {
                    fields.uploads.push(Upload {
                        field: name,
                        bytes: bytes.to_vec(),
                    });
                }
            } else {
                let text = field.text().await.map_err(|e| too_large(e.status()))?;
                fields.pairs.push((name, text));
            }
        }
        Ok(fields)
    } else {
        let bytes = axum::body::to_bytes(request.into_body(), super::MAX_EDITOR_FORM)
            .await
            .map_err(|_| EditorError::TooLarge)?;
        Ok(Fields {
            pairs: url::form_urlencoded::parse(&bytes).into_owned().collect(),
            uploads: Vec::new(),
        })
    }
}

/// A signed-in user's form, read only after its `csrf` field matched the session's token.
pub struct EditorForm<T> {
    pub editor: Editor,
    pub form: T,
    /// Every text field in order, for repeated fields a struct cannot hold.
    pub pairs: Vec<(String, String)>,
    pub uploads: Vec<Upload>,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for EditorForm<T> {
    type Rejection = EditorError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let editor = Editor::from_request_parts(&mut parts, state).await?;
        let fields = read_fields(Request::from_parts(parts, body)).await?;
        let sent = fields.get("csrf").unwrap_or_default();
        if !same_secret(sent, &editor.csrf) {
            tracing::warn!(user = %editor.user.login, "form refused: CSRF token missing or wrong");
            return Err(EditorError::Csrf);
        }
        Ok(Self {
            form: fields.deserialize()?,
            editor,
            pairs: fields.pairs,
            uploads: fields.uploads,
        })
    }
}

/// A sign-in or setup form, read only after its `csrf` field matched the page's
/// double-submit cookie. Another site can make a browser post a form here, but cannot read
/// or set our cookie, so it cannot sign a visitor in to an account of its choosing.
pub struct PublicForm<T> {
    pub form: T,
    pub headers: HeaderMap,
    pub address: Option<IpAddr>,
    pub data: Data<AppState>,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PublicForm<T> {
    type Rejection = EditorError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let data = Data::<AppState>::from_request_parts(&mut parts, state)
            .await
            .map_err(|_| EditorError::Internal("federation data missing".into()))?;
        let address = client_address(&parts);
        let headers = parts.headers.clone();
        let fields = read_fields(Request::from_parts(parts, body)).await?;
        let expected = cookie(&headers, FORM_COOKIE).unwrap_or_default();
        let sent = fields.get("csrf").unwrap_or_default();
        if expected.is_empty() || !same_secret(sent, &expected) {
            return Err(EditorError::Csrf);
        }
        Ok(Self {
            form: fields.deserialize()?,
            headers,
            address,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; broadside_session=abc; b=2"),
        );
        assert_eq!(
            cookie(&headers, SESSION_COOKIE).as_deref(),
            Some("abc"),
            "among others"
        );
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn session_cookies_are_secure_under_https_only() {
        let https = cookie_text(SESSION_COOKIE, "t", "Lax", 43_200, true);
        assert_eq!(
            https,
            "broadside_session=t; Path=/; HttpOnly; SameSite=Lax; Max-Age=43200; Secure"
        );
        assert!(!cookie_text(SESSION_COOKIE, "t", "Lax", 1, false).contains("Secure"));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }
}
