//! The inbox pipeline, shared by every personal inbox and the shared `/inbox`.
//!
//! Order matters: everything that can be checked without the network is checked first (a
//! signature is present and readable, the digest matches the body, the date is fresh, the
//! JSON parses, the key belongs to the activity's actor's host), so an unsigned or malformed
//! request never makes us fetch anything. Only then is the actor fetched (or read from the
//! cache) and the signature verified, once more with a freshly fetched key if the cached one
//! fails, since the actor may have rotated its key.
//!
//! Moderation sits in the cheap part: the per-host rate limit right after the signature header
//! is read (429), and blocked actors and domains right after the actor id is known (403).
//!
//! An actor we do not know yet is fetched once, however many of its activities arrive at the
//! same moment ([`ActorFetches`]): a new follower's server often sends several at once.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use activitypub_federation::fetch::object_id::ObjectId;
use bytes::Bytes;
use chrono::Utc;
use http::{HeaderMap, Method};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::{
    FederationData, FederationError,
    activities::{self, Handled, id_of},
    objects::remote_actor::ApRemoteActor,
    signatures::{self, RequestParts, SignatureError, SignatureHeader},
};

/// A received request, as far as the inbox needs it.
pub struct InboxRequest {
    pub method: Method,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why an activity was refused; the web layer maps each to a status code.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// 401: the request is not provably from the activity's actor.
    #[error("{0}")]
    Unauthorized(String),
    /// 400: the body is not an activity we can read.
    #[error("{0}")]
    BadRequest(String),
    /// 403: the actor, or its domain, is blocked here.
    #[error("{0}")]
    Forbidden(String),
    /// 429: the sender's host has used up its allowance; it may try again after the wait.
    #[error("too many requests from this host")]
    TooManyRequests { retry_after: std::time::Duration },
    /// 500: our side failed; the sender should retry.
    #[error("{0}")]
    Internal(String),
}

impl From<SignatureError> for InboxError {
    fn from(err: SignatureError) -> Self {
        Self::Unauthorized(err.to_string())
    }
}

/// The fields every activity has, read before anything else.
#[derive(Deserialize)]
struct Envelope {
    id: Url,
    #[serde(rename = "type")]
    kind: String,
    actor: Value,
}

/// A body read as an activity: the JSON, and what every activity must say.
#[derive(Debug)]
pub struct ParsedActivity {
    pub json: Value,
    pub id: Url,
    pub kind: String,
    pub actor: Url,
}

/// Reads a body as an activity, without the network or the database: JSON, with an `id`
/// URL, a `type` and an `actor` (a URL or an object with one). The fuzz target
/// `fuzz/fuzz_targets/activity_json.rs` runs this on arbitrary bytes.
pub fn parse_activity(body: &[u8]) -> Result<ParsedActivity, InboxError> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| InboxError::BadRequest(format!("the body is not JSON: {e}")))?;
    let envelope: Envelope = serde_json::from_value(json.clone())
        .map_err(|e| InboxError::BadRequest(format!("the body is not an activity: {e}")))?;
    let actor = id_of(&envelope.actor)
        .ok_or_else(|| InboxError::BadRequest("the activity has no actor".into()))?;
    Ok(ParsedActivity {
        json,
        id: envelope.id,
        kind: envelope.kind,
        actor,
    })
}

