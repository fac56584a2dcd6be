//! `Move`: an account moved to another, and its followers should follow the new one.
//! Incoming, the old account (the Move's actor and object) names its new account as
//! `target`, which must list the old one in its `alsoKnownAs`; what happens then is in
//! [`crate::federation::migration::receive_move`]. Outgoing, one of our accounts moves away
//! ([`crate::federation::migration::move_account`]).

use activitypub_federation::{config::Data, kinds::activity::MoveType, traits::Activity};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::{
    app::AppState,
    domain::LocalActor,
    federation::{FederationError, migration, protocol::context, urls},
};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Move {
    #[serde(
        rename = "@context",
        default,
        skip_deserializing,
        skip_serializing_if = "Value::is_null"
    )]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: MoveType,
    pub actor: Url,
    /// The account that moved: the actor itself (a bare id or an embedded object).
    #[serde(deserialize_with = "super::follow::one_id")]
    pub object: Url,
    /// The account it moved to.
    #[serde(deserialize_with = "super::follow::one_id")]
    pub target: Url,
    /// Addressing is not read from incoming Moves (Mastodon sends none).
    #[serde(default, skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<Url>,
}

#[async_trait]
impl Activity for Move {
    type DataType = AppState;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, _data: &Data<AppState>) -> Result<(), FederationError> {
        if self.object != self.actor {
            return Err(FederationError::Invalid(
                "a Move's object must be its actor: an account can only move itself".into(),
            ));
        }
        if self.target == self.actor {
            return Err(FederationError::Invalid(
                "a Move's target must be another account".into(),
            ));
        }
        Ok(())
    }

    async fn receive(self, data: &Data<AppState>) -> Result<(), FederationError> {
        migration::receive_move(data, &self.id, &self.actor, &self.target).await
    }
}

/// The Move our account sends to its followers when it moves to `target`; its id names the
/// moment.
pub fn move_account(base: &Url, actor: &LocalActor, target: &Url, at_millis: i64) -> Move {
    let name = actor.username.as_str();
    let actor_id = urls::actor(base, name);
    let mut id = actor_id.clone();
    id.set_fragment(Some(&format!("moves/{at_millis}")));
    Move {
        context: context::activity(),
        id,
        kind: MoveType::Move,
        actor: actor_id.clone(),
        object: actor_id,
        target: target.clone(),
        to: vec![urls::followers(base, name)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mastodons_move_parses_and_an_embedded_object_is_read_by_id() {
        let json = serde_json::json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": "https://mastodon.example/users/isg#moves/1",
            "type": "Move",
            "target": "https://broadside.example/users/isg",
            "actor": "https://mastodon.example/users/isg",
            "object": {"id": "https://mastodon.example/users/isg", "type": "Person"}
        });
        let activity: Move = serde_json::from_value(json).unwrap();
        assert_eq!(activity.object, activity.actor);
        assert_eq!(
            activity.target.as_str(),
            "https://broadside.example/users/isg"
        );
        assert!(activity.to.is_empty());
    }
}
