//! Shared test harness: a Broadside server started in-process on a random loopback port with
//! its own database, and a mock remote server ("peer") that serves actor documents, signs
//! requests like a fediverse server, and records what reaches its inbox.
#![allow(dead_code)] // each test binary uses its own subset
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

pub mod binary;
pub mod editor;

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::get,
};
use broadside::{
    app::{self, AppState, Role},
    config::{Config, DatabaseUrl},
    federation::{
        keys::{self, PemKeyPair, SigningKey},
        signatures::{self, RequestParts, SignatureHeader},
    },
};
use serde_json::Value;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use url::Url;

/// The databases a store test runs against: SQLite always, PostgreSQL when
/// `BROADSIDE_TEST_POSTGRES_URL` names a server. In CI (`CI` set) PostgreSQL is required, so a
/// missing server fails the run instead of silently skipping half of it.
pub fn backends() -> Vec<&'static str> {
    let postgres = std::env::var("BROADSIDE_TEST_POSTGRES_URL").is_ok();
    if !postgres && std::env::var("CI").is_ok() {
        panic!("CI must set BROADSIDE_TEST_POSTGRES_URL: the store tests run on PostgreSQL too");
    }
    if postgres {
        vec!["sqlite", "postgres"]
    } else {
        vec!["sqlite"]
    }
}

/// A database of its own for one test; PostgreSQL ones are dropped by [`TestDb::cleanup`].
pub struct TestDb {
    pub url: DatabaseUrl,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn new(backend: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            "sqlite" => {
                let path = dir.path().join("broadside.db");
                let url = format!("sqlite://{}", path.display());
                Self {
                    url: DatabaseUrl::parse(&url).unwrap(),
                    _dir: dir,
                    postgres: None,
                }
            }
            "postgres" => {
                use sqlx::Connection;
                sqlx::any::install_default_drivers();
                let admin = std::env::var("BROADSIDE_TEST_POSTGRES_URL").unwrap();
                let name = format!("broadside_test_{}", uuid_like());
                let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                let mut url = Url::parse(&admin).unwrap();
                url.set_path(&format!("/{name}"));
                Self {
                    url: DatabaseUrl::parse(url.as_str()).unwrap(),
                    _dir: dir,
                    postgres: Some((admin, name)),
                }
            }
            other => panic!("unknown backend {other}"),
        }
    }

    pub async fn cleanup(self) {
        if let Some((admin, name)) = &self.postgres {
            use sqlx::Connection;
            let mut conn = sqlx::AnyConnection::connect(admin).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .unwrap();
        }
    }
}

fn uuid_like() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..16)
        .map(|_| char::from(b'a' + rng.random_range(0..26)))
        .collect()
}

