//! Importing posts: an RSS feed, an Atom feed and a WordPress export (fixtures in
//! `tests/fixtures/import/`, written for these tests) give the expected posts, twice in a row
//! without duplicates, sending nothing to followers unless asked; and the feed bridge's poll.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, Mutex},
};

use axum::{Router, extract::State, http::header, routing::get};
use broadside::{
    app::AppState,
    config::{Config, DatabaseUrl, Overrides},
    domain::{ActorKind, LocalActor, NewActor, Post, PostKind, PostState, Username},
    federation::{keys, objects::post::post_to_object},
    import::{self, Announce, ImportError, bridge::Bridge, fetch::FetchError},
    store::Store,
};
use common::{Peer, TestDb, add_follower, backends};
use tokio::net::TcpListener;
use url::Url;

const BASE: &str = "https://isg.example";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

/// Runs the real binary against the SQLite file in `dir`, as tests/cli.rs does.
fn run(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(env!("CARGO_BIN_EXE_broadside"))
        .current_dir(dir)
        .env("BROADSIDE_BASE_URL", BASE)
        .env(
            "BROADSIDE_DATABASE_URL",
            format!("sqlite://{}/b.db", dir.display()),
        )
        .env("BROADSIDE_DATA_DIR", dir.join("data"))
        .env("BROADSIDE_LOG", "warn")
        .args(args)
        .output()
        .unwrap();
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// The store of the binary's database in `dir`.
async fn open_sqlite(dir: &Path) -> Store {
    let url = DatabaseUrl::parse(&format!("sqlite://{}/b.db", dir.display())).unwrap();
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn open(db: &TestDb) -> Store {
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn create_actor(store: &Store, username: &str) -> LocalActor {
    let pair = keys::generate().unwrap();
    let mut tx = store.begin().await.unwrap();
    let actor = tx
        .insert_actor(&NewActor {
            username: Username::parse(username).unwrap(),
            kind: ActorKind::Organization,
            name: "ISG".into(),
            summary_md: String::new(),
            summary_html: String::new(),
            public_key_pem: pair.public_key_pem,
            private_key_pem: pair.private_key_pem,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    actor
}

/// An account's published posts, oldest first.
async fn posts(store: &Store, actor: &LocalActor) -> Vec<Post> {
    let mut posts = store
        .posts_of_actor(actor.id, PostState::Published, 100, 0)
        .await
        .unwrap();
    posts.reverse();
    posts
}

fn titled<'a>(posts: &'a [Post], title: &str) -> &'a Post {
    posts
        .iter()
        .find(|p| p.title.as_deref() == Some(title))
        .unwrap_or_else(|| panic!("no post titled {title}"))
}

fn rfc3339(post: &Post) -> String {
    post.published_at.unwrap().to_rfc3339()
}

/// The `url` a follower's server sees for the post.
fn ap_url(post: &Post, actor: &LocalActor) -> String {
    post_to_object(post, actor, &Url::parse(BASE).unwrap(), false)
        .url
        .to_string()
}

// Case: RSS 2.0 from a file through the command line, with a follower: titles, dates,
// sanitized content, images as links, url = the original; plain progress lines; a second run
// imports nothing; nothing is queued for the follower without --announce.
#[tokio::test]
async fn an_rss_file_gives_its_posts_once_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &["actor", "create", "isg", "--name", "ISG"]).unwrap();
    let store = open_sqlite(dir.path()).await;
    let actor = store.actor_by_username("isg").await.unwrap().unwrap();
    let peer = Peer::start().await;
    add_follower(&store, actor.id, &peer, "alice", false).await;
    let feed = fixture("feed.rss");
    let args = ["import", "feed", "--actor", "isg", feed.to_str().unwrap()];

    let first = run(dir.path(), &args).unwrap();
    assert!(
        first.contains("imported 1/4: Day one at the gate"),
        "{first}"
    );
    assert!(
        first.ends_with("imported 4, skipped 0 already imported, skipped 0 not public"),
        "{first}"
    );

    let posts = posts(&store, &actor).await;
    assert_eq!(posts.len(), 4);
    let day_one = titled(&posts, "Day one at the gate");
    assert_eq!(day_one.kind, PostKind::Statement);
    assert_eq!(rfc3339(day_one), "2024-01-15T10:30:00+00:00");
    assert_eq!(day_one.language.as_str(), "en-GB", "the channel's language");
    assert_eq!(
        ap_url(day_one, &actor),
        "https://blog.example/2024/01/day-one"
    );
    let html = &day_one.body_html;
    assert!(html.contains("<strong>dawn</strong>"), "{html}");
    assert!(
        !html.contains("<script") && !html.contains("stolen"),
        "{html}"
    );
    assert!(
        !html.contains("onclick") && !html.contains("<img"),
        "{html}"
    );
    assert!(
        html.contains("href=\"https://cdn.blog.example/gate.jpg\"")
            && html.contains("Image: Pickets at the gate"),
        "the image is a link to where it is hosted: {html}"
    );
    assert_eq!(
        day_one.summary.as_deref(),
        Some("Short teaser for day one.")
    );
    assert_eq!(day_one.tags, ["Strike", "ClimateJustice"]);

    let day_two = titled(&posts, "Day two");
    assert_eq!(rfc3339(day_two), "2024-01-16T08:00:00+00:00");
    assert!(
        day_two
            .body_html
            .contains("href=\"https://blog.example/leaflet.pdf\""),
        "relative links point to the original site: {}",
        day_two.body_html
    );

    // An item without a title becomes news (a Note).
    let note = posts.iter().find(|p| p.title.is_none()).unwrap();
    assert_eq!(note.kind, PostKind::News);
    assert!(note.body_html.contains("A quick note without a title."));
    assert_eq!(note.excerpt, "A quick note without a title.");
    assert_eq!(
        ap_url(note, &actor),
        "https://blog.example/2024/01/short-note"
    );

    // A title and a link only: the post links to the original.
    let coverage = titled(&posts, "Press coverage");
    assert!(
        coverage
            .body_html
            .contains("href=\"https://news.example/strike-coverage\""),
        "{}",
        coverage.body_html
    );

    let listed = run(dir.path(), &["post", "list", "--actor", "isg"]).unwrap();
    assert!(
        listed.contains("\tpublished\tnews\tA quick note without a title.\t"),
        "an untitled import is listed by the start of its text: {listed}"
    );

    let second = run(dir.path(), &args).unwrap();
    assert!(
        second.ends_with("imported 0, skipped 4 already imported, skipped 0 not public"),
        "{second}"
    );
    assert_eq!(store.all_posts(Some(actor.id)).await.unwrap().len(), 4);
    let status = run(dir.path(), &["delivery", "status"]).unwrap();
    assert!(status.starts_with("queued\t0\n"), "{status}");
    store.close().await;
}

// Case: Atom from a file through the command line with --announce and a follower: one Create
// per new post is queued; running it again imports and queues nothing more.
#[tokio::test]
async fn an_atom_file_with_announce_sends_each_new_post_once() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &["actor", "create", "isg", "--name", "ISG"]).unwrap();
    let store = open_sqlite(dir.path()).await;
    let actor = store.actor_by_username("isg").await.unwrap().unwrap();
    let peer = Peer::start().await;
    add_follower(&store, actor.id, &peer, "alice", false).await;
    let feed = fixture("feed.atom");
    let args = [
        "import",
        "feed",
        "--actor",
        "isg",
        "--announce",
        feed.to_str().unwrap(),
    ];

    let first = run(dir.path(), &args).unwrap();
    assert!(
        first.ends_with(
            "imported 3 (3 sent to followers), skipped 0 already imported, skipped 0 not public"
        ),
        "{first}"
    );
    assert_eq!(store.delivery_counts().await.unwrap().queued, 3);

    let posts = posts(&store, &actor).await;
    let tarif = titled(&posts, "Tarifrunde beginnt");
    assert_eq!(rfc3339(tarif), "2024-02-01T07:00:00+00:00");
    assert_eq!(tarif.language.as_str(), "de", "the feed's xml:lang");
    assert_eq!(
        ap_url(tarif, &actor),
        "https://union.example/posts/tarifrunde"
    );
    assert!(tarif.body_html.contains("<b>Tarifrunde</b>"));
    assert!(!tarif.body_html.contains("steal"), "{}", tarif.body_html);
    assert!(
        tarif
            .body_html
            .contains("href=\"https://union.example/posts/images/demo.png\""),
        "{}",
        tarif.body_html
    );
    let demo = titled(&posts, "Aufruf zur Demo");
    assert_eq!(
        rfc3339(demo),
        "2024-02-02T10:00:00+00:00",
        "updated, without published"
    );
    assert!(
        demo.body_html
            .contains("Kommt alle am Samstag &lt;um 12&gt;!"),
        "plain text content is escaped: {}",
        demo.body_html
    );
    let note = posts.iter().find(|p| p.title.is_none()).unwrap();
    assert_eq!(note.kind, PostKind::News);
    assert!(
        note.body_html.contains("Kurz notiert."),
        "{}",
        note.body_html
    );

    let second = run(dir.path(), &args).unwrap();
    assert!(second.ends_with("imported 0, skipped 3 already imported, skipped 0 not public"));
    assert_eq!(store.delivery_counts().await.unwrap().queued, 3);
    store.close().await;
}

