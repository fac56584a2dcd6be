//! Publishing end to end: statements and news reach every follower's server once, signed;
//! corrections arrive as Update, retractions as Delete; receivers that fail are retried and
//! receivers that are gone lose their follows.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    domain::{FollowState, Language, LocalActor, Post, PostDraft, PostKind},
    federation::publish,
    store::Store,
};
use common::{Peer, TestServer, eventually};
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

/// A follower on `peer` whose server has a shared inbox.
async fn add_follower(store: &Store, actor: &LocalActor, peer: &Peer, name: &str) {
    common::add_follower(store, actor.id, peer, name, true).await;
}

async fn isg(server: &TestServer) -> (Store, LocalActor) {
    server.create_actor("isg", false).await;
    let store = server.store().await;
    let actor = store.actor_by_username("isg").await.unwrap().unwrap();
    (store, actor)
}

fn statement(title: &str, body: &str, lang: &str) -> PostDraft {
    PostDraft::new(
        PostKind::Statement,
        Some(title.into()),
        None,
        body.into(),
        Language::parse(lang).unwrap(),
    )
    .unwrap()
}

async fn publish(
    server: &TestServer,
    store: &Store,
    actor: &LocalActor,
    draft: &PostDraft,
) -> Post {
    let rendered = publish::render(draft, &server.base, Vec::new());
    publish::create_post(store, &server.base, actor, draft, &rendered, &[], true)
        .await
        .unwrap()
}

fn of_type(peer: &Peer, kind: &str) -> Vec<Value> {
    peer.received()
        .into_iter()
        .filter(|r| r.activity["type"] == kind)
        .map(|r| r.activity)
        .collect()
}

#[tokio::test]
async fn a_statement_reaches_a_follower_then_its_correction_and_retraction() {
    let server = TestServer::start().await;
    let (store, actor) = isg(&server).await;
    let peer = Peer::start().await;
    add_follower(&store, &actor, &peer, "alice").await;

    let draft = statement(
        "On the strike",
        "We stand with the #strikers.\n\nFull text here.",
        "es",
    );
    let post = publish(&server, &store, &actor, &draft).await;
    let create = peer.wait_for("Create").await;
    assert!(create.signature_valid, "signed by isg");
    assert_eq!(create.path, "inbox", "to the shared inbox");
    let object = &create.activity["object"];
    assert_eq!(object["type"], "Article");
    assert_eq!(object["name"], "On the strike");
    assert!(
        object["content"]
            .as_str()
            .unwrap()
            .contains("We stand with the")
    );
    assert_eq!(
        object["contentMap"]["es"], object["content"],
        "content keyed by language"
    );
    assert_eq!(
        object["summary"], "We stand with the #strikers. Full text here.",
        "an excerpt when no summary was written"
    );
    assert_eq!(
        object["to"][0],
        "https://www.w3.org/ns/activitystreams#Public"
    );
    assert_eq!(object["cc"][0], server.url("/users/isg/followers"));
    assert_eq!(object["tag"][0]["type"], "Hashtag");
    assert_eq!(object["tag"][0]["name"], "#strikers");
    assert_eq!(
        object["id"],
        server.url(&format!("/users/isg/posts/{}", post.id))
    );
    assert!(object["updated"].is_null(), "not edited yet");

    let corrected = statement(
        "On the strike (corrected)",
        "We stand with the strikers, all of them.",
        "es",
    );
    let rendered = publish::render(&corrected, &server.base, Vec::new());
    publish::edit_post(&store, &server.base, &actor, &post, &corrected, &rendered)
        .await
        .unwrap();
    let update = peer.wait_for("Update").await;
    assert_eq!(update.activity["object"]["id"], object["id"]);
    assert_eq!(
        update.activity["object"]["name"],
        "On the strike (corrected)"
    );
    assert!(
        update.activity["object"]["updated"].is_string(),
        "Update carries `updated`"
    );

    let current = store.post_by_id(post.id).await.unwrap().unwrap();
    publish::delete_post(&store, &server.base, &actor, &current)
        .await
        .unwrap();
    let delete = peer.wait_for("Delete").await;
    assert_eq!(delete.activity["object"]["id"], object["id"]);
    assert_eq!(delete.activity["object"]["type"], "Tombstone");
    assert!(delete.signature_valid);
    server.stop().await;
}

