//! The other language versions of posts (`post_translations`). They are read with their
//! posts ([`super::posts`] attaches them), written one language at a time, and each write
//! marks the post changed: a published post's `edited_at` moves (the `updated` of the Update
//! that carries the new version: Mastodon ignores an Update whose `updated` did not move) and
//! the site version is bumped so every process drops its cached pages and feeds.

use std::collections::HashMap;

use sqlx::{AnyConnection, FromRow};

use super::{
    Store, StoreError, StoreResult, Tx, now_millis,
    posts::{RenderedPost, json},
};
use crate::domain::{Language, Post, PostDraft, Translation};

#[derive(FromRow)]
struct TranslationRow {
    post_id: i64,
    language: String,
    title: Option<String>,
    summary: Option<String>,
    body_md: String,
    body_html: String,
    excerpt: String,
    tags_json: String,
    updated_at: i64,
}

impl TranslationRow {
    fn into_translation(self) -> StoreResult<Translation> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("post {}: {what}", self.post_id));
        Ok(Translation {
            language: Language::parse(&self.language)
                .map_err(|_| corrupt("translation language"))?,
            tags: serde_json::from_str(&self.tags_json).map_err(|_| corrupt("translation tags"))?,
            updated_at: chrono::DateTime::from_timestamp_millis(self.updated_at)
                .ok_or_else(|| corrupt("translation time"))?,
            title: self.title,
            summary: self.summary,
            body_md: self.body_md,
            body_html: self.body_html,
            excerpt: self.excerpt,
        })
    }
}

/// The hashtags of the post's own text, of `others` of its translations and `added`: what
/// its tag pages list it under once a version is added, replaced or removed.
fn version_tags<'a>(
    post: &Post,
    others: impl Iterator<Item = &'a Translation>,
    added: &[String],
) -> Vec<String> {
    let mut tags = post.tags.clone();
    for translation in others {
        tags.extend(translation.tags.iter().cloned());
    }
    tags.extend(added.iter().cloned());
    tags
}

/// The translations of each of `post_ids`, in the order they were added, in one query.
pub(super) async fn translations_of(
    conn: &mut AnyConnection,
    post_ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<Translation>>> {
    let mut by_post: HashMap<i64, Vec<Translation>> = HashMap::new();
    if post_ids.is_empty() {
        return Ok(by_post);
    }
    // One placeholder per post; the SQL text is built only from "$n" markers.
    let placeholders: Vec<String> = (1..=post_ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT post_id, language, title, summary, body_md, body_html, excerpt, tags_json, updated_at \
         FROM post_translations WHERE post_id IN ({}) ORDER BY post_id, created_at, language",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, TranslationRow>(sqlx::AssertSqlSafe(sql));
    for id in post_ids {
        query = query.bind(*id);
    }
    for row in query.fetch_all(&mut *conn).await? {
        let post_id = row.post_id;
        by_post
            .entry(post_id)
            .or_default()
            .push(row.into_translation()?);
    }
    Ok(by_post)
}

impl Store {
    /// The languages an account's published posts can be read in (their own and their
    /// translations'), most used first: the account page links a feed for each.
    pub async fn languages_of_actor(&self, actor_id: i64) -> StoreResult<Vec<Language>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT language, COUNT(*) AS uses FROM ( \
               SELECT language FROM posts WHERE actor_id = $1 AND state = 'published' \
               UNION ALL \
               SELECT t.language FROM post_translations t JOIN posts p ON p.id = t.post_id \
               WHERE p.actor_id = $1 AND p.state = 'published' \
             ) AS versions GROUP BY language ORDER BY uses DESC, language",
        )
        .bind(actor_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(language, _)| Language::parse(&language).ok())
            .collect())
    }
}

impl Tx {
    /// Adds the version of `post` in `draft.language`, or replaces the one there is.
    pub async fn put_translation(
        &mut self,
        post: &Post,
        draft: &PostDraft,
        rendered: &RenderedPost,
    ) -> StoreResult<()> {
        let now = now_millis();
        sqlx::query(
            "INSERT INTO post_translations (post_id, language, title, summary, body_md, body_html, \
             excerpt, tags_json, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
             ON CONFLICT (post_id, language) DO UPDATE SET title = excluded.title, \
             summary = excluded.summary, body_md = excluded.body_md, \
             body_html = excluded.body_html, excerpt = excluded.excerpt, \
             tags_json = excluded.tags_json, updated_at = excluded.updated_at",
        )
        .bind(post.id)
        .bind(draft.language.as_str().to_owned())
        .bind(draft.title.clone())
        .bind(draft.summary.clone())
        .bind(draft.body_md.clone())
        .bind(rendered.body_html.clone())
        .bind(rendered.excerpt.clone())
        .bind(json(&rendered.tags)?)
        .bind(now)
        .execute(&mut *self.inner)
        .await?;
        let others = post
            .translations
            .iter()
            .filter(|t| t.language != draft.language);
        let tags = version_tags(post, others, &rendered.tags);
        self.replace_tags(post.id, &tags).await?;
        self.mark_changed(post.id, now).await
    }

    /// Removes the version of `post` in `language`; false if it had none.
    pub async fn delete_translation(
        &mut self,
        post: &Post,
        language: &Language,
    ) -> StoreResult<bool> {
        let removed =
            sqlx::query("DELETE FROM post_translations WHERE post_id = $1 AND language = $2")
                .bind(post.id)
                .bind(language.as_str().to_owned())
                .execute(&mut *self.inner)
                .await?
                .rows_affected();
        if removed > 0 {
            let others = post.translations.iter().filter(|t| &t.language != language);
            self.replace_tags(post.id, &version_tags(post, others, &[]))
                .await?;
            self.mark_changed(post.id, now_millis()).await?;
        }
        Ok(removed > 0)
    }

    /// A published post was corrected at `now`; an unpublished one only changed.
    async fn mark_changed(&mut self, post_id: i64, now: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE posts SET edited_at = CASE WHEN state = 'published' THEN $1 ELSE edited_at END, \
             updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(post_id)
        .execute(&mut *self.inner)
        .await?;
        self.bump_site_version().await
    }
}