// Case: a WordPress export through the library, on SQLite and PostgreSQL: only published
// posts (the draft, the page and the attachment are counted as not public), classic-editor
// paragraphs, the [caption] image as a link, the script gone, GMT dates, categories and tags
// as hashtags; a second run adds nothing; nothing is queued for the follower.
#[tokio::test]
async fn a_wordpress_export_gives_its_published_posts_once() {
    let bytes = std::fs::read(fixture("wordpress.xml")).unwrap();
    let source = import::wordpress::parse(&bytes).unwrap();
    let base = Url::parse(BASE).unwrap();
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = open(&db).await;
        let actor = create_actor(&store, "tenants").await;
        let peer = Peer::start().await;
        add_follower(&store, actor.id, &peer, "alice", true).await;
        let mut lines = Vec::new();
        let summary = import::import(
            &store,
            &base,
            &actor,
            "wordpress.xml",
            &source,
            None,
            Announce::Nothing,
            |step| lines.push(format!("{}/{} {}", step.number, step.total, step.label())),
        )
        .await
        .unwrap();
        assert_eq!(
            summary.to_string(),
            "imported 2, skipped 0 already imported, skipped 3 not public \
             (1 attachment, 1 draft, 1 page)",
            "{backend}"
        );
        assert_eq!(lines.len(), 5, "{lines:?}");

        let posts = posts(&store, &actor).await;
        assert_eq!(posts.len(), 2, "{backend}");
        let strike = titled(&posts, "Rent strike announced");
        assert_eq!(rfc3339(strike), "2024-03-01T09:00:00+00:00");
        assert_eq!(strike.language.as_str(), "en-US");
        assert_eq!(strike.summary.as_deref(), Some("Block C withholds rent."));
        assert_eq!(strike.tags, ["Rent", "HousingNow"]);
        assert_eq!(
            ap_url(strike, &actor),
            "https://tenants.example/2024/03/rent-strike/"
        );
        let html = &strike.body_html;
        assert!(
            html.contains("<p>Tenants of Block C vote to withhold rent.<br>\nStarting April.</p>"),
            "{html}"
        );
        assert!(
            !html.contains("[caption") && !html.contains("evil"),
            "{html}"
        );
        assert!(
            html.contains(
                "href=\"https://tenants.example/wp-content/uploads/2024/03/meeting.jpg\""
            ) && html.contains("Image: The tenants' meeting"),
            "{html}"
        );
        assert!(html.contains("class=\"mention hashtag\""), "{html}");
        let notes = titled(&posts, "Meeting notes");
        assert!(
            notes
                .body_html
                .contains("href=\"https://tenants.example/2024/03/rent-strike/\""),
            "{}",
            notes.body_html
        );

        let again = import::import(
            &store,
            &base,
            &actor,
            "wordpress.xml",
            &source,
            None,
            Announce::Nothing,
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(again.imported, 0);
        assert_eq!(again.already_imported, 2);
        assert_eq!(store.all_posts(Some(actor.id)).await.unwrap().len(), 2);
        assert_eq!(store.delivery_counts().await.unwrap().queued, 0);
        store.close().await;
        db.cleanup().await;
    }
}

