//! `broadside follower list | approve | reject`.

use anyhow::{Context, bail};
use clap::Subcommand;
use url::Url;

use super::CliResult;
use crate::{
    app,
    config::Config,
    domain::{FollowState, Follower, Handle},
    federation::activities::{accept, reject},
    store::Store,
};

#[derive(Debug, Subcommand)]
pub enum FollowerCommand {
    /// One line per follower: state, actor id, handle.
    List {
        #[arg(long)]
        actor: String,
        /// Only the follow requests waiting for approval.
        #[arg(long)]
        pending: bool,
    },
    /// Accept a pending follow request (sends Accept).
    Approve {
        #[arg(long)]
        actor: String,
        /// @name@host or the follower's actor URL.
        follower: String,
    },
    /// Decline a follow request or remove a follower (sends Reject).
    Reject {
        #[arg(long)]
        actor: String,
        /// @name@host or the follower's actor URL.
        follower: String,
    },
}

pub async fn run(config: Config, command: FollowerCommand) -> CliResult {
    let store = app::open_store(&config).await?;
    match command {
        FollowerCommand::List { actor, pending } => {
            let actor = store
                .actor_by_username(&actor)
                .await?
                .with_context(|| format!("there is no account `{actor}`"))?;
            let states: &[FollowState] = if pending {
                &[FollowState::Pending]
            } else {
                &[FollowState::Accepted, FollowState::Pending]
            };
            for state in states {
                let mut offset = 0;
                loop {
                    let page = store.followers(actor.id, *state, 500, offset).await?;
                    for follower in &page {
                        println!(
                            "{}\t{}\t{}",
                            follower.state.as_str(),
                            follower.remote.ap_id,
                            follower.remote.handle()
                        );
                    }
                    if page.len() < 500 {
                        break;
                    }
                    offset += 500;
                }
            }
        }
        FollowerCommand::Approve { actor, follower } => {
            let (actor, follower) = find(&store, &actor, &follower).await?;
            if follower.state == FollowState::Accepted {
                bail!(
                    "{} already follows {}",
                    follower.remote.handle(),
                    actor.username
                );
            }
            accept::approve_pending(&store, &config.base_url, &actor, &follower).await?;
            println!("approved {}", follower.remote.handle());
        }
        FollowerCommand::Reject { actor, follower } => {
            let (actor, follower) = find(&store, &actor, &follower).await?;
            reject::reject_follower(&store, &config.base_url, &actor, &follower).await?;
            println!("rejected {}", follower.remote.handle());
        }
    }
    store.close().await;
    Ok(())
}

async fn find(
    store: &Store,
    actor: &str,
    follower: &str,
) -> anyhow::Result<(crate::domain::LocalActor, Follower)> {
    let local = store
        .actor_by_username(actor)
        .await?
        .with_context(|| format!("there is no account `{actor}`"))?;
    let found = match Url::parse(follower) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            store.follower(local.id, &url).await?
        }
        _ => {
            let handle = Handle::parse(follower)?;
            store
                .follower_by_handle(local.id, &handle.user, &handle.host)
                .await?
        }
    };
    let found = found.with_context(|| format!("{follower} does not follow {actor}"))?;
    Ok((local, found))
}
