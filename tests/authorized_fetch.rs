//! Authorized fetch (issue #8 item 5): with the setting on, ActivityPub posts and collections
//! go only to signed fetches of actors not blocked here; web pages, feeds, actor documents and
//! discovery stay public. With it off (the default) nothing changes, as every other test shows.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    domain::{BlockedDomain, PostKind},
    federation::moderation,
};
use chrono::{Duration, Utc};
use common::{Peer, TestServer};
use reqwest::{StatusCode, header};
use serde_json::Value;

/// A server with authorized fetch on, the account `isg` and one published statement; the
/// statement's URL.
async fn guarded_server() -> (TestServer, String) {
    let server = TestServer::start_configured("sqlite", |config| {
        config.authorized_fetch = true;
    })
    .await;
    server.create_actor("isg", false).await;
    let id = server
        .publish_post(
            "isg",
            PostKind::Statement,
            Some("Strike"),
            "We stand together.",
            "en",
        )
        .await;
    let post = server.post_url("isg", id);
    (server, post)
}

async fn get(url: &str, accept: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .header(header::ACCEPT, accept)
        .send()
        .await
        .unwrap()
}

const ACTIVITY_JSON: &str = "application/activity+json";

// Unsigned fetches: posts and collections as ActivityStreams get 401 naming the cause (with
// `WWW-Authenticate`); the same URLs as HTML, the feeds, actor documents, the instance actor
// and WebFinger answer everyone.
#[tokio::test]
async fn unsigned_fetches_get_pages_and_actors_but_not_posts_or_collections() {
    let (server, post) = guarded_server().await;
    for url in [
        post.clone(),
        format!("{post}/replies"),
        format!("{post}/activity"),
        server.url("/users/isg/outbox"),
        server.url("/users/isg/followers"),
        server.url("/users/isg/collections/featured"),
    ] {
        let response = get(&url, ACTIVITY_JSON).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{url}");
        assert!(
            response.headers().contains_key(header::WWW_AUTHENTICATE),
            "{url}"
        );
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("the request is not signed"),
            "{url}: {problem}"
        );
    }

    let page = get(&post, "text/html").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("We stand together."));
    for (url, accept) in [
        (server.actor_url("isg"), ACTIVITY_JSON),
        (server.url("/actor"), ACTIVITY_JSON),
        (server.url("/users/isg/feed.atom"), "*/*"),
        (
            server.url(&format!(
                "/.well-known/webfinger?resource=acct:isg@{}",
                server.host()
            )),
            "*/*",
        ),
    ] {
        assert_eq!(get(&url, accept).await.status(), StatusCode::OK, "{url}");
    }
    server.stop().await;
}

// A signed fetch by a known actor gets the document, marked private for shared caches; a
// second one is served from the page cache after the same check, and an unsigned one after
// them gets 401, not the cached page.
#[tokio::test]
async fn a_signed_fetch_gets_the_post_marked_private() {
    let (server, post) = guarded_server().await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    for _ in 0..2 {
        let response = alice.get_signed(&post, Utc::now()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "private");
        let json: Value = response.json().await.unwrap();
        assert_eq!(json["id"], post.as_str());
        assert_eq!(json["name"], "Strike");
    }
    assert_eq!(
        peer.fetches(alice.id.path()),
        1,
        "the signer is fetched once"
    );
    // The page kept for signed fetches is not handed out by the cache's outer layer, which
    // answers before the check: an unsigned fetch is still refused.
    assert_eq!(
        get(&post, ACTIVITY_JSON).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let followers = alice
        .get_signed(&server.url("/users/isg/followers"), Utc::now())
        .await;
    assert_eq!(followers.status(), StatusCode::OK);
    server.stop().await;
}

// Forged and stale signed fetches: a key that is not the actor's, and a signature two hours
// old, are 401 like an unsigned fetch.
#[tokio::test]
async fn forged_and_stale_signed_fetches_get_401() {
    let (server, post) = guarded_server().await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    let mut mallory = peer.add_actor("mallory");
    mallory.key_id = alice.key_id.clone(); // signs with its own key, claims alice's
    let forged = mallory.get_signed(&post, Utc::now()).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let stale = alice
        .get_signed(&post, Utc::now() - Duration::hours(2))
        .await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    let problem: Value = stale.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("window"),
        "{problem}"
    );
    server.stop().await;
}

// A blocked actor, and any actor of a blocked domain, gets 403 even with a valid signature,
// and a blocked domain is not fetched from to check it.
#[tokio::test]
async fn blocked_signers_get_403() {
    let (server, post) = guarded_server().await;
    let store = server.store().await;
    let peer = Peer::start().await;
    let alice = peer.add_actor("alice");
    moderation::block_actor(&store, &alice.id).await.unwrap();
    assert_eq!(
        alice.get_signed(&post, Utc::now()).await.status(),
        StatusCode::FORBIDDEN
    );

    let other = Peer::start().await;
    let bob = other.add_actor("bob");
    let domain = BlockedDomain::parse(&broadside::config::authority(&other.origin)).unwrap();
    moderation::block_domain(&store, &domain, "").await.unwrap();
    assert_eq!(
        bob.get_signed(&post, Utc::now()).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        other.fetches(bob.id.path()),
        0,
        "a blocked domain is not asked"
    );
    store.close().await;
    server.stop().await;
}

// Interop with ourselves: a Broadside instance fetches a post from one that has authorized
// fetch on, because every fetch it makes is signed by its instance actor, whose document
// the guarded server can read to check it.
#[tokio::test]
async fn broadside_fetches_a_post_from_a_guarded_broadside() {
    let (guarded, post) = guarded_server().await;
    let other = TestServer::start().await;
    let state = broadside::app::AppState::prepare(other.config.clone())
        .await
        .unwrap();
    let data = state.federation_config().await.unwrap().to_request_data();
    let url = url::Url::parse(&post).unwrap();
    let json = broadside::federation::objects::remote_post::fetch(&data, &url)
        .await
        .unwrap();
    assert_eq!(json["name"], "Strike");
    state.store.close().await;
    other.stop().await;
    guarded.stop().await;
}
