//! `Announce` (a boost): outgoing, one of our accounts shares a post (its own, a sister
//! organization's, anyone's) with its followers, and `Undo(Announce)` takes it back;
//! incoming, someone boosts one of our posts, which is counted.

use activitypub_federation::{
    config::Data,
    kinds::activity::{AnnounceType, UndoType},
    traits::Activity,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::{id_of, record_interaction};
use crate::{
    app::AppState,
    domain::LocalActor,
    federation::{
        FederationError,
        protocol::context::{self, PUBLIC},
        urls,
    },
    store::interactions::InteractionKind,
};

#[derive(Debug, Clone, Serialize)]
pub struct Announce {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: AnnounceType,
    pub actor: Url,
    pub published: DateTime<Utc>,
    /// The boosted post's id, as Mastodon sends it.
    pub object: Url,
    pub to: Vec<Url>,
    pub cc: Vec<Url>,
}

/// The Announce of `object` by `actor`, public, copied to its followers and the post's author.
pub fn announce(
    base: &Url,
    actor: &LocalActor,
    object: &Url,
    author: Option<&Url>,
    at: DateTime<Utc>,
) -> Announce {
    let actor_id = urls::actor(base, actor.username.as_str());
    let mut id = actor_id.clone();
    id.set_fragment(Some(&format!("announces/{}", at.timestamp_millis())));
    let mut cc = vec![urls::followers(base, actor.username.as_str())];
    cc.extend(author.cloned());
    Announce {
        context: context::activity(),
        id,
        kind: AnnounceType::Announce,
        actor: actor_id,
        published: at,
        object: object.clone(),
        to: vec![Url::parse(PUBLIC).unwrap_or_else(|_| base.clone())],
        cc,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct UndoAnnounce {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: UndoType,
    pub actor: Url,
    pub object: Value,
    pub to: Vec<Url>,
    pub cc: Vec<Url>,
}

/// The Undo of an earlier Announce (`announce_id`) of `object`.
pub fn undo_announce(
    base: &Url,
    actor: &LocalActor,
    announce_id: &Url,
    object: &Url,
    author: Option<&Url>,
) -> UndoAnnounce {
    let actor_id = urls::actor(base, actor.username.as_str());
    let mut id = announce_id.clone();
    let fragment = format!("{}/undo", announce_id.fragment().unwrap_or("announce"));
    id.set_fragment(Some(&fragment));
    let mut cc = vec![urls::followers(base, actor.username.as_str())];
    cc.extend(author.cloned());
    UndoAnnounce {
        context: context::activity(),
        id,
        kind: UndoType::Undo,
        object: serde_json::json!({
            "id": announce_id,
            "type": "Announce",
            "actor": actor_id,
            "object": object,
        }),
        actor: actor_id,
        to: vec![Url::parse(PUBLIC).unwrap_or_else(|_| base.clone())],
        cc,
    }
}

/// Someone boosted a post.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedAnnounce {
    pub id: Url,
    pub actor: Url,
    pub object: Value,
}

#[async_trait]
impl Activity for ReceivedAnnounce {
    type DataType = AppState;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, _data: &Data<AppState>) -> Result<(), FederationError> {
        id_of(&self.object)
            .map(|_| ())
            .ok_or_else(|| FederationError::Invalid("the Announce names no object".into()))
    }

    async fn receive(self, data: &Data<AppState>) -> Result<(), FederationError> {
        let object = id_of(&self.object)
            .ok_or_else(|| FederationError::Invalid("the Announce names no object".into()))?;
        record_interaction(
            data,
            InteractionKind::Announce,
            &self.id,
            &self.actor,
            &object,
        )
        .await
    }
}
