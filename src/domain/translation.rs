//! One statement, many languages: the other language versions of a post. A post keeps its own
//! language (the primary one, which fediverse software shows first) and any number of
//! translations, each with its own title, summary and body, written and rendered like the
//! post's own text.

use chrono::{DateTime, Utc};

use super::{Language, Post, PostDraft, post::InvalidPost};

/// A language version of a post other than its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    pub language: Language,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub body_md: String,
    /// Rendered and sanitized exactly as the post's own body is.
    pub body_html: String,
    pub excerpt: String,
    /// The hashtags its text uses, without `#`, as written.
    pub tags: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidTranslation {
    /// The post is already written in that language: editing the post changes that version.
    #[error("the post itself is in {0}: edit the post to change that version")]
    PostLanguage(Language),
    #[error(transparent)]
    Text(#[from] InvalidPost),
}

/// Checks a translation of `post` as its own text would be checked: a statement's version
/// needs a title, and news may have one (it leads the text, as the post's own title does).
pub fn translation_draft(
    post: &Post,
    language: Language,
    title: Option<String>,
    summary: Option<String>,
    body_md: String,
) -> Result<PostDraft, InvalidTranslation> {
    if language == post.language {
        return Err(InvalidTranslation::PostLanguage(language));
    }
    Ok(PostDraft::new(
        post.kind, title, summary, body_md, language,
    )?)
}

impl Post {
    /// Every language the post is in, its own first.
    pub fn languages(&self) -> Vec<&Language> {
        std::iter::once(&self.language)
            .chain(self.translations.iter().map(|t| &t.language))
            .collect()
    }

    pub fn translation(&self, language: &Language) -> Option<&Translation> {
        self.translations.iter().find(|t| &t.language == language)
    }

    /// The hashtags of every version, the post's own first, each once (in any case): what the
    /// post is found under on tag pages and on other servers.
    pub fn all_tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = Vec::new();
        let versions = std::iter::once(&self.tags).chain(self.translations.iter().map(|t| &t.tags));
        for tag in versions.flatten() {
            if !tags.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
                tags.push(tag.clone());
            }
        }
        tags
    }

    /// The post as a reader of `language` sees it: its own text, or a translation's title,
    /// summary and body in place of its own. None if it has no version in that language.
    pub fn in_language(&self, language: &Language) -> Option<Post> {
        if language == &self.language {
            return Some(self.clone());
        }
        let translation = self.translation(language)?;
        Some(Post {
            title: translation.title.clone(),
            summary: translation.summary.clone(),
            body_md: translation.body_md.clone(),
            body_html: translation.body_html.clone(),
            excerpt: translation.excerpt.clone(),
            tags: translation.tags.clone(),
            language: translation.language.clone(),
            ..self.clone()
        })
    }
}
