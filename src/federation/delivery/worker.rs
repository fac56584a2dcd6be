//! The delivery worker: claims due deliveries, signs and sends them concurrently, and records
//! each outcome (delivered, retry later, or failed for good with the reason). It also
//! publishes scheduled posts when their time comes.
//!
//! Outcomes by response: 2xx delivered; 408, 429 and 5xx retried on the schedule in
//! [`super::RETRY_SCHEDULE`] (or later, if `Retry-After` asks); any other 4xx failed at once,
//! with its status kept (a receiver refusing our signature says so with 401, and that must
//! stay visible). Network errors and timeouts are retried.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use http::{HeaderMap, HeaderValue, Method, header};
use tokio::{
    sync::{Semaphore, watch},
    task::JoinSet,
    time::Instant,
};
use tracing::Instrument;
use url::Url;

use super::{
    backlog::{Claimed, PER_HOST},
    outcome::{Outcome, classify, describe},
    recorder::Recorder,
    retry_delay,
    single_flight::SingleFlight,
};
use crate::{
    app::AppState,
    config::authority,
    federation::{
        http_client::check_target,
        keys::SigningKey,
        publish,
        signatures::{self, SignatureError},
        urls,
    },
    store::{
        StoreError,
        deliveries::{ClaimedDelivery, Delivered, StoredActivity},
        now_millis,
    },
};

/// How many deliveries one worker sends at once (across all hosts). Most of a send is waiting
/// for the receiver, so this is high: with 128, a fan-out to 1,000 hosts answering in 250 ms
/// took 8 rounds. The per-host limit is what protects receivers.
const CONCURRENCY: usize = 512;
/// While sends are in flight, claim again only once this many slots are free, rather than
/// one row per finished send.
const CLAIM_AT_LEAST: usize = 32;
/// How long deliveries handed back for a busy host wait before they are claimed again.
const DEFER: Duration = Duration::from_secs(2);
/// How long a claim holds; longer than any one send can take.
const LEASE: Duration = Duration::from_secs(120);
/// How often the worker looks for work it was not woken for: queued by another process (the
/// CLI, a web-only server) or falling due for a retry. The look is one indexed `SELECT`
/// while idle.
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Received activity ids are remembered this long (senders retry for days, not weeks).
const REMEMBER_RECEIVED: Duration = Duration::from_secs(30 * 24 * 3600);
/// Finished deliveries are kept this long for operators, then pruned.
const KEEP_FINISHED: Duration = Duration::from_secs(7 * 24 * 3600);

/// Runs until `shutdown` turns true, then drains.
pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let (recorder, recording) = Recorder::start(state.store.clone(), shutdown.clone());
    let senders = Senders::new(recorder, shutdown.clone());
    // Each task returns its delivery's id and whether it was tried, so what is still to be
    // handed back is known at shutdown.
    let mut in_flight: JoinSet<(i64, bool)> = JoinSet::new();
    let mut unfinished = Claimed::default();
    // Whether due work may be waiting: true when woken, at each poll, and after a claim that
    // filled every slot it asked for. False after a claim that found less: claiming again as
    // sends finish would find nothing, and on SQLite each claim is a write.
    let mut may_be_waiting = true;
    let mut next_poll = Instant::now();
    // None: not yet done in this run (an Instant cannot reliably be set in the past).
    let mut last_prune: Option<std::time::Instant> = None;
    let mut last_schedule_check: Option<std::time::Instant> = None;
    tracing::info!("delivery worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        while let Some(done) = in_flight.try_join_next() {
            forget(&mut unfinished, done);
        }
        let room = CONCURRENCY.saturating_sub(in_flight.len());
        if may_be_waiting && (room >= CLAIM_AT_LEAST || in_flight.is_empty()) {
            match state
                .store
                .claim_deliveries_except(
                    i64::try_from(room).unwrap_or(1),
                    lease_ms(),
                    &unfinished.busy_hosts(),
                )
                .await
            {
                Ok(batch) => {
                    may_be_waiting = batch.len() == room;
                    let mut deferred = Vec::new();
                    for delivery in batch {
                        if !unfinished.has_room_for(&delivery.host) {
                            deferred.push(delivery.id);
                            continue;
                        }
                        unfinished.add(delivery.id, &delivery.host);
                        let state = state.clone();
                        let senders = senders.clone();
                        in_flight.spawn(async move {
                            let id = delivery.id;
                            (id, deliver(&state, &senders, delivery).await)
                        });
                    }
                    defer(&state, &deferred).await;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot claim deliveries; retrying");
                    may_be_waiting = false;
                }
            }
        }
        // Scheduled posts queue their Creates in a transaction whose commit wakes this loop.
        if last_schedule_check.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
            last_schedule_check = Some(std::time::Instant::now());
            if let Err(err) = publish::publish_due(&state.store, &state.config.base_url).await {
                tracing::warn!(error = %err, "could not publish scheduled posts");
            }
        }
        if last_prune.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
            last_prune = Some(std::time::Instant::now());
            prune(&state).await;
        }
        if Instant::now() >= next_poll {
            // While idle, sleep until the next retry falls due if that is sooner.
            let wait = if in_flight.is_empty() {
                next_wait(&state).await
            } else {
                POLL_INTERVAL
            };
            next_poll = Instant::now() + wait;
        }
        tokio::select! {
            _ = state.store.deliveries_queued().notified() => may_be_waiting = true,
            _ = tokio::time::sleep_until(next_poll) => may_be_waiting = true,
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => forget(&mut unfinished, done),
            _ = shutdown.changed() => {}
        }
    }
    drain(&state, in_flight, unfinished).await;
    // Every sending task is gone with its handle on the recorder; this is the last one, and
    // dropping it lets the recorder write what it holds and end.
    drop(senders);
    if recording.await.is_err() {
        tracing::error!("the delivery recorder ended abnormally");
    }
    tracing::info!("delivery worker stopped");
}

