//! The instance's own `Application` actor at `/actor`. It signs our fetches of remote
//! documents, so servers that require signed requests ("authorized fetch") answer them.

use activitypub_federation::{
    config::Data,
    protocol::public_key::PublicKey,
    traits::{Actor, Object},
};
use async_trait::async_trait;
use url::Url;

use crate::{
    app::AppState,
    federation::{
        FederationError,
        protocol::{
            actor::{ApplicationDocument, Endpoints},
            context,
        },
        urls,
    },
};

#[derive(Debug, Clone)]
pub struct InstanceActor {
    pub id: Url,
    pub public_key_pem: String,
    pub private_key_pem: String,
    base: Url,
}

impl InstanceActor {
    pub fn new(base: &Url, public_key_pem: String, private_key_pem: String) -> Self {
        Self {
            id: urls::instance_actor(base),
            public_key_pem,
            private_key_pem,
            base: base.clone(),
        }
    }

    pub fn to_document(&self) -> ApplicationDocument {
        let host = crate::config::authority(&self.base);
        ApplicationDocument {
            context: context::actor(),
            id: self.id.clone(),
            kind: "Application",
            preferred_username: host,
            inbox: urls::shared_inbox(&self.base),
            outbox: urls::shared_inbox(&self.base),
            endpoints: Endpoints {
                shared_inbox: urls::shared_inbox(&self.base),
            },
            public_key: PublicKey {
                id: urls::instance_key_id(&self.base),
                owner: self.id.clone(),
                public_key_pem: self.public_key_pem.clone(),
            },
            manually_approves_followers: true,
            discoverable: false,
            indexable: false,
        }
    }
}

#[async_trait]
impl Object for InstanceActor {
    type DataType = AppState;
    type Kind = ApplicationDocument;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    async fn read_from_id(id: Url, data: &Data<AppState>) -> Result<Option<Self>, Self::Error> {
        Ok((id == data.instance_actor.id).then(|| data.instance_actor.clone()))
    }

    async fn into_json(self, _data: &Data<AppState>) -> Result<Self::Kind, Self::Error> {
        Ok(self.to_document())
    }

    async fn verify(_: &Self::Kind, _: &Url, _: &Data<AppState>) -> Result<(), Self::Error> {
        Err(FederationError::Invalid(
            "the instance actor is never fetched".into(),
        ))
    }

    async fn from_json(_: Self::Kind, _: &Data<AppState>) -> Result<Self, Self::Error> {
        Err(FederationError::Invalid(
            "the instance actor is never fetched".into(),
        ))
    }
}

impl Actor for InstanceActor {
    fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        Some(self.private_key_pem.clone())
    }

    fn inbox(&self) -> Url {
        urls::shared_inbox(&self.base)
    }
}
