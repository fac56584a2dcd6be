//! Changing an organization account's profile: name, bio (Markdown), avatar, header image
//! and profile links. The new profile and the `Update` of the actor for every follower's
//! server are written in one transaction (the transactional outbox, as in [`super::publish`]),
//! and the site version moves so every process re-renders the account's pages.

use url::Url;

use super::{
    activities::update,
    delivery::{self, Outgoing},
};
use crate::{
    domain::{LocalActor, ProfileField, markdown},
    store::{Store, StoreError, Tx, actors::ActorProfile},
};

/// The longest display name, in characters (Mastodon's limit is 30; other software allows
/// more, and an organization's name can be long).
pub const MAX_NAME_CHARS: usize = 100;
/// The longest bio, in characters of Markdown.
pub const MAX_SUMMARY_CHARS: usize = 5000;
/// Profile links shown at most (Mastodon shows four).
pub const MAX_FIELDS: usize = 4;
/// The longest profile link name or value, in characters.
pub const MAX_FIELD_CHARS: usize = 255;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("the account needs a display name")]
    MissingName,
    #[error("the display name is longer than {MAX_NAME_CHARS} characters")]
    NameTooLong,
    #[error("the bio is longer than {MAX_SUMMARY_CHARS} characters")]
    SummaryTooLong,
    #[error("at most {MAX_FIELDS} profile links are shown")]
    TooManyFields,
    #[error(
        "a profile link needs both a name and a value, each at most {MAX_FIELD_CHARS} characters"
    )]
    BadField,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A profile as an editor submits it; [`ProfileChange::new`] checks it.
#[derive(Debug, Clone)]
pub struct ProfileChange {
    name: String,
    summary_md: String,
    icon_url: Option<Url>,
    image_url: Option<Url>,
    fields: Vec<ProfileField>,
    /// New aliases (`alsoKnownAs`), when they change with the profile.
    aliases: Option<Vec<Url>>,
}

impl ProfileChange {
    /// Changes the account's aliases too (resolved and checked by
    /// [`super::migration::resolve_aliases`]).
    pub fn with_aliases(mut self, aliases: Vec<Url>) -> Self {
        self.aliases = Some(aliases);
        self
    }

    /// Checks a profile; empty link rows are dropped.
    pub fn new(
        name: &str,
        summary_md: &str,
        icon_url: Option<Url>,
        image_url: Option<Url>,
        fields: Vec<ProfileField>,
    ) -> Result<Self, ProfileError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ProfileError::MissingName);
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(ProfileError::NameTooLong);
        }
        if summary_md.chars().count() > MAX_SUMMARY_CHARS {
            return Err(ProfileError::SummaryTooLong);
        }
        let fields: Vec<ProfileField> = fields
            .into_iter()
            .map(|f| ProfileField {
                name: f.name.trim().to_owned(),
                value: f.value.trim().to_owned(),
            })
            .filter(|f| !(f.name.is_empty() && f.value.is_empty()))
            .collect();
        if fields.len() > MAX_FIELDS {
            return Err(ProfileError::TooManyFields);
        }
        let too_long = |s: &str| s.chars().count() > MAX_FIELD_CHARS;
        if fields.iter().any(|f| {
            f.name.is_empty() || f.value.is_empty() || too_long(&f.name) || too_long(&f.value)
        }) {
            return Err(ProfileError::BadField);
        }
        Ok(Self {
            name: name.to_owned(),
            summary_md: summary_md.trim().to_owned(),
            icon_url,
            image_url,
            fields,
            aliases: None,
        })
    }
}

/// Saves the profile and queues its `Update` for every follower's server; returns the
/// account as it is now.
pub async fn update_profile(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    change: ProfileChange,
) -> Result<LocalActor, ProfileError> {
    let profile = ActorProfile {
        summary_html: markdown::render(&change.summary_md),
        name: change.name,
        summary_md: change.summary_md,
        icon_url: change.icon_url,
        image_url: change.image_url,
        fields: change.fields,
    };
    let mut tx = store.begin().await?;
    let mut updated = tx.update_actor_profile(actor.id, &profile).await?;
    if let Some(aliases) = &change.aliases {
        updated = tx.set_also_known_as(actor.id, aliases).await?;
    }
    queue_actor_update(&mut tx, base, &updated).await?;
    tx.commit().await?;
    Ok(updated)
}

/// Queues the `Update` of `actor` (as it is now) for every follower's server and moves the
/// site version, in the caller's transaction.
pub(crate) async fn queue_actor_update(
    tx: &mut Tx,
    base: &Url,
    actor: &LocalActor,
) -> Result<(), StoreError> {
    let activity = update::update_actor(actor, base);
    let inboxes = tx.follower_inboxes(actor.id).await?;
    let outgoing = Outgoing {
        ap_id: &activity.id,
        kind: "Update",
        signer: Some(actor.id),
        post_id: None,
    };
    delivery::enqueue(tx, outgoing, &activity, &inboxes).await?;
    tx.bump_site_version().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, value: &str) -> ProfileField {
        ProfileField {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn empty_link_rows_are_dropped_and_half_rows_refused() {
        let change = ProfileChange::new(
            " ISG ",
            "bio",
            None,
            None,
            vec![field("Web", "https://isg.example"), field(" ", "")],
        )
        .unwrap();
        assert_eq!(change.name, "ISG");
        assert_eq!(change.fields.len(), 1);
        assert!(matches!(
            ProfileChange::new("ISG", "", None, None, vec![field("Web", "")]),
            Err(ProfileError::BadField)
        ));
        assert!(matches!(
            ProfileChange::new("  ", "", None, None, Vec::new()),
            Err(ProfileError::MissingName)
        ));
    }
}
