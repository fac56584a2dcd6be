//! Likes and boosts of our posts, written in groups. When a statement spreads, these are most
//! of what the inbox receives, thousands a minute. Written one transaction each, they queue
//! for SQLite's one write lock and spend their time passing each statement to the database's
//! thread and back. Here inbox requests hand their reaction to one task, which writes
//! whatever has gathered while its previous write ran in one transaction of four statements
//! ([`Store::record_reactions`]), as the delivery recorder does for successful deliveries.
//!
//! The inbox still answers 202 only once its reaction is committed: a request waits for the
//! group it went into. If the process stops first, the sender got no answer and sends it
//! again. If a group's transaction fails, each reaction in it is tried alone, so only the
//! one at fault (if any) fails, with a 500 that makes its sender retry; if the database could
//! not be reached at all, every request of the group gets its 500 at once.

use tokio::sync::{mpsc, oneshot};

use crate::store::{Store, StoreError, StoreResult, interactions::NewReaction};

/// The most reactions one transaction records.
const MAX_GROUP: usize = 256;

struct Pending {
    reaction: NewReaction,
    recorded: oneshot::Sender<StoreResult<bool>>,
}

/// Where inbox requests hand their likes and boosts; the writing task ends when this is
/// dropped.
pub struct Reactions {
    queue: mpsc::UnboundedSender<Pending>,
}

impl Reactions {
    /// Starts the writing task on the current runtime.
    pub fn start(store: Store) -> Self {
        let (queue, received) = mpsc::unbounded_channel();
        tokio::spawn(run(store, received));
        Self { queue }
    }

    /// Records `reaction` with whatever else arrived meanwhile; true if it was recorded now,
    /// false if its activity was seen before, its post is not published or its actor unknown.
    pub async fn record(&self, reaction: NewReaction) -> StoreResult<bool> {
        let (recorded, answer) = oneshot::channel();
        self.queue
            .send(Pending { reaction, recorded })
            .map_err(|_| StoreError::Stopped)?;
        answer.await.map_err(|_| StoreError::Stopped)?
    }
}

async fn run(store: Store, mut received: mpsc::UnboundedReceiver<Pending>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while received.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (reactions, answers): (Vec<_>, Vec<_>) =
            group.drain(..).map(|p| (p.reaction, p.recorded)).unzip();
        // A request may have gone meanwhile (its client hung up): its reaction is kept all
        // the same, and its answer has nobody to go to.
        match store.record_reactions(&reactions).await {
            Ok(recorded) => {
                for (answer, recorded) in answers.into_iter().zip(recorded) {
                    let _ = answer.send(Ok(recorded));
                }
            }
            Err(err) if err.is_unavailable() => {
                // Each alone would wait for the database in turn: all fail now, and their
                // senders retry later.
                tracing::warn!(count = reactions.len(), error = %err, "could not record a group of reactions");
                for answer in answers {
                    let _ = answer.send(Err(StoreError::Unavailable(err.to_string())));
                }
            }
            Err(err) => {
                tracing::warn!(count = reactions.len(), error = %err, "a group of reactions failed; writing each alone");
                for (reaction, answer) in reactions.iter().zip(answers) {
                    let alone = store
                        .record_reactions(std::slice::from_ref(reaction))
                        .await
                        .map(|recorded| recorded.first().copied().unwrap_or(false));
                    let _ = answer.send(alone);
                }
            }
        }
    }
}
