//! Errors as HTTP responses: RFC 9457 problem details with a safe sentence. The cause is
//! logged once here and never sent to the client.

use axum::{
    Json,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("not found")]
    NotFound,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for WebError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::NotFound,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(err: askama::Error) -> Self {
        Self::Internal(format!("template: {err}"))
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, detail) = match &self {
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, message.clone()),
            Self::Unauthorized(message) => (StatusCode::UNAUTHORIZED, message.clone()),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "There is nothing at this address.".to_owned(),
            ),
            Self::Internal(cause) => {
                tracing::error!(error = %cause, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side; please try again.".to_owned(),
                )
            }
        };
        problem(status, &detail)
    }
}

/// An `application/problem+json` response.
pub fn problem(status: StatusCode, detail: &str) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        Json(body),
    )
        .into_response()
}

pub async fn not_found() -> WebError {
    WebError::NotFound
}
