//! The database. All SQL lives in this module and its children; one set of queries serves
//! SQLite (the embedded default) and PostgreSQL (scale-out) through sqlx's `Any` driver.
//!
//! Portability rules the queries follow: `$n` placeholders, times as Unix milliseconds in
//! integer columns, flags as 0/1 integers, JSON as text, and `RETURNING` for generated ids.

pub mod activities;
pub mod actors;
pub mod backup;
pub mod blocks;
pub mod boosts;
pub mod deliveries;
pub mod delivery_stats;
pub mod followers;
pub mod imports;
pub mod interactions;
pub mod moves;
pub mod posts;
pub mod remote_actors;
pub mod remote_announces;
pub mod remote_posts;
pub mod reports;
pub mod signatories;
pub mod translations;
pub mod users;

use std::{path::Path, str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    Any, AnyPool, Executor,
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

use crate::config::DatabaseUrl;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The two database engines; a few statements (row claiming) differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why a store operation failed, in terms the layers above can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule of the schema, named by its constraint (e.g. `actors_username_key`).
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("not found")]
    NotFound,
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the database file: {0}")]
    Io(#[from] std::io::Error),
    /// Another transaction of this process held SQLite's write lock for longer than the busy
    /// timeout.
    #[error("the database stayed busy for {} s", BUSY_TIMEOUT.as_secs())]
    Busy,
    /// A writing task this process hands work to has stopped: the process is ending.
    #[error("the process is stopping")]
    Stopped,
    /// The database could not be reached, told to several waiters at once.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Whether the database itself could not be reached (or this process is ending), as
    /// opposed to one statement failing: trying the same work again at once would fail too.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Database(err) => matches!(
                err,
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
            ),
            Self::Busy | Self::Stopped | Self::Unavailable(_) => true,
            _ => false,
        }
    }
}

/// How long a writer waits for SQLite's write lock, in this process's queue ([`Store::begin`])
/// and in SQLite's busy handler (another process's writer), before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Unique constraints the store turns into [`StoreError::Conflict`]. SQLite reports the
/// columns rather than the constraint's name, so both spellings are listed.
const UNIQUE_CONSTRAINTS: &[(&str, &str)] = &[
    ("actors_username_key", "actors.username"),
    ("remote_actors_ap_id_key", "remote_actors.ap_id"),
    (
        "followers_actor_remote_key",
        "followers.actor_id, followers.remote_actor_id",
    ),
    (
        "following_actor_remote_key",
        "following.actor_id, following.remote_actor_id",
    ),
    ("remote_posts_ap_id_key", "remote_posts.ap_id"),
    ("users_login_key", "users.login"),
    ("outbox_activities_ap_id_key", "outbox_activities.ap_id"),
    ("domain_blocks_domain_key", "domain_blocks.domain"),
    ("actor_blocks_ap_id_key", "actor_blocks.ap_id"),
    ("reports_activity_id_key", "reports.activity_id"),
];

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => return Self::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                let message = db.message();
                let constraint = db.constraint();
                for &(name, columns) in UNIQUE_CONSTRAINTS {
                    if constraint == Some(name) || message.ends_with(columns) {
                        return Self::Conflict(name);
                    }
                }
            }
            _ => {}
        }
        Self::Database(err)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A handle on the database, cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Shared by every clone: see [`Store::deliveries_queued`].
    deliveries_queued: Arc<Notify>,
    /// SQLite only: this process's writers take turns here, see [`Store::begin`].
    writers: Option<Arc<Mutex<()>>>,
}

/// One transaction; the changes of a use case and the deliveries they cause commit together.
pub struct Tx {
    inner: sqlx::Transaction<'static, Any>,
    /// This process's turn at SQLite's write lock, given back when the transaction ends.
    _turn: Option<OwnedMutexGuard<()>>,
    /// Set when deliveries are queued in this transaction: committing wakes the worker.
    queued_deliveries: bool,
    deliveries_queued: Arc<Notify>,
}

