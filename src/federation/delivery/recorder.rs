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
//!
//! When the database refuses a batch (PostgreSQL restarting, the network to it broken), the
//! batch is written again with growing pauses for up to [`KEEP_TRYING`], so the deliveries
//! that succeeded meanwhile are not sent a second time when their leases run out. Once
//! shutdown has begun, one try is all a batch gets.

use std::time::Duration;

use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

use crate::store::{Store, deliveries::Delivered};

/// The most successes one transaction records.
const MAX_BATCH: usize = 512;
/// How long a batch the database refused is tried again (well inside the 120 s lease).
const KEEP_TRYING: Duration = Duration::from_secs(60);
/// The longest pause between two tries.
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// Where sending tasks report successes; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::UnboundedSender<Delivered>,
}

impl Recorder {
    /// Starts the recording task. It ends, after writing everything handed to it, once every
    /// clone of the returned `Recorder` is dropped; await the handle to know it is done.
    pub fn start(store: Store, stopping: watch::Receiver<bool>) -> (Self, JoinHandle<()>) {
        let (queue, received) = mpsc::unbounded_channel();
        (Self { queue }, tokio::spawn(run(store, received, stopping)))
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

async fn run(
    store: Store,
    mut received: mpsc::UnboundedReceiver<Delivered>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while received.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let Err(err) = store.record_delivered(&batch).await else {
                break;
            };
            if *stopping.borrow() || started.elapsed() >= KEEP_TRYING {
                // The rows stay queued under their leases and will be sent again: at least
                // once.
                tracing::error!(count = batch.len(), error = %err, "could not record deliveries");
                break;
            }
            tracing::warn!(count = batch.len(), error = %err, "could not record deliveries; trying again");
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                // A closed channel (Err) leaves the pause to decide.
                Ok(()) = stopping.changed() => {}
            }
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
        batch.clear();
    }
}
