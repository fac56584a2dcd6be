//! Account migration, as Mastodon does it: aliases (`alsoKnownAs`) that let another account
//! move here, the `Move` of one of our accounts to another server (`movedTo`), and what a
//! Move received changes. Each change and the activities it causes are written in one
//! transaction; the delivery workers send them later.
//!
//! A move is proven the way Mastodon proves it: the new account, fetched fresh from its
//! origin, must list the old one in its `alsoKnownAs`. Only the owner of both can arrange that.

use activitypub_federation::{
    fetch::{fetch_object_http, object_id::ObjectId},
    traits::Object,
};
use url::Url;

use super::{
    FederationData, FederationError,
    activities::{begin_once, move_actor},
    delivery::{self, Outgoing},
    follows, http_client,
    objects::remote_actor::ApRemoteActor,
    profile, urls, webfinger,
};
use crate::{
    app::AppState,
    domain::{Handle, LocalActor, RemoteActor},
    federation::protocol::actor::RemoteActorDocument,
    store::{Store, StoreError, Tx},
};

/// The most aliases an account lists.
pub const MAX_ALIASES: usize = 10;

/// How long after a Move to one of our accounts new follows of it are recorded as coming
/// from the old account (Mastodon processes a Move once in seven days, too).
pub const FOLLOWS_AFTER_MOVE: chrono::TimeDelta = chrono::TimeDelta::days(7);

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// Not done; the sentence says why and what to do.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Federation(#[from] FederationError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Resolves what people type to name an account elsewhere, `@name@host` or an actor URL,
/// to that actor (fetched, or from the cache when fresh).
pub async fn resolve_account(
    data: &FederationData,
    text: &str,
) -> Result<RemoteActor, MigrationError> {
    let text = text.trim();
    let found = match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            http_client::check_target(&url, data.config.allow_private_networks)
                .map_err(|e| MigrationError::Refused(e.to_string()))?;
            if urls::username_of_actor(&data.config.base_url, &url).is_some() {
                return Err(MigrationError::Refused(format!(
                    "{url} is an account on this server: aliases and moves name accounts elsewhere"
                )));
            }
            ObjectId::<ApRemoteActor>::from(url).dereference(data).await
        }
        _ => {
            let handle = Handle::parse(text).map_err(|_| {
                MigrationError::Refused(format!("`{text}` is neither @name@host nor an actor URL"))
            })?;
            webfinger::resolve(data, &handle).await
        }
    };
    found
        .map(|actor| actor.0)
        .map_err(|e| MigrationError::Refused(format!("cannot find {text}: {e}")))
}

/// Fetches an actor fresh from its origin (whatever the cache holds), stores it, and returns
/// it with the aliases its document lists.
pub async fn fetch_fresh(
    data: &FederationData,
    id: &Url,
) -> Result<(RemoteActor, Vec<Url>), FederationError> {
    http_client::check_target(id, data.config.allow_private_networks)
        .map_err(|e| FederationError::Invalid(e.to_string()))?;
    let response = fetch_object_http::<AppState, RemoteActorDocument>(id, data).await?;
    let aliases = response.object.aliases();
    ApRemoteActor::verify(&response.object, &response.url, data).await?;
    let actor = ApRemoteActor::from_json(response.object, data).await?;
    Ok((actor.0, aliases))
}

/// Turns aliases as typed (one `@name@host` or actor URL each; blank ones skipped) into
/// actor ids, looking up each one the account does not list already.
pub async fn resolve_aliases(
    data: &FederationData,
    actor: &LocalActor,
    typed: &[String],
) -> Result<Vec<Url>, MigrationError> {
    let mut aliases: Vec<Url> = Vec::new();
    for text in typed.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        let id = match Url::parse(text) {
            Ok(url) if actor.also_known_as.contains(&url) => url,
            _ => resolve_account(data, text).await?.ap_id,
        };
        if !aliases.contains(&id) {
            aliases.push(id);
        }
    }
    if aliases.len() > MAX_ALIASES {
        return Err(MigrationError::Refused(format!(
            "an account lists at most {MAX_ALIASES} aliases"
        )));
    }
    Ok(aliases)
}

