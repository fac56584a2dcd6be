//! `Reject`: an editor declines a pending Follow of one of our accounts.

use activitypub_federation::kinds::activity::RejectType;
use serde::Serialize;
use serde_json::{Value, json};
use url::Url;

use crate::{
    domain::{Follower, LocalActor},
    federation::{protocol::context, urls},
};

#[derive(Debug, Clone, Serialize)]
pub struct Reject {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: RejectType,
    pub actor: Url,
    pub object: Value,
    pub to: Vec<Url>,
}

pub fn reject_follow(base: &Url, actor: &LocalActor, follower: &Follower) -> Reject {
    let actor_id = urls::actor(base, actor.username.as_str());
    let mut id = actor_id.clone();
    id.set_fragment(Some(&format!("rejects/follows/{}", follower.id)));
    Reject {
        context: context::activity(),
        id,
        kind: RejectType::Reject,
        object: json!({
            "id": follower.follow_activity_id,
            "type": "Follow",
            "actor": follower.remote.ap_id,
            "object": actor_id,
        }),
        actor: actor_id,
        to: vec![follower.remote.ap_id.clone()],
    }
}

/// An editor declines a follow request or removes a follower: the row goes and the Reject is
/// queued in one transaction.
pub async fn reject_follower(
    store: &crate::store::Store,
    base: &Url,
    actor: &LocalActor,
    follower: &Follower,
) -> Result<(), crate::store::StoreError> {
    let reject = reject_follow(base, actor, follower);
    let mut tx = store.begin().await?;
    tx.remove_follower(actor.id, follower.remote.id).await?;
    let outgoing = crate::federation::delivery::Outgoing {
        ap_id: &reject.id,
        kind: "Reject",
        signer: Some(actor.id),
        post_id: None,
    };
    let inbox = follower.remote.delivery_inbox().clone();
    crate::federation::delivery::enqueue(&mut tx, outgoing, &reject, &[inbox]).await?;
    // The follower count on the account's page changes.
    tx.bump_site_version().await?;
    tx.commit().await
}

/// A Reject of one of our Follows (or the end of an accepted one), received from the followed account's server.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReceivedReject {
    pub id: Url,
    pub actor: Url,
    /// Our Follow, embedded or by id.
    pub object: Value,
}

#[async_trait::async_trait]
impl activitypub_federation::traits::Activity for ReceivedReject {
    type DataType = crate::app::AppState;
    type Error = crate::federation::FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(
        &self,
        _data: &activitypub_federation::config::Data<Self::DataType>,
    ) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn receive(
        self,
        data: &activitypub_federation::config::Data<Self::DataType>,
    ) -> Result<(), Self::Error> {
        let Some(remote) = data.store.remote_actor_by_ap_id(&self.actor).await? else {
            return Ok(());
        };
        let follow = super::id_of(&self.object).ok_or_else(|| {
            crate::federation::FederationError::Invalid("the Reject names no Follow".into())
        })?;
        let Some(mut tx) = super::begin_once(data, &self.id).await? else {
            return Ok(());
        };
        let ours = tx
            .remove_following_by_follow_id(remote.id, follow.as_str())
            .await?;
        tx.commit().await?;
        tracing::info!(activity = %self.id, follow = %follow, ours, "follow rejected");
        Ok(())
    }
}
