//! Boosting: an account shares a post with its followers (`Announce`) and can take it back.
//! Boosts are made by hand, by an account's rule for a followed ally ("boost all its posts",
//! "boost those tagged #x"), or by a group account (the International) for its members.
//! Each records the boost and queues the Announce in one transaction.

use url::Url;

use super::{
    activities::announce,
    delivery::{self, Outgoing},
};
use crate::{
    domain::LocalActor,
    store::{Store, StoreError, Tx, boosts::BoostRule},
};

/// The post being boosted: its id and, if known, its author (who is told of the boost).
#[derive(Debug, Clone)]
pub struct Boosted {
    pub object: Url,
    pub author: Option<Url>,
    pub author_inbox: Option<Url>,
}

/// Queues `actor`'s Announce of `boosted` in `tx`; false if it had boosted it already.
pub async fn queue_boost(
    tx: &mut Tx,
    base: &Url,
    actor: &LocalActor,
    boosted: &Boosted,
    automatic: bool,
) -> Result<bool, StoreError> {
    let activity = announce::announce(
        base,
        actor,
        &boosted.object,
        boosted.author.as_ref(),
        chrono::Utc::now(),
    );
    if !tx
        .insert_boost(actor.id, &boosted.object, &activity.id, automatic)
        .await?
    {
        return Ok(false);
    }
    let mut inboxes = tx.follower_inboxes(actor.id).await?;
    inboxes.extend(boosted.author_inbox.clone());
    let outgoing = Outgoing {
        ap_id: &activity.id,
        kind: "Announce",
        signer: Some(actor.id),
        post_id: None,
    };
    delivery::enqueue(tx, outgoing, &activity, &inboxes).await?;
    tx.bump_site_version().await?;
    Ok(true)
}

/// Boosts a post by hand; false if the account had boosted it already.
pub async fn boost(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    boosted: &Boosted,
) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    let new = queue_boost(&mut tx, base, actor, boosted, false).await?;
    tx.commit().await?;
    Ok(new)
}

/// Takes a boost back (`Undo(Announce)`); false if there was none.
pub async fn unboost(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    boosted: &Boosted,
) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    if !queue_unboost(&mut tx, base, actor, boosted).await? {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Removes `actor`'s boost of `boosted` and queues its `Undo(Announce)` in `tx`; false if
/// there was none.
pub async fn queue_unboost(
    tx: &mut Tx,
    base: &Url,
    actor: &LocalActor,
    boosted: &Boosted,
) -> Result<bool, StoreError> {
    let Some(announce_id) = tx.remove_boost(actor.id, &boosted.object).await? else {
        return Ok(false);
    };
    let undo = announce::undo_announce(
        base,
        actor,
        &announce_id,
        &boosted.object,
        boosted.author.as_ref(),
    );
    let mut inboxes = tx.follower_inboxes(actor.id).await?;
    inboxes.extend(boosted.author_inbox.clone());
    let outgoing = Outgoing {
        ap_id: &undo.id,
        kind: "Undo",
        signer: Some(actor.id),
        post_id: None,
    };
    delivery::enqueue(tx, outgoing, &undo, &inboxes).await?;
    tx.bump_site_version().await?;
    Ok(true)
}

/// Whether a rule boosts a post with these hashtags (lower case, without `#`).
pub fn rule_matches(rule: &BoostRule, tags: &[String]) -> bool {
    match rule {
        BoostRule::All => true,
        BoostRule::Tags(wanted) => tags.iter().any(|tag| wanted.contains(&tag.to_lowercase())),
    }
}

/// After a local post is published: every group account it belongs to relays it.
pub async fn relay_to_groups(
    tx: &mut Tx,
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    post_id: &Url,
) -> Result<(), StoreError> {
    for group_id in tx.groups_of_local(actor.id).await? {
        let Some(group) = store.actor_by_id(group_id).await? else {
            continue;
        };
        let boosted = Boosted {
            object: post_id.clone(),
            author: None,
            author_inbox: None,
        };
        queue_boost(tx, base, &group, &boosted, true).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_rules_match_case_insensitively() {
        let rule = BoostRule::Tags(vec!["solidarity".into()]);
        assert!(rule_matches(&rule, &["Solidarity".into()]));
        assert!(!rule_matches(&rule, &["other".into()]));
        assert!(rule_matches(&BoostRule::All, &[]));
    }
}
