//! Delivery health per remote host: attempts counted per hour (`delivery_stats`), written in
//! the transaction that records each outcome (see [`super::deliveries`]), and read by
//! `/metrics` and the admins' delivery page.
//!
//! PostgreSQL's `SUM` of a `BIGINT` is a `NUMERIC`, which the `Any` driver cannot decode:
//! every sum is cast back to `BIGINT` (a no-op on SQLite).

use std::collections::HashMap;

use sqlx::{AnyConnection, FromRow};

use super::{Store, StoreResult, now_millis};

/// One hour in milliseconds: the width of a counter row.
pub const HOUR_MS: i64 = 3_600_000;

/// Hourly rows older than this are folded into the host's all-time row (`hour_at = 0`).
const KEEP_HOURLY_MS: i64 = 30 * 24 * HOUR_MS;

/// The start of the hour `at` (Unix ms) falls in.
pub fn hour_of(at: i64) -> i64 {
    at - at.rem_euclid(HOUR_MS)
}

/// Adds to the counters of the delivery's host for the current hour.
const COUNT_ONE: &str = "INSERT INTO delivery_stats (host, hour_at, delivered, failed) \
    SELECT host, $1, $2, $3 FROM deliveries WHERE id = $4 \
    ON CONFLICT (host, hour_at) DO UPDATE SET \
    delivered = delivery_stats.delivered + excluded.delivered, \
    failed = delivery_stats.failed + excluded.failed";

