//! Finding accounts on other servers by handle: WebFinger, then the actor document.
//!
//! Ours rather than the crate's: its client picks `http` or `https` from its debug switch,
//! while real servers (and the interop peers) speak HTTPS whatever we allow locally. HTTP is
//! tried only when private networks are allowed (local testing) and HTTPS did not answer.

use activitypub_federation::fetch::object_id::ObjectId;
use serde::Deserialize;
use url::Url;

use super::{FederationData, FederationError, http_client, objects::remote_actor::ApRemoteActor};
use crate::domain::{Handle, Mention};

/// The largest WebFinger document read.
const MAX_JRD: usize = 256 * 1024;

#[derive(Deserialize)]
struct Jrd {
    #[serde(default)]
    links: Vec<JrdLink>,
}

#[derive(Deserialize)]
struct JrdLink {
    rel: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    href: Option<Url>,
}

/// Resolves `@name@host` to the actor it names, fetched and stored.
pub async fn resolve(
    data: &FederationData,
    handle: &Handle,
) -> Result<ApRemoteActor, FederationError> {
    let actor_id = actor_id_of(data, handle).await?;
    ObjectId::<ApRemoteActor>::from(actor_id)
        .dereference(data)
        .await
}

/// Resolves what people type to name an account elsewhere: `@name@host` (by WebFinger) or
/// its actor URL (fetched as it is, after the check of internal addresses every request gets;
/// an IP literal never reaches the resolver that refuses internal host names).
pub async fn resolve_target(
    data: &FederationData,
    target: &str,
) -> Result<ApRemoteActor, FederationError> {
    let target = target.trim();
    match Url::parse(target) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            http_client::check_target(&url, data.config.allow_private_networks)
                .map_err(|e| FederationError::Invalid(e.to_string()))?;
            ObjectId::<ApRemoteActor>::from(url).dereference(data).await
        }
        _ => {
            let handle =
                Handle::parse(target).map_err(|e| FederationError::Invalid(e.to_string()))?;
            resolve(data, &handle).await
        }
    }
}

async fn actor_id_of(data: &FederationData, handle: &Handle) -> Result<Url, FederationError> {
    let allow_private = data.config.allow_private_networks;
    let schemes: &[&str] = if allow_private {
        &["https", "http"]
    } else {
        &["https"]
    };
    let mut last_error = FederationError::Invalid(format!("{handle} could not be looked up"));
    for scheme in schemes {
        let url = Url::parse(&format!(
            "{scheme}://{}/.well-known/webfinger?resource=acct:{}@{}",
            handle.host, handle.user, handle.host
        ))
        .map_err(|_| FederationError::Invalid(format!("{handle} is not a valid handle")))?;
        http_client::check_target(&url, allow_private)
            .map_err(|e| FederationError::Invalid(e.to_string()))?;
        match fetch_jrd(data, &url).await {
            Ok(body) => return actor_in_jrd(&body, handle),
            Err(err) => last_error = err,
        }
    }
    Err(last_error)
}

async fn fetch_jrd(data: &FederationData, url: &Url) -> Result<Vec<u8>, FederationError> {
    let response = data
        .http
        .get(url.as_str())
        .header(
            http::header::ACCEPT,
            "application/jrd+json, application/json",
        )
        .send()
        .await
        .map_err(|e| FederationError::Invalid(format!("WebFinger at {url} failed: {e}")))?;
    if !response.status().is_success() {
        return Err(FederationError::Invalid(format!(
            "WebFinger at {url} answered {}",
            response.status()
        )));
    }
    http_client::read_limited(response, MAX_JRD)
        .await
        .map_err(|e| FederationError::Invalid(format!("WebFinger at {url}: {e}")))
}

/// The actor a WebFinger answer names for `handle`, read without the network (the fuzz
/// target `fuzz/fuzz_targets/webfinger.rs` runs it on arbitrary bytes).
pub fn actor_in_jrd(body: &[u8], handle: &Handle) -> Result<Url, FederationError> {
    let jrd: Jrd = serde_json::from_slice(body).map_err(|e| {
        FederationError::Invalid(format!(
            "the WebFinger answer for {handle} is not JSON: {e}"
        ))
    })?;
    self_link(&jrd, handle)
}

/// The ActivityPub actor a JRD points at: the `self` link of an ActivityStreams type.
fn self_link(jrd: &Jrd, handle: &Handle) -> Result<Url, FederationError> {
    jrd.links
        .iter()
        .filter(|link| link.rel == "self")
        .find(|link| {
            link.kind.as_deref().is_some_and(|kind| {
                kind.starts_with("application/activity+json")
                    || kind.starts_with("application/ld+json")
            })
        })
        .and_then(|link| link.href.clone())
        .ok_or_else(|| FederationError::Invalid(format!("{handle} has no ActivityPub actor")))
}

/// Resolves the accounts a post mentions. Those that cannot be found stay plain text in the
/// post (and are reported), rather than stopping the publication.
pub async fn resolve_mentions(
    data: &FederationData,
    handles: &[Handle],
) -> (Vec<Mention>, Vec<(Handle, String)>) {
    let mut found = Vec::new();
    let mut failed = Vec::new();
    for handle in handles {
        match resolve(data, handle).await {
            Ok(actor) => found.push(Mention {
                name: handle.to_string(),
                inbox: actor.0.delivery_inbox().clone(),
                href: actor.0.ap_id,
            }),
            Err(err) => failed.push((handle.clone(), err.to_string())),
        }
    }
    (found, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_self_link_of_an_activitystreams_type_is_chosen() {
        let jrd: Jrd = serde_json::from_value(serde_json::json!({
            "subject": "acct:a@b.example",
            "links": [
                {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": "https://b.example/@a"},
                {"rel": "self", "type": "application/activity+json", "href": "https://b.example/users/a"}
            ]
        }))
        .unwrap();
        let handle = Handle::parse("a@b.example").unwrap();
        assert_eq!(
            self_link(&jrd, &handle).unwrap().as_str(),
            "https://b.example/users/a"
        );
        let empty: Jrd = serde_json::from_value(serde_json::json!({"links": []})).unwrap();
        assert!(self_link(&empty, &handle).is_err());
    }
}