/// Replaces the account's aliases and queues the `Update` of the account for its followers.
pub async fn set_aliases(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    aliases: &[Url],
) -> Result<LocalActor, StoreError> {
    let mut tx = store.begin().await?;
    let updated = tx.set_also_known_as(actor.id, aliases).await?;
    profile::queue_actor_update(&mut tx, base, &updated).await?;
    tx.commit().await?;
    Ok(updated)
}

/// Adds the account named by `text` to the aliases; returns the account and the alias.
pub async fn add_alias(
    data: &FederationData,
    actor: &LocalActor,
    text: &str,
) -> Result<(LocalActor, Url), MigrationError> {
    let mut typed: Vec<String> = actor.also_known_as.iter().map(Url::to_string).collect();
    typed.push(text.to_owned());
    let aliases = resolve_aliases(data, actor, &typed).await?;
    let added = aliases
        .last()
        .cloned()
        .ok_or_else(|| MigrationError::Refused("no alias given".into()))?;
    let updated = set_aliases(&data.store, &data.config.base_url, actor, &aliases).await?;
    Ok((updated, added))
}

/// Removes an alias, given as listed (an actor URL) or as `@name@host`; returns the account
/// and the alias removed, or None when the account did not list it.
pub async fn remove_alias(
    data: &FederationData,
    actor: &LocalActor,
    text: &str,
) -> Result<(LocalActor, Option<Url>), MigrationError> {
    let id = match Url::parse(text.trim()) {
        Ok(url) if actor.also_known_as.contains(&url) => url,
        _ => resolve_account(data, text).await?.ap_id,
    };
    if !actor.also_known_as.contains(&id) {
        return Ok((actor.clone(), None));
    }
    let aliases: Vec<Url> = actor
        .also_known_as
        .iter()
        .filter(|a| **a != id)
        .cloned()
        .collect();
    let updated = set_aliases(&data.store, &data.config.base_url, actor, &aliases).await?;
    Ok((updated, Some(id)))
}

/// Moves `actor` to the account named by `text`: checks, fetching it fresh, that the new
/// account lists ours in its `alsoKnownAs`, then records `movedTo` and queues the `Update`
/// and the `Move` for every follower's server. Returns the account and the new account.
pub async fn move_account(
    data: &FederationData,
    actor: &LocalActor,
    text: &str,
) -> Result<(LocalActor, RemoteActor), MigrationError> {
    let base = &data.config.base_url;
    let ours = urls::actor(base, actor.username.as_str());
    let found = resolve_account(data, text).await?;
    let (target, aliases) = fetch_fresh(data, &found.ap_id)
        .await
        .map_err(|e| MigrationError::Refused(format!("cannot fetch {}: {e}", found.ap_id)))?;
    if !aliases.contains(&ours) {
        return Err(MigrationError::Refused(format!(
            "{} does not list {ours} among its aliases (alsoKnownAs): on the new account, add \
             {ours} as an alias (in Mastodon: Preferences, Account, Moving from a different \
             account) first, then move again",
            target.ap_id
        )));
    }
    let moved = queue_move(&data.store, base, actor, &target).await?;
    Ok((moved, target))
}

/// Records that `actor` moved to `target` and queues the Update (with `movedTo`) and the
/// Move for every follower's server, in one transaction. Scheduled posts go back to drafts:
/// a moved account publishes nothing more.
pub async fn queue_move(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    target: &RemoteActor,
) -> Result<LocalActor, StoreError> {
    let mut tx = store.begin().await?;
    let moved = tx.set_moved_to(actor.id, &target.ap_id).await?;
    let unscheduled = tx.unschedule_posts(actor.id).await?;
    profile::queue_actor_update(&mut tx, base, &moved).await?;
    let activity =
        move_actor::move_account(base, &moved, &target.ap_id, crate::store::now_millis());
    let inboxes = tx.follower_inboxes(actor.id).await?;
    let outgoing = Outgoing {
        ap_id: &activity.id,
        kind: "Move",
        signer: Some(actor.id),
        post_id: None,
    };
    delivery::enqueue(&mut tx, outgoing, &activity, &inboxes).await?;
    tx.commit().await?;
    tracing::info!(account = %actor.username, target = %target.ap_id, unscheduled, "account moved");
    Ok(moved)
}

