//! The editors' use cases for allied organizations, as the web editor offers them: following
//! and unfollowing, the rule by which an ally's posts are boosted, boosting by hand, the
//! public allies page, and approving held replies. Each checks [`User::may`] for the account,
//! calls the same federation use cases as the command line, and writes the audit log.

use url::Url;

use super::{EditorialError, EditorialResult, record, require};
use crate::{
    domain::{Action, FollowState, LocalActor, RemoteActor, User},
    federation::{FederationData, boosts, follows, webfinger},
    store::{boosts::BoostRule, interactions::Reply, remote_posts::AllyPost},
};

/// Held replies and mentions looked at: the dashboard lists them and only those are approved.
pub const HELD_LISTED: i64 = 200;

/// Starts following `target` (`@name@host` or an actor URL) for the account.
pub async fn follow(
    data: &FederationData,
    user: &User,
    actor: &LocalActor,
    target: &str,
) -> EditorialResult<(RemoteActor, FollowState)> {
    require(
        user,
        Action::Follow,
        actor,
        "your role may not follow accounts",
    )?;
    let remote = webfinger::resolve_target(data, target)
        .await
        .map_err(|err| {
            // The cause may name addresses of the network we fetched from; it stays in the log.
            tracing::info!(%target, error = %err, "account to follow not found");
            EditorialError::Invalid(format!(
                "{target} could not be found: check the handle or URL, or try again later"
            ))
        })?
        .0;
    if data.store.block_covering(&remote.ap_id).await?.is_some() {
        return Err(EditorialError::Invalid(format!(
            "{} is blocked on this server",
            remote.handle()
        )));
    }
    let following = follows::follow(&data.store, &data.config.base_url, actor, &remote).await?;
    record(
        data,
        user,
        "ally.follow",
        actor.username.as_str(),
        remote.ap_id.as_str(),
    )
    .await?;
    Ok((remote, following.state))
}

/// The remote account `ap_id` as the account follows it (pending or accepted), or not found.
async fn followed(
    data: &FederationData,
    actor: &LocalActor,
    ap_id: &Url,
) -> EditorialResult<RemoteActor> {
    let remote = data
        .store
        .remote_actor_by_ap_id(ap_id)
        .await?
        .ok_or(EditorialError::NotFound)?;
    data.store
        .following_state(actor.id, remote.id)
        .await?
        .ok_or(EditorialError::NotFound)?;
    Ok(remote)
}

/// Stops following `ap_id` (an Undo(Follow) goes to it) and drops its boost rule.
pub async fn unfollow(
    data: &FederationData,
    user: &User,
    actor: &LocalActor,
    ap_id: &Url,
) -> EditorialResult<RemoteActor> {
    require(
        user,
        Action::Follow,
        actor,
        "your role may not unfollow accounts",
    )?;
    let remote = followed(data, actor, ap_id).await?;
    follows::unfollow(&data.store, &data.config.base_url, actor, &remote).await?;
    data.store.set_boost_rule(actor.id, remote.id, None).await?;
    record(
        data,
        user,
        "ally.unfollow",
        actor.username.as_str(),
        remote.ap_id.as_str(),
    )
    .await?;
    Ok(remote)
}

/// Reads the rule form: `all`, `tags` (with hashtags separated by spaces or commas) or `none`.
pub fn parse_rule(mode: &str, tags: &str) -> EditorialResult<Option<BoostRule>> {
    match mode {
        "none" => Ok(None),
        "all" => Ok(Some(BoostRule::All)),
        "tags" => {
            let mut tags: Vec<String> = tags
                .split(|c: char| c.is_whitespace() || c == ',')
                .map(|t| t.trim_start_matches('#').to_lowercase())
                .filter(|t| !t.is_empty())
                .collect();
            tags.sort();
            tags.dedup();
            if tags.is_empty()
                || tags
                    .iter()
                    .any(|t| !t.chars().all(|c| c.is_alphanumeric() || c == '_'))
            {
                return Err(EditorialError::Invalid(
                    "give one or more hashtags, such as #strike #solidarity".into(),
                ));
            }
            Ok(Some(BoostRule::Tags(tags)))
        }
        other => Err(EditorialError::Invalid(format!(
            "`{other}` is not a boost rule: use all, tags or none"
        ))),
    }
}

