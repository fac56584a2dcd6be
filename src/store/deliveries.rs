//! The durable outbox: one row per activity and target inbox.
//!
//! Rows are written in the transaction of the change that causes them and claimed by delivery
//! workers with a lease (`locked_until`), so a worker that dies mid-send loses nothing: its
//! rows come back when the lease runs out, or at once when a SQLite server restarts.

use sqlx::FromRow;
use url::Url;

use super::{Backend, Store, StoreError, StoreResult, Tx, now_millis};

/// An activity we send, stored once however many inboxes it goes to.
#[derive(Debug, Clone)]
pub struct NewOutboxActivity {
    pub ap_id: Url,
    /// The ActivityStreams type (`Create`, `Accept`…), for the outbox and operators.
    pub kind: &'static str,
    /// The local actor that signs it; None for the instance actor.
    pub actor_id: Option<i64>,
    pub post_id: Option<i64>,
    pub body: String,
}

/// A delivery a worker has claimed and must now send and report on.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub outbox_activity_id: i64,
    pub inbox: String,
    pub host: String,
    pub attempts: i64,
    /// Since when the target host has been failing (Unix ms), read with the claim so the
    /// worker need not ask per delivery, and need not write to `hosts` after a success when
    /// the host was not failing.
    pub host_failing_since: Option<i64>,
}

/// A delivery that succeeded, for [`Store::record_delivered`].
#[derive(Debug, Clone)]
pub struct Delivered {
    pub id: i64,
    pub status: u16,
    /// The host, when it was failing and the success must clear that.
    pub recovered_host: Option<String>,
}

/// The activity a delivery carries, as the worker signs and sends it.
#[derive(Debug, Clone, FromRow)]
pub struct StoredActivity {
    pub id: i64,
    pub ap_id: String,
    pub actor_id: Option<i64>,
    pub body: String,
}

/// One delivery as it stands, for operators and tests: where it goes, how it went last, and
/// when it is tried next.
#[derive(Debug, Clone, FromRow)]
pub struct DeliveryState {
    pub id: i64,
    pub outbox_activity_id: i64,
    pub inbox: String,
    /// `queued`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    /// When it is tried next (Unix ms), if still queued.
    pub next_attempt_at: i64,
    /// Until when a worker holds it (Unix ms); 0 when nobody does.
    pub locked_until: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
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
    AND locked_until <= $2 AND instr($4, ',' || host || ',') = 0 \
    ORDER BY next_attempt_at, id LIMIT $3) \
    RETURNING id, outbox_activity_id, inbox, host, attempts, \
    (SELECT failing_since FROM hosts WHERE hosts.host = deliveries.host) AS host_failing_since";

/// PostgreSQL lets several workers claim side by side without waiting on each other's rows.
const CLAIM_POSTGRES: &str = "UPDATE deliveries SET locked_until = $1 WHERE id IN (\
    SELECT id FROM deliveries WHERE state = 'queued' AND next_attempt_at <= $2 \
    AND locked_until <= $2 AND strpos($4, ',' || host || ',') = 0 \
    ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
    RETURNING id, outbox_activity_id, inbox, host, attempts, \
    (SELECT failing_since FROM hosts WHERE hosts.host = deliveries.host) AS host_failing_since";

impl Tx {
    /// Stores an outgoing activity (or refreshes it, if its id was sent before) and returns
    /// its row id.
    pub async fn insert_outbox_activity(
        &mut self,
        activity: &NewOutboxActivity,
    ) -> StoreResult<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox_activities (ap_id, actor_id, kind, post_id, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (ap_id) DO UPDATE SET body = excluded.body RETURNING id",
        )
        .bind(activity.ap_id.as_str().to_owned())
        .bind(activity.actor_id)
        .bind(activity.kind)
        .bind(activity.post_id)
        .bind(activity.body.clone())
        .bind(now_millis())
        .fetch_one(&mut *self.inner)
        .await?;
        Ok(id)
    }

    /// Queues one delivery of a stored activity per inbox.
    pub async fn enqueue_deliveries(
        &mut self,
        outbox_activity_id: i64,
        inboxes: &[Url],
    ) -> StoreResult<()> {
        let now = now_millis();
        self.queued_deliveries |= !inboxes.is_empty();
        for inbox in inboxes {
            sqlx::query(
                "INSERT INTO deliveries (outbox_activity_id, inbox, host, state, next_attempt_at, \
                 created_at, updated_at) VALUES ($1, $2, $3, 'queued', $4, $4, $4)",
            )
            .bind(outbox_activity_id)
            .bind(inbox.as_str().to_owned())
            .bind(crate::config::authority(inbox))
            .bind(now)
            .execute(&mut *self.inner)
            .await?;
        }
        Ok(())
    }

    /// Hosts that have failed every delivery since before `since` (Unix ms).
    pub async fn unreachable_hosts(&mut self, since: i64) -> StoreResult<Vec<String>> {
        let hosts = sqlx::query_scalar("SELECT host FROM hosts WHERE failing_since < $1")
            .bind(since)
            .fetch_all(&mut *self.inner)
            .await?;
        Ok(hosts)
    }
}

