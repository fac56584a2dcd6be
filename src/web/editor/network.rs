//! `/editor/accounts/{username}/network`: the account's allies. The posts received from the
//! accounts it follows (paged, each with Boost or Undo boost), the form to follow an account
//! by handle or URL, the accounts followed (pending or accepted) with their automatic boost
//! rule and Unfollow, and whether the public allies page is shown. The forms call
//! [`crate::editorial::network`], which checks permissions and writes the audit log.

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
    see_other,
};
use crate::{
    domain::{Action, FollowState, LocalActor},
    editorial::network::{self, describe_rule, parse_rule},
    federation::urls,
    store::{boosts::BoostRule, followers::FollowedAccount, remote_posts::AllyPost},
    web::view::Stamp,
};

/// Posts per page.
const PAGE_SIZE: i64 = 20;
/// Followed accounts listed; more are managed from the command line.
const FOLLOWING_LISTED: i64 = 500;

pub struct PostRow {
    pub ap_id: String,
    /// Where people read it: its `url`, or its id.
    pub link: String,
    pub author: String,
    pub author_link: String,
    pub title: Option<String>,
    /// Sanitized HTML, as stored.
    pub content: String,
    pub published: Stamp,
    pub edited: bool,
    pub reply: bool,
    pub public: bool,
    pub boosted: bool,
    /// The followed account that shared it, when one did.
    pub shared_by: Option<String>,
}

impl PostRow {
    fn of(item: &AllyPost) -> Self {
        let post = &item.post;
        Self {
            ap_id: post.ap_id.to_string(),
            link: post.url.as_ref().unwrap_or(&post.ap_id).to_string(),
            author: item
                .author
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| item.author.handle().to_string()),
            author_link: item
                .author
                .url
                .as_ref()
                .unwrap_or(&item.author.ap_id)
                .to_string(),
            title: post.name.clone(),
            content: post.content.clone(),
            published: Stamp::new(post.published_at),
            edited: post.edited_at.is_some(),
            reply: post.in_reply_to.is_some(),
            public: item.public,
            boosted: item.boosted,
            shared_by: item.shared_by.as_ref().map(Url::to_string),
        }
    }
}

pub struct FollowRow {
    pub ap_id: String,
    pub handle: String,
    pub name: Option<String>,
    pub link: String,
    pub accepted: bool,
    pub since: Stamp,
    /// `all`, `tags` or `none`, for the form.
    pub mode: &'static str,
    /// The rule's hashtags, as the form shows them.
    pub tags: String,
    pub rule: String,
}

impl FollowRow {
    fn of(account: &FollowedAccount) -> Self {
        let (mode, tags) = match &account.rule {
            None => ("none", String::new()),
            Some(BoostRule::All) => ("all", String::new()),
            Some(BoostRule::Tags(tags)) => ("tags", tags.join(" ")),
        };
        Self {
            ap_id: account.remote.ap_id.to_string(),
            handle: account.remote.handle().to_string(),
            name: account.remote.name.clone(),
            link: account
                .remote
                .url
                .as_ref()
                .unwrap_or(&account.remote.ap_id)
                .to_string(),
            accepted: account.state == FollowState::Accepted,
            since: Stamp::new(account.since),
            mode,
            tags,
            rule: describe_rule(account.rule.as_ref()),
        }
    }
}

#[derive(Template)]
#[template(path = "editor/network.html")]
struct NetworkPage {
    frame: Option<Frame>,
    username: String,
    name: String,
    notice: Option<&'static str>,
    may_follow: bool,
    may_boost: bool,
    allies_page: bool,
    allies_url: String,
    following: Vec<FollowRow>,
    posts: Vec<PostRow>,
    page: i64,
    newer: Option<String>,
    older: Option<String>,
}

/// The account `username`, if the user works for it (anyone who does may read this page).
async fn account(editor: &Editor, username: &str) -> EditorResult<LocalActor> {
    editor
        .data
        .store
        .actor_by_username(username)
        .await?
        .filter(|a| editor.user.may(Action::View, a.id))
        .ok_or(EditorError::NotFound)
}

#[derive(Debug, Default, Deserialize)]
pub struct NetworkQuery {
    page: Option<i64>,
    done: Option<String>,
}

/// The sentence for a `?done=` after a redirect; unknown values say nothing.
fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "follow" => "Follow sent. The account shows as accepted once its server agrees.",
        "unfollow" => "Unfollowed: its server is told, and its posts are no longer kept.",
        "rule" => "The boost rule is saved; it applies to posts received from now on.",
        "boost" => "Boosted: the post is sent to this account's followers.",
        "unboost" => "Boost undone: followers' servers are told.",
        "unchanged" => "Nothing changed.",
        "shown" => "The allies page is public now, and linked from the account's page.",
        "hidden" => "The allies page is hidden.",
        _ => return None,
    })
}

