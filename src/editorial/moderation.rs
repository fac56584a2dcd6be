//! The admins' moderation use cases, as the web editor offers them: reading the reports
//! (`Flag`) other servers sent, and blocking or unblocking a domain or an actor through
//! [`crate::federation::moderation`], as `broadside block` does. Every call is refused to
//! anyone but an admin, and every change is written to the audit log.

use url::Url;

use super::{EditorialError, EditorialResult, record};
use crate::{
    domain::{BlockedDomain, Handle, User},
    federation::{FederationData, moderation, webfinger},
    store::{
        blocks::{ActorBlock, DomainBlock},
        reports::Report,
    },
};

/// Reports listed; older ones stay in the database (`broadside report list --limit`).
pub const REPORTS_LISTED: i64 = 200;

fn admin(user: &User) -> EditorialResult<()> {
    if user.may_administer() {
        Ok(())
    } else {
        Err(EditorialError::Forbidden("only admins may moderate"))
    }
}

/// The newest reports, and every domain and actor block.
pub async fn overview(
    data: &FederationData,
    user: &User,
) -> EditorialResult<(Vec<Report>, Vec<DomainBlock>, Vec<ActorBlock>)> {
    admin(user)?;
    let store = &data.store;
    Ok((
        store.reports(REPORTS_LISTED, 0).await?,
        store.domain_blocks().await?,
        store.actor_blocks().await?,
    ))
}

fn domain(host: &str) -> EditorialResult<BlockedDomain> {
    BlockedDomain::parse(host).map_err(|e| EditorialError::Invalid(e.to_string()))
}

/// Blocks a domain and its subdomains (see [`moderation::block_domain`]).
pub async fn block_domain(
    data: &FederationData,
    user: &User,
    host: &str,
    comment: &str,
) -> EditorialResult<moderation::BlockOutcome> {
    admin(user)?;
    let domain = domain(host)?;
    let outcome = moderation::block_domain(&data.store, &domain, comment.trim()).await?;
    record(data, user, "block.domain", domain.as_str(), comment.trim()).await?;
    Ok(outcome)
}

/// Lifts a domain block; false if there was none.
pub async fn unblock_domain(
    data: &FederationData,
    user: &User,
    host: &str,
) -> EditorialResult<bool> {
    admin(user)?;
    let domain = domain(host)?;
    let lifted = moderation::unblock_domain(&data.store, &domain).await?;
    if lifted {
        record(data, user, "unblock.domain", domain.as_str(), "").await?;
    }
    Ok(lifted)
}

/// The actor id of `@name@host` or an actor URL. A URL is taken as it is and a known handle
/// is looked up in the store, so blocking reaches the network only for a handle never seen.
async fn actor_id(data: &FederationData, target: &str) -> EditorialResult<Url> {
    let target = target.trim();
    if let Ok(url) = Url::parse(target)
        && matches!(url.scheme(), "http" | "https")
    {
        return Ok(url);
    }
    let handle = Handle::parse(target).map_err(|e| EditorialError::Invalid(e.to_string()))?;
    if let Some(known) = data
        .store
        .known_actor_by_handle(&handle.user, &handle.host)
        .await?
    {
        return Ok(known);
    }
    let actor = webfinger::resolve(data, &handle).await.map_err(|err| {
        tracing::info!(%handle, error = %err, "account to block not found");
        EditorialError::Invalid(format!("{handle} could not be found: give its actor URL"))
    })?;
    Ok(actor.0.ap_id)
}

/// Blocks one remote actor (see [`moderation::block_actor`]).
pub async fn block_actor(
    data: &FederationData,
    user: &User,
    target: &str,
) -> EditorialResult<(Url, moderation::BlockOutcome)> {
    admin(user)?;
    let ap_id = actor_id(data, target).await?;
    let outcome = moderation::block_actor(&data.store, &ap_id).await?;
    record(data, user, "block.actor", ap_id.as_str(), "").await?;
    Ok((ap_id, outcome))
}

/// Lifts an actor block; false if there was none.
pub async fn unblock_actor(
    data: &FederationData,
    user: &User,
    ap_id: &str,
) -> EditorialResult<bool> {
    admin(user)?;
    let ap_id = Url::parse(ap_id.trim()).map_err(|_| EditorialError::NotFound)?;
    let lifted = moderation::unblock_actor(&data.store, &ap_id).await?;
    if lifted {
        record(data, user, "unblock.actor", ap_id.as_str(), "").await?;
    }
    Ok(lifted)
}
