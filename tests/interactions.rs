//! The fediverse's likes, boosts and replies as others see them: the `likes`, `shares` and
//! `replies` collections of a post's document, the counts and approved replies on its public
//! page (through the page cache), their withdrawal, and the per-account reply policy set from
//! the command line and the editor.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    domain::{Login, PostKind, Role, credentials},
    store::Store,
};
use common::{Peer, RemoteTestActor, TestServer, eventually};
use reqwest::{StatusCode, header, redirect::Policy};
use serde_json::{Value, json};

const AP: &str = "application/activity+json";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// An instance with the account `isg` and one published statement, and a fan on a peer.
struct Scene {
    server: TestServer,
    store: Store,
    /// The post's id and page.
    url: String,
    fan: RemoteTestActor,
    /// Keeps the fan's server running.
    _peer: Peer,
}

impl Scene {
    async fn start() -> Self {
        let server = TestServer::start().await;
        server.create_actor("isg", false).await;
        let post_id = server
            .publish_post(
                "isg",
                PostKind::Statement,
                Some("On the strike"),
                "We stand with the strikers.",
                "en",
            )
            .await;
        let store = server.store().await;
        let url = server.post_url("isg", post_id);
        let peer = Peer::start().await;
        let fan = peer.add_actor("fan");
        Self {
            server,
            store,
            url,
            fan,
            _peer: peer,
        }
    }

    /// Signs and delivers `activity` to the shared inbox; it must be accepted.
    async fn deliver(&self, activity: &Value) {
        let response = self.fan.post(&self.server.url("/inbox"), activity).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{activity}");
    }

    fn like(&self) -> Value {
        json!({"id": format!("{}/likes/1", self.fan.id), "type": "Like", "actor": self.fan.id,
               "object": self.url})
    }

    fn announce(&self) -> Value {
        json!({"id": format!("{}/announces/1", self.fan.id), "type": "Announce",
               "actor": self.fan.id, "object": self.url, "to": [PUBLIC]})
    }

    fn reply_id(&self) -> String {
        format!("{}/notes/1", self.fan.id)
    }

    fn reply(&self, kind: &str, text: &str) -> Value {
        let id = self.reply_id();
        json!({
            "id": format!("{id}/{}", kind.to_lowercase()), "type": kind, "actor": self.fan.id,
            "object": {"id": id, "type": "Note", "attributedTo": self.fan.id,
                       "inReplyTo": self.url, "url": self.fan.peer.url("/@fan/1"),
                       "content": text, "published": "2026-11-27T10:00:00Z", "to": [PUBLIC]}
        })
    }

    async fn document(&self) -> Value {
        get_json(&self.url).await
    }

    async fn page(&self) -> String {
        let response = reqwest::get(&self.url).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }

    /// Waits until the server's page cache has caught up with the database, after a change
    /// made by another process (the CLI, or this test's own store): from then on no page from
    /// before it is served.
    async fn synced(&self) {
        let version = self.store.site_version().await.unwrap();
        eventually("the page cache to follow the site version", || async {
            self.server.state.public_cache.synced_version() >= Some(version)
        })
        .await;
    }

    /// The one held reply's id.
    async fn held_reply(&self) -> i64 {
        let held = self.store.held_replies_and_mentions(10).await.unwrap();
        assert_eq!(held.len(), 1, "{held:?}");
        held[0].1.id
    }

    /// Runs the command line against this instance's database.
    async fn cli(&self, args: &[&str]) -> String {
        common::cli(&self.server, args)
            .await
            .unwrap_or_else(|err| panic!("{args:?}: {err}"))
    }
}

async fn get_json(url: &str) -> Value {
    let response = reqwest::Client::new()
        .get(url)
        .header(header::ACCEPT, AP)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.json().await.unwrap()
}

/// The items of a collection's first page, following `first` as a remote server does.
async fn first_page_items(collection: &str) -> (i64, Vec<Value>) {
    let top = get_json(collection).await;
    assert_eq!(top["type"], "OrderedCollection", "{top}");
    assert_eq!(top["id"], collection);
    let page = get_json(top["first"].as_str().unwrap()).await;
    assert_eq!(page["type"], "OrderedCollectionPage", "{page}");
    assert_eq!(page["partOf"], collection);
    (
        top["totalItems"].as_i64().unwrap(),
        page["orderedItems"].as_array().unwrap().clone(),
    )
}

