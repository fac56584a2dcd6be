//! Two Broadside instances federating: B's account follows A's by handle (WebFinger, Follow,
//! Accept), A publishes a statement, corrects it and retracts it, and B's copy follows along.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use broadside::{
    app::AppState,
    domain::{FollowState, Handle, Language, PostDraft, PostKind},
    federation::{follows, publish, webfinger},
};
use common::{TestServer, eventually};
use reqwest::StatusCode;
use url::Url;

#[tokio::test]
async fn a_follower_instance_receives_a_statement_its_correction_and_its_retraction() {
    let a = TestServer::start().await;
    let b = TestServer::start().await;
    a.create_actor("isg", false).await;
    b.create_actor("ally", false).await;
    let store_a = a.store().await;
    let store_b = b.store().await;
    let isg = store_a.actor_by_username("isg").await.unwrap().unwrap();
    let ally = store_b.actor_by_username("ally").await.unwrap().unwrap();

    // B follows A by handle, as `broadside follow --actor ally isg@HOST` does.
    let state_b = AppState::prepare(b.config.clone()).await.unwrap();
    let data_b = state_b.federation_config().await.unwrap().to_request_data();
    let handle = Handle::parse(&format!("isg@{}", a.host())).unwrap();
    let remote = webfinger::resolve(&data_b, &handle).await.unwrap().0;
    assert_eq!(remote.ap_id.as_str(), a.actor_url("isg"));
    let following = follows::follow(&store_b, &b.base, &ally, &remote)
        .await
        .unwrap();
    assert_eq!(
        following.state,
        FollowState::Pending,
        "pending until A accepts"
    );
    eventually("A's Accept to reach B", || {
        let store_b = store_b.clone();
        let (ally, remote) = (ally.id, remote.id);
        async move {
            store_b.following_state(ally, remote).await.unwrap() == Some(FollowState::Accepted)
        }
    })
    .await;
    assert_eq!(
        store_a
            .count_followers(isg.id, FollowState::Accepted)
            .await
            .unwrap(),
        1
    );

    // A publishes a statement in Spanish.
    let draft = PostDraft::new(
        PostKind::Statement,
        Some("Declaración".into()),
        Some("Resumen".into()),
        "Solidaridad con la huelga.".into(),
        Language::parse("es").unwrap(),
    )
    .unwrap();
    let rendered = publish::render(&draft, &a.base, Vec::new());
    let post = publish::create_post(&store_a, &a.base, &isg, &draft, &rendered, &[], true)
        .await
        .unwrap();
    let post_url = Url::parse(&a.url(&format!("/users/isg/posts/{}", post.id))).unwrap();
    eventually("B to keep the statement", || {
        let (store_b, url) = (store_b.clone(), post_url.clone());
        async move { store_b.remote_post(&url).await.unwrap().is_some() }
    })
    .await;
    let kept = store_b.remote_post(&post_url).await.unwrap().unwrap();
    assert_eq!(kept.kind, "Article");
    assert_eq!(kept.name.as_deref(), Some("Declaración"));
    assert_eq!(kept.summary.as_deref(), Some("Resumen"));
    assert_eq!(kept.content, "<p>Solidaridad con la huelga.</p>\n");
    assert_eq!(kept.language.as_deref(), Some("es"));
    assert!(kept.edited_at.is_none());

    // A corrects it: B's copy follows, with the time of the correction.
    let corrected = PostDraft::new(
        PostKind::Statement,
        Some("Declaración (corregida)".into()),
        Some("Resumen".into()),
        "Solidaridad con todas las huelgas.".into(),
        Language::parse("es").unwrap(),
    )
    .unwrap();
    let rendered = publish::render(&corrected, &a.base, Vec::new());
    publish::edit_post(&store_a, &a.base, &isg, &post, &corrected, &rendered)
        .await
        .unwrap();
    eventually("B to keep the correction", || {
        let (store_b, url) = (store_b.clone(), post_url.clone());
        async move {
            store_b
                .remote_post(&url)
                .await
                .unwrap()
                .is_some_and(|p| p.edited_at.is_some())
        }
    })
    .await;
    let kept = store_b.remote_post(&post_url).await.unwrap().unwrap();
    assert_eq!(kept.name.as_deref(), Some("Declaración (corregida)"));
    assert!(kept.content.contains("todas las huelgas"));

    // A retracts it: B drops its copy, and A's URL answers 410 with a Tombstone.
    let current = store_a.post_by_id(post.id).await.unwrap().unwrap();
    publish::delete_post(&store_a, &a.base, &isg, &current)
        .await
        .unwrap();
    eventually("B to drop the retracted statement", || {
        let (store_b, url) = (store_b.clone(), post_url.clone());
        async move { store_b.remote_post(&url).await.unwrap().is_none() }
    })
    .await;
    let gone = reqwest::Client::new()
        .get(post_url.as_str())
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::GONE);
    let tombstone: serde_json::Value = gone.json().await.unwrap();
    assert_eq!(tombstone["type"], "Tombstone");
    assert_eq!(tombstone["formerType"], "Article");

    // B unfollows: A's follower is gone.
    assert!(
        follows::unfollow(&store_b, &b.base, &ally, &remote)
            .await
            .unwrap()
    );
    eventually("A to drop the follower", || {
        let store_a = store_a.clone();
        let isg = isg.id;
        async move {
            store_a
                .count_followers(isg, FollowState::Accepted)
                .await
                .unwrap()
                == 0
        }
    })
    .await;
    state_b.store.close().await;
    a.stop().await;
    b.stop().await;
}
