//! `broadside block domain|actor|list|import` and `broadside unblock domain|actor`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use url::Url;

use super::CliResult;
use crate::{
    app::{self, AppState},
    config::Config,
    domain::{BlockedDomain, Handle},
    federation::{moderation, webfinger},
    store::{Store, blocks::Purged},
};

#[derive(Debug, Subcommand)]
pub enum BlockCommand {
    /// Block a domain and its subdomains: their activities are refused, their follows of our
    /// accounts (and ours of them), kept posts and interactions removed, and nothing is
    /// delivered there.
    Domain {
        /// e.g. example.org (covers social.example.org too)
        host: String,
        /// A note for the other admins, shown by `block list`.
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Block one account elsewhere, by @name@host or actor URL.
    Actor { target: String },
    /// Every block: kind, domain or actor, since when, comment.
    List,
    /// Block every `suspend` domain of a Mastodon-format blocklist CSV (or a file with one
    /// domain per line). `silence` and `noop` entries are listed and skipped.
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum UnblockCommand {
    /// Lift a domain block (follows it removed stay removed).
    Domain { host: String },
    /// Lift an actor block.
    Actor { target: String },
}

pub async fn block(config: Config, command: BlockCommand) -> CliResult {
    let store = app::open_store(&config).await?;
    match command {
        BlockCommand::Domain { host, comment } => {
            let domain = BlockedDomain::parse(&host)?;
            let outcome = moderation::block_domain(&store, &domain, &comment).await?;
            print_block(&domain.to_string(), outcome);
        }
        BlockCommand::Actor { target } => {
            let ap_id = actor_id(&config, &store, &target).await?;
            let outcome = moderation::block_actor(&store, &ap_id).await?;
            print_block(ap_id.as_str(), outcome);
        }
        BlockCommand::List => {
            for block in store.domain_blocks().await? {
                println!(
                    "domain\t{}\t{}\t{}",
                    block.domain,
                    block.created_at.format("%Y-%m-%d %H:%M"),
                    one_line(&block.comment)
                );
            }
            for block in store.actor_blocks().await? {
                println!(
                    "actor\t{}\t{}\t",
                    block.ap_id,
                    block.created_at.format("%Y-%m-%d %H:%M")
                );
            }
        }
        BlockCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let outcome = moderation::import_blocklist(&store, &text).await?;
            for invalid in &outcome.invalid {
                eprintln!(
                    "broadside: {} line {}: {}",
                    file.display(),
                    invalid.line,
                    invalid.reason
                );
            }
            for (domain, severity) in &outcome.skipped {
                println!("skipped\t{domain}\t{}", severity.as_str());
            }
            println!(
                "added {} domain blocks ({} already blocked, {} skipped, {} unreadable)",
                outcome.added.len(),
                outcome.already,
                outcome.skipped.len(),
                outcome.invalid.len()
            );
        }
    }
    store.close().await;
    Ok(())
}

pub async fn unblock(config: Config, command: UnblockCommand) -> CliResult {
    let store = app::open_store(&config).await?;
    let (what, lifted) = match command {
        UnblockCommand::Domain { host } => {
            let domain = BlockedDomain::parse(&host)?;
            let lifted = moderation::unblock_domain(&store, &domain).await?;
            (domain.to_string(), lifted)
        }
        UnblockCommand::Actor { target } => {
            let ap_id = actor_id(&config, &store, &target).await?;
            let lifted = moderation::unblock_actor(&store, &ap_id).await?;
            (ap_id.to_string(), lifted)
        }
    };
    if lifted {
        println!("unblocked {what}");
    } else {
        println!("{what} was not blocked");
    }
    store.close().await;
    Ok(())
}

fn print_block(what: &str, outcome: moderation::BlockOutcome) {
    let Purged {
        followers,
        following,
        posts,
        interactions,
        deliveries,
    } = outcome.purged;
    let done = if outcome.added {
        format!("blocked {what}")
    } else {
        format!("{what} was already blocked")
    };
    println!(
        "{done}: removed {followers} followers, {following} follows, {posts} kept posts, \
         {interactions} interactions, {deliveries} queued deliveries"
    );
}

/// The actor id of `@name@host` or an actor URL. A URL is taken as it is and a known handle
/// is looked up in the store, so blocking needs the network only for a handle never seen.
async fn actor_id(config: &Config, store: &Store, target: &str) -> anyhow::Result<Url> {
    if let Ok(url) = Url::parse(target)
        && matches!(url.scheme(), "http" | "https")
    {
        return Ok(url);
    }
    let handle = Handle::parse(target)?;
    if let Some(known) = store
        .known_actor_by_handle(&handle.user, &handle.host)
        .await?
    {
        return Ok(known);
    }
    let state = AppState::prepare(config.clone()).await?;
    let data = state.federation_config().await?.to_request_data();
    let actor = webfinger::resolve(&data, &handle)
        .await
        .with_context(|| format!("cannot find {target}; give its actor URL instead"))?;
    state.store.close().await;
    Ok(actor.0.ap_id)
}

/// A stored text on one line of tab-separated output.
pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