/// Case: a like, a boost and a reply arrive. The post's document counts the like and the boost
/// at once and its collections list the fan; the reply is in neither the document nor the
/// `replies` collection until an editor approves it.
#[tokio::test]
async fn the_post_document_counts_likes_and_shares_and_lists_approved_replies_only() {
    let scene = Scene::start().await;
    let before = scene.document().await;
    assert_eq!(before["likes"]["id"], format!("{}/likes", scene.url));
    assert_eq!(before["likes"]["type"], "Collection");
    assert_eq!(before["likes"]["totalItems"], 0);
    assert_eq!(before["shares"]["totalItems"], 0);
    assert_eq!(before["replies"]["totalItems"], 0);

    scene.deliver(&scene.like()).await;
    scene.deliver(&scene.announce()).await;
    scene
        .deliver(&scene.reply("Create", "<p>Well said!</p>"))
        .await;

    let doc = scene.document().await;
    assert_eq!(doc["likes"]["totalItems"], 1, "{doc}");
    assert_eq!(doc["shares"]["id"], format!("{}/shares", scene.url));
    assert_eq!(doc["shares"]["totalItems"], 1);
    assert_eq!(
        doc["replies"]["totalItems"], 0,
        "held replies are not public"
    );
    assert_eq!(doc["replies"]["first"]["orderedItems"], json!([]));
    let fan = json!(scene.fan.id.as_str());
    assert_eq!(
        first_page_items(&format!("{}/likes", scene.url)).await,
        (1, vec![fan.clone()])
    );
    assert_eq!(
        first_page_items(&format!("{}/shares", scene.url)).await,
        (1, vec![fan])
    );
    let replies = format!("{}/replies", scene.url);
    assert_eq!(first_page_items(&replies).await, (0, vec![]));

    let id = scene.held_reply().await;
    assert_eq!(
        scene.cli(&["reply", "approve", &id.to_string()]).await,
        format!("approved {id}")
    );
    // Another process approved it: the server's cache follows the site version.
    scene.synced().await;
    let doc = scene.document().await;
    assert_eq!(doc["replies"]["totalItems"], 1, "{doc}");
    assert_eq!(doc["replies"]["id"], replies);
    assert_eq!(doc["replies"]["first"]["partOf"], replies);
    assert_eq!(
        doc["replies"]["first"]["orderedItems"],
        json!([scene.reply_id()])
    );
    assert_eq!(
        first_page_items(&replies).await,
        (1, vec![json!(scene.reply_id())])
    );
    scene.server.stop().await;
}

/// Case: the public page shows the counts, and the reply (author, handle, sanitized text,
/// date, link to the original) only once it is approved.
#[tokio::test]
async fn the_public_page_shows_counts_and_the_reply_after_approval() {
    let scene = Scene::start().await;
    // Cached before anything arrives, so the rest proves the cache is dropped.
    let page = scene.page().await;
    assert!(page.contains("0 likes"), "{page}");

    scene.deliver(&scene.like()).await;
    scene.deliver(&scene.announce()).await;
    scene
        .deliver(&scene.reply(
            "Create",
            "<p>Well <em>said</em>!<script>alert(1)</script></p>",
        ))
        .await;
    let page = scene.page().await;
    for expected in ["1 like", "1 boost", "0 replies"] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
    assert!(!page.contains("Well"), "a held reply is not shown: {page}");

    let id = scene.held_reply().await;
    assert!(scene.store.approve_reply(id).await.unwrap());
    scene.synced().await;
    let page = scene.page().await;
    assert!(page.contains("1 reply"), "{page}");
    for expected in [
        "<p>Well <em>said</em>!</p>".to_owned(),
        format!("href=\"{}\"", scene.fan.id),
        "fan at the peer".to_owned(),
        format!("@fan@{}", scene.fan.id.authority()),
        format!("href=\"{}\"", scene.fan.peer.url("/@fan/1")),
        "datetime=\"".to_owned(),
    ] {
        assert!(page.contains(&expected), "{expected} in {page}");
    }
    assert!(!page.contains("<script>alert"), "sanitized when received");
    scene.server.stop().await;
}

/// Case: Undo(Like), Undo(Announce) and a Delete of the reply take them back from the
/// document, the collections and the page, all of which were cached before.
#[tokio::test]
async fn undo_and_delete_take_them_back_from_cached_pages() {
    let scene = Scene::start().await;
    scene.deliver(&scene.like()).await;
    scene.deliver(&scene.announce()).await;
    scene
        .deliver(&scene.reply("Create", "<p>Well said!</p>"))
        .await;
    let id = scene.held_reply().await;
    assert!(scene.store.approve_reply(id).await.unwrap());
    scene.synced().await;
    assert!(scene.page().await.contains("Well said!"));
    let likes = format!("{}/likes", scene.url);
    assert_eq!(first_page_items(&likes).await.0, 1);
    assert_eq!(scene.document().await["replies"]["totalItems"], 1);

    let fan = &scene.fan.id;
    scene
        .deliver(
            &json!({"id": format!("{fan}/likes/1/undo"), "type": "Undo", "actor": fan,
                         "object": scene.like()}),
        )
        .await;
    scene
        .deliver(
            &json!({"id": format!("{fan}/announces/1/undo"), "type": "Undo", "actor": fan,
                         "object": scene.announce()}),
        )
        .await;
    scene
        .deliver(
            &json!({"id": format!("{}#delete", scene.reply_id()), "type": "Delete",
                         "actor": fan, "object": {"id": scene.reply_id(), "type": "Tombstone"}}),
        )
        .await;

    let doc = scene.document().await;
    assert_eq!(
        (
            &doc["likes"]["totalItems"],
            &doc["shares"]["totalItems"],
            &doc["replies"]["totalItems"]
        ),
        (&json!(0), &json!(0), &json!(0)),
        "{doc}"
    );
    assert_eq!(doc["replies"]["first"]["orderedItems"], json!([]));
    assert_eq!(first_page_items(&likes).await, (0, vec![]));
    let page = scene.page().await;
    for expected in ["0 likes", "0 boosts", "0 replies"] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
    assert!(!page.contains("Well said!"));
    scene.server.stop().await;
}

