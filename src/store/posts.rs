//! Posts, their hashtags and images, and the site version that tells every process when
//! public pages change.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, FromRow};

use super::{Store, StoreError, StoreResult, Tx, now_millis};
use crate::domain::{Language, Media, Mention, Post, PostDraft, PostKind, PostState};

/// What rendering a draft produced, stored beside it.
#[derive(Debug, Clone)]
pub struct RenderedPost {
    pub body_html: String,
    pub excerpt: String,
    pub tags: Vec<String>,
    pub mentions: Vec<Mention>,
}

/// An image file already stored, to be attached to a post.
#[derive(Debug, Clone)]
pub struct NewMedia {
    pub file_name: String,
    pub media_type: String,
    pub width: u32,
    pub height: u32,
    pub size_bytes: u64,
    pub alt: String,
}

#[derive(FromRow)]
struct PostRow {
    id: i64,
    actor_id: i64,
    kind: String,
    state: String,
    title: Option<String>,
    summary: Option<String>,
    body_md: String,
    body_html: String,
    excerpt: String,
    language: String,
    tags_json: String,
    mentions_json: String,
    pinned_at: Option<i64>,
    scheduled_at: Option<i64>,
    author_id: Option<i64>,
    published_at: Option<i64>,
    edited_at: Option<i64>,
    deleted_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    original_url: Option<String>,
}

macro_rules! post_columns {
    () => {
        "id, actor_id, kind, state, title, summary, body_md, body_html, excerpt, language, \
         tags_json, mentions_json, pinned_at, scheduled_at, author_id, published_at, edited_at, \
         deleted_at, created_at, updated_at, original_url"
    };
}

#[derive(FromRow)]
struct MediaRow {
    id: i64,
    post_id: Option<i64>,
    file_name: String,
    media_type: String,
    width: i64,
    height: i64,
    size_bytes: i64,
    alt: String,
}

fn time(value: Option<i64>, id: i64) -> StoreResult<Option<DateTime<Utc>>> {
    value
        .map(|ms| {
            DateTime::from_timestamp_millis(ms)
                .ok_or_else(|| StoreError::Corrupt(format!("post {id}: time")))
        })
        .transpose()
}

impl PostRow {
    fn into_post(self, media: Vec<Media>) -> StoreResult<Post> {
        let id = self.id;
        let corrupt = |what: &str| StoreError::Corrupt(format!("post {id}: {what}"));
        Ok(Post {
            id,
            actor_id: self.actor_id,
            kind: PostKind::parse(&self.kind).ok_or_else(|| corrupt("kind"))?,
            state: PostState::parse(&self.state).ok_or_else(|| corrupt("state"))?,
            language: Language::parse(&self.language).map_err(|_| corrupt("language"))?,
            tags: serde_json::from_str(&self.tags_json).map_err(|_| corrupt("tags"))?,
            mentions: serde_json::from_str(&self.mentions_json).map_err(|_| corrupt("mentions"))?,
            media,
            pinned_at: time(self.pinned_at, id)?,
            scheduled_at: time(self.scheduled_at, id)?,
            author_id: self.author_id,
            published_at: time(self.published_at, id)?,
            edited_at: time(self.edited_at, id)?,
            deleted_at: time(self.deleted_at, id)?,
            created_at: time(Some(self.created_at), id)?.unwrap_or_default(),
            updated_at: time(Some(self.updated_at), id)?.unwrap_or_default(),
            original_url: self
                .original_url
                .map(|url| url::Url::parse(&url).map_err(|_| corrupt("original_url")))
                .transpose()?,
            // Filled in by `signatories::attach_cosigners`, for the whole list at once.
            cosigners: Vec::new(),
            title: self.title,
            summary: self.summary,
            body_md: self.body_md,
            body_html: self.body_html,
            excerpt: self.excerpt,
            translations: Vec::new(),
        })
    }
}

impl From<MediaRow> for Media {
    fn from(row: MediaRow) -> Self {
        Self {
            id: row.id,
            file_name: row.file_name,
            media_type: row.media_type,
            width: u32::try_from(row.width).unwrap_or(0),
            height: u32::try_from(row.height).unwrap_or(0),
            size_bytes: u64::try_from(row.size_bytes).unwrap_or(0),
            alt: row.alt,
        }
    }
}

