//! `/users/{username}/allies`: the allied organizations an account follows (accepted) and
//! their recent public posts, twenty to a page, each linking to the original. Only for
//! accounts that chose to show it (the network page in the editor); 404 otherwise.
//!
//! The page is in the public cache like the other public pages. What it shows changes when a
//! follow is accepted or ended, when an ally's post is received, updated or deleted, and when
//! the setting changes; each of those bumps the site version in the store (see
//! `store::remote_posts` and `store::followers`), so cached copies are dropped.

use activitypub_federation::config::Data;
use askama::Template;
use axum::{
    extract::{Path, Query},
    response::Html,
};

use super::{
    actors::find_actor,
    error::WebError,
    view::{self, PageQuery, Pager, Stamp},
};
use crate::{app::AppState, federation::urls, store::remote_posts::AllyPost};

/// Allies listed at the top; an account following more shows the first ones.
const ALLIES_LISTED: i64 = 200;

struct Ally {
    name: String,
    handle: String,
    url: String,
}

struct AllyPostItem {
    author: String,
    author_url: String,
    title: Option<String>,
    /// Sanitized HTML, as stored when received.
    content: String,
    url: String,
    published: Stamp,
}

impl AllyPostItem {
    fn of(item: &AllyPost) -> Self {
        let author = &item.author;
        Self {
            author: author
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| author.handle().to_string()),
            author_url: author.url.as_ref().unwrap_or(&author.ap_id).to_string(),
            title: item.post.name.clone(),
            content: item.post.content.clone(),
            url: item
                .post
                .url
                .as_ref()
                .unwrap_or(&item.post.ap_id)
                .to_string(),
            published: Stamp::new(item.post.published_at),
        }
    }
}

#[derive(Template)]
#[template(path = "allies.html")]
struct AlliesPage {
    name: String,
    account_url: String,
    canonical: String,
    page: i64,
    allies: Vec<Ally>,
    posts: Vec<AllyPostItem>,
    pager: Pager,
}

pub async fn allies(
    Path(username): Path<String>,
    Query(query): Query<PageQuery>,
    data: Data<AppState>,
) -> Result<Html<String>, WebError> {
    let actor = find_actor(&data, &username).await?;
    let store = &data.store;
    if !store.allies_page_shown(actor.id).await? {
        return Err(WebError::NotFound);
    }
    let base = &data.config.base_url;
    let page = query.number();
    let mut posts = store
        .ally_posts(
            actor.id,
            true,
            view::PAGE_SIZE + 1,
            (page - 1) * view::PAGE_SIZE,
        )
        .await?;
    let page_size = usize::try_from(view::PAGE_SIZE).unwrap_or(usize::MAX);
    let has_next = posts.len() > page_size;
    posts.truncate(page_size);
    let allies = store
        .followed_accounts(actor.id, true, ALLIES_LISTED)
        .await?
        .into_iter()
        .map(|followed| {
            let remote = followed.remote;
            Ally {
                handle: remote.handle().to_string(),
                name: remote
                    .name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| remote.username.clone()),
                url: remote.url.as_ref().unwrap_or(&remote.ap_id).to_string(),
            }
        })
        .collect();
    let list = urls::allies(base, actor.username.as_str());
    let page = AlliesPage {
        name: actor.name.clone(),
        account_url: urls::actor(base, actor.username.as_str()).into(),
        canonical: view::page_url(&list, page).into(),
        page,
        allies,
        posts: posts.iter().map(AllyPostItem::of).collect(),
        pager: Pager::new(&list, page, has_next),
    };
    Ok(Html(page.render()?))
}