/// How a rule reads in the audit log and on the page.
pub fn describe_rule(rule: Option<&BoostRule>) -> String {
    match rule {
        None => "none".into(),
        Some(BoostRule::All) => "all posts".into(),
        Some(BoostRule::Tags(tags)) => tags
            .iter()
            .map(|t| format!("#{t}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Sets which posts of a followed account the account boosts automatically.
pub async fn set_boost_rule(
    data: &FederationData,
    user: &User,
    actor: &LocalActor,
    ap_id: &Url,
    rule: Option<BoostRule>,
) -> EditorialResult<()> {
    require(
        user,
        Action::Follow,
        actor,
        "your role may not change boost rules",
    )?;
    let remote = followed(data, actor, ap_id).await?;
    data.store
        .set_boost_rule(actor.id, remote.id, rule.as_ref())
        .await?;
    let detail = format!("{}: {}", remote.ap_id, describe_rule(rule.as_ref()));
    record(
        data,
        user,
        "ally.boost_rule",
        actor.username.as_str(),
        &detail,
    )
    .await
}

/// Boosts a received post (`undo`: takes the boost back); false if nothing changed.
pub async fn boost(
    data: &FederationData,
    user: &User,
    actor: &LocalActor,
    post: &Url,
    undo: bool,
) -> EditorialResult<bool> {
    require(user, Action::Boost, actor, "your role may not boost posts")?;
    let AllyPost {
        post,
        author,
        public,
        ..
    } = data
        .store
        .ally_post(actor.id, post)
        .await?
        .ok_or(EditorialError::NotFound)?;
    // Boosting shows a post to the account's followers: only what its author made public.
    if !undo && !public {
        return Err(EditorialError::Invalid(
            "only public posts can be boosted".into(),
        ));
    }
    let boosted = boosts::Boosted {
        object: post.ap_id.clone(),
        author: Some(author.ap_id.clone()),
        author_inbox: Some(author.delivery_inbox().clone()),
    };
    let base = &data.config.base_url;
    let changed = if undo {
        boosts::unboost(&data.store, base, actor, &boosted).await?
    } else {
        boosts::boost(&data.store, base, actor, &boosted).await?
    };
    if changed {
        let action = if undo { "post.unboost" } else { "post.boost" };
        record(
            data,
            user,
            action,
            actor.username.as_str(),
            post.ap_id.as_str(),
        )
        .await?;
    }
    Ok(changed)
}

/// Shows or hides the account's public allies page.
pub async fn set_allies_page(
    data: &FederationData,
    user: &User,
    actor: &LocalActor,
    shown: bool,
) -> EditorialResult<()> {
    require(
        user,
        Action::Follow,
        actor,
        "your role may not change the allies page",
    )?;
    data.store.set_allies_page(actor.id, shown).await?;
    let detail = if shown { "shown" } else { "hidden" };
    record(
        data,
        user,
        "account.allies_page",
        actor.username.as_str(),
        detail,
    )
    .await
}

/// A reply held for approval, or a mention, with the account it concerns.
pub struct Held {
    pub reply: Reply,
    /// `reply` or `mention`.
    pub kind: String,
    /// For a reply: the account whose post it answers; None for a mention.
    pub account: Option<LocalActor>,
    /// Whether the user may approve it.
    pub may_approve: bool,
}

/// Held replies and mentions the user may see, newest first. A reply is shown to those who
/// work for the account it answers. The list of mentions does not say which account was
/// mentioned, so a mention is shown to those who work for every account (admins, and
/// everyone on a one-account instance); a mention can be a direct message.
pub async fn held(data: &FederationData, user: &User) -> EditorialResult<Vec<Held>> {
    let actors = data.store.list_actors().await?;
    let sees_all = actors.iter().all(|a| user.may(Action::View, a.id));
    let mut shown = Vec::new();
    for (kind, reply) in data.store.held_replies_and_mentions(HELD_LISTED).await? {
        let account = match reply.post_id {
            Some(post_id) => {
                let Some(post) = data.store.post_by_id(post_id).await? else {
                    continue;
                };
                actors.iter().find(|a| a.id == post.actor_id).cloned()
            }
            None => None,
        };
        let (visible, may_approve) = match &account {
            Some(actor) => (
                user.may(Action::View, actor.id),
                user.may(Action::ApproveReplies, actor.id),
            ),
            None => (sees_all, false),
        };
        if visible {
            shown.push(Held {
                reply,
                kind,
                account,
                may_approve,
            });
        }
    }
    Ok(shown)
}

/// Approves a held reply: it appears under its post.
pub async fn approve_reply(data: &FederationData, user: &User, id: i64) -> EditorialResult<()> {
    let held = held(data, user)
        .await?
        .into_iter()
        .find(|h| h.reply.id == id && h.kind == "reply")
        .ok_or(EditorialError::NotFound)?;
    let Some(actor) = &held.account else {
        return Err(EditorialError::NotFound);
    };
    require(
        user,
        Action::ApproveReplies,
        actor,
        "your role may not approve replies",
    )?;
    if !data.store.approve_reply(id).await? {
        return Err(EditorialError::NotFound);
    }
    let author = format!("@{}@{}", held.reply.author_username, held.reply.author_host);
    record(
        data,
        user,
        "reply.approve",
        &format!("{}/replies/{id}", actor.username),
        &author,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_read_from_the_form() {
        assert_eq!(parse_rule("none", "").unwrap(), None);
        assert_eq!(parse_rule("all", "ignored").unwrap(), Some(BoostRule::All));
        assert_eq!(
            parse_rule("tags", "#Strike, solidarity #strike").unwrap(),
            Some(BoostRule::Tags(vec!["solidarity".into(), "strike".into()]))
        );
        assert!(parse_rule("tags", " ").is_err());
        assert!(parse_rule("tags", "not-a-tag").is_err());
        assert!(parse_rule("some", "").is_err());
    }
}