pub(super) fn json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Newest published first, then by id so pages are stable.
const NEWEST: &str = "ORDER BY published_at DESC, id DESC";

/// Attaches the media (and co-signers) of each post, in one query each for the whole list.
async fn with_media(conn: &mut AnyConnection, rows: Vec<PostRow>) -> StoreResult<Vec<Post>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // One placeholder per post; the SQL text is built only from "$n" markers.
    let placeholders: Vec<String> = (1..=rows.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT id, post_id, file_name, media_type, width, height, size_bytes, alt FROM media \
         WHERE post_id IN ({}) ORDER BY post_id, position",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, MediaRow>(sqlx::AssertSqlSafe(sql));
    for row in &rows {
        query = query.bind(row.id);
    }
    let mut media: HashMap<i64, Vec<Media>> = HashMap::new();
    for row in query.fetch_all(&mut *conn).await? {
        if let Some(post_id) = row.post_id {
            media.entry(post_id).or_default().push(row.into());
        }
    }
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mut translations = super::translations::translations_of(&mut *conn, &ids).await?;
    let mut posts = rows
        .into_iter()
        .map(|row| {
            let attached = media.remove(&row.id).unwrap_or_default();
            let versions = translations.remove(&row.id).unwrap_or_default();
            row.into_post(attached).map(|post| Post {
                translations: versions,
                ..post
            })
        })
        .collect::<StoreResult<Vec<Post>>>()?;
    super::signatories::attach_cosigners(conn, &mut posts).await?;
    Ok(posts)
}

