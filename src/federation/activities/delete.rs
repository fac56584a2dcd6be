//! `Delete`: incoming, an account on another server was deleted (forget it and its
//! follows); outgoing, one of our posts is retracted (followers' copies are removed).

use activitypub_federation::{config::Data, kinds::activity::DeleteType, traits::Activity};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{begin_once, id_of};
use crate::{app::AppState, federation::FederationError};

#[derive(Debug, Clone, Deserialize)]
pub struct DeleteActor {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: DeleteType,
    pub actor: Url,
    pub object: Value,
}

/// Whether a Delete is an actor deleting itself (rather than one of its posts).
pub fn deletes_its_actor(json: &Value) -> bool {
    let actor = json.get("actor").and_then(id_of);
    let object = json.get("object").and_then(id_of);
    actor.is_some() && actor == object
}

#[async_trait]
impl Activity for DeleteActor {
    type DataType = AppState;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, _data: &Data<AppState>) -> Result<(), FederationError> {
        if id_of(&self.object).as_ref() != Some(&self.actor) {
            return Err(FederationError::Invalid(
                "an actor can only delete itself".into(),
            ));
        }
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> Result<(), FederationError> {
        let Some(mut tx) = begin_once(data, &self.id).await? else {
            return Ok(());
        };
        let known = tx.delete_remote_actor(&self.actor).await?;
        tx.commit().await?;
        tracing::info!(activity = %self.id, actor = %self.actor, known, "remote actor deleted");
        Ok(())
    }
}

/// The Delete we send when a post is retracted: the object is its Tombstone.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeletePost {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: DeleteType,
    pub actor: Url,
    pub to: Vec<Url>,
    pub cc: Vec<Url>,
    pub object: crate::federation::protocol::post::Tombstone,
}

pub fn delete_post(
    post: &crate::domain::Post,
    actor: &crate::domain::LocalActor,
    base: &Url,
) -> DeletePost {
    use crate::federation::{objects::post, protocol::context, urls};
    let (to, cc) = post::audience(post, actor, base);
    DeletePost {
        context: context::activity(),
        id: urls::post_delete(base, actor.username.as_str(), post.id),
        kind: DeleteType::Delete,
        actor: urls::actor(base, actor.username.as_str()),
        to,
        cc,
        object: post::post_to_tombstone(post, actor, base, false),
    }
}

/// A Delete of a post (by id, or a Tombstone), received from its author's server.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedDeletePost {
    pub id: Url,
    pub actor: Url,
    pub object: Value,
}

#[async_trait]
impl Activity for ReceivedDeletePost {
    type DataType = AppState;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, _data: &Data<AppState>) -> Result<(), FederationError> {
        let object = id_of(&self.object)
            .ok_or_else(|| FederationError::Invalid("the Delete names no object".into()))?;
        if object.origin() != self.actor.origin() {
            return Err(FederationError::Invalid(
                "an actor can only delete its own posts".into(),
            ));
        }
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> Result<(), FederationError> {
        let Some(remote) = data.store.remote_actor_by_ap_id(&self.actor).await? else {
            return Ok(());
        };
        let object = id_of(&self.object)
            .ok_or_else(|| FederationError::Invalid("the Delete names no object".into()))?;
        let Some(mut tx) = begin_once(data, &self.id).await? else {
            return Ok(());
        };
        let removed = tx.delete_remote_post(&object, remote.id).await?;
        // A reply to or mention of our posts, deleted by its author, goes too (the store
        // marks the post's page changed).
        let withdrawn = tx
            .remove_interactions_with_object(&object, remote.id)
            .await?;
        tx.commit().await?;
        tracing::info!(activity = %self.id, object = %object, removed, withdrawn, "remote post deleted");
        Ok(())
    }
}
