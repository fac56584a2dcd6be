//! `broadside export DIR`: every post of every account as files a person or another program
//! can read without Broadside. Per account a folder `DIR/USERNAME/` with, per post,
//! `YYYY-MM-DD-slug.md` (YAML front matter and the Markdown as written, see
//! [`crate::export`]) and `YYYY-MM-DD-slug.json` (the ActivityStreams document the server
//! serves for it), and the post's images in `DIR/USERNAME/media/`.
//!
//! Posts are read a page at a time. Each file is written under a temporary name and renamed,
//! and `DIR/.broadside-export` lists what was written: running the export again into the same
//! folder replaces those files and removes the ones whose post is gone or renamed, and
//! leaves anything else in the folder alone.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    fs, io,
    path::{Component, Path},
};

use anyhow::Context;
use serde_json::Value;
use url::Url;

use super::CliResult;
use crate::{
    app,
    config::Config,
    domain::{LocalActor, Post, PostState},
    export::{self, MEDIA_FOLDER},
    federation::objects::post::{Interactions, post_document, post_to_object, post_to_tombstone},
    store::{Store, interactions::InteractionKind},
};

/// Posts read from the store at a time.
const PAGE: i64 = 200;

/// Replies embedded in a post's document, as the server embeds them (`web::actors`'s page).
const REPLIES_PAGE: i64 = 40;

/// The list of files the previous export wrote, relative to DIR.
const MANIFEST: &str = ".broadside-export";

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    pub posts: usize,
    pub accounts: usize,
    pub media: usize,
    /// Image files the database names but the media folder does not have.
    pub missing_media: Vec<String>,
    /// Files of a previous export that no post accounts for any more.
    pub removed: usize,
}

pub async fn run(config: Config, dir: &Path) -> CliResult {
    let report = export(&config, dir).await?;
    for file in &report.missing_media {
        eprintln!("broadside: missing media file {file}; its link in the export is dangling");
    }
    println!(
        "exported {} posts of {} accounts and {} media files to {}{}",
        report.posts,
        report.accounts,
        report.media,
        dir.display(),
        if report.removed > 0 {
            format!(" ({} files of the previous export removed)", report.removed)
        } else {
            String::new()
        }
    );
    Ok(())
}

/// Writes the export into `dir` (created if missing).
pub async fn export(config: &Config, dir: &Path) -> anyhow::Result<ExportReport> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let store = app::open_store(config).await?;
    let result = export_from(&store, config, dir).await;
    store.close().await;
    result
}

