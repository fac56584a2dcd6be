//! `Create`: outgoing, one of our posts is published to its followers (and mentioned
//! accounts); incoming, an account we follow published a post, which we keep. An incoming
//! `Update` of a post is received the same way: the kept copy is replaced.

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
        // The publishing account, also for a joint statement (its attributedTo lists all).
        actor: urls::actor(base, actor.username.as_str()),
        published: object.published,
        to: object.to.clone(),
        cc: object.cc.clone(),
        object,
    }
}

/// A Create (or Update) of a post, received from another server.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReceivedPost {
    pub id: Url,
    pub actor: Url,
    pub object: Value,
}

#[async_trait::async_trait]
impl activitypub_federation::traits::Activity for ReceivedPost {
    type DataType = crate::app::AppState;
    type Error = crate::federation::FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(
        &self,
        _data: &activitypub_federation::config::Data<Self::DataType>,
    ) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn receive(
        self,
        data: &activitypub_federation::config::Data<Self::DataType>,
    ) -> Result<(), Self::Error> {
        super::keep_post(data, &self.id, &self.actor, &self.object).await
    }
}
