//! `Like`: someone likes one of our posts; it is counted (and listed in its `likes`).

use activitypub_federation::{config::Data, traits::Activity};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{id_of, record_interaction};
use crate::{app::AppState, federation::FederationError, store::interactions::InteractionKind};

#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedLike {
    pub id: Url,
    pub actor: Url,
    pub object: Value,
}

#[async_trait]
impl Activity for ReceivedLike {
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
            .ok_or_else(|| FederationError::Invalid("the Like names no object".into()))
    }

    async fn receive(self, data: &Data<AppState>) -> Result<(), FederationError> {
        let object = id_of(&self.object)
            .ok_or_else(|| FederationError::Invalid("the Like names no object".into()))?;
        record_interaction(data, InteractionKind::Like, &self.id, &self.actor, &object).await
    }
}
