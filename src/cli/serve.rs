//! `broadside serve` and `broadside migrate`.

use tokio::sync::watch;

use super::CliResult;
use crate::{
    app::{self, Role},
    config::Config,
};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Which part to run in this process; web and worker apart need PostgreSQL.
    #[arg(long, value_enum, default_value_t = Role::All)]
    pub role: Role,
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
    let setup_hint = config.base_url.clone();
    let store = app::open_store(&config).await?;
    if store.count_actors().await? == 0 {
        eprintln!(
            "No organization account yet. Create one with:\n  broadside actor create USERNAME --name \"Organization name\"\n(it will be found as @USERNAME@{})",
            crate::config::authority(&setup_hint)
        );
    }
    store.close().await;
    app::run(config, args.role, listener, shutdown).await?;
    Ok(())
}

pub async fn migrate(config: Config) -> CliResult {
    let store = app::open_store(&config).await?;
    store.close().await;
    println!("database is up to date");
    Ok(())
}

/// Ctrl-C or SIGTERM (what systemd and container runtimes send).
async fn wait_for_signal() {
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
