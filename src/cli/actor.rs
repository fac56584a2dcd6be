//! `broadside actor create | set | list | alias | move | moves`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::CliResult;
use crate::{
    app::{self, AppState},
    config::Config,
    domain::{ActorKind, LocalActor, NewActor, Username, markdown},
    federation::{keys, migration, urls},
    store::{Store, StoreError},
};

#[derive(Debug, Subcommand)]
pub enum ActorCommand {
    /// Create an organization account; prints its ActivityPub id.
    Create {
        username: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Bio, in Markdown.
        #[arg(long, conflicts_with = "summary_file")]
        summary: Option<String>,
        /// Read the bio (Markdown) from a file.
        #[arg(long, value_name = "FILE")]
        summary_file: Option<PathBuf>,
        /// organization, group, person or service.
        #[arg(long = "type", default_value = "organization")]
        kind: String,
        /// New followers wait for an editor's approval.
        #[arg(long)]
        approve_followers: bool,
        /// Replies to the account's posts are shown at once, without an editor's approval.
        #[arg(long)]
        auto_approve_replies: bool,
    },
    /// Change an account's settings.
    Set {
        username: String,
        /// true: replies to the account's posts are shown at once; false: they wait for an
        /// editor (`broadside reply approve`). Replies already held stay held.
        #[arg(long, value_name = "true|false")]
        auto_approve_replies: Option<bool>,
    },
    /// List the accounts: username, type, name and id.
    List,
    /// The account's other accounts (`alsoKnownAs`): an account listed here can move its
    /// followers to this one.
    #[command(subcommand)]
    Alias(AliasCommand),
    /// Move the account to another (@name@host or actor URL), which must list this one as
    /// an alias first: followers are asked to follow it, and this account publishes no more.
    Move { username: String, target: String },
    /// Moves received to the account, newest first: date, old account, followers since.
    Moves { username: String },
}

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Add an alias: @name@host or an actor URL (looked up); followers get an Update.
    Add { username: String, target: String },
    /// Remove an alias; followers get an Update.
    Remove { username: String, target: String },
    /// List the aliases, one actor id a line.
    List { username: String },
}

pub async fn run(config: Config, command: ActorCommand) -> CliResult {
    let store = app::open_store(&config).await?;
    match command {
        ActorCommand::Create {
            username,
            name,
            summary,
            summary_file,
            kind,
            approve_followers,
            auto_approve_replies,
        } => {
            let username = Username::parse(&username)?;
            let Some(kind) = ActorKind::parse(&kind) else {
                bail!(
                    "`{kind}` is not an account type: use organization, group, person or service"
                );
            };
            if name.trim().is_empty() {
                bail!("the display name must not be empty");
            }
            let summary_md = match summary_file {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
                None => summary.unwrap_or_default(),
            };
            let pair = keys::generate()?;
            let new = NewActor {
                summary_html: markdown::render(&summary_md),
                summary_md,
                username: username.clone(),
                kind,
                name: name.trim().to_owned(),
                public_key_pem: pair.public_key_pem,
                private_key_pem: pair.private_key_pem,
            };
            let mut tx = store.begin().await?;
            let actor = match tx.insert_actor(&new).await {
                Err(StoreError::Conflict(_)) => {
                    bail!("an account named `{username}` already exists")
                }
                other => other?,
            };
            if approve_followers {
                tx.set_manually_approves_followers(actor.id, true).await?;
            }
            if auto_approve_replies {
                tx.set_auto_approves_replies(actor.id, true).await?;
            }
            // The instance's home page lists the accounts.
            tx.bump_site_version().await?;
            tx.commit().await?;
            println!("{}", urls::actor(&config.base_url, actor.username.as_str()));
        }
        ActorCommand::Alias(command) => alias(config.clone(), command).await?,
        ActorCommand::Move { username, target } => {
            move_account(config.clone(), &username, &target).await?;
        }
        ActorCommand::Moves { username } => {
            let actor = find(&store, &username).await?;
            for moved in store.moves_received(actor.id).await? {
                println!(
                    "{}\t{}\t{}",
                    moved.received_at.format("%Y-%m-%d %H:%M"),
                    moved.origin,
                    moved.followers
                );
            }
        }
        ActorCommand::Set {
            username,
            auto_approve_replies,
        } => {
            let Some(actor) = store.actor_by_username(&username).await? else {
                bail!("there is no account named `{username}`");
            };
            let Some(auto_approve_replies) = auto_approve_replies else {
                bail!("nothing to change: give --auto-approve-replies true or false");
            };
            let mut tx = store.begin().await?;
            tx.set_auto_approves_replies(actor.id, auto_approve_replies)
                .await?;
            tx.commit().await?;
            store
                .audit(
                    None,
                    "account.reply_policy",
                    actor.username.as_str(),
                    if auto_approve_replies {
                        "replies shown at once"
                    } else {
                        "replies held for approval"
                    },
                )
                .await?;
            println!(
                "{}: replies {}",
                actor.username,
                if auto_approve_replies {
                    "are shown at once"
                } else {
                    "wait for an editor's approval"
                }
            );
        }
        ActorCommand::List => {
            for actor in store.list_actors().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    actor.username,
                    actor.kind,
                    actor.name,
                    urls::actor(&config.base_url, actor.username.as_str())
                );
            }
        }
    }
    store.close().await;
    Ok(())
}

async fn find(store: &Store, username: &str) -> anyhow::Result<LocalActor> {
    store
        .actor_by_username(username)
        .await?
        .with_context(|| format!("there is no account `{username}`"))
}

/// `actor alias add | remove | list`.
async fn alias(config: Config, command: AliasCommand) -> CliResult {
    let state = AppState::prepare(config).await?;
    let data = state.federation_config().await?.to_request_data();
    match command {
        AliasCommand::Add { username, target } => {
            let actor = find(&state.store, &username).await?;
            let (_, added) = migration::add_alias(&data, &actor, &target).await?;
            println!("{added}");
        }
        AliasCommand::Remove { username, target } => {
            let actor = find(&state.store, &username).await?;
            match migration::remove_alias(&data, &actor, &target).await? {
                (_, Some(removed)) => println!("removed {removed}"),
                (_, None) => bail!("`{username}` has no alias {target}"),
            }
        }
        AliasCommand::List { username } => {
            for alias in find(&state.store, &username).await?.also_known_as {
                println!("{alias}");
            }
        }
    }
    state.store.close().await;
    Ok(())
}

/// `actor move USERNAME TARGET`.
async fn move_account(config: Config, username: &str, target: &str) -> CliResult {
    let state = AppState::prepare(config).await?;
    let data = state.federation_config().await?.to_request_data();
    let actor = find(&state.store, username).await?;
    let (_, new) = migration::move_account(&data, &actor, target).await?;
    println!("moved to {}", new.ap_id);
    state.store.close().await;
    Ok(())
}
