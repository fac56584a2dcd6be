//! The public page cache. Every public GET (actor and post documents and pages, tombstones,
//! collections, tag pages, feeds, activities) is rendered once and kept in memory as bytes with
//! its strong ETag, so a post that goes out to thousands of followers, whose servers all fetch
//! it within seconds, costs one set of database reads.
//!
//! Single flight: the map holds one `OnceCell` per key. The first request for a key renders;
//! requests arriving meanwhile wait on the same cell and get its result. If the render fails in
//! a way not worth keeping (a 500), the cell stays empty and the next waiter renders.
//!
//! Invalidation: every write to public content bumps `site_version` in the database, possibly
//! from another process (the CLI); [`follow_site_version`] polls it once a second and clears
//! the map when it moves, and in-process writers clear it at once
//! ([`crate::app::AppState::invalidate_public_cache`]). Clearing drops the cells, so a render
//! still running from before the change delivers its page only to the requests already waiting
//! on it, never to later ones. Pages built from data whose writes do not bump the version (a
//! follower approved from the CLI changes a count) are re-rendered after [`MAX_AGE`].
//!
//! Two layers read the map. [`layer`], on the public routes, renders what is missing; [`hits`],
//! in front of the router (only the request counter is further out), answers a GET whose page
//! is ready before routing, tracing and the federation middleware run, since none of them
//! adds anything to a page already made (kept with the security headers already on it). A
//! page kept for a signed fetch under `authorized_fetch` is filed apart ([`SignedOnly`]) and
//! only ever served through [`layer`], behind the check.
//!
//! The map is bounded: past [`MAX_ENTRIES`] it is cleared, which costs one re-render per page.
//! `moka` (already built, for activitypub_federation) would evict more gently, but its
//! `invalidate_all` does not reach loads in flight, which would then store pages from before a
//! change; avoiding that needs a generation in every key. This map is short and exact.

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use activitypub_federation::config::Data;
use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use tokio::sync::{OnceCell, watch};

use super::{
    conditional::{PUBLIC_MAX_AGE, etag_of, is_fresh, not_modified, parse_http_date},
    error::WebError,
    negotiate::{Representation, negotiate},
    security,
};
use crate::app::AppState;

/// Pages kept at most; a few thousand pages of a few kilobytes each.
pub const MAX_ENTRIES: usize = 4096;

/// The longest a page is kept, matching the `max-age` other caches are allowed.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// How often the web process asks the database whether public content changed.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The largest rendered page kept (a feed of twenty long posts is well under this).
const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;

/// What a cached page is filed under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub path_and_query: String,
    /// None for resources with one representation, where the path alone decides.
    pub representation: Option<Representation>,
    /// Rendered for a fetch that passed the `authorized_fetch` check: never served by
    /// [`hits`], which runs before that check.
    pub signed_only: bool,
}

/// Put on a request by the `authorized_fetch` check when it lets the request through: the
/// page it renders is filed under a [`Key`] that only [`layer`], behind the check, serves.
#[derive(Debug, Clone, Copy)]
pub struct SignedOnly;

/// How many representations the routes behind a [`layer`] have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variants {
    /// One: the path decides (feeds, tag pages, collections, activities).
    One,
    /// HTML or ActivityStreams by `Accept` (actors, posts): one entry each.
    ByAccept,
}

/// A rendered response as kept: status, headers (with `ETag` and `Cache-Control`), body.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    etag: String,
    modified: Option<DateTime<Utc>>,
}

struct Slot {
    created: Instant,
    cell: Arc<OnceCell<Arc<Page>>>,
}

impl Slot {
    fn expired(&self) -> bool {
        self.cell.initialized() && self.created.elapsed() > MAX_AGE
    }
}

pub struct PublicCache {
    slots: Mutex<HashMap<Key, Slot>>,
    renders: AtomicU64,
    /// The site version the pages were last checked against; [`NOT_SYNCED`] before that.
    synced: AtomicI64,
}

const NOT_SYNCED: i64 = i64::MIN;

impl Default for PublicCache {
    fn default() -> Self {
        Self {
            slots: Mutex::default(),
            renders: AtomicU64::new(0),
            synced: AtomicI64::new(NOT_SYNCED),
        }
    }
}

