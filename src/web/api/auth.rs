//! Who is calling the API: `Authorization: Bearer TOKEN`, looked up by the token's hash, and
//! how often: each token has its own allowance of requests per minute
//! (`api_requests_per_minute`), past which it gets 429 with `Retry-After`.

use std::sync::{Arc, OnceLock};

use activitypub_federation::config::Data;
use axum::{extract::FromRequestParts, http::request::Parts};

use super::ApiError;
use crate::{
    app::AppState,
    domain::{User, credentials},
    federation::rate_limit::RateLimiter,
};

/// The user behind a valid API token, and the request data to act with.
pub struct ApiUser {
    pub user: User,
    pub data: Data<AppState>,
}

/// Token buckets by token hash, one per API router (so per server), made on the first request
/// with the configured rate. In memory: each web process counts on its own.
#[derive(Debug, Default)]
pub struct TokenLimiter(OnceLock<RateLimiter>);

impl TokenLimiter {
    fn check(&self, per_minute: u32, token_hash: &str) -> Result<(), std::time::Duration> {
        self.0
            .get_or_init(|| RateLimiter::new(per_minute, std::time::Duration::from_secs(60)))
            .check(token_hash)
    }
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
        let token_hash = credentials::token_hash(token);
        // Counted before the lookup, so a flood with one token costs no database query. Keyed
        // by the hash: the limiter never holds a usable token.
        let limiter = parts
            .extensions
            .get::<Arc<TokenLimiter>>()
            .ok_or_else(|| ApiError::Internal("the API rate limiter is missing".into()))?;
        limiter
            .check(data.config.api_requests_per_minute, &token_hash)
            .map_err(ApiError::TooManyRequests)?;
        let user = data
            .store
            .user_by_token_hash(&token_hash)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .filter(|user| !user.disabled)
            .ok_or(ApiError::Unauthorized)?;
        Ok(Self { user, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Covers: the API per-token rate limit counts each token on its own.
    #[test]
    fn each_token_has_its_own_allowance() {
        let limiter = TokenLimiter::default();
        for _ in 0..3 {
            assert!(limiter.check(3, "a").is_ok());
        }
        let wait = limiter.check(3, "a").unwrap_err();
        assert!(wait <= std::time::Duration::from_secs(20), "{wait:?}");
        assert!(limiter.check(3, "b").is_ok(), "another token is not slowed");
    }
}
