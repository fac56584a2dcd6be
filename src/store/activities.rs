//! Ids of received activities, so that a redelivered activity is not applied twice.

use std::collections::HashSet;

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

    /// [`Tx::record_received_activity`] for many at once: the ids not seen before.
    pub async fn record_received_activities(
        &mut self,
        activity_ids: &[&str],
    ) -> StoreResult<HashSet<String>> {
        let mut new = HashSet::with_capacity(activity_ids.len());
        for chunk in activity_ids.chunks(IDS_PER_STATEMENT) {
            // The SQL text holds only markers; the values are bound.
            let rows: Vec<String> = (2..chunk.len() + 2)
                .map(|n| format!("(${n}, $1)"))
                .collect();
            let sql = format!(
                "INSERT INTO received_activities (activity_id, received_at) VALUES {} \
                 ON CONFLICT (activity_id) DO NOTHING RETURNING activity_id",
                rows.join(", ")
            );
            let mut query =
                sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(now_millis());
            for id in chunk {
                query = query.bind((*id).to_owned());
            }
            new.extend(query.fetch_all(&mut *self.inner).await?);
        }
        Ok(new)
    }
}

/// Activity ids recorded by one statement, well under SQLite's 32,766 values.
const IDS_PER_STATEMENT: usize = 1000;

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
