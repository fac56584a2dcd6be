//! Actors and their collections: `/users/{username}` (HTML or ActivityStreams by `Accept`),
//! followers, following, outbox and featured, and the instance actor at `/actor`.

use activitypub_federation::{axum::json::FederationJson, config::Data};
use askama::Template;
use axum::{
    extract::{Path, Query},
    http::HeaderMap,
    response::{Html, IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{
    error::WebError,
    negotiate::{Representation, VARY_ACCEPT, negotiate},
};
use crate::{
    app::AppState,
    domain::{FollowState, LocalActor, ProfileField},
    federation::{
        objects::local_actor::local_actor_to_document,
        protocol::{
            collection::{OrderedCollection, OrderedCollectionPage},
            context,
        },
        urls,
    },
};

/// Items per collection page.
const PAGE_SIZE: i64 = 40;

#[derive(Template)]
#[template(path = "actor.html")]
struct ActorPage<'a> {
    id: &'a str,
    name: &'a str,
    handle: String,
    summary_html: &'a str,
    icon: Option<&'a str>,
    image: Option<&'a str>,
    fields: &'a [ProfileField],
    followers: i64,
}

async fn load(data: &Data<AppState>, username: &str) -> Result<LocalActor, WebError> {
    data.store
        .actor_by_username(username)
        .await?
        .ok_or(WebError::NotFound)
}

pub async fn actor(
    Path(username): Path<String>,
    headers: HeaderMap,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let actor = load(&data, &username).await?;
    let base = &data.config.base_url;
    match negotiate(&headers) {
        Representation::ActivityJson => Ok((
            [VARY_ACCEPT],
            FederationJson(local_actor_to_document(&actor, base)),
        )
            .into_response()),
        Representation::Html => {
            let followers = data
                .store
                .count_followers(actor.id, FollowState::Accepted)
                .await?;
            let id = urls::actor(base, actor.username.as_str());
            let page = ActorPage {
                id: id.as_str(),
                name: &actor.name,
                handle: format!("{}@{}", actor.username, data.config.host()),
                summary_html: &actor.summary_html,
                icon: actor.icon_url.as_ref().map(Url::as_str),
                image: actor.image_url.as_ref().map(Url::as_str),
                fields: &actor.fields,
                followers,
            };
            let html = page
                .render()
                .map_err(|e| WebError::Internal(e.to_string()))?;
            Ok(([VARY_ACCEPT], Html(html)).into_response())
        }
    }
}

/// `/@isg`, the address people type, leads to the actor's one URL.
pub async fn at_username(
    Path(username): Path<String>,
    data: Data<AppState>,
) -> Result<Redirect, WebError> {
    let actor = load(&data, &username).await?;
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

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

pub async fn followers(
    Path(username): Path<String>,
    Query(query): Query<PageQuery>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let actor = load(&data, &username).await?;
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
    Ok(collection_response(collection, total, query.page, items))
}

pub async fn following(
    Path(username): Path<String>,
    Query(query): Query<PageQuery>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let actor = load(&data, &username).await?;
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
    Ok(collection_response(collection, total, query.page, items))
}

/// The outbox lists the account's public activities; it is empty until something is published.
pub async fn outbox(
    Path(username): Path<String>,
    Query(query): Query<PageQuery>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let actor = load(&data, &username).await?;
    let collection = urls::outbox(&data.config.base_url, actor.username.as_str());
    let items = query.page.map(|_| Vec::new());
    Ok(collection_response(collection, 0, query.page, items))
}

/// Pinned posts, listed inline as Mastodon expects; empty until something is pinned.
pub async fn featured(
    Path(username): Path<String>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let actor = load(&data, &username).await?;
    let collection = OrderedCollection {
        context: context::activity(),
        id: urls::featured(&data.config.base_url, actor.username.as_str()),
        kind: "OrderedCollection",
        total_items: 0,
        first: None,
        last: None,
        ordered_items: Some(Vec::new()),
    };
    Ok(([VARY_ACCEPT], FederationJson(collection)).into_response())
}

fn offset(page: i64) -> i64 {
    (page.max(1) - 1) * PAGE_SIZE
}

/// The collection itself (pointing at its first page), or one page of it.
fn collection_response(
    collection: Url,
    total: i64,
    page: Option<i64>,
    items: Option<Vec<Value>>,
) -> Response {
    match (page, items) {
        (Some(page), Some(items)) => {
            let page = page.max(1);
            let has_next = offset(page) + i64::try_from(items.len()).unwrap_or(0) < total;
            let body = OrderedCollectionPage {
                context: context::activity(),
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
