//! Joint statements: the accounts that co-sign a post beside the account that publishes it.
//! A co-signer of this instance shares the post with its own followers; one elsewhere is
//! named in the post so that its server learns of it.

use url::Url;

use super::{RemoteActor, Username};

/// An account that co-signs a post, as stored with it (the publisher is not one: it is the
/// post's own account, always listed first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cosigner {
    /// One of this instance's accounts.
    Local {
        id: i64,
        username: Username,
        name: String,
    },
    /// An account on another server, as last fetched (boxed: it is far larger than a local
    /// one).
    Remote(Box<RemoteActor>),
}

/// A co-signer named by whoever writes the post, before it is resolved: what the CLI's
/// `--cosign` and the API's `cosign` take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CosignerRef {
    /// A local account, by its row id.
    Local(i64),
    /// A remote account already resolved and stored, by its `remote_actors` row id.
    Remote(i64),
}

impl Cosigner {
    /// The reference the store keeps for it.
    pub fn reference(&self) -> CosignerRef {
        match self {
            Self::Local { id, .. } => CosignerRef::Local(*id),
            Self::Remote(actor) => CosignerRef::Remote(actor.id),
        }
    }

    /// The name people see: the account's display name, else its username.
    pub fn display_name(&self) -> &str {
        match self {
            Self::Local { name, username, .. } => {
                if name.trim().is_empty() {
                    username.as_str()
                } else {
                    name
                }
            }
            Self::Remote(actor) => actor
                .name
                .as_deref()
                .filter(|name| !name.trim().is_empty())
                .unwrap_or(&actor.username),
        }
    }

    /// The remote account, if this co-signer is on another server.
    pub fn remote(&self) -> Option<&RemoteActor> {
        match self {
            Self::Local { .. } => None,
            Self::Remote(actor) => Some(actor.as_ref()),
        }
    }

    /// The local account's id, if this co-signer is one of ours.
    pub fn local_id(&self) -> Option<i64> {
        match self {
            Self::Local { id, .. } => Some(*id),
            Self::Remote(_) => None,
        }
    }
}

/// The profile page of a remote co-signer for readers: its `url` when that is a web link
/// (another server chose it: never a `javascript:` one), else its actor id.
pub fn remote_profile(actor: &RemoteActor) -> &Url {
    actor
        .url
        .as_ref()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .unwrap_or(&actor.ap_id)
}
