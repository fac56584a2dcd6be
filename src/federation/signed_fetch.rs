//! Authorized fetch: who is asking for an ActivityPub document. With the `authorized_fetch`
//! setting on, our posts and collections are given only to a request signed (HTTP
//! Signatures, as servers sign their fetches) by an actor that is not blocked here.
//!
//! The checks run in the inbox's order, cheapest first: the `Signature` header is readable
//! and covers the request's target, host and date, the date is fresh, the signer and its
//! domain are not blocked (so a blocked server is never fetched from), and only then is the
//! signer's actor fetched (or read from the store) and the signature verified, with one
//! refetch if its key was rotated.

use chrono::Utc;
use http::{HeaderMap, Method};
use url::Url;

use super::{
    FederationData, inbox,
    signatures::{self, RequestParts, SignatureError, SignatureHeader},
};

/// Why a fetch was not authorized; the web layer answers 401 or 403 (500 for our failures).
#[derive(Debug, thiserror::Error)]
pub enum FetchRefusal {
    /// 401: unsigned, or the signature does not prove who signed.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the signer, or its domain, is blocked here.
    #[error("the signer is blocked by this server")]
    Blocked,
    /// 500: our side failed (the store).
    #[error("{0}")]
    Internal(String),
}

impl From<SignatureError> for FetchRefusal {
    fn from(err: SignatureError) -> Self {
        Self::Unauthorized(err.to_string())
    }
}

/// The actor that signed this GET, verified.
pub async fn signer(
    data: &FederationData,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
) -> Result<Url, FetchRefusal> {
    let signature = SignatureHeader::from_headers(headers)?;
    let owner = Url::parse(signature.key_owner_guess())
        .map_err(|_| FetchRefusal::Unauthorized("the signature's keyId is not a URL".into()))?;
    let request = RequestParts {
        method,
        path_and_query,
        headers,
    };
    signatures::check_time(&request, &signature, Utc::now())?;
    let blocked = data
        .store
        .block_covering(&owner)
        .await
        .map_err(|err| FetchRefusal::Internal(err.to_string()))?;
    if blocked.is_some() {
        return Err(FetchRefusal::Blocked);
    }
    inbox::authenticate(data, &owner, &signature, &request)
        .await
        .map(|actor| actor.0.ap_id)
        .map_err(|refusal| match inbox::InboxError::from(refusal) {
            inbox::InboxError::Internal(message) => FetchRefusal::Internal(message),
            other => FetchRefusal::Unauthorized(other.to_string()),
        })
}
