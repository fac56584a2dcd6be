//! `broadside follow | unfollow` (allied organizations, by handle or actor URL) and
//! `broadside network` (what they published).

use anyhow::Context;
use url::Url;

use super::CliResult;
use crate::{
    app::AppState,
    config::Config,
    domain::{Handle, RemoteActor},
    federation::{FederationData, follows, objects::remote_actor::ApRemoteActor, webfinger},
    store::boosts::BoostRule,
};

/// Resolves `@name@host` or an actor URL to the remote actor, fetching it.
async fn resolve(data: &FederationData, target: &str) -> anyhow::Result<RemoteActor> {
    let actor = match Url::parse(target) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            activitypub_federation::fetch::object_id::ObjectId::<ApRemoteActor>::from(url)
                .dereference(data)
                .await?
        }
        _ => webfinger::resolve(data, &Handle::parse(target)?).await?,
    };
    Ok(actor.0)
}

pub async fn follow(
    config: Config,
    username: &str,
    target: &str,
    stop: bool,
    boost: &[String],
) -> CliResult {
    let state = AppState::prepare(config).await?;
    let data = state.federation_config().await?.to_request_data();
    let actor = state
        .store
        .actor_by_username(username)
        .await?
        .with_context(|| format!("there is no account `{username}`"))?;
    let remote = resolve(&data, target)
        .await
        .with_context(|| format!("cannot find {target}"))?;
    let base = &state.config.base_url;
    if stop {
        if follows::unfollow(&state.store, base, &actor, &remote).await? {
            println!("unfollowed {}", remote.ap_id);
        } else {
            println!("{} was not followed", remote.ap_id);
        }
    } else {
        let following = follows::follow(&state.store, base, &actor, &remote).await?;
        if !boost.is_empty() {
            let rule = if boost.iter().any(|b| b == "all") {
                BoostRule::All
            } else {
                BoostRule::Tags(
                    boost
                        .iter()
                        .map(|t| t.trim_start_matches('#').to_lowercase())
                        .collect(),
                )
            };
            state
                .store
                .set_boost_rule(actor.id, remote.id, Some(&rule))
                .await?;
        }
        println!("{}\t{}", following.state.as_str(), remote.ap_id);
    }
    state.store.close().await;
    Ok(())
}

/// Prints the newest posts of followed accounts: date, author, title or start, URL.
pub async fn network(config: Config, limit: i64) -> CliResult {
    let store = crate::app::open_store(&config).await?;
    for post in store.network_timeline(limit, 0).await? {
        let headline = post
            .name
            .clone()
            .unwrap_or_else(|| crate::domain::render::html_excerpt(&post.content, 60));
        println!(
            "{}\t{}\t{}\t{}",
            post.published_at.format("%Y-%m-%d %H:%M"),
            post.kind,
            headline,
            post.url.as_ref().unwrap_or(&post.ap_id)
        );
    }
    store.close().await;
    Ok(())
}
