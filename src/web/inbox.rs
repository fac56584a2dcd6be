//! `POST /users/{username}/inbox` and `POST /inbox`: hand the request to the federation inbox
//! pipeline and map its verdict to a status code (202, 400, 401, 403, 404, 429 or 500).

use activitypub_federation::config::Data;
use axum::{
    body::Bytes,
    extract::Path,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};

use super::error::{WebError, problem};
use crate::{
    app::AppState,
    federation::{
        activities::Handled,
        inbox::{self, InboxError, InboxRequest},
    },
};

pub async fn personal(
    Path(username): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    data: Data<AppState>,
    body: Bytes,
) -> Result<Response, WebError> {
    if data.store.actor_by_username(&username).await?.is_none() {
        return Err(WebError::NotFound);
    }
    Ok(receive(&data, method, uri, headers, body).await)
}

pub async fn shared(
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    data: Data<AppState>,
    body: Bytes,
) -> Response {
    receive(&data, method, uri, headers, body).await
}

async fn receive(
    data: &Data<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = InboxRequest {
        method,
        path_and_query: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
        headers,
        body,
    };
    match inbox::receive(data, request).await {
        Ok(Handled::Applied) => {
            // A follow, unfollow or account deletion changes follower counts on public pages.
            data.invalidate_public_cache();
            StatusCode::ACCEPTED.into_response()
        }
        Ok(Handled::Ignored(_)) => StatusCode::ACCEPTED.into_response(),
        Err(InboxError::Unauthorized(reason)) => {
            tracing::info!(%reason, "inbox refused an unauthenticated request");
            problem(StatusCode::UNAUTHORIZED, &reason)
        }
        Err(InboxError::BadRequest(reason)) => {
            tracing::info!(%reason, "inbox refused a malformed activity");
            problem(StatusCode::BAD_REQUEST, &reason)
        }
        Err(InboxError::Forbidden(reason)) => problem(StatusCode::FORBIDDEN, &reason),
        Err(InboxError::TooManyRequests { retry_after }) => {
            let mut response = problem(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests from this host; retry later",
            );
            let seconds = crate::federation::rate_limit::retry_after_secs(retry_after);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
        Err(InboxError::Internal(cause)) => WebError::Internal(cause).into_response(),
    }
}
