//! Posts: `/users/{username}/posts/{id}` (an HTML page or the ActivityStreams object, by
//! `Accept`; 410 Gone with a Tombstone once retracted), the activities that carried them,
//! which each have a URL of their own so other servers can dereference their ids, and their
//! `likes`, `shares` and `replies` collections.

use activitypub_federation::{FEDERATION_CONTENT_TYPE, axum::json::FederationJson, config::Data};
use askama::Template;
use axum::{
    extract::{Path, Query},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use url::Url;

use super::{
    actors::{PAGE_SIZE, collection_response, find_actor, offset},
    conditional::last_modified,
    error::{WebError, problem},
    negotiate::{Representation, VARY_ACCEPT, negotiate},
    translations::{self, Alternate},
    view::{PageQuery, Stamp, headline, published},
};
use crate::{
    app::AppState,
    domain::{Language, LocalActor, Post, PostKind, PostState, render},
    federation::{
        objects::post::{Interactions, post_document, post_to_tombstone},
        protocol::context,
        urls,
    },
    store::interactions::{Counts, InteractionKind, Reply},
};

/// An image as the page shows it.
struct Image {
    url: String,
    alt: String,
    width: u32,
    height: u32,
}

struct TagLink {
    name: String,
    url: String,
}

#[derive(Template)]
#[template(path = "post.html")]
struct PostPage<'a> {
    lang: &'a str,
    /// The post's id, where its ActivityStreams document is.
    url: String,
    /// This page: the post's id, or its page in one of its other languages.
    canonical: String,
    /// Every language version of the post, for `hreflang` links and the language switcher;
    /// empty when it has only one.
    alternates: Vec<Alternate>,
    title: String,
    /// Untitled news gets its headline as a heading only screen readers announce.
    titled: bool,
    kind: &'static str,
    summary: Option<&'a str>,
    description: &'a str,
    body_html: &'a str,
    published: Stamp,
    corrected: Option<Stamp>,
    author_name: &'a str,
    author_url: String,
    author_handle: String,
    site_name: String,
    images: Vec<Image>,
    tags: Vec<TagLink>,
    counts: Counts,
    /// Approved replies only: a held reply is shown to editors, never here.
    replies: Vec<ReplyItem>,
    /// A joint statement's signatories, the publisher first; empty for other posts.
    signatories: Vec<super::signatories::Signatory>,
}

/// An approved reply as the post's page shows it.
struct ReplyItem {
    author_name: String,
    author_handle: String,
    author_url: String,
    /// Sanitized when it was received.
    content_html: String,
    received: Stamp,
    url: Option<String>,
}

impl From<&Reply> for ReplyItem {
    fn from(reply: &Reply) -> Self {
        Self {
            author_name: reply
                .author_name
                .clone()
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| reply.author_username.clone()),
            author_handle: format!("@{}@{}", reply.author_username, reply.author_host),
            author_url: reply.author_link().to_owned(),
            content_html: reply.content.clone().unwrap_or_default(),
            received: Stamp::new(reply.received_at()),
            url: reply.link().map(str::to_owned),
        }
    }
}

#[derive(Template)]
#[template(path = "retracted.html")]
struct RetractedPage<'a> {
    kind: &'static str,
    deleted: Stamp,
    author_name: &'a str,
    author_url: String,
}

/// The post `id` of the account `username`, as the public may see it: published or retracted.
/// Unpublished posts (drafts, in review, scheduled), other accounts' posts and ids that are
/// not numbers are all "not found".
pub(super) async fn load(
    data: &AppState,
    username: &str,
    id: &str,
) -> Result<(LocalActor, Post), WebError> {
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    let actor = find_actor(data, username).await?;
    let post = data
        .store
        .post_by_id(id)
        .await?
        .filter(|p| p.actor_id == actor.id && !p.state.is_unpublished())
        .ok_or(WebError::NotFound)?;
    Ok((actor, post))
}

