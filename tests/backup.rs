//! `broadside backup` and `broadside export`: a backup taken while posts are being published
//! is sound, holds every post committed before it began, and serves them when a server is
//! started on a copy; an export's Markdown, front matter, JSON and images match the posts and
//! what the server serves, and a second export into the same folder stays consistent.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use broadside::{
    app::{self, AppState, Role},
    config::{Config, DatabaseUrl},
    domain::{Language, PostDraft, PostKind, PostState},
    federation::publish,
    store::{Store, backup::sqlite_integrity_check},
};
use common::{TestServer, eventually};
use reqwest::{StatusCode, header};
use serde_json::Value;
use tokio::{net::TcpListener, sync::watch};

const AS_JSON: &str = "application/activity+json";

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

fn sqlite_path(config: &Config) -> PathBuf {
    match &config.database {
        DatabaseUrl::Sqlite { path, .. } => path.clone(),
        DatabaseUrl::Postgres(_) => panic!("these tests run on SQLite"),
    }
}

/// Runs the real binary against the server's database, as an operator would.
async fn broadside(config: &Config, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_broadside"))
        .env("BROADSIDE_BASE_URL", config.base_url.as_str())
        .env(
            "BROADSIDE_DATABASE_URL",
            format!("sqlite://{}", sqlite_path(config).display()),
        )
        .env("BROADSIDE_DATA_DIR", &config.data_dir)
        .env("BROADSIDE_LOG", "warn")
        .args(args)
        .output()
        .await
        .unwrap()
}

fn draft(kind: PostKind, title: Option<&str>, body: &str) -> PostDraft {
    PostDraft::new(
        kind,
        title.map(str::to_owned),
        None,
        body.to_owned(),
        Language::parse("en").unwrap(),
    )
    .unwrap()
}

/// A server started on an existing SQLite file (a restored backup), stopped on drop of
/// the sender.
async fn serve_file(db: &Path, original: &Config) -> (String, watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let data_dir = db.parent().unwrap().join("data");
    // The same settings as the instance backed up (its origin above all: ids derive from
    // it), on the restored file.
    let mut config = original.clone();
    config.listen = addr;
    config.database = DatabaseUrl::parse(&format!("sqlite://{}", db.display())).unwrap();
    config.data_dir = data_dir;
    let state = AppState::prepare(config).await.unwrap();
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(async move {
        app::run_prepared(state, Role::All, Some(listener), shutdown)
            .await
            .unwrap();
    });
    (format!("http://{addr}"), stop)
}

/// Case: a backup taken by the real binary while another writer publishes posts as fast as
/// it can is a sound database holding every post committed before the backup began, and a
/// server started on a copy of it serves them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_during_publishing_holds_every_post_committed_before_it() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let writer = server.store().await;
    let actor = writer.actor_by_username("isg").await.unwrap().unwrap();
    let committed = Arc::new(Mutex::new(Vec::<(i64, String)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (committed, stop, base) = (committed.clone(), stop.clone(), server.base.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let title = format!("Statement number {n}");
                let draft = draft(PostKind::Statement, Some(&title), "We stand with #them.");
                let rendered = publish::render(&draft, &base, Vec::new());
                let post =
                    publish::create_post(&writer, &base, &actor, &draft, &rendered, &[], true)
                        .await
                        .unwrap();
                // Recorded only once committed: these the backup must hold if it began later.
                committed.lock().unwrap().push((post.id, title));
            }
            writer.close().await;
        })
    };
    eventually("20 posts published", || {
        let committed = committed.clone();
        async move { committed.lock().unwrap().len() >= 20 }
    })
    .await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broadside-backup.db");
    let before: Vec<(i64, String)> = committed.lock().unwrap().clone();
    let output = broadside(&server.config, &["backup", file.to_str().unwrap()]).await;
    let during = committed.lock().unwrap().len() - before.len();
    stop.store(true, Ordering::Relaxed);
    publisher.await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("backed up to"));
    assert!(during > 0, "no post was published while the backup ran");
    // Nothing but the backup itself is left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["broadside-backup.db".to_owned()]);

    assert_eq!(sqlite_integrity_check(&file).await.unwrap(), "ok");
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = restored_dir.path().join("restored.db");
    std::fs::copy(&file, &restored).unwrap();
    let copy =
        Store::connect(&DatabaseUrl::parse(&format!("sqlite://{}", restored.display())).unwrap())
            .await
            .unwrap();
    let mut titles = HashMap::new();
    let mut after = 0;
    loop {
        let page = copy.posts_after(after, 50).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        titles.extend(
            page.into_iter()
                .map(|p| (p.id, p.title.unwrap_or_default())),
        );
    }
    copy.close().await;
    for (id, title) in &before {
        assert_eq!(
            titles.get(id),
            Some(title),
            "post {id} is missing from the backup"
        );
    }

    // Restore: a server started on the copied file serves the posts.
    let (base, stop_restored) = serve_file(&restored, &server.config).await;
    let client = reqwest::Client::new();
    eventually("the restored server to answer", || {
        let (client, base) = (client.clone(), base.clone());
        async move {
            client
                .get(format!("{base}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK)
        }
    })
    .await;
    for (id, title) in before.iter().step_by(5) {
        let response = client
            .get(format!("{base}/users/isg/posts/{id}"))
            .header(header::ACCEPT, AS_JSON)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "post {id}");
        let object: Value = response.json().await.unwrap();
        assert_eq!(object["name"], title.as_str());
    }
    let _ = stop_restored.send(true);
    server.stop().await;
}