/// Counts one attempt of delivery `id`: `delivered` or failed (retried or given up).
pub(super) async fn count_attempt(
    conn: &mut AnyConnection,
    id: i64,
    delivered: bool,
) -> StoreResult<()> {
    sqlx::query(COUNT_ONE)
        .bind(hour_of(now_millis()))
        .bind(i64::from(delivered))
        .bind(i64::from(!delivered))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Counts a batch of successes with one statement, grouped by host.
pub(super) async fn count_delivered(conn: &mut AnyConnection, ids: &[i64]) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    // One placeholder per delivery after the hour; the SQL text holds only "$n" markers.
    let placeholders: Vec<String> = (2..ids.len() + 2).map(|n| format!("${n}")).collect();
    let sql = format!(
        "INSERT INTO delivery_stats (host, hour_at, delivered, failed) \
         SELECT host, $1, COUNT(*), 0 FROM deliveries WHERE id IN ({}) GROUP BY host \
         ON CONFLICT (host, hour_at) DO UPDATE SET \
         delivered = delivery_stats.delivered + excluded.delivered",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hour_of(now_millis()));
    for id in ids {
        query = query.bind(*id);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Folds hourly rows older than 30 days into each host's all-time row, so the table stays
/// small and the totals `/metrics` reports never go down.
pub(super) async fn fold_old_hours(conn: &mut AnyConnection) -> StoreResult<()> {
    let before = hour_of(now_millis() - KEEP_HOURLY_MS);
    sqlx::query(
        "INSERT INTO delivery_stats (host, hour_at, delivered, failed) \
         SELECT host, 0, CAST(SUM(delivered) AS BIGINT), CAST(SUM(failed) AS BIGINT) \
         FROM delivery_stats WHERE hour_at > 0 AND hour_at < $1 GROUP BY host \
         ON CONFLICT (host, hour_at) DO UPDATE SET \
         delivered = delivery_stats.delivered + excluded.delivered, \
         failed = delivery_stats.failed + excluded.failed",
    )
    .bind(before)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM delivery_stats WHERE hour_at > 0 AND hour_at < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A remote host's deliveries: what waits, and attempts all told and recently.
#[derive(Debug, Clone, Default, PartialEq, Eq, FromRow)]
pub struct HostSummary {
    pub host: String,
    pub queued: i64,
    pub delivered: i64,
    pub failed: i64,
    pub recent_delivered: i64,
    pub recent_failed: i64,
}

/// Attempts over the whole instance since counting began.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryTotals {
    pub delivered: i64,
    pub failed: i64,
}

/// What the `hosts` table and the latest failed delivery say about a host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostState {
    pub failing_since: Option<i64>,
    pub last_success_at: Option<i64>,
    /// The most recent error of a delivery to the host still on record, and when.
    pub last_error: Option<(String, i64)>,
}

/// Hosts with queued deliveries or attempts since `recent_since`, the troubled first
/// (failures in that window, then queue depth), then the busiest.
const HOST_SUMMARIES: &str = "SELECT host, \
    CAST(SUM(queued) AS BIGINT) AS queued, CAST(SUM(delivered) AS BIGINT) AS delivered, \
    CAST(SUM(failed) AS BIGINT) AS failed, \
    CAST(SUM(recent_delivered) AS BIGINT) AS recent_delivered, \
    CAST(SUM(recent_failed) AS BIGINT) AS recent_failed \
    FROM (\
      SELECT host, CAST(COUNT(*) AS BIGINT) AS queued, CAST(0 AS BIGINT) AS delivered, \
        CAST(0 AS BIGINT) AS failed, CAST(0 AS BIGINT) AS recent_delivered, \
        CAST(0 AS BIGINT) AS recent_failed \
        FROM deliveries WHERE state = 'queued' GROUP BY host \
      UNION ALL \
      SELECT host, CAST(0 AS BIGINT), CAST(SUM(delivered) AS BIGINT), \
        CAST(SUM(failed) AS BIGINT), \
        CAST(SUM(CASE WHEN hour_at >= $1 THEN delivered ELSE 0 END) AS BIGINT), \
        CAST(SUM(CASE WHEN hour_at >= $1 THEN failed ELSE 0 END) AS BIGINT) \
        FROM delivery_stats GROUP BY host\
    ) AS per_host GROUP BY host \
    HAVING SUM(queued) > 0 OR SUM(recent_delivered) > 0 OR SUM(recent_failed) > 0 \
    ORDER BY SUM(recent_failed) DESC, SUM(queued) DESC, SUM(recent_delivered) DESC, host \
    LIMIT $2";

impl Store {
    /// Up to `limit` hosts with queued deliveries or attempts since `recent_since` (Unix ms).
    pub async fn host_summaries(
        &self,
        recent_since: i64,
        limit: i64,
    ) -> StoreResult<Vec<HostSummary>> {
        let rows = sqlx::query_as(HOST_SUMMARIES)
            .bind(hour_of(recent_since))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows)
    }

    pub async fn delivery_totals(&self) -> StoreResult<DeliveryTotals> {
        let (delivered, failed): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT CAST(SUM(delivered) AS BIGINT), CAST(SUM(failed) AS BIGINT) \
             FROM delivery_stats",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(DeliveryTotals {
            delivered: delivered.unwrap_or(0),
            failed: failed.unwrap_or(0),
        })
    }

    /// Hosts failing now (every delivery since `failing_since` failed).
    pub async fn count_failing_hosts(&self) -> StoreResult<i64> {
        let count =
            sqlx::query_scalar("SELECT COUNT(*) FROM hosts WHERE failing_since IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        Ok(count)
    }

    /// Hourly counts `(hour_at, delivered, failed)` of each host since `since` (Unix ms).
    pub async fn hourly_delivery_stats(
        &self,
        hosts: &[String],
        since: i64,
    ) -> StoreResult<HashMap<String, Vec<(i64, i64, i64)>>> {
        let mut stats: HashMap<String, Vec<(i64, i64, i64)>> = HashMap::new();
        if hosts.is_empty() {
            return Ok(stats);
        }
        let placeholders: Vec<String> = (2..hosts.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT host, hour_at, delivered, failed FROM delivery_stats \
             WHERE hour_at >= $1 AND host IN ({}) ORDER BY host, hour_at",
            placeholders.join(", ")
        );
        let mut query =
            sqlx::query_as::<_, (String, i64, i64, i64)>(sqlx::AssertSqlSafe(sql)).bind(since);
        for host in hosts {
            query = query.bind(host.clone());
        }
        for (host, hour, delivered, failed) in query.fetch_all(&self.pool).await? {
            stats
                .entry(host)
                .or_default()
                .push((hour, delivered, failed));
        }
        Ok(stats)
    }

    /// Whether each host is failing, and the latest error recorded for a delivery to it.
    pub async fn host_states(&self, hosts: &[String]) -> StoreResult<HashMap<String, HostState>> {
        let mut states: HashMap<String, HostState> = HashMap::new();
        if hosts.is_empty() {
            return Ok(states);
        }
        let placeholders: Vec<String> = (1..=hosts.len()).map(|n| format!("${n}")).collect();
        let list = placeholders.join(", ");
        let health = format!(
            "SELECT host, failing_since, last_success_at FROM hosts WHERE host IN ({list})"
        );
        let mut query =
            sqlx::query_as::<_, (String, Option<i64>, Option<i64>)>(sqlx::AssertSqlSafe(health));
        for host in hosts {
            query = query.bind(host.clone());
        }
        for (host, failing_since, last_success_at) in query.fetch_all(&self.pool).await? {
            let state = states.entry(host).or_default();
            state.failing_since = failing_since;
            state.last_success_at = last_success_at;
        }
        // The newest error per host, ranked in one pass rather than a subquery per row.
        let errors = format!(
            "SELECT host, last_error, updated_at FROM (\
               SELECT host, last_error, updated_at, ROW_NUMBER() OVER \
               (PARTITION BY host ORDER BY updated_at DESC, id DESC) AS newest \
               FROM deliveries WHERE host IN ({list}) AND last_error IS NOT NULL\
             ) AS ranked WHERE newest = 1"
        );
        let mut query =
            sqlx::query_as::<_, (String, Option<String>, i64)>(sqlx::AssertSqlSafe(errors));
        for host in hosts {
            query = query.bind(host.clone());
        }
        for (host, error, at) in query.fetch_all(&self.pool).await? {
            if let Some(error) = error {
                states.entry(host).or_default().last_error = Some((error, at));
            }
        }
        Ok(states)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_start_on_the_hour() {
        assert_eq!(hour_of(0), 0);
        assert_eq!(hour_of(HOUR_MS - 1), 0);
        assert_eq!(hour_of(HOUR_MS), HOUR_MS);
        assert_eq!(hour_of(5 * HOUR_MS + 17), 5 * HOUR_MS);
    }
}
