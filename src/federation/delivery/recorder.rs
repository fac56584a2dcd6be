//! Records successful deliveries in batches. Nearly every outcome of a fan-out is a success,
//! and on SQLite a transaction per success made hundreds of sending tasks queue for the one
//! write lock (sleeping in SQLite's busy handler). Sending tasks hand their successes to one
//! task, which commits whatever has gathered while its previous commit ran: one transaction
//! at a time, as large as the load makes it, with no timer to wait for when all is quiet.
//!
//! Durability: a delivery is marked delivered a few milliseconds after its receiver accepted
//! it. If the process dies in between, the row is still queued under its lease and is sent
//! again (at once when a SQLite server restarts, when the lease runs out on PostgreSQL).
//! Delivery is at least once in any case; receivers drop an activity id they have seen.
//!
//! Retries and failures are rare and keep their own writes (`worker::record`).

use tokio::{sync::mpsc, task::JoinHandle};

use crate::store::{Store, deliveries::Delivered};

/// The most successes one transaction records.
const MAX_BATCH: usize = 512;

/// Where sending tasks report successes; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::UnboundedSender<Delivered>,
}

impl Recorder {
    /// Starts the recording task. It ends, after writing everything handed to it, once every
    /// clone of the returned `Recorder` is dropped; await the handle to know it is done.
    pub fn start(store: Store) -> (Self, JoinHandle<()>) {
        let (queue, received) = mpsc::unbounded_channel();
        (Self { queue }, tokio::spawn(run(store, received)))
    }

    pub fn delivered(&self, delivered: Delivered) {
        if let Err(lost) = self.queue.send(delivered) {
            // Only after shutdown began; the lease brings the delivery back, to be sent again.
            tracing::warn!(
                delivery = lost.0.id,
                "delivery recorder stopped; not recorded"
            );
        }
    }
}

async fn run(store: Store, mut received: mpsc::UnboundedReceiver<Delivered>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while received.recv_many(&mut batch, MAX_BATCH).await > 0 {
        if let Err(err) = store.record_delivered(&batch).await {
            // The rows stay queued under their leases and will be sent again: at least once.
            tracing::error!(count = batch.len(), error = %err, "could not record deliveries");
        }
        batch.clear();
    }
}