pub async fn post(
    Path((username, id)): Path<(String, String)>,
    headers: HeaderMap,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let (actor, post) = load(&data, &username, &id).await?;
    let base = &data.config.base_url;
    let representation = negotiate(&headers);
    if post.state == PostState::Deleted {
        let deleted = post.deleted_at.unwrap_or(post.updated_at);
        let modified = last_modified(deleted);
        return Ok(match representation {
            Representation::ActivityJson => (
                StatusCode::GONE,
                [VARY_ACCEPT],
                [modified],
                FederationJson(post_to_tombstone(&post, &actor, base, true)),
            )
                .into_response(),
            Representation::Html => {
                let page = RetractedPage {
                    kind: noun(post.kind),
                    deleted: Stamp::new(deleted),
                    author_name: &actor.name,
                    author_url: urls::actor(base, actor.username.as_str()).into(),
                };
                (
                    StatusCode::GONE,
                    [VARY_ACCEPT],
                    [modified],
                    Html(page.render()?),
                )
                    .into_response()
            }
        });
    }
    let modified = last_modified(modified_at(&data, &actor, &post).await?);
    let counts = data.store.interaction_counts(post.id).await?;
    Ok(match representation {
        Representation::ActivityJson => {
            let first_replies = data
                .store
                .interaction_page(post.id, InteractionKind::Reply, PAGE_SIZE, 0)
                .await?;
            let interactions = Interactions {
                likes: counts.likes,
                shares: counts.announces,
                replies: counts.replies,
                more_replies: counts.replies > PAGE_SIZE,
                first_replies: first_replies
                    .iter()
                    .filter_map(|id| Url::parse(id).ok())
                    .collect(),
            };
            (
                [VARY_ACCEPT],
                [modified],
                FederationJson(post_document(&post, &actor, base, &interactions)),
            )
                .into_response()
        }
        Representation::Html => {
            let html = html_page(&data, &actor, &post, &post.language, counts).await?;
            ([VARY_ACCEPT], [modified], Html(html)).into_response()
        }
    })
}

/// When the post last changed as its page and document show it: both show its likes, boosts
/// and replies.
pub(super) async fn modified_at(
    data: &AppState,
    actor: &LocalActor,
    post: &Post,
) -> Result<DateTime<Utc>, WebError> {
    let mut modified = post.last_modified().max(actor.updated_at);
    if let Some(changed) = data.store.interactions_changed_at(post.id).await? {
        modified = modified.max(changed);
    }
    Ok(modified)
}

/// The post's page in `language` (its own or a translation's), with its approved replies.
pub(super) async fn html_page(
    data: &AppState,
    actor: &LocalActor,
    post: &Post,
    language: &Language,
    counts: Counts,
) -> Result<String, WebError> {
    let shown = post.in_language(language).ok_or(WebError::NotFound)?;
    let replies = data.store.approved_replies(post.id).await?;
    let base = &data.config.base_url;
    let mut page = post_page(data, actor, &shown);
    page.canonical = translations::page_url(base, actor, post, language).into();
    page.alternates = translations::alternates(base, actor, post, language);
    page.counts = counts;
    page.replies = replies.iter().map(ReplyItem::from).collect();
    Ok(page.render()?)
}

fn post_page<'a>(data: &AppState, actor: &'a LocalActor, post: &'a Post) -> PostPage<'a> {
    let base = &data.config.base_url;
    let host = data.config.host();
    let url: String = urls::post(base, actor.username.as_str(), post.id).into();
    PostPage {
        lang: post.language.as_str(),
        canonical: url.clone(),
        alternates: Vec::new(),
        url,
        title: headline(post),
        titled: post.title.is_some(),
        kind: match post.kind {
            PostKind::Statement => "Statement",
            PostKind::News => "News",
        },
        summary: post.summary.as_deref(),
        // Link previews want a description even for news, which has no summary on the wire.
        description: post.display_summary().unwrap_or(&post.excerpt),
        body_html: &post.body_html,
        published: Stamp::new(published(post)),
        corrected: post.edited_at.map(Stamp::new),
        author_name: &actor.name,
        author_url: urls::actor(base, actor.username.as_str()).into(),
        author_handle: format!("@{}@{host}", actor.username),
        site_name: host.clone(),
        images: post
            .media
            .iter()
            .map(|m| Image {
                url: urls::media(base, &m.file_name).into(),
                alt: m.alt.clone(),
                width: m.width,
                height: m.height,
            })
            .collect(),
        tags: post
            .tags
            .iter()
            .map(|t| TagLink {
                name: t.clone(),
                url: render::tag_url(base, t).into(),
            })
            .collect(),
        counts: Counts::default(),
        replies: Vec::new(),
        signatories: super::signatories::signatories(base, &host, actor, post),
    }
}

