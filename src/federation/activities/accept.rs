//! `Accept`: we accept a Follow of one of our accounts.

use activitypub_federation::kinds::activity::AcceptType;
use serde::Serialize;
use serde_json::Value;
use url::Url;

use super::follow::Follow;
use crate::{
    domain::LocalActor,
    federation::{protocol::context, urls},
};

#[derive(Debug, Clone, Serialize)]
pub struct Accept {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: AcceptType,
    pub actor: Url,
    /// The Follow as received, so the follower can match it to its request.
    pub object: Follow,
    pub to: Vec<Url>,
}

/// The Accept of `follow`; its id names the follower row (a repeated Follow is answered with
/// the same id; a follow after an Undo gets a new row and so a new id).
pub fn accept_follow(base: &Url, actor: &LocalActor, follower_id: i64, follow: &Follow) -> Accept {
    let actor_id = urls::actor(base, actor.username.as_str());
    let mut id = actor_id.clone();
    id.set_fragment(Some(&format!("accepts/follows/{follower_id}")));
    Accept {
        context: context::activity(),
        id,
        kind: AcceptType::Accept,
        actor: actor_id,
        to: vec![follow.actor.clone()],
        object: follow.clone(),
    }
}

/// An editor approves a pending follow request: the follower is accepted and the Accept
/// queued in one transaction.
pub async fn approve_pending(
    store: &crate::store::Store,
    base: &Url,
    actor: &LocalActor,
    follower: &crate::domain::Follower,
) -> Result<(), crate::store::StoreError> {
    let follow = Follow {
        id: Url::parse(&follower.follow_activity_id).map_err(|_| {
            crate::store::StoreError::Corrupt(format!("follow id {}", follower.follow_activity_id))
        })?,
        kind: activitypub_federation::kinds::activity::FollowType::Follow,
        actor: follower.remote.ap_id.clone(),
        object: urls::actor(base, actor.username.as_str()),
    };
    let accept = accept_follow(base, actor, follower.id, &follow);
    let mut tx = store.begin().await?;
    tx.set_follower_state(follower.id, crate::domain::FollowState::Accepted)
        .await?;
    let outgoing = crate::federation::delivery::Outgoing {
        ap_id: &accept.id,
        kind: "Accept",
        signer: Some(actor.id),
        post_id: None,
    };
    let inbox = follower.remote.delivery_inbox().clone();
    crate::federation::delivery::enqueue(&mut tx, outgoing, &accept, &[inbox]).await?;
    // The follower count on the account's page changes.
    tx.bump_site_version().await?;
    tx.commit().await
}

/// An Accept of one of our Follows, received from the followed account's server.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReceivedAccept {
    pub id: Url,
    pub actor: Url,
    /// Our Follow, embedded or by id.
    pub object: Value,
}

#[async_trait::async_trait]
impl activitypub_federation::traits::Activity for ReceivedAccept {
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
            crate::federation::FederationError::Invalid("the Accept names no Follow".into())
        })?;
        let Some(mut tx) = super::begin_once(data, &self.id).await? else {
            return Ok(());
        };
        let ours = tx.accept_following(remote.id, follow.as_str()).await?;
        tx.commit().await?;
        tracing::info!(activity = %self.id, follow = %follow, ours, "follow accepted");
        Ok(())
    }
}