/// A task that ended without trying its delivery (shutdown began) stays unfinished, to be
/// handed back by [`drain`].
fn forget(unfinished: &mut Claimed, done: Result<(i64, bool), tokio::task::JoinError>) {
    if let Ok((id, true)) = done {
        unfinished.finish(id);
    }
}

/// Hands back claimed deliveries whose host already has its backlog claimed (`backlog.rs`),
/// to be claimed again after [`DEFER`] and only once the host has room (`busy_hosts`).
/// Without this, a host that hangs with hundreds of deliveries due would fill every slot
/// with tasks waiting for its eight, and every other host would wait for its timeouts.
async fn defer(state: &AppState, ids: &[i64]) {
    if ids.is_empty() {
        return;
    }
    let until = now_millis() + i64::try_from(DEFER.as_millis()).unwrap_or(i64::MAX / 2);
    if let Err(err) = state.store.defer_deliveries(ids, until).await {
        // They keep their lease and come back when it runs out.
        tracing::warn!(count = ids.len(), error = %err, "could not defer deliveries");
    }
}

/// Until the next delivery falls due, but never longer than the poll interval.
async fn next_wait(state: &AppState) -> Duration {
    match state.store.next_delivery_due().await {
        Ok(Some(due)) => {
            let ms = u64::try_from((due - now_millis()).max(10)).unwrap_or(10);
            Duration::from_millis(ms).min(POLL_INTERVAL)
        }
        _ => POLL_INTERVAL,
    }
}

async fn drain(state: &AppState, mut in_flight: JoinSet<(i64, bool)>, mut unfinished: Claimed) {
    let pending = in_flight.len();
    if pending > 0 {
        tracing::info!(pending, "waiting for deliveries in flight");
        let _ = tokio::time::timeout(state.delivery.shutdown_grace, async {
            while let Some(done) = in_flight.join_next().await {
                forget(&mut unfinished, done);
            }
        })
        .await;
        // Aborts the rest and waits until they are gone (and their handles on the recorder).
        in_flight.shutdown().await;
    }
    // Whatever is still claimed and unfinished goes back to the queue for the next run.
    for id in unfinished.into_ids() {
        if let Err(err) = state.store.release_delivery(id).await {
            tracing::warn!(delivery = id, error = %err, "could not hand a delivery back");
        }
    }
}

async fn prune(state: &AppState) {
    let keep = i64::try_from(KEEP_FINISHED.as_millis()).unwrap_or(i64::MAX);
    match state.store.prune_deliveries(now_millis() - keep).await {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "pruned finished deliveries"),
        Err(err) => tracing::warn!(error = %err, "could not prune deliveries"),
    }
    let remember = i64::try_from(REMEMBER_RECEIVED.as_millis()).unwrap_or(i64::MAX);
    match state
        .store
        .prune_received_activities(now_millis() - remember)
        .await
    {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "forgot old received activity ids"),
        Err(err) => tracing::warn!(error = %err, "could not prune received activity ids"),
    }
}

fn lease_ms() -> i64 {
    i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX)
}