impl Store {
    /// Opens the database, creating a SQLite file and its folder if needed.
    pub async fn connect(database: &DatabaseUrl) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        match database {
            DatabaseUrl::Sqlite { path, .. } => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)?;
                }
                Self::connect_sqlite(path).await
            }
            DatabaseUrl::Postgres(url) => {
                let options = AnyConnectOptions::from_str(url)?;
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Ok(Self {
                    pool,
                    backend: Backend::Postgres,
                    deliveries_queued: Arc::default(),
                    writers: None,
                })
            }
        }
    }

    async fn connect_sqlite(path: &Path) -> StoreResult<Self> {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers run beside the writer; NORMAL syncs at checkpoints
                    // rather than every commit (a power cut can lose the last commits, never
                    // corrupt the file); the busy timeout lets the CLI and the server write
                    // to one file at once.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            backend: Backend::Sqlite,
            deliveries_queued: Arc::default(),
            writers: Some(Arc::default()),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Brings the schema up to date; safe to run on every start.
    pub async fn migrate(&self) -> StoreResult<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Begins a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`):
    /// a transaction that reads before it writes would otherwise fail on its first write,
    /// without waiting, whenever another process (the CLI, the server) committed in between
    /// (SQLITE_BUSY_SNAPSHOT, which the busy timeout does not cover). Taken at the start,
    /// the lock is waited for like any other.
    ///
    /// Writers of this process first take turns in a queue in memory, so that each gets the
    /// lock as soon as the one before commits. Left to SQLite, they would wait in its busy
    /// handler, which polls with sleeps of up to 100 ms: with many requests writing at once
    /// (an inbox under load) most of the time went to sleeping. Only other processes (the
    /// CLI) still meet the busy handler.
    pub async fn begin(&self) -> StoreResult<Tx> {
        let turn = match &self.writers {
            Some(writers) => Some(
                tokio::time::timeout(BUSY_TIMEOUT, writers.clone().lock_owned())
                    .await
                    .map_err(|_| StoreError::Busy)?,
            ),
            None => None,
        };
        let inner = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx {
            inner,
            _turn: turn,
            queued_deliveries: false,
            deliveries_queued: self.deliveries_queued.clone(),
        })
    }

    /// Notified each time a transaction that queued deliveries commits through this handle
    /// (or a clone of it), so the delivery worker in this process sends them at once, whoever
    /// queued them: the API, the editor, the inbox or the scheduler. Work committed by
    /// another process (the CLI, a web-only server) is found by the worker's poll instead.
    pub fn deliveries_queued(&self) -> &Notify {
        &self.deliveries_queued
    }

    /// Answers whether the database is reachable, for `/healthz`.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Tx {
    pub async fn commit(self) -> StoreResult<()> {
        self.inner.commit().await?;
        if self.queued_deliveries {
            self.deliveries_queued.notify_one();
        }
        Ok(())
    }
}

/// The current time in Unix milliseconds, the unit of every time column.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn flag(value: bool) -> i64 {
    i64::from(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Covers: SQLite busy, the case the busy timeout cannot help with. A transaction that
    // reads before it writes holds a snapshot; if another process commits a write in
    // between, a deferred transaction's first write fails at once ("database is locked",
    // SQLITE_BUSY_SNAPSHOT) instead of waiting. Begun IMMEDIATE, it holds the write lock
    // from the start: the other writer waits for it, and both succeed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transaction_that_reads_first_is_not_failed_by_another_writer() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::parse(&format!(
            "sqlite://{}",
            dir.path().join("broadside.db").display()
        ))
        .unwrap();
        let server = Store::connect(&url).await.unwrap();
        server.migrate().await.unwrap();
        let cli = Store::connect(&url).await.unwrap();

        let mut tx = server.begin().await.unwrap();
        tx.unreachable_hosts(0).await.unwrap();
        let mut other_writer =
            tokio::spawn(async move { cli.record_host_failure("example.org").await });
        // The other writer's chance to commit in between (a deferred transaction lets it);
        // begun IMMEDIATE, this transaction makes it wait, and this bounded look runs out.
        let went_first = tokio::time::timeout(Duration::from_millis(300), &mut other_writer)
            .await
            .is_ok();
        let activity = deliveries::NewOutboxActivity {
            ap_id: url::Url::parse("https://example.org/activities/1").unwrap(),
            kind: "Create",
            actor_id: None,
            post_id: None,
            body: "{}".into(),
        };
        tx.insert_outbox_activity(&activity).await.unwrap();
        tx.commit().await.unwrap();
        other_writer.await.unwrap().unwrap();
        assert!(!went_first, "the other writer waited for the lock");
    }
}
