//! `Undo(Follow)`: incoming, a follower unfollows one of our accounts; outgoing, one of our
//! accounts unfollows someone.

use activitypub_federation::{config::Data, kinds::activity::UndoType, traits::Activity};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{begin_once, id_of};
use crate::{
    app::AppState,
    federation::{FederationError, urls},
};

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct UndoFollow {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: UndoType,
    pub actor: Url,
    /// The Follow being undone: embedded (Mastodon, Misskey, Pleroma, GoToSocial) or its id.
    pub object: Value,
}

/// Whether an Undo undoes a Follow (embedded, or named by an id we cannot type yet).
pub fn is_undo_follow(json: &Value) -> bool {
    match json.get("object") {
        Some(Value::Object(object)) => object.get("type").and_then(Value::as_str) == Some("Follow"),
        Some(Value::String(_)) => true,
        _ => false,
    }
}

#[async_trait]
impl Activity for UndoFollow {
    type DataType = AppState;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, _data: &Data<AppState>) -> Result<(), FederationError> {
        if let Some(follower) = self.object.get("actor").and_then(id_of)
            && follower != self.actor
        {
            return Err(FederationError::Invalid(
                "an actor can only undo its own Follow".into(),
            ));
        }
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> Result<(), FederationError> {
        let Some(remote) = data.store.remote_actor_by_ap_id(&self.actor).await? else {
            return Ok(()); // never followed us: nothing to undo
        };
        let follow_id = id_of(&self.object)
            .ok_or_else(|| FederationError::Invalid("the Undo names no Follow".into()))?;
        let target = self.object.get("object").and_then(id_of);
        let Some(mut tx) = begin_once(data, &self.id).await? else {
            return Ok(());
        };
        let removed = match target
            .as_ref()
            .and_then(|t| urls::username_of_actor(&data.config.base_url, t))
        {
            Some(username) => match data.store.actor_by_username(username).await? {
                Some(actor) => tx.remove_follower(actor.id, remote.id).await?,
                None => false,
            },
            None => {
                tx.remove_follower_by_follow_id(remote.id, follow_id.as_str())
                    .await?
            }
        };
        tx.commit().await?;
        tracing::info!(activity = %self.id, follower = %self.actor, removed, "unfollow received");
        Ok(())
    }
}

/// The Undo of a Follow one of our accounts sent, embedding it as Mastodon does.
pub fn undo_follow(follow: &super::follow::Follow) -> UndoFollow {
    let mut id = follow.id.clone();
    let fragment = format!("{}/undo", follow.id.fragment().unwrap_or("follow"));
    id.set_fragment(Some(&fragment));
    UndoFollow {
        id,
        kind: UndoType::Undo,
        actor: follow.actor.clone(),
        object: serde_json::to_value(follow).unwrap_or(Value::Null),
    }
}