/// Applies a verified Move of `origin` to `target` (the Move's actor, object and target).
///
/// - `target` is one of our accounts: it must list `origin` among its aliases. The Move is
///   recorded; the old account's followers' servers then send Follows, which are handled as
///   any Follow and marked as arriving after the move ([`note_follow`]).
/// - otherwise `target` is fetched fresh and must list `origin` in its `alsoKnownAs`. Our
///   accounts that follow `origin` follow `target` instead (Follow to it, Undo of the
///   Follow to `origin`), keeping their boost rule, and groups have it as a member instead.
///
/// A Move whose target does not name the origin as an alias is refused (400) and changes
/// nothing.
pub async fn receive_move(
    data: &FederationData,
    activity_id: &Url,
    origin: &Url,
    target: &Url,
) -> Result<(), FederationError> {
    let base = &data.config.base_url;
    if let Some(username) = urls::username_of_actor(base, target) {
        let account = data
            .store
            .actor_by_username(username)
            .await?
            .ok_or_else(|| FederationError::Invalid(format!("{target} is not an account here")))?;
        if !account.also_known_as.contains(origin) {
            return Err(FederationError::Invalid(format!(
                "{target} does not list {origin} among its aliases (alsoKnownAs)"
            )));
        }
        let Some(mut tx) = begin_once(data, activity_id).await? else {
            return Ok(());
        };
        tx.record_move_received(account.id, origin, activity_id)
            .await?;
        tx.commit().await?;
        tracing::info!(activity = %activity_id, %origin, account = %account.username, "move to our account recorded");
        return Ok(());
    }
    let (new, aliases) = fetch_fresh(data, target).await?;
    if !aliases.contains(origin) {
        return Err(FederationError::Invalid(format!(
            "{target} does not list {origin} among its aliases (alsoKnownAs)"
        )));
    }
    let Some(old) = data.store.remote_actor_by_ap_id(origin).await? else {
        return Ok(());
    };
    let Some(mut tx) = begin_once(data, activity_id).await? else {
        return Ok(());
    };
    let followers = tx.local_followers_of(old.id).await?;
    for actor_id in &followers {
        let Some(actor) = data.store.actor_by_id(*actor_id).await? else {
            continue;
        };
        follows::queue_follow(&mut tx, base, &actor, &new).await?;
        tx.copy_boost_rule(actor.id, old.id, new.id).await?;
        follows::queue_unfollow(&mut tx, base, &actor, &old).await?;
    }
    tx.replace_group_member(old.id, new.id).await?;
    tx.commit().await?;
    tracing::info!(activity = %activity_id, %origin, %target, accounts = followers.len(), "followed account moved; follows carried over");
    Ok(())
}

/// Called for each Follow of our account `actor_id` received (`follower_id` is the follow's
/// row): marks it as arriving after a Move when one to this account was received in the last
/// [`FOLLOWS_AFTER_MOVE`] and the follow is newer than it.
pub(crate) async fn note_follow(
    tx: &mut Tx,
    actor_id: i64,
    follower_id: i64,
) -> Result<(), StoreError> {
    let since = (chrono::Utc::now() - FOLLOWS_AFTER_MOVE).timestamp_millis();
    if let Some(origin) = tx
        .note_follow_after_move(actor_id, follower_id, since)
        .await?
    {
        tracing::info!(account = actor_id, follower = follower_id, %origin, "follow recorded as after a move");
    }
    Ok(())
}