async fn post_by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Post>> {
    let row: Option<PostRow> = sqlx::query_as(concat!(
        "SELECT ",
        post_columns!(),
        " FROM posts WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(with_media(conn, row.into_iter().collect()).await?.pop())
}

impl Store {
    async fn with_media(&self, rows: Vec<PostRow>) -> StoreResult<Vec<Post>> {
        let mut conn = self.pool.acquire().await?;
        with_media(&mut conn, rows).await
    }

    pub async fn post_by_id(&self, id: i64) -> StoreResult<Option<Post>> {
        let mut conn = self.pool.acquire().await?;
        post_by_id(&mut conn, id).await
    }

    /// One page of an account's posts in a state, newest first.
    pub async fn posts_of_actor(
        &self,
        actor_id: i64,
        state: PostState,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Post>> {
        let sql = format!(
            "SELECT {} FROM posts WHERE actor_id = $1 AND state = $2 {NEWEST}, created_at DESC LIMIT $3 OFFSET $4",
            post_columns!()
        );
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(actor_id)
            .bind(state.as_str())
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        self.with_media(rows).await
    }

    /// An account's latest published posts that can be read in `language` (written in it or
    /// translated into it), newest first: the language's feeds.
    pub async fn posts_in_language(
        &self,
        actor_id: i64,
        language: &Language,
        limit: i64,
    ) -> StoreResult<Vec<Post>> {
        let sql = format!(
            "SELECT {} FROM posts WHERE actor_id = $1 AND state = 'published' AND (language = $2 \
             OR id IN (SELECT post_id FROM post_translations WHERE language = $2)) {NEWEST} LIMIT $3",
            post_columns!()
        );
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(actor_id)
            .bind(language.as_str().to_owned())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        self.with_media(rows).await
    }

    /// Every post of an account (or of all accounts), newest first, for the command line.
    pub async fn all_posts(&self, actor_id: Option<i64>) -> StoreResult<Vec<Post>> {
        let rows = match actor_id {
            Some(actor_id) => {
                sqlx::query_as(concat!(
                    "SELECT ",
                    post_columns!(),
                    " FROM posts WHERE actor_id = $1 ORDER BY id DESC"
                ))
                .bind(actor_id)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_as(concat!(
                    "SELECT ",
                    post_columns!(),
                    " FROM posts ORDER BY id DESC"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        self.with_media(rows).await
    }

    /// Up to `limit` posts of every account and in every state with ids above `after_id`,
    /// oldest first: pages for reading the whole table (the export) without holding it all.
    pub async fn posts_after(&self, after_id: i64, limit: i64) -> StoreResult<Vec<Post>> {
        let rows = sqlx::query_as(concat!(
            "SELECT ",
            post_columns!(),
            " FROM posts WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        self.with_media(rows).await
    }

    pub async fn count_posts(&self, actor_id: i64, state: PostState) -> StoreResult<i64> {
        let count =
            sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE actor_id = $1 AND state = $2")
                .bind(actor_id)
                .bind(state.as_str())
                .fetch_one(&self.pool)
                .await?;
        Ok(count)
    }

    /// Published posts on this instance, for NodeInfo.
    pub async fn count_published_posts(&self) -> StoreResult<i64> {
        let count = sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE state = 'published'")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    /// One page of the published posts carrying a hashtag (any case), newest first.
    pub async fn posts_with_tag(
        &self,
        tag: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Post>> {
        let sql = format!(
            "SELECT {} FROM posts WHERE state = 'published' AND id IN \
             (SELECT post_id FROM post_tags WHERE tag = $1) {NEWEST} LIMIT $2 OFFSET $3",
            post_columns!()
        );
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tag.to_lowercase())
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        self.with_media(rows).await
    }

    /// An account's pinned posts, most recently pinned first.
    pub async fn pinned_posts(&self, actor_id: i64) -> StoreResult<Vec<Post>> {
        let rows = sqlx::query_as(concat!(
            "SELECT ",
            post_columns!(),
            " FROM posts WHERE actor_id = $1 AND state = 'published' AND pinned_at IS NOT NULL \
             ORDER BY pinned_at DESC"
        ))
        .bind(actor_id)
        .fetch_all(&self.pool)
        .await?;
        self.with_media(rows).await
    }

    /// Scheduled posts whose time has come, oldest first.
    pub async fn due_scheduled_posts(&self, now: i64, limit: i64) -> StoreResult<Vec<Post>> {
        let rows = sqlx::query_as(concat!(
            "SELECT ",
            post_columns!(),
            " FROM posts WHERE state = 'scheduled' AND scheduled_at <= $1 ORDER BY scheduled_at LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        self.with_media(rows).await
    }

    /// A counter bumped by every change to public content.
    pub async fn site_version(&self) -> StoreResult<i64> {
        let version = sqlx::query_scalar("SELECT version FROM site_version WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(version)
    }
}

impl Tx {
    /// A post as this transaction sees it (including its own uncommitted changes).
    pub async fn post_by_id(&mut self, id: i64) -> StoreResult<Option<Post>> {
        post_by_id(&mut self.inner, id).await
    }

    /// Saves a new post (draft or published now) with its tags and images.
    pub async fn insert_post(
        &mut self,
        actor_id: i64,
        author_id: Option<i64>,
        draft: &PostDraft,
        rendered: &RenderedPost,
        state: PostState,
        media: &[NewMedia],
    ) -> StoreResult<i64> {
        let now = now_millis();
        let published_at = (state == PostState::Published).then_some(now);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO posts (actor_id, kind, state, title, summary, body_md, body_html, excerpt, \
             language, tags_json, mentions_json, published_at, created_at, updated_at, author_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14) RETURNING id",
        )
        .bind(actor_id)
        .bind(draft.kind.as_str())
        .bind(state.as_str())
        .bind(draft.title.clone())
        .bind(draft.summary.clone())
        .bind(draft.body_md.clone())
        .bind(rendered.body_html.clone())
        .bind(rendered.excerpt.clone())
        .bind(draft.language.as_str().to_owned())
        .bind(json(&rendered.tags)?)
        .bind(json(&rendered.mentions)?)
        .bind(published_at)
        .bind(now)
        .bind(author_id)
        .fetch_one(&mut *self.inner)
        .await?;
        self.replace_tags(id, &rendered.tags).await?;
        for (position, item) in media.iter().enumerate() {
            sqlx::query(
                "INSERT INTO media (post_id, file_name, media_type, width, height, size_bytes, alt, \
                 position, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(item.file_name.clone())
            .bind(item.media_type.clone())
            .bind(i64::from(item.width))
            .bind(i64::from(item.height))
            .bind(i64::try_from(item.size_bytes).unwrap_or(i64::MAX))
            .bind(item.alt.clone())
            .bind(i64::try_from(position).unwrap_or(0))
            .bind(now)
            .execute(&mut *self.inner)
            .await?;
        }
        self.bump_site_version().await?;
        Ok(id)
    }

    /// Replaces a post's text; a published post records the time of the correction.
    pub async fn update_post(
        &mut self,
        post: &Post,
        draft: &PostDraft,
        rendered: &RenderedPost,
    ) -> StoreResult<()> {
        let now = now_millis();
        let edited_at = (post.state == PostState::Published).then_some(now);
        sqlx::query(
            "UPDATE posts SET title = $1, summary = $2, body_md = $3, body_html = $4, excerpt = $5, \
             language = $6, tags_json = $7, mentions_json = $8, edited_at = COALESCE($9, edited_at), \
             updated_at = $10 WHERE id = $11",
        )
        .bind(draft.title.clone())
        .bind(draft.summary.clone())
        .bind(draft.body_md.clone())
        .bind(rendered.body_html.clone())
        .bind(rendered.excerpt.clone())
        .bind(draft.language.as_str().to_owned())
        .bind(json(&rendered.tags)?)
        .bind(json(&rendered.mentions)?)
        .bind(edited_at)
        .bind(now)
        .bind(post.id)
        .execute(&mut *self.inner)
        .await?;
        // The translations' hashtags stay: a post is found under every version's.
        let mut tags = rendered.tags.clone();
        tags.extend(
            post.translations
                .iter()
                .flat_map(|t| t.tags.iter().cloned()),
        );
        self.replace_tags(post.id, &tags).await?;
        self.bump_site_version().await
    }

    /// Moves an unpublished post between draft, review and scheduled (with its time).
    pub async fn set_unpublished_state(
        &mut self,
        post_id: i64,
        state: PostState,
        scheduled_at: Option<i64>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE posts SET state = $1, scheduled_at = $2, updated_at = $3 WHERE id = $4 \
             AND state IN ('draft', 'review', 'scheduled')",
        )
        .bind(state.as_str())
        .bind(scheduled_at)
        .bind(now_millis())
        .bind(post_id)
        .execute(&mut *self.inner)
        .await?;
        Ok(())
    }

    /// Publishes an unpublished post now.
    pub async fn publish_post(&mut self, post_id: i64) -> StoreResult<()> {
        let now = now_millis();
        sqlx::query("UPDATE posts SET state = 'published', published_at = $1, scheduled_at = NULL, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(post_id)
            .execute(&mut *self.inner)
            .await?;
        self.bump_site_version().await
    }

    /// Retracts a post: it stays as a tombstone so its URL can answer 410 Gone.
    pub async fn delete_post(&mut self, post_id: i64) -> StoreResult<()> {
        let now = now_millis();
        sqlx::query(
            "UPDATE posts SET state = 'deleted', deleted_at = $1, pinned_at = NULL, updated_at = $1 \
             WHERE id = $2",
        )
        .bind(now)
        .bind(post_id)
        .execute(&mut *self.inner)
        .await?;
        sqlx::query("DELETE FROM post_tags WHERE post_id = $1")
            .bind(post_id)
            .execute(&mut *self.inner)
            .await?;
        self.bump_site_version().await
    }

    pub async fn set_pinned(&mut self, post_id: i64, pinned: bool) -> StoreResult<()> {
        let now = now_millis();
        sqlx::query("UPDATE posts SET pinned_at = $1, updated_at = $2 WHERE id = $3")
            .bind(pinned.then_some(now))
            .bind(now)
            .bind(post_id)
            .execute(&mut *self.inner)
            .await?;
        self.bump_site_version().await
    }

    /// Sets the hashtags a post is listed under (its tag pages), in any case, each once.
    pub(super) async fn replace_tags(&mut self, post_id: i64, tags: &[String]) -> StoreResult<()> {
        sqlx::query("DELETE FROM post_tags WHERE post_id = $1")
            .bind(post_id)
            .execute(&mut *self.inner)
            .await?;
        let mut lower: Vec<String> = tags.iter().map(|t| t.to_lowercase()).collect();
        lower.sort();
        lower.dedup();
        for tag in lower {
            sqlx::query("INSERT INTO post_tags (post_id, tag) VALUES ($1, $2)")
                .bind(post_id)
                .bind(tag)
                .execute(&mut *self.inner)
                .await?;
        }
        Ok(())
    }

    /// Public content changed: every process drops its cached pages.
    pub async fn bump_site_version(&mut self) -> StoreResult<()> {
        sqlx::query("UPDATE site_version SET version = version + 1 WHERE id = 1")
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }
}
