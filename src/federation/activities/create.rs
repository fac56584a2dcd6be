//! `Create`: a post is published; its followers (and mentioned accounts) receive it.

use activitypub_federation::kinds::activity::CreateType;
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
pub struct Create {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: CreateType,
    pub actor: Url,
    pub published: DateTime<Utc>,
    pub to: Vec<Url>,
    pub cc: Vec<Url>,
    pub object: PostObject,
}

pub fn create_post(post: &Post, actor: &LocalActor, base: &Url) -> Create {
    let object = post_to_object(post, actor, base, false);
    Create {
        context: context::post(),
        id: urls::post_create(base, actor.username.as_str(), post.id),
        kind: CreateType::Create,
        actor: object.attributed_to.clone(),
        published: object.published,
        to: object.to.clone(),
        cc: object.cc.clone(),
        object,
    }
}
