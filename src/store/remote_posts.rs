//! Posts received from the accounts ours follow.

use chrono::DateTime;
use sqlx::FromRow;
use url::Url;

use super::{
    Store, StoreError, StoreResult, Tx, flag, now_millis,
    remote_actors::{RemoteActorRow, remote_actor_columns},
};
use crate::domain::{RemoteActor, RemotePost};

/// A received post, as it will be stored (content already sanitized).
#[derive(Debug, Clone)]
pub struct NewRemotePost {
    pub ap_id: Url,
    pub remote_actor_id: i64,
    pub kind: String,
    pub name: Option<String>,
    pub summary: Option<String>,
    pub content: String,
    pub language: Option<String>,
    pub url: Option<Url>,
    pub in_reply_to: Option<Url>,
    pub published_at: i64,
    pub edited_at: Option<i64>,
}

#[derive(FromRow)]
struct RemotePostRow {
    id: i64,
    ap_id: String,
    remote_actor_id: i64,
    kind: String,
    name: Option<String>,
    summary: Option<String>,
    content: String,
    language: Option<String>,
    url: Option<String>,
    in_reply_to: Option<String>,
    published_at: i64,
    edited_at: Option<i64>,
}

impl TryFrom<RemotePostRow> for RemotePost {
    type Error = StoreError;

    fn try_from(row: RemotePostRow) -> StoreResult<Self> {
        let corrupt = || StoreError::Corrupt(format!("remote post {}", row.id));
        let optional = |value: &Option<String>| {
            value
                .as_deref()
                .map(Url::parse)
                .transpose()
                .map_err(|_| corrupt())
        };
        Ok(Self {
            id: row.id,
            ap_id: Url::parse(&row.ap_id).map_err(|_| corrupt())?,
            url: optional(&row.url)?,
            in_reply_to: optional(&row.in_reply_to)?,
            published_at: DateTime::from_timestamp_millis(row.published_at).ok_or_else(corrupt)?,
            edited_at: row.edited_at.and_then(DateTime::from_timestamp_millis),
            remote_actor_id: row.remote_actor_id,
            kind: row.kind,
            name: row.name,
            summary: row.summary,
            content: row.content,
            language: row.language,
        })
    }
}

macro_rules! remote_post_columns {
    () => {
        "id, ap_id, remote_actor_id, kind, name, summary, content, language, url, in_reply_to, \
         published_at, edited_at"
    };
}

/// A received post with its author, as an account's network page (editors) and its public
/// allies page list it.
#[derive(Debug, Clone)]
pub struct AllyPost {
    pub post: RemotePost,
    pub author: RemoteActor,
    /// Whether it was addressed to the public (only those appear on public pages).
    pub public: bool,
    /// Whether the account the list is for has boosted it.
    pub boosted: bool,
    /// A followed account of `actor_id` that shared it (the first, if several did), by actor
    /// id: how a post of someone nobody here follows came to be in the list.
    pub shared_by: Option<Url>,
}

#[derive(FromRow)]
struct AllyPostRow {
    post_id: i64,
    post_ap_id: String,
    post_kind: String,
    post_name: Option<String>,
    post_summary: Option<String>,
    post_content: String,
    post_language: Option<String>,
    post_url: Option<String>,
    post_in_reply_to: Option<String>,
    post_published_at: i64,
    post_edited_at: Option<i64>,
    post_public: i64,
    boosted: i64,
    shared_by: Option<String>,
    #[sqlx(flatten)]
    author: RemoteActorRow,
}

impl TryFrom<AllyPostRow> for AllyPost {
    type Error = StoreError;

    fn try_from(row: AllyPostRow) -> StoreResult<Self> {
        let author = RemoteActor::try_from(row.author)?;
        let post = RemotePost::try_from(RemotePostRow {
            id: row.post_id,
            ap_id: row.post_ap_id,
            remote_actor_id: author.id,
            kind: row.post_kind,
            name: row.post_name,
            summary: row.post_summary,
            content: row.post_content,
            language: row.post_language,
            url: row.post_url,
            in_reply_to: row.post_in_reply_to,
            published_at: row.post_published_at,
            edited_at: row.post_edited_at,
        })?;
        Ok(Self {
            post,
            author,
            public: row.post_public == 1,
            boosted: row.boosted > 0,
            shared_by: row.shared_by.as_deref().and_then(|id| Url::parse(id).ok()),
        })
    }
}

/// The columns [`AllyPostRow`] reads; `$1` is the account whose boosts are counted.
macro_rules! ally_post_select {
    () => {
        concat!(
            "SELECT p.id AS post_id, p.ap_id AS post_ap_id, p.kind AS post_kind, \
             p.name AS post_name, p.summary AS post_summary, p.content AS post_content, \
             p.language AS post_language, p.url AS post_url, p.in_reply_to AS post_in_reply_to, \
             p.published_at AS post_published_at, p.edited_at AS post_edited_at, \
             p.is_public AS post_public, \
             (SELECT COUNT(*) FROM boosts b WHERE b.actor_id = $1 AND b.object_id = p.ap_id) \
             AS boosted, \
             (SELECT a.ap_id FROM remote_announces ra \
              JOIN remote_actors a ON a.id = ra.remote_actor_id \
              JOIN following f ON f.remote_actor_id = ra.remote_actor_id \
              WHERE ra.remote_post_id = p.id AND f.actor_id = $1 AND f.state = 'accepted' \
              ORDER BY ra.id LIMIT 1) AS shared_by, ",
            remote_actor_columns!("r."),
            " FROM remote_posts p JOIN remote_actors r ON r.id = p.remote_actor_id "
        )
    };
}