/// Case: `backup` never overwrites an existing file, and on PostgreSQL it does nothing but
/// point to pg_dump, with a non-zero exit status.
#[tokio::test]
async fn a_backup_refuses_an_existing_file_and_points_postgres_to_pg_dump() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken.db");
    std::fs::write(&file, b"precious").unwrap();
    let output = broadside(&server.config, &["backup", file.to_str().unwrap()]).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&file).unwrap(), b"precious");

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_broadside"))
        .env(
            "BROADSIDE_DATABASE_URL",
            "postgres://broadside@127.0.0.1:1/broadside",
        )
        .env("BROADSIDE_DATA_DIR", dir.path().join("data"))
        .args(["backup", dir.path().join("pg.dump").to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("pg_dump"));
    assert!(!dir.path().join("pg.dump").exists());
    server.stop().await;
}

/// The front matter of an exported Markdown file, each value read as JSON (which is also how
/// YAML reads it), and the body after it.
fn front_matter(text: &str) -> (BTreeMap<String, Value>, String) {
    let rest = text.strip_prefix("---\n").expect("front matter first");
    let (front, body) = rest.split_once("---\n\n").expect("front matter closed");
    let fields = front
        .lines()
        .map(|line| {
            let (key, value) = line.split_once(": ").unwrap();
            (key.to_owned(), serde_json::from_str(value).unwrap())
        })
        .collect();
    (fields, body.to_owned())
}

/// Where PyYAML is installed, the front matter must read the same through a YAML parser.
fn check_with_yaml_parser(file: &Path, expected: &BTreeMap<String, Value>) {
    let script = "import json, sys, yaml\n\
        text = open(sys.argv[1], encoding='utf-8').read()\n\
        front = text.split('---\\n')[1]\n\
        print(json.dumps(yaml.safe_load(front)))";
    let Ok(output) = std::process::Command::new("python3")
        .args(["-c", script, file.to_str().unwrap()])
        .output()
    else {
        return;
    };
    if !output.status.success() {
        // No Python or no PyYAML here; the JSON reading above still ran.
        return;
    }
    let parsed: BTreeMap<String, Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(&parsed, expected, "{}", file.display());
}

