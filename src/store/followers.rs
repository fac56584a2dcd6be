//! Who follows our accounts, and whom they follow.

use chrono::DateTime;
use sqlx::FromRow;
use url::Url;

use super::{
    Store, StoreError, StoreResult, Tx, now_millis,
    remote_actors::{RemoteActorRow, remote_actor_columns},
};
use crate::domain::{FollowState, Follower, RemoteActor};

#[derive(FromRow)]
struct FollowerRow {
    follower_id: i64,
    follower_actor_id: i64,
    follow_activity_id: String,
    state: String,
    created_at: i64,
    #[sqlx(flatten)]
    remote: RemoteActorRow,
}

macro_rules! follower_select {
    () => {
        concat!(
            "SELECT f.id AS follower_id, f.actor_id AS follower_actor_id, f.follow_activity_id, \
             f.state, f.created_at, ",
            remote_actor_columns!("r."),
            " FROM followers f JOIN remote_actors r ON r.id = f.remote_actor_id "
        )
    };
}

impl TryFrom<FollowerRow> for Follower {
    type Error = StoreError;

    fn try_from(row: FollowerRow) -> StoreResult<Self> {
        let corrupt = || StoreError::Corrupt(format!("follower {}", row.follower_id));
        Ok(Self {
            id: row.follower_id,
            actor_id: row.follower_actor_id,
            state: FollowState::parse(&row.state).ok_or_else(corrupt)?,
            created_at: DateTime::from_timestamp_millis(row.created_at).ok_or_else(corrupt)?,
            follow_activity_id: row.follow_activity_id,
            remote: RemoteActor::try_from(row.remote)?,
        })
    }
}

impl Store {
    /// One page of an account's followers in the given state, oldest first.
    pub async fn followers(
        &self,
        actor_id: i64,
        state: FollowState,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Follower>> {
        let rows: Vec<FollowerRow> = sqlx::query_as(concat!(
            follower_select!(),
            "WHERE f.actor_id = $1 AND f.state = $2 ORDER BY f.id LIMIT $3 OFFSET $4"
        ))
        .bind(actor_id)
        .bind(state.as_str())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Follower::try_from).collect()
    }

    pub async fn count_followers(&self, actor_id: i64, state: FollowState) -> StoreResult<i64> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM followers WHERE actor_id = $1 AND state = $2")
                .bind(actor_id)
                .bind(state.as_str())
                .fetch_one(&self.pool)
                .await?;
        Ok(count)
    }

    pub async fn follower(
        &self,
        actor_id: i64,
        remote_ap_id: &Url,
    ) -> StoreResult<Option<Follower>> {
        let row: Option<FollowerRow> = sqlx::query_as(concat!(
            follower_select!(),
            "WHERE f.actor_id = $1 AND r.ap_id = $2"
        ))
        .bind(actor_id)
        .bind(remote_ap_id.as_str().to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(Follower::try_from).transpose()
    }

    pub async fn follower_by_handle(
        &self,
        actor_id: i64,
        username: &str,
        host: &str,
    ) -> StoreResult<Option<Follower>> {
        let row: Option<FollowerRow> = sqlx::query_as(concat!(
            follower_select!(),
            "WHERE f.actor_id = $1 AND r.username = $2 AND r.host = $3"
        ))
        .bind(actor_id)
        .bind(username.to_owned())
        .bind(host.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.map(Follower::try_from).transpose()
    }

    /// One page of the actor ids an account follows (accepted follows only), oldest first.
    pub async fn following(&self, actor_id: i64, limit: i64, offset: i64) -> StoreResult<Vec<Url>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT r.ap_id FROM following f JOIN remote_actors r ON r.id = f.remote_actor_id \
             WHERE f.actor_id = $1 AND f.state = 'accepted' ORDER BY f.id LIMIT $2 OFFSET $3",
        )
        .bind(actor_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        ids.iter()
            .map(|id| Url::parse(id).map_err(|_| StoreError::Corrupt(format!("following {id}"))))
            .collect()
    }

    pub async fn count_following(&self, actor_id: i64) -> StoreResult<i64> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM following WHERE actor_id = $1 AND state = 'accepted'",
        )
        .bind(actor_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
    }
}

