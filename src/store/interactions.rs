//! What the fediverse does with our posts and accounts: likes, boosts, replies (held until
//! an editor approves them, unless the account trusts replies) and mentions.

use std::collections::HashSet;

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

/// A like or boost of one of our posts, as the inbox received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReaction {
    pub kind: InteractionKind,
    pub activity_id: Url,
    /// The remote actor who liked or boosted, already known (its signature was checked).
    pub actor: Url,
    pub post_id: i64,
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
    /// The author's profile page, if their server named one.
    pub author_url: Option<String>,
}

impl Reply {
    /// Where a reader sees the author: their profile page, or their id (which servers answer
    /// with the profile when a browser asks).
    pub fn author_link(&self) -> &str {
        self.author_url.as_deref().unwrap_or(&self.author)
    }

    /// Where a reader sees the reply on its own server.
    pub fn link(&self) -> Option<&str> {
        self.url.as_deref().or(self.object_id.as_deref())
    }

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
         r.host AS author_host, r.url AS author_url FROM interactions i JOIN remote_actors r ON r.id = i.remote_actor_id "
    };
}

/// Which interactions the public sees: likes, boosts and approved replies (not held replies,
/// nor mentions, which belong to no post of ours).
macro_rules! public {
    () => {
        "(kind IN ('like', 'announce') OR (kind = 'reply' AND approved = 1))"
    };
}

