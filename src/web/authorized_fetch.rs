//! The `authorized_fetch` setting at the door of the public routes: ActivityPub objects and
//! collections go only to fetches signed by an actor not blocked here (401 unsigned or
//! unproven, 403 blocked). Web pages, feeds and actor documents stay public: the pages are
//! for everyone, and an actor document carries the key other servers need to verify us.
//!
//! It sits outside the page cache's route layer, so a cached document is handed out only after
//! the check; what it lets through is filed apart in the cache ([`cache::SignedOnly`]), out of
//! reach of the cache's layer in front of the router. It marks what it lets through
//! `Cache-Control: private` so that no shared cache in front gives a signed fetch's answer to
//! anyone else.

use activitypub_federation::config::Data;
use axum::{
    Router,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};

use super::{
    cache,
    error::{WebError, problem},
    negotiate::{Representation, negotiate},
};
use crate::{
    app::AppState,
    federation::signed_fetch::{self, FetchRefusal},
};

/// Which requests of a route group the check applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    /// A URL that serves HTML or ActivityStreams by `Accept`: only ActivityStreams is guarded.
    WhenActivityJson,
    /// A URL that serves only ActivityStreams (collections, activities).
    Always,
}

/// `routes` behind the check when `authorized_fetch` is on, and as they are when it is
/// off, so that public GETs pay nothing for a setting an instance does not use.
pub fn guard(routes: Router, guarded: Guarded, authorized_fetch: bool) -> Router {
    if authorized_fetch {
        routes.route_layer(middleware::from_fn_with_state(guarded, layer))
    } else {
        routes
    }
}

async fn layer(
    State(guarded): State<Guarded>,
    data: Data<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let applies = matches!(*request.method(), Method::GET | Method::HEAD)
        && (guarded == Guarded::Always
            || negotiate(request.headers()) == Representation::ActivityJson);
    if !applies {
        return next.run(request).await;
    }
    let uri = request.uri();
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let signer = signed_fetch::signer(&data, request.method(), path, request.headers()).await;
    match signer {
        Ok(signer) => {
            tracing::debug!(%signer, path = %request.uri().path(), "authorized fetch");
            // Kept apart in the page cache: its outer layer, before this check, never
            // serves it.
            request.extensions_mut().insert(cache::SignedOnly);
            let mut response = next.run(request).await;
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
            response
        }
        Err(FetchRefusal::Unauthorized(why)) => {
            let mut response = problem(
                StatusCode::UNAUTHORIZED,
                &format!(
                    "This server answers ActivityPub fetches only when they are signed: {why}"
                ),
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Signature headers=\"(request-target) host date\""),
            );
            response
        }
        Err(FetchRefusal::Blocked) => problem(
            StatusCode::FORBIDDEN,
            "The signer is blocked by this server.",
        ),
        Err(FetchRefusal::Internal(cause)) => WebError::Internal(cause).into_response(),
    }
}