impl Store {
    /// One page of the posts received from the accounts `actor_id` follows (accepted), and of
    /// the posts they shared (boosted), newest first. With `public_only`, only their own public
    /// top-level posts: what a public page may show.
    pub async fn ally_posts(
        &self,
        actor_id: i64,
        public_only: bool,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<AllyPost>> {
        let rows: Vec<AllyPostRow> = sqlx::query_as(concat!(
            ally_post_select!(),
            // Written by an account followed, or, for the editors' list only, shared by one.
            "WHERE (EXISTS (SELECT 1 FROM following f WHERE f.remote_actor_id = p.remote_actor_id \
                    AND f.actor_id = $1 AND f.state = 'accepted') \
                    OR ($2 = 0 AND EXISTS (SELECT 1 FROM remote_announces ra \
                        JOIN following f ON f.remote_actor_id = ra.remote_actor_id \
                        WHERE ra.remote_post_id = p.id AND f.actor_id = $1 \
                        AND f.state = 'accepted'))) \
             AND ($2 = 0 OR (p.is_public = 1 AND p.in_reply_to IS NULL)) \
             ORDER BY p.published_at DESC, p.id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(actor_id)
        .bind(flag(public_only))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AllyPost::try_from).collect()
    }

    /// A received post and its author, with whether `actor_id` has boosted it.
    pub async fn ally_post(&self, actor_id: i64, ap_id: &Url) -> StoreResult<Option<AllyPost>> {
        let row: Option<AllyPostRow> =
            sqlx::query_as(concat!(ally_post_select!(), "WHERE p.ap_id = $2"))
                .bind(actor_id)
                .bind(ap_id.as_str().to_owned())
                .fetch_optional(&self.pool)
                .await?;
        row.map(AllyPost::try_from).transpose()
    }

    pub async fn remote_post(&self, ap_id: &Url) -> StoreResult<Option<RemotePost>> {
        let row: Option<RemotePostRow> = sqlx::query_as(concat!(
            "SELECT ",
            remote_post_columns!(),
            " FROM remote_posts WHERE ap_id = $1"
        ))
        .bind(ap_id.as_str().to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(RemotePost::try_from).transpose()
    }

    /// The newest posts received from followed accounts: the editors' network timeline.
    pub async fn network_timeline(&self, limit: i64, offset: i64) -> StoreResult<Vec<RemotePost>> {
        let rows: Vec<RemotePostRow> = sqlx::query_as(concat!(
            "SELECT ",
            remote_post_columns!(),
            " FROM remote_posts ORDER BY published_at DESC, id DESC LIMIT $1 OFFSET $2"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(RemotePost::try_from).collect()
    }
}

impl Tx {
    /// Stores a received post, or replaces it when it is received again (an Update).
    pub async fn upsert_remote_post(&mut self, post: &NewRemotePost) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO remote_posts (ap_id, remote_actor_id, kind, name, summary, content, \
             language, url, in_reply_to, published_at, edited_at, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (ap_id) DO UPDATE SET kind = excluded.kind, name = excluded.name, \
             summary = excluded.summary, content = excluded.content, language = excluded.language, \
             url = excluded.url, edited_at = excluded.edited_at, received_at = excluded.received_at \
             WHERE remote_posts.remote_actor_id = excluded.remote_actor_id",
        )
        .bind(post.ap_id.as_str().to_owned())
        .bind(post.remote_actor_id)
        .bind(post.kind.clone())
        .bind(post.name.clone())
        .bind(post.summary.clone())
        .bind(post.content.clone())
        .bind(post.language.clone())
        .bind(post.url.as_ref().map(|u| u.as_str().to_owned()))
        .bind(post.in_reply_to.as_ref().map(|u| u.as_str().to_owned()))
        .bind(post.published_at)
        .bind(post.edited_at)
        .bind(now_millis())
        .execute(&mut *self.inner)
        .await?;
        self.bump_if_on_allies_page(post.remote_actor_id).await
    }

    /// Records whether a received post was addressed to the public (see `ally_posts`).
    pub async fn set_remote_post_public(&mut self, ap_id: &Url, public: bool) -> StoreResult<()> {
        sqlx::query("UPDATE remote_posts SET is_public = $1 WHERE ap_id = $2")
            .bind(flag(public))
            .bind(ap_id.as_str().to_owned())
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// A post of `remote_actor_id` changed: if an account shows that ally on its public
    /// allies page, cached pages are dropped. Posts of allies no page shows leave the cache
    /// alone, so an instance without allies pages does not re-render on every post received.
    async fn bump_if_on_allies_page(&mut self, remote_actor_id: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE site_version SET version = version + 1 WHERE id = 1 AND EXISTS \
             (SELECT 1 FROM following f JOIN actors a ON a.id = f.actor_id \
             WHERE f.remote_actor_id = $1 AND f.state = 'accepted' AND a.allies_page = 1)",
        )
        .bind(remote_actor_id)
        .execute(&mut *self.inner)
        .await?;
        Ok(())
    }

    /// Removes a received post, if it belongs to `remote_actor_id`; returns whether it did.
    pub async fn delete_remote_post(
        &mut self,
        ap_id: &Url,
        remote_actor_id: i64,
    ) -> StoreResult<bool> {
        let result =
            sqlx::query("DELETE FROM remote_posts WHERE ap_id = $1 AND remote_actor_id = $2")
                .bind(ap_id.as_str().to_owned())
                .bind(remote_actor_id)
                .execute(&mut *self.inner)
                .await?;
        let removed = result.rows_affected() > 0;
        if removed {
            self.bump_if_on_allies_page(remote_actor_id).await?;
        }
        Ok(removed)
    }
}