impl Tx {
    /// Records a Follow. A repeated Follow refreshes the activity id but never demotes an
    /// accepted follower back to pending. Returns the row's id and the state in effect.
    pub async fn upsert_follower(
        &mut self,
        actor_id: i64,
        remote_actor_id: i64,
        follow_activity_id: &str,
        state: FollowState,
    ) -> StoreResult<(i64, FollowState)> {
        let (id, stored): (i64, String) = sqlx::query_as(
            "INSERT INTO followers (actor_id, remote_actor_id, follow_activity_id, state, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (actor_id, remote_actor_id) DO UPDATE SET \
             follow_activity_id = excluded.follow_activity_id, \
             state = CASE WHEN followers.state = 'accepted' THEN 'accepted' ELSE excluded.state END \
             RETURNING id, state",
        )
        .bind(actor_id)
        .bind(remote_actor_id)
        .bind(follow_activity_id.to_owned())
        .bind(state.as_str())
        .bind(now_millis())
        .fetch_one(&mut *self.inner)
        .await?;
        let stored = FollowState::parse(&stored)
            .ok_or_else(|| StoreError::Corrupt(format!("follower {id}: state {stored}")))?;
        Ok((id, stored))
    }

    pub async fn set_follower_state(
        &mut self,
        follower_id: i64,
        state: FollowState,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE followers SET state = $1 WHERE id = $2")
            .bind(state.as_str())
            .bind(follower_id)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// Removes a follow; returns whether there was one.
    pub async fn remove_follower(
        &mut self,
        actor_id: i64,
        remote_actor_id: i64,
    ) -> StoreResult<bool> {
        let result =
            sqlx::query("DELETE FROM followers WHERE actor_id = $1 AND remote_actor_id = $2")
                .bind(actor_id)
                .bind(remote_actor_id)
                .execute(&mut *self.inner)
                .await?;
        Ok(result.rows_affected() > 0)
    }
}

impl Tx {
    /// Removes the follow a remote actor made with the given Follow activity.
    pub async fn remove_follower_by_follow_id(
        &mut self,
        remote_actor_id: i64,
        follow_activity_id: &str,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "DELETE FROM followers WHERE remote_actor_id = $1 AND follow_activity_id = $2",
        )
        .bind(remote_actor_id)
        .bind(follow_activity_id.to_owned())
        .execute(&mut *self.inner)
        .await?;
        Ok(result.rows_affected() > 0)
    }
}

impl Tx {
    /// Where an account's posts go: one inbox per server (its shared inbox when it has one)
    /// for every accepted follower.
    pub async fn follower_inboxes(&mut self, actor_id: i64) -> StoreResult<Vec<Url>> {
        let inboxes: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT COALESCE(r.shared_inbox, r.inbox) FROM followers f \
             JOIN remote_actors r ON r.id = f.remote_actor_id \
             WHERE f.actor_id = $1 AND f.state = 'accepted'",
        )
        .bind(actor_id)
        .fetch_all(&mut *self.inner)
        .await?;
        inboxes
            .iter()
            .map(|inbox| {
                Url::parse(inbox).map_err(|_| StoreError::Corrupt(format!("inbox {inbox}")))
            })
            .collect()
    }
}

impl Store {
    /// An inbox answered 410 Gone: the accounts behind that personal inbox are gone, so their
    /// follows end. (A shared inbox answering 410 says nothing about single accounts.)
    pub async fn remove_followers_with_inbox(&self, inbox: &Url) -> StoreResult<u64> {
        let result = sqlx::query(
            "DELETE FROM followers WHERE remote_actor_id IN \
             (SELECT id FROM remote_actors WHERE inbox = $1)",
        )
        .bind(inbox.as_str().to_owned())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }
}