/// Verifies and applies one incoming activity.
pub async fn receive(data: &FederationData, request: InboxRequest) -> Result<Handled, InboxError> {
    let signature = SignatureHeader::from_headers(&request.headers)?;
    let key_url = Url::parse(&signature.key_id)
        .map_err(|_| InboxError::Unauthorized("the signature's keyId is not a URL".into()))?;
    // Moderation: the per-host limit comes before any work that costs (digest, JSON, fetch).
    data.inbox_limiter
        .check(&crate::config::authority(&key_url))
        .map_err(|retry_after| InboxError::TooManyRequests { retry_after })?;
    signatures::verify_digest(&request.headers, &request.body)?;
    let ParsedActivity {
        json,
        id: activity_id,
        kind,
        actor: actor_id,
    } = parse_activity(&request.body)?;
    let span = tracing::info_span!(
        "inbox",
        activity = %activity_id,
        kind = %kind,
        host = %crate::config::authority(&actor_id),
    );
    let _guard = span.enter();

    if key_url.origin() != actor_id.origin() {
        return Err(InboxError::Unauthorized(
            "the signing key is not on the activity's actor's host".into(),
        ));
    }
    if activity_id.origin() != actor_id.origin() {
        return Err(InboxError::BadRequest(
            "the activity's id is not on its actor's host".into(),
        ));
    }
    // Moderation: a blocked actor or domain is refused by the actor id it claims, before the
    // signature is verified, so a blocked host is never fetched from. A forged request naming
    // a blocked actor is refused either way; the key is on the same host, checked above.
    if let Some(block) = data
        .store
        .block_covering(&actor_id)
        .await
        .map_err(|e| InboxError::Internal(e.to_string()))?
    {
        tracing::info!(%block, "activity from a blocked sender refused");
        return Err(InboxError::Forbidden(
            "the sender is blocked by this server".into(),
        ));
    }

    let parts = RequestParts {
        method: &request.method,
        path_and_query: &request.path_and_query,
        headers: &request.headers,
    };
    signatures::check_time(&parts, &signature, Utc::now())?;
    let signer = match authenticate(data, &actor_id, &signature, &parts).await {
        Ok(signer) => signer,
        Err(Refusal::ActorGone) if activities::delete::deletes_its_actor(&json) => {
            // The account is gone and we never kept it, so there is nothing to forget.
            tracing::info!("delete of an actor we do not know; acknowledged");
            return Ok(Handled::Ignored("Delete of an unknown actor".into()));
        }
        Err(refusal) => return Err(refusal.into()),
    };

    heard_from(data, &crate::config::authority(&actor_id)).await;
    let handled = activities::dispatch(&kind, json, &signer, data)
        .await
        .map_err(|err| match err {
            FederationError::Invalid(message) => InboxError::BadRequest(message),
            other => InboxError::Internal(other.to_string()),
        })?;
    match &handled {
        Handled::Applied => tracing::debug!("activity applied"),
        Handled::Ignored(label) => {
            tracing::info!(kind = %label, "activity type not handled; acknowledged")
        }
    }
    Ok(handled)
}

/// A host we could not deliver to is evidently back: deliver to it again. Read first: a
/// healthy host, by far the usual case, costs no write, and one found healthy lately is not
/// read again (see [`HostsHeardFrom`]).
async fn heard_from(data: &FederationData, host: &str) {
    if data.hosts_heard_from.lately(host) {
        return;
    }
    let recorded = match data.store.host_failing_since(host).await {
        Ok(Some(_)) => data.store.record_host_success(host).await,
        other => other.map(|_| ()),
    };
    match recorded {
        Ok(()) => data.hosts_heard_from.healthy(host),
        Err(err) => tracing::warn!(error = %err, "could not record the host as reachable"),
    }
}

/// Hosts the inbox found healthy in the last [`HostsHeardFrom::FOR`], so that a busy sender
/// costs one look at the hosts table a minute rather than one per activity. When this
/// process's delivery worker finds a host failing it forgets the host at once; a worker in
/// another process marks it failing in the database only, and the next activity from it
/// after this period clears the mark (deliveries to it resume up to a minute later than they
/// could).
#[derive(Default)]
pub struct HostsHeardFrom {
    seen: std::sync::Mutex<HashMap<String, Instant>>,
}

impl HostsHeardFrom {
    pub const FOR: Duration = Duration::from_secs(60);
    /// Hosts remembered at most; past that the list starts again.
    const MAX: usize = 10_000;

    fn lately(&self, host: &str) -> bool {
        self.lock()
            .get(host)
            .is_some_and(|at| at.elapsed() < Self::FOR)
    }

    fn healthy(&self, host: &str) {
        let mut seen = self.lock();
        if seen.len() >= Self::MAX {
            seen.clear();
        }
        seen.insert(host.to_owned(), Instant::now());
    }

    /// The delivery worker found `host` failing: look it up again when it is next heard from.
    pub fn forget(&self, host: &str) {
        self.lock().remove(host);
    }

    /// Each critical section is one map operation; a panic cannot leave it half done.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub(super) enum Refusal {
    ActorGone,
    Unauthorized(String),
    Internal(String),
}

impl From<Refusal> for InboxError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::ActorGone => Self::Unauthorized("the signing actor is gone".into()),
            Refusal::Unauthorized(message) => Self::Unauthorized(message),
            Refusal::Internal(message) => Self::Internal(message),
        }
    }
}

