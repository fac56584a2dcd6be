//! Importing posts from elsewhere: RSS 2.0 and Atom feeds ([`feed`]) and WordPress exports
//! ([`wordpress`]) become published posts of an account, dated as the originals and pointing
//! to them (`url`), their HTML sanitized ([`content`]).
//!
//! Each item is saved with a key (its GUID, Atom id or WordPress guid) in `imported_items`, in
//! the transaction that saves its post, so importing the same source again adds nothing. An
//! imported post is sent to followers (`Create`, queued in that transaction as
//! [`publish`] does) only when asked ([`Announce`]); otherwise it just appears on the site, in
//! the feeds and in the outbox. [`bridge`] polls a feed and imports what is new.

pub mod bridge;
pub mod content;
pub mod feed;
pub mod fetch;
pub mod wordpress;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use url::Url;

use crate::{
    domain::{Language, LocalActor, Post, PostDraft, PostKind, PostState, render},
    federation::publish::{self, EXCERPT_CHARS},
    store::{Store, StoreError, posts::RenderedPost},
};

/// One entry of a feed or export, as read; nothing checked or cleaned yet.
#[derive(Debug, Clone)]
pub struct Item {
    /// What identifies the item across runs: its GUID or id (scoped to its site when it is not
    /// an address), else its link, else a hash of its text.
    pub key: String,
    pub title: Option<String>,
    pub published: Option<DateTime<Utc>>,
    /// The item's HTML, as in the source.
    pub html: String,
    /// A separate summary (RSS description beside `content:encoded`, Atom summary, WordPress
    /// excerpt), as HTML.
    pub summary: Option<String>,
    /// Where the original is published.
    pub link: Option<Url>,
    /// Categories and tags; the simple ones become hashtags.
    pub categories: Vec<String>,
    /// Why the item is not imported: it is not a public post (a WordPress draft or page).
    pub excluded: Option<String>,
}

/// A feed or export, read.
#[derive(Debug, Clone)]
pub struct Source {
    pub items: Vec<Item>,
    /// The language the source declares, if any.
    pub language: Option<Language>,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("{0}")]
    Format(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Fetch(#[from] fetch::FetchError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which newly imported posts are sent to followers as new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announce {
    /// None: they only appear on the site, in the feeds and in the outbox.
    Nothing,
    /// All of them (`--announce`).
    All,
    /// Those dated at or after this moment, and undated ones (the bridge, once it has imported
    /// from a feed: older items appearing later are history, not news).
    Since(DateTime<Utc>),
}

impl Announce {
    fn covers(self, published: Option<DateTime<Utc>>) -> bool {
        match self {
            Self::Nothing => false,
            Self::All => true,
            Self::Since(mark) => published.is_none_or(|date| date >= mark),
        }
    }
}

/// What became of one item.
#[derive(Debug, Clone)]
pub enum Outcome {
    Imported {
        post: Box<Post>,
        announced: bool,
    },
    /// The account already has an item with this key.
    AlreadyImported,
    /// Not a public post (the reason, e.g. `draft` or `page`).
    NotPublic(String),
    /// Cannot become a post (e.g. no text at all, or too long).
    Invalid(String),
}

/// Reported after each item, for progress bars and logs.
#[derive(Debug)]
pub struct Step<'a> {
    /// 1-based.
    pub number: usize,
    pub total: usize,
    pub item: &'a Item,
    pub outcome: &'a Outcome,
}

impl Step<'_> {
    /// The item's title, or its key when it has none.
    pub fn label(&self) -> &str {
        self.item
            .title
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(&self.item.key)
    }
}

/// Counts of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub imported: usize,
    /// Of the imported, how many were queued for followers.
    pub announced: usize,
    pub already_imported: usize,
    /// By reason (`draft`, `page`, …).
    pub not_public: BTreeMap<String, usize>,
    pub invalid: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "imported {}", self.imported)?;
        if self.announced > 0 {
            write!(f, " ({} sent to followers)", self.announced)?;
        }
        write!(
            f,
            ", skipped {} already imported, skipped {} not public",
            self.already_imported,
            self.not_public.values().sum::<usize>()
        )?;
        if !self.not_public.is_empty() {
            let reasons: Vec<String> = self
                .not_public
                .iter()
                .map(|(reason, n)| format!("{n} {reason}"))
                .collect();
            write!(f, " ({})", reasons.join(", "))?;
        }
        if self.invalid > 0 {
            write!(f, ", {} unusable", self.invalid)?;
        }
        Ok(())
    }
}

