//! Local organization accounts and the instance actor's keys.

use chrono::DateTime;
use sqlx::FromRow;
use url::Url;

use super::{Store, StoreError, StoreResult, Tx, flag, now_millis};
use crate::domain::{ActorKind, LocalActor, NewActor, ProfileField, Username};

#[derive(FromRow)]
struct ActorRow {
    id: i64,
    username: String,
    actor_type: String,
    name: String,
    summary_md: String,
    summary_html: String,
    icon_url: Option<String>,
    image_url: Option<String>,
    manually_approves_followers: i64,
    auto_approves_replies: i64,
    discoverable: i64,
    indexable: i64,
    fields_json: String,
    also_known_as_json: String,
    moved_to: Option<String>,
    public_key_pem: String,
    private_key_pem: String,
    created_at: i64,
    updated_at: i64,
}

/// The columns every query reads, in [`ActorRow`]'s order.
macro_rules! columns {
    () => {
        "id, username, actor_type, name, summary_md, summary_html, icon_url, image_url, \
         manually_approves_followers, auto_approves_replies, discoverable, indexable, fields_json, \
         also_known_as_json, moved_to, public_key_pem, private_key_pem, created_at, updated_at"
    };
}

impl TryFrom<ActorRow> for LocalActor {
    type Error = StoreError;

    fn try_from(row: ActorRow) -> StoreResult<Self> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("actor {}: {what}", row.id));
        let optional_url = |value: &Option<String>| {
            value
                .as_deref()
                .map(Url::parse)
                .transpose()
                .map_err(|_| corrupt("bad URL"))
        };
        let fields: Vec<ProfileField> =
            serde_json::from_str(&row.fields_json).map_err(|_| corrupt("bad fields"))?;
        let also_known_as: Vec<Url> = serde_json::from_str(&row.also_known_as_json)
            .map_err(|_| corrupt("bad alsoKnownAs"))?;
        Ok(Self {
            id: row.id,
            username: Username::parse(&row.username).map_err(|_| corrupt("bad username"))?,
            kind: ActorKind::parse(&row.actor_type).ok_or_else(|| corrupt("bad type"))?,
            icon_url: optional_url(&row.icon_url)?,
            image_url: optional_url(&row.image_url)?,
            moved_to: optional_url(&row.moved_to)?,
            name: row.name,
            summary_md: row.summary_md,
            summary_html: row.summary_html,
            manually_approves_followers: row.manually_approves_followers != 0,
            auto_approves_replies: row.auto_approves_replies != 0,
            discoverable: row.discoverable != 0,
            indexable: row.indexable != 0,
            fields,
            also_known_as,
            public_key_pem: row.public_key_pem,
            private_key_pem: row.private_key_pem,
            created_at: DateTime::from_timestamp_millis(row.created_at)
                .ok_or_else(|| corrupt("bad time"))?,
            updated_at: DateTime::from_timestamp_millis(row.updated_at)
                .ok_or_else(|| corrupt("bad time"))?,
        })
    }
}

fn into_actor(row: Option<ActorRow>) -> StoreResult<Option<LocalActor>> {
    row.map(LocalActor::try_from).transpose()
}

