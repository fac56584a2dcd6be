//! `Undo` of a `Like` or an `Announce` of one of our posts: the count goes down; `Undo` of a
//! followed account's `Announce` of someone else's post: the boost leaves the Network timeline.
//! (`Undo` of a `Follow` has its own file, `undo_follow.rs`.)

use activitypub_federation::{config::Data, traits::Activity};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{begin_once, id_of};
use crate::{
    app::AppState,
    federation::{FederationError, urls},
    store::interactions::InteractionKind,
};

#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedUndo {
    pub id: Url,
    pub actor: Url,
    /// The Like or Announce, embedded (with its own `object`) or by id.
    pub object: Value,
}

/// Whether an Undo takes back a Like or an Announce (embedded, so its type is known).
pub fn is_undo_of_interaction(json: &Value) -> bool {
    matches!(
        json.get("object")
            .and_then(|o| o.get("type"))
            .and_then(Value::as_str),
        Some("Like" | "Announce")
    )
}

#[async_trait]
impl Activity for ReceivedUndo {
    type DataType = AppState;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, _data: &Data<AppState>) -> Result<(), FederationError> {
        if let Some(undone_actor) = self.object.get("actor").and_then(id_of)
            && undone_actor != self.actor
        {
            return Err(FederationError::Invalid(
                "an actor can only undo its own activities".into(),
            ));
        }
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> Result<(), FederationError> {
        let Some(remote) = data.store.remote_actor_by_ap_id(&self.actor).await? else {
            return Ok(());
        };
        let undone = id_of(&self.object)
            .ok_or_else(|| FederationError::Invalid("the Undo names nothing".into()))?;
        let kind = match self.object.get("type").and_then(Value::as_str) {
            Some("Announce") => InteractionKind::Announce,
            _ => InteractionKind::Like,
        };
        let object = self.object.get("object").and_then(id_of);
        let post = object
            .as_ref()
            .and_then(|object| urls::post_id_of(&data.config.base_url, object));
        let Some(mut tx) = begin_once(data, &self.id).await? else {
            return Ok(());
        };
        // By the activity's id; some servers give the Like a new id in the Undo, so fall back
        // to "this actor's like of this post".
        let mut removed = tx.remove_interaction(&undone, remote.id).await?;
        if !removed && let Some(post_id) = post {
            removed = tx.remove_interaction_of(kind, post_id, remote.id).await?;
        }
        // A followed account taking back its boost of someone else's post.
        if !removed && matches!(kind, InteractionKind::Announce) && post.is_none() {
            removed = tx
                .remove_remote_announce(&undone, remote.id, object.as_ref())
                .await?;
        }
        // What was removed has told the page cache itself; an Undo of nothing writes nothing
        // but its id.
        tx.commit().await?;
        tracing::info!(activity = %self.id, undone = %undone, removed, "interaction taken back");
        Ok(())
    }
}