/// A feed served on a loopback port; the test changes what it serves between polls.
async fn serve_feed(feed: Arc<Mutex<String>>) -> Url {
    let app = Router::new()
        .route(
            "/feed.rss",
            get(|State(feed): State<Arc<Mutex<String>>>| async move {
                let body = feed.lock().unwrap().clone();
                ([(header::CONTENT_TYPE, "application/rss+xml")], body)
            }),
        )
        .with_state(feed);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Url::parse(&format!("http://{addr}/feed.rss")).unwrap()
}

async fn state(db: &TestDb, allow_private_networks: bool) -> AppState {
    let data = tempfile::tempdir().unwrap();
    // Through the configuration's own loading, so settings added later keep their defaults.
    let config = Config::load(
        None,
        Overrides {
            base_url: Some(BASE.into()),
            database_url: Some(db.url.as_str().to_owned()),
            data_dir: Some(data.path().to_path_buf()),
            allow_private_networks: Some(allow_private_networks),
            log: Some("warn".into()),
            ..Overrides::default()
        },
    )
    .unwrap();
    AppState::prepare(config).await.unwrap()
}

fn rss_item(guid: &str, title: &str, date: &str) -> String {
    format!(
        "<item><title>{title}</title><link>https://blog.example/{guid}</link>\
         <guid>https://blog.example/{guid}</guid><pubDate>{date}</pubDate>\
         <description>About {title}.</description></item>"
    )
}

