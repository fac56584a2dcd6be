//! Posts: statements (ActivityPub `Article`) and news (`Note`), from draft to retraction.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use super::Language;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostKind {
    /// A formal statement with a title: published as an `Article`.
    Statement,
    /// A news item: published as a `Note` with its full text.
    News,
}

impl PostKind {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "statement" => Some(Self::Statement),
            "news" => Some(Self::News),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Statement => "statement",
            Self::News => "news",
        }
    }
}

impl fmt::Display for PostKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostState {
    Draft,
    /// Submitted by an author, waiting for an editor.
    Review,
    /// Approved, to be published by the worker at `scheduled_at`.
    Scheduled,
    Published,
    /// Retracted: the URL answers 410 Gone with a Tombstone.
    Deleted,
}

impl PostState {
    /// Not yet public: a draft, in review, or scheduled.
    pub fn is_unpublished(self) -> bool {
        matches!(self, Self::Draft | Self::Review | Self::Scheduled)
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "draft" => Some(Self::Draft),
            "review" => Some(Self::Review),
            "scheduled" => Some(Self::Scheduled),
            "published" => Some(Self::Published),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Review => "review",
            Self::Scheduled => "scheduled",
            Self::Published => "published",
            Self::Deleted => "deleted",
        }
    }
}

/// An account on another server named in a post, resolved when the post was saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    /// `@name@host` as written.
    pub name: String,
    /// The actor id.
    pub href: Url,
    /// Where the post is delivered so the mentioned account is notified.
    pub inbox: Url,
}

/// An image attached to a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub id: i64,
    /// The stored file's name under the media folder (content-addressed).
    pub file_name: String,
    pub media_type: String,
    pub width: u32,
    pub height: u32,
    pub size_bytes: u64,
    /// The alt text, required: it is how blind readers and text-only clients see the image.
    pub alt: String,
}

#[derive(Debug, Clone)]
pub struct Post {
    pub id: i64,
    pub actor_id: i64,
    pub kind: PostKind,
    pub state: PostState,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub body_md: String,
    pub body_html: String,
    /// Plain text from the start of the body, for previews where no summary was written.
    pub excerpt: String,
    pub language: Language,
    pub tags: Vec<String>,
    pub mentions: Vec<Mention>,
    pub media: Vec<Media>,
    pub pinned_at: Option<DateTime<Utc>>,
    /// When a scheduled post goes out.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The user who wrote it, if written in the editor or the API.
    pub author_id: Option<i64>,
    pub published_at: Option<DateTime<Utc>>,
    /// When the published post was last corrected; None if never.
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Where an imported post was first published (its ActivityStreams `url`); None for
    /// posts written here.
    pub original_url: Option<Url>,
    /// The accounts that co-sign it (a joint statement), in order; empty for most posts.
    pub cosigners: Vec<super::Cosigner>,
    /// Its other language versions, in the order they were added ([`super::translation`]).
    pub translations: Vec<super::Translation>,
}

impl Post {
    /// The summary a reader sees first: the written one, or the excerpt for statements.
    pub fn display_summary(&self) -> Option<&str> {
        match (&self.summary, self.kind) {
            (Some(summary), _) => Some(summary),
            (None, PostKind::Statement) => Some(&self.excerpt),
            (None, PostKind::News) => None,
        }
    }

    /// The last change a reader can see, for `Last-Modified` and feeds.
    pub fn last_modified(&self) -> DateTime<Utc> {
        self.deleted_at
            .or(self.edited_at)
            .or(self.published_at)
            .unwrap_or(self.updated_at)
    }
}

/// What an editor writes; checked by [`PostDraft::new`].
#[derive(Debug, Clone)]
pub struct PostDraft {
    pub kind: PostKind,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub body_md: String,
    pub language: Language,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidPost {
    #[error("a statement needs a title")]
    MissingTitle,
    #[error("the text is empty")]
    EmptyBody,
    #[error("the title is longer than {0} characters")]
    TitleTooLong(usize),
    #[error("the text is longer than {0} characters")]
    BodyTooLong(usize),
}

impl PostDraft {
    pub const MAX_TITLE: usize = 300;
    pub const MAX_BODY: usize = 100_000;

    pub fn new(
        kind: PostKind,
        title: Option<String>,
        summary: Option<String>,
        body_md: String,
        language: Language,
    ) -> Result<Self, InvalidPost> {
        let clean =
            |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let title = clean(title);
        let summary = clean(summary);
        if kind == PostKind::Statement && title.is_none() {
            return Err(InvalidPost::MissingTitle);
        }
        if body_md.trim().is_empty() {
            return Err(InvalidPost::EmptyBody);
        }
        if title
            .as_ref()
            .is_some_and(|t| t.chars().count() > Self::MAX_TITLE)
        {
            return Err(InvalidPost::TitleTooLong(Self::MAX_TITLE));
        }
        if body_md.chars().count() > Self::MAX_BODY {
            return Err(InvalidPost::BodyTooLong(Self::MAX_BODY));
        }
        Ok(Self {
            kind,
            title,
            summary,
            body_md,
            language,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en() -> Language {
        Language::parse("en").unwrap()
    }

    #[test]
    fn a_statement_needs_a_title_and_news_does_not() {
        let err = PostDraft::new(
            PostKind::Statement,
            Some("  ".into()),
            None,
            "Text".into(),
            en(),
        )
        .unwrap_err();
        assert_eq!(err, InvalidPost::MissingTitle);
        assert!(PostDraft::new(PostKind::News, None, None, "Text".into(), en()).is_ok());
    }

    #[test]
    fn an_empty_body_is_refused() {
        let err = PostDraft::new(PostKind::News, None, None, " \n".into(), en()).unwrap_err();
        assert_eq!(err, InvalidPost::EmptyBody);
    }
}
