//! Actors on other servers: fetched (signed, by the instance actor) through
//! `activitypub_federation`'s `ObjectId`, checked, and cached in the database.

use activitypub_federation::{
    config::Data,
    traits::{Actor, Object},
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use url::Url;

use crate::{
    app::AppState,
    config::authority,
    domain::RemoteActor,
    federation::{FederationError, protocol::actor::RemoteActorDocument},
    store::remote_actors::NewRemoteActor,
};

/// A remote actor as the federation traits see it.
#[derive(Debug, Clone)]
pub struct ApRemoteActor(pub RemoteActor);

#[async_trait]
impl Object for ApRemoteActor {
    type DataType = AppState;
    type Kind = RemoteActorDocument;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.0.ap_id
    }

    fn last_refreshed_at(&self) -> Option<DateTime<Utc>> {
        Some(self.0.fetched_at)
    }

    async fn read_from_id(id: Url, data: &Data<AppState>) -> Result<Option<Self>, Self::Error> {
        Ok(data.store.remote_actor_by_ap_id(&id).await?.map(Self))
    }

    /// Called when the actor's origin answers 410 Gone: forget it and its follows.
    async fn delete(&self, data: &Data<AppState>) -> Result<(), Self::Error> {
        let mut tx = data.store.begin().await?;
        tx.delete_remote_actor(&self.0.ap_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn into_json(self, _data: &Data<AppState>) -> Result<Self::Kind, Self::Error> {
        Err(FederationError::Invalid(
            "remote actors are not served from here".into(),
        ))
    }

    async fn verify(
        json: &Self::Kind,
        expected: &Url,
        _data: &Data<AppState>,
    ) -> Result<(), Self::Error> {
        check_document(json, expected)
    }

    async fn from_json(json: Self::Kind, data: &Data<AppState>) -> Result<Self, Self::Error> {
        let actor = document_to_new_remote_actor(json)?;
        Ok(Self(data.store.upsert_remote_actor(&actor).await?))
    }
}

impl Actor for ApRemoteActor {
    fn public_key_pem(&self) -> &str {
        &self.0.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        None
    }

    fn inbox(&self) -> Url {
        self.0.inbox.clone()
    }

    fn shared_inbox(&self) -> Option<Url> {
        self.0.shared_inbox.clone()
    }
}

/// A fetched document must describe the actor at the URL it came from, and its key must be
/// the actor's own and served from the actor's host.
fn check_document(json: &RemoteActorDocument, fetched_from: &Url) -> Result<(), FederationError> {
    if json.id.origin() != fetched_from.origin() {
        return Err(FederationError::Invalid(format!(
            "actor {} was served by {}",
            json.id,
            authority(fetched_from)
        )));
    }
    let key = json
        .key()
        .ok_or_else(|| FederationError::Invalid(format!("actor {} has no public key", json.id)))?;
    let key_url = Url::parse(&key.id)
        .map_err(|_| FederationError::Invalid(format!("key id {} is not a URL", key.id)))?;
    if key_url.origin() != json.id.origin() {
        return Err(FederationError::Invalid(format!(
            "the key {} of {} lives on another host",
            key.id, json.id
        )));
    }
    if json.inbox.origin() != json.id.origin() {
        return Err(FederationError::Invalid(format!(
            "the inbox of {} is on another host",
            json.id
        )));
    }
    Ok(())
}

/// Converts a checked document into what the store keeps.
pub fn document_to_new_remote_actor(
    json: RemoteActorDocument,
) -> Result<NewRemoteActor, FederationError> {
    let key = json
        .key()
        .ok_or_else(|| FederationError::Invalid(format!("actor {} has no public key", json.id)))?;
    let username = json
        .preferred_username
        .clone()
        .filter(|name| !name.is_empty())
        .or_else(|| json.id.path_segments()?.next_back().map(str::to_owned))
        .ok_or_else(|| FederationError::Invalid(format!("actor {} has no username", json.id)))?;
    Ok(NewRemoteActor {
        actor_type: json.kind().unwrap_or("Person").to_owned(),
        host: authority(&json.id),
        name: json.name.clone().filter(|name| !name.is_empty()),
        shared_inbox: json.endpoints.as_ref().and_then(|e| e.shared_inbox.clone()),
        // Shown as a link on our pages: only a web page, never `javascript:` or `data:`.
        url: json
            .profile_url()
            .filter(|url| matches!(url.scheme(), "http" | "https")),
        public_key_id: key.id,
        public_key_pem: key.public_key_pem,
        inbox: json.inbox,
        ap_id: json.id,
        username,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(value: serde_json::Value) -> RemoteActorDocument {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_key_on_another_host_is_refused() {
        let doc = document(serde_json::json!({
            "id": "https://a.example/users/x", "type": "Person", "inbox": "https://a.example/inbox",
            "publicKey": {"id": "https://b.example/keys/1", "owner": "https://a.example/users/x", "publicKeyPem": "k"}
        }));
        let err = check_document(&doc, &doc.id.clone()).unwrap_err();
        assert!(err.to_string().contains("another host"), "{err}");
    }

    #[test]
    fn a_document_served_by_another_origin_is_refused() {
        let doc = document(serde_json::json!({
            "id": "https://a.example/users/x", "type": "Person", "inbox": "https://a.example/inbox",
            "publicKey": {"id": "https://a.example/users/x#main-key", "owner": "https://a.example/users/x", "publicKeyPem": "k"}
        }));
        assert!(check_document(&doc, &Url::parse("https://evil.example/x").unwrap()).is_err());
        assert!(check_document(&doc, &doc.id.clone()).is_ok());
    }

    #[test]
    fn arrays_of_types_keys_and_urls_are_read() {
        let doc = document(serde_json::json!({
            "id": "https://a.example/users/x", "type": ["Person", "Other"], "inbox": "https://a.example/users/x/inbox",
            "url": [{"type": "Link", "href": "https://a.example/@x"}],
            "publicKey": [
                {"id": "https://a.example/users/y#k", "owner": "https://a.example/users/y", "publicKeyPem": "other"},
                {"id": "https://a.example/users/x#main-key", "owner": "https://a.example/users/x", "publicKeyPem": "mine"}
            ]
        }));
        let actor = document_to_new_remote_actor(doc).unwrap();
        assert_eq!(actor.actor_type, "Person");
        assert_eq!(actor.public_key_pem, "mine");
        assert_eq!(actor.url.unwrap().as_str(), "https://a.example/@x");
        assert_eq!(actor.username, "x");
        assert_eq!(actor.host, "a.example");
    }
}
