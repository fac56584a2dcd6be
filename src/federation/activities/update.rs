//! `Update`: outgoing, one of our published posts was corrected; incoming, a post of an
//! account we follow was corrected. Either way the copies follow the correction.

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
        actor: object.attributed_to.clone(),
        published: at,
        to: object.to.clone(),
        cc: object.cc.clone(),
        object,
    }
}

/// An Update of a post, received from another server.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReceivedUpdate {
    pub id: Url,
    pub actor: Url,
    pub object: Value,
}

#[async_trait::async_trait]
impl activitypub_federation::traits::Activity for ReceivedUpdate {
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
