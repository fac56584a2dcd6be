//! The durable outbox: one row per activity and target inbox.
//!
//! Rows are written in the transaction of the change that causes them and claimed by delivery
//! workers with a lease (`locked_until`), so a worker that dies mid-send loses nothing: its
//! rows come back when the lease runs out, or at once when a SQLite server restarts.

use sqlx::FromRow;
use url::Url;

use super::{Backend, Store, StoreError, StoreResult, Tx, now_millis};

/// An activity to deliver to one inbox, signed as `actor_id` (or the instance actor if None).
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub activity_id: String,
    pub actor_id: Option<i64>,
    pub inbox: Url,
    pub body: String,
}

/// A delivery a worker has claimed and must now send and report on.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub activity_id: String,
    pub actor_id: Option<i64>,
    pub inbox: String,
    pub host: String,
    pub body: String,
    pub attempts: i64,
}

/// How many deliveries are in each state, for operators and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub queued: i64,
    pub delivered: i64,
    pub failed: i64,
}

const CLAIM_SQLITE: &str = "UPDATE deliveries SET locked_until = $1 WHERE id IN (\
    SELECT id FROM deliveries WHERE state = 'queued' AND next_attempt_at <= $2 \
    AND locked_until <= $2 ORDER BY next_attempt_at, id LIMIT $3) \
    RETURNING id, activity_id, actor_id, inbox, host, body, attempts";

/// PostgreSQL lets several workers claim side by side without waiting on each other's rows.
const CLAIM_POSTGRES: &str = "UPDATE deliveries SET locked_until = $1 WHERE id IN (\
    SELECT id FROM deliveries WHERE state = 'queued' AND next_attempt_at <= $2 \
    AND locked_until <= $2 ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
    RETURNING id, activity_id, actor_id, inbox, host, body, attempts";

impl Tx {
    pub async fn enqueue_delivery(&mut self, delivery: &NewDelivery) -> StoreResult<i64> {
        let host = crate::config::authority(&delivery.inbox);
        let now = now_millis();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO deliveries (activity_id, actor_id, inbox, host, body, state, \
             next_attempt_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6, $6) RETURNING id",
        )
        .bind(delivery.activity_id.clone())
        .bind(delivery.actor_id)
        .bind(delivery.inbox.as_str().to_owned())
        .bind(host)
        .bind(delivery.body.clone())
        .bind(now)
        .fetch_one(&mut *self.inner)
        .await?;
        Ok(id)
    }
}

impl Store {
    /// Claims up to `limit` due deliveries for `lease_ms` milliseconds.
    pub async fn claim_deliveries(
        &self,
        limit: i64,
        lease_ms: i64,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let now = now_millis();
        let sql = match self.backend {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        let claimed = sqlx::query_as(sql)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(claimed)
    }

    /// When the next queued delivery falls due, if any is queued.
    pub async fn next_delivery_due(&self) -> StoreResult<Option<i64>> {
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(CASE WHEN locked_until > next_attempt_at THEN locked_until \
             ELSE next_attempt_at END) FROM deliveries WHERE state = 'queued'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(due)
    }

    pub async fn mark_delivered(&self, id: i64, status: u16) -> StoreResult<()> {
        self.finish(id, "delivered", Some(status), None).await
    }

    /// Gives a delivery up for good, keeping the reason for operators.
    pub async fn mark_failed(&self, id: i64, status: Option<u16>, error: &str) -> StoreResult<()> {
        self.finish(id, "failed", status, Some(error)).await
    }

    async fn finish(
        &self,
        id: i64,
        state: &str,
        status: Option<u16>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE deliveries SET state = $1, attempts = attempts + 1, last_status = $2, \
             last_error = $3, locked_until = 0, updated_at = $4 WHERE id = $5",
        )
        .bind(state.to_owned())
        .bind(status.map(i64::from))
        .bind(error.map(str::to_owned))
        .bind(now_millis())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Puts a delivery back in the queue for another try at `next_attempt_at`.
    pub async fn schedule_retry(
        &self,
        id: i64,
        next_attempt_at: i64,
        status: Option<u16>,
        error: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $1, \
             last_status = $2, last_error = $3, locked_until = 0, updated_at = $4 WHERE id = $5",
        )
        .bind(next_attempt_at)
        .bind(status.map(i64::from))
        .bind(error.to_owned())
        .bind(now_millis())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Hands claimed deliveries back untried, e.g. when the server shuts down mid-send.
    pub async fn release_delivery(&self, id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE deliveries SET locked_until = 0 WHERE id = $1 AND state = 'queued'")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Frees every lease at once. Only for a SQLite instance starting up: it is the sole
    /// worker, so any lease left is from a previous run that died.
    pub async fn release_all_delivery_leases(&self) -> StoreResult<u64> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Corrupt(
                "leases are only released wholesale on SQLite".into(),
            ));
        }
        let result = sqlx::query(
            "UPDATE deliveries SET locked_until = 0 WHERE state = 'queued' AND locked_until > 0",
        )
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    pub async fn delivery_counts(&self) -> StoreResult<DeliveryCounts> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        let mut counts = DeliveryCounts::default();
        for (state, count) in rows {
            match state.as_str() {
                "queued" => counts.queued = count,
                "delivered" => counts.delivered = count,
                "failed" => counts.failed = count,
                _ => {}
            }
        }
        Ok(counts)
    }

    /// Deletes finished deliveries older than `before` (Unix ms); returns how many.
    pub async fn prune_deliveries(&self, before: i64) -> StoreResult<u64> {
        let result =
            sqlx::query("DELETE FROM deliveries WHERE state <> 'queued' AND updated_at < $1")
                .bind(before)
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected())
    }
}
