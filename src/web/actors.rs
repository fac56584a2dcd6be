//! Actors and their collections: `/users/{username}` (HTML or ActivityStreams by `Accept`),
//! followers, following, outbox and featured, and the instance actor at `/actor`.

use activitypub_federation::{axum::json::FederationJson, config::Data};
use askama::Template;
use axum::{
    extract::{Path, Query},
    http::HeaderMap,
    response::{Html, IntoResponse, Redirect, Response},
};
use serde_json::Value;
use url::Url;

use super::{
    conditional::last_modified,
    error::WebError,
    negotiate::{Representation, VARY_ACCEPT, negotiate},
    view::{self, PageQuery, Pager, PostItem},
};
use crate::{
    app::AppState,
    domain::{FollowState, LocalActor, Post, PostState, ProfileField},
    federation::{
        activities::create,
        objects::{local_actor::local_actor_to_document, post::post_to_object},
        protocol::{
            collection::{OrderedCollection, OrderedCollectionPage},
            context,
        },
        urls,
    },
};

/// Items per collection page.
pub(super) const PAGE_SIZE: i64 = 40;

#[derive(Template)]
#[template(path = "actor.html")]
struct ActorPage<'a> {
    id: &'a str,
    /// The actor URL, with `?page=N` after the first page.
    canonical: String,
    name: &'a str,
    handle: String,
    /// Where the account moved, if it has.
    moved_to: Option<&'a str>,
    summary_html: &'a str,
    icon: Option<&'a str>,
    image: Option<&'a str>,
    fields: &'a [ProfileField],
    followers: i64,
    /// The account's allies page, if it shows one.
    allies: Option<String>,
    atom: String,
    rss: String,
    /// A pair of feeds per language the account's posts can be read in, when there are
    /// several.
    language_feeds: Vec<LanguageFeeds>,
    page: i64,
    pinned: Vec<PostItem>,
    posts: Vec<PostItem>,
    pager: Pager,
}

/// The feeds of the account's posts in one language.
struct LanguageFeeds {
    lang: String,
    name: String,
    atom: String,
    rss: String,
}

/// The account `username`, or 404.
pub(super) async fn find_actor(data: &AppState, username: &str) -> Result<LocalActor, WebError> {
    data.store
        .actor_by_username(username)
        .await?
        .ok_or(WebError::NotFound)
}

pub async fn actor(
    Path(username): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let actor = find_actor(&data, &username).await?;
    match negotiate(&headers) {
        Representation::ActivityJson => Ok((
            [VARY_ACCEPT],
            [last_modified(actor.updated_at)],
            FederationJson(local_actor_to_document(&actor, &data.config.base_url)),
        )
            .into_response()),
        Representation::Html => {
            // No Last-Modified: the follower count on the page changes at no recorded time.
            let page = actor_page(&data, &actor, query.number()).await?;
            Ok(([VARY_ACCEPT], Html(page)).into_response())
        }
    }
}

/// The profile and one page of the account's published posts, newest first, with the pinned
/// ones above the first page.
async fn actor_page(data: &AppState, actor: &LocalActor, page: i64) -> Result<String, WebError> {
    let base = &data.config.base_url;
    let username = actor.username.as_str();
    let store = &data.store;
    let followers = store
        .count_followers(actor.id, FollowState::Accepted)
        .await?;
    let total = store.count_posts(actor.id, PostState::Published).await?;
    let offset = (page - 1) * view::PAGE_SIZE;
    let mut posts = store
        .posts_of_actor(actor.id, PostState::Published, view::PAGE_SIZE, offset)
        .await?;
    let has_next = offset + i64::try_from(posts.len()).unwrap_or(0) < total;
    let pinned = if page == 1 {
        store.pinned_posts(actor.id).await?
    } else {
        Vec::new()
    };
    // A pinned post is shown once, above the list.
    posts.retain(|p| !pinned.iter().any(|q| q.id == p.id));
    let id = urls::actor(base, username);
    let items = |posts: &[Post]| -> Vec<PostItem> {
        posts
            .iter()
            .map(|p| PostItem::new(p, actor, base))
            .collect()
    };
    let page = ActorPage {
        id: id.as_str(),
        canonical: view::page_url(&id, page).into(),
        name: &actor.name,
        handle: format!("{}@{}", actor.username, data.config.host()),
        moved_to: actor.moved_to.as_ref().map(Url::as_str),
        summary_html: &actor.summary_html,
        icon: actor.icon_url.as_ref().map(Url::as_str),
        image: actor.image_url.as_ref().map(Url::as_str),
        fields: &actor.fields,
        followers,
        allies: store
            .allies_page_shown(actor.id)
            .await?
            .then(|| urls::allies(base, username).into()),
        atom: urls::atom_feed(base, username).into(),
        rss: urls::rss_feed(base, username).into(),
        language_feeds: language_feeds(data, actor).await?,
        page,
        pinned: items(&pinned),
        posts: items(&posts),
        pager: Pager::new(&id, page, has_next),
    };
    Ok(page.render()?)
}

/// Each language the account's published posts can be read in, if there is more than one.
async fn language_feeds(
    data: &AppState,
    actor: &LocalActor,
) -> Result<Vec<LanguageFeeds>, WebError> {
    let languages = data.store.languages_of_actor(actor.id).await?;
    if languages.len() < 2 {
        return Ok(Vec::new());
    }
    let (base, username) = (&data.config.base_url, actor.username.as_str());
    Ok(languages
        .iter()
        .map(|language| LanguageFeeds {
            lang: language.to_string(),
            name: super::translations::native_name(language),
            atom: urls::atom_feed_in(base, username, language.as_str()).into(),
            rss: urls::rss_feed_in(base, username, language.as_str()).into(),
        })
        .collect())
}

