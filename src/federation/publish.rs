//! Publishing use cases: each writes its change to a post and the activities it causes in one
//! transaction (the transactional outbox); the delivery workers send them later. Nothing here
//! touches the network: mentions are resolved by the caller first ([`super::webfinger`]).

use url::Url;

use super::{
    activities::{add, create, delete, update},
    cosign,
    delivery::{self, Outgoing},
};
use crate::{
    domain::{Cosigner, LocalActor, Mention, Post, PostDraft, PostState, render},
    store::{
        Store, StoreError, Tx,
        posts::{NewMedia, RenderedPost},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("only a draft can be published; this post is {0}")]
    NotADraft(&'static str),
    #[error("a retracted post cannot be changed")]
    Retracted,
    #[error("only a published post can be pinned")]
    NotPublished,
    /// The account moved away (`broadside actor move`); it publishes nothing more.
    #[error("this account has moved to {0} and publishes nothing more")]
    Moved(Url),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Longest excerpt, in characters: about what Mastodon shows of a summary before "more".
pub const EXCERPT_CHARS: usize = 280;

/// Renders a draft's body with the mentions the caller resolved.
pub fn render(draft: &PostDraft, base: &Url, mentions: Vec<Mention>) -> RenderedPost {
    let rendered = render::render_post(&draft.body_md, base, &mentions);
    // Only mentions that appear in the text are kept (and notified).
    let mentions = mentions
        .into_iter()
        .filter(|m| rendered.html.contains(m.href.as_str()))
        .collect();
    RenderedPost {
        body_html: rendered.html,
        excerpt: render::excerpt(&draft.body_md, EXCERPT_CHARS),
        tags: rendered.tags,
        mentions,
    }
}

/// Where a post's activities go: every follower's server once, each mentioned account and
/// each remote co-signer.
async fn recipients(tx: &mut Tx, actor: &LocalActor, post: &Post) -> Result<Vec<Url>, StoreError> {
    let mut inboxes = tx.follower_inboxes(actor.id).await?;
    inboxes.extend(post.mentions.iter().map(|m| m.inbox.clone()));
    inboxes.extend(cosign::remote_inboxes(post));
    Ok(inboxes)
}

pub(crate) async fn reload(tx: &mut Tx, id: i64) -> Result<Post, PublishError> {
    Ok(tx.post_by_id(id).await?.ok_or(StoreError::NotFound)?)
}

/// What becomes of a new post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Draft,
    /// An author submits it for an editor's review.
    Review,
    /// Published when the time comes, by the worker.
    Schedule(chrono::DateTime<chrono::Utc>),
    Publish,
}

/// Saves a new post; when it is published at once its `Create` is queued for every follower's
/// server in the same transaction.
#[allow(clippy::too_many_arguments)] // each is a distinct input of the use case
pub async fn create(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    author: Option<i64>,
    draft: &PostDraft,
    rendered: &RenderedPost,
    media: &[NewMedia],
    intent: Intent,
) -> Result<Post, PublishError> {
    create_joint(
        store,
        base,
        actor,
        author,
        draft,
        rendered,
        media,
        intent,
        &[],
    )
    .await
}

/// [`create`] for a joint statement: `cosigners` (resolved by [`cosign::resolve`]) are saved
/// with the post, listed after `actor` in its `attributedTo`, and when it is published the
/// local ones Announce it to their followers.
#[allow(clippy::too_many_arguments)] // each is a distinct input of the use case
pub async fn create_joint(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    author: Option<i64>,
    draft: &PostDraft,
    rendered: &RenderedPost,
    media: &[NewMedia],
    intent: Intent,
    cosigners: &[Cosigner],
) -> Result<Post, PublishError> {
    if matches!(intent, Intent::Publish | Intent::Schedule(_)) {
        refuse_if_moved(actor)?;
    }
    let state = match intent {
        Intent::Draft => PostState::Draft,
        Intent::Review => PostState::Review,
        Intent::Schedule(_) => PostState::Scheduled,
        Intent::Publish => PostState::Published,
    };
    let mut tx = store.begin().await?;
    let id = tx
        .insert_post(actor.id, author, draft, rendered, state, media)
        .await?;
    if let Intent::Schedule(at) = intent {
        tx.set_unpublished_state(id, PostState::Scheduled, Some(at.timestamp_millis()))
            .await?;
    }
    if !cosigners.is_empty() {
        let references: Vec<_> = cosigners.iter().map(Cosigner::reference).collect();
        tx.set_cosigners(id, &references).await?;
    }
    let post = reload(&mut tx, id).await?;
    if intent == Intent::Publish {
        queue_create(&mut tx, store, base, actor, &post).await?;
    }
    tx.commit().await?;
    Ok(post)
}

/// Saves a new post as a draft, or publishes it at once (the command line's choice).
pub async fn create_post(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    draft: &PostDraft,
    rendered: &RenderedPost,
    media: &[NewMedia],
    publish: bool,
) -> Result<Post, PublishError> {
    let intent = if publish {
        Intent::Publish
    } else {
        Intent::Draft
    };
    create(store, base, actor, None, draft, rendered, media, intent).await
}

/// Publishes an unpublished post (draft, in review or scheduled) now.
pub async fn publish_draft(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    post: &Post,
) -> Result<Post, PublishError> {
    if !post.state.is_unpublished() {
        return Err(PublishError::NotADraft(post.state.as_str()));
    }
    refuse_if_moved(actor)?;
    let mut tx = store.begin().await?;
    tx.publish_post(post.id).await?;
    let post = reload(&mut tx, post.id).await?;
    queue_create(&mut tx, store, base, actor, &post).await?;
    tx.commit().await?;
    Ok(post)
}

/// A moved account publishes nothing more (and schedules nothing).
fn refuse_if_moved(actor: &LocalActor) -> Result<(), PublishError> {
    match &actor.moved_to {
        Some(target) => Err(PublishError::Moved(target.clone())),
        None => Ok(()),
    }
}

/// Moves an unpublished post to draft, review, or scheduled at a time.
pub async fn set_unpublished(
    store: &Store,
    post: &Post,
    intent: Intent,
) -> Result<Post, PublishError> {
    if !post.state.is_unpublished() {
        return Err(PublishError::NotADraft(post.state.as_str()));
    }
    let (state, at) = match intent {
        Intent::Draft => (PostState::Draft, None),
        Intent::Review => (PostState::Review, None),
        Intent::Schedule(at) => (PostState::Scheduled, Some(at.timestamp_millis())),
        Intent::Publish => return Err(PublishError::NotADraft("to be published here")),
    };
    let mut tx = store.begin().await?;
    tx.set_unpublished_state(post.id, state, at).await?;
    let post = reload(&mut tx, post.id).await?;
    tx.commit().await?;
    Ok(post)
}

/// Publishes every scheduled post whose time has come; returns how many. Run by the worker,
/// so a post scheduled while the server was down goes out as soon as it is back.
pub async fn publish_due(store: &Store, base: &Url) -> Result<usize, PublishError> {
    let due = store
        .due_scheduled_posts(crate::store::now_millis(), 50)
        .await?;
    let mut published = 0;
    for post in due {
        let Some(actor) = store.actor_by_id(post.actor_id).await? else {
            continue;
        };
        if actor.moved_to.is_some() {
            // Scheduled after the account moved (moving unschedules the rest): a draft again.
            set_unpublished(store, &post, Intent::Draft).await?;
            tracing::info!(post = post.id, account = %actor.username, "account moved; scheduled post is a draft again");
            continue;
        }
        publish_draft(store, base, &actor, &post).await?;
        tracing::info!(post = post.id, account = %actor.username, "scheduled post published");
        published += 1;
    }
    Ok(published)
}

/// Queues a published post's `Create` for every follower's server (and the groups that relay
/// the account), in the caller's transaction. Imports use it for the posts they announce.
pub(crate) async fn queue_create(
    tx: &mut Tx,
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    post: &Post,
) -> Result<(), StoreError> {
    let activity = create::create_post(post, actor, base);
    let inboxes = recipients(tx, actor, post).await?;
    let outgoing = Outgoing {
        ap_id: &activity.id,
        kind: "Create",
        signer: Some(actor.id),
        post_id: Some(post.id),
    };
    delivery::enqueue(tx, outgoing, &activity, &inboxes).await?;
    // Co-signers of a joint statement share it with their own followers.
    cosign::queue_announces(tx, store, base, actor, post).await?;
    // Group accounts (the International) relay their members' posts.
    super::boosts::relay_to_groups(tx, store, base, actor, &activity.object.id).await
}

/// Corrects a post. A published post's followers receive an `Update` carrying `updated`.
pub async fn edit_post(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    post: &Post,
    draft: &PostDraft,
    rendered: &RenderedPost,
) -> Result<Post, PublishError> {
    if post.state == PostState::Deleted {
        return Err(PublishError::Retracted);
    }
    let mut tx = store.begin().await?;
    tx.update_post(post, draft, rendered).await?;
    let edited = reload(&mut tx, post.id).await?;
    if edited.state == PostState::Published {
        queue_update(&mut tx, base, actor, post, &edited).await?;
    }
    tx.commit().await?;
    Ok(edited)
}

/// Queues the `Update` of a published post that changed from `before` to `edited` (its text,
/// or one of its language versions), in the caller's transaction.
pub(crate) async fn queue_update(
    tx: &mut Tx,
    base: &Url,
    actor: &LocalActor,
    before: &Post,
    edited: &Post,
) -> Result<(), StoreError> {
    let activity = update::update_post(edited, actor, base);
    // Accounts mentioned before the correction hear of it too, and so do the followers
    // of every co-signer, who saw the post through its Announce.
    let mut inboxes = recipients(tx, actor, edited).await?;
    inboxes.extend(before.mentions.iter().map(|m| m.inbox.clone()));
    inboxes.extend(cosign::local_follower_inboxes(tx, edited).await?);
    let outgoing = Outgoing {
        ap_id: &activity.id,
        kind: "Update",
        signer: Some(actor.id),
        post_id: Some(edited.id),
    };
    delivery::enqueue(tx, outgoing, &activity, &inboxes).await
}

/// Retracts a post: its URL answers 410 Gone from now on and followers receive a `Delete`.
pub async fn delete_post(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    post: &Post,
) -> Result<Post, PublishError> {
    if post.state == PostState::Deleted {
        return Err(PublishError::Retracted);
    }
    let was_published = post.state == PostState::Published;
    let mut tx = store.begin().await?;
    tx.delete_post(post.id).await?;
    let deleted = reload(&mut tx, post.id).await?;
    if was_published {
        // Co-signers take their Announces back; their followers also get the Delete, so
        // servers that fetched the post through an Announce drop their copy.
        cosign::queue_unshares(&mut tx, store, base, actor, post).await?;
        let activity = delete::delete_post(&deleted, actor, base);
        let mut inboxes = recipients(&mut tx, actor, post).await?;
        inboxes.extend(cosign::local_follower_inboxes(&mut tx, post).await?);
        let outgoing = Outgoing {
            ap_id: &activity.id,
            kind: "Delete",
            signer: Some(actor.id),
            post_id: Some(post.id),
        };
        delivery::enqueue(&mut tx, outgoing, &activity, &inboxes).await?;
    }
    tx.commit().await?;
    Ok(deleted)
}

/// Pins (or unpins) a published post to the profile; followers receive `Add` (or `Remove`)
/// for the `featured` collection.
pub async fn set_pinned(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    post: &Post,
    pinned: bool,
) -> Result<Post, PublishError> {
    if post.state != PostState::Published {
        return Err(PublishError::NotPublished);
    }
    let mut tx = store.begin().await?;
    tx.set_pinned(post.id, pinned).await?;
    let post = reload(&mut tx, post.id).await?;
    let activity = add::featured_change(&post, actor, base, pinned, crate::store::now_millis());
    let inboxes = recipients(&mut tx, actor, &post).await?;
    let kind = if pinned { "Add" } else { "Remove" };
    let outgoing = Outgoing {
        ap_id: &activity.id,
        kind,
        signer: Some(actor.id),
        post_id: Some(post.id),
    };
    delivery::enqueue(&mut tx, outgoing, &activity, &inboxes).await?;
    tx.commit().await?;
    Ok(post)
}