/// What the sending tasks of one worker share: parsed keys and activities, each loaded once
/// however many tasks ask at the same moment, a concurrency limit per host, and the recorder
/// of successes.
#[derive(Clone)]
struct Senders {
    keys: Arc<SingleFlight<Option<i64>, CachedKey>>,
    activities: Arc<SingleFlight<i64, Arc<StoredActivity>>>,
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    recorder: Recorder,
    /// Turns true at shutdown: sends waiting for their host's turn are then not begun.
    stopping: watch::Receiver<bool>,
}

/// A parsed key and the `keyId` it signs as.
type CachedKey = (Arc<SigningKey>, String);

/// Activities kept in memory at most; a fan-out needs one at a time.
const ACTIVITY_CACHE: usize = 256;
/// Signing keys kept at most: one per local account that sends, and the instance actor.
const KEY_CACHE: usize = 1024;

impl Senders {
    fn new(recorder: Recorder, stopping: watch::Receiver<bool>) -> Self {
        Self {
            keys: Arc::new(SingleFlight::new(KEY_CACHE)),
            activities: Arc::new(SingleFlight::new(ACTIVITY_CACHE)),
            hosts: Arc::default(),
            recorder,
            stopping,
        }
    }

    /// The key an actor (None: the instance actor) signs with, read and parsed once.
    async fn key(&self, state: &AppState, actor_id: Option<i64>) -> Result<CachedKey, String> {
        self.keys
            .get_or_load(actor_id, || async {
                let base = &state.config.base_url;
                let (pem, key_id) = match actor_id {
                    None => (
                        state.instance_actor.private_key_pem.clone(),
                        urls::instance_key_id(base),
                    ),
                    Some(id) => {
                        let actor = state
                            .store
                            .actor_by_id(id)
                            .await
                            .map_err(|e| e.to_string())?
                            .ok_or("the signing account no longer exists")?;
                        (
                            actor.private_key_pem,
                            urls::actor_key_id(base, actor.username.as_str()),
                        )
                    }
                };
                let key = SigningKey::from_pem(&pem).map_err(|e| e.to_string())?;
                Ok((Arc::new(key), key_id))
            })
            .await
    }

    /// The stored activity, loaded once however many inboxes it goes to.
    async fn activity(&self, state: &AppState, id: i64) -> Result<Arc<StoredActivity>, String> {
        self.activities
            .get_or_load(id, || async {
                let activity = state
                    .store
                    .outbox_activity(id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("the activity was deleted")?;
                Ok(Arc::new(activity))
            })
            .await
    }

    fn host_limit(&self, host: &str) -> Arc<Semaphore> {
        let Ok(mut hosts) = self.hosts.lock() else {
            return Arc::new(Semaphore::new(PER_HOST));
        };
        if hosts.len() > 10_000 {
            // Forget idle hosts now and then; their limits are recreated on demand.
            hosts.retain(|_, limit| limit.available_permits() < PER_HOST);
        }
        hosts
            .entry(host.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(PER_HOST)))
            .clone()
    }
}

/// Sends one delivery and records the outcome; false if it was not tried (shutdown).
async fn deliver(state: &AppState, senders: &Senders, delivery: ClaimedDelivery) -> bool {
    let span = tracing::info_span!(
        "delivery",
        activity = delivery.outbox_activity_id,
        host = %delivery.host,
        attempt = delivery.attempts + 1,
    );
    // `instrument`, not `span.enter()`: a guard held across `.await` would tag whatever else
    // runs on this thread meanwhile with this delivery's span.
    send(state, senders, delivery).instrument(span).await
}

async fn send(state: &AppState, senders: &Senders, delivery: ClaimedDelivery) -> bool {
    let limit = senders.host_limit(&delivery.host);
    let mut stopping = senders.stopping.clone();
    let permit = tokio::select! {
        permit = limit.acquire() => permit,
        // The grace is for sends under way, not for a backlog to start new ones.
        _ = stopping.wait_for(|stop| *stop) => return false,
    };
    let Ok(_permit) = permit else {
        return false;
    };
    match attempt(state, senders, &delivery).await {
        Outcome::Delivered(status) => {
            tracing::info!(status, "delivered");
            senders.recorder.delivered(Delivered {
                id: delivery.id,
                status,
                recovered_host: delivery.host_failing_since.map(|_| delivery.host.clone()),
            });
        }
        outcome => {
            if let Err(err) = record(state, &delivery, &outcome).await {
                // The lease will run out and the delivery be tried again: at least once,
                // never lost.
                tracing::error!(delivery = delivery.id, error = %err, "could not record a delivery outcome");
            }
        }
    }
    true
}

