//! `broadside actor create | list`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::CliResult;
use crate::{
    app,
    config::Config,
    domain::{ActorKind, NewActor, Username, markdown},
    federation::{keys, urls},
    store::StoreError,
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
    },
    /// List the accounts: username, type, name and id.
    List,
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
            // The instance's home page lists the accounts.
            tx.bump_site_version().await?;
            tx.commit().await?;
            println!("{}", urls::actor(&config.base_url, actor.username.as_str()));
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
