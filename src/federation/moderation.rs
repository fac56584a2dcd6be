//! Moderation use cases: blocking a domain or an actor (and lifting the block), and importing
//! a domain blocklist.
//!
//! A block is enforced in three places: the inbox refuses the blocked sender's activities with
//! 403 (`inbox.rs`, by the claimed actor id, before anything is fetched), `delivery::enqueue`
//! leaves the blocked inboxes out, and the block itself removes what already ties us to them
//! (follows both ways, kept posts, queued deliveries) in the same transaction that records it.
//! Nothing is sent to the blocked side: a Reject or Undo would be a delivery to them.

use url::Url;

use crate::{
    domain::{
        BlockedDomain,
        blocklist::{self, InvalidLine, Severity},
    },
    store::{Store, StoreError, blocks::Purged},
};

/// What a block did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockOutcome {
    /// False when the block was there already (what it covers is cleared again all the same).
    pub added: bool,
    pub purged: Purged,
}

/// Blocks a domain and its subdomains.
pub async fn block_domain(
    store: &Store,
    domain: &BlockedDomain,
    comment: &str,
) -> Result<BlockOutcome, StoreError> {
    let mut tx = store.begin().await?;
    let added = tx.insert_domain_block(domain, comment).await?;
    let purged = tx.purge_domains(std::slice::from_ref(domain)).await?;
    tx.commit().await?;
    tracing::info!(%domain, added, ?purged, "domain blocked");
    Ok(BlockOutcome { added, purged })
}

/// Blocks one remote actor, known to us or not.
pub async fn block_actor(store: &Store, ap_id: &Url) -> Result<BlockOutcome, StoreError> {
    let mut tx = store.begin().await?;
    let added = tx.insert_actor_block(ap_id).await?;
    let purged = tx.purge_actor(ap_id).await?;
    tx.commit().await?;
    tracing::info!(actor = %ap_id, added, ?purged, "actor blocked");
    Ok(BlockOutcome { added, purged })
}

/// Lifts a domain block; returns whether there was one. Follows it removed stay removed.
pub async fn unblock_domain(store: &Store, domain: &BlockedDomain) -> Result<bool, StoreError> {
    store.remove_domain_block(domain).await
}

/// Lifts an actor block; returns whether there was one.
pub async fn unblock_actor(store: &Store, ap_id: &Url) -> Result<bool, StoreError> {
    store.remove_actor_block(ap_id).await
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Domains newly blocked.
    pub added: Vec<BlockedDomain>,
    /// Domains with `suspend` that were blocked already.
    pub already: usize,
    /// Domains with a severity Broadside does not apply (`silence`, `noop`).
    pub skipped: Vec<(BlockedDomain, Severity)>,
    /// Records that could not be read.
    pub invalid: Vec<InvalidLine>,
    pub purged: Purged,
}

/// Imports a domain blocklist (Mastodon's CSV export, or one domain per line): every
/// `suspend` entry is blocked, in one transaction. Importing the same list again adds nothing.
pub async fn import_blocklist(store: &Store, text: &str) -> Result<ImportOutcome, StoreError> {
    let list = blocklist::parse(text);
    let mut outcome = ImportOutcome {
        invalid: list.invalid,
        ..ImportOutcome::default()
    };
    let mut tx = store.begin().await?;
    for entry in list.entries {
        if entry.severity != Severity::Suspend {
            outcome.skipped.push((entry.domain, entry.severity));
        } else if tx
            .insert_domain_block(&entry.domain, &entry.comment)
            .await?
        {
            outcome.added.push(entry.domain);
        } else {
            outcome.already += 1;
        }
    }
    outcome.purged = tx.purge_domains(&outcome.added).await?;
    tx.commit().await?;
    tracing::info!(
        added = outcome.added.len(),
        already = outcome.already,
        skipped = outcome.skipped.len(),
        invalid = outcome.invalid.len(),
        "blocklist imported"
    );
    Ok(outcome)
}
