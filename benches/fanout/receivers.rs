//! The receiving side of the fan-out benchmark: one HTTP server per simulated host, each on its
//! own port of 127.0.0.1 and named `localhost:PORT` (activitypub_federation refuses IP-literal
//! hosts), each checking every delivery as a fediverse server does before answering 202.
//!
//! Checks, in a receiver's order: the `Signature` header parses, the `Digest` matches the body,
//! the body is a `Create` whose actor owns the key, the key (fetched from Broadside once and
//! shared by every receiver, as a real server caches it) verifies the signature. Each receiver
//! also counts what reaches it, so duplicates and misses show up.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri, header},
    routing::post,
};
use broadside::federation::signatures::{self, RequestParts, SignatureHeader};
use serde_json::Value;
use tokio::{net::TcpListener, sync::Notify, task::JoinHandle};

/// What all receivers of one run share, and what they saw.
pub struct Shared {
    /// Added before each answer, to stand for a slow server far away.
    latency: Duration,
    client: reqwest::Client,
    /// Broadside's key as (key id, PEM), fetched by the first delivery that needs it.
    key: tokio::sync::OnceCell<Result<(String, String), String>>,
    pub key_fetches: AtomicUsize,
    per_host: Vec<AtomicU32>,
    expected: usize,
    /// POSTs answered so far.
    answered: AtomicUsize,
    pub accepted: AtomicUsize,
    pub refused: AtomicUsize,
    /// The first reason a delivery was refused, for the report.
    pub first_refusal: Mutex<Option<String>>,
    first_body: OnceLock<Bytes>,
    /// Deliveries whose body differed from the first one received.
    pub other_bodies: AtomicUsize,
    /// CPU time spent in RSA verification, summed over receivers.
    verify_nanos: AtomicU64,
    epoch: Instant,
    first_arrival: AtomicU64,
    last_answer: AtomicU64,
    all_answered: Notify,
}

/// A snapshot of what the receivers saw, times relative to `since`.
#[derive(Debug, Clone)]
pub struct Seen {
    pub posts: usize,
    pub accepted: usize,
    pub refused: usize,
    pub first_refusal: Option<String>,
    /// Hosts that received nothing, and hosts that received more than one POST.
    pub missed_hosts: usize,
    pub duplicate_hosts: usize,
    pub other_bodies: usize,
    pub key_fetches: usize,
    pub verify_cpu: Duration,
    pub first_arrival: Option<Duration>,
    pub last_answer: Option<Duration>,
}

pub struct Receivers {
    pub shared: Arc<Shared>,
    pub ports: Vec<u16>,
    tasks: Vec<JoinHandle<()>>,
}

impl Receivers {
    /// Starts `hosts` receivers on 127.0.0.1, each answering after `latency`.
    pub async fn start(hosts: usize, latency: Duration) -> Self {
        let shared = Arc::new(Shared {
            latency,
            client: reqwest::Client::new(),
            key: tokio::sync::OnceCell::new(),
            key_fetches: AtomicUsize::new(0),
            per_host: (0..hosts).map(|_| AtomicU32::new(0)).collect(),
            expected: hosts,
            answered: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            first_refusal: Mutex::new(None),
            first_body: OnceLock::new(),
            other_bodies: AtomicUsize::new(0),
            verify_nanos: AtomicU64::new(0),
            epoch: Instant::now(),
            first_arrival: AtomicU64::new(u64::MAX),
            last_answer: AtomicU64::new(0),
            all_answered: Notify::new(),
        });
        let mut ports = Vec::with_capacity(hosts);
        let mut tasks = Vec::with_capacity(hosts);
        for index in 0..hosts {
            let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .expect("bind a receiver on 127.0.0.1");
            ports.push(listener.local_addr().expect("receiver address").port());
            let app = Router::new().route("/inbox", post(inbox)).with_state(Host {
                shared: shared.clone(),
                index,
            });
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }));
        }
        Self {
            shared,
            ports,
            tasks,
        }
    }

    /// Waits until every host has answered at least once, or `limit` passes; returns whether
    /// all did.
    pub async fn wait_all_answered(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.shared.all_answered.notified();
            if self.shared.answered.load(Ordering::SeqCst) >= self.shared.expected {
                return true;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            // Woken by the last answer; the short timeout covers a wake-up missed in between.
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), notified).await;
        }
    }

    /// What the receivers saw, with times measured from `since`.
    pub fn seen(&self, since: Instant) -> Seen {
        let shared = &self.shared;
        let offset = since.saturating_duration_since(shared.epoch);
        let at = |nanos: u64| Duration::from_nanos(nanos).checked_sub(offset);
        let counts: Vec<u32> = shared
            .per_host
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .collect();
        let first = shared.first_arrival.load(Ordering::SeqCst);
        let last = shared.last_answer.load(Ordering::SeqCst);
        Seen {
            posts: counts.iter().map(|&c| c as usize).sum(),
            accepted: shared.accepted.load(Ordering::SeqCst),
            refused: shared.refused.load(Ordering::SeqCst),
            first_refusal: shared.first_refusal.lock().expect("lock").clone(),
            missed_hosts: counts.iter().filter(|&&c| c == 0).count(),
            duplicate_hosts: counts.iter().filter(|&&c| c > 1).count(),
            other_bodies: shared.other_bodies.load(Ordering::SeqCst),
            key_fetches: shared.key_fetches.load(Ordering::SeqCst),
            verify_cpu: Duration::from_nanos(shared.verify_nanos.load(Ordering::SeqCst)),
            first_arrival: (first != u64::MAX).then(|| at(first)).flatten(),
            last_answer: (last != 0).then(|| at(last)).flatten(),
        }
    }

    pub fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

