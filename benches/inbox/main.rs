//! Inbox benchmark (issue #7, target 4): signed activities from many remote actors, accepted
//! and stored.
//!
//! `cargo bench --bench inbox` (options after `--`: `--actors N`, `--per-actor N`,
//! `--concurrency N`). Two scenarios, each on a fresh server (`app::run_prepared`, `Role::All`)
//! and SQLite database under `target/tmp`:
//!
//! - **known actors**: 1,000 remote actors whose keys are already cached each like
//!   `--per-actor` (10) posts. Every request is signed before the clock starts; the figure is
//!   how many were answered 202 per second, with the database then checked to hold every
//!   like (nothing dropped).
//! - **unknown actors**: 1,000 actors nobody has seen, served by 100 loopback servers, each
//!   sending 3 likes at the same moment. Each server counts how often each actor document is
//!   fetched: the target is at most once per actor.
//!
//! Each actor is on its own host (`localhost:PORT`) in the first scenario, as 1,000 servers
//! would be, so the inbox's per-host rate limit is not what is measured. Results go to
//! stdout; docs/BENCHMARKS.md says what they mean. All traffic stays on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is the report

#[path = "../common/mod.rs"]
mod common;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::get,
};
use broadside::{
    app::{self, AppState, Role},
    config::{Config, Overrides},
    domain::{Language, LocalActor, PostDraft, PostKind},
    federation::{
        keys::{self, PemKeyPair, SigningKey},
        publish, signatures,
    },
    store::{Store, remote_actors::NewRemoteActor},
};
use futures::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use url::Url;

use common::{cores, create_account, load_average, peak_memory_mib};

/// Distinct key pairs shared among the actors: RSA key generation takes 100–400 ms each,
/// and which actor holds which key changes nothing the server does.
const KEY_PAIRS: usize = 8;

struct Options {
    actors: usize,
    per_actor: usize,
    concurrency: usize,
    unknown_servers: usize,
    unknown_per_actor: usize,
}

impl Options {
    fn from_args() -> Self {
        let mut options = Self {
            actors: 1_000,
            per_actor: 10,
            concurrency: 64,
            unknown_servers: 100,
            unknown_per_actor: 3,
        };
        // Without --bench (`cargo test --benches`) a small smoke run checks that it still
        // fits together.
        if !std::env::args().any(|arg| arg == "--bench") {
            options.actors = 20;
            options.per_actor = 2;
            options.unknown_servers = 4;
        }
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> usize {
                args.next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| panic!("{name} needs a positive number"))
            };
            match arg.as_str() {
                "--actors" => options.actors = number("--actors"),
                "--per-actor" => options.per_actor = number("--per-actor"),
                "--concurrency" => options.concurrency = number("--concurrency"),
                _ => {}
            }
        }
        options
    }
}

/// Broadside, running in this process on a fresh SQLite database.
struct Server {
    base: Url,
    store: Store,
    posts: Vec<Url>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Server {
    async fn start(posts: usize) -> Self {
        let scratch = env!("CARGO_TARGET_TMPDIR");
        let db_dir = tempfile::tempdir_in(scratch).unwrap();
        let data_dir = tempfile::tempdir_in(scratch).unwrap();
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let db = db_dir.path().join("broadside.db");
        // Through the configuration's own loader, so every setting not named here keeps its
        // default as in `broadside serve`.
        let config = Config::load(
            None,
            Overrides {
                base_url: Some(format!("http://localhost:{}", addr.port())),
                listen: Some(addr.to_string()),
                database_url: Some(format!("sqlite://{}", db.display())),
                data_dir: Some(data_dir.path().to_path_buf()),
                allow_private_networks: Some(true),
                log: Some("warn".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        let state = AppState::prepare(config.clone()).await.unwrap();
        let store = state.store.clone();
        let actor = create_account(&store).await;
        let mut urls = Vec::with_capacity(posts);
        for n in 0..posts {
            urls.push(publish_post(&store, &config.base_url, &actor, n).await);
        }
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(async move {
            app::run_prepared(state, Role::All, Some(listener), shutdown)
                .await
                .unwrap();
        });
        Self {
            base: config.base_url,
            store,
            posts: urls,
            stop,
            task,
            _dirs: (db_dir, data_dir),
        }
    }

    fn inbox(&self) -> Url {
        self.base.join("/inbox").unwrap()
    }

    async fn likes_stored(&self) -> i64 {
        let mut total = 0;
        for url in &self.posts {
            let id: i64 = url.path().rsplit('/').next().unwrap().parse().unwrap();
            total += self.store.interaction_counts(id).await.unwrap().likes;
        }
        total
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(20), self.task).await;
    }
}

async fn publish_post(store: &Store, base: &Url, actor: &LocalActor, n: usize) -> Url {
    let draft = PostDraft::new(
        PostKind::News,
        None,
        None,
        format!("News number {n}."),
        Language::parse("en").unwrap(),
    )
    .unwrap();
    let rendered = publish::render(&draft, base, Vec::new());
    let post = publish::create_post(store, base, actor, &draft, &rendered, &[], true)
        .await
        .unwrap();
    base.join(&format!("/users/{}/posts/{}", actor.username, post.id))
        .unwrap()
}

/// A remote actor of the benchmark: its id, and which shared key pair it signs with.
struct Remote {
    id: Url,
    key: usize,
}

impl Remote {
    fn key_id(&self) -> String {
        format!("{}#main-key", self.id)
    }

    fn document(&self, pairs: &[PemKeyPair]) -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.id, "type": "Person", "preferredUsername": self.id.path().rsplit('/').next(),
            "inbox": format!("{}/inbox", self.id),
            "publicKey": {"id": self.key_id(), "owner": self.id,
                          "publicKeyPem": pairs[self.key].public_key_pem},
        })
    }
}

