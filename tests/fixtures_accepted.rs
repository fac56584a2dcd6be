//! Follow and Undo(Follow) exactly as Mastodon, GoToSocial, Misskey and Pleroma send them
//! (tests/fixtures/SOFTWARE/) are accepted: the follower is listed, then removed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use common::{Peer, TestServer, fixture};
use reqwest::StatusCode;
use serde_json::Value;

async fn follow_and_unfollow(software: &str) {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    // A signing identity whose public key the fixture actor documents will carry.
    let signer = peer.add_actor("signer-keys");
    let pem = signer.keys.public_key_pem.clone();

    let actor = fixture(software, "actor.json", &peer, &server, &pem);
    let actor_id = url::Url::parse(actor["id"].as_str().unwrap()).unwrap();
    peer.serve(actor_id.path(), actor.clone());
    if software == "gotosocial" {
        // GoToSocial's key id is a URL of its own that serves a stub of the actor.
        let stub = fixture(software, "main_key.json", &peer, &server, &pem);
        peer.serve(&format!("{}/main-key", actor_id.path()), stub);
    }
    let mut remote = signer.clone();
    remote.id = actor_id.clone();
    remote.key_id = actor["publicKey"]["id"].as_str().unwrap().to_owned();

    let follow = fixture(software, "follow.json", &peer, &server, &pem);
    let response = remote.post(&server.url("/users/isg/inbox"), &follow).await;
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "{software} Follow: {}",
        response.text().await.unwrap()
    );
    let accept = peer.wait_for("Accept").await;
    assert_eq!(accept.activity["object"]["id"], follow["id"], "{software}");

    let followers = followers_total(&server).await;
    assert_eq!(followers, 1, "{software} follower listed");

    let undo = fixture(software, "undo_follow.json", &peer, &server, &pem);
    let response = remote.post(&server.url("/inbox"), &undo).await;
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "{software} Undo: {}",
        response.text().await.unwrap()
    );
    assert_eq!(
        followers_total(&server).await,
        0,
        "{software} follower removed"
    );
    server.stop().await;
}

async fn followers_total(server: &TestServer) -> i64 {
    let collection: Value = reqwest::Client::new()
        .get(server.url("/users/isg/followers"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    collection["totalItems"].as_i64().unwrap()
}

#[tokio::test]
async fn mastodon_follow_and_undo_are_accepted() {
    follow_and_unfollow("mastodon").await;
}

#[tokio::test]
async fn gotosocial_follow_and_undo_are_accepted() {
    follow_and_unfollow("gotosocial").await;
}

#[tokio::test]
async fn misskey_follow_and_undo_are_accepted() {
    follow_and_unfollow("misskey").await;
}

#[tokio::test]
async fn pleroma_follow_and_undo_are_accepted() {
    follow_and_unfollow("pleroma").await;
}

#[tokio::test]
async fn mastodon_like_is_acknowledged_though_not_handled_yet() {
    let server = TestServer::start().await;
    server.create_actor("isg", false).await;
    let peer = Peer::start().await;
    let signer = peer.add_actor("signer-keys");
    let actor = fixture(
        "mastodon",
        "actor.json",
        &peer,
        &server,
        &signer.keys.public_key_pem,
    );
    let actor_id = url::Url::parse(actor["id"].as_str().unwrap()).unwrap();
    peer.serve(actor_id.path(), actor.clone());
    let mut remote = signer.clone();
    remote.id = actor_id;
    remote.key_id = actor["publicKey"]["id"].as_str().unwrap().to_owned();
    let like = fixture("mastodon", "like.json", &peer, &server, "");
    assert_eq!(
        remote.post(&server.url("/inbox"), &like).await.status(),
        StatusCode::ACCEPTED
    );
    server.stop().await;
}