fn noun(kind: PostKind) -> &'static str {
    match kind {
        PostKind::Statement => "statement",
        PostKind::News => "news item",
    }
}

/// `/users/{username}/posts/{id}/likes`: the actors who liked the post, oldest first.
pub async fn likes(
    Path((username, id)): Path<(String, String)>,
    Query(query): Query<PageQuery>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    interactions(&data, &username, &id, query, InteractionKind::Like).await
}

/// `/users/{username}/posts/{id}/shares`: the actors who boosted the post, oldest first.
pub async fn shares(
    Path((username, id)): Path<(String, String)>,
    Query(query): Query<PageQuery>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    interactions(&data, &username, &id, query, InteractionKind::Announce).await
}

/// `/users/{username}/posts/{id}/replies`: the ids of the approved replies, oldest first.
pub async fn replies(
    Path((username, id)): Path<(String, String)>,
    Query(query): Query<PageQuery>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    interactions(&data, &username, &id, query, InteractionKind::Reply).await
}

/// One of a post's collections, or one page of it. Counts and items come from the same
/// queries as the post's document, so both always agree.
async fn interactions(
    data: &AppState,
    username: &str,
    id: &str,
    query: PageQuery,
    kind: InteractionKind,
) -> Result<Response, WebError> {
    let (actor, post) = load(data, username, id).await?;
    if post.state == PostState::Deleted {
        return Ok(problem(StatusCode::GONE, "This post was retracted."));
    }
    let (base, username) = (&data.config.base_url, actor.username.as_str());
    let counts = data.store.interaction_counts(post.id).await?;
    let (collection, total) = match kind {
        InteractionKind::Like => (urls::post_likes(base, username, post.id), counts.likes),
        InteractionKind::Announce => (urls::post_shares(base, username, post.id), counts.announces),
        InteractionKind::Reply => (urls::post_replies(base, username, post.id), counts.replies),
        InteractionKind::Mention => return Err(WebError::NotFound),
    };
    let items = match query.page {
        None => None,
        Some(page) => {
            let ids = data
                .store
                .interaction_page(post.id, kind, PAGE_SIZE, offset(page))
                .await?;
            Some(ids.into_iter().map(Value::String).collect())
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

/// `/users/{username}/posts/{id}/activity`: the `Create` that published the post.
pub async fn create_activity(
    Path((username, id)): Path<(String, String)>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let (actor, post) = load(&data, &username, &id).await?;
    let ap_id = urls::post_create(&data.config.base_url, actor.username.as_str(), post.id);
    stored_activity(&data, &post, &ap_id).await
}

/// `/users/{username}/posts/{id}/updates/{n}`: the `Update` that carried a correction.
pub async fn update_activity(
    Path((username, id, at)): Path<(String, String, String)>,
    data: Data<AppState>,
) -> Result<Response, WebError> {
    let at: i64 = at.parse().map_err(|_| WebError::NotFound)?;
    let (actor, post) = load(&data, &username, &id).await?;
    let ap_id = urls::post_update(&data.config.base_url, actor.username.as_str(), post.id, at);
    stored_activity(&data, &post, &ap_id).await
}

/// The activity exactly as it was sent. A retracted post's activities are gone with it: they
/// carry its full text.
async fn stored_activity(data: &AppState, post: &Post, ap_id: &Url) -> Result<Response, WebError> {
    if post.state == PostState::Deleted {
        return Ok(problem(StatusCode::GONE, "This post was retracted."));
    }
    let activity = data
        .store
        .outbox_activity_by_ap_id(ap_id.as_str())
        .await?
        .ok_or(WebError::NotFound)?;
    Ok((
        [(header::CONTENT_TYPE, FEDERATION_CONTENT_TYPE)],
        activity.body,
    )
        .into_response())
}
