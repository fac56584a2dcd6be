//! `broadside follow | unfollow` (allied organizations, by handle or actor URL) and
//! `broadside network` (what they published).

use anyhow::{Context, bail};

use super::CliResult;
use crate::{
    app::AppState,
    config::Config,
    domain::RemoteActor,
    federation::{FederationData, follows, webfinger},
    store::boosts::BoostRule,
};

/// Resolves `@name@host` or an actor URL to the remote actor, fetching it.
async fn resolve(data: &FederationData, target: &str) -> anyhow::Result<RemoteActor> {
    Ok(webfinger::resolve_target(data, target).await?.0)
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

/// Prints the newest posts of followed accounts: date, kind, title or start, URL. With an
/// account, only the posts of those it follows, after turning its allies page on or off.
pub async fn network(
    config: Config,
    limit: i64,
    username: Option<&str>,
    allies_page: Option<&str>,
) -> CliResult {
    let store = crate::app::open_store(&config).await?;
    let posts = match username {
        None => store.network_timeline(limit, 0).await?,
        Some(username) => {
            let actor = store
                .actor_by_username(username)
                .await?
                .with_context(|| format!("there is no account `{username}`"))?;
            if let Some(setting) = allies_page {
                let shown = match setting {
                    "on" => true,
                    "off" => false,
                    other => bail!("--allies-page takes on or off, not `{other}`"),
                };
                store.set_allies_page(actor.id, shown).await?;
                let state = if shown { "shown" } else { "hidden" };
                store
                    .audit(None, "account.allies_page", username, state)
                    .await?;
                eprintln!(
                    "allies page {state}: {}",
                    crate::federation::urls::allies(&config.base_url, username)
                );
            }
            store
                .ally_posts(actor.id, false, limit, 0)
                .await?
                .into_iter()
                .map(|item| item.post)
                .collect()
        }
    };
    for post in posts {
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
