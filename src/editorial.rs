//! The editors' use cases, as the web editor and the API offer them: every call checks the
//! user's permission for the account ([`User::may`]), resolves mentions, renders, publishes
//! through [`crate::federation::publish`], and writes the audit log. The HTTP layers only
//! translate requests and errors.
//!
//! The use cases for allied organizations (following, boosting, replies) are in [`network`],
//! the admins' (blocks and reports) in [`moderation`], a post's other language versions in
//! [`translations`].

pub mod moderation;
pub mod network;
pub mod translations;

use chrono::{DateTime, Utc};

use crate::{
    domain::{
        Action, Cosigner, Language, LocalActor, Post, PostDraft, PostKind, PostState, User,
        post::InvalidPost, render,
    },
    federation::{
        FederationData,
        cosign::{self, CosignError},
        publish::{self, Intent, PublishError},
        webfinger,
    },
    store::{StoreError, posts::NewMedia},
};

#[derive(Debug, thiserror::Error)]
pub enum EditorialError {
    /// The user may not do this (403); the sentence says what is missing.
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    /// The input is not acceptable (422); the sentence says why.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<InvalidPost> for EditorialError {
    fn from(err: InvalidPost) -> Self {
        Self::Invalid(err.to_string())
    }
}

impl From<CosignError> for EditorialError {
    fn from(err: CosignError) -> Self {
        match err {
            CosignError::Store(err) => Self::Store(err),
            other => Self::Invalid(other.to_string()),
        }
    }
}

impl From<PublishError> for EditorialError {
    fn from(err: PublishError) -> Self {
        match err {
            PublishError::Store(err) => Self::Store(err),
            other => Self::Invalid(other.to_string()),
        }
    }
}

pub type EditorialResult<T> = Result<T, EditorialError>;

/// A new post as an editor or a tool submits it.
#[derive(Debug, Clone)]
pub struct Compose {
    pub actor: String,
    pub kind: String,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub lang: Option<String>,
    pub body: String,
    pub intent: Intent,
    pub media: Vec<NewMedia>,
    /// Other accounts that co-sign it (a joint statement): local usernames, remote handles
    /// or actor URLs. Naming a local account needs the right to publish for it.
    pub cosign: Vec<String>,
}

/// Changes to an existing post; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub lang: Option<String>,
    pub body: Option<String>,
    /// Move it: back to draft, into review, scheduled, or published now.
    pub intent: Option<Intent>,
    pub pinned: Option<bool>,
}

fn require(
    user: &User,
    action: Action,
    actor: &LocalActor,
    why: &'static str,
) -> EditorialResult<()> {
    if user.may(action, actor.id) {
        Ok(())
    } else {
        Err(EditorialError::Forbidden(why))
    }
}

/// What a state change needs: moving to review or draft is writing; publishing is not.
fn action_for(intent: Intent) -> (Action, &'static str) {
    match intent {
        Intent::Draft | Intent::Review => (
            Action::WriteDraft,
            "your role may not write for this account",
        ),
        Intent::Publish | Intent::Schedule(_) => (
            Action::Publish,
            "your role may not publish: submit it for review",
        ),
    }
}

fn parse_language(lang: Option<&str>) -> EditorialResult<Language> {
    Language::parse(lang.unwrap_or("en")).map_err(|e| EditorialError::Invalid(e.to_string()))
}

/// Renders a draft, resolving the accounts it mentions (unresolvable ones stay text).
async fn rendered(data: &FederationData, draft: &PostDraft) -> crate::store::posts::RenderedPost {
    let handles = render::mentioned_handles(&draft.body_md);
    let (mentions, failed) = webfinger::resolve_mentions(data, &handles).await;
    for (handle, reason) in failed {
        tracing::info!(%handle, %reason, "mention not resolved; left as text");
    }
    publish::render(draft, &data.config.base_url, mentions)
}

