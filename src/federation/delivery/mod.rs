//! The durable delivery queue. Use cases call [`enqueue`] inside their own transaction; its
//! commit wakes the [`worker`] of this process (`Store::deliveries_queued`), which sends what
//! is due, signs each request, and records every outcome.

mod backlog;
mod outcome;
mod recorder;
mod single_flight;
pub mod worker;

use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::store::{StoreError, Tx, deliveries::NewOutboxActivity};

/// Retry delays after the 1st, 2nd, … failed attempt: eleven attempts over about four and a
/// half days, after which the delivery is given up and marked failed.
pub const RETRY_SCHEDULE: [std::time::Duration; 10] = {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    [
        std::time::Duration::from_secs(MINUTE),
        std::time::Duration::from_secs(5 * MINUTE),
        std::time::Duration::from_secs(30 * MINUTE),
        std::time::Duration::from_secs(2 * HOUR),
        std::time::Duration::from_secs(6 * HOUR),
        std::time::Duration::from_secs(12 * HOUR),
        std::time::Duration::from_secs(12 * HOUR),
        std::time::Duration::from_secs(24 * HOUR),
        std::time::Duration::from_secs(24 * HOUR),
        std::time::Duration::from_secs(24 * HOUR),
    ]
};

/// The wait before the next try, given how many tries have failed so far (at least 1); None
/// once the schedule is used up.
pub fn retry_delay(failed_attempts: i64) -> Option<std::time::Duration> {
    let index = usize::try_from(failed_attempts.checked_sub(1)?).ok()?;
    RETRY_SCHEDULE.get(index).copied()
}

/// The delivery worker's time limits. Production runs with the defaults (`serve
/// --shutdown-grace` sets the grace); tests shorten them so a fault shows within a second
/// instead of waiting out ten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How long one delivery may take, connecting and the answer's head included. A receiver
    /// that accepts the connection and never answers, or answers a few bytes a second, is
    /// cut off then and the delivery retried on the schedule.
    pub request_timeout: Duration,
    /// On shutdown, how long sends in flight may still finish. What is unfinished then is
    /// handed back to the queue untried (neither failed nor counted as an attempt), so the
    /// next start sends it.
    pub shutdown_grace: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            request_timeout: crate::federation::http_client::REQUEST_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// The default [`Settings::shutdown_grace`]: well inside systemd's 90 s (and the unit in
/// docs/OPERATIONS.md, 30 s), and as long as a delivery may take by default.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// An activity to send: its id and type, who signs it, and the post it is about.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub ap_id: &'a Url,
    pub kind: &'static str,
    /// A local actor's row id; None signs as the instance actor.
    pub signer: Option<i64>,
    pub post_id: Option<i64>,
}

/// Stores `activity` once and queues a delivery to each inbox, in the caller's transaction.
/// Inboxes on hosts that have failed for longer than [`UNREACHABLE_AFTER`] are skipped, and so
/// are blocked ones (`federation::moderation`).
pub async fn enqueue<A: Serialize>(
    tx: &mut Tx,
    outgoing: Outgoing<'_>,
    activity: &A,
    inboxes: &[Url],
) -> Result<(), StoreError> {
    let body = serde_json::to_string(activity).map_err(|e| {
        StoreError::Corrupt(format!(
            "activity {} does not serialize: {e}",
            outgoing.ap_id
        ))
    })?;
    let id = tx
        .insert_outbox_activity(&NewOutboxActivity {
            ap_id: outgoing.ap_id.clone(),
            kind: outgoing.kind,
            actor_id: outgoing.signer,
            post_id: outgoing.post_id,
            body,
        })
        .await?;
    let unreachable = tx.unreachable_hosts(unreachable_cutoff()).await?;
    let mut targets: Vec<Url> = inboxes
        .iter()
        .filter(|inbox| !unreachable.contains(&crate::config::authority(inbox)))
        .cloned()
        .collect();
    targets.sort();
    targets.dedup();
    // Moderation: nothing goes to a blocked domain or to a blocked actor's own inbox.
    let blocked = tx.blocked_inboxes(&targets).await?;
    targets.retain(|inbox| !blocked.contains(inbox));
    tx.enqueue_deliveries(id, &targets).await
}

/// A host whose deliveries have all failed for this long is skipped until it is heard from.
pub const UNREACHABLE_AFTER: std::time::Duration = std::time::Duration::from_secs(3 * 24 * 3600);

/// Hosts failing since before this moment (Unix ms) count as unreachable.
pub fn unreachable_cutoff() -> i64 {
    crate::store::now_millis()
        - i64::try_from(UNREACHABLE_AFTER.as_millis()).unwrap_or(i64::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_spans_at_least_three_days() {
        let total: std::time::Duration = RETRY_SCHEDULE.iter().sum();
        assert!(
            total >= std::time::Duration::from_secs(3 * 24 * 3600),
            "{total:?}"
        );
        assert_eq!(retry_delay(1), Some(std::time::Duration::from_secs(60)));
        assert_eq!(retry_delay(11), None);
        assert_eq!(retry_delay(0), None);
    }
}