/// Records a retry or a failure (successes go to the [`Recorder`]).
async fn record(
    state: &AppState,
    delivery: &ClaimedDelivery,
    outcome: &Outcome,
) -> Result<(), StoreError> {
    let store = &state.store;
    match outcome {
        Outcome::Delivered(status) => store.mark_delivered(delivery.id, *status).await,
        Outcome::Retry {
            status,
            error,
            not_before,
        } => {
            if status.is_none_or(|s| s >= 500) {
                store.record_host_failure(&delivery.host).await?;
                state.hosts_heard_from.forget(&delivery.host);
            }
            match retry_delay(delivery.attempts + 1) {
                Some(delay) => {
                    let delay = not_before.map_or(delay, |asked| asked.max(delay));
                    let next =
                        now_millis() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
                    tracing::warn!(?status, error = %error, retry_in_s = delay.as_secs(), "delivery failed; will retry");
                    store
                        .schedule_retry(delivery.id, next, *status, error)
                        .await
                }
                None => {
                    tracing::warn!(?status, error = %error, "delivery failed; retries exhausted");
                    store.mark_failed(delivery.id, *status, error).await
                }
            }
        }
        Outcome::Failed { status, error } => {
            tracing::warn!(?status, error = %error, "delivery refused; not retried");
            // The outcome first: what follows only tidies up, and if it is cut short, the
            // next delivery to the same inbox meets the same answer and does it again.
            store.mark_failed(delivery.id, *status, error).await?;
            if let Some(status) = status {
                // The host answered, so it is up; its row is written only if it was failing.
                if delivery.host_failing_since.is_some() {
                    store.record_host_success(&delivery.host).await?;
                }
                if *status == 410
                    && let Ok(inbox) = Url::parse(&delivery.inbox)
                {
                    let removed = store.remove_followers_with_inbox(&inbox).await?;
                    tracing::info!(removed, "the inbox is gone; its followers were removed");
                }
            }
            Ok(())
        }
    }
}

async fn attempt(state: &AppState, senders: &Senders, delivery: &ClaimedDelivery) -> Outcome {
    let inbox = match Url::parse(&delivery.inbox) {
        Ok(inbox) => inbox,
        Err(err) => {
            return Outcome::Failed {
                status: None,
                error: format!("bad inbox URL: {err}"),
            };
        }
    };
    if let Err(err) = check_target(&inbox, state.config.allow_private_networks) {
        return Outcome::Failed {
            status: None,
            error: err.to_string(),
        };
    }
    if delivery
        .host_failing_since
        .is_some_and(|since| since < super::unreachable_cutoff())
    {
        return Outcome::Failed {
            status: None,
            error: "the host has been unreachable for days".into(),
        };
    }
    let activity = match senders.activity(state, delivery.outbox_activity_id).await {
        Ok(activity) => activity,
        Err(error) => {
            return Outcome::Failed {
                status: None,
                error,
            };
        }
    };
    tracing::debug!(activity = %activity.ap_id, "sending");
    let (key, key_id) = match senders.key(state, activity.actor_id).await {
        Ok(key) => key,
        Err(error) => {
            return Outcome::Failed {
                status: None,
                error,
            };
        }
    };
    let headers = match signed_post(&inbox, activity.body.as_bytes(), &key_id, &key) {
        Ok(headers) => headers,
        Err(err) => {
            return Outcome::Failed {
                status: None,
                error: format!("cannot sign: {err}"),
            };
        }
    };
    let response = state
        .http
        .post(inbox.as_str())
        .headers(headers)
        .body(activity.body.clone())
        // The whole exchange up to the answer's head: a receiver that never answers, or
        // trickles its answer, cannot hold this send (and one of its host's slots) longer.
        .timeout(state.delivery.request_timeout)
        .send()
        .await;
    match response {
        Ok(response) => classify(response.status(), response.headers()),
        Err(err) => Outcome::Retry {
            status: None,
            error: describe(&err, state.delivery.request_timeout),
            not_before: None,
        },
    }
}

/// Builds the signed headers of a delivery POST.
pub fn signed_post(
    inbox: &Url,
    body: &[u8],
    key_id: &str,
    key: &SigningKey,
) -> Result<HeaderMap, SignatureError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::HOST,
        HeaderValue::from_str(&authority(inbox)).map_err(|_| SignatureError::Malformed("host"))?,
    );
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/activity+json"),
    );
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/activity+json"),
    );
    let path_and_query = match inbox.query() {
        Some(query) => format!("{}?{query}", inbox.path()),
        None => inbox.path().to_owned(),
    };
    let signature = signatures::sign_request(
        &Method::POST,
        &path_and_query,
        &mut headers,
        Some(body),
        key_id,
        key,
        Utc::now(),
    )?;
    headers.insert("signature", signature);
    Ok(headers)
}
