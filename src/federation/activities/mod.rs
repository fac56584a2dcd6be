//! One file per activity, named after the ActivityStreams vocabulary. Incoming activities
//! implement `activitypub_federation`'s `Activity` trait; each applies its change and records
//! the activity id in one transaction, so a redelivery is acknowledged and not applied twice.

pub mod accept;
pub mod add;
pub mod create;
pub mod delete;
pub mod flag;
pub mod follow;
pub mod reject;
pub mod undo_follow;
pub mod update;

use activitypub_federation::traits::Activity;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::{
    FederationData, FederationError,
    objects::{remote_actor::ApRemoteActor, remote_post},
};
use crate::store::Tx;

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
        "Undo" if undo_follow::is_undo_follow(&json) => {
            apply::<undo_follow::UndoFollow>(json, signer, data).await
        }
        "Delete" if delete::deletes_its_actor(&json) => {
            apply::<delete::DeleteActor>(json, signer, data).await
        }
        "Delete" => apply::<delete::ReceivedDeletePost>(json, signer, data).await,
        "Flag" => apply::<flag::ReceivedFlag>(json, signer, data).await,
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

/// Keeps a post received in a Create or Update, if one of our accounts follows its author.
/// Posts of accounts nobody here follows are acknowledged and dropped.
pub(crate) async fn keep_post(
    data: &FederationData,
    activity_id: &Url,
    actor: &Url,
    object: &Value,
) -> Result<(), FederationError> {
    let Some(remote) = data.store.remote_actor_by_ap_id(actor).await? else {
        return Ok(());
    };
    if !data.store.is_followed_locally(remote.id).await? {
        tracing::debug!(activity = %activity_id, "post of an account nobody here follows; dropped");
        return Ok(());
    }
    let post = remote_post::object_to_remote_post(object, actor, remote.id)?;
    let Some(mut tx) = begin_once(data, activity_id).await? else {
        return Ok(());
    };
    tx.upsert_remote_post(&post).await?;
    tx.commit().await?;
    tracing::info!(activity = %activity_id, post = %post.ap_id, "post of a followed account kept");
    Ok(())
}
