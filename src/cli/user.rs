//! `broadside user create | list | reset-password` and `broadside token create`.

use std::io::Read;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::CliResult;
use crate::{
    app,
    config::Config,
    domain::{Login, Role, credentials},
    store::{Store, StoreError},
};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; without --password-stdin a password is generated and printed once.
    Create {
        login: String,
        /// admin, editor or author.
        #[arg(long)]
        role: String,
        /// An organization account this user works for (repeatable; admins work for all).
        #[arg(long = "actor", value_name = "USERNAME")]
        actors: Vec<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// One line per user: login, role, accounts.
    List,
    /// Set a new password (generated and printed, or read from standard input); signs the
    /// user out everywhere.
    ResetPassword {
        login: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut password = String::new();
        std::io::stdin()
            .read_to_string(&mut password)
            .context("cannot read the password from standard input")?;
        let password = password.trim_end_matches(['\n', '\r']).to_owned();
        Ok((password, false))
    } else {
        Ok((credentials::generate_password(), true))
    }
}

pub async fn run(config: Config, command: UserCommand) -> CliResult {
    let store = app::open_store(&config).await?;
    match command {
        UserCommand::Create {
            login,
            role,
            actors,
            password_stdin,
        } => {
            let login = Login::parse(&login)?;
            let Some(role) = Role::parse(&role) else {
                bail!("`{role}` is not a role: use admin, editor or author");
            };
            let mut actor_ids = Vec::new();
            for username in &actors {
                let actor = store
                    .actor_by_username(username)
                    .await?
                    .with_context(|| format!("there is no account `{username}`"))?;
                actor_ids.push(actor.id);
            }
            if role != Role::Admin && actor_ids.is_empty() {
                bail!("an {role} works for at least one account: add --actor USERNAME");
            }
            let (password, generated) = read_password(password_stdin)?;
            let hash = credentials::hash_password(&password)?;
            let mut tx = store.begin().await?;
            match tx.insert_user(&login, &hash, role, &actor_ids).await {
                Err(StoreError::Conflict(_)) => bail!("a user `{login}` already exists"),
                other => other?,
            };
            tx.commit().await?;
            store
                .audit(
                    None,
                    "user.create",
                    login.as_str(),
                    &format!("role {role} (command line)"),
                )
                .await?;
            if generated {
                println!("{password}");
            } else {
                println!("created {login}");
            }
        }
        UserCommand::List => {
            let actors = store.list_actors().await?;
            for user in store.list_users().await? {
                let names: Vec<&str> = actors
                    .iter()
                    .filter(|a| user.actor_ids.contains(&a.id))
                    .map(|a| a.username.as_str())
                    .collect();
                let state = if user.disabled { "\tdisabled" } else { "" };
                println!("{}\t{}\t{}{state}", user.login, user.role, names.join(","));
            }
        }
        UserCommand::ResetPassword {
            login,
            password_stdin,
        } => {
            let user = find(&store, &login).await?;
            let (password, generated) = read_password(password_stdin)?;
            let hash = credentials::hash_password(&password)?;
            let mut tx = store.begin().await?;
            tx.set_password(user.id, &hash).await?;
            tx.commit().await?;
            store.delete_sessions_of(user.id).await?;
            store
                .audit(
                    None,
                    "user.reset-password",
                    user.login.as_str(),
                    "command line",
                )
                .await?;
            if generated {
                println!("{password}");
            } else {
                println!("password changed for {}", user.login);
            }
        }
    }
    store.close().await;
    Ok(())
}

async fn find(store: &Store, login: &str) -> anyhow::Result<crate::domain::User> {
    let login = Login::parse(login)?;
    Ok(store
        .credentials(&login)
        .await?
        .with_context(|| format!("there is no user `{login}`"))?
        .user)
}

/// `broadside token create LOGIN [--label TEXT]`: prints a new API token, shown only once.
pub async fn create_token(config: Config, login: &str, label: Option<String>) -> CliResult {
    let store = app::open_store(&config).await?;
    let user = find(&store, login).await?;
    let token = credentials::generate_api_token();
    let label = label.unwrap_or_else(|| "command line".to_owned());
    let mut tx = store.begin().await?;
    tx.insert_api_token(user.id, &label, &credentials::token_hash(&token))
        .await?;
    tx.commit().await?;
    store
        .audit(None, "token.create", user.login.as_str(), &label)
        .await?;
    println!("{token}");
    store.close().await;
    Ok(())
}
