//! Imported items (RSS, Atom, WordPress): which an account already has, so running an import
//! again adds nothing twice, and where each imported post was first published.

use chrono::{DateTime, Utc};
use url::Url;

use super::{Store, StoreResult, Tx, now_millis};

/// What an account already imported from one source (a feed URL or a file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportMark {
    /// Items imported from the source so far.
    pub items: i64,
    /// The newest publication date among them.
    pub newest: Option<DateTime<Utc>>,
}

impl Store {
    /// Whether the account already imported the item with this key (from any source).
    pub async fn is_imported(&self, actor_id: i64, import_key: &str) -> StoreResult<bool> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM imported_items WHERE actor_id = $1 AND import_key = $2",
        )
        .bind(actor_id)
        .bind(import_key.to_owned())
        .fetch_one(&self.pool)
        .await?;
        Ok(count > 0)
    }

    /// How many items the account imported from a source, and the newest one's date.
    pub async fn import_mark(&self, actor_id: i64, source: &str) -> StoreResult<ImportMark> {
        let (items, newest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MAX(p.published_at) FROM imported_items i \
             LEFT JOIN posts p ON p.id = i.post_id WHERE i.actor_id = $1 AND i.source = $2",
        )
        .bind(actor_id)
        .bind(source.to_owned())
        .fetch_one(&self.pool)
        .await?;
        Ok(ImportMark {
            items,
            newest: newest.and_then(DateTime::from_timestamp_millis),
        })
    }
}

impl Tx {
    /// Records that an item became a post. False (and nothing written) when the account
    /// already has an item with this key, e.g. from an import running at the same time: the
    /// caller then drops the transaction.
    pub async fn record_import(
        &mut self,
        actor_id: i64,
        import_key: &str,
        source: &str,
        post_id: i64,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO imported_items (actor_id, import_key, source, post_id, imported_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (actor_id, import_key) DO NOTHING",
        )
        .bind(actor_id)
        .bind(import_key.to_owned())
        .bind(source.to_owned())
        .bind(post_id)
        .bind(now_millis())
        .execute(&mut *self.inner)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Gives a newly inserted post the date and address of its original.
    pub async fn set_post_origin(
        &mut self,
        post_id: i64,
        published_at: DateTime<Utc>,
        original_url: Option<&Url>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE posts SET published_at = $1, original_url = $2 WHERE id = $3")
            .bind(published_at.timestamp_millis())
            .bind(original_url.map(Url::to_string))
            .bind(post_id)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }
}
