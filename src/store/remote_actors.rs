//! Actors on other servers that we have fetched, with the keys that verify them.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use url::Url;

use super::{Store, StoreError, StoreResult, Tx, now_millis};
use crate::domain::RemoteActor;

/// A remote actor as just fetched, before it has a row of its own.
#[derive(Debug, Clone)]
pub struct NewRemoteActor {
    pub ap_id: Url,
    pub actor_type: String,
    pub username: String,
    pub host: String,
    pub name: Option<String>,
    pub inbox: Url,
    pub shared_inbox: Option<Url>,
    pub url: Option<Url>,
    pub public_key_id: String,
    pub public_key_pem: String,
}

#[derive(FromRow)]
pub(super) struct RemoteActorRow {
    pub(super) id: i64,
    pub(super) ap_id: String,
    pub(super) actor_type: String,
    pub(super) username: String,
    pub(super) host: String,
    pub(super) name: Option<String>,
    pub(super) inbox: String,
    pub(super) shared_inbox: Option<String>,
    pub(super) url: Option<String>,
    pub(super) public_key_id: String,
    pub(super) public_key_pem: String,
    pub(super) fetched_at: i64,
}

/// The columns [`RemoteActorRow`] reads, prefixed for joins.
macro_rules! remote_actor_columns {
    ($prefix:literal) => {
        concat!(
            $prefix,
            "id, ",
            $prefix,
            "ap_id, ",
            $prefix,
            "actor_type, ",
            $prefix,
            "username, ",
            $prefix,
            "host, ",
            $prefix,
            "name, ",
            $prefix,
            "inbox, ",
            $prefix,
            "shared_inbox, ",
            $prefix,
            "url, ",
            $prefix,
            "public_key_id, ",
            $prefix,
            "public_key_pem, ",
            $prefix,
            "fetched_at"
        )
    };
}
pub(super) use remote_actor_columns;

impl TryFrom<RemoteActorRow> for RemoteActor {
    type Error = StoreError;

    fn try_from(row: RemoteActorRow) -> StoreResult<Self> {
        let corrupt = || StoreError::Corrupt(format!("remote actor {}: bad URL", row.id));
        let url = |value: &str| Url::parse(value).map_err(|_| corrupt());
        let optional = |value: &Option<String>| value.as_deref().map(url).transpose();
        Ok(Self {
            id: row.id,
            ap_id: url(&row.ap_id)?,
            inbox: url(&row.inbox)?,
            shared_inbox: optional(&row.shared_inbox)?,
            url: optional(&row.url)?,
            actor_type: row.actor_type,
            username: row.username,
            host: row.host,
            name: row.name,
            public_key_id: row.public_key_id,
            public_key_pem: row.public_key_pem,
            fetched_at: DateTime::<Utc>::from_timestamp_millis(row.fetched_at)
                .ok_or_else(corrupt)?,
        })
    }
}

impl Store {
    pub async fn remote_actor_by_ap_id(&self, ap_id: &Url) -> StoreResult<Option<RemoteActor>> {
        let row: Option<RemoteActorRow> = sqlx::query_as(concat!(
            "SELECT ",
            remote_actor_columns!(""),
            " FROM remote_actors WHERE ap_id = $1"
        ))
        .bind(ap_id.as_str().to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(RemoteActor::try_from).transpose()
    }

    /// Inserts a freshly fetched actor or refreshes the stored copy.
    pub async fn upsert_remote_actor(&self, actor: &NewRemoteActor) -> StoreResult<RemoteActor> {
        let row: RemoteActorRow = sqlx::query_as(concat!(
            "INSERT INTO remote_actors (ap_id, actor_type, username, host, name, inbox, \
             shared_inbox, url, public_key_id, public_key_pem, fetched_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (ap_id) DO UPDATE SET actor_type = excluded.actor_type, \
             username = excluded.username, host = excluded.host, name = excluded.name, \
             inbox = excluded.inbox, shared_inbox = excluded.shared_inbox, url = excluded.url, \
             public_key_id = excluded.public_key_id, public_key_pem = excluded.public_key_pem, \
             fetched_at = excluded.fetched_at RETURNING ",
            remote_actor_columns!("")
        ))
        .bind(actor.ap_id.as_str().to_owned())
        .bind(actor.actor_type.clone())
        .bind(actor.username.clone())
        .bind(actor.host.clone())
        .bind(actor.name.clone())
        .bind(actor.inbox.as_str().to_owned())
        .bind(actor.shared_inbox.as_ref().map(|u| u.as_str().to_owned()))
        .bind(actor.url.as_ref().map(|u| u.as_str().to_owned()))
        .bind(actor.public_key_id.clone())
        .bind(actor.public_key_pem.clone())
        .bind(now_millis())
        .fetch_one(&self.pool)
        .await?;
        RemoteActor::try_from(row)
    }
}

impl Tx {
    /// Forgets a remote actor that was deleted at its origin, with its follows; returns
    /// whether we knew it.
    pub async fn delete_remote_actor(&mut self, ap_id: &Url) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM remote_actors WHERE ap_id = $1")
            .bind(ap_id.as_str().to_owned())
            .execute(&mut *self.inner)
            .await?;
        Ok(result.rows_affected() > 0)
    }
}
