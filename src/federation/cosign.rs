//! Joint statements: a post co-signed by several accounts. The publishing account sends the
//! `Create` to its followers as for any post; each co-signer of this instance `Announce`s it
//! to its own followers (a boost, through [`super::boosts`], so a server that follows both
//! receives both, as for any boost); each co-signer elsewhere is mentioned and its inbox
//! receives the post. A correction goes to the followers of every local signatory, and a
//! retraction takes the co-signers' Announces back (`Undo`) besides deleting the post.

use url::Url;

use super::{
    FederationData,
    boosts::{self, Boosted},
    urls, webfinger,
};
use crate::{
    config::authority,
    domain::{Cosigner, Handle, LocalActor, Post},
    store::{Store, StoreError, Tx},
};

#[derive(Debug, thiserror::Error)]
pub enum CosignError {
    #[error("there is no account `{0}` on this server to co-sign")]
    UnknownLocal(String),
    #[error("{0} could not be found: check the handle or URL, or try again later")]
    Unresolved(String),
    #[error("{0} is blocked on this server and cannot co-sign")]
    Blocked(String),
    #[error("`{0}` publishes the post; name only the other signatories")]
    Publisher(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a writer typed for one co-signer, sorted: one of our accounts, or one elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Named {
    Local(String),
    Remote(String),
}

/// A local username (`intl`, `@intl`, `@intl@our.host`, our actor URL) or anything else
/// (`@org@other.example`, another server's actor URL).
fn classify(base: &Url, name: &str) -> Named {
    let name = name.trim();
    if let Ok(url) = Url::parse(name)
        && matches!(url.scheme(), "http" | "https")
    {
        return match urls::username_of_actor(base, &url) {
            Some(username) => Named::Local(username.to_owned()),
            None => Named::Remote(name.to_owned()),
        };
    }
    match Handle::parse(name) {
        Ok(handle) if handle.host.eq_ignore_ascii_case(&authority(base)) => {
            Named::Local(handle.user)
        }
        Ok(_) => Named::Remote(name.to_owned()),
        Err(_) => Named::Local(name.trim_start_matches('@').to_owned()),
    }
}

/// Resolves the co-signers a writer named, in order, dropping repeats. Remote ones are
/// looked up (WebFinger or the actor URL, through the SSRF-checked client) and stored; an
/// account that cannot be found or is blocked stops the publication with a clear error, as
/// a signature must not silently disappear from a statement.
pub async fn resolve(
    data: &FederationData,
    publisher: &LocalActor,
    names: &[String],
) -> Result<Vec<Cosigner>, CosignError> {
    let base = &data.config.base_url;
    let mut cosigners: Vec<Cosigner> = Vec::new();
    for name in names.iter().filter(|n| !n.trim().is_empty()) {
        let cosigner = match classify(base, name) {
            Named::Local(username) => {
                let actor = data
                    .store
                    .actor_by_username(&username)
                    .await?
                    .ok_or_else(|| CosignError::UnknownLocal(username.clone()))?;
                if actor.id == publisher.id {
                    return Err(CosignError::Publisher(username));
                }
                Cosigner::Local {
                    id: actor.id,
                    username: actor.username,
                    name: actor.name,
                }
            }
            Named::Remote(target) => {
                let remote = webfinger::resolve_target(data, &target)
                    .await
                    .map_err(|err| {
                        // The cause may name addresses we fetched from; it stays in the log.
                        tracing::info!(%target, error = %err, "co-signer not found");
                        CosignError::Unresolved(target.clone())
                    })?
                    .0;
                if data.store.block_covering(&remote.ap_id).await?.is_some() {
                    return Err(CosignError::Blocked(remote.handle().to_string()));
                }
                Cosigner::Remote(Box::new(remote))
            }
        };
        if !cosigners
            .iter()
            .any(|c| c.reference() == cosigner.reference())
        {
            cosigners.push(cosigner);
        }
    }
    Ok(cosigners)
}

/// The post as its co-signers boost it: its id, by the publishing account.
fn boosted(base: &Url, publisher: &LocalActor, post: &Post) -> Boosted {
    Boosted {
        object: urls::post(base, publisher.username.as_str(), post.id),
        author: Some(urls::actor(base, publisher.username.as_str())),
        // The publisher is ours: nothing needs delivering to tell it.
        author_inbox: None,
    }
}

/// The local co-signers as accounts that can sign; a moved one publishes nothing more.
async fn local_cosigners(store: &Store, post: &Post) -> Result<Vec<LocalActor>, StoreError> {
    let mut actors = Vec::new();
    for id in post.cosigners.iter().filter_map(Cosigner::local_id) {
        if let Some(actor) = store.actor_by_id(id).await?
            && actor.moved_to.is_none()
        {
            actors.push(actor);
        }
    }
    Ok(actors)
}

/// Queues each local co-signer's Announce of a post just published, in its transaction.
pub async fn queue_announces(
    tx: &mut Tx,
    store: &Store,
    base: &Url,
    publisher: &LocalActor,
    post: &Post,
) -> Result<(), StoreError> {
    let boosted = boosted(base, publisher, post);
    for cosigner in local_cosigners(store, post).await? {
        boosts::queue_boost(tx, base, &cosigner, &boosted, true).await?;
    }
    Ok(())
}

/// Queues each local co-signer's Undo of its Announce of a post being retracted.
pub async fn queue_unshares(
    tx: &mut Tx,
    store: &Store,
    base: &Url,
    publisher: &LocalActor,
    post: &Post,
) -> Result<(), StoreError> {
    let boosted = boosted(base, publisher, post);
    for cosigner in local_cosigners(store, post).await? {
        boosts::queue_unboost(tx, base, &cosigner, &boosted).await?;
    }
    Ok(())
}

/// The inboxes of every remote co-signer (its server's shared inbox when it has one, as for
/// mentions): they receive everything the post's followers do.
pub fn remote_inboxes(post: &Post) -> impl Iterator<Item = Url> + '_ {
    post.cosigners
        .iter()
        .filter_map(Cosigner::remote)
        .map(|actor| actor.delivery_inbox().clone())
}

/// The followers' inboxes of every local co-signer: a correction or retraction reaches
/// those who saw the post through a co-signer's Announce.
pub async fn local_follower_inboxes(tx: &mut Tx, post: &Post) -> Result<Vec<Url>, StoreError> {
    let mut inboxes = Vec::new();
    for id in post.cosigners.iter().filter_map(Cosigner::local_id) {
        inboxes.extend(tx.follower_inboxes(id).await?);
    }
    Ok(inboxes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn local_names_handles_and_urls_are_told_from_remote_ones() {
        let base = Url::parse("https://broadside.example").unwrap();
        let local = |name: &str| Named::Local(name.to_owned());
        assert_eq!(classify(&base, "intl"), local("intl"));
        assert_eq!(classify(&base, "@intl"), local("intl"));
        assert_eq!(classify(&base, "@intl@broadside.example"), local("intl"));
        assert_eq!(
            classify(&base, "https://broadside.example/users/intl"),
            local("intl")
        );
        assert_eq!(
            classify(&base, "@org@other.example"),
            Named::Remote("@org@other.example".into())
        );
        assert_eq!(
            classify(&base, "https://other.example/users/org"),
            Named::Remote("https://other.example/users/org".into())
        );
    }
}