impl PublicCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many times a page was rendered (not served from the cache), since start.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    /// The database's site version as last seen, if it was read yet: every page kept was
    /// rendered after that version.
    pub fn synced_version(&self) -> Option<i64> {
        Some(self.synced.load(Ordering::Acquire)).filter(|v| *v != NOT_SYNCED)
    }

    /// Takes note of the database's site version, dropping every page if it moved.
    pub fn sync(&self, version: i64) {
        if self.synced.load(Ordering::Acquire) != version {
            self.clear();
            // Published after the clear, so whoever sees the new version sees no old page.
            self.synced.store(version, Ordering::Release);
            tracing::debug!(version, "public content changed; cached pages dropped");
        }
    }

    /// Forgets every page; the next request for each renders it again.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The map's consistency never depends on a critical section finishing (each is one
    /// insert, get or clear), so a panic elsewhere while it was held leaves nothing to repair.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cell for `key`, made (and the map cleared, if full) when there is none or the one
    /// there is too old.
    fn cell(&self, key: Key) -> Arc<OnceCell<Arc<Page>>> {
        let mut slots = self.lock();
        match slots.get(&key) {
            Some(slot) if !slot.expired() => return slot.cell.clone(),
            Some(_) => {}
            None if slots.len() >= MAX_ENTRIES => slots.clear(),
            None => {}
        }
        let cell = Arc::new(OnceCell::new());
        let slot = Slot {
            created: Instant::now(),
            cell: cell.clone(),
        };
        slots.insert(key, slot);
        cell
    }

    /// The page ready for a public GET of `uri`, if one is kept and still fresh. It looks for
    /// the path's one representation first, then for the one `Accept` asks for; pages kept
    /// for signed fetches only are not looked at.
    fn ready(&self, uri: &Uri, request: &HeaderMap) -> Option<Arc<Page>> {
        let mut key = Key {
            path_and_query: path_and_page(uri),
            representation: None,
            signed_only: false,
        };
        let slots = self.lock();
        let ready = |key: &Key| {
            let slot = slots.get(key).filter(|slot| !slot.expired())?;
            slot.cell.get().cloned()
        };
        ready(&key).or_else(|| {
            key.representation = Some(negotiate(request));
            ready(&key)
        })
    }

    /// Answers from the cache, rendering with `render` if the page is not there (once, however
    /// many requests ask at the same time). 2xx, 404 and 410 answers are kept; others are
    /// passed on and rendered again next time.
    pub async fn serve<F, Fut>(&self, key: Key, request: &HeaderMap, render: F) -> Response
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Response>,
    {
        let cell = self.cell(key);
        let page = cell
            .get_or_try_init(|| async {
                self.renders.fetch_add(1, Ordering::Relaxed);
                Page::keep(render().await).await
            })
            .await;
        match page {
            Ok(page) => page.respond(request),
            Err(passed_on) => passed_on,
        }
    }
}

