//! One file per activity, named after the ActivityStreams vocabulary. Incoming activities
//! implement `activitypub_federation`'s `Activity` trait; each applies its change and records
//! the activity id in one transaction, so a redelivery is acknowledged and not applied twice.

pub mod accept;
pub mod add;
pub mod announce;
pub mod create;
pub mod delete;
pub mod flag;
pub mod follow;
pub mod like;
pub mod move_actor;
pub mod reject;
pub mod undo;
pub mod undo_follow;
pub mod update;

use activitypub_federation::traits::Activity;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::{
    FederationData, FederationError, boosts,
    objects::{remote_actor::ApRemoteActor, remote_post},
    urls,
};
use crate::store::Tx;
use crate::store::interactions::{InteractionKind, NewInteraction, NewReaction};

/// Opens the transaction an incoming activity is applied in, or None if it was applied before.
pub(crate) async fn begin_once(
    data: &FederationData,
    activity_id: &Url,
) -> Result<Option<Tx>, FederationError> {
    let mut tx = data.store.begin().await?;
    if tx.record_received_activity(activity_id.as_str()).await? {
        Ok(Some(tx))
    } else {
        tracing::debug!(activity = %activity_id, "already received; acknowledged again");
        Ok(None)
    }
}

/// How an activity we accepted was handled, for the log.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    Applied,
    /// A type Broadside does not act on (yet); acknowledged so the sender stops retrying.
    Ignored(String),
}

/// Hands a verified activity to the file that handles its type.
pub async fn dispatch(
    kind: &str,
    json: Value,
    signer: &ApRemoteActor,
    data: &FederationData,
) -> Result<Handled, FederationError> {
    match kind {
        "Follow" => apply::<follow::Follow>(json, signer, data).await,
        "Accept" => apply::<accept::ReceivedAccept>(json, signer, data).await,
        "Reject" => apply::<reject::ReceivedReject>(json, signer, data).await,
        "Create" | "Update" if json.get("object").is_some_and(remote_post::is_post) => {
            apply::<create::ReceivedPost>(json, signer, data).await
        }
        "Like" => apply::<like::ReceivedLike>(json, signer, data).await,
        "Announce" => apply::<announce::ReceivedAnnounce>(json, signer, data).await,
        "Undo" if undo::is_undo_of_interaction(&json) => {
            apply::<undo::ReceivedUndo>(json, signer, data).await
        }
        "Undo" if undo_follow::is_undo_follow(&json) => {
            apply::<undo_follow::UndoFollow>(json, signer, data).await
        }
        "Delete" if delete::deletes_its_actor(&json) => {
            apply::<delete::DeleteActor>(json, signer, data).await
        }
        "Delete" => apply::<delete::ReceivedDeletePost>(json, signer, data).await,
        "Flag" => apply::<flag::ReceivedFlag>(json, signer, data).await,
        "Move" => apply::<move_actor::Move>(json, signer, data).await,
        other => {
            let label = match json
                .get("object")
                .and_then(|o| o.get("type"))
                .and_then(Value::as_str)
            {
                Some(object) => format!("{other}({object})"),
                None => other.to_owned(),
            };
            Ok(Handled::Ignored(label))
        }
    }
}

async fn apply<A>(
    json: Value,
    signer: &ApRemoteActor,
    data: &FederationData,
) -> Result<Handled, FederationError>
where
    A: Activity<DataType = crate::app::AppState, Error = FederationError> + DeserializeOwned,
{
    let activity: A = serde_json::from_value(json)
        .map_err(|e| FederationError::Invalid(format!("the activity does not parse: {e}")))?;
    if activity.actor() != &signer.0.ap_id {
        return Err(FederationError::Invalid(
            "the activity's actor is not its signer".into(),
        ));
    }
    activity.verify(data).await?;
    activity.receive(data).await?;
    Ok(Handled::Applied)
}

/// Reads a reference that may be a bare id or an embedded object with an `id`.
pub(crate) fn id_of(value: &Value) -> Option<Url> {
    match value {
        Value::String(id) => Url::parse(id).ok(),
        Value::Object(object) => object.get("id").and_then(id_of),
        _ => None,
    }
}

