//! The running service: shared state, start-up (connect, migrate, keys, HTTP client) and the
//! web server and delivery worker, each of which can run in its own process (`--role`).

use std::{ops::Deref, sync::Arc};

use activitypub_federation::config::FederationConfig;
use tokio::{net::TcpListener, sync::watch};

use crate::{
    config::{Config, DatabaseUrl},
    federation::{
        delivery::{self, worker},
        http_client,
        inbox::{ActorFetches, HostsHeardFrom},
        keys,
        objects::instance_actor::InstanceActor,
        rate_limit::RateLimiter,
        reactions::Reactions,
    },
    store::{Backend, Store, StoreError},
    web::{self, cache::PublicCache},
};

/// What runs in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Serve HTTP only.
    Web,
    /// Deliver queued activities only.
    Worker,
    /// Both, the default.
    All,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Client(#[from] http_client::ClientError),
    #[error("cannot make the instance key: {0}")]
    Key(#[from] keys::KeyError),
    #[error("federation setup: {0}")]
    Federation(String),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    #[error("SQLite serves one process; run web and worker roles apart on PostgreSQL")]
    SplitRoleOnSqlite,
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// Everything a request or a worker needs, cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub store: Store,
    pub http: reqwest::Client,
    pub instance_actor: InstanceActor,
    /// Rendered public pages, dropped when public content changes.
    pub public_cache: PublicCache,
    /// The inbox's per-host rate limit (in memory, per process).
    pub inbox_limiter: RateLimiter,
    /// Concurrent inbox requests of one unknown actor fetch it once.
    pub actor_fetches: ActorFetches,
    /// Hosts the inbox found healthy lately, not looked up again for a while.
    pub hosts_heard_from: HostsHeardFrom,
    /// Received likes and boosts, written in groups.
    pub reactions: Reactions,
    /// The delivery worker's time limits.
    pub delivery: delivery::Settings,
}

/// What may be changed about a process beyond its configuration: the delivery worker's time
/// limits (`serve --shutdown-grace`), and for tests, the resolver of outgoing host names.
#[derive(Clone, Default)]
pub struct Tuning {
    pub delivery: delivery::Settings,
    /// Resolves host names for outgoing requests in place of the system's resolver, so a
    /// test can make a name fail (or point at loopback) without a DNS query leaving the
    /// machine. It replaces the check of resolved addresses too: tests only.
    pub resolver: Option<Arc<dyn reqwest::dns::Resolve>>,
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Opens and migrates the database.
pub async fn open_store(config: &Config) -> Result<Store, StoreError> {
    let store = Store::connect(&config.database).await?;
    store.migrate().await?;
    Ok(store)
}

impl AppState {
    /// Connects, migrates, and makes the instance actor's keys on first start.
    pub async fn prepare(config: Config) -> Result<Self, StartError> {
        Self::prepare_with(config, Tuning::default()).await
    }

    /// [`AppState::prepare`] with other limits, or another resolver.
    pub async fn prepare_with(config: Config, tuning: Tuning) -> Result<Self, StartError> {
        let store = open_store(&config).await?;
        let (public, private) = match store.instance_keys().await? {
            Some(keys) => keys,
            None => {
                let pair = keys::generate()?;
                store
                    .init_instance_keys(&pair.public_key_pem, &pair.private_key_pem)
                    .await?
            }
        };
        let http = http_client::build_with(&config, tuning.resolver)?;
        let instance_actor = InstanceActor::new(&config.base_url, public, private);
        let reactions = Reactions::start(store.clone());
        Ok(Self(Arc::new(Inner {
            config,
            store,
            http,
            instance_actor,
            public_cache: PublicCache::new(),
            inbox_limiter: RateLimiter::inbox(),
            actor_fetches: ActorFetches::default(),
            hosts_heard_from: HostsHeardFrom::default(),
            reactions,
            delivery: tuning.delivery,
        })))
    }

    /// Public content changed in this process: drop cached pages now rather than at the next
    /// poll of the site version.
    pub fn invalidate_public_cache(&self) {
        self.public_cache.clear();
    }

    /// `activitypub_federation`'s settings, with our HTTP client and the instance actor
    /// signing every fetch.
    pub async fn federation_config(&self) -> Result<FederationConfig<Self>, StartError> {
        let allow_private = self.config.allow_private_networks;
        FederationConfig::builder()
            .domain(self.config.host())
            .app_data(self.clone())
            .client(reqwest_middleware::ClientBuilder::new(self.http.clone()).build())
            // "debug" in the crate only relaxes its URL checks (http, ports, local IPs); our
            // client still enforces BROADSIDE_ALLOW_PRIVATE_NETWORKS at connect time.
            .debug(allow_private)
            .allow_http_urls(allow_private || self.config.base_url.scheme() == "http")
            .request_timeout(http_client::REQUEST_TIMEOUT)
            .signed_fetch_actor(&self.instance_actor)
            // Sign fetches as Mastodon verifies them: with `Date` and `Host` covered. The
            // crate's default leaves `Host` out, which servers with authorized fetch refuse.
            .http_signature_compat(true)
            .build()
            .await
            .map_err(|e| StartError::Federation(e.to_string()))
    }
}

/// Binds the configured address.
pub async fn bind(config: &Config) -> Result<TcpListener, StartError> {
    listen(config.listen).map_err(|source| StartError::Listen {
        address: config.listen.to_string(),
        source,
    })
}

/// Connections the kernel may hold for us before we accept them. A statement that spreads
/// brings a thousand servers' first requests within a second, each on a new connection;
/// with the usual 1,024 the queue overflowed in the stampede benchmark and the dropped
/// connections came back only after the client's one-second SYN retry. The kernel caps it
/// at `net.core.somaxconn` (4,096 by default).
const LISTEN_BACKLOG: u32 = 4096;

/// A listening socket on `address` with room for a stampede of new connections.
pub fn listen(address: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Runs the given role until `shutdown` turns true, then stops taking requests, lets the
/// delivery worker hand unfinished work back to the queue, and returns.
pub async fn run(
    config: Config,
    tuning: Tuning,
    role: Role,
    listener: Option<TcpListener>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), StartError> {
    check_role(&config, role)?;
    let state = AppState::prepare_with(config, tuning).await?;
    run_prepared(state, role, listener, shutdown).await
}

fn check_role(config: &Config, role: Role) -> Result<(), StartError> {
    if role != Role::All && matches!(config.database, DatabaseUrl::Sqlite { .. }) {
        return Err(StartError::SplitRoleOnSqlite);
    }
    Ok(())
}

/// [`run`] with the state already made, for callers that keep a handle on it (the tests read
/// the page cache's counters through it).
pub async fn run_prepared(
    state: AppState,
    role: Role,
    listener: Option<TcpListener>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), StartError> {
    check_role(&state.config, role)?;
    let worker = if role == Role::Web {
        None
    } else {
        if state.store.backend() == Backend::Sqlite {
            // On SQLite this process is the only worker: leases left over were held by a
            // previous run that died, and their deliveries are due now.
            let released = state.store.release_all_delivery_leases().await?;
            if released > 0 {
                tracing::info!(
                    released,
                    "resumed deliveries interrupted by the last shutdown"
                );
            }
        }
        Some(tokio::spawn(worker::run(state.clone(), shutdown.clone())))
    };
    if role != Role::Worker {
        let listener = match listener {
            Some(listener) => listener,
            None => bind(&state.config).await?,
        };
        let federation = state.federation_config().await?;
        let app =
            web::serve::OnRuntime::new(tokio::runtime::Handle::current(), web::app(federation));
        let front = web::front(state.clone(), app);
        let cache_watch = tokio::spawn(web::cache::follow_site_version(
            state.clone(),
            shutdown.clone(),
        ));
        tracing::info!(address = %state.config.listen, base_url = %state.config.base_url, "serving");
        let settings = web::serve::Settings {
            threads: state.config.http_threads,
            request_head: web::serve::REQUEST_HEAD_TIMEOUT,
            // Requests under way get the same grace as deliveries: a client that holds one
            // open (a body that never comes) must not keep the process from stopping.
            grace: state.delivery.shutdown_grace,
        };
        web::serve::serve(listener, front, settings, shutdown.clone())
            .await
            .map_err(StartError::Serve)?;
        let _ = cache_watch.await;
    }
    if let Some(worker) = worker
        && let Err(err) = worker.await
    {
        tracing::error!(error = %err, "delivery worker ended abnormally");
    }
    state.store.close().await;
    Ok(())
}
