//! Tag pages, `/tags/{tag}`: the published posts of every account here that carry a hashtag,
//! newest first, twenty to a page. Tags are matched without regard to case.

use std::collections::HashMap;

use activitypub_federation::config::Data;
use askama::Template;
use axum::{
    extract::{Path, Query},
    response::Html,
};

use super::{
    error::WebError,
    view::{self, PageQuery, Pager, PostItem},
};
use crate::{app::AppState, domain::render};

#[derive(Template)]
#[template(path = "tag.html")]
struct TagPage {
    tag: String,
    canonical: String,
    page: i64,
    posts: Vec<PostItem>,
    pager: Pager,
}

/// A hashtag as posts write it: letters, digits and `_` (see `domain::render`).
fn is_tag(tag: &str) -> bool {
    !tag.is_empty() && tag.chars().all(|c| c.is_alphanumeric() || c == '_')
}

pub async fn tag(
    Path(tag): Path<String>,
    Query(query): Query<PageQuery>,
    data: Data<AppState>,
) -> Result<Html<String>, WebError> {
    if !is_tag(&tag) {
        return Err(WebError::NotFound);
    }
    let tag = tag.to_lowercase();
    let base = &data.config.base_url;
    let page = query.number();
    // One more than a page, to know whether there is a next one.
    let mut posts = data
        .store
        .posts_with_tag(&tag, view::PAGE_SIZE + 1, (page - 1) * view::PAGE_SIZE)
        .await?;
    let page_size = usize::try_from(view::PAGE_SIZE).unwrap_or(usize::MAX);
    let has_next = posts.len() > page_size;
    posts.truncate(page_size);
    let authors: HashMap<i64, _> = data
        .store
        .list_actors()
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let items = posts
        .iter()
        .filter_map(|p| {
            let author = authors.get(&p.actor_id)?;
            Some(PostItem::with_author(p, author, base))
        })
        .collect();
    let list = render::tag_url(base, &tag);
    let page = TagPage {
        canonical: view::page_url(&list, page).into(),
        tag,
        page,
        posts: items,
        pager: Pager::new(&list, page, has_next),
    };
    Ok(Html(page.render()?))
}