async fn export_from(store: &Store, config: &Config, dir: &Path) -> anyhow::Result<ExportReport> {
    let base = &config.base_url;
    let media_source = crate::media::media_dir(&config.data_dir);
    let actors: HashMap<i64, LocalActor> = store
        .list_actors()
        .await?
        .into_iter()
        .map(|actor| (actor.id, actor))
        .collect();
    let previous = read_manifest(dir);
    let mut written = BTreeSet::new();
    let mut names: HashMap<i64, HashSet<String>> = HashMap::new();
    let mut report = ExportReport::default();
    let mut after = 0;
    loop {
        let page = store.posts_after(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for post in &page {
            let Some(actor) = actors.get(&post.actor_id) else {
                continue;
            };
            let username = actor.username.as_str();
            fs::create_dir_all(dir.join(username))?;
            let stem = export::file_stem(post, names.entry(actor.id).or_default());
            let markdown = format!("{username}/{stem}.md");
            write_atomic(
                dir,
                &markdown,
                export::markdown(post, username, base).as_bytes(),
            )?;
            let document = document(store, base, post, actor).await?;
            let json = format!("{username}/{stem}.json");
            let mut bytes = serde_json::to_vec_pretty(&document)?;
            bytes.push(b'\n');
            write_atomic(dir, &json, &bytes)?;
            written.insert(markdown);
            written.insert(json);
            for media in &post.media {
                let relative = format!("{username}/{MEDIA_FOLDER}/{}", media.file_name);
                if written.contains(&relative) || !is_plain_name(&media.file_name) {
                    continue;
                }
                match copy_media(&media_source.join(&media.file_name), dir, &relative) {
                    Ok(()) => {
                        written.insert(relative);
                        report.media += 1;
                    }
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {
                        report.missing_media.push(media.file_name.clone());
                    }
                    Err(err) => return Err(err.into()),
                }
            }
            report.posts += 1;
        }
    }
    report.accounts = names.len();
    for stale in previous.difference(&written) {
        if fs::remove_file(dir.join(stale)).is_ok() {
            report.removed += 1;
        }
    }
    let manifest: String = written.iter().map(|path| format!("{path}\n")).collect();
    write_atomic(dir, MANIFEST, manifest.as_bytes())?;
    Ok(report)
}

/// The post as the server serves it at its id: the object with its likes, boosts and first
/// replies for a published post, the `Tombstone` of a retracted one (served with 410), and
/// for a post not yet published the object it will become.
async fn document(
    store: &Store,
    base: &Url,
    post: &Post,
    actor: &LocalActor,
) -> anyhow::Result<Value> {
    let value = match post.state {
        PostState::Deleted => serde_json::to_value(post_to_tombstone(post, actor, base, true))?,
        PostState::Published => {
            let counts = store.interaction_counts(post.id).await?;
            let first_replies = store
                .interaction_page(post.id, InteractionKind::Reply, REPLIES_PAGE, 0)
                .await?;
            let interactions = Interactions {
                likes: counts.likes,
                shares: counts.announces,
                replies: counts.replies,
                more_replies: counts.replies > REPLIES_PAGE,
                first_replies: first_replies
                    .iter()
                    .filter_map(|id| Url::parse(id).ok())
                    .collect(),
            };
            serde_json::to_value(post_document(post, actor, base, &interactions))?
        }
        _ => serde_json::to_value(post_to_object(post, actor, base, true))?,
    };
    Ok(value)
}

/// Media files are named by the SHA-256 of their bytes, so one already copied is the same
/// file and is not copied again.
fn copy_media(source: &Path, dir: &Path, relative: &str) -> io::Result<()> {
    let target = dir.join(relative);
    let size = fs::metadata(source)?.len();
    if fs::metadata(&target).is_ok_and(|m| m.len() == size) {
        return Ok(());
    }
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent)?;
    }
    let partial = target.with_extension(format!("partial-{:016x}", rand::random::<u64>()));
    fs::copy(source, &partial)?;
    fs::rename(&partial, &target)
}

/// Writes `dir/relative` under a temporary name, then renames it into place: a reader never
/// sees half a file, and an interrupted export leaves the previous one whole.
fn write_atomic(dir: &Path, relative: &str, bytes: &[u8]) -> io::Result<()> {
    let target = dir.join(relative);
    let partial = target.with_file_name(format!(
        ".{}.partial-{:016x}",
        target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        rand::random::<u64>()
    ));
    fs::write(&partial, bytes)?;
    fs::rename(&partial, &target)
}

/// The files the last export wrote; only paths inside DIR are believed, so an edited list
/// cannot make the next export delete anything outside it.
fn read_manifest(dir: &Path) -> BTreeSet<String> {
    fs::read_to_string(dir.join(MANIFEST))
        .unwrap_or_default()
        .lines()
        .filter(|line| {
            !line.is_empty()
                && Path::new(line)
                    .components()
                    .all(|c| matches!(c, Component::Normal(_)))
        })
        .map(str::to_owned)
        .collect()
}

/// A bare file name, no folders: what the media table holds.
fn is_plain_name(name: &str) -> bool {
    let path = Path::new(name);
    path.components().count() == 1 && matches!(path.components().next(), Some(Component::Normal(_)))
}