fn rss(items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Blog</title>\
         <link>https://blog.example/</link><description>d</description>{}</channel></rss>",
        items.concat()
    )
}

// Case: the bridge's poll over HTTP. The first poll imports the feed's history quietly; a later
// poll sends the new item and imports an older one that appeared meanwhile without sending it;
// a poll with nothing new does nothing.
#[tokio::test]
async fn the_bridge_sends_only_items_newer_than_what_it_has() {
    for backend in backends() {
        bridge_polls(backend).await;
    }
}

async fn bridge_polls(backend: &str) {
    let db = TestDb::new(backend).await;
    let state = state(&db, true).await;
    let actor = create_actor(&state.store, "isg").await;
    let peer = Peer::start().await;
    add_follower(&state.store, actor.id, &peer, "alice", false).await;
    let old = rss_item("one", "One", "Mon, 15 Jan 2024 10:00:00 GMT");
    let feed = Arc::new(Mutex::new(rss(std::slice::from_ref(&old))));
    let url = serve_feed(feed.clone()).await;
    let mut bridge = Bridge::new(actor.clone(), url, false, None);

    let first = bridge.poll_once(&state, |_| {}).await.unwrap();
    assert_eq!((first.imported, first.announced), (1, 0));
    assert_eq!(state.store.delivery_counts().await.unwrap().queued, 0);

    *feed.lock().unwrap() = rss(&[
        rss_item("three", "Three", "Wed, 17 Jan 2024 10:00:00 GMT"),
        old.clone(),
        rss_item("older", "Older", "Sun, 14 Jan 2024 10:00:00 GMT"),
    ]);
    let second = bridge.poll_once(&state, |_| {}).await.unwrap();
    assert_eq!(
        (second.imported, second.announced, second.already_imported),
        (2, 1, 1)
    );
    assert_eq!(state.store.delivery_counts().await.unwrap().queued, 1);

    let third = bridge.poll_once(&state, |_| {}).await.unwrap();
    assert_eq!((third.imported, third.already_imported), (0, 3));
    assert_eq!(state.store.delivery_counts().await.unwrap().queued, 1);

    // A bridge started again later carries on from what the database holds.
    *feed.lock().unwrap() = rss(&[rss_item("four", "Four", "Thu, 18 Jan 2024 10:00:00 GMT")]);
    let mut restarted = Bridge::new(actor, bridge.url.clone(), false, None);
    let fourth = restarted.poll_once(&state, |_| {}).await.unwrap();
    assert_eq!((fourth.imported, fourth.announced), (1, 1), "{backend}");
    state.store.close().await;
    db.cleanup().await;
}

// Case: feed URLs go through the SSRF check: a loopback feed is refused unless private networks
// are allowed (as the tests above allow them).
#[tokio::test]
async fn a_feed_on_an_internal_address_is_refused() {
    let db = TestDb::new("sqlite").await;
    let state = state(&db, false).await;
    let actor = create_actor(&state.store, "isg").await;
    let url = serve_feed(Arc::new(Mutex::new(rss(&[])))).await;
    let mut bridge = Bridge::new(actor, url, false, None);
    let err = bridge.poll_once(&state, |_| {}).await.unwrap_err();
    assert!(
        matches!(err, ImportError::Fetch(FetchError::Target(_))),
        "{err:?}"
    );
    state.store.close().await;
}