#[tokio::test]
async fn news_is_a_note_with_the_full_text_and_no_summary() {
    let server = TestServer::start().await;
    let (store, actor) = isg(&server).await;
    let peer = Peer::start().await;
    add_follower(&store, &actor, &peer, "alice").await;
    let draft = PostDraft::new(
        PostKind::News,
        None,
        None,
        "March at *noon* today.".into(),
        Language::parse("en").unwrap(),
    )
    .unwrap();
    publish(&server, &store, &actor, &draft).await;
    let create = peer.wait_for("Create").await;
    let object = &create.activity["object"];
    assert_eq!(object["type"], "Note");
    assert!(
        object.get("summary").is_none(),
        "a Note's summary would be a content warning"
    );
    assert!(object.get("name").is_none());
    assert_eq!(object["content"], "<p>March at <em>noon</em> today.</p>\n");
    server.stop().await;
}

#[tokio::test]
async fn three_hundred_followers_on_a_hundred_servers_get_one_delivery_per_server() {
    let server = TestServer::start().await;
    let (store, actor) = isg(&server).await;
    let mut peers = Vec::new();
    for _ in 0..100 {
        let peer = Peer::start().await;
        for name in ["a", "b", "c"] {
            add_follower(&store, &actor, &peer, name).await;
        }
        peers.push(peer);
    }
    assert_eq!(
        store
            .count_followers(actor.id, FollowState::Accepted)
            .await
            .unwrap(),
        300
    );
    publish(
        &server,
        &store,
        &actor,
        &statement("To all", "Solidarity.", "en"),
    )
    .await;
    eventually("every server to receive the Create", || {
        let peers = peers.clone();
        async move { peers.iter().all(|p| !of_type(p, "Create").is_empty()) }
    })
    .await;
    for peer in &peers {
        let received = peer.received();
        assert_eq!(received.len(), 1, "exactly one delivery to {}", peer.origin);
        assert!(received[0].signature_valid);
        assert_eq!(received[0].path, "inbox");
    }
    eventually("all 100 deliveries to be recorded as delivered", || {
        let store = store.clone();
        async move { store.delivery_counts().await.unwrap().delivered == 100 }
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_receiver_answering_500_is_retried_until_it_accepts() {
    let server = TestServer::start().await;
    let (store, actor) = isg(&server).await;
    let peer = Peer::start().await;
    peer.script_inbox(vec![StatusCode::INTERNAL_SERVER_ERROR]);
    add_follower(&store, &actor, &peer, "alice").await;
    publish(&server, &store, &actor, &statement("Retry", "Text.", "en")).await;
    peer.wait_for("Create").await;
    eventually("the failure to be scheduled for a retry", || {
        let store = store.clone();
        async move {
            store.delivery_counts().await.unwrap().queued == 1
                && store.next_delivery_due().await.unwrap().is_some()
        }
    })
    .await;
    // What an operator does when a host is back: make its deliveries due now.
    let host = peer
        .origin
        .host_str()
        .map(|h| format!("{h}:{}", peer.origin.port().unwrap()))
        .unwrap();
    assert_eq!(store.retry_deliveries_now(Some(&host)).await.unwrap(), 1);
    eventually("the second attempt to be accepted", || {
        let store = store.clone();
        async move { store.delivery_counts().await.unwrap().delivered == 1 }
    })
    .await;
    assert_eq!(
        of_type(&peer, "Create").len(),
        2,
        "sent twice: 500, then 202"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_inbox_answering_410_ends_the_follow() {
    let server = TestServer::start().await;
    let (store, actor) = isg(&server).await;
    let peer = Peer::start().await;
    // This follower's server has no shared inbox: deliveries go to the personal inbox.
    common::add_follower(&store, actor.id, &peer, "gone", false).await;
    peer.script_inbox(vec![StatusCode::GONE]);

    publish(&server, &store, &actor, &statement("Gone", "Text.", "en")).await;
    peer.wait_for("Create").await;
    eventually("the follower to be removed", || {
        let store = store.clone();
        let actor_id = actor.id;
        async move {
            store
                .count_followers(actor_id, FollowState::Accepted)
                .await
                .unwrap()
                == 0
        }
    })
    .await;
    assert_eq!(
        store.delivery_counts().await.unwrap().failed,
        1,
        "a 410 is not retried"
    );
    server.stop().await;
}

#[tokio::test]
async fn pinning_sends_add_and_unpinning_remove() {
    let server = TestServer::start().await;
    let (store, actor) = isg(&server).await;
    let peer = Peer::start().await;
    add_follower(&store, &actor, &peer, "alice").await;
    let post = publish(&server, &store, &actor, &statement("Pinned", "Text.", "en")).await;
    publish::set_pinned(&store, &server.base, &actor, &post, true)
        .await
        .unwrap();
    let add = peer.wait_for("Add").await;
    assert_eq!(
        add.activity["target"],
        server.url("/users/isg/collections/featured")
    );
    assert_eq!(
        add.activity["object"],
        server.url(&format!("/users/isg/posts/{}", post.id))
    );
    publish::set_pinned(&store, &server.base, &actor, &post, false)
        .await
        .unwrap();
    let remove = peer.wait_for("Remove").await;
    assert_eq!(remove.activity["object"], add.activity["object"]);
    server.stop().await;
}

#[tokio::test]
async fn a_mentioned_account_is_addressed_and_notified() {
    let server = TestServer::start().await;
    let (store, actor) = isg(&server).await;
    let peer = Peer::start().await;
    let ally = Url::parse(&format!("{}users/ally", peer.origin)).unwrap();
    let mention = broadside::domain::Mention {
        name: format!("@ally@{}", broadside::config::authority(&peer.origin)),
        href: ally.clone(),
        inbox: peer.url("/users/ally/inbox"),
    };
    let draft = statement("Together", &format!("Signed with {}.", mention.name), "en");
    let rendered = publish::render(&draft, &server.base, vec![mention]);
    publish::create_post(&store, &server.base, &actor, &draft, &rendered, &[], true)
        .await
        .unwrap();
    let create = peer.wait_for("Create").await;
    assert_eq!(create.path, "users/ally/inbox");
    let object = &create.activity["object"];
    assert!(
        object["cc"]
            .as_array()
            .unwrap()
            .contains(&Value::String(ally.to_string()))
    );
    let tag = object["tag"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "Mention")
        .unwrap();
    assert_eq!(tag["href"], ally.as_str());
    assert!(
        object["content"]
            .as_str()
            .unwrap()
            .contains("class=\"u-url mention\"")
    );
    server.stop().await;
}

#[tokio::test]
async fn a_scheduled_post_is_published_by_the_worker_when_due() {
    let server = TestServer::start().await;
    let (store, actor) = isg(&server).await;
    let peer = Peer::start().await;
    add_follower(&store, &actor, &peer, "alice").await;
    let draft = statement("Later", "At the appointed hour.", "en");
    let rendered = publish::render(&draft, &server.base, Vec::new());
    let at = chrono::Utc::now() + chrono::Duration::milliseconds(500);
    let post = publish::create(
        &store,
        &server.base,
        &actor,
        None,
        &draft,
        &rendered,
        &[],
        publish::Intent::Schedule(at),
    )
    .await
    .unwrap();
    assert_eq!(post.state, broadside::domain::PostState::Scheduled);
    assert!(
        of_type(&peer, "Create").is_empty(),
        "nothing sent before the time"
    );
    let create = peer.wait_for("Create").await;
    assert_eq!(create.activity["object"]["name"], "Later");
    let published = store.post_by_id(post.id).await.unwrap().unwrap();
    assert_eq!(published.state, broadside::domain::PostState::Published);
    assert!(published.published_at.unwrap() >= at - chrono::Duration::seconds(1));
    server.stop().await;
}

#[tokio::test]
async fn the_outbox_pages_creates_newest_first_and_featured_lists_pinned_posts() {
    let server = TestServer::start().await;
    let (store, actor) = isg(&server).await;
    let first = publish(&server, &store, &actor, &statement("First", "One.", "en")).await;
    let second = publish(&server, &store, &actor, &statement("Second", "Two.", "en")).await;
    let draft = statement("Draft", "Not public.", "en");
    let rendered = publish::render(&draft, &server.base, Vec::new());
    publish::create_post(&store, &server.base, &actor, &draft, &rendered, &[], false)
        .await
        .unwrap();
    publish::set_pinned(&store, &server.base, &actor, &first, true)
        .await
        .unwrap();

    let get = |path: String| async move {
        reqwest::Client::new()
            .get(path)
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let outbox = get(server.url("/users/isg/outbox")).await;
    assert_eq!(outbox["totalItems"], 2, "drafts are not in the outbox");
    let page = get(outbox["first"].as_str().unwrap().to_owned()).await;
    let items = page["orderedItems"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["type"], "Create");
    assert_eq!(items[0]["object"]["name"], "Second", "newest first");
    assert_eq!(
        items[1]["object"]["id"],
        server.url(&format!("/users/isg/posts/{}", first.id))
    );
    assert!(
        items[0].get("@context").is_none(),
        "the page's context covers its items"
    );
    let _ = second;

    let featured = get(server.url("/users/isg/collections/featured")).await;
    assert_eq!(featured["totalItems"], 1);
    assert_eq!(featured["orderedItems"][0]["name"], "First");
    assert_eq!(featured["orderedItems"][0]["type"], "Article");
    server.stop().await;
}

#[tokio::test]
async fn an_image_reaches_followers_with_its_alt_text_and_size() {
    let server = TestServer::start().await;
    let (store, actor) = isg(&server).await;
    let peer = Peer::start().await;
    add_follower(&store, &actor, &peer, "alice").await;
    // A 1×1 PNG.
    let png: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];
    let image = broadside::media::store_image(&server.config.data_dir, png, "Strikers at the gate")
        .await
        .unwrap();
    let draft = statement("With a picture", "See.", "en");
    let rendered = publish::render(&draft, &server.base, Vec::new());
    publish::create_post(
        &store,
        &server.base,
        &actor,
        &draft,
        &rendered,
        std::slice::from_ref(&image),
        true,
    )
    .await
    .unwrap();
    let create = peer.wait_for("Create").await;
    let attachment = &create.activity["object"]["attachment"][0];
    assert_eq!(attachment["type"], "Image");
    assert_eq!(attachment["mediaType"], "image/png");
    assert_eq!(attachment["name"], "Strikers at the gate");
    assert_eq!(
        (attachment["width"].as_u64(), attachment["height"].as_u64()),
        (Some(1), Some(1))
    );
    let served = reqwest::get(attachment["url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().as_ref(), png);
    server.stop().await;
}

#[tokio::test]
async fn a_host_failing_for_days_is_skipped_until_heard_from() {
    use sqlx::Connection;

    let server = TestServer::start().await;
    let (store, actor) = isg(&server).await;
    let down = Peer::start().await;
    let up = Peer::start().await;
    add_follower(&store, &actor, &down, "a").await;
    add_follower(&store, &actor, &up, "b").await;
    // `down` has failed every delivery for four days (written directly: no code path sets a
    // failure time in the past).
    let down_host = broadside::config::authority(&down.origin);
    store.record_host_failure(&down_host).await.unwrap();
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(server.config.database.as_str())
        .await
        .unwrap();
    let four_days_ago = broadside::store::now_millis() - 4 * 24 * 3600 * 1000;
    sqlx::query("UPDATE hosts SET failing_since = $1 WHERE host = $2")
        .bind(four_days_ago)
        .bind(down_host.clone())
        .execute(&mut conn)
        .await
        .unwrap();

    publish(
        &server,
        &store,
        &actor,
        &statement("Skipped", "Text.", "en"),
    )
    .await;
    up.wait_for("Create").await;
    let counts = store.delivery_counts().await.unwrap();
    assert_eq!(
        counts.queued + counts.delivered + counts.failed,
        1,
        "one delivery, to the reachable host; none queued for the unreachable one"
    );
    assert!(down.received().is_empty());

    // Once the host is heard from (or an operator retries it), it is delivered to again.
    store.record_host_success(&down_host).await.unwrap();
    publish(
        &server,
        &store,
        &actor,
        &statement("Delivered", "Text.", "en"),
    )
    .await;
    let create = down.wait_for("Create").await;
    assert_eq!(create.activity["object"]["name"], "Delivered");
    conn.close().await.unwrap();
    server.stop().await;
}
