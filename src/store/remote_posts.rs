//! Posts received from the accounts ours follow.

use chrono::DateTime;
use sqlx::FromRow;
use url::Url;

use super::{Store, StoreError, StoreResult, Tx, now_millis};
use crate::domain::RemotePost;

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

impl Store {
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
        Ok(result.rows_affected() > 0)
    }
}
