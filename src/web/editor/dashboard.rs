//! `/editor`: replies waiting for approval and mentions of our accounts (with Approve), then
//! per account the user works for, its drafts, posts in review, scheduled and published
//! posts, and its pending and newest followers.

use askama::Template;
use axum::{
    extract::{Path, Query},
    response::{Html, Response},
};
use serde::Deserialize;

use super::{
    EditorResult, Frame, changed,
    forms::{Editor, EditorForm},
    see_other,
};
use crate::{
    domain::{Action, FollowState, LocalActor, Post, PostState},
    editorial::{self, network::Held},
    web::view::{Stamp, headline},
};

/// Published posts listed per account; older ones are on the public account page.
const PUBLISHED_SHOWN: usize = 10;
/// Newest followers listed per account.
const FOLLOWERS_SHOWN: i64 = 5;

/// A post in one of the dashboard's lists.
pub struct Row {
    pub id: i64,
    pub heading: String,
    pub kind: &'static str,
    /// What time the list is about: changed, scheduled for, published.
    pub when: Stamp,
    pub pinned: bool,
}

impl Row {
    fn new(post: &Post) -> Self {
        let when = match post.state {
            PostState::Scheduled => post.scheduled_at,
            PostState::Published => post.published_at,
            _ => None,
        }
        .unwrap_or(post.updated_at);
        Self {
            id: post.id,
            heading: headline(post),
            kind: post.kind.as_str(),
            when: Stamp::new(when),
            pinned: post.pinned_at.is_some(),
        }
    }
}

pub struct FollowerRow {
    pub handle: String,
    pub url: String,
    pub since: Stamp,
}

pub struct AccountBoard {
    pub username: String,
    pub name: String,
    pub drafts: Vec<Row>,
    pub review: Vec<Row>,
    pub scheduled: Vec<Row>,
    pub published: Vec<Row>,
    pub pending: Vec<FollowerRow>,
    pub followers: Vec<FollowerRow>,
    pub follower_count: i64,
    pub may_publish: bool,
    pub may_manage_followers: bool,
    pub may_edit_profile: bool,
}

/// A held reply or a mention, as the dashboard lists it.
pub struct HeldRow {
    pub id: i64,
    /// `reply` or `mention`.
    pub kind: String,
    pub author: String,
    pub author_link: String,
    /// Sanitized HTML, as stored.
    pub content: String,
    pub link: Option<String>,
    pub received: Stamp,
    /// For a reply: the editor page of the post it answers.
    pub post: Option<String>,
    pub may_approve: bool,
}

impl HeldRow {
    fn of(held: Held) -> Self {
        let reply = held.reply;
        Self {
            id: reply.id,
            author: reply
                .author_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| format!("@{}@{}", reply.author_username, reply.author_host)),
            author_link: reply.author.clone(),
            content: reply.content.clone().unwrap_or_default(),
            link: reply.url.clone().or(reply.object_id.clone()),
            received: Stamp::new(reply.received_at()),
            post: reply.post_id.map(|id| format!("/editor/posts/{id}")),
            may_approve: held.may_approve,
            kind: held.kind,
        }
    }
}

#[derive(Template)]
#[template(path = "editor/dashboard.html")]
struct DashboardPage {
    frame: Option<Frame>,
    notice: Option<&'static str>,
    held: Vec<HeldRow>,
    boards: Vec<AccountBoard>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    done: Option<String>,
}

/// The sentence for a `?done=` after a redirect; unknown values say nothing.
fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "setup" => "The instance is set up. You are signed in as its admin.",
        "password" => "Your password is changed. Other sessions were signed out.",
        "deleted" => "The post is retracted. Followers' servers are told to remove it.",
        "profile" => "The profile is saved and sent to followers.",
        "approved" => "The reply is approved: it shows under its post.",
        _ => return None,
    })
}

fn follower_row(follower: &crate::domain::Follower) -> FollowerRow {
    FollowerRow {
        handle: follower.remote.handle().to_string(),
        url: follower
            .remote
            .url
            .as_ref()
            .unwrap_or(&follower.remote.ap_id)
            .to_string(),
        since: Stamp::new(follower.created_at),
    }
}

async fn board(
    editor: &Editor,
    actor: &LocalActor,
    posts: &[(LocalActor, Post)],
) -> EditorResult<AccountBoard> {
    let store = &editor.data.store;
    let user = &editor.user;
    let of = |state: PostState| -> Vec<&Post> {
        posts
            .iter()
            .filter(|(a, p)| a.id == actor.id && p.state == state)
            .map(|(_, p)| p)
            .collect()
    };
    let mut published = of(PostState::Published);
    published.sort_by_key(|p| std::cmp::Reverse(p.published_at));
    let mut scheduled = of(PostState::Scheduled);
    scheduled.sort_by_key(|p| p.scheduled_at);
    let pending = store
        .followers(actor.id, FollowState::Pending, 50, 0)
        .await?;
    let follower_count = store
        .count_followers(actor.id, FollowState::Accepted)
        .await?;
    // Followers are listed oldest first; the newest are the last page.
    let mut newest = store
        .followers(
            actor.id,
            FollowState::Accepted,
            FOLLOWERS_SHOWN,
            (follower_count - FOLLOWERS_SHOWN).max(0),
        )
        .await?;
    newest.reverse();
    let rows = |list: Vec<&Post>| list.into_iter().map(Row::new).collect::<Vec<_>>();
    Ok(AccountBoard {
        username: actor.username.to_string(),
        name: actor.name.clone(),
        drafts: rows(of(PostState::Draft)),
        review: rows(of(PostState::Review)),
        scheduled: rows(scheduled),
        published: rows(published.into_iter().take(PUBLISHED_SHOWN).collect()),
        pending: pending.iter().map(follower_row).collect(),
        followers: newest.iter().map(follower_row).collect(),
        follower_count,
        may_publish: user.may(Action::Publish, actor.id),
        may_manage_followers: user.may(Action::ManageFollowers, actor.id),
        may_edit_profile: user.may(Action::EditProfile, actor.id),
    })
}

pub async fn dashboard(
    editor: Editor,
    Query(query): Query<DashboardQuery>,
) -> EditorResult<Html<String>> {
    let actors = editor.data.store.list_actors().await?;
    let posts = editorial::posts(&editor.data, &editor.user, None).await?;
    let mut boards = Vec::new();
    for actor in actors
        .iter()
        .filter(|a| editor.user.may(Action::View, a.id))
    {
        boards.push(board(&editor, actor, &posts).await?);
    }
    let held = editorial::network::held(&editor.data, &editor.user)
        .await?
        .into_iter()
        .map(HeldRow::of)
        .collect();
    let page = DashboardPage {
        frame: Some(Frame::new(&editor.user, &editor.csrf, &actors)),
        notice: notice(query.done.as_deref()),
        held,
        boards,
    };
    Ok(Html(page.render()?))
}

/// `POST /editor/replies/{id}/approve`: shows a held reply under its post.
pub async fn approve_reply(
    Path(id): Path<i64>,
    EditorForm { editor, .. }: EditorForm<serde::de::IgnoredAny>,
) -> EditorResult<Response> {
    editorial::network::approve_reply(&editor.data, &editor.user, id).await?;
    changed(&editor.data);
    Ok(see_other("/editor?done=approved"))
}
