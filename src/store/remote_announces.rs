//! Boosts by followed accounts of posts written by others: which ally shared which kept post.

use url::Url;

use super::{Store, StoreResult, Tx, now_millis};

impl Store {
    /// The followed accounts that boosted the kept post `remote_post_id`, oldest boost first.
    pub async fn announcers_of(&self, remote_post_id: i64) -> StoreResult<Vec<Url>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT a.ap_id FROM remote_announces r \
             JOIN remote_actors a ON a.id = r.remote_actor_id \
             WHERE r.remote_post_id = $1 ORDER BY r.received_at, r.id",
        )
        .bind(remote_post_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.iter().filter_map(|id| Url::parse(id).ok()).collect())
    }
}

impl Tx {
    /// Records that `remote_actor_id` boosted the kept post `post`; false if the post is not
    /// kept or the boost was recorded before.
    pub async fn record_remote_announce(
        &mut self,
        activity_id: &Url,
        remote_actor_id: i64,
        post: &Url,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO remote_announces (activity_id, remote_actor_id, remote_post_id, received_at) \
             SELECT $1, $2, id, $3 FROM remote_posts WHERE ap_id = $4 \
             ON CONFLICT DO NOTHING",
        )
        .bind(activity_id.as_str().to_owned())
        .bind(remote_actor_id)
        .bind(now_millis())
        .bind(post.as_str().to_owned())
        .execute(&mut *self.inner)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Takes back a boost by `remote_actor_id`, named by the Announce's id or, as some servers
    /// give the Announce a new id in the Undo, by the boosted post. The post goes too when
    /// nothing else keeps it: no other boost, and its author is not followed here. Returns
    /// whether a boost was removed (cached pages are then dropped).
    pub async fn remove_remote_announce(
        &mut self,
        activity_id: &Url,
        remote_actor_id: i64,
        post: Option<&Url>,
    ) -> StoreResult<bool> {
        let mut removed: Option<i64> = sqlx::query_scalar(
            "DELETE FROM remote_announces WHERE activity_id = $1 AND remote_actor_id = $2 \
             RETURNING remote_post_id",
        )
        .bind(activity_id.as_str().to_owned())
        .bind(remote_actor_id)
        .fetch_optional(&mut *self.inner)
        .await?;
        if removed.is_none()
            && let Some(post) = post
        {
            removed = sqlx::query_scalar(
                "DELETE FROM remote_announces WHERE remote_actor_id = $1 AND remote_post_id = \
                 (SELECT id FROM remote_posts WHERE ap_id = $2) RETURNING remote_post_id",
            )
            .bind(remote_actor_id)
            .bind(post.as_str().to_owned())
            .fetch_optional(&mut *self.inner)
            .await?;
        }
        let Some(remote_post_id) = removed else {
            return Ok(false);
        };
        sqlx::query(
            "DELETE FROM remote_posts WHERE id = $1 \
             AND NOT EXISTS (SELECT 1 FROM remote_announces WHERE remote_post_id = $2) \
             AND NOT EXISTS (SELECT 1 FROM following f WHERE f.state = 'accepted' \
                             AND f.remote_actor_id = remote_posts.remote_actor_id)",
        )
        .bind(remote_post_id)
        .bind(remote_post_id)
        .execute(&mut *self.inner)
        .await?;
        // An allies page may show who shared a post.
        self.bump_site_version().await?;
        Ok(true)
    }
}