/// `/@isg`, the address people type, leads to the actor's one URL.
pub async fn at_username(
    Path(username): Path<String>,
    data: Data<AppState>,
) -> Result<Redirect, WebError> {
    let actor = find_actor(&data, &username).await?;
    Ok(Redirect::permanent(
        urls::actor(&data.config.base_url, actor.username.as_str()).as_str(),
    ))
}

pub async fn instance_actor(data: Data<AppState>) -> Response {
    (
        [VARY_ACCEPT],
        FederationJson(data.instance_actor.to_document()),
    )
        .into_response()
}

pub async fn followers(
    Path(username): Path<String>,
    Query(query): Query<PageQuery>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let actor = find_actor(&data, &username).await?;
    let collection = urls::followers(&data.config.base_url, actor.username.as_str());
    let total = data
        .store
        .count_followers(actor.id, FollowState::Accepted)
        .await?;
    let items = match query.page {
        None => None,
        Some(page) => {
            let followers = data
                .store
                .followers(actor.id, FollowState::Accepted, PAGE_SIZE, offset(page))
                .await?;
            Some(
                followers
                    .into_iter()
                    .map(|f| Value::String(f.remote.ap_id.into()))
                    .collect(),
            )
        }
    };
    Ok(collection_response(
        collection,
        total,
        query.page,
        items,
        context::activity(),
    ))
}

pub async fn following(
    Path(username): Path<String>,
    Query(query): Query<PageQuery>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let actor = find_actor(&data, &username).await?;
    let collection = urls::following(&data.config.base_url, actor.username.as_str());
    let total = data.store.count_following(actor.id).await?;
    let items = match query.page {
        None => None,
        Some(page) => {
            let ids = data
                .store
                .following(actor.id, PAGE_SIZE, offset(page))
                .await?;
            Some(ids.into_iter().map(|id| Value::String(id.into())).collect())
        }
    };
    Ok(collection_response(
        collection,
        total,
        query.page,
        items,
        context::activity(),
    ))
}

/// The outbox lists the account's public activities; it is empty until something is published.
pub async fn outbox(
    Path(username): Path<String>,
    Query(query): Query<PageQuery>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let actor = find_actor(&data, &username).await?;
    let base = &data.config.base_url;
    let collection = urls::outbox(base, actor.username.as_str());
    let total = data
        .store
        .count_posts(actor.id, PostState::Published)
        .await?;
    let items = match query.page {
        None => None,
        Some(page) => {
            let posts = data
                .store
                .posts_of_actor(actor.id, PostState::Published, PAGE_SIZE, offset(page))
                .await?;
            Some(
                posts
                    .iter()
                    .map(|post| embedded(&create::create_post(post, &actor, base)))
                    .collect(),
            )
        }
    };
    Ok(collection_response(
        collection,
        total,
        query.page,
        items,
        context::post(),
    ))
}

/// Pinned posts, listed inline (not paged) as Mastodon expects.
pub async fn featured(
    Path(username): Path<String>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let actor = find_actor(&data, &username).await?;
    let base = &data.config.base_url;
    let pinned = data.store.pinned_posts(actor.id).await?;
    let items: Vec<Value> = pinned
        .iter()
        .map(|post| embedded(&post_to_object(post, &actor, base, false)))
        .collect();
    let collection = OrderedCollection {
        context: context::post(),
        id: urls::featured(base, actor.username.as_str()),
        kind: "OrderedCollection",
        total_items: i64::try_from(items.len()).unwrap_or(i64::MAX),
        first: None,
        last: None,
        ordered_items: Some(items),
    };
    Ok(([VARY_ACCEPT], FederationJson(collection)).into_response())
}

/// An activity or object inside a collection: the collection's `@context` covers it.
fn embedded<T: serde::Serialize>(item: &T) -> Value {
    let mut value = serde_json::to_value(item).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.remove("@context");
    }
    value
}

pub(super) fn offset(page: i64) -> i64 {
    (page.max(1) - 1) * PAGE_SIZE
}

/// The collection itself (pointing at its first page), or one page of it.
/// `context` must declare the terms of the items (posts need more than plain ActivityStreams).
pub(super) fn collection_response(
    collection: Url,
    total: i64,
    page: Option<i64>,
    items: Option<Vec<Value>>,
    context: Value,
) -> Response {
    match (page, items) {
        (Some(page), Some(items)) => {
            let page = page.max(1);
            let has_next = offset(page) + i64::try_from(items.len()).unwrap_or(0) < total;
            let body = OrderedCollectionPage {
                context,
                id: urls::page(&collection, page),
                kind: "OrderedCollectionPage",
                total_items: total,
                next: has_next.then(|| urls::page(&collection, page + 1)),
                prev: (page > 1).then(|| urls::page(&collection, page - 1)),
                part_of: collection,
                ordered_items: items,
            };
            ([VARY_ACCEPT], FederationJson(body)).into_response()
        }
        _ => {
            let body = OrderedCollection {
                context: context::activity(),
                first: Some(urls::page(&collection, 1)),
                id: collection,
                kind: "OrderedCollection",
                total_items: total,
                last: None,
                ordered_items: None,
            };
            ([VARY_ACCEPT], FederationJson(body)).into_response()
        }
    }
}