/// A post and its account, if the user works for that account.
pub async fn post_for(
    data: &FederationData,
    user: &User,
    id: i64,
) -> EditorialResult<(LocalActor, Post)> {
    let post = data
        .store
        .post_by_id(id)
        .await?
        .ok_or(EditorialError::NotFound)?;
    if !user.may(Action::View, post.actor_id) {
        return Err(EditorialError::NotFound);
    }
    let actor = data
        .store
        .actor_by_id(post.actor_id)
        .await?
        .ok_or(EditorialError::NotFound)?;
    Ok((actor, post))
}

/// Writes a new post: a draft, for review, scheduled, or published now.
pub async fn compose(
    data: &FederationData,
    user: &User,
    input: Compose,
) -> EditorialResult<(LocalActor, Post)> {
    let actor = data
        .store
        .actor_by_username(&input.actor)
        .await?
        .filter(|actor| user.may(Action::View, actor.id))
        .ok_or_else(|| {
            EditorialError::Invalid(format!(
                "there is no account `{}` you work for",
                input.actor
            ))
        })?;
    let (action, why) = action_for(input.intent);
    require(user, action, &actor, why)?;
    let kind = PostKind::parse(&input.kind).ok_or_else(|| {
        EditorialError::Invalid(format!(
            "`{}` is not a kind of post: use statement or news",
            input.kind
        ))
    })?;
    if let Intent::Schedule(at) = input.intent {
        future(at)?;
    }
    let draft = PostDraft::new(
        kind,
        input.title,
        input.summary,
        input.body,
        parse_language(input.lang.as_deref())?,
    )?;
    let cosigners = cosign::resolve(data, &actor, &input.cosign).await?;
    may_cosign(user, &cosigners)?;
    let rendered = rendered(data, &draft).await;
    let base = &data.config.base_url;
    let post = publish::create_joint(
        &data.store,
        base,
        &actor,
        Some(user.id),
        &draft,
        &rendered,
        &input.media,
        input.intent,
        &cosigners,
    )
    .await?;
    audit(
        data,
        user,
        &format!("post.{}", post.state.as_str()),
        &actor,
        &post,
    )
    .await?;
    Ok((actor, post))
}

/// A local account co-signs only with the consent of someone who may publish for it: naming
/// it needs that right (admins have it for every account). Remote co-signers consent on
/// their own server, by boosting the post or not.
fn may_cosign(user: &User, cosigners: &[Cosigner]) -> EditorialResult<()> {
    for cosigner in cosigners {
        if let Some(id) = cosigner.local_id()
            && !user.may(Action::Publish, id)
        {
            return Err(EditorialError::Forbidden(
                "you may name as co-signer only accounts you may publish for",
            ));
        }
    }
    Ok(())
}

fn future(at: DateTime<Utc>) -> EditorialResult<()> {
    if at <= Utc::now() {
        return Err(EditorialError::Invalid(
            "the scheduled time has passed; publish now instead".into(),
        ));
    }
    Ok(())
}

/// Changes a post's text, its state (review, schedule, publish) and whether it is pinned.
pub async fn change(
    data: &FederationData,
    user: &User,
    id: i64,
    change: Change,
) -> EditorialResult<(LocalActor, Post)> {
    let (actor, mut post) = post_for(data, user, id).await?;
    let base = &data.config.base_url;
    let store = &data.store;
    if post.state == PostState::Deleted {
        return Err(EditorialError::Invalid(
            "a retracted post cannot be changed".into(),
        ));
    }
    let edits_text = change.title.is_some()
        || change.summary.is_some()
        || change.lang.is_some()
        || change.body.is_some();
    if edits_text {
        may_edit_text(user, &actor, &post)?;
        let draft = PostDraft::new(
            post.kind,
            change.title.or_else(|| post.title.clone()),
            change.summary.or_else(|| post.summary.clone()),
            change.body.unwrap_or_else(|| post.body_md.clone()),
            match change.lang {
                Some(lang) => parse_language(Some(&lang))?,
                None => post.language.clone(),
            },
        )?;
        let rendered = rendered(data, &draft).await;
        post = publish::edit_post(store, base, &actor, &post, &draft, &rendered).await?;
        audit(data, user, "post.edit", &actor, &post).await?;
    }
    if let Some(intent) = change.intent {
        let (action, why) = action_for(intent);
        require(user, action, &actor, why)?;
        post = match intent {
            Intent::Publish => publish::publish_draft(store, base, &actor, &post).await?,
            Intent::Schedule(at) => {
                future(at)?;
                publish::set_unpublished(store, &post, intent).await?
            }
            Intent::Draft | Intent::Review => {
                publish::set_unpublished(store, &post, intent).await?
            }
        };
        audit(
            data,
            user,
            &format!("post.{}", post.state.as_str()),
            &actor,
            &post,
        )
        .await?;
    }
    if let Some(pinned) = change.pinned {
        require(user, Action::Pin, &actor, "your role may not pin posts")?;
        post = publish::set_pinned(store, base, &actor, &post, pinned).await?;
        let action = if pinned { "post.pin" } else { "post.unpin" };
        audit(data, user, action, &actor, &post).await?;
    }
    Ok((actor, post))
}