/// A running Broadside server.
pub struct TestServer {
    pub base: Url,
    pub addr: SocketAddr,
    pub config: Config,
    /// The running server's state, to look inside it (the page cache's counters).
    pub state: AppState,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    pub db: Option<TestDb>,
    data_dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_on("sqlite").await
    }

    pub async fn start_on(backend: &str) -> Self {
        Self::start_configured(backend, |_| {}).await
    }

    /// A server whose settings `adjust` changes before it starts (authorized fetch, say).
    pub async fn start_configured(backend: &str, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::launch(
            TestDb::new(backend).await,
            None,
            app::Tuning::default(),
            adjust,
        )
        .await
    }

    /// A server on `db` with other limits or resolver (`tuning`), reaching its database at
    /// `database` (a proxy in front of it, say) when given, else at `db`'s own URL.
    pub async fn start_with(
        db: TestDb,
        database: Option<DatabaseUrl>,
        tuning: app::Tuning,
    ) -> Self {
        Self::launch(db, database, tuning, |_| {}).await
    }

    async fn launch(
        db: TestDb,
        database: Option<DatabaseUrl>,
        tuning: app::Tuning,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            base_url: Url::parse(&format!("http://localhost:{}", addr.port())).unwrap(),
            listen: addr,
            database: database.unwrap_or_else(|| db.url.clone()),
            data_dir: data_dir.path().to_path_buf(),
            allow_private_networks: true,
            extra_ca_pem: None,
            log: "warn".into(),
            api_requests_per_minute: broadside::config::DEFAULT_API_REQUESTS_PER_MINUTE,
            authorized_fetch: false,
            // Two whatever the machine, so connections are always served on more than one.
            http_threads: std::num::NonZeroUsize::new(2).unwrap(),
        };
        adjust(&mut config);
        let (stop, shutdown) = watch::channel(false);
        let state = AppState::prepare_with(config.clone(), tuning)
            .await
            .unwrap();
        let run_state = state.clone();
        let task = tokio::spawn(async move {
            app::run_prepared(run_state, Role::All, Some(listener), shutdown)
                .await
                .unwrap();
        });
        let server = Self {
            base: config.base_url.clone(),
            addr,
            config,
            state,
            stop,
            task: Some(task),
            db: Some(db),
            data_dir,
        };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(response) = client.get(self.url("/healthz")).send().await
                && response.status() == StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("server did not become healthy");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.as_str().trim_end_matches('/'), path)
    }

    pub fn host(&self) -> String {
        format!("localhost:{}", self.addr.port())
    }

    /// Creates an organization account directly in the store, as `actor create` does.
    pub async fn create_actor(&self, username: &str, approve_followers: bool) {
        let store = broadside::app::open_store(&self.config).await.unwrap();
        let pair = keys::generate().unwrap();
        let new = broadside::domain::NewActor {
            username: broadside::domain::Username::parse(username).unwrap(),
            kind: broadside::domain::ActorKind::Organization,
            name: format!("{username} organization"),
            summary_md: "We *organize*.".into(),
            summary_html: broadside::domain::markdown::render("We *organize*."),
            public_key_pem: pair.public_key_pem,
            private_key_pem: pair.private_key_pem,
        };
        let mut tx = store.begin().await.unwrap();
        let actor = tx.insert_actor(&new).await.unwrap();
        if approve_followers {
            tx.set_manually_approves_followers(actor.id, true)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        store.close().await;
    }

    /// Saves a post of `username` directly in the store, rendered as publishing renders it
    /// (as the CLI would, from another process), and returns its id.
    pub async fn insert_post(
        &self,
        username: &str,
        draft: &broadside::domain::PostDraft,
        state: broadside::domain::PostState,
        media: &[broadside::store::posts::NewMedia],
    ) -> i64 {
        let store = self.store().await;
        let actor = store.actor_by_username(username).await.unwrap().unwrap();
        let rendered = broadside::federation::publish::render(draft, &self.base, Vec::new());
        let mut tx = store.begin().await.unwrap();
        let id = tx
            .insert_post(actor.id, None, draft, &rendered, state, media)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        store.close().await;
        id
    }

    /// Publishes a post of `username` with no summary or images; `title` is required for
    /// statements.
    pub async fn publish_post(
        &self,
        username: &str,
        kind: broadside::domain::PostKind,
        title: Option<&str>,
        body_md: &str,
        language: &str,
    ) -> i64 {
        let draft = broadside::domain::PostDraft::new(
            kind,
            title.map(str::to_owned),
            None,
            body_md.to_owned(),
            broadside::domain::Language::parse(language).unwrap(),
        )
        .unwrap();
        self.insert_post(
            username,
            &draft,
            broadside::domain::PostState::Published,
            &[],
        )
        .await
    }

    pub fn post_url(&self, username: &str, id: i64) -> String {
        self.url(&format!("/users/{username}/posts/{id}"))
    }

    pub async fn store(&self) -> broadside::store::Store {
        broadside::app::open_store(&self.config).await.unwrap()
    }

    pub fn actor_url(&self, username: &str) -> String {
        self.url(&format!("/users/{username}"))
    }

    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

/// One activity that reached the peer's inbox, with whether its signature verified against
/// the sender's published key.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub activity: Value,
    pub signature_valid: bool,
}

