//! The JSON API under `/api/v1/`: bearer tokens (`broadside token create`), the same
//! permissions as the web editor (both call [`crate::editorial`]), errors as RFC 9457
//! problem details, and `/api/v1/openapi.json` generated from the handlers themselves, so
//! the document and the routes cannot drift apart.

pub mod auth;
pub mod posts;
pub mod translations;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::de::DeserializeOwned;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{editorial::EditorialError, web::error::problem};

#[derive(OpenApi)]
#[openapi(
    info(title = "Broadside API", description = "Publish an organization's statements and news to the fediverse."),
    modifiers(&BearerToken),
    security(("token" = [])),
    tags((name = "posts", description = "Statements and news"))
)]
struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API's routes and the OpenAPI document describing exactly them.
pub fn router_and_document() -> (Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(posts::create, posts::list))
        .routes(routes!(posts::show, posts::update, posts::delete))
        .routes(routes!(translations::put, translations::delete))
        .split_for_parts()
}

/// The API, with its OpenAPI document served at `/api/v1/openapi.json`. The document is
/// serialized once: each request then shares the same bytes.
pub fn router() -> Router {
    let (router, mut document) = router_and_document();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    // A tree of plain data: serializing it does not fail in practice.
    let bytes = serde_json::to_vec(&document)
        .map(Bytes::from)
        .unwrap_or_else(|err| {
            tracing::error!(error = %err, "the OpenAPI document does not serialize");
            Bytes::new()
        });
    router
        .route(
            "/api/v1/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], bytes.clone()) }),
        )
        .layer(axum::Extension(std::sync::Arc::new(
            auth::TokenLimiter::default(),
        )))
}

/// An API failure, as an `application/problem+json` response.
#[derive(Debug)]
pub enum ApiError {
    Unauthorized,
    Forbidden(String),
    NotFound,
    BadRequest(String),
    Unprocessable(String),
    /// 429: the token used up its allowance ([`auth::TokenLimiter`]); retry after the wait.
    TooManyRequests(std::time::Duration),
    Internal(String),
}

impl From<EditorialError> for ApiError {
    fn from(err: EditorialError) -> Self {
        match err {
            EditorialError::Forbidden(why) => Self::Forbidden(why.to_owned()),
            EditorialError::NotFound => Self::NotFound,
            EditorialError::Invalid(why) => Self::Unprocessable(why),
            EditorialError::Store(err) => Self::Internal(err.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Unauthorized => {
                let mut response = problem(
                    StatusCode::UNAUTHORIZED,
                    "A valid API token is required: Authorization: Bearer TOKEN.",
                );
                response.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer"),
                );
                response
            }
            Self::Forbidden(why) => problem(StatusCode::FORBIDDEN, &why),
            Self::NotFound => problem(
                StatusCode::NOT_FOUND,
                "There is no such post among the accounts you work for.",
            ),
            Self::BadRequest(why) => problem(StatusCode::BAD_REQUEST, &why),
            Self::Unprocessable(why) => problem(StatusCode::UNPROCESSABLE_ENTITY, &why),
            Self::TooManyRequests(wait) => {
                let seconds = crate::federation::rate_limit::retry_after_secs(wait);
                let mut response = problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("This token made too many requests; try again in {seconds} seconds."),
                );
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(seconds),
                );
                response
            }
            Self::Internal(cause) => {
                tracing::error!(error = %cause, "API request failed");
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side; please try again.",
                )
            }
        }
    }
}

/// A JSON body whose rejections are problem details too: malformed JSON is 400, JSON of
/// the wrong shape 422, a missing `Content-Type: application/json` 415.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::JsonSyntaxError(err) => {
                    ApiError::BadRequest(format!("the body is not valid JSON: {}", err.body_text()))
                        .into_response()
                }
                JsonRejection::JsonDataError(err) => {
                    ApiError::Unprocessable(err.body_text()).into_response()
                }
                JsonRejection::MissingJsonContentType(_) => problem(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Send the body as Content-Type: application/json.",
                ),
                other => problem(other.status(), &other.body_text()),
            }),
        }
    }
}