/// Whom one of our accounts follows, and how far the follow has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Following {
    pub id: i64,
    pub actor_id: i64,
    pub remote_actor_id: i64,
    pub follow_activity_id: String,
    pub state: FollowState,
}

impl Tx {
    /// Records a Follow we send (pending until the other side accepts). A repeated follow
    /// keeps an accepted state.
    pub async fn upsert_following(
        &mut self,
        actor_id: i64,
        remote_actor_id: i64,
        follow_activity_id: &str,
    ) -> StoreResult<Following> {
        let (id, state): (i64, String) = sqlx::query_as(
            "INSERT INTO following (actor_id, remote_actor_id, follow_activity_id, state, created_at) \
             VALUES ($1, $2, $3, 'pending', $4) \
             ON CONFLICT (actor_id, remote_actor_id) DO UPDATE SET \
             follow_activity_id = CASE WHEN following.state = 'accepted' THEN following.follow_activity_id \
             ELSE excluded.follow_activity_id END RETURNING id, state",
        )
        .bind(actor_id)
        .bind(remote_actor_id)
        .bind(follow_activity_id.to_owned())
        .bind(now_millis())
        .fetch_one(&mut *self.inner)
        .await?;
        let stored: (String,) =
            sqlx::query_as("SELECT follow_activity_id FROM following WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *self.inner)
                .await?;
        Ok(Following {
            id,
            actor_id,
            remote_actor_id,
            follow_activity_id: stored.0,
            state: FollowState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("following {id}")))?,
        })
    }

    /// The other side accepted our Follow (named by its id); returns whether it was ours.
    pub async fn accept_following(
        &mut self,
        remote_actor_id: i64,
        follow_activity_id: &str,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE following SET state = 'accepted' WHERE remote_actor_id = $1 AND follow_activity_id = $2",
        )
        .bind(remote_actor_id)
        .bind(follow_activity_id.to_owned())
        .execute(&mut *self.inner)
        .await?;
        let changed = result.rows_affected() > 0;
        if changed {
            // The following collection and allies pages list accepted follows.
            self.bump_site_version().await?;
        }
        Ok(changed)
    }

    /// Ends a follow of ours, e.g. after a Reject (by the Follow's id) or an unfollow.
    pub async fn remove_following_by_follow_id(
        &mut self,
        remote_actor_id: i64,
        follow_activity_id: &str,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "DELETE FROM following WHERE remote_actor_id = $1 AND follow_activity_id = $2",
        )
        .bind(remote_actor_id)
        .bind(follow_activity_id.to_owned())
        .execute(&mut *self.inner)
        .await?;
        let changed = result.rows_affected() > 0;
        if changed {
            // The following collection and allies pages list accepted follows.
            self.bump_site_version().await?;
        }
        Ok(changed)
    }

    pub async fn remove_following(
        &mut self,
        actor_id: i64,
        remote_actor_id: i64,
    ) -> StoreResult<Option<Following>> {
        let row: Option<(i64, String, String)> = sqlx::query_as(
            "DELETE FROM following WHERE actor_id = $1 AND remote_actor_id = $2 \
             RETURNING id, follow_activity_id, state",
        )
        .bind(actor_id)
        .bind(remote_actor_id)
        .fetch_optional(&mut *self.inner)
        .await?;
        if row.is_some() {
            self.bump_site_version().await?;
        }
        row.map(|(id, follow_activity_id, state)| {
            Ok(Following {
                id,
                actor_id,
                remote_actor_id,
                follow_activity_id,
                state: FollowState::parse(&state)
                    .ok_or_else(|| StoreError::Corrupt(format!("following {id}")))?,
            })
        })
        .transpose()
    }
}

