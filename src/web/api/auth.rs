//! Who is calling the API: `Authorization: Bearer TOKEN`, looked up by the token's hash.

use activitypub_federation::config::Data;
use axum::{extract::FromRequestParts, http::request::Parts};

use super::ApiError;
use crate::{
    app::AppState,
    domain::{User, credentials},
};

/// The user behind a valid API token, and the request data to act with.
pub struct ApiUser {
    pub user: User,
    pub data: Data<AppState>,
}

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let data = Data::<AppState>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::Internal("federation data missing".into()))?;
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let user = data
            .store
            .user_by_token_hash(&credentials::token_hash(token))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .filter(|user| !user.disabled)
            .ok_or(ApiError::Unauthorized)?;
        Ok(Self { user, data })
    }
}
