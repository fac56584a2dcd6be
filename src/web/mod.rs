//! HTTP: `router(state)` builds the whole app. Handlers are thin: they parse the request, call
//! the store or federation code, and pick a representation. Public pages go through the page
//! cache ([`cache`]), which the route table applies, so no handler deals with caching.

pub mod actors;
pub mod allies;
pub mod api;
pub mod authorized_fetch;
pub mod cache;
pub mod conditional;
pub mod editor;
pub mod error;
pub mod feeds;
pub mod health;
pub mod home;
pub mod inbox;
pub mod media;
pub mod metrics;
pub mod negotiate;
pub mod posts;
pub mod security;
pub mod serve;
pub mod signatories;
pub mod tags;
pub mod translations;
pub mod view;
pub mod well_known;

use activitypub_federation::config::{FederationConfig, FederationMiddleware};
use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
};
use tower_http::trace::TraceLayer;

use crate::app::AppState;

/// The largest activity the inbox reads; bigger bodies get 413 before any work is done.
pub const MAX_INBOX_BODY: usize = 1024 * 1024;

/// The whole app on one runtime: [`front`] in front of [`app`]. The server ([`serve`]) runs
/// the two apart; tests call this one directly.
pub fn router(federation: FederationConfig<AppState>) -> Router {
    let state = federation.to_request_data().app_data().clone();
    front(state, app(federation))
}

/// Every route, with the layers that apply to all of them.
pub fn app(federation: FederationConfig<AppState>) -> Router {
    let state = federation.to_request_data().app_data().clone();
    let authorized_fetch = state.config.authorized_fetch;
    let security = security::Settings::for_base_url(&state.config.base_url);
    let inboxes = Router::new()
        .route("/inbox", post(inbox::shared))
        .route("/users/{username}/inbox", post(inbox::personal))
        .layer(DefaultBodyLimit::max(MAX_INBOX_BODY));
    // One URL, HTML or ActivityStreams by Accept: cached once per representation. Actor
    // documents stay public under `authorized_fetch`: they carry the key that verifies us.
    let actors = Router::new()
        .route("/users/{username}", get(actors::actor))
        .route_layer(middleware::from_fn_with_state(
            cache::Variants::ByAccept,
            cache::layer,
        ));
    let objects = Router::new()
        .route("/users/{username}/posts/{id}", get(posts::post))
        // A translation's page (HTML; ActivityStreams requests are sent to the post's id).
        .route(
            "/users/{username}/posts/{id}/{lang}",
            get(translations::post_in_language),
        )
        .route_layer(middleware::from_fn_with_state(
            cache::Variants::ByAccept,
            cache::layer,
        ));
    let objects = authorized_fetch::guard(
        objects,
        authorized_fetch::Guarded::WhenActivityJson,
        authorized_fetch,
    );
    // ActivityStreams only: collections and the activities that published and corrected.
    let collections = Router::new()
        .route("/users/{username}/followers", get(actors::followers))
        .route("/users/{username}/following", get(actors::following))
        .route("/users/{username}/outbox", get(actors::outbox))
        .route(
            "/users/{username}/collections/featured",
            get(actors::featured),
        )
        .route("/users/{username}/posts/{id}/likes", get(posts::likes))
        .route("/users/{username}/posts/{id}/shares", get(posts::shares))
        .route("/users/{username}/posts/{id}/replies", get(posts::replies))
        .route(
            "/users/{username}/posts/{id}/activity",
            get(posts::create_activity),
        )
        .route(
            "/users/{username}/posts/{id}/updates/{at}",
            get(posts::update_activity),
        )
        .route_layer(middleware::from_fn_with_state(
            cache::Variants::One,
            cache::layer,
        ));
    let collections = authorized_fetch::guard(
        collections,
        authorized_fetch::Guarded::Always,
        authorized_fetch,
    );
    // Web pages and feeds: public whatever the settings.
    let pages = Router::new()
        .route("/", get(home::home))
        .route("/users/{username}/allies", get(allies::allies))
        .route("/users/{username}/feed.atom", get(feeds::atom_feed))
        .route("/users/{username}/feed.rss", get(feeds::rss_feed))
        .route(
            "/users/{username}/lang/{lang}/feed.atom",
            get(feeds::atom_feed_in),
        )
        .route(
            "/users/{username}/lang/{lang}/feed.rss",
            get(feeds::rss_feed_in),
        )
        .route("/tags/{tag}", get(tags::tag))
        .route_layer(middleware::from_fn_with_state(
            cache::Variants::One,
            cache::layer,
        ));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/.well-known/webfinger", get(well_known::webfinger))
        .route("/.well-known/host-meta", get(well_known::host_meta))
        .route(
            "/.well-known/host-meta.json",
            get(well_known::host_meta_json),
        )
        .route("/.well-known/nodeinfo", get(well_known::nodeinfo_links))
        .route("/nodeinfo/{version}", get(well_known::nodeinfo))
        .route("/actor", get(actors::instance_actor))
        .route("/@{username}", get(actors::at_username))
        .route("/media/{file_name}", get(media::media))
        .merge(actors)
        .merge(objects)
        .merge(collections)
        .merge(pages)
        .merge(inboxes)
        .merge(api::router())
        .merge(editor::router())
        .fallback(error::not_found)
        .layer(middleware::from_fn_with_state(security, security::headers))
        .layer(FederationMiddleware::new(federation))
        .layer(TraceLayer::new_for_http())
}

/// What runs before routing: the request counter, and the page cache answering a page it
/// holds. A router's layers wrap each of its routes, so they run after routing; a page already
/// in the cache needs neither the routing nor the layers of [`app`], so this outer router,
/// whose one service is the app, answers it first.
pub fn front<S>(state: AppState, app: S) -> Router
where
    S: tower::Service<axum::extract::Request, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Response: axum::response::IntoResponse,
    S::Future: Send + 'static,
{
    let requests = std::sync::Arc::new(metrics::RequestCounts::default());
    Router::new()
        .fallback_service(app)
        .layer(middleware::from_fn_with_state(state, cache::hits))
        // Outermost but for its own extension, so every response is counted for /metrics.
        .layer(middleware::from_fn_with_state(
            requests.clone(),
            metrics::count,
        ))
        .layer(axum::Extension(requests))
}
