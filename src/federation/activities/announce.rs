//! `Announce` (a boost): outgoing, one of our accounts shares a post (its own, a sister
//! organization's, anyone's) with its followers, and `Undo(Announce)` takes it back;
//! incoming, someone boosts one of our posts, which is counted, or an account we follow boosts
//! someone else's, which is kept for the Network timeline.

use activitypub_federation::{
    config::Data,
    fetch::object_id::ObjectId,
    kinds::activity::{AnnounceType, UndoType},
    traits::Activity,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::{begin_once, id_of, is_public, record_interaction};
use crate::{
    app::AppState,
    domain::LocalActor,
    federation::{
        FederationError,
        objects::{remote_actor::ApRemoteActor, remote_post},
        protocol::context::{self, PUBLIC},
        urls,
    },
    store::{interactions::InteractionKind, remote_posts::NewRemotePost},
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
        if urls::post_id_of(&data.config.base_url, &object).is_some() {
            return record_interaction(
                data,
                InteractionKind::Announce,
                &self.id,
                &self.actor,
                &object,
            )
            .await;
        }
        keep_announced(data, &self.id, &self.actor, &object).await
    }
}

/// A followed account shared someone's post: the post is kept for the Network timeline with
/// who shared it. Its content is fetched from its own server, never taken from the Announce,
/// and posts by blocked actors or domains are dropped, so an ally cannot bring them in.
async fn keep_announced(
    data: &Data<AppState>,
    activity_id: &Url,
    actor: &Url,
    object: &Url,
) -> Result<(), FederationError> {
    let Some(booster) = data.store.remote_actor_by_ap_id(actor).await? else {
        return Ok(());
    };
    if !data.store.is_followed_locally(booster.id).await? {
        tracing::debug!(activity = %activity_id, "boost by an account nobody here follows; dropped");
        return Ok(());
    }
    let fetched = if data.store.remote_post(object).await?.is_none() {
        match fetch_boosted(data, activity_id, object).await? {
            Some(post) => Some(post),
            None => return Ok(()),
        }
    } else {
        None
    };
    let Some(mut tx) = begin_once(data, activity_id).await? else {
        return Ok(());
    };
    if let Some(post) = &fetched {
        tx.upsert_remote_post(post).await?;
    }
    let kept = fetched.as_ref().map_or(object, |post| &post.ap_id);
    tx.record_remote_announce(activity_id, booster.id, kept)
        .await?;
    tx.bump_site_version().await?;
    tx.commit().await?;
    tracing::info!(activity = %activity_id, post = %object, "boost by a followed account kept");
    Ok(())
}

/// Fetches a boosted post we do not keep yet, from its own server; None when it is to be
/// dropped (its server or author is blocked, or it is not public).
async fn fetch_boosted(
    data: &Data<AppState>,
    activity_id: &Url,
    object: &Url,
) -> Result<Option<NewRemotePost>, FederationError> {
    if let Some(block) = data.store.block_covering(object).await? {
        tracing::info!(activity = %activity_id, %block, "boost of a blocked sender's post dropped");
        return Ok(None);
    }
    let json = remote_post::fetch(data, object).await?;
    let author = remote_post::author_of(&json)
        .ok_or_else(|| FederationError::Invalid(format!("{object} names no author")))?;
    if let Some(block) = data.store.block_covering(&author).await? {
        tracing::info!(activity = %activity_id, %block, "boost of a blocked author's post dropped");
        return Ok(None);
    }
    if !is_public(&json) {
        tracing::debug!(activity = %activity_id, "boost of a post that is not public; dropped");
        return Ok(None);
    }
    let author = ObjectId::<ApRemoteActor>::from(author)
        .dereference(data)
        .await?;
    remote_post::object_to_remote_post(&json, &author.0.ap_id, author.0.id).map(Some)
}
