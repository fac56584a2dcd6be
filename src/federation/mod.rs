//! ActivityPub: wire types (`protocol`), the objects we fetch (`objects`), one file per
//! activity (`activities`), the inbox pipeline, HTTP Signatures and the durable delivery queue.
//!
//! `activitypub_federation` supplies the request data (`Data`), fetching and refreshing remote
//! actors (`ObjectId::dereference`, signed by the instance actor), the `Object`/`Activity`
//! traits and protocol helpers. Signatures and delivery are ours: the crate's inbox fetches an
//! actor before it has seen a signature and its queue lives in memory, while ours checks the
//! signature first and keeps every delivery in the database until it is done.

pub mod activities;
pub mod boosts;
pub mod cosign;
pub mod delivery;
pub mod follows;
pub mod http_client;
pub mod inbox;
pub mod keys;
pub mod migration;
pub mod moderation;
pub mod objects;
pub mod profile;
pub mod protocol;
pub mod publish;
pub mod rate_limit;
pub mod reactions;
pub mod signatures;
pub mod signed_fetch;
pub mod translations;
pub mod urls;
pub mod webfinger;

use activitypub_federation::config::Data;

use crate::{app::AppState, store::StoreError};

/// Request data handed to federation code: the app state plus the crate's fetch settings.
pub type FederationData = Data<AppState>;

/// What can go wrong while talking to other servers.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("fetching a remote object failed: {0}")]
    Fetch(#[from] activitypub_federation::error::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid remote data: {0}")]
    Invalid(String),
    #[error("{0}")]
    Key(#[from] keys::KeyError),
    #[error(transparent)]
    Target(#[from] http_client::TargetError),
}

impl FederationError {
    /// Whether the remote object was deleted at its origin (it answered 410 Gone).
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            Self::Fetch(activitypub_federation::error::Error::ObjectDeleted(_))
        )
    }
}