/// Whether `user` may change the text of `post` (or its language versions): an unpublished
/// post by whoever may write for the account (authors only their own), a published one only
/// by those who may publish.
fn may_edit_text(user: &User, actor: &LocalActor, post: &Post) -> EditorialResult<()> {
    if post.state.is_unpublished() {
        require(
            user,
            Action::WriteDraft,
            actor,
            "your role may not write for this account",
        )?;
        if !user.may(Action::Publish, actor.id) && post.author_id != Some(user.id) {
            return Err(EditorialError::Forbidden(
                "authors may change only their own drafts",
            ));
        }
        Ok(())
    } else {
        require(
            user,
            Action::Publish,
            actor,
            "your role may not correct published posts",
        )
    }
}

/// Retracts a post (a published one sends Delete; an unpublished one is simply dropped).
pub async fn retract(
    data: &FederationData,
    user: &User,
    id: i64,
) -> EditorialResult<(LocalActor, Post)> {
    let (actor, post) = post_for(data, user, id).await?;
    let own_draft = post.state.is_unpublished()
        && post.author_id == Some(user.id)
        && user.may(Action::WriteDraft, actor.id);
    if !own_draft {
        require(
            user,
            Action::Delete,
            &actor,
            "your role may not retract posts",
        )?;
    }
    let post = publish::delete_post(&data.store, &data.config.base_url, &actor, &post).await?;
    audit(data, user, "post.delete", &actor, &post).await?;
    Ok((actor, post))
}

/// The posts of the accounts the user works for, newest first, optionally one account's.
pub async fn posts(
    data: &FederationData,
    user: &User,
    actor: Option<&str>,
) -> EditorialResult<Vec<(LocalActor, Post)>> {
    let actors: Vec<LocalActor> = data
        .store
        .list_actors()
        .await?
        .into_iter()
        .filter(|a| user.may(Action::View, a.id))
        .filter(|a| actor.is_none_or(|name| a.username.as_str() == name))
        .collect();
    let mut posts = Vec::new();
    for account in actors {
        for post in data.store.all_posts(Some(account.id)).await? {
            posts.push((account.clone(), post));
        }
    }
    posts.sort_by_key(|(_, post)| std::cmp::Reverse(post.updated_at));
    Ok(posts)
}

/// Records who did what to which post (other processes notice the change by the site version).
async fn audit(
    data: &FederationData,
    user: &User,
    action: &str,
    actor: &LocalActor,
    post: &Post,
) -> EditorialResult<()> {
    let subject = format!("{}/posts/{}", actor.username, post.id);
    record(data, user, action, &subject, &headline(post)).await
}

/// Writes one line of the audit log: who did `action` to `subject`, with a detail for people.
/// Every change ends here, so this is where this process's cached public pages are dropped.
async fn record(
    data: &FederationData,
    user: &User,
    action: &str,
    subject: &str,
    detail: &str,
) -> EditorialResult<()> {
    data.invalidate_public_cache();
    data.store
        .audit(Some(user.id), action, subject, detail)
        .await?;
    Ok(())
}

fn headline(post: &Post) -> String {
    post.title
        .clone()
        .unwrap_or_else(|| render::excerpt(&post.body_md, 60))
}