impl Store {
    pub async fn outbox_activity(&self, id: i64) -> StoreResult<Option<StoredActivity>> {
        let activity =
            sqlx::query_as("SELECT id, ap_id, actor_id, body FROM outbox_activities WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(activity)
    }

    pub async fn outbox_activity_by_ap_id(
        &self,
        ap_id: &str,
    ) -> StoreResult<Option<StoredActivity>> {
        let activity = sqlx::query_as(
            "SELECT id, ap_id, actor_id, body FROM outbox_activities WHERE ap_id = $1",
        )
        .bind(ap_id.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        Ok(activity)
    }

    /// A delivery succeeded: the host is reachable.
    pub async fn record_host_success(&self, host: &str) -> StoreResult<()> {
        let now = now_millis();
        sqlx::query(
            "INSERT INTO hosts (host, failing_since, last_success_at) VALUES ($1, NULL, $2) \
             ON CONFLICT (host) DO UPDATE SET failing_since = NULL, last_success_at = $2",
        )
        .bind(host.to_owned())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A delivery failed for a reason that is the host's (unreachable, 5xx): it has been
    /// failing since the first such failure after its last success.
    pub async fn record_host_failure(&self, host: &str) -> StoreResult<()> {
        let now = now_millis();
        sqlx::query(
            "INSERT INTO hosts (host, failing_since, last_failure_at) VALUES ($1, $2, $2) \
             ON CONFLICT (host) DO UPDATE SET last_failure_at = $2, \
             failing_since = COALESCE(hosts.failing_since, $2)",
        )
        .bind(host.to_owned())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Since when a host has been failing, if it is.
    pub async fn host_failing_since(&self, host: &str) -> StoreResult<Option<i64>> {
        let since: Option<Option<i64>> =
            sqlx::query_scalar("SELECT failing_since FROM hosts WHERE host = $1")
                .bind(host.to_owned())
                .fetch_optional(&self.pool)
                .await?;
        Ok(since.flatten())
    }

    /// Claims up to `limit` due deliveries for `lease_ms` milliseconds.
    pub async fn claim_deliveries(
        &self,
        limit: i64,
        lease_ms: i64,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        self.claim_deliveries_except(limit, lease_ms, &[]).await
    }

    /// [`Store::claim_deliveries`], leaving alone the deliveries to `busy_hosts` (hosts the
    /// worker already has enough of in hand). They are passed as one `,a,b,` text, which
    /// both databases search without SQL built at run time; names must hold no comma.
    pub async fn claim_deliveries_except(
        &self,
        limit: i64,
        lease_ms: i64,
        busy_hosts: &[String],
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let busy = format!(",{},", busy_hosts.join(","));
        let now = now_millis();
        let sql = match self.backend {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        let claimed = sqlx::query_as(sql)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .bind(busy)
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

    /// Records many successes in one transaction: on SQLite, where one writer at a time is
    /// admitted, a commit per delivery made the sending tasks queue for the lock. Hosts are
    /// written only when they were failing; a healthy host's row is left alone.
    pub async fn record_delivered(&self, delivered: &[Delivered]) -> StoreResult<()> {
        let now = now_millis();
        let mut tx = self.begin().await?;
        for done in delivered {
            sqlx::query(
                "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, \
                 last_status = $1, last_error = NULL, locked_until = 0, updated_at = $2 \
                 WHERE id = $3",
            )
            .bind(i64::from(done.status))
            .bind(now)
            .bind(done.id)
            .execute(&mut *tx.inner)
            .await?;
            if let Some(host) = &done.recovered_host {
                sqlx::query(
                    "UPDATE hosts SET failing_since = NULL, last_success_at = $1 WHERE host = $2",
                )
                .bind(now)
                .bind(host.clone())
                .execute(&mut *tx.inner)
                .await?;
            }
        }
        // Counted per host and hour for the delivery page and /metrics, in the same commit.
        let ids: Vec<i64> = delivered.iter().map(|done| done.id).collect();
        super::delivery_stats::count_delivered(&mut tx.inner, &ids).await?;
        tx.commit().await?;
        Ok(())
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
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE deliveries SET state = $1, attempts = attempts + 1, last_status = $2, \
             last_error = $3, locked_until = 0, updated_at = $4 WHERE id = $5",
        )
        .bind(state.to_owned())
        .bind(status.map(i64::from))
        .bind(error.map(str::to_owned))
        .bind(now_millis())
        .bind(id)
        .execute(&mut *tx.inner)
        .await?;
        super::delivery_stats::count_attempt(&mut tx.inner, id, state == "delivered").await?;
        tx.commit().await?;
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
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $1, \
             last_status = $2, last_error = $3, locked_until = 0, updated_at = $4 WHERE id = $5",
        )
        .bind(next_attempt_at)
        .bind(status.map(i64::from))
        .bind(error.to_owned())
        .bind(now_millis())
        .bind(id)
        .execute(&mut *tx.inner)
        .await?;
        super::delivery_stats::count_attempt(&mut tx.inner, id, false).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Makes queued deliveries due now (all, or those to one host), e.g. when a host is back.
    /// Returns how many.
    pub async fn retry_deliveries_now(&self, host: Option<&str>) -> StoreResult<u64> {
        let now = now_millis();
        let result = match host {
            Some(host) => sqlx::query(
                "UPDATE deliveries SET next_attempt_at = $1 WHERE state = 'queued' AND host = $2",
            )
            .bind(now)
            .bind(host.to_owned())
            .execute(&self.pool)
            .await?,
            None => {
                sqlx::query("UPDATE deliveries SET next_attempt_at = $1 WHERE state = 'queued'")
                    .bind(now)
                    .execute(&self.pool)
                    .await?
            }
        };
        if let Some(host) = host {
            sqlx::query("UPDATE hosts SET failing_since = NULL WHERE host = $1")
                .bind(host.to_owned())
                .execute(&self.pool)
                .await?;
        }
        Ok(result.rows_affected())
    }

    /// Hands claimed deliveries back untried, e.g. when the server shuts down mid-send.
    pub async fn release_delivery(&self, id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE deliveries SET locked_until = 0 WHERE id = $1 AND state = 'queued'")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Hands claimed deliveries back untried (no attempt counted), claimable again from
    /// `until` (Unix ms): the worker does so when their host already has enough in hand.
    pub async fn defer_deliveries(&self, ids: &[i64], until: i64) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for &id in ids {
            sqlx::query(
                "UPDATE deliveries SET locked_until = $1 WHERE id = $2 AND state = 'queued'",
            )
            .bind(until)
            .bind(id)
            .execute(&mut *tx.inner)
            .await?;
        }
        tx.commit().await?;
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

    /// Every delivery to one host (`host[:port]`), oldest first.
    pub async fn deliveries_to_host(&self, host: &str) -> StoreResult<Vec<DeliveryState>> {
        let rows = sqlx::query_as(
            "SELECT id, outbox_activity_id, inbox, state, attempts, next_attempt_at, \
             locked_until, last_status, last_error FROM deliveries WHERE host = $1 ORDER BY id",
        )
        .bind(host.to_owned())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
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
        // The hourly delivery counters are kept for 30 days, then folded into totals.
        let mut tx = self.begin().await?;
        super::delivery_stats::fold_old_hours(&mut tx.inner).await?;
        tx.commit().await?;
        Ok(result.rows_affected())
    }
}