#[derive(Clone)]
struct Host {
    shared: Arc<Shared>,
    index: usize,
}

fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

async fn inbox(
    State(host): State<Host>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let shared = &host.shared;
    shared
        .first_arrival
        .fetch_min(nanos_since(shared.epoch), Ordering::SeqCst);
    shared.per_host[host.index].fetch_add(1, Ordering::SeqCst);
    let status = match verify(shared, &method, &uri, &headers, &body).await {
        Ok(()) => {
            shared.accepted.fetch_add(1, Ordering::SeqCst);
            StatusCode::ACCEPTED
        }
        Err(reason) => {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            shared
                .first_refusal
                .lock()
                .expect("lock")
                .get_or_insert(reason);
            StatusCode::UNAUTHORIZED
        }
    };
    if shared.first_body.get_or_init(|| body.clone()) != &body {
        shared.other_bodies.fetch_add(1, Ordering::SeqCst);
    }
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    shared
        .last_answer
        .fetch_max(nanos_since(shared.epoch), Ordering::SeqCst);
    if shared.answered.fetch_add(1, Ordering::SeqCst) + 1 >= shared.expected {
        shared.all_answered.notify_waiters();
    }
    status
}

/// Checks a delivery as a receiving server would; the error says why it is refused.
async fn verify(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    let signature = SignatureHeader::from_headers(headers).map_err(|e| e.to_string())?;
    signatures::verify_digest(headers, body).map_err(|e| e.to_string())?;
    let activity: Value = serde_json::from_slice(body).map_err(|e| format!("body: {e}"))?;
    if activity["type"] != "Create" {
        return Err(format!("expected a Create, got {}", activity["type"]));
    }
    let actor = activity["actor"].as_str().ok_or("no actor")?;
    if signature.key_owner_guess() != actor {
        return Err(format!("key {} is not {actor}'s", signature.key_id));
    }
    let (key_id, pem) = shared.key(actor).await?;
    if *key_id != signature.key_id {
        return Err(format!(
            "signed with {}, published {key_id}",
            signature.key_id
        ));
    }
    let parts = RequestParts {
        method,
        path_and_query: uri.path_and_query().map_or("/", |p| p.as_str()),
        headers,
    };
    let started = Instant::now();
    let verdict = signatures::verify_request(&parts, &signature, pem, chrono::Utc::now());
    shared.verify_nanos.fetch_add(
        u64::try_from(started.elapsed().as_nanos()).unwrap_or(0),
        Ordering::Relaxed,
    );
    verdict.map_err(|e| e.to_string())
}

impl Shared {
    /// The sender's key id and PEM, fetched from its actor document the first time only;
    /// deliveries arriving meanwhile wait for that one fetch.
    async fn key(&self, actor: &str) -> Result<&(String, String), String> {
        self.key
            .get_or_init(|| async {
                self.key_fetches.fetch_add(1, Ordering::SeqCst);
                let doc: Value = self
                    .client
                    .get(actor)
                    .header(header::ACCEPT, "application/activity+json")
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await
                    .map_err(|e| format!("fetching the actor: {e}"))?
                    .json()
                    .await
                    .map_err(|e| format!("reading the actor: {e}"))?;
                let key_id = doc["publicKey"]["id"].as_str().ok_or("no publicKey.id")?;
                let pem = doc["publicKey"]["publicKeyPem"]
                    .as_str()
                    .ok_or("no publicKeyPem")?;
                Ok((key_id.to_owned(), pem.to_owned()))
            })
            .await
            .as_ref()
            .map_err(Clone::clone)
    }
}