/// Handles a post received in a Create or Update: a reply to one of our posts is held for
/// approval (or shown at once, if its account says so), a mention of one of our accounts is listed, and a post of an account we follow
/// is kept (and, if new, public and not a reply, boosted by the accounts whose rules say so).
pub(crate) async fn keep_post(
    data: &FederationData,
    activity_id: &Url,
    actor: &Url,
    object: &Value,
) -> Result<(), FederationError> {
    let Some(remote) = data.store.remote_actor_by_ap_id(actor).await? else {
        return Ok(());
    };
    let post = remote_post::object_to_remote_post(object, actor, remote.id)?;
    let base = &data.config.base_url;
    let reply_to = post
        .in_reply_to
        .as_ref()
        .and_then(|target| urls::post_id_of(base, target));
    let mentioned = mentioned_accounts(data, object).await?;
    let followed = data.store.is_followed_locally(remote.id).await?;
    if reply_to.is_none() && mentioned.is_empty() && !followed {
        tracing::debug!(activity = %activity_id, "post of an account nobody here follows; dropped");
        return Ok(());
    }
    let Some(mut tx) = begin_once(data, activity_id).await? else {
        return Ok(());
    };
    let interaction = |kind, post_id, actor_id, approved| NewInteraction {
        kind,
        activity_id: activity_id.clone(),
        remote_actor_id: remote.id,
        post_id,
        actor_id,
        object_id: Some(post.ap_id.clone()),
        content: Some(post.content.clone()),
        url: post.url.clone(),
        approved,
    };
    // A reply or mention is kept once per post: an Update of it (or the Create sent again
    // under a new id) replaces the text instead of adding a copy.
    let corrected = (reply_to.is_some() || !mentioned.is_empty())
        && tx
            .update_interaction_object(&post.ap_id, remote.id, &post.content, post.url.as_ref())
            .await?;
    if corrected {
        tracing::info!(activity = %activity_id, object = %post.ap_id, "reply or mention corrected");
    } else if let Some(post_id) = reply_to {
        if let Some(target) = data
            .store
            .post_by_id(post_id)
            .await?
            .filter(|p| p.state == crate::domain::PostState::Published)
        {
            // Held for an editor unless the account shows replies at once.
            let approved = data
                .store
                .actor_by_id(target.actor_id)
                .await?
                .is_some_and(|a| a.auto_approves_replies);
            tx.insert_interaction(&interaction(
                InteractionKind::Reply,
                Some(post_id),
                None,
                approved,
            ))
            .await?;
            let what = if approved {
                "reply shown"
            } else {
                "reply held for approval"
            };
            tracing::info!(activity = %activity_id, post = post_id, "{what}");
        }
    } else if let Some(actor_id) = mentioned.first() {
        tx.insert_interaction(&interaction(
            InteractionKind::Mention,
            None,
            Some(*actor_id),
            false,
        ))
        .await?;
    }
    if followed {
        let is_new = data.store.remote_post(&post.ap_id).await?.is_none();
        tx.upsert_remote_post(&post).await?;
        tx.set_remote_post_public(&post.ap_id, is_public(object))
            .await?;
        if is_new && post.in_reply_to.is_none() && is_public(object) {
            let tags = hashtags(object);
            let boosted = boosts::Boosted {
                object: post.ap_id.clone(),
                author: Some(remote.ap_id.clone()),
                author_inbox: Some(remote.delivery_inbox().clone()),
            };
            for (actor_id, rule) in tx.boost_rules_for(remote.id).await? {
                if boosts::rule_matches(&rule, &tags)
                    && let Some(booster) = data.store.actor_by_id(actor_id).await?
                {
                    boosts::queue_boost(&mut tx, base, &booster, &boosted, true).await?;
                }
            }
        }
    }
    tx.commit().await?;
    tracing::info!(activity = %activity_id, post = %post.ap_id, "post received");
    Ok(())
}

/// Our accounts a post names in its `Mention` tags.
async fn mentioned_accounts(
    data: &FederationData,
    object: &Value,
) -> Result<Vec<i64>, FederationError> {
    let mut accounts = Vec::new();
    for tag in object.get("tag").map(one_or_many).unwrap_or_default() {
        if tag.get("type").and_then(Value::as_str) != Some("Mention") {
            continue;
        }
        let Some(href) = tag.get("href").and_then(id_of) else {
            continue;
        };
        if let Some(username) = urls::username_of_actor(&data.config.base_url, &href)
            && let Some(actor) = data.store.actor_by_username(username).await?
        {
            accounts.push(actor.id);
        }
    }
    Ok(accounts)
}

fn one_or_many(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Whether a post is addressed to the public (in `to` or `cc`).
pub(crate) fn is_public(object: &Value) -> bool {
    ["to", "cc"].iter().any(|field| {
        object
            .get(*field)
            .map(one_or_many)
            .unwrap_or_default()
            .iter()
            .any(|v| {
                matches!(
                    v.as_str(),
                    Some(super::protocol::context::PUBLIC | "as:Public" | "Public")
                )
            })
    })
}

/// A post's hashtags, without `#`.
fn hashtags(object: &Value) -> Vec<String> {
    object
        .get("tag")
        .map(one_or_many)
        .unwrap_or_default()
        .iter()
        .filter(|tag| tag.get("type").and_then(Value::as_str) == Some("Hashtag"))
        .filter_map(|tag| tag.get("name").and_then(Value::as_str))
        .map(|name| name.trim_start_matches('#').to_owned())
        .collect()
}

/// Records a like or boost of one of our published posts; others are acknowledged and dropped.
pub(crate) async fn record_interaction(
    data: &FederationData,
    kind: InteractionKind,
    activity_id: &Url,
    actor: &Url,
    object: &Url,
) -> Result<(), FederationError> {
    let Some(post_id) = urls::post_id_of(&data.config.base_url, object) else {
        tracing::debug!(activity = %activity_id, "interaction with something not ours; dropped");
        return Ok(());
    };
    let reaction = NewReaction {
        kind,
        activity_id: activity_id.clone(),
        actor: actor.clone(),
        post_id,
    };
    if !data.reactions.record(reaction).await? {
        tracing::debug!(activity = %activity_id, "seen before, or not a published post of ours");
        return Ok(());
    }
    tracing::info!(activity = %activity_id, post = post_id, kind = kind.as_str(), "interaction recorded");
    Ok(())
}