/// A signed POST, ready to send.
struct Signed {
    headers: HeaderMap,
    body: Vec<u8>,
}

fn sign_like(remote: &Remote, n: usize, post: &Url, inbox: &Url, keys: &[SigningKey]) -> Signed {
    let body = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/likes/{n}", remote.id), "type": "Like",
        "actor": remote.id, "object": post,
    })
    .to_string()
    .into_bytes();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::HOST,
        HeaderValue::from_str(&broadside::config::authority(inbox)).unwrap(),
    );
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/activity+json"),
    );
    let signature = signatures::sign_request(
        &Method::POST,
        inbox.path(),
        &mut headers,
        Some(&body),
        &remote.key_id(),
        &keys[remote.key],
        chrono::Utc::now(),
    )
    .unwrap();
    headers.insert("signature", signature);
    headers.remove(header::HOST); // reqwest sets it from the URL
    Signed { headers, body }
}

/// What sending a batch gave: statuses counted, wall time, per-request latencies.
struct Sent {
    statuses: HashMap<u16, usize>,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Sent {
    fn accepted(&self) -> usize {
        self.statuses.get(&202).copied().unwrap_or(0)
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted
            .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    }
}

async fn send_all(inbox: &Url, requests: Vec<Signed>, concurrency: usize) -> Sent {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let started = Instant::now();
    let results: Vec<(u16, Duration)> = stream::iter(requests)
        .map(|signed| {
            let (client, inbox) = (client.clone(), inbox.clone());
            async move {
                let sent = Instant::now();
                let status = client
                    .post(inbox)
                    .headers(signed.headers)
                    .body(signed.body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                (status, sent.elapsed())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut statuses = HashMap::new();
    for (status, _) in &results {
        *statuses.entry(*status).or_insert(0) += 1;
    }
    Sent {
        statuses,
        elapsed,
        latencies: results.into_iter().map(|(_, latency)| latency).collect(),
    }
}

fn key_pairs() -> (Vec<PemKeyPair>, Vec<SigningKey>) {
    let pairs: Vec<PemKeyPair> = (0..KEY_PAIRS).map(|_| keys::generate().unwrap()).collect();
    let signing = pairs
        .iter()
        .map(|pair| SigningKey::from_pem(&pair.private_key_pem).unwrap())
        .collect();
    (pairs, signing)
}

/// Known actors: keys cached, so every request is verify, dedupe and store.
async fn known_actors(options: &Options, pairs: &[PemKeyPair], keys: &[SigningKey]) {
    let server = Server::start(options.per_actor).await;
    // Ports nobody listens on: these actors are never fetched, their keys are in the store.
    let remotes: Vec<Remote> = (0..options.actors)
        .map(|n| Remote {
            id: Url::parse(&format!("http://localhost:{}/users/a{n}", 20_000 + n)).unwrap(),
            key: n % KEY_PAIRS,
        })
        .collect();
    for remote in &remotes {
        server
            .store
            .upsert_remote_actor(&NewRemoteActor {
                ap_id: remote.id.clone(),
                actor_type: "Person".into(),
                username: remote.id.path().rsplit('/').next().unwrap().into(),
                host: broadside::config::authority(&remote.id),
                name: None,
                inbox: Url::parse(&format!("{}/inbox", remote.id)).unwrap(),
                shared_inbox: None,
                url: None,
                public_key_id: remote.key_id(),
                public_key_pem: pairs[remote.key].public_key_pem.clone(),
            })
            .await
            .unwrap();
    }
    let inbox = server.inbox();
    let signing = Instant::now();
    let mut requests = Vec::with_capacity(options.actors * options.per_actor);
    for n in 0..options.per_actor {
        for remote in &remotes {
            requests.push(sign_like(remote, n, &server.posts[n], &inbox, keys));
        }
    }
    let signing = signing.elapsed();
    let total = requests.len();
    let sent = send_all(&inbox, requests, options.concurrency).await;
    let stored = server.likes_stored().await;
    println!("\n## known actors (keys cached)\n");
    println!(
        "{} actors × {} likes = {total} signed POSTs (signed beforehand in {} ms), {} at a time",
        options.actors,
        options.per_actor,
        signing.as_millis(),
        options.concurrency
    );
    println!(
        "| accepted (202) | other statuses | seconds | accepted/s | p50 ms | p99 ms | likes stored |"
    );
    println!("|---|---|---|---|---|---|---|");
    let others: Vec<String> = sent
        .statuses
        .iter()
        .filter(|(status, _)| **status != 202)
        .map(|(status, count)| format!("{status}×{count}"))
        .collect();
    println!(
        "| {} | {} | {:.2} | {:.0} | {:.1} | {:.1} | {stored} |",
        sent.accepted(),
        if others.is_empty() {
            "none".into()
        } else {
            others.join(", ")
        },
        sent.elapsed.as_secs_f64(),
        sent.accepted() as f64 / sent.elapsed.as_secs_f64(),
        sent.percentile(0.5).as_secs_f64() * 1e3,
        sent.percentile(0.99).as_secs_f64() * 1e3,
    );
    assert_eq!(stored as usize, total, "every accepted like is stored");
    server.stop().await;
}

/// Actor documents served by one loopback server, with a count of fetches per path.
#[derive(Clone, Default)]
struct Actors {
    docs: Arc<Mutex<HashMap<String, Value>>>,
    fetches: Arc<Mutex<HashMap<String, usize>>>,
}

async fn serve_actor(State(actors): State<Actors>, uri: Uri) -> Response {
    *actors
        .fetches
        .lock()
        .unwrap()
        .entry(uri.path().to_owned())
        .or_default() += 1;
    match actors.docs.lock().unwrap().get(uri.path()) {
        Some(doc) => (
            [(header::CONTENT_TYPE, "application/activity+json")],
            doc.to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Unknown actors: each sends several activities at once; each must be fetched once.
async fn unknown_actors(options: &Options, pairs: &[PemKeyPair], keys: &[SigningKey]) {
    let server = Server::start(options.unknown_per_actor).await;
    let per_server = options.actors.div_ceil(options.unknown_servers);
    let mut remotes = Vec::new();
    let mut hosts = Vec::new();
    for _ in 0..options.unknown_servers {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let actors = Actors::default();
        for n in 0..per_server {
            let remote = Remote {
                id: Url::parse(&format!("http://localhost:{port}/users/u{n}")).unwrap(),
                key: (port as usize + n) % KEY_PAIRS,
            };
            actors
                .docs
                .lock()
                .unwrap()
                .insert(remote.id.path().to_owned(), remote.document(pairs));
            remotes.push(remote);
        }
        let app = Router::new()
            .route("/users/{name}", get(serve_actor))
            .with_state(actors.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        hosts.push(actors);
    }
    let inbox = server.inbox();
    // Interleaved so that an actor's requests are in flight together.
    let mut requests = Vec::new();
    for remote in &remotes {
        for n in 0..options.unknown_per_actor {
            requests.push(sign_like(remote, n, &server.posts[n], &inbox, keys));
        }
    }
    let total = requests.len();
    let sent = send_all(&inbox, requests, options.concurrency).await;
    let fetches: Vec<usize> = hosts
        .iter()
        .flat_map(|h| {
            h.fetches
                .lock()
                .unwrap()
                .values()
                .copied()
                .collect::<Vec<_>>()
        })
        .collect();
    let stored = server.likes_stored().await;
    println!("\n## unknown actors (fetched on first contact)\n");
    println!(
        "{} actors on {} servers × {} likes sent together = {total} signed POSTs, {} at a time",
        remotes.len(),
        options.unknown_servers,
        options.unknown_per_actor,
        options.concurrency
    );
    println!(
        "| accepted (202) | seconds | actor fetches | most fetches of one actor | likes stored |"
    );
    println!("|---|---|---|---|---|");
    println!(
        "| {} | {:.2} | {} | {} | {stored} |",
        sent.accepted(),
        sent.elapsed.as_secs_f64(),
        fetches.iter().sum::<usize>(),
        fetches.iter().max().copied().unwrap_or(0),
    );
    assert_eq!(sent.accepted(), total, "statuses: {:?}", sent.statuses);
    assert!(fetches.iter().all(|&f| f == 1), "one fetch per actor");
    server.stop().await;
}

#[tokio::main]
async fn main() {
    let options = Options::from_args();
    println!(
        "# inbox benchmark: {} cores, load average {}",
        cores(),
        load_average()
    );
    let (pairs, keys) = key_pairs();
    known_actors(&options, &pairs, &keys).await;
    unknown_actors(&options, &pairs, &keys).await;
    println!(
        "\npeak memory of the server and its senders together (VmHWM): {:.1} MiB",
        peak_memory_mib()
    );
}
