//! `/editor/accounts/{username}/followers`: approve or reject follow requests, and remove
//! followers. Each queues an `Accept` or `Reject` in the same transaction as the change
//! ([`crate::federation::activities::accept::approve_pending`], [`reject_follower`]).

use askama::Template;
use axum::{
    extract::{Path, Query},
    response::{Html, Response},
};
use serde::Deserialize;
use url::Url;

use super::{
    EditorError, EditorResult, Frame, changed,
    forms::{Editor, EditorForm},
    require, see_other,
};
use crate::{
    domain::{Action, FollowState, Follower, LocalActor},
    federation::activities::{accept::approve_pending, reject::reject_follower},
    web::view::Stamp,
};

/// Followers listed per state; an account with more is managed from the command line.
const LISTED: i64 = 500;

pub struct Row {
    pub ap_id: String,
    pub handle: String,
    pub name: Option<String>,
    pub url: String,
    pub since: Stamp,
}

impl Row {
    fn of(follower: &Follower) -> Self {
        Self {
            ap_id: follower.remote.ap_id.to_string(),
            handle: follower.remote.handle().to_string(),
            name: follower.remote.name.clone(),
            url: follower
                .remote
                .url
                .as_ref()
                .unwrap_or(&follower.remote.ap_id)
                .to_string(),
            since: Stamp::new(follower.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "editor/followers.html")]
struct FollowersPage {
    frame: Option<Frame>,
    username: String,
    name: String,
    notice: Option<&'static str>,
    pending: Vec<Row>,
    accepted: Vec<Row>,
    total: i64,
}

async fn account(editor: &Editor, username: &str) -> EditorResult<LocalActor> {
    let actor = editor
        .data
        .store
        .actor_by_username(username)
        .await?
        .filter(|a| editor.user.may(Action::View, a.id))
        .ok_or(EditorError::NotFound)?;
    require(
        &editor.user,
        Action::ManageFollowers,
        &actor,
        "your role may not manage this account's followers",
    )?;
    Ok(actor)
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn page(
    editor: Editor,
    Path(username): Path<String>,
    Query(query): Query<DoneQuery>,
) -> EditorResult<Html<String>> {
    let actor = account(&editor, &username).await?;
    let store = &editor.data.store;
    let pending = store
        .followers(actor.id, FollowState::Pending, LISTED, 0)
        .await?;
    let accepted = store
        .followers(actor.id, FollowState::Accepted, LISTED, 0)
        .await?;
    let actors = store.list_actors().await?;
    let page = FollowersPage {
        frame: Some(Frame::new(&editor.user, &editor.csrf, &actors)),
        username: actor.username.to_string(),
        name: actor.name.clone(),
        notice: match query.done.as_deref() {
            Some("approve") => Some("Approved: the follower's server is sent an Accept."),
            Some("reject") => Some("Declined: the requester's server is sent a Reject."),
            Some("remove") => Some("Removed: the former follower's server is sent a Reject."),
            _ => None,
        },
        pending: pending.iter().map(Row::of).collect(),
        accepted: accepted.iter().map(Row::of).collect(),
        total: store
            .count_followers(actor.id, FollowState::Accepted)
            .await?,
    };
    Ok(Html(page.render()?))
}

#[derive(Debug, Deserialize)]
pub struct FollowerForm {
    /// approve, reject or remove.
    action: String,
    /// The follower's actor id.
    follower: String,
}

pub async fn act(
    Path(username): Path<String>,
    EditorForm { editor, form, .. }: EditorForm<FollowerForm>,
) -> EditorResult<Response> {
    let actor = account(&editor, &username).await?;
    let data = &editor.data;
    let id = Url::parse(&form.follower).map_err(|_| EditorError::NotFound)?;
    let follower = data
        .store
        .follower(actor.id, &id)
        .await?
        .ok_or(EditorError::NotFound)?;
    let base = &data.config.base_url;
    match (form.action.as_str(), follower.state) {
        ("approve", FollowState::Pending) => {
            approve_pending(&data.store, base, &actor, &follower).await?;
        }
        ("reject", FollowState::Pending) | ("remove", FollowState::Accepted) => {
            reject_follower(&data.store, base, &actor, &follower).await?;
        }
        _ => {
            return Err(EditorError::BadRequest(format!(
                "{} is {} already",
                follower.remote.handle(),
                follower.state.as_str()
            )));
        }
    }
    changed(data);
    data.store
        .audit(
            Some(editor.user.id),
            &format!("follower.{}", form.action),
            actor.username.as_str(),
            &follower.remote.handle().to_string(),
        )
        .await?;
    Ok(see_other(&format!(
        "/editor/accounts/{}/followers?done={}",
        actor.username, form.action
    )))
}