impl Page {
    /// Reads a rendered response into a page, or hands it back if it is not worth keeping.
    async fn keep(response: Response) -> Result<Arc<Self>, Response> {
        let status = response.status();
        if !(status.is_success() || status == StatusCode::NOT_FOUND || status == StatusCode::GONE) {
            return Err(response);
        }
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, MAX_PAGE_BYTES)
            .await
            .map_err(|e| WebError::Internal(format!("reading a rendered page: {e}")))
            .map_err(IntoResponse::into_response)?;
        let etag = etag_of(&body);
        let mut headers = parts.headers;
        // Always valid: base64url between quotes.
        if let Ok(value) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, value);
        }
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(PUBLIC_MAX_AGE);
        let modified = headers.get(header::LAST_MODIFIED).and_then(parse_http_date);
        Ok(Arc::new(Self {
            status,
            headers,
            body,
            etag,
            modified,
        }))
    }

    fn respond(&self, request: &HeaderMap) -> Response {
        // Preconditions count only where the answer would be a success (RFC 9110 §13.2.1).
        if self.status.is_success() && is_fresh(request, &self.etag, self.modified) {
            return not_modified(&self.headers);
        }
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// Middleware for the public routes: answers GET and HEAD through the cache.
pub async fn layer(
    State(variants): State<Variants>,
    data: Data<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    if method != Method::GET && method != Method::HEAD {
        return next.run(request).await;
    }
    // The route strips the body of a HEAD answer before it reaches us; render as GET so the
    // page kept is whole (the server still sends no body to the HEAD).
    *request.method_mut() = Method::GET;
    let headers = request.headers().clone();
    let key = Key {
        path_and_query: path_and_page(request.uri()),
        representation: match variants {
            Variants::One => None,
            Variants::ByAccept => Some(negotiate(&headers)),
        },
        signed_only: request.extensions().get::<SignedOnly>().is_some(),
    };
    // The page is kept with the security headers the outer layer would add, so that a hit
    // answered in front of the router ([`hits`]) has them without adding them each time.
    let security = security::Settings::for_base_url(&data.config.base_url);
    let render = || async move {
        let mut response = next.run(request).await;
        security::add_headers(response.headers_mut(), &security);
        response
    };
    data.public_cache.serve(key, &headers, render).await
}

/// The layer in front of the router: a GET whose page is ready is answered from the cache
/// at once; anything else goes on through the whole stack (and [`layer`], if it is a public
/// page).
pub async fn hits(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let Some(page) = state.public_cache.ready(request.uri(), request.headers()) else {
        return next.run(request).await;
    };
    let mut response = page.respond(request.headers());
    if response.status() == StatusCode::NOT_MODIFIED {
        // A 304 repeats only the page's validators and caching headers.
        let settings = security::Settings::for_base_url(&state.config.base_url);
        security::add_headers(response.headers_mut(), &settings);
    }
    response
}

/// The path and the `page` parameter, the only one public routes read: other parameters must
/// not make new entries, or anyone adding junk to URLs could flush the cache.
fn path_and_page(uri: &Uri) -> String {
    let pages: Vec<String> = uri
        .query()
        .map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .filter(|(name, _)| name == "page")
                .map(|(_, value)| value.into_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut key = uri.path().to_owned();
    if !pages.is_empty() {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pages.iter().map(|p| ("page", p)))
            .finish();
        key.push('?');
        key.push_str(&query);
    }
    key
}

/// Clears the cache whenever the database's site version moves, checking every
/// [`POLL_INTERVAL`], until `shutdown` turns true. A database that does not answer keeps the
/// pages already made: stale beats down.
pub async fn follow_site_version(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        match state.store.site_version().await {
            Ok(version) => state.public_cache.sync(version),
            Err(err) => tracing::warn!(error = %err, "cannot read the site version"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str) -> Key {
        Key {
            path_and_query: path.to_owned(),
            representation: None,
            signed_only: false,
        }
    }

    async fn page(body: &'static str) -> Response {
        (StatusCode::OK, body).into_response()
    }

    async fn body_of(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_render() {
        let cache = Arc::new(PublicCache::new());
        let (release, wait) = watch::channel(false);
        let requests: Vec<_> = (0..50)
            .map(|_| {
                let cache = cache.clone();
                let mut wait = wait.clone();
                tokio::spawn(async move {
                    let render = || async move {
                        let _ = wait.wait_for(|go| *go).await;
                        page("rendered").await
                    };
                    body_of(cache.serve(key("/p"), &HeaderMap::new(), render).await).await
                })
            })
            .collect();
        tokio::task::yield_now().await;
        release.send(true).unwrap();
        for request in requests {
            assert_eq!(request.await.unwrap(), "rendered");
        }
        assert_eq!(cache.renders(), 1);
    }

    #[tokio::test]
    async fn errors_are_not_kept_but_404_is() {
        let cache = PublicCache::new();
        let failing = || async { WebError::Internal("db down".into()).into_response() };
        for _ in 0..2 {
            let response = cache.serve(key("/a"), &HeaderMap::new(), failing).await;
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        }
        assert_eq!(cache.renders(), 2);
        let missing = || async { WebError::NotFound.into_response() };
        for _ in 0..2 {
            let response = cache.serve(key("/b"), &HeaderMap::new(), missing).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND);
        }
        assert_eq!(cache.renders(), 3);
    }

    #[tokio::test]
    async fn a_clear_makes_the_next_request_render_and_a_tag_match_gets_304() {
        let cache = PublicCache::new();
        let first = cache
            .serve(key("/p"), &HeaderMap::new(), || page("one"))
            .await;
        let etag = first.headers()[header::ETAG].clone();
        assert_eq!(first.headers()[header::CACHE_CONTROL], "public, max-age=60");
        let mut conditional = HeaderMap::new();
        conditional.insert(header::IF_NONE_MATCH, etag);
        let again = cache.serve(key("/p"), &conditional, || page("two")).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        cache.clear();
        let fresh = cache.serve(key("/p"), &conditional, || page("two")).await;
        assert_eq!(body_of(fresh).await, "two");
        assert_eq!(cache.renders(), 2);
    }

    #[tokio::test]
    async fn a_new_site_version_drops_the_pages_and_the_same_one_keeps_them() {
        let cache = PublicCache::new();
        assert_eq!(cache.synced_version(), None);
        cache.sync(7);
        cache
            .serve(key("/p"), &HeaderMap::new(), || page("x"))
            .await;
        cache.sync(7);
        cache
            .serve(key("/p"), &HeaderMap::new(), || page("x"))
            .await;
        assert_eq!(cache.renders(), 1);
        cache.sync(8);
        cache
            .serve(key("/p"), &HeaderMap::new(), || page("x"))
            .await;
        assert_eq!((cache.renders(), cache.synced_version()), (2, Some(8)));
    }

    #[tokio::test]
    async fn the_map_is_bounded() {
        let cache = PublicCache::new();
        for n in 0..=MAX_ENTRIES {
            cache
                .serve(key(&format!("/p/{n}")), &HeaderMap::new(), || page("x"))
                .await;
        }
        assert!(cache.lock().len() <= MAX_ENTRIES);
    }

    #[test]
    fn keys_keep_only_the_page_parameter() {
        let uri: Uri = "/users/isg?utm_source=x&page=2".parse().unwrap();
        assert_eq!(path_and_page(&uri), "/users/isg?page=2");
        let uri: Uri = "/users/isg?junk=1".parse().unwrap();
        assert_eq!(path_and_page(&uri), "/users/isg");
    }
}