impl Tx {
    /// Records an interaction; false if its activity was recorded before. One the public sees
    /// changes its post's document and page, which are marked changed in the same transaction.
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
        let inserted = result.rows_affected() == 1;
        let public = match interaction.kind {
            InteractionKind::Like | InteractionKind::Announce => true,
            InteractionKind::Reply => interaction.approved,
            InteractionKind::Mention => false,
        };
        if inserted
            && public
            && let Some(post_id) = interaction.post_id
        {
            self.post_interactions_changed(post_id).await?;
        }
        Ok(inserted)
    }

    /// Takes back an interaction by the id of the activity that made it (Undo), if it is
    /// the remote actor's own.
    pub async fn remove_interaction(
        &mut self,
        activity_id: &Url,
        remote_actor_id: i64,
    ) -> StoreResult<bool> {
        let activity_id = activity_id.as_str().to_owned();
        let posts: Vec<Option<i64>> = sqlx::query_scalar(concat!(
            "SELECT post_id FROM interactions WHERE activity_id = $1 AND remote_actor_id = $2 AND ",
            public!()
        ))
        .bind(activity_id.clone())
        .bind(remote_actor_id)
        .fetch_all(&mut *self.inner)
        .await?;
        let result =
            sqlx::query("DELETE FROM interactions WHERE activity_id = $1 AND remote_actor_id = $2")
                .bind(activity_id)
                .bind(remote_actor_id)
                .execute(&mut *self.inner)
                .await?;
        self.posts_interactions_changed(posts).await?;
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
        let removed = result.rows_affected() > 0;
        if removed && matches!(kind, InteractionKind::Like | InteractionKind::Announce) {
            self.post_interactions_changed(post_id).await?;
        }
        Ok(removed)
    }

    /// Removes a reply or mention whose own object was deleted by its author.
    pub async fn remove_interactions_with_object(
        &mut self,
        object_id: &Url,
        remote_actor_id: i64,
    ) -> StoreResult<u64> {
        let object_id = object_id.as_str().to_owned();
        let posts: Vec<Option<i64>> = sqlx::query_scalar(concat!(
            "SELECT post_id FROM interactions WHERE object_id = $1 AND remote_actor_id = $2 AND ",
            public!()
        ))
        .bind(object_id.clone())
        .bind(remote_actor_id)
        .fetch_all(&mut *self.inner)
        .await?;
        let result =
            sqlx::query("DELETE FROM interactions WHERE object_id = $1 AND remote_actor_id = $2")
                .bind(object_id)
                .bind(remote_actor_id)
                .execute(&mut *self.inner)
                .await?;
        self.posts_interactions_changed(posts).await?;
        Ok(result.rows_affected())
    }

    /// Replaces the text of a reply or mention its author corrected (an `Update` of it); false
    /// if none is stored. A held reply stays held: what an editor approved was the old text,
    /// but holding an approved reply again would hide it for a typo.
    pub async fn update_interaction_object(
        &mut self,
        object_id: &Url,
        remote_actor_id: i64,
        content: &str,
        url: Option<&Url>,
    ) -> StoreResult<bool> {
        let object_id = object_id.as_str().to_owned();
        let result = sqlx::query(
            "UPDATE interactions SET content = $1, url = $2 \
             WHERE object_id = $3 AND remote_actor_id = $4 AND kind IN ('reply', 'mention')",
        )
        .bind(content.to_owned())
        .bind(url.map(|u| u.as_str().to_owned()))
        .bind(object_id.clone())
        .bind(remote_actor_id)
        .execute(&mut *self.inner)
        .await?;
        let posts: Vec<Option<i64>> = sqlx::query_scalar(concat!(
            "SELECT post_id FROM interactions WHERE object_id = $1 AND remote_actor_id = $2 AND ",
            public!()
        ))
        .bind(object_id)
        .bind(remote_actor_id)
        .fetch_all(&mut *self.inner)
        .await?;
        self.posts_interactions_changed(posts).await?;
        Ok(result.rows_affected() > 0)
    }

    /// Shows a held reply under its post; false if there is no such reply.
    pub async fn approve_reply(&mut self, id: i64) -> StoreResult<bool> {
        let post_id: Option<Option<i64>> = sqlx::query_scalar(
            "UPDATE interactions SET approved = 1 WHERE id = $1 AND kind = 'reply' RETURNING post_id",
        )
        .bind(id)
        .fetch_optional(&mut *self.inner)
        .await?;
        let Some(post_id) = post_id else {
            return Ok(false);
        };
        self.posts_interactions_changed(vec![post_id]).await?;
        Ok(true)
    }

    async fn posts_interactions_changed(&mut self, posts: Vec<Option<i64>>) -> StoreResult<()> {
        let mut posts: Vec<i64> = posts.into_iter().flatten().collect();
        posts.sort_unstable();
        posts.dedup();
        self.posts_changed_together(&posts).await
    }

    /// A post's likes, boosts or replies changed: its document and page show them, so they
    /// get a new Last-Modified and every process drops its cached copies.
    async fn post_interactions_changed(&mut self, post_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE posts SET interactions_changed_at = $1 WHERE id = $2")
            .bind(now_millis())
            .bind(post_id)
            .execute(&mut *self.inner)
            .await?;
        self.bump_site_version().await
    }

    /// Inserts fresh reactions in one statement; returns the activity id and post of each
    /// one inserted (those whose post is published and whose actor is known).
    async fn insert_reactions(
        &mut self,
        reactions: &[&NewReaction],
    ) -> StoreResult<Vec<(String, i64)>> {
        let mut recorded = Vec::with_capacity(reactions.len());
        // Four values a row; the chunks stay far below either database's limit on them.
        for chunk in reactions.chunks(REACTIONS_PER_STATEMENT) {
            // The SQL text holds only markers; a VALUES list's columns are column1… in both
            // databases. SQLite needs the WHERE to read `ON CONFLICT` as the upsert clause.
            let rows: Vec<String> = (0..chunk.len())
                .map(|n| {
                    let m = 4 * n + 2;
                    format!("(${m}, ${}, ${}, ${})", m + 1, m + 2, m + 3)
                })
                .collect();
            let sql = format!(
                "INSERT INTO interactions (kind, activity_id, remote_actor_id, post_id, approved, created_at) \
                 SELECT v.column1, v.column2, remote_actors.id, posts.id, 1, $1 \
                 FROM (VALUES {}) AS v \
                 JOIN remote_actors ON remote_actors.ap_id = v.column3 \
                 JOIN posts ON posts.id = v.column4 AND posts.state = 'published' \
                 WHERE true ON CONFLICT (activity_id) DO NOTHING RETURNING activity_id, post_id",
                rows.join(", ")
            );
            let mut query =
                sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql)).bind(now_millis());
            for reaction in chunk {
                query = query
                    .bind(reaction.kind.as_str())
                    .bind(reaction.activity_id.as_str().to_owned())
                    .bind(reaction.actor.as_str().to_owned())
                    .bind(reaction.post_id);
            }
            recorded.extend(query.fetch_all(&mut *self.inner).await?);
        }
        Ok(recorded)
    }

    /// [`Tx::post_interactions_changed`] for several posts at once, with one new site version.
    async fn posts_changed_together(&mut self, posts: &[i64]) -> StoreResult<()> {
        if posts.is_empty() {
            return Ok(());
        }
        let markers: Vec<String> = (2..posts.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "UPDATE posts SET interactions_changed_at = $1 WHERE id IN ({})",
            markers.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now_millis());
        for post in posts {
            query = query.bind(*post);
        }
        query.execute(&mut *self.inner).await?;
        self.bump_site_version().await
    }
}

