//! `broadside import feed | wordpress`: posts from an RSS or Atom feed or a WordPress export,
//! and the feed bridge (`import feed … --every 15m`). The work is in [`crate::import`].

use std::{io::IsTerminal, path::Path, time::Duration};

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use url::Url;

use super::CliResult;
use crate::{
    app::AppState,
    config::Config,
    domain::{Language, LocalActor},
    import::{self, Announce, Outcome, Source, Step, bridge::Bridge, feed, wordpress},
};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import an RSS 2.0 or Atom feed (a URL or a file) as published posts; with --every,
    /// keep polling it and publish new items.
    Feed(FeedArgs),
    /// Import the published posts of a WordPress export (WXR) file.
    Wordpress(WordpressArgs),
}

#[derive(Debug, Args)]
pub struct FeedArgs {
    #[arg(long)]
    actor: String,
    /// The feed's URL or a file.
    #[arg(value_name = "URL_OR_FILE")]
    source: String,
    /// Send the imported posts to the followers as new posts.
    #[arg(long)]
    announce: bool,
    /// The posts' language, if the feed does not say (default en).
    #[arg(long, value_name = "CODE")]
    lang: Option<String>,
    /// Bridge mode: poll the feed at this interval (e.g. 15m, 1h; at least 30s) until
    /// Ctrl-C or SIGTERM, sending new items to the followers.
    #[arg(long, value_name = "INTERVAL", value_parser = parse_interval)]
    every: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct WordpressArgs {
    #[arg(long)]
    actor: String,
    /// The export file (Tools → Export in WordPress).
    #[arg(value_name = "FILE.xml")]
    file: String,
    /// Send the imported posts to the followers as new posts.
    #[arg(long)]
    announce: bool,
    /// The posts' language, if the export does not say (default en).
    #[arg(long, value_name = "CODE")]
    lang: Option<String>,
}

pub async fn run(config: Config, command: ImportCommand) -> CliResult {
    let state = AppState::prepare(config).await?;
    let result = match command {
        ImportCommand::Feed(args) => feed_command(&state, args).await,
        ImportCommand::Wordpress(args) => wordpress_command(&state, args).await,
    };
    state.store.close().await;
    result
}

async fn feed_command(state: &AppState, args: FeedArgs) -> CliResult {
    let actor = account(state, &args.actor).await?;
    let language = language(args.lang.as_deref())?;
    let url = web_url(&args.source);
    if let Some(every) = args.every {
        let url = url.context("--every needs the feed's http(s) URL, not a file")?;
        let bridge = Bridge::new(actor, url, args.announce, language);
        return run_bridge(state, bridge, every).await;
    }
    let (origin, source) = match url {
        Some(url) => (
            url.to_string(),
            import::bridge::fetch_feed(state, &url).await?,
        ),
        None => {
            let (origin, bytes) = read_file(&args.source)?;
            let source = feed::parse(&bytes).with_context(|| args.source.clone())?;
            (origin, source)
        }
    };
    run_import(state, &actor, &origin, &source, language, args.announce).await
}

async fn wordpress_command(state: &AppState, args: WordpressArgs) -> CliResult {
    let actor = account(state, &args.actor).await?;
    let language = language(args.lang.as_deref())?;
    let (origin, bytes) = read_file(&args.file)?;
    let source = wordpress::parse(&bytes).with_context(|| args.file.clone())?;
    run_import(state, &actor, &origin, &source, language, args.announce).await
}

async fn run_import(
    state: &AppState,
    actor: &LocalActor,
    origin: &str,
    source: &Source,
    language: Option<Language>,
    announce: bool,
) -> CliResult {
    let announce = if announce {
        Announce::All
    } else {
        Announce::Nothing
    };
    let mut progress = Progress::new();
    let summary = import::import(
        &state.store,
        &state.config.base_url,
        actor,
        origin,
        source,
        language.as_ref(),
        announce,
        |step| progress.step(&step),
    )
    .await?;
    progress.finish();
    println!("{summary}");
    Ok(())
}

async fn run_bridge(state: &AppState, mut bridge: Bridge, every: Duration) -> CliResult {
    eprintln!(
        "bridging {} into {} every {}s; Ctrl-C or SIGTERM stops",
        bridge.url,
        bridge.actor.username,
        every.as_secs()
    );
    let stop = super::serve::wait_for_signal();
    tokio::pin!(stop);
    loop {
        let mut progress = Progress::new();
        tokio::select! {
            result = bridge.poll_once(state, |step| progress.step(&step)) => {
                progress.finish();
                match result {
                    Ok(summary) => println!("{summary}"),
                    // A feed that is down for a while does not stop the bridge.
                    Err(err) => eprintln!("broadside: {}: {err:#}", bridge.url),
                }
            }
            () = &mut stop => break,
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = &mut stop => break,
        }
    }
    eprintln!("bridge stopped");
    Ok(())
}

/// A progress bar on a terminal; otherwise one plain line per item.
struct Progress {
    bar: Option<ProgressBar>,
    terminal: bool,
}

impl Progress {
    fn new() -> Self {
        Self {
            bar: None,
            terminal: std::io::stdout().is_terminal(),
        }
    }

    fn step(&mut self, step: &Step<'_>) {
        let verb = match step.outcome {
            Outcome::Imported {
                announced: true, ..
            } => "imported and sent".to_owned(),
            Outcome::Imported { .. } => "imported".to_owned(),
            Outcome::AlreadyImported => "already imported".to_owned(),
            Outcome::NotPublic(reason) => format!("skipped ({reason})"),
            Outcome::Invalid(reason) => format!("unusable ({reason})"),
        };
        if !self.terminal {
            println!("{verb} {}/{}: {}", step.number, step.total, step.label());
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(u64::try_from(step.total).unwrap_or(0));
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}") {
                bar.set_style(style);
            }
            bar
        });
        if let Outcome::Invalid(_) = step.outcome {
            bar.println(format!("{verb}: {}", step.label()));
        }
        bar.set_message(format!("{verb}: {}", step.label()));
        bar.inc(1);
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

async fn account(state: &AppState, username: &str) -> anyhow::Result<LocalActor> {
    state
        .store
        .actor_by_username(username)
        .await?
        .with_context(|| format!("there is no account `{username}`"))
}

fn language(code: Option<&str>) -> anyhow::Result<Option<Language>> {
    code.map(|c| Language::parse(c).with_context(|| format!("`{c}` is not a language code")))
        .transpose()
}

/// The source as a web address, if it is one.
fn web_url(source: &str) -> Option<Url> {
    Url::parse(source)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// A file's bytes and the name its items are recorded under (its absolute path).
fn read_file(path: &str) -> anyhow::Result<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
    let origin = std::fs::canonicalize(Path::new(path))
        .map_or_else(|_| path.to_owned(), |p| p.display().to_string());
    Ok((origin, bytes))
}

/// `90s`, `15m`, `1h`, `1d`; at least 30 seconds, to be gentle with the feed's server.
fn parse_interval(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{value}` is not an interval such as 15m"))?;
    let seconds = match unit {
        "s" => number,
        "m" | "" => number * 60,
        "h" => number * 3600,
        "d" => number * 86_400,
        _ => return Err(format!("`{value}`: the unit must be s, m, h or d")),
    };
    if seconds < 30 {
        return Err("the interval must be at least 30s".into());
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_read_with_their_units() {
        assert_eq!(parse_interval("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_interval("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_interval("45s"), Ok(Duration::from_secs(45)));
        assert!(parse_interval("5s").is_err());
        assert!(parse_interval("soon").is_err());
    }
}
