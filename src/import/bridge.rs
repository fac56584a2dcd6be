//! The bridge: a feed polled on an interval, its new items published by an account.
//!
//! Each poll is [`Bridge::poll_once`], which the command line repeats until it is stopped.
//! Which new items are sent to followers:
//! - while the account has imported nothing from the feed, the first poll imports everything
//!   quietly (the feed's history is not news), or sends it all with `--announce`;
//! - from then on, items dated at or after the newest item imported so far (and undated
//!   ones) are sent as new; older items that appear later are imported quietly.
//!
//! Because the mark is read from the database, a restarted bridge carries on where it stopped.

use url::Url;

use super::{Announce, ImportError, Source, Step, Summary, feed, fetch};
use crate::{
    app::AppState,
    domain::{Language, LocalActor},
};

/// One feed bridged into one account.
#[derive(Debug, Clone)]
pub struct Bridge {
    pub actor: LocalActor,
    pub url: Url,
    /// Send even the first poll's items (`--announce`).
    pub announce_first: bool,
    pub language: Option<Language>,
    polls: u64,
}

impl Bridge {
    pub fn new(
        actor: LocalActor,
        url: Url,
        announce_first: bool,
        language: Option<Language>,
    ) -> Self {
        Self {
            actor,
            url,
            announce_first,
            language,
            polls: 0,
        }
    }

    /// Fetches the feed once and imports what is new.
    pub async fn poll_once(
        &mut self,
        state: &AppState,
        progress: impl FnMut(Step<'_>),
    ) -> Result<Summary, ImportError> {
        let origin = self.url.as_str();
        let mark = state.store.import_mark(self.actor.id, origin).await?;
        let announce = if mark.items == 0 && self.polls == 0 {
            if self.announce_first {
                Announce::All
            } else {
                Announce::Nothing
            }
        } else {
            mark.newest.map_or(Announce::All, Announce::Since)
        };
        let source = fetch_feed(state, &self.url).await?;
        let summary = super::import(
            &state.store,
            &state.config.base_url,
            &self.actor,
            origin,
            &source,
            self.language.as_ref(),
            announce,
            progress,
        )
        .await?;
        self.polls += 1;
        Ok(summary)
    }
}

/// Fetches and reads an RSS or Atom feed.
pub async fn fetch_feed(state: &AppState, url: &Url) -> Result<Source, ImportError> {
    let bytes = fetch::fetch(&state.http, url, state.config.allow_private_networks).await?;
    Ok(feed::parse(&bytes)?)
}