impl Store {
    pub async fn actor_by_username(&self, username: &str) -> StoreResult<Option<LocalActor>> {
        let row = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM actors WHERE username = $1"
        ))
        .bind(username.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        into_actor(row)
    }

    pub async fn actor_by_id(&self, id: i64) -> StoreResult<Option<LocalActor>> {
        let row = sqlx::query_as(concat!("SELECT ", columns!(), " FROM actors WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        into_actor(row)
    }

    pub async fn list_actors(&self) -> StoreResult<Vec<LocalActor>> {
        let rows: Vec<ActorRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM actors ORDER BY username"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(LocalActor::try_from).collect()
    }

    pub async fn count_actors(&self) -> StoreResult<i64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM actors")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    /// The instance actor's key pair (public, private), if one was made.
    pub async fn instance_keys(&self) -> StoreResult<Option<(String, String)>> {
        let keys: Option<(String, String)> = sqlx::query_as(
            "SELECT public_key_pem, private_key_pem FROM instance_actor WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(keys)
    }

    /// Stores the instance actor's keys unless another process stored some first; returns the
    /// keys in effect either way.
    pub async fn init_instance_keys(
        &self,
        public: &str,
        private: &str,
    ) -> StoreResult<(String, String)> {
        sqlx::query(
            "INSERT INTO instance_actor (id, public_key_pem, private_key_pem, created_at) \
             VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(public.to_owned())
        .bind(private.to_owned())
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        self.instance_keys().await?.ok_or(StoreError::NotFound)
    }
}

impl Tx {
    pub async fn insert_actor(&mut self, actor: &NewActor) -> StoreResult<LocalActor> {
        let now = now_millis();
        let row: ActorRow = sqlx::query_as(concat!(
            "INSERT INTO actors (username, actor_type, name, summary_md, summary_html, \
             manually_approves_followers, discoverable, indexable, public_key_pem, \
             private_key_pem, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING ",
            columns!()
        ))
        .bind(actor.username.as_str().to_owned())
        .bind(actor.kind.as_str())
        .bind(actor.name.clone())
        .bind(actor.summary_md.clone())
        .bind(actor.summary_html.clone())
        .bind(flag(false))
        .bind(flag(true))
        .bind(flag(true))
        .bind(actor.public_key_pem.clone())
        .bind(actor.private_key_pem.clone())
        .bind(now)
        .fetch_one(&mut *self.inner)
        .await?;
        LocalActor::try_from(row)
    }

    /// Sets whether new followers wait for approval.
    pub async fn set_manually_approves_followers(
        &mut self,
        actor_id: i64,
        value: bool,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE actors SET manually_approves_followers = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(flag(value))
        .bind(now_millis())
        .bind(actor_id)
        .execute(&mut *self.inner)
        .await?;
        Ok(())
    }

    /// Sets whether replies to the account's posts are shown without an editor's approval.
    /// Replies already held stay held: the setting is for what arrives from now on.
    pub async fn set_auto_approves_replies(
        &mut self,
        actor_id: i64,
        value: bool,
    ) -> StoreResult<()> {
        // Not `updated_at`: that dates the actor document, which does not show this.
        sqlx::query("UPDATE actors SET auto_approves_replies = $1 WHERE id = $2")
            .bind(flag(value))
            .bind(actor_id)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// Replaces what an account's profile shows: name, bio, images and profile links.
    pub async fn update_actor_profile(
        &mut self,
        actor_id: i64,
        profile: &ActorProfile,
    ) -> StoreResult<LocalActor> {
        let fields = serde_json::to_string(&profile.fields)
            .map_err(|e| StoreError::Corrupt(format!("profile fields: {e}")))?;
        let row: ActorRow = sqlx::query_as(concat!(
            "UPDATE actors SET name = $1, summary_md = $2, summary_html = $3, icon_url = $4, \
             image_url = $5, fields_json = $6, updated_at = $7 WHERE id = $8 RETURNING ",
            columns!()
        ))
        .bind(profile.name.clone())
        .bind(profile.summary_md.clone())
        .bind(profile.summary_html.clone())
        .bind(profile.icon_url.as_ref().map(|u| u.to_string()))
        .bind(profile.image_url.as_ref().map(|u| u.to_string()))
        .bind(fields)
        .bind(now_millis())
        .bind(actor_id)
        .fetch_one(&mut *self.inner)
        .await?;
        LocalActor::try_from(row)
    }
}

/// What an account's profile page and actor document show, as the editor saves it.
#[derive(Debug, Clone)]
pub struct ActorProfile {
    pub name: String,
    pub summary_md: String,
    pub summary_html: String,
    pub icon_url: Option<Url>,
    pub image_url: Option<Url>,
    pub fields: Vec<ProfileField>,
}

/// Account migration: the aliases an account names (`alsoKnownAs`) and where it moved.
impl Tx {
    /// Replaces the account's aliases; returns the account as it is now.
    pub async fn set_also_known_as(
        &mut self,
        actor_id: i64,
        aliases: &[Url],
    ) -> StoreResult<LocalActor> {
        let json = serde_json::to_string(&aliases.iter().map(Url::as_str).collect::<Vec<_>>())
            .map_err(|e| StoreError::Corrupt(format!("alsoKnownAs: {e}")))?;
        let row: ActorRow = sqlx::query_as(concat!(
            "UPDATE actors SET also_known_as_json = $1, updated_at = $2 WHERE id = $3 RETURNING ",
            columns!()
        ))
        .bind(json)
        .bind(now_millis())
        .bind(actor_id)
        .fetch_one(&mut *self.inner)
        .await?;
        LocalActor::try_from(row)
    }

    /// Records where the account moved (its `movedTo`); returns the account as it is now.
    pub async fn set_moved_to(&mut self, actor_id: i64, target: &Url) -> StoreResult<LocalActor> {
        let row: ActorRow = sqlx::query_as(concat!(
            "UPDATE actors SET moved_to = $1, updated_at = $2 WHERE id = $3 RETURNING ",
            columns!()
        ))
        .bind(target.as_str().to_owned())
        .bind(now_millis())
        .bind(actor_id)
        .fetch_one(&mut *self.inner)
        .await?;
        LocalActor::try_from(row)
    }
}
