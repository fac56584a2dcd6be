//! The durable delivery queue. Use cases call [`enqueue`] inside their own transaction; the
//! [`worker`] sends what is due, signs each request, and records every outcome.

pub mod worker;

use serde::Serialize;
use url::Url;

use crate::store::{StoreError, Tx, deliveries::NewDelivery};

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

/// Queues `activity` for `inbox`, signed as `signer` (a local actor's id; None signs as the
/// instance actor), in the caller's transaction.
pub async fn enqueue<A: Serialize>(
    tx: &mut Tx,
    activity_id: &Url,
    signer: Option<i64>,
    inbox: &Url,
    activity: &A,
) -> Result<(), StoreError> {
    let body = serde_json::to_string(activity).map_err(|e| {
        StoreError::Corrupt(format!("activity {activity_id} does not serialize: {e}"))
    })?;
    tx.enqueue_delivery(&NewDelivery {
        activity_id: activity_id.to_string(),
        actor_id: signer,
        inbox: inbox.clone(),
        body,
    })
    .await?;
    Ok(())
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
