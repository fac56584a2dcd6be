//! Publishing a post's other language versions: adding, replacing or removing one changes the
//! post, and a published post's followers receive an `Update` carrying every version (through
//! the durable delivery queue, in the same transaction, like a correction).

use url::Url;

use super::publish::{self, PublishError, queue_update, reload};
use crate::{
    domain::{Language, LocalActor, Post, PostDraft, PostState},
    store::{Store, posts::RenderedPost},
};

/// Renders a translation like the post's own text, linking the accounts the post mentions
/// (they were resolved when it was written; a translation names the same people).
pub fn render(post: &Post, draft: &PostDraft, base: &Url) -> RenderedPost {
    publish::render(draft, base, post.mentions.clone())
}

/// Adds the version of `post` in `draft.language`, or replaces the one there is.
pub async fn put_translation(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    post: &Post,
    draft: &PostDraft,
) -> Result<Post, PublishError> {
    if post.state == PostState::Deleted {
        return Err(PublishError::Retracted);
    }
    let rendered = render(post, draft, base);
    let mut tx = store.begin().await?;
    tx.put_translation(post, draft, &rendered).await?;
    let translated = reload(&mut tx, post.id).await?;
    if translated.state == PostState::Published {
        queue_update(&mut tx, base, actor, post, &translated).await?;
    }
    tx.commit().await?;
    Ok(translated)
}

/// Removes the version of `post` in `language`; None if it had none.
pub async fn remove_translation(
    store: &Store,
    base: &Url,
    actor: &LocalActor,
    post: &Post,
    language: &Language,
) -> Result<Option<Post>, PublishError> {
    if post.state == PostState::Deleted {
        return Err(PublishError::Retracted);
    }
    let mut tx = store.begin().await?;
    if !tx.delete_translation(post, language).await? {
        return Ok(None);
    }
    let changed = reload(&mut tx, post.id).await?;
    if changed.state == PostState::Published {
        queue_update(&mut tx, base, actor, post, &changed).await?;
    }
    tx.commit().await?;
    Ok(Some(changed))
}
