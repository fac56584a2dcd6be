//! The signatories of a joint statement as pages and the API show them: the publishing
//! account first, then each co-signer, with name, handle and a link to its profile.

use serde::Serialize;
use url::Url;
use utoipa::ToSchema;

use crate::{
    domain::{Cosigner, LocalActor, Post, signatory::remote_profile},
    federation::urls,
};

/// One signatory of a post.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Signatory {
    /// The display name.
    pub name: String,
    /// `@username@host`.
    pub handle: String,
    /// The profile page people follow the link to.
    pub url: String,
    /// The ActivityPub actor id.
    pub ap_id: String,
    /// Whether the account is on this instance (it Announces the post to its followers).
    pub local: bool,
}

fn local(base: &Url, host: &str, username: &str, name: &str) -> Signatory {
    let id = urls::actor(base, username).to_string();
    Signatory {
        name: if name.trim().is_empty() {
            username.to_owned()
        } else {
            name.to_owned()
        },
        handle: format!("@{username}@{host}"),
        url: id.clone(),
        ap_id: id,
        local: true,
    }
}

/// Every signatory of `post`, the publisher first; empty for a post no one co-signs, which
/// shows its author as always.
pub fn signatories(base: &Url, host: &str, publisher: &LocalActor, post: &Post) -> Vec<Signatory> {
    if post.cosigners.is_empty() {
        return Vec::new();
    }
    let mut all = vec![local(
        base,
        host,
        publisher.username.as_str(),
        &publisher.name,
    )];
    all.extend(post.cosigners.iter().map(|cosigner| match cosigner {
        Cosigner::Local { username, name, .. } => local(base, host, username.as_str(), name),
        Cosigner::Remote(actor) => Signatory {
            name: cosigner.display_name().to_owned(),
            handle: actor.handle().to_string(),
            url: remote_profile(actor).to_string(),
            ap_id: actor.ap_id.to_string(),
            local: false,
        },
    }));
    all
}
