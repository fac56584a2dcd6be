//! Ids of received activities, so that a redelivered activity is not applied twice.

use super::{Store, StoreResult, Tx, now_millis};

impl Tx {
    /// Records an activity id; false when it was seen before and must not be applied again.
    pub async fn record_received_activity(&mut self, activity_id: &str) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO received_activities (activity_id, received_at) VALUES ($1, $2) \
             ON CONFLICT (activity_id) DO NOTHING",
        )
        .bind(activity_id.to_owned())
        .bind(now_millis())
        .execute(&mut *self.inner)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}

impl Store {
    /// Forgets received activity ids older than `before` (Unix ms): a redelivery that late is
    /// long past any sender's retry schedule. Returns how many were forgotten.
    pub async fn prune_received_activities(&self, before: i64) -> StoreResult<u64> {
        let result = sqlx::query("DELETE FROM received_activities WHERE received_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }
}