/// Case: with `actor set --auto-approve-replies true`, a reply is shown at once; an Update
/// of it replaces its text instead of adding a second reply; after `false` the next reply
/// waits again.
#[tokio::test]
async fn with_auto_approval_a_reply_is_shown_at_once() {
    let scene = Scene::start().await;
    let said = scene
        .cli(&["actor", "set", "isg", "--auto-approve-replies", "true"])
        .await;
    assert!(said.contains("shown at once"), "{said}");
    assert!(
        scene
            .store
            .actor_by_username("isg")
            .await
            .unwrap()
            .unwrap()
            .auto_approves_replies
    );

    scene
        .deliver(&scene.reply("Create", "<p>First thoughts</p>"))
        .await;
    let doc = scene.document().await;
    assert_eq!(doc["replies"]["totalItems"], 1, "{doc}");
    assert!(scene.page().await.contains("First thoughts"));
    assert!(
        scene
            .store
            .held_replies_and_mentions(10)
            .await
            .unwrap()
            .is_empty()
    );

    scene
        .deliver(&scene.reply("Update", "<p>Second thoughts</p>"))
        .await;
    let page = scene.page().await;
    assert!(
        page.contains("Second thoughts") && !page.contains("First thoughts"),
        "{page}"
    );
    assert_eq!(scene.document().await["replies"]["totalItems"], 1);

    scene
        .cli(&["actor", "set", "isg", "--auto-approve-replies", "false"])
        .await;
    let fan = &scene.fan.id;
    scene
        .deliver(&json!({
            "id": format!("{fan}/notes/2/activity"), "type": "Create", "actor": fan,
            "object": {"id": format!("{fan}/notes/2"), "type": "Note", "attributedTo": fan,
                       "inReplyTo": scene.url, "content": "<p>Held again</p>", "to": [PUBLIC]}
        }))
        .await;
    scene.held_reply().await;
    assert_eq!(scene.document().await["replies"]["totalItems"], 1);
    scene.server.stop().await;
}

/// Case: the editor's profile page shows the reply policy as a checkbox and saves it.
#[tokio::test]
async fn the_editor_sets_the_reply_policy_on_the_profile_page() {
    let scene = Scene::start().await;
    let password = "a long enough password";
    let isg = scene.store.actor_by_username("isg").await.unwrap().unwrap();
    assert!(!isg.auto_approves_replies, "held by default");
    let hash = credentials::hash_password(password).unwrap();
    let mut tx = scene.store.begin().await.unwrap();
    tx.insert_user(&Login::parse("ed").unwrap(), &hash, Role::Editor, &[isg.id])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    let login_page = browser
        .get(scene.server.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let signed_in = browser
        .post(scene.server.url("/login"))
        .form(&[
            ("csrf", csrf_of(&login_page).as_str()),
            ("login", "ed"),
            ("password", password),
            ("next", "/editor"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let profile = scene.server.url("/editor/accounts/isg/profile");
    let page = browser
        .get(&profile)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("name=\"auto_approve_replies\" value=\"on\">"),
        "{page}"
    );

    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&page))
        .text("name", isg.name.clone())
        .text("summary", isg.summary_md.clone())
        .text("auto_approve_replies", "on");
    let saved = browser.post(&profile).multipart(form).send().await.unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let isg = scene.store.actor_by_username("isg").await.unwrap().unwrap();
    assert!(isg.auto_approves_replies);
    let page = browser
        .get(&profile)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("value=\"on\" checked>"), "{page}");

    scene
        .deliver(&scene.reply("Create", "<p>Shown at once</p>"))
        .await;
    assert!(scene.page().await.contains("Shown at once"));
    scene.server.stop().await;
}

/// The value of the first hidden `csrf` field on a page.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf field in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}