/// Reactions inserted by one statement: 4 values each, well under SQLite's 32,766.
const REACTIONS_PER_STATEMENT: usize = 500;

impl Store {
    /// Records likes and boosts of our posts in one transaction, the inbox's group commit:
    /// each activity id once (a redelivery, or a second copy in the same group, is not
    /// recorded again), and only for a published post and a known actor. Says for each
    /// whether it was recorded now. The posts that gained one get a new `Last-Modified` and
    /// the site version moves once for the whole group.
    pub async fn record_reactions(&self, reactions: &[NewReaction]) -> StoreResult<Vec<bool>> {
        let mut tx = self.begin().await?;
        let ids: Vec<&str> = reactions.iter().map(|r| r.activity_id.as_str()).collect();
        let new = tx.record_received_activities(&ids).await?;
        // The first of several copies of one activity in the group is the one recorded.
        let mut first = HashSet::new();
        let fresh: Vec<&NewReaction> = reactions
            .iter()
            .filter(|r| new.contains(r.activity_id.as_str()) && first.insert(&r.activity_id))
            .collect();
        let recorded = tx.insert_reactions(&fresh).await?;
        let mut posts: Vec<i64> = recorded.iter().map(|(_, post)| *post).collect();
        posts.sort_unstable();
        posts.dedup();
        tx.posts_changed_together(&posts).await?;
        tx.commit().await?;
        let recorded: HashSet<&str> = recorded.iter().map(|(id, _)| id.as_str()).collect();
        let mut answered = HashSet::new();
        Ok(reactions
            .iter()
            .map(|r| {
                let id = r.activity_id.as_str();
                recorded.contains(id) && answered.insert(id)
            })
            .collect())
    }

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

    /// The ids of the actors (likes, announces) or approved reply objects of a post, oldest
    /// first.
    pub async fn interaction_items(
        &self,
        post_id: i64,
        kind: InteractionKind,
    ) -> StoreResult<Vec<String>> {
        self.interaction_page(post_id, kind, i64::MAX, 0).await
    }

    /// One page of [`Store::interaction_items`], for the post's `likes`, `shares` and
    /// `replies` collections.
    pub async fn interaction_page(
        &self,
        post_id: i64,
        kind: InteractionKind,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<String>> {
        let items = match kind {
            InteractionKind::Reply => {
                sqlx::query_scalar(
                    "SELECT object_id FROM interactions WHERE post_id = $1 AND kind = 'reply' AND approved = 1 \
                     AND object_id IS NOT NULL ORDER BY id LIMIT $2 OFFSET $3",
                )
                .bind(post_id)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?
            }
            other => {
                sqlx::query_scalar(
                    "SELECT r.ap_id FROM interactions i JOIN remote_actors r ON r.id = i.remote_actor_id \
                     WHERE i.post_id = $1 AND i.kind = $2 ORDER BY i.id LIMIT $3 OFFSET $4",
                )
                .bind(post_id)
                .bind(other.as_str())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(items)
    }

    /// When the post's public likes, boosts or replies last changed, if ever.
    pub async fn interactions_changed_at(
        &self,
        post_id: i64,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let at: Option<Option<i64>> =
            sqlx::query_scalar("SELECT interactions_changed_at FROM posts WHERE id = $1")
                .bind(post_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(at.flatten().and_then(DateTime::from_timestamp_millis))
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
        let mut tx = self.begin().await?;
        let approved = tx.approve_reply(id).await?;
        tx.commit().await?;
        Ok(approved)
    }
}