pub async fn page(
    editor: Editor,
    Path(username): Path<String>,
    Query(query): Query<NetworkQuery>,
) -> EditorResult<Html<String>> {
    let actor = account(&editor, &username).await?;
    let store = &editor.data.store;
    let page = query.page.unwrap_or(1).max(1);
    let mut posts = store
        .ally_posts(actor.id, false, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
        .await?;
    let has_next = posts.len() > usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    posts.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    let following = store
        .followed_accounts(actor.id, false, FOLLOWING_LISTED)
        .await?;
    let here = format!("/editor/accounts/{}/network", actor.username);
    let actors = store.list_actors().await?;
    let user = &editor.user;
    let page = NetworkPage {
        frame: Some(Frame::new(user, &editor.csrf, &actors)),
        notice: notice(query.done.as_deref()),
        may_follow: user.may(Action::Follow, actor.id),
        may_boost: user.may(Action::Boost, actor.id),
        allies_page: store.allies_page_shown(actor.id).await?,
        allies_url: urls::allies(&editor.data.config.base_url, actor.username.as_str()).into(),
        following: following.iter().map(FollowRow::of).collect(),
        posts: posts.iter().map(PostRow::of).collect(),
        newer: (page > 1).then(|| format!("{here}?page={}", page - 1)),
        older: has_next.then(|| format!("{here}?page={}", page + 1)),
        page,
        username: actor.username.to_string(),
        name: actor.name.clone(),
    };
    Ok(Html(page.render()?))
}

fn done(actor: &LocalActor, what: &str) -> Response {
    see_other(&format!(
        "/editor/accounts/{}/network?done={what}",
        actor.username
    ))
}

fn url_field(value: &str) -> EditorResult<Url> {
    Url::parse(value.trim()).map_err(|_| EditorError::NotFound)
}

#[derive(Debug, Deserialize)]
pub struct FollowForm {
    /// `@name@host` or an actor URL.
    target: String,
}

pub async fn follow(
    Path(username): Path<String>,
    EditorForm { editor, form, .. }: EditorForm<FollowForm>,
) -> EditorResult<Response> {
    let actor = account(&editor, &username).await?;
    network::follow(&editor.data, &editor.user, &actor, &form.target).await?;
    changed(&editor.data);
    Ok(done(&actor, "follow"))
}

#[derive(Debug, Deserialize)]
pub struct AllyForm {
    /// The followed account's actor id.
    ally: String,
}

pub async fn unfollow(
    Path(username): Path<String>,
    EditorForm { editor, form, .. }: EditorForm<AllyForm>,
) -> EditorResult<Response> {
    let actor = account(&editor, &username).await?;
    let ally = url_field(&form.ally)?;
    network::unfollow(&editor.data, &editor.user, &actor, &ally).await?;
    changed(&editor.data);
    Ok(done(&actor, "unfollow"))
}

#[derive(Debug, Deserialize)]
pub struct RuleForm {
    ally: String,
    /// `all`, `tags` or `none`.
    mode: String,
    #[serde(default)]
    tags: String,
}

pub async fn rule(
    Path(username): Path<String>,
    EditorForm { editor, form, .. }: EditorForm<RuleForm>,
) -> EditorResult<Response> {
    let actor = account(&editor, &username).await?;
    let ally = url_field(&form.ally)?;
    let rule = parse_rule(&form.mode, &form.tags)?;
    network::set_boost_rule(&editor.data, &editor.user, &actor, &ally, rule).await?;
    Ok(done(&actor, "rule"))
}

#[derive(Debug, Deserialize)]
pub struct BoostForm {
    /// The post's id.
    post: String,
    /// `boost` or `unboost`.
    action: String,
}

pub async fn boost(
    Path(username): Path<String>,
    EditorForm { editor, form, .. }: EditorForm<BoostForm>,
) -> EditorResult<Response> {
    let actor = account(&editor, &username).await?;
    let post = url_field(&form.post)?;
    let undo = match form.action.as_str() {
        "boost" => false,
        "unboost" => true,
        other => {
            return Err(EditorError::BadRequest(format!(
                "`{other}` is not an action"
            )));
        }
    };
    let did = network::boost(&editor.data, &editor.user, &actor, &post, undo).await?;
    changed(&editor.data);
    Ok(done(
        &actor,
        if did {
            form.action.as_str()
        } else {
            "unchanged"
        },
    ))
}

#[derive(Debug, Deserialize)]
pub struct AlliesPageForm {
    /// `on` or `off`.
    show: String,
}

pub async fn allies_page(
    Path(username): Path<String>,
    EditorForm { editor, form, .. }: EditorForm<AlliesPageForm>,
) -> EditorResult<Response> {
    let actor = account(&editor, &username).await?;
    let shown = form.show == "on";
    network::set_allies_page(&editor.data, &editor.user, &actor, shown).await?;
    changed(&editor.data);
    Ok(done(&actor, if shown { "shown" } else { "hidden" }))
}
