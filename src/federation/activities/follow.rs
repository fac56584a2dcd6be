//! `Follow`: incoming, someone on another server follows one of our accounts (accepted at
//! once, or kept pending for an editor when the account approves followers by hand);
//! outgoing, one of our accounts follows an allied organization.

use activitypub_federation::{config::Data, kinds::activity::FollowType, traits::Activity};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use url::Url;

use super::{accept, begin_once};
use crate::{
    app::AppState,
    domain::FollowState,
    federation::{FederationError, delivery, objects::remote_actor::ApRemoteActor, urls},
};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Follow {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: FollowType,
    pub actor: Url,
    #[serde(deserialize_with = "crate::federation::activities::follow::one_id")]
    pub object: Url,
}

/// Some servers embed the followed actor instead of naming it.
pub(crate) fn one_id<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    super::id_of(&value).ok_or_else(|| serde::de::Error::custom("object has no id"))
}

#[async_trait]
impl Activity for Follow {
    type DataType = AppState;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, data: &Data<AppState>) -> Result<(), FederationError> {
        if urls::username_of_actor(&data.config.base_url, &self.object).is_none() {
            return Err(FederationError::Invalid(format!(
                "{} is not an account here",
                self.object
            )));
        }
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> Result<(), FederationError> {
        let base = &data.config.base_url;
        let username = urls::username_of_actor(base, &self.object).unwrap_or_default();
        let target = data
            .store
            .actor_by_username(username)
            .await?
            .ok_or_else(|| {
                FederationError::Invalid(format!("{} is not an account here", self.object))
            })?;
        let follower = activitypub_federation::fetch::object_id::ObjectId::<ApRemoteActor>::from(
            self.actor.clone(),
        )
        .dereference(data)
        .await?;
        let Some(mut tx) = begin_once(data, &self.id).await? else {
            return Ok(());
        };
        let wanted = FollowState::for_new_follow(target.manually_approves_followers);
        let (follower_id, state) = tx
            .upsert_follower(target.id, follower.0.id, self.id.as_str(), wanted)
            .await?;
        // Follows that arrive after a Move to this account are recorded as such.
        crate::federation::migration::note_follow(&mut tx, target.id, follower_id).await?;
        if state == FollowState::Accepted {
            let accept = accept::accept_follow(base, &target, follower_id, &self);
            let outgoing = delivery::Outgoing {
                ap_id: &accept.id,
                kind: "Accept",
                signer: Some(target.id),
                post_id: None,
            };
            let inbox = follower.0.delivery_inbox().clone();
            delivery::enqueue(&mut tx, outgoing, &accept, &[inbox]).await?;
        }
        tx.commit().await?;
        tracing::info!(activity = %self.id, follower = %self.actor, account = %username, state = state.as_str(), "follow received");
        Ok(())
    }
}

/// The Follow one of our accounts sends; its id names the follow row and the moment, so a
/// follow after an unfollow is a new activity.
pub fn follow_remote(
    base: &Url,
    actor: &crate::domain::LocalActor,
    remote: &Url,
    at_millis: i64,
) -> Follow {
    let actor_id = urls::actor(base, actor.username.as_str());
    let mut id = actor_id.clone();
    id.set_fragment(Some(&format!("follows/{at_millis}")));
    Follow {
        id,
        kind: FollowType::Follow,
        actor: actor_id,
        object: remote.clone(),
    }
}
