//! Following allied organizations: use cases that record the follow and queue the Follow (or
//! its Undo) in one transaction. The followed server answers with Accept or Reject, handled in
//! `activities::accept` and `activities::reject`.

use activitypub_federation::protocol::context::WithContext;
use url::Url;

use super::{
    activities::{follow, undo_follow},
    delivery::{self, Outgoing},
};
use crate::{
    domain::{LocalActor, RemoteActor},
    store::{Store, StoreError, Tx, followers::Following},
};

/// Starts following `remote`: pending until its server accepts.
pub async fn follow(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    remote: &RemoteActor,
) -> Result<Following, StoreError> {
    let mut tx = store.begin().await?;
    let following = queue_follow(&mut tx, base, actor, remote).await?;
    tx.commit().await?;
    Ok(following)
}

/// Records the follow of `remote` and queues its Follow, in the caller's transaction.
pub(crate) async fn queue_follow(
    tx: &mut Tx,
    base: &Url,
    actor: &LocalActor,
    remote: &RemoteActor,
) -> Result<Following, StoreError> {
    let activity = follow::follow_remote(base, actor, &remote.ap_id, crate::store::now_millis());
    let following = tx
        .upsert_following(actor.id, remote.id, activity.id.as_str())
        .await?;
    if following.follow_activity_id == activity.id.as_str() {
        let outgoing = Outgoing {
            ap_id: &activity.id,
            kind: "Follow",
            signer: Some(actor.id),
            post_id: None,
        };
        // A Follow goes to the followed account's own inbox.
        delivery::enqueue(
            tx,
            outgoing,
            &WithContext::new_default(activity.clone()),
            std::slice::from_ref(&remote.inbox),
        )
        .await?;
    }
    Ok(following)
}

/// Stops following `remote`; returns whether there was a follow to end.
pub async fn unfollow(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    remote: &RemoteActor,
) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    if !queue_unfollow(&mut tx, base, actor, remote).await? {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Ends the follow of `remote` and queues the Undo of its Follow, in the caller's
/// transaction; returns whether there was a follow to end.
pub(crate) async fn queue_unfollow(
    tx: &mut Tx,
    base: &Url,
    actor: &LocalActor,
    remote: &RemoteActor,
) -> Result<bool, StoreError> {
    let Some(following) = tx.remove_following(actor.id, remote.id).await? else {
        return Ok(false);
    };
    let sent = follow::Follow {
        id: Url::parse(&following.follow_activity_id).map_err(|_| {
            StoreError::Corrupt(format!("follow id {}", following.follow_activity_id))
        })?,
        kind: activitypub_federation::kinds::activity::FollowType::Follow,
        actor: super::urls::actor(base, actor.username.as_str()),
        object: remote.ap_id.clone(),
    };
    let undo = undo_follow::undo_follow(&sent);
    let outgoing = Outgoing {
        ap_id: &undo.id,
        kind: "Undo",
        signer: Some(actor.id),
        post_id: None,
    };
    delivery::enqueue(
        tx,
        outgoing,
        &WithContext::new_default(undo.clone()),
        std::slice::from_ref(&remote.inbox),
    )
    .await?;
    Ok(true)
}
