//! `broadside serve` and `broadside migrate`.

use tokio::sync::watch;

use super::CliResult;
use crate::{
    app::{self, Role},
    config::Config,
    domain::credentials,
};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Which part to run in this process; web and worker apart need PostgreSQL.
    #[arg(long, value_enum, default_value_t = Role::All)]
    pub role: Role,
    /// On SIGTERM or Ctrl-C, how many seconds deliveries in flight may still finish before
    /// they are handed back to the queue for the next start.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::federation::delivery::DEFAULT_SHUTDOWN_GRACE.as_secs())]
    pub shutdown_grace: u64,
}

pub async fn serve(config: Config, args: ServeArgs) -> CliResult {
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        let _ = stop.send(true);
    });
    let listener = if args.role == Role::Worker {
        None
    } else {
        Some(app::bind(&config).await?)
    };
    let store = app::open_store(&config).await?;
    if args.role != Role::Worker && store.count_users().await? == 0 {
        // A new link at every start while nobody has used one: only its hash is stored, so
        // the link printed last is the one that works.
        let token = credentials::generate_token();
        store
            .replace_setup_token(&credentials::token_hash(&token))
            .await?;
        let mut link = config.base_url.join("/setup")?;
        link.query_pairs_mut().append_pair("token", &token);
        eprintln!(
            "No users yet. Open this one-time link to create the admin and the first organization account:\n  {link}"
        );
    } else if store.count_actors().await? == 0 {
        eprintln!(
            "No organization account yet. Create one with:\n  broadside actor create USERNAME --name \"Organization name\"\n(it will be found as @USERNAME@{})",
            crate::config::authority(&config.base_url)
        );
    }
    store.close().await;
    let tuning = app::Tuning {
        delivery: crate::federation::delivery::Settings {
            shutdown_grace: std::time::Duration::from_secs(args.shutdown_grace),
            ..Default::default()
        },
        resolver: None,
    };
    app::run(config, tuning, args.role, listener, shutdown).await?;
    Ok(())
}

pub async fn migrate(config: Config) -> CliResult {
    let store = app::open_store(&config).await?;
    store.close().await;
    println!("database is up to date");
    Ok(())
}

/// Ctrl-C or SIGTERM (what systemd and container runtimes send).
pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