/// An account we follow (or asked to), with how its posts are boosted, for the editors'
/// network page and the public allies page.
#[derive(Debug, Clone)]
pub struct FollowedAccount {
    pub remote: RemoteActor,
    pub state: FollowState,
    /// The automatic boost rule, if any.
    pub rule: Option<super::boosts::BoostRule>,
    pub since: chrono::DateTime<chrono::Utc>,
}

#[derive(FromRow)]
struct FollowedRow {
    following_id: i64,
    following_state: String,
    following_created_at: i64,
    rule_mode: Option<String>,
    rule_tags_json: Option<String>,
    #[sqlx(flatten)]
    remote: RemoteActorRow,
}

impl Store {
    /// The accounts `actor_id` follows, pending and accepted (or accepted only), oldest
    /// first, at most `limit`.
    pub async fn followed_accounts(
        &self,
        actor_id: i64,
        accepted_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<FollowedAccount>> {
        let rows: Vec<FollowedRow> = sqlx::query_as(concat!(
            "SELECT f.id AS following_id, f.state AS following_state, \
             f.created_at AS following_created_at, b.mode AS rule_mode, \
             b.tags_json AS rule_tags_json, ",
            remote_actor_columns!("r."),
            " FROM following f JOIN remote_actors r ON r.id = f.remote_actor_id \
             LEFT JOIN boost_rules b \
             ON b.actor_id = f.actor_id AND b.remote_actor_id = f.remote_actor_id \
             WHERE f.actor_id = $1 AND ($2 = 0 OR f.state = 'accepted') ORDER BY f.id LIMIT $3"
        ))
        .bind(actor_id)
        .bind(super::flag(accepted_only))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let corrupt = || StoreError::Corrupt(format!("following {}", row.following_id));
                let rule = match (&row.rule_mode, &row.rule_tags_json) {
                    (Some(mode), Some(tags)) => {
                        Some(super::boosts::parse_rule(mode, tags).ok_or_else(corrupt)?)
                    }
                    _ => None,
                };
                Ok(FollowedAccount {
                    state: FollowState::parse(&row.following_state).ok_or_else(corrupt)?,
                    since: DateTime::from_timestamp_millis(row.following_created_at)
                        .ok_or_else(corrupt)?,
                    rule,
                    remote: RemoteActor::try_from(row.remote)?,
                })
            })
            .collect()
    }

    /// Whether the account shows whom it follows on its public allies page.
    pub async fn allies_page_shown(&self, actor_id: i64) -> StoreResult<bool> {
        let shown: Option<i64> = sqlx::query_scalar("SELECT allies_page FROM actors WHERE id = $1")
            .bind(actor_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(shown == Some(1))
    }

    /// Turns the account's public allies page on or off.
    pub async fn set_allies_page(&self, actor_id: i64, shown: bool) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE actors SET allies_page = $1 WHERE id = $2")
            .bind(super::flag(shown))
            .bind(actor_id)
            .execute(&mut *tx.inner)
            .await?;
        // The account page links to the allies page, and the page itself appears or goes.
        tx.bump_site_version().await?;
        tx.commit().await
    }

    /// Whether any of our accounts follows this remote actor (accepted): only then are its
    /// posts kept.
    pub async fn is_followed_locally(&self, remote_actor_id: i64) -> StoreResult<bool> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM following WHERE remote_actor_id = $1 AND state = 'accepted'",
        )
        .bind(remote_actor_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(count > 0)
    }

    pub async fn following_state(
        &self,
        actor_id: i64,
        remote_actor_id: i64,
    ) -> StoreResult<Option<FollowState>> {
        let state: Option<String> = sqlx::query_scalar(
            "SELECT state FROM following WHERE actor_id = $1 AND remote_actor_id = $2",
        )
        .bind(actor_id)
        .bind(remote_actor_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(state.and_then(|s| FollowState::parse(&s)))
    }
}