/// Imports a source's items into an account, oldest first, skipping those it already has.
/// `origin` names the source (a feed URL or a file) for the bridge's "newest imported" mark.
#[allow(clippy::too_many_arguments)] // each is a distinct input of the use case
pub async fn import(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    origin: &str,
    source: &Source,
    language: Option<&Language>,
    announce: Announce,
    mut progress: impl FnMut(Step<'_>),
) -> Result<Summary, ImportError> {
    let fallback = Language::parse("en").map_err(|e| ParseError::Format(e.to_string()))?;
    let language = language.or(source.language.as_ref()).unwrap_or(&fallback);
    let mut items: Vec<&Item> = source.items.iter().collect();
    // Oldest first, so posts are numbered in the order they were written; undated last.
    items.sort_by_key(|item| (item.published.is_none(), item.published));
    let total = items.len();
    let mut summary = Summary::default();
    for (index, item) in items.into_iter().enumerate() {
        let outcome = import_item(store, base, actor, origin, item, language, announce).await?;
        match &outcome {
            Outcome::Imported { announced, .. } => {
                summary.imported += 1;
                summary.announced += usize::from(*announced);
            }
            Outcome::AlreadyImported => summary.already_imported += 1,
            Outcome::NotPublic(reason) => {
                *summary.not_public.entry(reason.clone()).or_default() += 1;
            }
            Outcome::Invalid(_) => summary.invalid += 1,
        }
        progress(Step {
            number: index + 1,
            total,
            item,
            outcome: &outcome,
        });
    }
    Ok(summary)
}

async fn import_item(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    origin: &str,
    item: &Item,
    language: &Language,
    announce: Announce,
) -> Result<Outcome, ImportError> {
    if let Some(reason) = &item.excluded {
        return Ok(Outcome::NotPublic(reason.clone()));
    }
    if store.is_imported(actor.id, &item.key).await? {
        return Ok(Outcome::AlreadyImported);
    }
    let (draft, rendered) = match to_post(item, language, base) {
        Ok(post) => post,
        Err(reason) => return Ok(Outcome::Invalid(reason)),
    };
    let published = item.published.unwrap_or_else(Utc::now);
    let mut tx = store.begin().await?;
    let id = tx
        .insert_post(actor.id, None, &draft, &rendered, PostState::Published, &[])
        .await?;
    tx.set_post_origin(id, published, item.link.as_ref())
        .await?;
    if !tx.record_import(actor.id, &item.key, origin, id).await? {
        // Imported meanwhile by another run; dropping the transaction undoes the post.
        return Ok(Outcome::AlreadyImported);
    }
    let post = tx.post_by_id(id).await?.ok_or(StoreError::NotFound)?;
    let announced = announce.covers(item.published);
    if announced {
        publish::queue_create(&mut tx, store, base, actor, &post).await?;
    }
    tx.commit().await?;
    Ok(Outcome::Imported {
        post: Box::new(post),
        announced,
    })
}

/// An item as a post: a statement (`Article`) when it has a title, news (`Note`) otherwise.
/// The body keeps the sanitized HTML (Markdown allows HTML, so a later correction renders it
/// again the same way), followed by the item's simple categories as hashtags.
fn to_post(
    item: &Item,
    language: &Language,
    base: &Url,
) -> Result<(PostDraft, RenderedPost), String> {
    let title = item
        .title
        .as_deref()
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty())
        .map(|t| shorten(&t, PostDraft::MAX_TITLE));
    let mut html = content::clean(&item.html, item.link.as_ref());
    if content::text(&html).is_empty() {
        match &item.link {
            // A title-and-link item: the post links to the original.
            Some(link) if title.is_some() => {
                html = content::clean(&format!("<p><a href=\"{link}\">{link}</a></p>"), None);
            }
            _ => return Err("it has no text".into()),
        }
    }
    let summary = item
        .summary
        .as_deref()
        .map(|s| content::text(&content::clean(s, item.link.as_ref())))
        .filter(|s| !s.is_empty());
    let hashtags: Vec<String> = hashtags(&item.categories)
        .iter()
        .map(|t| format!("#{t}"))
        .collect();
    let tag_line = hashtags.join(" ");
    let tagged = render::render_post(&tag_line, base, &[]);
    let excerpt = render::html_excerpt(&html, EXCERPT_CHARS);
    let mut body_md = html.clone();
    let mut body_html = html;
    if !tag_line.is_empty() {
        body_md.push_str("\n\n");
        body_md.push_str(&tag_line);
        body_html.push_str(&tagged.html);
    }
    let kind = if title.is_some() {
        PostKind::Statement
    } else {
        PostKind::News
    };
    let draft = PostDraft::new(kind, title, summary, body_md, language.clone())
        .map_err(|e| e.to_string())?;
    Ok((
        draft,
        RenderedPost {
            body_html,
            excerpt,
            tags: tagged.tags,
            mentions: Vec::new(),
        },
    ))
}

/// Categories that can be hashtags: letters, digits and `_` once spaces are taken out
/// ("Climate Justice" → `ClimateJustice`), with a letter; WordPress's default
/// "Uncategorized" is left out. Each once, whatever its case.
fn hashtags(categories: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for category in categories {
        let tag: String = category.split_whitespace().collect();
        let simple = tag.chars().all(|c| c.is_alphanumeric() || c == '_')
            && tag.chars().any(char::is_alphabetic)
            && tag.chars().count() <= 60;
        if simple
            && !tag.eq_ignore_ascii_case("uncategorized")
            && !tags.iter().any(|t| t.to_lowercase() == tag.to_lowercase())
        {
            tags.push(tag);
        }
    }
    tags
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_categories_become_hashtags_once() {
        let categories = [
            "Climate Justice",
            "climatejustice",
            "Uncategorized",
            "Q&A",
            "2024",
            "Streik",
        ]
        .map(String::from);
        assert_eq!(hashtags(&categories), ["ClimateJustice", "Streik"]);
    }

    #[test]
    fn the_bridge_announces_items_from_its_mark_on() {
        let mark = DateTime::parse_from_rfc3339("2024-01-15T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let older = mark - chrono::Duration::days(1);
        let newer = mark + chrono::Duration::days(1);
        assert!(!Announce::Since(mark).covers(Some(older)));
        assert!(Announce::Since(mark).covers(Some(newer)));
        assert!(Announce::Since(mark).covers(None));
        assert!(!Announce::Nothing.covers(Some(newer)));
    }
}
