//! `broadside boost | unboost` (share a post with an account's followers), `broadside group
//! add | remove` (the members a group account relays), and `broadside reply list | approve`
//! (replies held for approval, and mentions).

use activitypub_federation::fetch::object_id::ObjectId;
use anyhow::{Context, bail};
use clap::Subcommand;
use url::Url;

use super::CliResult;
use crate::{
    app::AppState,
    config::Config,
    domain::{ActorKind, Handle, LocalActor},
    federation::{
        FederationData, activities,
        boosts::{self, Boosted},
        follows,
        objects::{remote_actor::ApRemoteActor, remote_post},
        urls, webfinger,
    },
    store::{
        Store,
        boosts::{BoostRule, Member},
    },
};

async fn account(store: &Store, username: &str) -> anyhow::Result<LocalActor> {
    store
        .actor_by_username(username)
        .await?
        .with_context(|| format!("there is no account `{username}`"))
}

/// What is boosted: a post of ours (its author is us), or a remote post whose author is
/// fetched so it can be told.
async fn boosted(data: &FederationData, post: &str) -> anyhow::Result<Boosted> {
    let object = Url::parse(post).with_context(|| format!("`{post}` is not a post URL"))?;
    if urls::post_id_of(&data.config.base_url, &object).is_some() {
        return Ok(Boosted {
            object,
            author: None,
            author_inbox: None,
        });
    }
    let json = remote_post::fetch(data, &object)
        .await
        .with_context(|| format!("cannot fetch {object}"))?;
    // The post's own id, which is what an Announce names (the URL given may be its web page).
    let object = activities::id_of(&json).with_context(|| format!("{object} has no id"))?;
    let author =
        remote_post::author_of(&json).with_context(|| format!("{object} names no author"))?;
    let actor = ObjectId::<ApRemoteActor>::from(author)
        .dereference(data)
        .await?;
    Ok(Boosted {
        object,
        author: Some(actor.0.ap_id.clone()),
        author_inbox: Some(actor.0.delivery_inbox().clone()),
    })
}

pub async fn boost(config: Config, username: &str, post: &str, undo: bool) -> CliResult {
    let state = AppState::prepare(config).await?;
    let data = state.federation_config().await?.to_request_data();
    let actor = account(&state.store, username).await?;
    let boosted = boosted(&data, post).await?;
    let base = &state.config.base_url;
    let changed = if undo {
        boosts::unboost(&state.store, base, &actor, &boosted).await?
    } else {
        boosts::boost(&state.store, base, &actor, &boosted).await?
    };
    let verb = match (undo, changed) {
        (false, true) => "boosted",
        (false, false) => "already boosted",
        (true, true) => "unboosted",
        (true, false) => "was not boosted",
    };
    println!("{verb} {}", boosted.object);
    state.store.close().await;
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Make MEMBER (a local username, or @name@host / actor URL, which the group then follows)
    /// a member: the group boosts its public posts.
    Add {
        #[arg(long)]
        group: String,
        member: String,
    },
    /// Stop relaying MEMBER (a remote member is also unfollowed).
    Remove {
        #[arg(long)]
        group: String,
        member: String,
    },
}

pub async fn group(config: Config, command: GroupCommand) -> CliResult {
    let state = AppState::prepare(config).await?;
    let data = state.federation_config().await?.to_request_data();
    let store = &state.store;
    let base = &state.config.base_url;
    let (group_name, member, adding) = match &command {
        GroupCommand::Add { group, member } => (group, member, true),
        GroupCommand::Remove { group, member } => (group, member, false),
    };
    let group = account(store, group_name).await?;
    if group.kind != ActorKind::Group {
        bail!(
            "`{}` is not a group account (create it with --type group)",
            group.username
        );
    }
    match store.actor_by_username(member).await? {
        Some(local) => {
            let changed = if adding {
                store
                    .add_group_member(group.id, &Member::Local(local.id))
                    .await?
            } else {
                store
                    .remove_group_member(group.id, &Member::Local(local.id))
                    .await?
            };
            println!(
                "{} {}",
                if changed {
                    if adding { "added" } else { "removed" }
                } else {
                    "unchanged"
                },
                local.username
            );
        }
        None => {
            let remote = match Url::parse(member) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {
                    ObjectId::<ApRemoteActor>::from(url)
                        .dereference(&data)
                        .await?
                }
                _ => webfinger::resolve(&data, &Handle::parse(member)?).await?,
            }
            .0;
            if adding {
                store
                    .add_group_member(group.id, &Member::Remote(remote.id))
                    .await?;
                follows::follow(store, base, &group, &remote).await?;
                store
                    .set_boost_rule(group.id, remote.id, Some(&BoostRule::All))
                    .await?;
                println!(
                    "added {} (following; its public posts will be boosted)",
                    remote.ap_id
                );
            } else {
                store
                    .remove_group_member(group.id, &Member::Remote(remote.id))
                    .await?;
                store.set_boost_rule(group.id, remote.id, None).await?;
                follows::unfollow(store, base, &group, &remote).await?;
                println!("removed {}", remote.ap_id);
            }
        }
    }
    store.close().await;
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum ReplyCommand {
    /// Replies waiting for approval, and mentions: id, kind, date, author, text, URL.
    List,
    /// Show a held reply under its post.
    Approve { id: i64 },
}

pub async fn reply(config: Config, command: ReplyCommand) -> CliResult {
    let store = crate::app::open_store(&config).await?;
    match command {
        ReplyCommand::List => {
            for (kind, reply) in store.held_replies_and_mentions(100).await? {
                let text = crate::domain::render::html_excerpt(
                    &reply.content.clone().unwrap_or_default(),
                    80,
                );
                println!(
                    "{}\t{kind}\t{}\t@{}@{}\t{text}\t{}",
                    reply.id,
                    reply.received_at().format("%Y-%m-%d %H:%M"),
                    reply.author_username,
                    reply.author_host,
                    reply
                        .url
                        .clone()
                        .or(reply.object_id.clone())
                        .unwrap_or_default()
                );
            }
        }
        ReplyCommand::Approve { id } => {
            if !store.approve_reply(id).await? {
                bail!("there is no held reply {id}");
            }
            store
                .audit(None, "reply.approve", &id.to_string(), "command line")
                .await?;
            println!("approved {id}");
        }
    }
    store.close().await;
    Ok(())
}
