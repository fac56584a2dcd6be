//! Actor documents: ours as we publish them, and other servers' as we accept them.

use activitypub_federation::protocol::public_key::PublicKey;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

/// Our actor document, with every field Mastodon reads from a profile.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorDocument {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub preferred_username: String,
    pub name: String,
    pub summary: String,
    pub url: Url,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<Image>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    pub published: DateTime<Utc>,
    pub inbox: Url,
    pub outbox: Url,
    pub followers: Url,
    pub following: Url,
    pub featured: Url,
    pub endpoints: Endpoints,
    pub public_key: PublicKey,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub attachment: Vec<PropertyValue>,
    pub also_known_as: Vec<Url>,
    /// Where the account moved, once it has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<Url>,
}

/// The instance's own actor, which signs fetches on the server's behalf.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDocument {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub preferred_username: String,
    pub inbox: Url,
    pub outbox: Url,
    pub endpoints: Endpoints,
    pub public_key: PublicKey,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
    pub indexable: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub shared_inbox: Url,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: Url,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

/// A profile link or fact, shown by Mastodon as a table under the bio.
#[derive(Debug, Clone, Serialize)]
pub struct PropertyValue {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub value: String,
}

/// Another server's actor, read leniently: servers differ in which fields they send and in
/// whether `type`, `url` or `publicKey` are single values or arrays.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteActorDocument {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: Value,
    pub preferred_username: Option<String>,
    pub name: Option<String>,
    pub inbox: Url,
    #[serde(default)]
    pub endpoints: Option<RemoteEndpoints>,
    #[serde(default)]
    pub public_key: Option<Value>,
    #[serde(default)]
    pub url: Option<Value>,
    /// The account's aliases: one id or a list (of ids or objects with an `id`).
    #[serde(default)]
    pub also_known_as: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteEndpoints {
    pub shared_inbox: Option<Url>,
}

/// A public key as remote servers publish it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteKey {
    pub id: String,
    pub owner: Option<Url>,
    pub public_key_pem: String,
}

impl RemoteActorDocument {
    /// The actor's type; the first string when the server sent an array.
    pub fn kind(&self) -> Option<&str> {
        match &self.kind {
            Value::String(kind) => Some(kind),
            Value::Array(kinds) => kinds.iter().find_map(Value::as_str),
            _ => None,
        }
    }

    /// The RSA key owned by this actor; some servers list several keys.
    pub fn key(&self) -> Option<RemoteKey> {
        let candidates = match self.public_key.clone()? {
            Value::Array(keys) => keys,
            key => vec![key],
        };
        candidates
            .into_iter()
            .filter_map(|key| serde_json::from_value::<RemoteKey>(key).ok())
            .find(|key| key.owner.as_ref().is_none_or(|owner| owner == &self.id))
    }

    /// The profile page: `url` as a string, or the first `href` of a Link or array.
    pub fn profile_url(&self) -> Option<Url> {
        fn first(value: &Value) -> Option<Url> {
            match value {
                Value::String(url) => Url::parse(url).ok(),
                Value::Object(link) => link.get("href").and_then(first),
                Value::Array(items) => items.iter().find_map(first),
                _ => None,
            }
        }
        self.url.as_ref().and_then(first)
    }

    /// The ids in `alsoKnownAs`, whatever shape they came in; entries that are not URLs are
    /// left out.
    pub fn aliases(&self) -> Vec<Url> {
        fn id(value: &Value) -> Option<Url> {
            match value {
                Value::String(id) => Url::parse(id).ok(),
                Value::Object(object) => object.get("id").and_then(id),
                _ => None,
            }
        }
        match &self.also_known_as {
            Some(Value::Array(items)) => items.iter().filter_map(id).collect(),
            Some(one) => id(one).into_iter().collect(),
            None => Vec::new(),
        }
    }
}
