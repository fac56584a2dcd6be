//! `broadside post publish | edit | translate | delete | list | pin | unpin`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use url::Url;

use super::CliResult;
use crate::{
    app::AppState,
    config::Config,
    domain::{
        Language, LocalActor, Post, PostDraft, PostKind, render, translation::translation_draft,
    },
    federation::{FederationData, cosign, publish, translations, urls, webfinger},
    media,
    store::{Store, posts::NewMedia},
};

#[derive(Debug, Subcommand)]
pub enum PostCommand {
    /// Publish a post now (or save it as a draft); prints its ActivityPub id last.
    Publish(PublishArgs),
    /// Correct a post; followers receive an Update.
    Edit(EditArgs),
    /// Add or replace one language version of a post (or --remove it); followers of a
    /// published post receive an Update.
    Translate(TranslateArgs),
    /// Retract a post: its page answers 410 Gone and followers receive a Delete.
    Delete { post: String },
    /// One line per post: id, state, kind, title (or start of the text), URL.
    List {
        #[arg(long)]
        actor: Option<String>,
    },
    /// Pin a post to the account's profile (the featured collection).
    Pin { post: String },
    /// Unpin a post.
    Unpin { post: String },
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[arg(long)]
    actor: String,
    /// statement (an Article with a title) or news (a Note).
    #[arg(long)]
    kind: String,
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    summary: Option<String>,
    /// The language the post is written in.
    #[arg(long, default_value = "en")]
    lang: String,
    #[command(flatten)]
    body: BodyArgs,
    /// An image to attach (repeatable; each needs an --alt, in the same order).
    #[arg(long = "image", value_name = "FILE")]
    images: Vec<PathBuf>,
    /// The image's description for people who cannot see it.
    #[arg(long = "alt", value_name = "TEXT")]
    alts: Vec<String>,
    /// Save as a draft instead of publishing.
    #[arg(long)]
    draft: bool,
    /// Another account that co-signs the statement (repeatable): a username of this
    /// instance, which Announces it to its followers, or `@org@other.example` / an actor URL,
    /// which is mentioned and receives it.
    #[arg(long = "cosign", value_name = "USERNAME")]
    cosign: Vec<String>,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct BodyArgs {
    /// The Markdown text in a file.
    #[arg(long, value_name = "FILE.md")]
    file: Option<PathBuf>,
    /// The Markdown text.
    #[arg(long)]
    body: Option<String>,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    post: String,
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    summary: Option<String>,
    #[arg(long)]
    lang: Option<String>,
    #[arg(long, value_name = "FILE.md", conflicts_with = "body")]
    file: Option<PathBuf>,
    #[arg(long)]
    body: Option<String>,
}

#[derive(Debug, Args)]
pub struct TranslateArgs {
    post: String,
    /// The language of this version (not the post's own).
    #[arg(long)]
    lang: String,
    /// The title in this language: required for statements, optional for news (where it
    /// leads the text, as the post's own title does).
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    summary: Option<String>,
    /// The Markdown text in a file.
    #[arg(long, value_name = "FILE.md", conflicts_with = "body")]
    file: Option<PathBuf>,
    /// The Markdown text.
    #[arg(long, required_unless_present_any = ["file", "remove"])]
    body: Option<String>,
    /// Remove the version in this language instead.
    #[arg(long, conflicts_with_all = ["title", "summary", "file", "body"])]
    remove: bool,
}

fn read_body(file: Option<&PathBuf>, body: Option<String>) -> anyhow::Result<Option<String>> {
    match (file, body) {
        (Some(path), _) => {
            Ok(Some(std::fs::read_to_string(path).with_context(|| {
                format!("cannot read {}", path.display())
            })?))
        }
        (None, body) => Ok(body),
    }
}

pub async fn run(config: Config, command: PostCommand) -> CliResult {
    let state = AppState::prepare(config).await?;
    let data = state.federation_config().await?.to_request_data();
    let store = &state.store;
    let base = &state.config.base_url;
    match command {
        PostCommand::Publish(args) => {
            let actor = actor(store, &args.actor).await?;
            let Some(kind) = PostKind::parse(&args.kind) else {
                bail!(
                    "`{}` is not a kind of post: use statement or news",
                    args.kind
                );
            };
            let body = read_body(args.body.file.as_ref(), args.body.body)?.unwrap_or_default();
            let draft = PostDraft::new(
                kind,
                args.title,
                args.summary,
                body,
                Language::parse(&args.lang)?,
            )?;
            if args.images.len() != args.alts.len() {
                bail!(
                    "give one --alt for each --image (got {} images, {} alt texts)",
                    args.images.len(),
                    args.alts.len()
                );
            }
            let mut attached: Vec<NewMedia> = Vec::new();
            for (path, alt) in args.images.iter().zip(&args.alts) {
                let size = std::fs::metadata(path)
                    .with_context(|| format!("cannot read {}", path.display()))?
                    .len();
                if size > media::MAX_IMAGE_BYTES {
                    bail!("{}: {}", path.display(), media::MediaError::TooLarge);
                }
                let bytes = std::fs::read(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let stored = media::store_image(&state.config.data_dir, &bytes, alt)
                    .await
                    .with_context(|| path.display().to_string())?;
                attached.push(stored);
            }
            let cosigners = cosign::resolve(&data, &actor, &args.cosign).await?;
            let rendered = rendered(&data, &draft).await;
            let intent = if args.draft {
                publish::Intent::Draft
            } else {
                publish::Intent::Publish
            };
            let post = publish::create_joint(
                store, base, &actor, None, &draft, &rendered, &attached, intent, &cosigners,
            )
            .await?;
            println!("{}", urls::post(base, actor.username.as_str(), post.id));
        }
        PostCommand::Edit(args) => {
            let (actor, post) = find(store, base, &args.post).await?;
            let body =
                read_body(args.file.as_ref(), args.body)?.unwrap_or_else(|| post.body_md.clone());
            let language = match args.lang {
                Some(lang) => Language::parse(&lang)?,
                None => post.language.clone(),
            };
            let draft = PostDraft::new(
                post.kind,
                args.title.or_else(|| post.title.clone()),
                args.summary.or_else(|| post.summary.clone()),
                body,
                language,
            )?;
            let rendered = rendered(&data, &draft).await;
            let post = publish::edit_post(store, base, &actor, &post, &draft, &rendered).await?;
            println!("{}", urls::post(base, actor.username.as_str(), post.id));
        }
        PostCommand::Translate(args) => translate(store, base, args).await?,
        PostCommand::Delete { post } => {
            let (actor, post) = find(store, base, &post).await?;
            let post = publish::delete_post(store, base, &actor, &post).await?;
            println!(
                "retracted {}",
                urls::post(base, actor.username.as_str(), post.id)
            );
        }
        PostCommand::Pin { post } => {
            let (actor, post) = find(store, base, &post).await?;
            publish::set_pinned(store, base, &actor, &post, true).await?;
            println!(
                "pinned {}",
                urls::post(base, actor.username.as_str(), post.id)
            );
        }
        PostCommand::Unpin { post } => {
            let (actor, post) = find(store, base, &post).await?;
            publish::set_pinned(store, base, &actor, &post, false).await?;
            println!(
                "unpinned {}",
                urls::post(base, actor.username.as_str(), post.id)
            );
        }
        PostCommand::List { actor: username } => {
            let filter = match &username {
                Some(name) => Some(actor(store, name).await?.id),
                None => None,
            };
            let actors = store.list_actors().await?;
            for post in store.all_posts(filter).await? {
                let Some(owner) = actors.iter().find(|a| a.id == post.actor_id) else {
                    continue;
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    post.id,
                    post.state.as_str(),
                    post.kind,
                    headline(&post),
                    urls::post(base, owner.username.as_str(), post.id)
                );
            }
        }
    }
    state.store.close().await;
    Ok(())
}

/// `post translate`: adds, replaces or removes one language version; prints the URL of the
/// version's page (the post's URL after a removal).
async fn translate(store: &Store, base: &Url, args: TranslateArgs) -> anyhow::Result<()> {
    let (actor, post) = find(store, base, &args.post).await?;
    let language = Language::parse(&args.lang)?;
    let username = actor.username.as_str();
    if args.remove {
        if translations::remove_translation(store, base, &actor, &post, &language)
            .await?
            .is_none()
        {
            bail!("post {} has no version in {language}", post.id);
        }
        println!(
            "removed {language} from {}",
            urls::post(base, username, post.id)
        );
        return Ok(());
    }
    let body = read_body(args.file.as_ref(), args.body)?.unwrap_or_default();
    let draft = translation_draft(&post, language, args.title, args.summary, body)?;
    translations::put_translation(store, base, &actor, &post, &draft).await?;
    println!(
        "{}",
        urls::post_in_language(base, username, post.id, draft.language.as_str())
    );
    Ok(())
}

/// Renders a draft, resolving its mentions first; a mention that cannot be found stays text.
async fn rendered(data: &FederationData, draft: &PostDraft) -> crate::store::posts::RenderedPost {
    let handles = render::mentioned_handles(&draft.body_md);
    let (mentions, failed) = webfinger::resolve_mentions(data, &handles).await;
    for (handle, reason) in failed {
        eprintln!("warning: {handle} was not found and stays plain text: {reason}");
    }
    publish::render(draft, &data.config.base_url, mentions)
}

/// The title, or for news the start of the text.
fn headline(post: &Post) -> String {
    post.title.clone().unwrap_or_else(|| {
        match render::excerpt(&post.body_md, 60) {
            // Imported posts keep HTML as their text, which has no Markdown text to cut.
            start if start.is_empty() => render::html_excerpt(&post.body_html, 60),
            start => start,
        }
    })
}

async fn actor(store: &Store, username: &str) -> anyhow::Result<LocalActor> {
    store
        .actor_by_username(username)
        .await?
        .with_context(|| format!("there is no account `{username}`"))
}

/// Finds a post by its number or its URL, with the account it belongs to.
async fn find(store: &Store, base: &Url, reference: &str) -> anyhow::Result<(LocalActor, Post)> {
    let id = match reference.parse::<i64>() {
        Ok(id) => id,
        Err(_) => {
            let url = Url::parse(reference)
                .with_context(|| format!("`{reference}` is neither a post number nor a URL"))?;
            if url.origin() != base.origin() {
                bail!("{url} is not a post of this instance");
            }
            url.path_segments()
                .and_then(|mut segments| {
                    match (
                        segments.next(),
                        segments.next(),
                        segments.next(),
                        segments.next(),
                    ) {
                        (Some("users"), Some(_), Some("posts"), Some(id)) => id.parse().ok(),
                        _ => None,
                    }
                })
                .with_context(|| format!("{url} is not a post URL"))?
        }
    };
    let post = store
        .post_by_id(id)
        .await?
        .with_context(|| format!("there is no post {id}"))?;
    let actor = store
        .actor_by_id(post.actor_id)
        .await?
        .with_context(|| format!("post {id} has no account"))?;
    Ok((actor, post))
}
