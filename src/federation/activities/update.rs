//! `Update`: one of our published posts was corrected; followers' copies follow the
//! correction. (An incoming Update of a post is handled like a Create, in `create.rs`: the
//! kept copy is replaced.)

use activitypub_federation::kinds::activity::UpdateType;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::{
    domain::{LocalActor, Post},
    federation::{
        objects::post::post_to_object,
        protocol::{context, post::PostObject},
        urls,
    },
};

#[derive(Debug, Clone, Serialize)]
pub struct Update {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: UpdateType,
    pub actor: Url,
    pub published: DateTime<Utc>,
    pub to: Vec<Url>,
    pub cc: Vec<Url>,
    /// The whole corrected object, carrying `updated`.
    pub object: PostObject,
}

/// The Update of an edited post; `post.edited_at` must be set (it is the `updated` time).
pub fn update_post(post: &Post, actor: &LocalActor, base: &Url) -> Update {
    let object = post_to_object(post, actor, base, false);
    let at = post.edited_at.unwrap_or(post.updated_at);
    Update {
        context: context::post(),
        id: urls::post_update(
            base,
            actor.username.as_str(),
            post.id,
            at.timestamp_millis(),
        ),
        kind: UpdateType::Update,
        // The publishing account, also for a joint statement (its attributedTo lists all).
        actor: urls::actor(base, actor.username.as_str()),
        published: at,
        to: object.to.clone(),
        cc: object.cc.clone(),
        object,
    }
}

/// The Update we send when an account's profile changes: the whole actor document, so
/// followers' servers refresh name, bio, images and links at once.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateActor {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: UpdateType,
    pub actor: Url,
    pub to: Vec<Url>,
    pub object: crate::federation::protocol::actor::ActorDocument,
}

/// The Update of `actor`'s profile; its id names the moment of the change.
pub fn update_actor(actor: &LocalActor, base: &Url) -> UpdateActor {
    let actor_id = urls::actor(base, actor.username.as_str());
    let mut id = actor_id.clone();
    id.set_fragment(Some(&format!(
        "updates/{}",
        actor.updated_at.timestamp_millis()
    )));
    let public =
        Url::parse(crate::federation::protocol::context::PUBLIC).unwrap_or_else(|_| base.clone());
    UpdateActor {
        context: context::actor(),
        id,
        kind: UpdateType::Update,
        actor: actor_id,
        to: vec![public],
        object: crate::federation::objects::local_actor::local_actor_to_document(actor, base),
    }
}