/// Finds the activity's actor (or a signed fetch's signer) and checks that it signed the
/// request.
pub(super) async fn authenticate(
    data: &FederationData,
    actor_id: &Url,
    signature: &SignatureHeader,
    request: &RequestParts<'_>,
) -> Result<ApRemoteActor, Refusal> {
    let object_id = ObjectId::<ApRemoteActor>::from(actor_id.clone());
    let actor = {
        let _turn = data.actor_fetches.turn(actor_id).await;
        object_id.dereference(data).await.map_err(fetch_refusal)?
    };
    if check(&actor, signature, request).is_ok() {
        return Ok(actor);
    }
    // The cached key may be stale (the actor rotated it): fetch the actor once more.
    let fresh = object_id
        .dereference_forced(data)
        .await
        .map_err(fetch_refusal)?;
    check(&fresh, signature, request).map_err(|err| Refusal::Unauthorized(err.to_string()))?;
    Ok(fresh)
}

fn check(
    actor: &ApRemoteActor,
    signature: &SignatureHeader,
    request: &RequestParts<'_>,
) -> Result<(), SignatureError> {
    if actor.0.public_key_id != signature.key_id {
        return Err(SignatureError::Invalid);
    }
    signatures::verify_request(request, signature, &actor.0.public_key_pem, Utc::now())
}

fn fetch_refusal(err: FederationError) -> Refusal {
    if err.is_gone() {
        return Refusal::ActorGone;
    }
    match err {
        FederationError::Store(err) => Refusal::Internal(err.to_string()),
        other => Refusal::Unauthorized(format!("the signing actor could not be fetched: {other}")),
    }
}

/// One lookup at a time per actor. Requests naming the same actor take turns: the first
/// fetches the actor (if it is not cached) and stores it, and those that waited then read the
/// stored copy instead of fetching it again. Requests for different actors never wait for
/// each other. An actor's entry lives only while someone holds or awaits its turn.
#[derive(Default)]
pub struct ActorFetches {
    turns: std::sync::Mutex<HashMap<Url, Arc<tokio::sync::Mutex<()>>>>,
}

impl ActorFetches {
    /// Waits for `actor`'s turn; the turn ends when the returned guard is dropped.
    pub async fn turn(&self, actor: &Url) -> Turn<'_> {
        let lock = self.lock().entry(actor.clone()).or_default().clone();
        Turn {
            guard: Some(lock.clone().lock_owned().await),
            lock,
            actor: actor.clone(),
            fetches: self,
        }
    }

    /// Each critical section is one map operation; a panic cannot leave it half done.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Url, Arc<tokio::sync::Mutex<()>>>> {
        self.turns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many actors have someone holding or awaiting a turn (for tests).
    pub fn in_use(&self) -> usize {
        self.lock().len()
    }
}

/// An actor's turn; see [`ActorFetches::turn`].
pub struct Turn<'a> {
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    lock: Arc<tokio::sync::Mutex<()>>,
    actor: Url,
    fetches: &'a ActorFetches,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut turns = self.fetches.lock();
        drop(self.guard.take());
        // The map and this turn hold the last two handles: nobody waits, forget the entry.
        // (New waiters need the map lock, held here, to get a handle.)
        if Arc::strong_count(&self.lock) == 2 {
            turns.remove(&self.actor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_heard_from_is_remembered_until_the_worker_finds_it_failing() {
        let hosts = HostsHeardFrom::default();
        assert!(!hosts.lately("a.example"));
        hosts.healthy("a.example");
        assert!(hosts.lately("a.example"));
        assert!(!hosts.lately("b.example"));
        hosts.forget("a.example");
        assert!(!hosts.lately("a.example"));
    }

    #[tokio::test]
    async fn requests_for_one_actor_take_turns_and_the_entry_is_forgotten() {
        let fetches = ActorFetches::default();
        let actor = Url::parse("https://a.example/users/a").unwrap();
        let other = Url::parse("https://b.example/users/b").unwrap();

        let first = fetches.turn(&actor).await;
        // Another actor is not held up.
        drop(fetches.turn(&other).await);
        let mut second = std::pin::pin!(fetches.turn(&actor));
        assert!(futures::poll!(&mut second).is_pending(), "the second waits");
        drop(first);
        assert_eq!(fetches.in_use(), 1, "kept while someone waits");
        drop(second.await);
        assert_eq!(fetches.in_use(), 0, "forgotten when nobody needs it");
    }
}
