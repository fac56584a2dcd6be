//! What the public pages show of posts: dates, headlines, list items and page links, shared by
//! the post page, the account page, tag pages and the feeds.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use url::Url;

use crate::{
    domain::{LocalActor, Post},
    federation::urls,
};

/// Posts per HTML page and per feed.
pub const PAGE_SIZE: i64 = 20;

/// The longest headline made from the start of an untitled news item.
const HEADLINE_CHARS: usize = 80;

/// `?page=N` of a paged list or collection.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    pub page: Option<i64>,
}

impl PageQuery {
    /// The page asked for, counting from 1.
    pub fn number(&self) -> i64 {
        self.page.unwrap_or(1).max(1)
    }
}

/// A time as people read it and as machines do (`<time datetime>`).
pub struct Stamp {
    pub iso: String,
    pub human: String,
}

impl Stamp {
    pub fn new(time: DateTime<Utc>) -> Self {
        Self {
            iso: time.to_rfc3339_opts(SecondsFormat::Secs, true),
            human: time.format("%-d %B %Y").to_string(),
        }
    }
}

/// What a post is called: its title, or for untitled news the start of its text.
pub fn headline(post: &Post) -> String {
    match &post.title {
        Some(title) => title.clone(),
        None => start_of(&post.excerpt, HEADLINE_CHARS),
    }
}

/// The first `max` characters of `text`, cut after a whole word where one ends late enough.
fn start_of(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let words = match cut.rfind(' ') {
        Some(end) if end > cut.len() / 2 => &cut[..end],
        _ => cut.as_str(),
    };
    format!("{}…", words.trim_end_matches([' ', ',', ';', ':']))
}

/// When the post was published (or created, for a post never published).
pub fn published(post: &Post) -> DateTime<Utc> {
    post.published_at.unwrap_or(post.created_at)
}

/// The account a listed post is by, where a list mixes accounts.
pub struct Author {
    pub name: String,
    pub url: String,
}

/// One post in a list.
pub struct PostItem {
    pub url: String,
    pub heading: String,
    /// The written summary, or the excerpt under a title; untitled news shows its start as
    /// the heading already.
    pub summary: Option<String>,
    pub published: Stamp,
    pub author: Option<Author>,
}

impl PostItem {
    pub fn new(post: &Post, actor: &LocalActor, base: &Url) -> Self {
        let summary = match (&post.title, &post.summary) {
            (_, Some(summary)) => Some(summary.clone()),
            (Some(_), None) => Some(post.excerpt.clone()),
            (None, None) => None,
        };
        Self {
            url: urls::post(base, actor.username.as_str(), post.id).into(),
            heading: headline(post),
            summary,
            published: Stamp::new(published(post)),
            author: None,
        }
    }

    /// The same, naming the account (for lists that mix accounts).
    pub fn with_author(post: &Post, actor: &LocalActor, base: &Url) -> Self {
        Self {
            author: Some(Author {
                name: actor.name.clone(),
                url: urls::actor(base, actor.username.as_str()).into(),
            }),
            ..Self::new(post, actor, base)
        }
    }
}

/// The URL of a page of a list: the list's plain URL for the first.
pub fn page_url(list: &Url, page: i64) -> Url {
    match page {
        ..=1 => list.clone(),
        _ => urls::page(list, page),
    }
}

/// Links to the neighbouring pages of a list.
pub struct Pager {
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub fn new(list: &Url, page: i64, has_next: bool) -> Self {
        Self {
            previous: (page > 1).then(|| page_url(list, page - 1).into()),
            next: has_next.then(|| page_url(list, page + 1).into()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.previous.is_none() && self.next.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_after_a_word() {
        assert_eq!(start_of("Short news.", 80), "Short news.");
        let text = "We stand together with the strikers, today and every day, until the end";
        assert_eq!(start_of(text, 40), "We stand together with the strikers…");
        assert_eq!(start_of("Supercalifragilistic", 6), "Superc…");
    }

    #[test]
    fn the_first_page_has_the_plain_url() {
        let list = Url::parse("https://isg.example/tags/strike").unwrap();
        let second = Pager::new(&list, 2, true);
        assert_eq!(
            second.previous.as_deref(),
            Some("https://isg.example/tags/strike")
        );
        assert_eq!(
            second.next.as_deref(),
            Some("https://isg.example/tags/strike?page=3")
        );
        assert!(Pager::new(&list, 1, false).is_empty());
    }
}
