//! `Add` to the `featured` collection: a post is pinned to the profile. Also `Remove` (the
//! same shape) when it is unpinned.

use activitypub_federation::kinds::activity::{AddType, RemoveType};
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::{
    domain::{LocalActor, Post},
    federation::{objects::post::audience, protocol::context, urls},
};

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum FeaturedKind {
    Add(AddType),
    Remove(RemoveType),
}

#[derive(Debug, Clone, Serialize)]
pub struct FeaturedChange {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: FeaturedKind,
    pub actor: Url,
    pub object: Url,
    pub target: Url,
    pub to: Vec<Url>,
    pub cc: Vec<Url>,
}

/// `Add` (pinned) or `Remove` (unpinned) of a post to its account's featured collection.
pub fn featured_change(
    post: &Post,
    actor: &LocalActor,
    base: &Url,
    pinned: bool,
    at_millis: i64,
) -> FeaturedChange {
    let username = actor.username.as_str();
    let (to, cc) = audience(post, actor, base);
    FeaturedChange {
        context: context::activity(),
        id: urls::post_featured_change(base, username, post.id, pinned, at_millis),
        kind: if pinned {
            FeaturedKind::Add(AddType::Add)
        } else {
            FeaturedKind::Remove(RemoveType::Remove)
        },
        actor: urls::actor(base, username),
        object: urls::post(base, username, post.id),
        target: urls::featured(base, username),
        to,
        cc,
    }
}