async fn served(client: &reqwest::Client, url: &str) -> (StatusCode, Value) {
    let response = client
        .get(url)
        .header(header::ACCEPT, AS_JSON)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Case: the export writes per account a Markdown file with front matter matching each post
/// (published, retracted, draft, untitled news, two posts of the same title) and the body as
/// written, a JSON file equal to what the server serves for it, and the images beside them;
/// exporting again into the same folder replaces the files and drops a renamed post's old
/// ones.
#[tokio::test]
async fn an_export_matches_the_posts_and_what_the_server_serves() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    server.create_actor("other", false).await;
    let store = server.store().await;
    let base = server.base.clone();
    let isg = store.actor_by_username("isg").await.unwrap().unwrap();
    let image = broadside::media::store_image(&server.config.data_dir, PNG, "A red square")
        .await
        .unwrap();
    let image_name = image.file_name.clone();
    let body = "We stand with the #strikers.\n\n> \"Quoted\" words: no # comment\n";
    let with_image = draft(PostKind::Statement, Some("On the strike: day 1"), body);
    let rendered = publish::render(&with_image, &base, Vec::new());
    let pictured =
        publish::create_post(&store, &base, &isg, &with_image, &rendered, &[image], true)
            .await
            .unwrap();
    let same_a = server
        .publish_post(
            "isg",
            PostKind::Statement,
            Some("Same title"),
            "First.",
            "en",
        )
        .await;
    let same_b = server
        .publish_post(
            "isg",
            PostKind::Statement,
            Some("Same title"),
            "Second.",
            "en",
        )
        .await;
    let news = server
        .publish_post(
            "other",
            PostKind::News,
            None,
            "Untitled news, *short*.",
            "en",
        )
        .await;
    let retracted = server
        .publish_post("isg", PostKind::Statement, Some("Withdrawn"), "Oops.", "en")
        .await;
    let gone = store.post_by_id(retracted).await.unwrap().unwrap();
    publish::delete_post(&store, &base, &isg, &gone)
        .await
        .unwrap();
    let draft_id = server
        .insert_post(
            "isg",
            &draft(PostKind::Statement, Some("Not yet"), "Draft text."),
            PostState::Draft,
            &[],
        )
        .await;

    let out = tempfile::tempdir().unwrap();
    let report = broadside::cli::export::export(&server.config, out.path())
        .await
        .unwrap();
    assert_eq!(report.posts, 6);
    assert_eq!(report.accounts, 2);
    assert_eq!(report.media, 1);
    assert!(report.missing_media.is_empty());

    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    for account in ["isg", "other"] {
        for entry in std::fs::read_dir(out.path().join(account)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("md") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let (fields, body) = front_matter(&text);
            check_with_yaml_parser(&path, &fields);
            let id = fields["id"].as_i64().unwrap();
            let post = store.post_by_id(id).await.unwrap().unwrap();
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let date = post
                .published_at
                .unwrap_or(post.created_at)
                .format("%Y-%m-%d");
            assert!(stem.starts_with(&format!("{date}-")), "{stem}");
            assert_eq!(fields["account"], account);
            assert_eq!(fields["title"], serde_json::json!(post.title));
            assert_eq!(fields["state"], post.state.as_str());
            assert_eq!(fields["language"], "en");
            assert_eq!(fields["hashtags"], serde_json::json!(post.tags));
            assert_eq!(fields["ap_id"], server.post_url(account, id));
            assert_eq!(body.trim_end(), post.body_md.trim_end());
            // The JSON beside it is what the server serves at the post's id (410's body for
            // a retracted post); a draft is not served, and its object is named for its id.
            let json: Value =
                serde_json::from_slice(&std::fs::read(path.with_extension("json")).unwrap())
                    .unwrap();
            let (status, document) = served(&client, &server.post_url(account, id)).await;
            match post.state {
                PostState::Published => {
                    assert_eq!(status, StatusCode::OK);
                    assert_eq!(json, document);
                }
                PostState::Deleted => {
                    assert_eq!(status, StatusCode::GONE);
                    assert_eq!(json, document);
                    assert_eq!(json["type"], "Tombstone");
                }
                _ => {
                    assert_eq!(status, StatusCode::NOT_FOUND);
                    assert_eq!(json["id"], server.post_url(account, id));
                }
            }
            seen.push((id, stem));
        }
    }
    seen.sort();
    let ids: Vec<i64> = seen.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, {
        let mut all = vec![pictured.id, same_a, same_b, news, retracted, draft_id];
        all.sort();
        all
    });
    let stem_of = |id: i64| seen.iter().find(|(i, _)| *i == id).unwrap().1.clone();
    assert!(stem_of(pictured.id).ends_with("-on-the-strike-day-1"));
    assert!(stem_of(same_a).ends_with("-same-title"));
    assert_eq!(stem_of(same_b), format!("{}-{same_b}", stem_of(same_a)));
    assert!(stem_of(news).ends_with("-untitled-news-short"));

    // The image is copied beside the account's posts and linked relatively.
    let markdown = std::fs::read_to_string(
        out.path()
            .join("isg")
            .join(format!("{}.md", stem_of(pictured.id))),
    )
    .unwrap();
    let (fields, _) = front_matter(&markdown);
    let link = fields["media"][0]["file"].as_str().unwrap();
    assert_eq!(link, format!("media/{image_name}"));
    assert_eq!(fields["media"][0]["alt"], "A red square");
    assert_eq!(
        std::fs::read(out.path().join("isg").join(link)).unwrap(),
        PNG
    );

    // Again, after a correction that renames a post: the same files, the old name gone.
    let first = store.post_by_id(same_a).await.unwrap().unwrap();
    let renamed = draft(
        PostKind::Statement,
        Some("A better title"),
        "First, corrected.",
    );
    let rendered = publish::render(&renamed, &base, Vec::new());
    publish::edit_post(&store, &base, &isg, &first, &renamed, &rendered)
        .await
        .unwrap();
    let again = broadside::cli::export::export(&server.config, out.path())
        .await
        .unwrap();
    assert_eq!(again.posts, 6);
    // The second "Same title" no longer shares its name, so it loses the id it carried.
    assert_eq!(again.removed, 2, "the second post's old .md and .json");
    let old = out
        .path()
        .join("isg")
        .join(format!("{}.md", stem_of(same_b)));
    assert!(!old.exists());
    let mut files: Vec<String> = std::fs::read_dir(out.path().join("isg"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "{files:?}");
    assert!(files.iter().any(|f| f.ends_with("-a-better-title.md")));
    let (fields, _) = front_matter(
        &std::fs::read_to_string(
            out.path()
                .join("isg")
                .join(format!("{}.md", stem_of(same_a))),
        )
        .unwrap(),
    );
    assert_eq!(fields["id"], same_b);
    // Nothing half-written is left behind.
    assert!(
        std::fs::read_dir(out.path().join("isg"))
            .unwrap()
            .all(|e| !e.unwrap().file_name().to_string_lossy().contains("partial"))
    );
    store.close().await;
    server.stop().await;
}

/// Case: `broadside export` from the command line reports what it wrote.
#[tokio::test]
async fn the_export_command_prints_what_it_wrote() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    server
        .publish_post("isg", PostKind::News, None, "Hello.", "en")
        .await;
    let out = tempfile::tempdir().unwrap();
    let output = broadside(&server.config, &["export", out.path().to_str().unwrap()]).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("exported 1 posts of 1 accounts"),
        "{stdout}"
    );
    server.stop().await;
}
