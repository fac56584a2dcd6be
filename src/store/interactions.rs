//! What the fediverse does with our posts and accounts: likes, boosts, replies (held until
//! an editor approves them, unless the account trusts replies) and mentions.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use url::Url;

use super::{Store, StoreResult, Tx, flag, now_millis};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractionKind {
    Like,
    Announce,
    Reply,
    Mention,
}

impl InteractionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Like => "like",
            Self::Announce => "announce",
            Self::Reply => "reply",
            Self::Mention => "mention",
        }
    }
}

/// An interaction as received.
#[derive(Debug, Clone)]
pub struct NewInteraction {
    pub kind: InteractionKind,
    pub activity_id: Url,
    pub remote_actor_id: i64,
    pub post_id: Option<i64>,
    pub actor_id: Option<i64>,
    /// The reply's (or mentioning post's) own id.
    pub object_id: Option<Url>,
    /// Sanitized HTML of a reply or mention.
    pub content: Option<String>,
    pub url: Option<Url>,
    pub approved: bool,
}

/// A reply or mention, as editors and readers see it.
#[derive(Debug, Clone, FromRow)]
pub struct Reply {
    pub id: i64,
    pub post_id: Option<i64>,
    pub object_id: Option<String>,
    pub content: Option<String>,
    pub url: Option<String>,
    pub approved: i64,
    pub created_at: i64,
    pub author: String,
    pub author_name: Option<String>,
    pub author_username: String,
    pub author_host: String,
}

impl Reply {
    pub fn received_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.created_at).unwrap_or_default()
    }
}

/// How many likes, boosts and approved replies a post has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub likes: i64,
    pub announces: i64,
    pub replies: i64,
}

macro_rules! reply_select {
    () => {
        "SELECT i.id, i.post_id, i.object_id, i.content, i.url, i.approved, i.created_at, \
         r.ap_id AS author, r.name AS author_name, r.username AS author_username, \
         r.host AS author_host FROM interactions i JOIN remote_actors r ON r.id = i.remote_actor_id "
    };
}

impl Tx {
    /// Records an interaction; false if its activity was recorded before.
    pub async fn insert_interaction(&mut self, interaction: &NewInteraction) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO interactions (kind, activity_id, remote_actor_id, post_id, actor_id, object_id, \
             content, url, approved, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (activity_id) DO NOTHING",
        )
        .bind(interaction.kind.as_str())
        .bind(interaction.activity_id.as_str().to_owned())
        .bind(interaction.remote_actor_id)
        .bind(interaction.post_id)
        .bind(interaction.actor_id)
        .bind(interaction.object_id.as_ref().map(|u| u.as_str().to_owned()))
        .bind(interaction.content.clone())
        .bind(interaction.url.as_ref().map(|u| u.as_str().to_owned()))
        .bind(flag(interaction.approved))
        .bind(now_millis())
        .execute(&mut *self.inner)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Takes back an interaction by the id of the activity that made it (Undo), if it is
    /// the remote actor's own.
    pub async fn remove_interaction(
        &mut self,
        activity_id: &Url,
        remote_actor_id: i64,
    ) -> StoreResult<bool> {
        let result =
            sqlx::query("DELETE FROM interactions WHERE activity_id = $1 AND remote_actor_id = $2")
                .bind(activity_id.as_str().to_owned())
                .bind(remote_actor_id)
                .execute(&mut *self.inner)
                .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Takes back a like or boost of `post_id` by the actor (an Undo naming only the object).
    pub async fn remove_interaction_of(
        &mut self,
        kind: InteractionKind,
        post_id: i64,
        remote_actor_id: i64,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "DELETE FROM interactions WHERE kind = $1 AND post_id = $2 AND remote_actor_id = $3",
        )
        .bind(kind.as_str())
        .bind(post_id)
        .bind(remote_actor_id)
        .execute(&mut *self.inner)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Removes a reply or mention whose own object was deleted by its author.
    pub async fn remove_interactions_with_object(
        &mut self,
        object_id: &Url,
        remote_actor_id: i64,
    ) -> StoreResult<u64> {
        let result =
            sqlx::query("DELETE FROM interactions WHERE object_id = $1 AND remote_actor_id = $2")
                .bind(object_id.as_str().to_owned())
                .bind(remote_actor_id)
                .execute(&mut *self.inner)
                .await?;
        Ok(result.rows_affected())
    }
}

impl Store {
    pub async fn interaction_counts(&self, post_id: i64) -> StoreResult<Counts> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT kind, COUNT(*) FROM interactions WHERE post_id = $1 AND (kind <> 'reply' OR approved = 1) \
             GROUP BY kind",
        )
        .bind(post_id)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = Counts::default();
        for (kind, count) in rows {
            match kind.as_str() {
                "like" => counts.likes = count,
                "announce" => counts.announces = count,
                "reply" => counts.replies = count,
                _ => {}
            }
        }
        Ok(counts)
    }

    /// The ids of the actors (likes, announces) or reply objects of a post, oldest first.
    pub async fn interaction_items(
        &self,
        post_id: i64,
        kind: InteractionKind,
    ) -> StoreResult<Vec<String>> {
        let items = match kind {
            InteractionKind::Reply => {
                sqlx::query_scalar(
                    "SELECT object_id FROM interactions WHERE post_id = $1 AND kind = 'reply' AND approved = 1 \
                     AND object_id IS NOT NULL ORDER BY id",
                )
                .bind(post_id)
                .fetch_all(&self.pool)
                .await?
            }
            other => {
                sqlx::query_scalar(
                    "SELECT r.ap_id FROM interactions i JOIN remote_actors r ON r.id = i.remote_actor_id \
                     WHERE i.post_id = $1 AND i.kind = $2 ORDER BY i.id",
                )
                .bind(post_id)
                .bind(other.as_str())
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(items)
    }

    /// Approved replies of a post, oldest first, for its page.
    pub async fn approved_replies(&self, post_id: i64) -> StoreResult<Vec<Reply>> {
        let replies = sqlx::query_as(concat!(
            reply_select!(),
            "WHERE i.post_id = $1 AND i.kind = 'reply' AND i.approved = 1 ORDER BY i.id"
        ))
        .bind(post_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(replies)
    }

    /// Replies waiting for approval and recent mentions, newest first, for editors.
    pub async fn held_replies_and_mentions(&self, limit: i64) -> StoreResult<Vec<(String, Reply)>> {
        let rows: Vec<Reply> = sqlx::query_as(concat!(
            reply_select!(),
            "WHERE (i.kind = 'reply' AND i.approved = 0) OR i.kind = 'mention' ORDER BY i.id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|reply| {
                let kind = if reply.post_id.is_some() {
                    "reply"
                } else {
                    "mention"
                };
                (kind.to_owned(), reply)
            })
            .collect())
    }

    /// Approves a held reply; false if there is no such reply.
    pub async fn approve_reply(&self, id: i64) -> StoreResult<bool> {
        let result =
            sqlx::query("UPDATE interactions SET approved = 1 WHERE id = $1 AND kind = 'reply'")
                .bind(id)
                .execute(&self.pool)
                .await?;
        sqlx::query("UPDATE site_version SET version = version + 1 WHERE id = 1")
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }
}