#[derive(Default)]
struct PeerState {
    docs: HashMap<String, (StatusCode, Value)>,
    /// How many times each path was fetched (GET).
    fetches: HashMap<String, usize>,
    received: Vec<Received>,
    /// Statuses to answer inbox POSTs with, in order; 202 once used up.
    inbox_script: Vec<StatusCode>,
    /// How many of the next inbox POSTs to leave hanging (as a stalled server would).
    hang: usize,
}

/// A mock fediverse server on loopback.
#[derive(Clone)]
pub struct Peer {
    pub origin: Url,
    state: Arc<Mutex<PeerState>>,
    client: reqwest::Client,
}

impl Peer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        // A host name, not an IP: activitypub_federation only fetches from URLs with a domain.
        let port = listener.local_addr().unwrap().port();
        let origin = Url::parse(&format!("http://localhost:{port}")).unwrap();
        let peer = Self {
            origin,
            state: Arc::new(Mutex::new(PeerState::default())),
            client: reqwest::Client::new(),
        };
        let app = Router::new()
            .route("/{*path}", get(serve_doc).post(receive))
            .with_state(peer.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        peer
    }

    pub fn url(&self, path: &str) -> Url {
        self.origin.join(path).unwrap()
    }

    /// Serves `doc` at `path` (its id's path).
    pub fn serve(&self, path: &str, doc: Value) {
        self.serve_status(path, StatusCode::OK, doc);
    }

    pub fn serve_status(&self, path: &str, status: StatusCode, doc: Value) {
        self.state
            .lock()
            .unwrap()
            .docs
            .insert(path.to_owned(), (status, doc));
    }

    pub fn script_inbox(&self, statuses: Vec<StatusCode>) {
        self.state.lock().unwrap().inbox_script = statuses;
    }

    /// Leaves the next `count` inbox POSTs without an answer for a minute.
    pub fn hang_inbox(&self, count: usize) {
        self.state.lock().unwrap().hang = count;
    }

    /// How many times `path` was fetched.
    pub fn fetches(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .fetches
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Waits until an activity of `kind` arrives, and returns it.
    pub async fn wait_for(&self, kind: &str) -> Received {
        for _ in 0..400 {
            if let Some(found) = self
                .received()
                .into_iter()
                .find(|r| r.activity["type"] == kind)
            {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no {kind} arrived; received: {:?}", self.received());
    }

    /// Adds a person `name` with a fresh key, in Mastodon's shape; returns it.
    pub fn add_actor(&self, name: &str) -> RemoteTestActor {
        let keys = keys::generate().unwrap();
        let id = self.url(&format!("/users/{name}"));
        let doc = serde_json::json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": id,
            "type": "Person",
            "preferredUsername": name,
            "name": format!("{name} at the peer"),
            "inbox": self.url(&format!("/users/{name}/inbox")),
            "outbox": self.url(&format!("/users/{name}/outbox")),
            "endpoints": {"sharedInbox": self.url("/inbox")},
            "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": keys.public_key_pem},
        });
        self.serve(id.path(), doc);
        RemoteTestActor {
            id: id.clone(),
            key_id: format!("{id}#main-key"),
            keys,
            peer: self.clone(),
        }
    }
}

