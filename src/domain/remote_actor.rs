//! Accounts on other servers, as far as we need to know them.

use chrono::{DateTime, Utc};
use url::Url;

use super::Handle;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteActor {
    pub id: i64,
    pub ap_id: Url,
    /// The ActivityStreams type as the remote server gave it (`Person`, `Service`…).
    pub actor_type: String,
    pub username: String,
    pub host: String,
    pub name: Option<String>,
    pub inbox: Url,
    pub shared_inbox: Option<Url>,
    pub url: Option<Url>,
    pub public_key_id: String,
    pub public_key_pem: String,
    pub fetched_at: DateTime<Utc>,
}

impl RemoteActor {
    pub fn handle(&self) -> Handle {
        Handle {
            user: self.username.clone(),
            host: self.host.clone(),
        }
    }

    /// Where deliveries to this actor go: the server's shared inbox when it has one, so a
    /// server hosting many followers receives each activity once.
    pub fn delivery_inbox(&self) -> &Url {
        self.shared_inbox.as_ref().unwrap_or(&self.inbox)
    }
}
