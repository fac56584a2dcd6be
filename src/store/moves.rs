//! Account migration (`Move`): moves received whose target is one of our accounts, the
//! follows that began after them, and carrying our follows of a moved ally over to its new
//! account.

use chrono::{DateTime, Utc};
use url::Url;

use super::{Store, StoreError, StoreResult, Tx, now_millis};

/// A Move to one of our accounts, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMove {
    /// The old account (the Move's actor and object).
    pub origin: Url,
    pub activity_id: String,
    pub received_at: DateTime<Utc>,
    /// Follows of the account recorded as arriving after this move (see
    /// [`Tx::note_follow_after_move`]), pending or accepted.
    pub followers: i64,
}

fn parse_url(value: &str, what: &str) -> StoreResult<Url> {
    Url::parse(value).map_err(|_| StoreError::Corrupt(format!("{what} {value}")))
}

impl Tx {
    /// Records a Move from `origin` to our account `actor_id`.
    pub async fn record_move_received(
        &mut self,
        actor_id: i64,
        origin: &Url,
        activity_id: &Url,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO moves_received (actor_id, origin, activity_id, received_at, \
             followers_before) VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(id), 0) FROM followers))",
        )
        .bind(actor_id)
        .bind(origin.as_str().to_owned())
        .bind(activity_id.as_str().to_owned())
        .bind(now_millis())
        .execute(&mut *self.inner)
        .await?;
        Ok(())
    }

    /// Marks the follow `follower_id` of `actor_id` as arriving after a Move, when the newest
    /// Move to the account was received at or after `since` (Unix ms) and the follow was
    /// first recorded after that Move. Returns the old account it is recorded with, if any. A
    /// follow already marked keeps its mark; a follower from before the Move is never marked.
    pub async fn note_follow_after_move(
        &mut self,
        actor_id: i64,
        follower_id: i64,
        since: i64,
    ) -> StoreResult<Option<Url>> {
        let newest: Option<(String, i64)> = sqlx::query_as(
            "SELECT origin, followers_before FROM moves_received \
             WHERE actor_id = $1 AND received_at >= $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(actor_id)
        .bind(since)
        .fetch_optional(&mut *self.inner)
        .await?;
        let Some((origin, followers_before)) = newest else {
            return Ok(None);
        };
        // Row ids, not times: a follow in the same millisecond as the Move is still ordered.
        let result = sqlx::query(
            "UPDATE followers SET moved_from = $1 \
             WHERE id = $2 AND actor_id = $3 AND moved_from IS NULL AND id > $4",
        )
        .bind(origin.clone())
        .bind(follower_id)
        .bind(actor_id)
        .bind(followers_before)
        .execute(&mut *self.inner)
        .await?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        parse_url(&origin, "move origin").map(Some)
    }

    /// Returns the account's scheduled posts to drafts (a moved account publishes nothing
    /// more); returns how many.
    pub async fn unschedule_posts(&mut self, actor_id: i64) -> StoreResult<u64> {
        let result = sqlx::query(
            "UPDATE posts SET state = 'draft', scheduled_at = NULL, updated_at = $1 \
             WHERE actor_id = $2 AND state = 'scheduled'",
        )
        .bind(now_millis())
        .bind(actor_id)
        .execute(&mut *self.inner)
        .await?;
        Ok(result.rows_affected())
    }

    /// Our accounts that follow (or asked to follow) `remote_actor_id`.
    pub async fn local_followers_of(&mut self, remote_actor_id: i64) -> StoreResult<Vec<i64>> {
        let ids = sqlx::query_scalar(
            "SELECT actor_id FROM following WHERE remote_actor_id = $1 ORDER BY actor_id",
        )
        .bind(remote_actor_id)
        .fetch_all(&mut *self.inner)
        .await?;
        Ok(ids)
    }

    /// Gives `actor_id`'s boost rule for `from` to `to` as well, unless `to` has one already.
    pub async fn copy_boost_rule(&mut self, actor_id: i64, from: i64, to: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO boost_rules (actor_id, remote_actor_id, mode, tags_json) \
             SELECT actor_id, $1, mode, tags_json FROM boost_rules \
             WHERE actor_id = $2 AND remote_actor_id = $3 \
             ON CONFLICT (actor_id, remote_actor_id) DO NOTHING",
        )
        .bind(to)
        .bind(actor_id)
        .bind(from)
        .execute(&mut *self.inner)
        .await?;
        Ok(())
    }

    /// Group accounts that had `from` as a member have `to` instead.
    pub async fn replace_group_member(&mut self, from: i64, to: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE group_members SET member_remote_id = $1 \
             WHERE member_remote_id = $2 AND NOT EXISTS (SELECT 1 FROM group_members g \
             WHERE g.group_id = group_members.group_id AND g.member_remote_id = $1)",
        )
        .bind(to)
        .bind(from)
        .execute(&mut *self.inner)
        .await?;
        sqlx::query("DELETE FROM group_members WHERE member_remote_id = $1")
            .bind(from)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }
}

impl Store {
    /// The Moves to `actor_id` received, newest first, with the follows recorded after each.
    pub async fn moves_received(&self, actor_id: i64) -> StoreResult<Vec<ReceivedMove>> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT m.origin, m.activity_id, m.received_at, \
             (SELECT COUNT(*) FROM followers f WHERE f.actor_id = m.actor_id \
              AND f.moved_from = m.origin) \
             FROM moves_received m WHERE m.actor_id = $1 ORDER BY m.received_at DESC, m.id DESC",
        )
        .bind(actor_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(origin, activity_id, received_at, followers)| {
                Ok(ReceivedMove {
                    origin: parse_url(&origin, "move origin")?,
                    activity_id,
                    received_at: DateTime::from_timestamp_millis(received_at)
                        .ok_or_else(|| StoreError::Corrupt(format!("move {origin}: time")))?,
                    followers,
                })
            })
            .collect()
    }

    /// The followers of `actor_id` recorded as arriving after a Move, with the old account:
    /// (follower's actor id, old account), oldest follow first.
    pub async fn followers_after_move(&self, actor_id: i64) -> StoreResult<Vec<(Url, Url)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT r.ap_id, f.moved_from FROM followers f \
             JOIN remote_actors r ON r.id = f.remote_actor_id \
             WHERE f.actor_id = $1 AND f.moved_from IS NOT NULL ORDER BY f.id",
        )
        .bind(actor_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|(follower, origin)| {
                Ok((
                    parse_url(follower, "follower")?,
                    parse_url(origin, "move origin")?,
                ))
            })
            .collect()
    }
}