async fn serve_doc(State(peer): State<Peer>, uri: Uri) -> Response {
    let mut state = peer.state.lock().unwrap();
    *state.fetches.entry(uri.path().to_owned()).or_default() += 1;
    match state.docs.get(uri.path()) {
        Some((status, doc)) => (
            *status,
            [(header::CONTENT_TYPE, "application/activity+json")],
            doc.to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn receive(
    State(peer): State<Peer>,
    Path(path): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let activity: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let signature_valid =
        verify_from_sender(&peer, &method, &uri, &headers, &body, &activity).await;
    let hang = {
        let mut state = peer.state.lock().unwrap();
        state.received.push(Received {
            path,
            activity,
            signature_valid,
        });
        let hang = state.hang > 0;
        state.hang = state.hang.saturating_sub(1);
        hang
    };
    if hang {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    let mut state = peer.state.lock().unwrap();
    if state.inbox_script.is_empty() {
        StatusCode::ACCEPTED
    } else {
        state.inbox_script.remove(0)
    }
}

/// Verifies a delivery as a receiving server would: fetch the signer's actor, check the
/// digest and the signature.
async fn verify_from_sender(
    peer: &Peer,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    activity: &Value,
) -> bool {
    let Ok(header) = SignatureHeader::from_headers(headers) else {
        return false;
    };
    if signatures::verify_digest(headers, body).is_err() {
        return false;
    }
    let Some(actor) = activity["actor"].as_str() else {
        return false;
    };
    let Ok(response) = peer
        .client
        .get(actor)
        .header(header::ACCEPT, "application/activity+json")
        .send()
        .await
    else {
        return false;
    };
    let Ok(doc) = response.json::<Value>().await else {
        return false;
    };
    if doc["publicKey"]["id"] != header.key_id.as_str() {
        return false;
    }
    let pem = doc["publicKey"]["publicKeyPem"]
        .as_str()
        .unwrap_or_default();
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let parts = RequestParts {
        method,
        path_and_query: path,
        headers,
    };
    signatures::verify_request(&parts, &header, pem, chrono::Utc::now()).is_ok()
}

/// An actor on the peer that can sign requests to Broadside.
#[derive(Clone)]
pub struct RemoteTestActor {
    pub id: Url,
    pub key_id: String,
    pub keys: PemKeyPair,
    pub peer: Peer,
}

impl RemoteTestActor {
    /// Signs and POSTs `body` to `url`, as a fediverse server delivers.
    pub async fn post(&self, url: &str, body: &Value) -> reqwest::Response {
        self.post_raw(url, body.to_string().into_bytes(), |_| {})
            .await
    }

    /// Signs `body` for `url`, lets `tamper` change the headers, and POSTs it.
    pub async fn post_raw(
        &self,
        url: &str,
        body: Vec<u8>,
        tamper: impl FnOnce(&mut HeaderMap),
    ) -> reqwest::Response {
        let headers = self.signed_headers(url, &body, &self.key_id, chrono::Utc::now());
        self.send(url, body, headers, tamper).await
    }

    pub fn signed_headers(
        &self,
        url: &str,
        body: &[u8],
        key_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> HeaderMap {
        let target = Url::parse(url).unwrap();
        let mut headers = HeaderMap::new();
        let host = broadside::config::authority(&target);
        headers.insert(header::HOST, HeaderValue::from_str(&host).unwrap());
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/activity+json"),
        );
        let key = SigningKey::from_pem(&self.keys.private_key_pem).unwrap();
        let signature = signatures::sign_request(
            &Method::POST,
            target.path(),
            &mut headers,
            Some(body),
            key_id,
            &key,
            at,
        )
        .unwrap();
        headers.insert("signature", signature);
        headers
    }

    pub async fn send(
        &self,
        url: &str,
        body: Vec<u8>,
        mut headers: HeaderMap,
        tamper: impl FnOnce(&mut HeaderMap),
    ) -> reqwest::Response {
        tamper(&mut headers);
        headers.remove(header::HOST); // reqwest sets it from the URL
        self.peer
            .client
            .post(url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Fetches `url` as ActivityStreams with a GET signed at `at`, as servers sign their
    /// fetches for authorized fetch.
    pub async fn get_signed(
        &self,
        url: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> reqwest::Response {
        let target = Url::parse(url).unwrap();
        let mut headers = HeaderMap::new();
        let host = broadside::config::authority(&target);
        headers.insert(header::HOST, HeaderValue::from_str(&host).unwrap());
        let path = &target[url::Position::BeforePath..];
        let key = SigningKey::from_pem(&self.keys.private_key_pem).unwrap();
        let signature = signatures::sign_request(
            &Method::GET,
            path,
            &mut headers,
            None,
            &self.key_id,
            &key,
            at,
        )
        .unwrap();
        headers.insert("signature", signature);
        headers.remove(header::HOST); // reqwest sets it from the URL
        self.peer
            .client
            .get(url)
            .headers(headers)
            .header(header::ACCEPT, "application/activity+json")
            .send()
            .await
            .unwrap()
    }

    pub fn follow(&self, target: &str) -> Value {
        serde_json::json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/follows/{}", self.id, uuid_like()),
            "type": "Follow",
            "actor": self.id,
            "object": target,
        })
    }
}

/// Reads a fixture, pointing its remote origin at `peer` and its Broadside target at `server`.
pub fn fixture(software: &str, file: &str, peer: &Peer, server: &TestServer, pem: &str) -> Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        software,
        file,
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replace(
            &format!("https://{software}.example"),
            peer.origin.as_str().trim_end_matches('/'),
        )
        .replace(
            "https://broadside.example",
            server.base.as_str().trim_end_matches('/'),
        );
    let mut value: Value = serde_json::from_str(&text).unwrap();
    substitute_pem(&mut value, pem);
    value
}

fn substitute_pem(value: &mut Value, pem: &str) {
    match value {
        Value::String(s) if s == "__PUBLIC_KEY_PEM__" => *s = pem.to_owned(),
        Value::Array(items) => items.iter_mut().for_each(|v| substitute_pem(v, pem)),
        Value::Object(map) => map.values_mut().for_each(|v| substitute_pem(v, pem)),
        _ => {}
    }
}

/// Runs the real binary on `server`'s database, as an admin would beside the running server.
/// It is awaited, never run blocking: the server shares this test's runtime, and a runtime
/// blocked while one of its tasks holds the SQLite write lock would leave the command
/// waiting out the busy timeout ("database is locked").
pub async fn cli(server: &TestServer, args: &[&str]) -> Result<String, String> {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_broadside"))
        .env("BROADSIDE_BASE_URL", server.base.as_str())
        .env("BROADSIDE_DATABASE_URL", server.config.database.as_str())
        .env("BROADSIDE_DATA_DIR", &server.config.data_dir)
        .env("BROADSIDE_LOG", "warn")
        .arg("--allow-private-networks")
        .args(args)
        .output()
        .await
        .unwrap();
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// Polls `check` until it holds, for at most ten seconds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Makes `name` on `peer` an accepted follower of `actor_id` directly in the store (the follow
/// handshake itself is tested in tests/federation.rs). With `shared_inbox` the peer's
/// `/inbox` is its shared inbox; without, deliveries go to its personal inbox.
pub async fn add_follower(
    store: &broadside::store::Store,
    actor_id: i64,
    peer: &Peer,
    name: &str,
    shared_inbox: bool,
) -> broadside::domain::RemoteActor {
    let id = peer.url(&format!("/users/{name}"));
    let remote = store
        .upsert_remote_actor(&broadside::store::remote_actors::NewRemoteActor {
            ap_id: id.clone(),
            actor_type: "Person".into(),
            username: name.into(),
            host: broadside::config::authority(&id),
            name: None,
            inbox: peer.url(&format!("/users/{name}/inbox")),
            shared_inbox: shared_inbox.then(|| peer.url("/inbox")),
            url: None,
            public_key_id: format!("{id}#main-key"),
            public_key_pem: "unused".into(),
        })
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.upsert_follower(
        actor_id,
        remote.id,
        &format!("{id}/follow"),
        broadside::domain::FollowState::Accepted,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    remote
}

/// A user `login` of `role` working for the accounts `actors` (usernames), and an API token
/// for it.
pub async fn api_token(
    store: &broadside::store::Store,
    login: &str,
    role: broadside::domain::Role,
    actors: &[&str],
) -> String {
    use broadside::domain::credentials;
    let id = editor::add_user(store, login, role, actors).await;
    let token = credentials::generate_api_token();
    let mut tx = store.begin().await.unwrap();
    tx.insert_api_token(id, "test", &credentials::token_hash(&token))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    token
}
